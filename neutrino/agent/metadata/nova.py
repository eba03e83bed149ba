"""Nova's metadata API as the metadata agent calls it: signed headers, one HTTP client.

Nova trusts a request's ``X-Instance-ID`` only with ``X-Instance-ID-Signature``, the hex
HMAC-SHA256 of the instance id under ``metadata_proxy_shared_secret``. The client takes
an httpx transport, so unit tests answer with a mock and production talks real HTTP(S).
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

# Request headers passed on to Nova as the guest sent them (the rest are dropped, so a
# guest cannot forge the instance headers the agent sets).
FORWARDED_HEADERS = ("accept", "content-type", "user-agent")


def instance_signature(secret: str, instance_id: str) -> str:
    """``X-Instance-ID-Signature``: hex HMAC-SHA256(secret, instance id)."""
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


def nova_headers(instance_id: str, project_id: str, remote_ip: str, secret: str,
                 incoming: Mapping[str, str]) -> dict[str, str]:
    """The headers of the request to Nova for ``instance_id`` asked by ``remote_ip``."""
    headers = {name: incoming[name] for name in FORWARDED_HEADERS if name in incoming}
    headers.update({
        "X-Forwarded-For": remote_ip, "X-Instance-ID": instance_id,
        "X-Tenant-ID": project_id,
        "X-Instance-ID-Signature": instance_signature(secret, instance_id)})
    return headers


def tls_verify(insecure: bool, ca_cert: str | None = None,
               client_cert: tuple[str, str] | None = None) -> bool | ssl.SSLContext:
    """httpx's ``verify`` for Nova over https (plain http ignores it)."""
    if insecure and client_cert is None:
        return False
    context = ssl.create_default_context(cafile=ca_cert)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if client_cert is not None:
        context.load_cert_chain(*client_cert)
    return context


@dataclass(frozen=True)
class Reply:
    """What goes back to the guest."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=UTF-8"


class NovaUnreachable(Exception):
    """Nova's metadata API did not answer (connection refused, timeout, TLS failure)."""


class NovaMetadataClient:
    """Sends requests to ``base_url`` (``<protocol>://<host>:<port>``)."""

    def __init__(self, base_url: str, *, verify: bool | ssl.SSLContext = True,
                 timeout: float = 60.0, transport: httpx.BaseTransport | None = None
                 ) -> None:
        self._client = httpx.Client(base_url=base_url, verify=verify, timeout=timeout,
                                    transport=transport)

    def forward(self, method: str, path_qs: str, headers: Mapping[str, str],
                body: bytes = b"") -> Reply:
        """Send one request (path with its query string); Nova's answer as it came."""
        try:
            response = self._client.request(method, path_qs, headers=dict(headers),
                                            content=body or None)
        except httpx.TransportError as exc:
            raise NovaUnreachable(str(exc)) from exc
        return Reply(response.status_code, response.content,
                     response.headers.get("content-type", "text/plain; charset=UTF-8"))

    def close(self) -> None:
        self._client.close()
