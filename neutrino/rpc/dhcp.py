"""DHCP over RPC: what DHCP agents call on ``q-plugin``, and the casts they are sent.

Calls (Neutron's DhcpPluginApi 1.x, namespace ``dhcp``; a client naming no namespace
is served too): ``get_active_networks_info``, ``get_network_info``,
``create_dhcp_port``, ``update_dhcp_port``, ``release_dhcp_port``,
``dhcp_ready_on_ports``. Replies are plain JSON-able dicts.

Notifications are casts on topic ``dhcp_agent`` sent directly to
``dhcp_agent.<host>`` of the agents hosting the network (never fanout), each with
one ``payload`` kwarg: ``network_create_end`` … ``port_delete_end``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from typing import Any

import oslo_messaging

from neutrino.apidef.attributes import PORTS, REQUIRED
from neutrino.context import admin_context
from neutrino.db import provisioning

LOG = logging.getLogger(__name__)

DHCP_AGENT = "dhcp_agent"
DHCP_RPC_VERSION = "1.8"
DHCP_RPC_NAMESPACE = "dhcp"
DEVICE_OWNER_DHCP = "network:dhcp"


class DhcpAgentNotifier:
    """Casts to ``dhcp_agent.<host>``, one per host that serves the network."""

    def __init__(self, caster: Any) -> None:
        self.caster = caster

    def notify(self, hosts: Iterable[str], method: str, payload: dict[str, Any]) -> None:
        for host in sorted({h for h in hosts if h}):
            self.caster.cast(DHCP_AGENT, method, host=host, payload=payload)

    def agent_updated(self, host: str, admin_state_up: bool) -> None:
        self.notify([host], "agent_updated", {"admin_state_up": admin_state_up})


def networks_info(core: Any, network_ids: list[str],
                  enable_dhcp_filter: bool = False) -> list[dict[str, Any]]:
    """The networks as a DHCP agent wants them: subnets and ports as full dicts.

    Three reads for any number of networks (networks, their subnets, their ports).
    """
    if not network_ids:
        return []
    ctx = admin_context()
    networks = core.get_networks(ctx, {"id": network_ids})
    ids = [n["id"] for n in networks]
    subnets: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    ports: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for subnet in core.get_subnets(ctx, {"network_id": ids}) if ids else []:
        if subnet.get("enable_dhcp") or not enable_dhcp_filter:
            subnets[subnet["network_id"]].append(subnet)
    for port in core.get_ports(ctx, {"network_id": ids}) if ids else []:
        ports[port["network_id"]].append(port)
    return [{**n, "subnets": subnets[n["id"]], "ports": ports[n["id"]],
             "non_local_subnets": []} for n in networks]


def with_defaults(body: dict[str, Any]) -> dict[str, Any]:
    """A port body as the API would hand it to the core plugin: defaults filled in."""
    filled = dict(body)
    for name, attr in PORTS.attrs.items():
        if attr.allow_post and name not in filled and attr.default is not REQUIRED:
            filled[name] = attr.default
    filled["tenant_id"] = filled["project_id"]
    return filled


class DhcpRpcCallback:
    """``q-plugin`` endpoint of the DHCP agents (Neutron's DhcpRpcCallback)."""

    target = oslo_messaging.Target(version=DHCP_RPC_VERSION, namespace=DHCP_RPC_NAMESPACE,
                                   legacy_namespaces=[None])

    def __init__(self, core: Any, scheduler: Any, l2pop: Any = None) -> None:
        self.core = core
        self.scheduler = scheduler
        self.l2pop = l2pop

    def get_active_networks_info(self, context: Any, host: str | None = None,
                                 enable_dhcp_filter: bool = True,
                                 **kwargs: Any) -> list[dict[str, Any]]:
        """The networks scheduled to ``host``'s DHCP agent (scheduling unserved ones)."""
        if not host:
            return []
        self.scheduler.auto_schedule(host)
        return networks_info(self.core, self.scheduler.networks_of_host(host),
                             enable_dhcp_filter)

    def get_network_info(self, context: Any, network_id: str | None = None,
                         host: str | None = None, **kwargs: Any) -> dict[str, Any] | None:
        found = networks_info(self.core, [network_id] if network_id else [])
        return found[0] if found else None

    def create_dhcp_port(self, context: Any, port: dict[str, Any] | None = None,
                         host: str | None = None, **kwargs: Any) -> dict[str, Any] | None:
        """Create the agent's DHCP port, bound to ``host``; None if its network is gone."""
        body = dict((port or {}).get("port") or {})
        body.update({"device_owner": DEVICE_OWNER_DHCP, "binding:host_id": host or ""})
        body.pop("tenant_id", None)
        ctx = admin_context()
        try:
            network = self.core.get_network(ctx, body["network_id"])
        except Exception:
            LOG.debug("create_dhcp_port from %s: network %s is gone", host,
                      body.get("network_id"))
            return None
        body.setdefault("project_id", network["project_id"])
        return dict(self.core.create_port(ctx, with_defaults(body)))

    def update_dhcp_port(self, context: Any, port_id: str | None = None,
                         port: dict[str, Any] | None = None, host: str | None = None,
                         **kwargs: Any) -> dict[str, Any] | None:
        body = dict((port or {}).get("port") or {})
        for key in ("id", "network_id", "tenant_id", "project_id"):
            body.pop(key, None)
        if host:
            body["binding:host_id"] = host
        return dict(self.core.update_port(admin_context(), port_id, body))

    def release_dhcp_port(self, context: Any, network_id: str | None = None,
                          device_id: str | None = None, host: str | None = None,
                          **kwargs: Any) -> None:
        ctx = admin_context()
        for found in self.core.get_ports(ctx, {"network_id": [network_id],
                                               "device_id": [device_id],
                                               "device_owner": [DEVICE_OWNER_DHCP]}):
            with contextlib.suppress(Exception):
                self.core.delete_port(ctx, found["id"])

    def dhcp_ready_on_ports(self, context: Any, port_ids: list[str] | None = None,
                            **kwargs: Any) -> None:
        """The DHCP half of each port's provisioning; a port may go ACTIVE now."""
        ctx = admin_context()
        became = [pid for pid in port_ids or ()
                  if self.core.provisioning_complete(ctx, pid, provisioning.DHCP_ENTITY)]
        if not became or self.l2pop is None:
            return
        for port in self.core.get_ports(ctx, {"id": became}):
            try:
                self.l2pop.port_up(port, port["binding:host_id"])
            except Exception:
                LOG.exception("l2population port_up of %s failed", port["id"])
