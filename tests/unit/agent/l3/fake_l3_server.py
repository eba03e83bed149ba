"""A fake of the server side of the L3 agent's RPC: router dicts in memory, as the contract
shapes them, with builders for routers, their ports and floating IPs, and the
``q-l3-plugin`` endpoint (:class:`L3Callbacks`) that serves them over a real transport."""

from __future__ import annotations

import copy
import ipaddress
import itertools
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import oslo_messaging

_macs = itertools.count(0x10)


class FakeRpcError(RuntimeError):
    """The fake server was told to fail."""


def mac() -> str:
    n = next(_macs)
    return f"fa:16:3e:00:{(n >> 8) & 0xFF:02x}:{n & 0xFF:02x}"


def subnet(cidr: str, gateway_ip: str | None = "", **extra: Any) -> dict[str, Any]:
    """A subnet as the router dict's ports carry it (gateway .1 unless given)."""
    net = ipaddress.ip_network(cidr)
    body = {"id": str(uuid.uuid4()), "cidr": cidr, "ip_version": net.version,
            "gateway_ip": str(net.network_address + 1) if gateway_ip == "" else gateway_ip,
            "host_routes": []}
    body.update(extra)
    return body


def router_port(sub: dict[str, Any], ip: str, owner: str = "network:router_interface",
                mtu: int = 1450, **extra: Any) -> dict[str, Any]:
    """A router port with one fixed IP on ``sub``."""
    body = {"id": str(uuid.uuid4()), "network_id": str(uuid.uuid4()), "mac_address": mac(),
            "device_owner": owner, "admin_state_up": True, "binding:host_id": "",
            "fixed_ips": [{"subnet_id": sub["id"], "ip_address": ip,
                           "prefixlen": ipaddress.ip_network(sub["cidr"]).prefixlen}],
            "mtu": mtu, "subnets": [dict(sub)]}
    body.update(extra)
    return body


def router(interfaces: Iterable[dict[str, Any]] = (), gw_port: dict[str, Any] | None = None,
           **extra: Any) -> dict[str, Any]:
    """A router dict of ``sync_routers``."""
    body = {"id": str(uuid.uuid4()), "name": "r1", "project_id": "p1", "tenant_id": "p1",
            "admin_state_up": True, "status": "ACTIVE", "distributed": False, "ha": False,
            "enable_snat": True, "routes": [],
            "external_gateway_info": {"network_id": gw_port["network_id"],
                                      "enable_snat": True,
                                      "external_fixed_ips": gw_port["fixed_ips"]}
            if gw_port else None,
            "gw_port": gw_port, "_interfaces": list(interfaces), "_floatingips": [],
            "_port_forwardings": []}
    body.update(extra)
    return body


def floating_ip(rtr: dict[str, Any], address: str, fixed: str | None,
                status: str = "DOWN") -> dict[str, Any]:
    """A floating IP of ``rtr`` (associated with ``fixed`` unless None), added to it."""
    body = {"id": str(uuid.uuid4()), "floating_ip_address": address,
            "fixed_ip_address": fixed, "port_id": str(uuid.uuid4()) if fixed else None,
            "router_id": rtr["id"], "status": status,
            "floating_network_id": (rtr["gw_port"] or {}).get("network_id"),
            "project_id": "p1"}
    rtr["_floatingips"].append(body)
    return body


@dataclass
class FakeL3Server:
    """``L3PluginApi`` over in-memory routers; records the statuses the agent reported."""

    routers: dict[str, dict[str, Any]] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)  # fip id -> last status reported
    reports: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    fail: bool = False
    _lock: Any = field(default_factory=threading.Lock)

    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        self.routers[body["id"]] = body
        return body

    def _check(self, name: str, arg: Any = None) -> None:
        with self._lock:
            self.calls.append((name, arg))
        if self.fail:
            raise FakeRpcError(f"{name}: server unreachable")

    def get_router_ids(self) -> list[str]:
        self._check("get_router_ids")
        return sorted(self.routers)

    def sync_routers(self, router_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        ids = None if router_ids is None else sorted(router_ids)
        self._check("sync_routers", ids)
        return [copy.deepcopy(r) for i, r in sorted(self.routers.items())
                if ids is None or i in ids]

    def update_floatingip_statuses(self, router_id: str,
                                   fip_statuses: dict[str, str]) -> None:
        self._check("update_floatingip_statuses", router_id)
        with self._lock:
            self.reports.append((router_id, dict(fip_statuses)))
            self.statuses.update(fip_statuses)
            for fip in self.routers.get(router_id, {}).get("_floatingips", []):
                if fip["id"] in fip_statuses:
                    fip["status"] = fip_statuses[fip["id"]]


class L3Callbacks:
    """The server's ``q-l3-plugin`` endpoint, answering from a fake server."""

    target = oslo_messaging.Target(version="1.10")

    def __init__(self, fake: FakeL3Server) -> None:
        self.fake = fake
        self.hosts: list[str] = []

    def get_router_ids(self, context: Any, host: str) -> list[str]:
        self.hosts.append(host)
        return self.fake.get_router_ids()

    def sync_routers(self, context: Any, host: str,
                     router_ids: list[str] | None = None) -> list[dict[str, Any]]:
        self.hosts.append(host)
        return self.fake.sync_routers(router_ids)

    def update_floatingip_statuses(self, context: Any, router_id: str,
                                   fip_statuses: dict[str, str]) -> None:
        self.fake.update_floatingip_statuses(router_id, fip_statuses)

    def get_service_plugin_list(self, context: Any) -> list[str]:
        return ["router"]
