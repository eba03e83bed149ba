"""A database connection the server dropped costs a retry, never a failed request."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import ML2_TEST_CONFIG
from tests.fixtures.servers import MYSQL_ADMIN, PG_ADMIN, make_database, start_api_server

pytestmark = pytest.mark.functional


def _terminate_backends(url: str) -> int:
    name = url.rsplit("/", 1)[1].split("?")[0]
    if url.startswith("mysql"):
        return _kill_mysql(name)
    admin = create_engine(f"{PG_ADMIN}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name}).all())
    finally:
        admin.dispose()


def _kill_mysql(name: str) -> int:
    admin = create_engine(f"{MYSQL_ADMIN}/", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            ids = conn.execute(text("SELECT id FROM information_schema.processlist "
                                    "WHERE db = :name AND id <> CONNECTION_ID()"),
                               {"name": name}).scalars().all()
            for pid in ids:
                conn.execute(text(f"KILL {int(pid)}"))
            return len(ids)
    finally:
        admin.dispose()


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_requests_survive_killed_connections(backend: str, tmp_path) -> None:
    with make_database(backend, tmp_path) as url:
        server = start_api_server({**ML2_TEST_CONFIG, "DEFAULT": {"auth_strategy": "noauth"},
                                   "database": {"connection": url}})
        try:
            with server.http() as http:
                net = http.post("/v2.0/networks", json={"network": {"name": "a"}})
                assert net.status_code == 201
                assert http.get("/v2.0/networks").status_code == 200
                assert _terminate_backends(url) >= 1  # the server's pooled connections
                # Both a write and a read reuse a dead pooled connection first.
                assert http.post("/v2.0/networks", json={"network": {"name": "b"}}
                                 ).status_code == 201
                assert _terminate_backends(url) >= 1
                listed = http.get("/v2.0/networks")
                assert listed.status_code == 200
                assert {n["name"] for n in listed.json()["networks"]} == {"a", "b"}
        finally:
            server.stop()
