"""Security groups under concurrency on PostgreSQL and MariaDB.

A project's first requests arrive together (lists, group creates and port creates,
each of which makes the ``default`` group if it is missing): exactly one default
group results, every request succeeds, and every port gets that one group. The same
rule sent by many clients at once is created once; the others get 409.
"""

from __future__ import annotations

import collections
import concurrent.futures
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from neutrino.db.models import DefaultSecurityGroup, SecurityGroup
from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import ApiServer, make_database, start_api_server

pytestmark = [pytest.mark.functional]

CLIENTS = 12


@pytest.fixture(params=["postgresql", "mariadb"])
def server(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[tuple[ApiServer, str]]:
    with make_database(request.param, tmp_path) as url:
        started = start_api_server(_merge(ML2_TEST_CONFIG, {
            "DEFAULT": {"auth_strategy": "noauth"},
            "database": {"connection": url, "max_pool_size": CLIENTS + 4}}))
        try:
            yield started, url
        finally:
            started.stop()


def _together(count: int, work: Any) -> list[httpx.Response]:
    """Run ``work(i)`` on ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)

    def run(i: int) -> httpx.Response:
        barrier.wait()
        result: httpx.Response = work(i)
        return result

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_a_projects_first_requests_make_one_default_group(
        server: tuple[ApiServer, str]) -> None:
    api, url = server
    for attempt in range(3):
        project = f"race-{attempt}-{uuid.uuid4().hex[:6]}"
        with api.http() as admin:
            net = admin.post("/v2.0/networks", json={"network": {"project_id": project}})
            net_id = net.json()["network"]["id"]
            admin.post("/v2.0/subnets", json={"subnet": {
                "network_id": net_id, "cidr": "10.60.0.0/24", "ip_version": 4,
                "project_id": project}}).raise_for_status()

        def first_request(i: int, project: str = project,
                          net_id: str = net_id) -> httpx.Response:
            with api.http(project=project) as http:
                if i % 3 == 0:
                    return http.get("/v2.0/security-groups")
                if i % 3 == 1:
                    return http.post("/v2.0/security-groups", json={
                        "security_group": {"name": f"g{i}"}})
                return http.post("/v2.0/ports", json={"port": {"network_id": net_id}})

        results = _together(CLIENTS, first_request)
        assert all(r.status_code in (200, 201) for r in results), [
            r.text for r in results if r.status_code not in (200, 201)]
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                defaults = conn.execute(select(DefaultSecurityGroup.security_group_id).where(
                    DefaultSecurityGroup.project_id == project)).scalars().all()
                named = conn.execute(select(func.count()).select_from(SecurityGroup).where(
                    SecurityGroup.project_id == project,
                    SecurityGroup.name == "default")).scalar()
        finally:
            engine.dispose()
        assert len(defaults) == 1 and named == 1
        ports = [r.json()["port"] for r in results if "port" in r.json()]
        assert ports and all(p["security_groups"] == defaults for p in ports)
        listed = [r.json()["security_groups"] for r in results if "security_groups" in r.json()]
        assert all(defaults[0] in {g["id"] for g in gs} for gs in listed)


def test_the_same_rule_from_many_clients_is_created_once(
        server: tuple[ApiServer, str]) -> None:
    api, _ = server
    with api.http(project="rules") as http:
        group = http.post("/v2.0/security-groups", json={"security_group": {"name": "r"}})
        group_id = group.json()["security_group"]["id"]

    def add(i: int) -> httpx.Response:
        with api.http(project="rules") as http:
            return http.post("/v2.0/security-group-rules", json={"security_group_rule": {
                "security_group_id": group_id, "direction": "ingress", "protocol": "tcp",
                "port_range_min": 443, "port_range_max": 443}})

    results = _together(CLIENTS, add)
    statuses = collections.Counter(r.status_code for r in results)
    assert statuses == {201: 1, 409: CLIENTS - 1}, [r.text for r in results]
    assert {r.json()["NeutronError"]["type"] for r in results if r.status_code == 409} == {
        "SecurityGroupRuleExists"}
    with api.http(project="rules") as http:
        rules = http.get("/v2.0/security-group-rules", params={
            "security_group_id": group_id, "protocol": "tcp"}).json()["security_group_rules"]
    assert len(rules) == 1
