"""SQL statements per L3 request: ceilings on what a router or floating IP create costs,
and the answers built from what was written equal to what is read back.

A router created with its gateway, a floating IP created already associated and a
router delete (with its gateway port) are counted statement by statement on SQLite
(``before_cursor_execute``, BEGINs included), once with everything and once without
what the core plugin's port create/delete costs (the gateway and floating-IP ports
are ordinary core ports, whose cost belongs to ML2). Before the L3 plugin learned to
build its answers from what it wrote, pass dicts along and skip idle scheduling, the
three took 55, 41 and 42 statements; a change that reads a router twice again, or
runs a scheduling transaction with no L3 agent to choose, goes over a ceiling here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import ApiServer, start_api_server
from tests.unit.api.helpers import assert_error, network, ok, port, subnet
from tests.unit.api.test_routers import l3_server

# Measured when these ceilings were set: L3's own statements 11, 11 and 5, all
# statements 22, 22 and 21; one statement of slack each.
OWN_CEILING = {"router_create": 12, "fip_create": 12, "router_delete": 6}
TOTAL_CEILING = {"router_create": 23, "fip_create": 23, "router_delete": 22}


class Counter:
    """Statements on the server's engines, and how many ran inside core port calls."""

    def __init__(self, server: ApiServer) -> None:
        db = server.plugin.db
        self.engines = {id(e): e for e in (db.engine, db.read_engine)}.values()
        self.core = threading.local()
        self.total = self.in_core = 0
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.total += 1
        self.statements.append(statement)
        if getattr(self.core, "depth", 0):
            self.in_core += 1

    def core_call(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.core.depth = getattr(self.core, "depth", 0) + 1
            try:
                return method(*args, **kwargs)
            finally:
                self.core.depth -= 1
        return counted

    def measure(self, request: Callable[..., Any], *args: Any,
                **kwargs: Any) -> tuple[tuple[int, int], Any]:
        """((L3's own statements, all statements), the result) of a request."""
        self.total = self.in_core = 0
        self.statements = []
        result = request(*args, **kwargs)
        return (self.total - self.in_core, self.total), result


@pytest.fixture
def server(sqlite_url: str) -> Iterator[ApiServer]:
    server = start_api_server(_merge(ML2_TEST_CONFIG, {
        "DEFAULT": {"auth_strategy": "noauth", "service_plugins": ["router"]},
        "database": {"connection": sqlite_url}}))
    yield server
    server.stop()


@pytest.fixture
def counter(server: ApiServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter]:
    counter = Counter(server)
    core = server.plugin
    for name in ("create_port_bulk", "delete_port"):
        monkeypatch.setattr(core, name, counter.core_call(getattr(core, name)))
    for engine in counter.engines:
        event.listen(engine, "before_cursor_execute", counter)
    yield counter
    for engine in counter.engines:
        event.remove(engine, "before_cursor_execute", counter)


def test_statements_per_router_and_floating_ip_request(server: ApiServer,
                                                        counter: Counter) -> None:
    seen: dict[str, list[tuple[int, int]]] = {k: [] for k in OWN_CEILING}
    with server.http() as http:
        public = network(http, **{"router:external": True})
        subnet(http, public["id"], "172.24.4.0/24")
        private = network(http)
        tenant = subnet(http, private["id"], "10.0.0.0/24")
        gateway = {"external_gateway_info": {"network_id": public["id"]}}
        hub = ok(http.post("/v2.0/routers", json={"router": gateway}), 201)["router"]
        ok(http.put(f"/v2.0/routers/{hub['id']}/add_router_interface",
                    json={"subnet_id": tenant["id"]}))
        made = []
        for _ in range(3):
            counts, response = counter.measure(http.post, "/v2.0/routers",
                                               json={"router": gateway})
            seen["router_create"].append(counts)
            router = ok(response, 201)["router"]
            assert router["external_gateway_info"]["external_fixed_ips"]
            made.append(router["id"])
            vm = port(http, private["id"], device_owner="compute:nova")
            counts, response = counter.measure(http.post, "/v2.0/floatingips", json={
                "floatingip": {"floating_network_id": public["id"], "port_id": vm["id"]}})
            seen["fip_create"].append(counts)
            fip = ok(response, 201)["floatingip"]
            assert fip["router_id"] == hub["id"] and fip["fixed_ip_address"]
        for router_id in made:
            counts, response = counter.measure(http.delete, f"/v2.0/routers/{router_id}")
            seen["router_delete"].append(counts)
            ok(response, 204)
        gateways = ok(http.get("/v2.0/ports", params={
            "device_owner": "network:router_gateway"}))["ports"]
        assert [p["device_id"] for p in gateways] == [hub["id"]]  # theirs went along
    for what, counts in seen.items():
        assert max(c[0] for c in counts) <= OWN_CEILING[what], (what, counts)
        assert max(c[1] for c in counts) <= TOTAL_CEILING[what], (what, counts)
        assert min(c[0] for c in counts) > 0  # the hook saw the requests at all


@pytest.fixture(scope="module")
def api_server(db_url: str) -> Iterator[ApiServer]:
    yield from l3_server(db_url)


def test_answers_built_from_writes_equal_what_is_read(api_server: ApiServer) -> None:
    """A create's answer is built from the values it wrote, not read back: on every
    backend it is what a GET answers right after (types, timestamps, order)."""
    with api_server.http() as admin, api_server.http(project="p-built") as member:
        public = network(admin, **{"router:external": True})
        subnet(admin, public["id"], "172.30.0.0/24")
        subnet(admin, public["id"], "172.30.1.0/24")
        private = network(member)
        tenant = subnet(member, private["id"], "10.9.0.0/24")
        for client, extra in ((admin, {"enable_snat": False}), (member, {})):
            router = ok(client.post("/v2.0/routers", json={"router": {
                "name": "built", "description": "d", "admin_state_up": False,
                "external_gateway_info": {"network_id": public["id"], **extra}}}),
                201)["router"]
            assert len(router["external_gateway_info"]["external_fixed_ips"]) == 1
            assert router == ok(client.get(f"/v2.0/routers/{router['id']}"))["router"]
        ok(member.put(f"/v2.0/routers/{router['id']}/add_router_interface",
                      json={"subnet_id": tenant["id"]}))
        vm = port(member, private["id"], device_owner="compute:nova", name="vm")
        fip = ok(member.post("/v2.0/floatingips", json={"floatingip": {
            "floating_network_id": public["id"], "port_id": vm["id"],
            "description": "web"}}), 201)["floatingip"]
        assert fip["router_id"] == router["id"] and fip["port_details"]["name"] == "vm"
        assert fip == ok(member.get(f"/v2.0/floatingips/{fip['id']}"))["floatingip"]


def test_updates_and_deletes_check_the_row_they_write(api_server: ApiServer) -> None:
    """Policy and If-Match of a router's or floating IP's PUT/DELETE run on the row read
    in the plugin's own transaction (``checks_write_guard``): another project's gets
    404 before any 409, a member may not set ``enable_snat``, a stale If-Match is 412,
    and none of those changes anything."""
    with api_server.http() as admin, api_server.http(project="p-owner") as owner, \
            api_server.http(project="p-other") as other:
        public = network(admin, **{"router:external": True})
        subnet(admin, public["id"], "172.31.0.0/24")
        private = network(owner)
        tenant = subnet(owner, private["id"], "10.8.0.0/24")
        router = ok(owner.post("/v2.0/routers", json={"router": {
            "external_gateway_info": {"network_id": public["id"]}}}), 201)["router"]
        url = f"/v2.0/routers/{router['id']}"
        ok(owner.put(f"{url}/add_router_interface", json={"subnet_id": tenant["id"]}))
        vm = port(owner, private["id"], device_owner="compute:nova")
        fip = ok(owner.post("/v2.0/floatingips", json={"floatingip": {
            "floating_network_id": public["id"], "port_id": vm["id"]}}), 201)["floatingip"]
        fip_url = f"/v2.0/floatingips/{fip['id']}"
        before = ok(owner.get(url))["router"], ok(owner.get(fip_url))["floatingip"]
        for response in (other.put(url, json={"router": {"name": "mine"}}),
                         other.put(url, json={"router": {"external_gateway_info": None}}),
                         other.delete(url)):  # in use too: still 404, not 409
            assert_error(response, 404, "RouterNotFound")
        for response in (other.put(fip_url, json={"floatingip": {"port_id": None}}),
                         other.delete(fip_url)):
            assert_error(response, 404, "FloatingIPNotFound")
        assert_error(owner.put(url, json={"router": {"external_gateway_info": {
            "network_id": public["id"], "enable_snat": False}}}), 403)
        stale = {"If-Match": "revision_number=12345"}  # not theirs: 412
        assert_error(owner.delete(fip_url, headers=stale), 412)
        assert_error(owner.put(url, json={"router": {"external_gateway_info": None}},
                               headers=stale), 412)
        assert_error(owner.delete(url), 409, "RouterInUse")
        assert (ok(owner.get(url))["router"], ok(owner.get(fip_url))["floatingip"]) == before
        assert owner.delete(fip_url).status_code == 204
        ok(owner.put(f"{url}/remove_router_interface", json={"subnet_id": tenant["id"]}))
        assert_error(owner.delete(url, headers=stale), 412)
        assert owner.delete(url).status_code == 204
        assert_error(owner.get(url), 404, "RouterNotFound")
