"""A fake server (``get_ports`` over an in-memory port list) and a signature-checking Nova."""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import Any

import httpx

from neutrino.agent.metadata.lookup import ROUTER_INTERFACE_OWNERS
from neutrino.rpc.client import ServerUnreachable


class FakeMetadataServer:
    """Neutron's get_ports semantics on a list of port dicts; counts the calls."""

    def __init__(self, ports: list[dict[str, Any]] | None = None) -> None:
        self.ports = list(ports or [])
        self.calls: list[dict[str, Any]] = []
        self.down = False
        self.delay = threading.Event()  # set: answer at once
        self.delay.set()
        self._lock = threading.Lock()

    def get_ports(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            self.calls.append(filters)
        self.delay.wait(5)
        if self.down:
            raise ServerUnreachable("get_ports: no answer")
        return [p for p in self.ports if _matches(p, filters)]


def _matches(port: dict[str, Any], filters: dict[str, Any]) -> bool:
    for key, values in filters.items():
        if key == "fixed_ips":
            ips = {ip["ip_address"] for ip in port["fixed_ips"]}
            if not ips & set(values.get("ip_address", [])):
                return False
        elif port.get(key) not in values:
            return False
    return True


def vm_port(network_id: str, ip: str, device_id: str, project_id: str = "p1"
            ) -> dict[str, Any]:
    return {"id": f"port-{device_id}", "network_id": network_id, "device_id": device_id,
            "device_owner": "compute:nova", "project_id": project_id,
            "fixed_ips": [{"subnet_id": f"sub-{network_id}", "ip_address": ip}]}


def router_port(network_id: str, ip: str, router_id: str) -> dict[str, Any]:
    return {**vm_port(network_id, ip, router_id), "id": f"rport-{network_id}",
            "device_owner": ROUTER_INTERFACE_OWNERS[0]}


class FakeNova:
    """Nova's metadata API as an httpx handler: 403 unless the signature is right."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        instance = request.headers.get("x-instance-id", "")
        expected = hmac.new(self.secret.encode(), instance.encode(),
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get(
                "x-instance-id-signature", "")):
            return httpx.Response(403, text="Invalid proxy request signature.")
        if request.url.path == "/latest/meta-data/instance-id":
            return httpx.Response(200, text=instance,
                                  headers={"content-type": "text/plain; charset=UTF-8"})
        if request.url.path == "/openstack/latest/meta_data.json":
            return httpx.Response(200, json={"uuid": instance,
                                             "query": request.url.query.decode()})
        return httpx.Response(404, text="not found")
