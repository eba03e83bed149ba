"""Serving the WSGI app: threads in-process (all-in-one) or gunicorn worker processes."""

from __future__ import annotations

import logging
import socketserver
import threading
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

LOG = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s - %s", self.address_string(), format % args)


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def serve_in_thread(app: Any, host: str, port: int) -> tuple[ThreadingWSGIServer,
                                                              threading.Thread]:
    """Start serving ``app`` on a daemon thread; port 0 picks a free port."""
    server = make_server(host, port, app, server_class=ThreadingWSGIServer,
                         handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="wsgi", daemon=True)
    thread.start()
    return server, thread  # type: ignore[return-value]


def serve_forever(app: Any, host: str, port: int) -> None:
    server = make_server(host, port, app, server_class=ThreadingWSGIServer,
                         handler_class=_QuietHandler)
    LOG.info("Neutrino API listening on http://%s:%d", host, server.server_port)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def serve_gunicorn(app_factory: Callable[[], Any], host: str, port: int, workers: int,
                   threads: int = 8) -> None:
    """Run ``app_factory()`` in each of ``workers`` forked gunicorn processes."""
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("preload_app", False)
            self.cfg.set("accesslog", None)
            self.cfg.set("keepalive", 5)

        def load(self) -> Any:
            return app_factory()

    _App().run()
