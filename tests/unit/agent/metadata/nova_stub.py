"""A real HTTP Nova metadata stub on 127.0.0.1 that checks the signature (tests only)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def nova_stub(secret: str) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """Serve ``/latest/meta-data/instance-id``; yields (base URL, headers of each request)."""
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            seen.append(headers)
            instance = headers.get("x-instance-id", "")
            signature = hmac.new(secret.encode(), instance.encode(),
                                 hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signature, headers.get("x-instance-id-signature", "")):
                self._send(403, b"Invalid proxy request signature.")
            elif self.path == "/latest/meta-data/instance-id":
                self._send(200, instance.encode())
            else:
                self._send(404, b"Not Found")

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()
