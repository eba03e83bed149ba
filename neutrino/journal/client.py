"""REST client the journal uses to push changes to an SDN controller.

It speaks the northbound dialect networking-odl speaks to OpenDaylight (and
``neutrino-controller`` serves): a journal ``create`` is
``POST <url>/<collection>`` with body ``{object_type: data}``, an ``update`` is
``PUT <url>/<collection>/<id>`` with the same body, a ``delete`` is
``DELETE <url>/<collection>/<id>``. Collections are the object type with ``_``
turned into ``-`` plus ``s`` (``security_group`` -> ``security-groups``).

Two kinds of failure are kept apart, because the journal treats them
differently: ``ControllerConnectionError`` (unreachable, reset, timed out)
leaves a row pending without using up a retry, while ``ControllerError``
(the controller answered with an HTTP error) counts as a failed attempt.
"""

from __future__ import annotations

import abc
import base64
import logging
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from neutrino.journal.errors import (
    ControllerClientError,
    ControllerConnectionError,
    ControllerError,
)
from neutrino.journal.transport import (
    BaseTransport,
    HttpxTransport,
    KeepAliveTransport,
    Reply,
)

LOG = logging.getLogger(__name__)

Resource = dict[str, Any]

DEFAULT_TIMEOUT = 10.0

__all__ = ["COLLECTIONS", "BaseControllerClient", "ControllerClient", "ControllerClientError",
           "ControllerConnectionError", "ControllerError", "Reply", "collection_for"]

# object_type -> URL collection, for the types the journal syncs.
COLLECTIONS: dict[str, str] = {
    "network": "networks",
    "subnet": "subnets",
    "port": "ports",
    "router": "routers",
    "floatingip": "floatingips",
    "security_group": "security-groups",
    "security_group_rule": "security-group-rules",
}


def collection_for(object_type: str) -> str:
    """URL collection of an object type; unknown types follow the same rule."""
    return COLLECTIONS.get(object_type) or object_type.replace("_", "-") + "s"


class BaseControllerClient(abc.ABC):
    """Contract between the journal and an SDN controller.

    Every method raises ``ControllerConnectionError`` when the controller is
    unreachable or times out, and ``ControllerError`` for an HTTP error answer
    not described below. ``object_type`` is a journal object type
    (``network``, ``security_group_rule``, ...).
    """

    @abc.abstractmethod
    def create(self, object_type: str, obj: Resource) -> Resource:
        """Create ``obj`` (which carries its ``id``); return the stored resource."""

    @abc.abstractmethod
    def update(self, object_type: str, resource_id: str, obj: Resource) -> Resource:
        """Replace the fields given in ``obj``; return the stored resource."""

    @abc.abstractmethod
    def delete(self, object_type: str, resource_id: str) -> bool:
        """Delete a resource; False if it was already absent (404), so replays are safe."""

    @abc.abstractmethod
    def get(self, object_type: str, resource_id: str) -> Resource | None:
        """Return one resource, or None if the controller does not have it (404)."""

    @abc.abstractmethod
    def list(self, object_type: str) -> list[Resource]:
        """Return every resource of a type the controller holds."""


class ControllerClient(BaseControllerClient):
    """Client for a controller's northbound REST API.

    ``url`` is the northbound root, e.g.
    ``http://127.0.0.1:8181/controller/nb/v2/neutron``. ``transport`` replaces
    the network: a ``neutrino.journal.transport.BaseTransport``, or any
    ``httpx`` transport (``httpx.MockTransport`` in unit tests); by default
    ``KeepAliveTransport``. ``timeout`` (seconds) bounds connecting and each
    read and write. The client is thread-safe.
    """

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: BaseTransport | httpx.BaseTransport | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"controller url must be http:// or https://, got {url!r}")
        self.url = url.rstrip("/") + "/"
        self._path = parts.path.rstrip("/") + "/"
        if transport is None:
            transport = KeepAliveTransport(url, timeout)
        elif isinstance(transport, httpx.BaseTransport):
            transport = HttpxTransport(url, timeout, transport)
        self._transport = transport
        self._headers = {"Accept": "application/json"}
        if username:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._json_headers = {**self._headers, "Content-Type": "application/json"}

    @classmethod
    def from_conf(cls, conf: Any, transport: BaseTransport | httpx.BaseTransport | None = None
                  ) -> ControllerClient:
        """Build from an option group with ``url``, ``username``, ``password``, ``timeout``."""
        return cls(
            conf.url,
            username=conf.username,
            password=conf.password,
            timeout=conf.timeout,
            transport=transport,
        )

    # -- the journal's operations -----------------------------------------

    def create(self, object_type: str, obj: Resource) -> Resource:
        response = self.sendjson("POST", collection_for(object_type), {object_type: obj})
        return _resource(response, object_type, obj)

    def update(self, object_type: str, resource_id: str, obj: Resource) -> Resource:
        path = _item_path(object_type, resource_id)
        response = self.sendjson("PUT", path, {object_type: obj})
        return _resource(response, object_type, obj)

    def delete(self, object_type: str, resource_id: str) -> bool:
        response = self._request("DELETE", _item_path(object_type, resource_id), None)
        if response.status_code == 404:
            LOG.debug("%s %s already absent from the controller", object_type, resource_id)
            return False
        _check(response)
        return True

    def get(self, object_type: str, resource_id: str) -> Resource | None:
        response = self._request("GET", _item_path(object_type, resource_id), None)
        if response.status_code == 404:
            return None
        _check(response)
        return _resource(response, object_type, None)

    def list(self, object_type: str) -> list[Resource]:
        response = self.sendjson("GET", collection_for(object_type), None)
        body = _json(response)
        items = body.get(object_type + "s") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ControllerError(response.status_code, body, "GET", response.url)
        return items

    # -- raw access ----------------------------------------------------------

    def sendjson(self, method: str, urlpath: str, obj: Any) -> Reply:
        """Send ``obj`` as JSON (None: no body) to ``urlpath`` under the base URL.

        Returns the answer; raises ``ControllerError`` for a 4xx/5xx status.
        """
        return _check(self._request(method, urlpath, obj))

    def _request(self, method: str, urlpath: str, obj: Any) -> Reply:
        path = self._path + urlpath.lstrip("/")
        if obj is None:
            return self._transport.request(method.upper(), path, None, self._headers)
        return self._transport.request(method.upper(), path, orjson.dumps(obj),
                                       self._json_headers)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> ControllerClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _item_path(object_type: str, resource_id: str) -> str:
    return f"{collection_for(object_type)}/{resource_id}"


def _json(response: Reply) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.content.decode(errors="replace")


def _check(response: Reply) -> Reply:
    if response.is_error:
        raise ControllerError(response.status_code, _json(response), response.method,
                              response.url)
    return response


def _resource(response: Reply, object_type: str, sent: Resource | None) -> Resource:
    # A controller may answer a write with an empty body (OpenDaylight often
    # does); then what was sent is what is stored.
    body = _json(response)
    if isinstance(body, dict) and isinstance(body.get(object_type), dict):
        return body[object_type]
    if sent is not None:
        return sent
    raise ControllerError(response.status_code, body, response.method, response.url)
