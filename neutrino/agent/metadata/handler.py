"""One metadata request, from the proxy's headers to Nova's answer (no sockets here).

The namespace proxy sets ``X-Forwarded-For`` (the guest's address) and
``X-Neutron-Network-ID`` or ``X-Neutron-Router-ID``; the handler finds the instance
(``lookup``) and forwards the same method, path and query to Nova with the signed
instance headers (``nova``). Nova's status, body and content type go back unchanged
(its 403 too: a secret mismatch is Nova's to report). Errors of our own: 400 without
the proxy's headers, 404 when no port matches, 503 when the server or Nova cannot be
reached.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from neutrino.agent.metadata.lookup import PortLookup
from neutrino.agent.metadata.nova import NovaMetadataClient, NovaUnreachable, Reply, nova_headers
from neutrino.rpc.client import RpcError

LOG = logging.getLogger(__name__)

NETWORK_HEADER = "x-neutron-network-id"
ROUTER_HEADER = "x-neutron-router-id"
FORWARDED_FOR = "x-forwarded-for"


@dataclass(frozen=True)
class Request:
    """A request as the proxy forwarded it; header names lower-cased."""

    method: str
    path_qs: str  # path and query string, as the guest asked
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


def _text(status: int, message: str) -> Reply:
    return Reply(status, message.encode())


class MetadataHandler:
    """Answers proxied requests for one agent."""

    def __init__(self, lookup: PortLookup, nova: NovaMetadataClient, secret: str) -> None:
        self.lookup = lookup
        self.nova = nova
        self.secret = secret

    def handle(self, request: Request) -> Reply:
        remote_ip = _remote_ip(request.headers)
        network_id = request.headers.get(NETWORK_HEADER, "").strip()
        router_id = request.headers.get(ROUTER_HEADER, "").strip()
        if not remote_ip or not (network_id or router_id):
            return _text(400, "X-Forwarded-For and X-Neutron-Network-ID or "
                              "X-Neutron-Router-ID are required")
        try:
            instance = self.lookup.instance(remote_ip, network_id or None, router_id or None)
        except RpcError as exc:
            LOG.warning("port lookup for %s failed: %s", remote_ip, exc)
            return _text(503, "The Neutron server is unavailable")
        if instance is None or not instance.instance_id:
            LOG.info("no instance has address %s on %s", remote_ip,
                     f"network {network_id}" if network_id else f"router {router_id}")
            return _text(404, "Not Found")
        return self._to_nova(request, remote_ip, instance.instance_id, instance.project_id)

    def _to_nova(self, request: Request, remote_ip: str, instance_id: str,
                 project_id: str) -> Reply:
        headers = nova_headers(instance_id, project_id, remote_ip, self.secret,
                               request.headers)
        try:
            reply = self.nova.forward(request.method, request.path_qs, headers, request.body)
        except NovaUnreachable as exc:
            LOG.warning("Nova's metadata API is unreachable: %s", exc)
            return _text(503, "Nova's metadata API is unavailable")
        if reply.status == 403:
            LOG.warning("Nova refused instance %s (403): is metadata_proxy_shared_secret "
                        "the same as Nova's?", instance_id)
        return reply


def _remote_ip(headers: Mapping[str, str]) -> str:
    # the proxy replaces any X-Forwarded-For a guest sent; the first address is the guest
    return headers.get(FORWARDED_FOR, "").split(",")[0].strip()
