"""How the controller client puts a request on the wire: the transport contract and
its two implementations.

``KeepAliveTransport`` is the real one: HTTP/1.1 over ``http.client`` with one
kept-alive connection per thread. A journal worker sends one small request per
row, thousands a second; a general-purpose client (httpx) spent four times the
CPU of the request itself building and tracking it. ``HttpxTransport`` runs any
``httpx`` transport instead (``httpx.MockTransport`` / ``WSGITransport`` in
unit tests, or a proxy setup the simple one does not cover).
"""

from __future__ import annotations

import abc
import dataclasses
import http.client
import select
import ssl
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from neutrino.journal.errors import ControllerConnectionError

Headers = dict[str, str]

# Idle connections older than this are not reused: the reference controller
# closes them after 60 s, and a reused half-closed one would fail a request.
IDLE_TIMEOUT = 30.0


@dataclasses.dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, raw body, and the request it answers (for messages)."""

    status_code: int
    content: bytes
    method: str
    url: str

    @property
    def is_error(self) -> bool:
        return self.status_code >= 400

    def json(self) -> Any:
        """The body decoded as JSON; raises ``ValueError`` if it is not JSON."""
        return orjson.loads(self.content)


class BaseTransport(abc.ABC):
    """Sends one request to the controller root given at construction.

    ``path`` is absolute (``/controller/nb/v2/neutron/networks``), ``content``
    the body or None, ``headers`` the request headers besides Host and
    Content-Length. Returns the answer whatever its status; raises
    ``ControllerConnectionError`` when there is no answer (refused, reset,
    timed out). Implementations are thread-safe.
    """

    @abc.abstractmethod
    def request(self, method: str, path: str, content: bytes | None,
                headers: Headers) -> Reply:
        """Send one request and return its answer."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close every connection; later requests open new ones."""


def _root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class _Connection:
    """One thread's kept-alive connection and when it was last used."""

    def __init__(self, connection: http.client.HTTPConnection) -> None:
        self.http = connection
        self.used = 0.0

    def stale(self, now: float) -> bool:
        """True if reusing it would likely fail: idle too long, or closed by the server.

        An idle HTTP/1.1 connection has nothing to read; readable means EOF (the
        server closed it) or garbage, either way it cannot carry a request.
        """
        sock = self.http.sock
        if sock is None:
            return False  # http.client opens a new one by itself
        if now - self.used > IDLE_TIMEOUT:
            return True
        return bool(select.select([sock], [], [], 0)[0])


class KeepAliveTransport(BaseTransport):
    """HTTP/1.1 (or HTTPS) with one kept-alive connection per calling thread."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.root = _root(url)
        self._host = parts.hostname or ""
        self._port = parts.port
        self._timeout = timeout
        self._tls = ssl.create_default_context() if parts.scheme == "https" else None
        self._local = threading.local()
        self._open: list[_Connection] = []
        self._lock = threading.Lock()

    def _new(self) -> http.client.HTTPConnection:
        if self._tls is not None:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout,
                                               context=self._tls)
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _connection(self, now: float) -> _Connection:
        connection: _Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = _Connection(self._new())
            with self._lock:
                self._open.append(connection)
            self._local.connection = connection
        elif connection.stale(now):
            connection.http.close()
        return connection

    def request(self, method: str, path: str, content: bytes | None,
                headers: Headers) -> Reply:
        now = time.monotonic()
        connection = self._connection(now)
        try:
            connection.http.request(method, path, body=content, headers=headers)
            response = connection.http.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.http.close()
            raise ControllerConnectionError(
                f"{method} {self.root}{path}: {type(exc).__name__}: {exc}") from exc
        connection.used = now
        return Reply(response.status, body, method, self.root + path)

    def close(self) -> None:
        with self._lock:
            for connection in self._open:
                connection.http.close()


class HttpxTransport(BaseTransport):
    """Requests through an ``httpx`` transport (a mock, a WSGI app, a proxy …)."""

    def __init__(self, url: str, timeout: float, transport: httpx.BaseTransport) -> None:
        self.root = _root(url)
        self._http = httpx.Client(base_url=self.root, timeout=timeout, transport=transport)

    def request(self, method: str, path: str, content: bytes | None,
                headers: Headers) -> Reply:
        try:
            response = self._http.request(method, path, content=content, headers=headers)
        except httpx.TransportError as exc:
            raise ControllerConnectionError(
                f"{method} {self.root}{path}: {type(exc).__name__}: {exc}") from exc
        return Reply(response.status_code, response.content, method, str(response.url))

    def close(self) -> None:
        self._http.close()
