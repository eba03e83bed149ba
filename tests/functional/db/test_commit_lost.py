"""A connection lost during COMMIT: a 503, never a second copy of the change.

The server may have committed before the connection went, so running the request
again could create the resource twice. A proxy between the API server and PostgreSQL
forwards the COMMIT, lets PostgreSQL commit, and then drops the connection instead of
passing the reply on — exactly what a network cut or a failover at that moment does.
"""

from __future__ import annotations

import select
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, func
from sqlalchemy import select as sql_select

from neutrino.db.models import Network
from tests.fixtures.servers import make_database, start_api_server

pytestmark = [pytest.mark.functional, pytest.mark.db]


class CommitDroppingProxy:
    """TCP proxy to PostgreSQL; once armed, the next COMMIT's reply never arrives."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.dropped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        try:
            while True:
                readable, _, _ = select.select([client, server], [], [])
                if client in readable:
                    data = client.recv(65536)
                    if not data:
                        return
                    server.sendall(data)
                    if self.armed.is_set() and b"COMMIT\x00" in data:
                        self.armed.clear()
                        # Wait for PostgreSQL's answer (it has committed), then lose it.
                        server.recv(65536)
                        self.dropped.set()
                        return
                if server in readable:
                    data = server.recv(65536)
                    if not data:
                        return
                    client.sendall(data)
        finally:
            client.close()
            server.close()

    def close(self) -> None:
        self.listener.close()


def test_a_commit_whose_reply_is_lost_is_not_run_twice(tmp_path) -> None:
    with make_database("postgresql", tmp_path) as url:
        parts = urlsplit(url)
        proxy = CommitDroppingProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
        proxied = urlunsplit(parts._replace(
            netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
        server = start_api_server({
            "DEFAULT": {"auth_strategy": "noauth"}, "database": {"connection": proxied},
            "ml2": {"type_drivers": ["vxlan"], "tenant_network_types": ["vxlan"],
                    "mechanism_drivers": ["logger"]},
            "ml2_type_vxlan": {"vni_ranges": ["10:20"]}})
        direct = create_engine(url)
        try:
            with server.http() as http:
                assert http.post("/v2.0/networks", json={"network": {"name": "before"}}
                                 ).status_code == 201
                proxy.armed.set()
                resp = http.post("/v2.0/networks", json={"network": {"name": "lost"}})
                assert proxy.dropped.is_set()
                assert resp.status_code == 503, resp.text
                assert resp.json()["NeutronError"]["type"] == "CommitOutcomeUnknown"
                # PostgreSQL did commit it, once; the API shows it once too.
                with direct.connect() as conn:
                    assert conn.execute(sql_select(func.count()).select_from(
                        Network).where(Network.name == "lost")).scalar() == 1
                names = [n["name"] for n in http.get("/v2.0/networks").json()["networks"]]
                assert sorted(names) == ["before", "lost"]
                # The pool replaced the lost connection: the next write just works.
                assert http.post("/v2.0/networks", json={"network": {"name": "after"}}
                                 ).status_code == 201
        finally:
            direct.dispose()
            server.stop()
            proxy.close()
