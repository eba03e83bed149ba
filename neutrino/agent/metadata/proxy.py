"""The metadata proxy run inside a qdhcp/qrouter namespace (Neutron runs haproxy there).

``python -m neutrino.agent.metadata.proxy --socket S --network-id N|--router-id R
--bind-address 169.254.169.254 --port 80 --pid-file=F --daemonize``

It listens on 169.254.169.254:80 in the namespace, replaces whatever a guest sent as
``X-Forwarded-For`` / ``X-Neutron-*`` / ``X-Instance-*`` with the guest's real address
and the network (or router) id, and forwards the request to the metadata agent's unix
socket. Reads are bounded, sockets time out and at most ``MAX_CLIENTS`` requests are
served at once, so a misbehaving guest costs a thread for a bounded time only. With
``--daemonize`` it binds first (a bind error is the exit status, as with dnsmasq), then
detaches and the pid file names the serving process before the launcher returns.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import os
import socket
import sys
import threading
from collections.abc import Sequence
from typing import Any

MAX_BODY = 1 << 20
MAX_REPLY = 32 << 20  # user-data may be large; not unbounded
TIMEOUT = 30.0
MAX_CLIENTS = 64
# Headers only the proxy and the agent may set: a guest's copies are dropped.
_TRUSTED = ("x-forwarded-for", "x-neutron-network-id", "x-neutron-router-id",
            "x-instance-id", "x-instance-id-signature", "x-tenant-id")
_HOP_BY_HOP = ("connection", "keep-alive", "proxy-connection", "transfer-encoding",
               "upgrade", "te", "trailer", "host", "content-length")


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over the metadata agent's unix socket."""

    def __init__(self, path: str, timeout: float = TIMEOUT) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def upstream_headers(incoming: Sequence[tuple[str, str]], remote_ip: str,
                     id_header: str, id_value: str) -> dict[str, str]:
    """The headers sent to the agent: the guest's, minus trusted and hop-by-hop ones."""
    headers = {name: value for name, value in incoming
               if name.lower() not in _TRUSTED and name.lower() not in _HOP_BY_HOP}
    headers.update({"X-Forwarded-For": remote_ip, id_header: id_value})
    return headers


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: ProxyServer
    protocol_version = "HTTP/1.0"  # one request per connection: nothing to keep track of
    timeout = TIMEOUT

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            self._send(413, "text/plain", b"Request body too large")
            return
        body = self.rfile.read(length) if length else b""
        headers = upstream_headers(list(self.headers.items()), self.client_address[0],
                                   self.server.id_header, self.server.id_value)
        try:
            status, content_type, reply = self._forward(body, headers)
        except (OSError, http.client.HTTPException, ValueError):
            status, content_type, reply = 503, "text/plain", b"Metadata agent unavailable"
        self._send(status, content_type, reply)

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def _forward(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
        conn = UnixHTTPConnection(self.server.socket_path)
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            reply = response.read(MAX_REPLY + 1)
            if len(reply) > MAX_REPLY:
                raise ValueError("reply too large")
            return (response.status, response.getheader("Content-Type", "text/plain"),
                    reply)
        finally:
            conn.close()

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None  # stdout/stderr are /dev/null once daemonised


class ProxyServer(http.server.ThreadingHTTPServer):
    """The listening proxy; ``id_header`` is X-Neutron-Network-ID or X-Neutron-Router-ID."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], socket_path: str, id_header: str,
                 id_value: str) -> None:
        self.socket_path = socket_path
        self.id_header = id_header
        self.id_value = id_value
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)
        super().__init__(address, _ProxyHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        conn.settimeout(TIMEOUT)
        return conn, address

    def process_request(self, request: Any, client_address: Any) -> None:
        self._slots.acquire()
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="neutrino-metadata-proxy")
    parser.add_argument("--socket", required=True, help="the metadata agent's unix socket")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--network-id")
    which.add_argument("--router-id")
    parser.add_argument("--bind-address", default="169.254.169.254")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("--daemonize", action="store_true")
    return parser.parse_args(argv)


def make_server(args: argparse.Namespace) -> ProxyServer:
    if args.network_id:
        return ProxyServer((args.bind_address, args.port), args.socket,
                           "X-Neutron-Network-ID", args.network_id)
    return ProxyServer((args.bind_address, args.port), args.socket,
                       "X-Neutron-Router-ID", args.router_id)


def _write_pid(path: str, pid: int) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as out:
        out.write(f"{pid}\n")
    os.replace(tmp, path)


def _daemonize(pid_file: str) -> None:
    """Detach (double fork); returns in the serving grandchild only."""
    child = os.fork()
    if child:
        _, status = os.waitpid(child, 0)
        os._exit(os.waitstatus_to_exitcode(status))
    os.setsid()
    grandchild = os.fork()
    if grandchild:
        _write_pid(pid_file, grandchild)  # before the launcher sees us return
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        server = make_server(args)
    except OSError as exc:
        print(f"metadata proxy: cannot listen on {args.bind_address}:{args.port}: {exc}",
              file=sys.stderr)
        return 1
    if args.daemonize:
        _daemonize(args.pid_file)
    else:
        _write_pid(args.pid_file, os.getpid())
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
