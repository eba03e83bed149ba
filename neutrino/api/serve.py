"""Serving the WSGI app: a thread pool in-process (all-in-one) or gunicorn worker processes.

In-process serving uses cheroot, CherryPy's HTTP/1.1 server: persistent connections
(a client such as openstacksdk sends every request of a session over one), a fixed
pool of worker threads, and idle keep-alive connections parked in a selector rather
than holding a thread. The standard library's ``wsgiref`` closed the connection after
each request, spawned a thread per connection and parsed headers with the email
package: about half a millisecond of the server's time per request, for nothing.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from cheroot import wsgi

LOG = logging.getLogger(__name__)

# Requests served at once by one process. Keep-alive connections that wait for their
# next request hold no thread, so this bounds concurrent work, not clients.
DEFAULT_THREADS = 32


class WSGIServer:
    """A bound cheroot server: ``server_port`` is known once constructed (port 0 works)."""

    def __init__(self, app: Any, host: str, port: int, threads: int = DEFAULT_THREADS) -> None:
        self._server = wsgi.Server((host, port), app, numthreads=threads,
                                   request_queue_size=128, timeout=30, shutdown_timeout=5)
        self._server.server_name = "neutrino"
        self._server.prepare()  # binds and listens, so clients can connect from now on

    @property
    def server_port(self) -> int:
        return int(self._server.bind_addr[1])

    def serve_forever(self) -> None:
        self._server.serve()

    def shutdown(self) -> None:
        """Stop accepting, finish the requests in progress, close the socket."""
        self._server.stop()

    def server_close(self) -> None:
        self._server.stop()


def freeze_startup_objects() -> None:
    """Leave what start-up made (modules, plugins, compiled queries: ~190,000 objects)
    out of the cyclic garbage collector's full passes. A request that builds a few
    thousand objects (a long list) sets one off every request or two, and each pass
    rescanned them all: ~40% of a 2,000-port list's CPU. They live as long as the
    process anyway."""
    gc.collect()
    gc.freeze()


def serve_in_thread(app: Any, host: str, port: int,
                    threads: int = DEFAULT_THREADS) -> tuple[WSGIServer, threading.Thread]:
    """Start serving ``app`` on a daemon thread; port 0 picks a free port."""
    server = WSGIServer(app, host, port, threads)
    thread = threading.Thread(target=server.serve_forever, name="wsgi", daemon=True)
    thread.start()
    return server, thread


def serve_forever(app: Any, host: str, port: int, threads: int = DEFAULT_THREADS) -> None:
    """Serve until the server fails or the main thread is interrupted (Ctrl-C, SIGTERM).

    The server runs on its own thread; the main thread only sleeps. A signal then
    raises its KeyboardInterrupt or SystemExit in that sleep — never inside the
    server's queues and locks, where it could leave a worker that no shutdown request
    reaches — and the server is stopped from here: no new connections, requests in
    progress finished.
    """
    freeze_startup_objects()
    server, thread = serve_in_thread(app, host, port, threads)
    LOG.info("Neutrino API listening on http://%s:%d", host, server.server_port)
    try:
        while thread.is_alive():
            time.sleep(0.5)
    finally:
        server.shutdown()
        thread.join(10)
    raise RuntimeError("the API server stopped on its own (see the error above)")


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
            app = app_factory()  # in the forked worker
            freeze_startup_objects()
            return app

    _App().run()
