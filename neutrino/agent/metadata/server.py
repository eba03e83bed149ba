"""The metadata agent's HTTP server on its unix socket (the namespace proxies' upstream).

A threaded server (``workers`` requests at once, the rest wait in the ``backlog``) whose
request handler only parses HTTP and calls :class:`~.handler.MetadataHandler`. Reads are
bounded (headers by http.server, bodies by ``MAX_BODY``) and sockets time out, so a
stuck proxy connection cannot hold a thread for ever.
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import os
import socket
import socketserver
import threading
from pathlib import Path
from typing import Any

from neutrino.agent.metadata.handler import MetadataHandler, Request
from neutrino.agent.metadata.nova import Reply

LOG = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # Nova's metadata POSTs (a password) are tiny
SOCKET_TIMEOUT = 60.0


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    server: MetadataSocketServer
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            self._reply(Reply(413, b"Request body too large"))
            return
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            reply = self.server.handler.handle(Request(self.command, self.path, headers, body))
        except Exception:  # a bug must cost one request, not the agent
            LOG.exception("metadata request %s %s failed", self.command, self.path)
            reply = Reply(500, b"An unknown error has occurred")
        self._reply(reply)

    def _reply(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("metadata: " + format, *args)


class MetadataSocketServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Serves :class:`MetadataHandler` on ``path`` with at most ``workers`` threads."""

    daemon_threads = True

    def __init__(self, path: Path, handler: MetadataHandler, *, workers: int = 4,
                 backlog: int = 4096, mode: int = 0o644) -> None:
        self.handler = handler
        self.request_queue_size = backlog
        self._slots = threading.BoundedSemaphore(max(1, workers))
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a previous run's socket
        super().__init__(str(path), _RequestHandler)
        os.chmod(path, mode)
        self.path = path
        self._thread: threading.Thread | None = None

    def process_request(self, request: Any, client_address: Any) -> None:
        self._slots.acquire()  # the accept loop waits while every worker is busy
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        conn.settimeout(SOCKET_TIMEOUT)
        return conn, address

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="metadata-server",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for a serve_forever to end
            self.shutdown()
            self._thread.join(5)
        self.server_close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
