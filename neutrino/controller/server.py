"""Multi-threaded HTTP server for the controller app, and an in-process helper.

``down`` is played at the socket: while it is set, each new connection for a
path outside ``/_test`` is reset right after its request line is read, so a
client sees a connection error (not an HTTP status), as when a real
controller is unreachable. ``ControllerServer.stop()`` followed by
``start()`` closes and re-opens the listening socket on the same port, for
tests that need "connection refused" itself.

Connections are HTTP/1.1 keep-alive: a journal worker sends thousands of small
requests, and opening a TCP connection for each cost a quarter of its time.
Stopping the server also closes the connections it kept open, so a client
sees the restart (a kept-alive connection would otherwise go on being served).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from neutrino.controller.app import DEFAULT_BASE_PATH, TEST_PREFIX, create_app
from neutrino.controller.northbound import Controller
from neutrino.controller.store import ResourceStore

LOG = logging.getLogger(__name__)

WSGIApp = Callable[..., Any]

KEEPALIVE_TIMEOUT = 60.0


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """``wsgiref`` server answering each connection in its own thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        drop: Callable[[str], bool] = lambda path: False,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.drop = drop
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every open connection (idle keep-alive ones included)."""
        with self._open_lock:
            connections, self._open = list(self._open), set()
        for connection in connections:
            with contextlib.suppress(OSError):  # already gone
                connection.shutdown(socket.SHUT_RDWR)

    def server_close(self) -> None:
        """Close the listening socket and end the open connections with it."""
        super().server_close()
        self.close_connections()


class RequestHandler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive; drops a request unanswered when the server says so."""

    server: ThreadingWSGIServer
    protocol_version = "HTTP/1.1"
    timeout = KEEPALIVE_TIMEOUT  # an idle connection is closed after this many seconds
    # wsgiref sends headers and body separately: without TCP_NODELAY the body
    # waits for the client's delayed ACK (40 ms) on a kept-alive connection.
    disable_nagle_algorithm = True

    # BaseHTTPRequestHandler's loop (WSGIRequestHandler's handle serves one request).
    handle = BaseHTTPRequestHandler.handle

    def handle_one_request(self) -> None:
        # WSGIRequestHandler.handle, plus the drop check before the app runs, and
        # the body read in full so the next request on the connection starts clean
        # even when the app did not read it.
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (TimeoutError, ConnectionError):
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        if self.server.drop(self.path):
            self._reset_connection()
            return
        app = self.server.get_app()
        assert app is not None, "set_app() is called before serving"
        handler = ServerHandler(
            self._body(),
            self.wfile,  # type: ignore[arg-type]  # typeshed: BufferedIOBase vs IO[bytes]
            self.get_stderr(),
            self.get_environ(),
            multithread=True,
        )
        if self.request_version == "HTTP/1.1":
            handler.http_version = "1.1"
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self._framed(app))
        self.wfile.flush()

    def _body(self) -> Any:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # not parsed here: the app reads to the end
            return self.rfile
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return io.BytesIO(self.rfile.read(length) if length > 0 else b"")

    def _framed(self, app: WSGIApp) -> WSGIApp:
        """``app``, closing the connection after a response whose end is not delimited."""
        def framed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
                # (wsgiref forbids the app a Connection header; closing is enough.)
                names = {name.lower() for name, _ in headers}
                if "content-length" not in names and not status.startswith(("204", "304")):
                    self.close_connection = True
                return start_response(status, headers, *exc_info)
            return app(environ, start)
        return framed

    def _reset_connection(self) -> None:
        # Linger 0 turns the close into a TCP RST, which clients report as a
        # connection error rather than an empty reply.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s - " + format, self.address_string(), *args)


def _is_test_path(path: str) -> bool:
    target = urlsplit(path).path
    return target == TEST_PREFIX or target.startswith(TEST_PREFIX + "/")


class ControllerServer:
    """Runs a reference controller on a threaded HTTP server.

    ``port=0`` picks a free port on first ``start()``; later starts reuse it,
    so ``stop()``/``start()`` looks to clients like a controller restart (with
    its state kept; call ``controller.wipe()`` to restart it empty).
    """

    def __init__(
        self,
        controller: Controller | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        base_path: str = DEFAULT_BASE_PATH,
        username: str | None = None,
        password: str | None = None,
        state_file: str | os.PathLike[str] | None = None,
        test_api: bool = True,
    ) -> None:
        if controller is None:
            controller = Controller(store=ResourceStore(state_file))
        elif state_file is not None:
            raise ValueError("give either a controller or a state_file, not both")
        self.controller = controller
        self.host = host
        self.port = port
        self.base_path = "/" + base_path.strip("/")
        self.app = create_app(
            controller,
            base_path=self.base_path,
            username=username,
            password=password,
            test_api=test_api,
        )
        self._server: ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:41234``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def northbound_url(self) -> str:
        """URL the journal client is configured with (root + base path)."""
        return self.url + self.base_path

    @property
    def running(self) -> bool:
        return self._server is not None

    def bind(self) -> ThreadingWSGIServer:
        """Open the listening socket (without serving yet)."""
        if self._server is not None:
            raise RuntimeError("controller server already listening")
        server = ThreadingWSGIServer((self.host, self.port), drop=self._drop)
        server.set_app(self.app)
        self.port = server.server_address[1]
        self._server = server
        return server

    def start(self) -> ControllerServer:
        """Listen and serve in a background thread; return self."""
        server = self.bind()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"neutrino-controller:{self.port}",
            daemon=True,
        )
        self._thread.start()
        LOG.info("reference controller listening on %s", self.northbound_url)
        return self

    def serve_forever(self) -> None:
        """Listen and serve in the calling thread until interrupted."""
        server = self._server or self.bind()
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
            self._server = None

    def stop(self) -> None:
        """Stop serving and close the listening socket (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()

    def _drop(self, path: str) -> bool:
        return self.controller.faults.settings.down and not _is_test_path(path)

    def __enter__(self) -> ControllerServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
