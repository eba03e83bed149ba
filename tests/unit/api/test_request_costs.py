"""SQL statements per core API request: ceilings on what a port create, a network
create+delete pair and a long port list cost with every plugin ML2 brings along.

The bench's requests (``bench/api.py``: a project member, quotas enforced) are
counted statement by statement on SQLite (``before_cursor_execute``, BEGINs
included). RBAC, subnet pools, availability zones and the other implicit plugins
add extenders and subscribers to these paths; a change that makes one of them query
per port, per network or per request where the rows already answer goes over a
ceiling here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from tests.fixtures.servers import ApiServer
from tests.unit.api.helpers import network, ok, subnet

LISTED = 600  # above the 500 ids a keyed read takes per statement
# Measured on SQLite: a port create 19 (no slack), a network pair 13 and a list 9
# (one of slack each).
CEILING = {"port_create": 19, "network_pair": 14, "port_list": 10}


@pytest.fixture
def statements(sqlite_server: ApiServer) -> Iterator[list[str]]:
    seen: list[str] = []
    db = sqlite_server.plugin.db
    engines = {id(e): e for e in (db.engine, db.read_engine)}.values()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    yield seen
    for engine in engines:
        event.remove(engine, "before_cursor_execute", count)


def test_statements_per_port_create_network_pair_and_list(
        sqlite_server: ApiServer, statements: list[str]) -> None:
    seen: dict[str, list[int]] = {k: [] for k in CEILING}
    with sqlite_server.http() as admin, sqlite_server.http(project="p-costs") as member:
        ok(admin.put("/v2.0/quotas/p-costs", json={"quota": {
            "network": 1000, "subnet": 100, "port": 10000}}))
        net = network(member)
        subnet(member, net["id"], "10.0.0.0/22")
        made = []
        for _ in range(3):
            statements.clear()
            created = ok(member.post("/v2.0/ports", json={"port": {
                "network_id": net["id"]}}), 201)["port"]
            seen["port_create"].append(len(statements))
            assert created["fixed_ips"] and created["security_groups"]
            made.append(created)
        for _ in range(3):
            statements.clear()
            other = ok(member.post("/v2.0/networks", json={"network": {"name": "n"}}),
                       201)["network"]
            assert other["availability_zones"] == [] and other["shared"] is False
            assert member.delete(f"/v2.0/networks/{other['id']}").status_code == 204
            seen["network_pair"].append(len(statements))
        ok(member.post("/v2.0/ports", json={"ports": [{"network_id": net["id"]}] * (
            LISTED - len(made))}), 201)
        for _ in range(2):
            statements.clear()
            listed = ok(member.get("/v2.0/ports"))["ports"]
            seen["port_list"].append(len(statements))
        assert len(listed) == LISTED
        by_id = {p["id"]: p for p in listed}
        assert all(by_id[p["id"]] == p for p in made)  # same answer as the create's
        assert all(p["security_groups"] for p in listed)
    for what, counts in seen.items():
        assert 0 < max(counts) <= CEILING[what], (what, counts)
