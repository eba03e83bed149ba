"""PostgreSQL IPAM: the subnet lock and the pools come from one statement, never stale.

``ipam._lock_and_pools`` locks the subnet (``FOR UPDATE OF subnets``) and reads its
pools in the same statement. If a pool update commits while that statement waits for
the lock, PostgreSQL hands back the subnet row's new version but the pool rows of the
statement's snapshot; the revision check must catch that and read the pools again.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import text

from neutrino.db import ipam, resources
from tests.fixtures.servers import make_database, start_api_server

pytestmark = [pytest.mark.functional, pytest.mark.db]


def _wait_for_lock_waiter(engine, deadline_s: float = 20.0) -> None:
    """Poll until some backend is waiting for a row lock."""
    deadline = time.monotonic() + deadline_s
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")).scalar()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise TimeoutError("no transaction started waiting for the subnet lock")


def test_pools_updated_while_waiting_for_the_lock_are_read_again(tmp_path) -> None:
    with make_database("postgresql", tmp_path) as url:
        server = start_api_server({
            "DEFAULT": {"auth_strategy": "noauth"}, "database": {"connection": url},
            "ml2": {"type_drivers": ["vxlan"], "tenant_network_types": ["vxlan"],
                    "mechanism_drivers": ["logger"]},
            "ml2_type_vxlan": {"vni_ranges": ["10:20"]}})
        try:
            with server.http() as http:
                net_id = http.post("/v2.0/networks", json={"network": {}}).json()[
                    "network"]["id"]
                sub = http.post("/v2.0/subnets", json={"subnet": {
                    "network_id": net_id, "cidr": "10.9.0.0/24", "ip_version": 4,
                    "allocation_pools": [{"start": "10.9.0.10", "end": "10.9.0.20"}]}})
                assert sub.status_code == 201, sub.text
                subnet_id = sub.json()["subnet"]["id"]
            db = server.plugin.db
            with db.reader() as session:
                stale = resources.subnets_for_ipam(session, net_id)[0]

            # A pool update, holding the subnet's row lock, not yet committed.
            updater = db.engine.connect()
            updater.execute(text("UPDATE subnets SET revision_number = revision_number + 1 "
                                 "WHERE id = :id"), {"id": subnet_id})
            updater.execute(text("DELETE FROM ipallocationpools WHERE subnet_id = :id"),
                            {"id": subnet_id})
            updater.execute(text(
                "INSERT INTO ipallocationpools (id, subnet_id, first_ip, last_ip) "
                "VALUES (:pid, :id, '10.9.0.100', '10.9.0.110')"),
                {"pid": str(uuid.uuid4()), "id": subnet_id})

            got: dict[str, object] = {}

            def allocate() -> None:
                try:
                    with db.transaction() as session:
                        got["pools"] = ipam._lock_and_pools(session, stale)
                except Exception as e:  # reported by the assertion below
                    got["error"] = e

            worker = threading.Thread(target=allocate)
            worker.start()
            try:
                _wait_for_lock_waiter(db.engine)
            finally:
                updater.commit()
                updater.close()
            worker.join(timeout=30)
            assert not worker.is_alive()
            assert "error" not in got, got
            first, last = int(ipam.netaddr.IPAddress("10.9.0.100")), int(
                ipam.netaddr.IPAddress("10.9.0.110"))
            assert got["pools"] == [(first, last)]
        finally:
            server.stop()
