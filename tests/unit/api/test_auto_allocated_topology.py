"""The auto-allocated topology through the API, as Neutron answers it.

``GET /v2.0/auto-allocated-topology/{project_id}`` builds the project's network,
its subnets from the default pools and a router on the default external network,
once (concurrent GETs too); ``?fields=dry-run`` checks the requirements with
Neutron's 409s; DELETE takes it apart. Networks' ``is_default``: admin's, one at a
time, external networks only, a filter. A failed build leaves nothing behind.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from typing import Any

import httpx
import netaddr
import pytest

from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import ApiServer, start_api_server
from tests.unit.api.helpers import assert_error, ids, listing, network, ok, show, subnet

PLUGINS = {"DEFAULT": {"service_plugins": ["router", "auto_allocate"]}}
PATH = "/v2.0/auto-allocated-topology"


@pytest.fixture(scope="module")
def api_server(db_url: str) -> Iterator[ApiServer]:
    server = start_api_server(_merge(ML2_TEST_CONFIG, {
        "DEFAULT": {"auth_strategy": "noauth", "service_plugins": ["router",
                                                                   "auto_allocate"]},
        "database": {"connection": db_url}}))
    yield server
    server.stop()


def make_defaults(admin: httpx.Client, v4: str = "10.200.0.0/16",
                  v6: str | None = "2001:db8:200::/48") -> dict[str, Any]:
    """A default external network (with a subnet) and default shared pools."""
    ext = network(admin, **{"router:external": True, "is_default": True})
    subnet(admin, ext["id"], "172.24.8.0/24")
    pools = {4: ok(admin.post("/v2.0/subnetpools", json={"subnetpool": {
        "prefixes": [v4], "default_prefixlen": 26, "is_default": True, "shared": True}}),
        201)["subnetpool"]}
    if v6:
        pools[6] = ok(admin.post("/v2.0/subnetpools", json={"subnetpool": {
            "prefixes": [v6], "default_prefixlen": 64, "is_default": True,
            "shared": True}}), 201)["subnetpool"]
    return {"external": ext, "pools": pools}


@pytest.fixture(scope="module")
def defaults(api_server: ApiServer) -> dict[str, Any]:
    with api_server.http() as admin:
        return make_defaults(admin)


def topology(client: httpx.Client, project: str, **params: Any) -> httpx.Response:
    return client.get(f"{PATH}/{project}", params=params)


def project_items(admin: httpx.Client, collection: str, project: str) -> list[dict[str, Any]]:
    return listing(admin, collection, {"project_id": project})


# --- dry run --------------------------------------------------------------------------

def test_a_dry_run_checks_the_default_network_and_pools(make_server: Any) -> None:
    server = make_server(PLUGINS)
    with server.http() as admin:
        error = assert_error(topology(admin, "dry", fields="dry-run"), 409,
                             "AutoAllocationFailure")
        assert error["message"] == "Deployment error: No default router:external network."
        ext = network(admin, **{"router:external": True, "is_default": True})
        error = assert_error(topology(admin, "dry", fields="dry-run"), 409,
                             "AutoAllocationFailure")
        assert error["message"] == "Deployment error: No default subnetpools defined."
        ok(admin.post("/v2.0/subnetpools", json={"subnetpool": {
            "prefixes": ["10.210.0.0/16"], "is_default": True, "shared": True}}), 201)
        assert ok(topology(admin, "dry", fields="dry-run")) == {"auto_allocated_topology": {
            "id": "dry-run=pass", "tenant_id": "dry", "project_id": "dry"}}
        assert_error(topology(admin, "dry", fields="name"), 400, "BadRequest")
        # A dry run makes nothing.
        assert ids(listing(admin, "networks")) == [ext["id"]]
        aliases = {e["alias"] for e in ok(admin.get("/v2.0/extensions"))["extensions"]}
        assert "auto-allocated-topology" in aliases


# --- build and delete -----------------------------------------------------------------

def test_get_builds_the_topology_once_and_delete_removes_it(
        api_server: ApiServer, client: httpx.Client, defaults: dict[str, Any],
        unique: str) -> None:
    project = f"auto-{unique}"
    with api_server.http(project=project) as member:
        body = ok(topology(member, project))
        net_id = body["auto_allocated_topology"]["id"]
        assert body == {"auto_allocated_topology": {
            "id": net_id, "tenant_id": project, "project_id": project}}
        assert ok(topology(member, project)) == body
        # The CLI's "None" is the caller's own project.
        assert ok(topology(member, "None")) == body
    net = show(client, "networks", net_id)
    assert (net["name"], net["admin_state_up"], net["project_id"]) == (
        "auto_allocated_network", True, project)
    subnets = project_items(client, "subnets", project)
    assert {s["subnetpool_id"] for s in subnets} == {p["id"] for p in
                                                     defaults["pools"].values()}
    assert {s["name"] for s in subnets} == {"auto_allocated_subnet_v4",
                                            "auto_allocated_subnet_v6"}
    assert all(netaddr.IPNetwork(s["cidr"]) in netaddr.IPNetwork(
        defaults["pools"][s["ip_version"]]["prefixes"][0]) for s in subnets)
    routers = project_items(client, "routers", project)
    assert len(routers) == 1 and routers[0]["name"] == "auto_allocated_router"
    assert routers[0]["external_gateway_info"]["network_id"] == defaults["external"]["id"]
    interfaces = listing(client, "ports", {"device_id": routers[0]["id"],
                                           "device_owner": "network:router_interface"})
    assert {ip["subnet_id"] for p in interfaces for ip in p["fixed_ips"]} == set(
        ids(subnets))
    with api_server.http(project=project) as member:
        ok(member.delete(f"{PATH}/{project}"), 204)
    for collection in ("networks", "subnets", "routers", "ports"):
        assert project_items(client, collection, project) == []
    again = ok(topology(client, project))["auto_allocated_topology"]["id"]
    assert again != net_id
    ok(client.delete(f"{PATH}/{project}"), 204)
    ok(client.delete(f"{PATH}/{project}"), 204)  # nothing left: still 204


def test_concurrent_gets_make_one_topology(client: httpx.Client, defaults: dict[str, Any],
                                           unique: str) -> None:
    project = f"race-{unique}"

    def get(_: int) -> httpx.Response:
        with httpx.Client(base_url=str(client.base_url), timeout=60) as http:
            return topology(http, project)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(get, range(8)))
    assert {r.status_code for r in replies} == {200}, [r.text for r in replies]
    assert len({r.json()["auto_allocated_topology"]["id"] for r in replies}) == 1
    assert len(project_items(client, "networks", project)) == 1
    assert len(project_items(client, "routers", project)) == 1
    assert len(project_items(client, "subnets", project)) == 2
    ok(client.delete(f"{PATH}/{project}"), 204)


def test_projects_reach_only_their_own_topology(api_server: ApiServer, p1: httpx.Client,
                                                defaults: dict[str, Any]) -> None:
    other = "someone-else"
    assert_error(topology(p1, other), 403, "NotAuthorized")
    assert_error(p1.delete(f"{PATH}/{other}"), 403, "NotAuthorized")
    assert_error(topology(p1, other, fields="dry-run"), 403)


def test_a_failed_build_leaves_nothing_behind(make_server: Any) -> None:
    server = make_server(PLUGINS)
    with server.http() as admin:
        make_defaults(admin, v4="10.220.0.0/26", v6=None)
        ok(topology(admin, "first"))  # takes the whole /26 pool
        error = assert_error(topology(admin, "second"), 409, "AutoAllocationFailure")
        assert error["message"] == ("Deployment error: Unable to provide tenant private "
                                    "network.")
        assert project_items(admin, "networks", "second") == []
        assert project_items(admin, "routers", "second") == []


# --- is_default on networks -------------------------------------------------------------

def test_one_default_external_network_set_by_admins(make_server: Any) -> None:
    server = make_server(PLUGINS)
    with server.http() as admin, server.http(project="member") as member:
        assert_error(member.post("/v2.0/networks", json={"network": {"is_default": True}}),
                     403, "PolicyNotAuthorized")
        first = network(admin, **{"router:external": True, "is_default": True})
        assert first["is_default"] is True
        assert show(admin, "networks", first["id"])["is_default"] is True
        second = network(admin, **{"router:external": True})
        assert second["is_default"] is False
        resp = admin.put(f"/v2.0/networks/{second['id']}",
                         json={"network": {"is_default": True}})
        error = assert_error(resp, 409, "DefaultExternalNetworkExists")
        assert error["message"] == ("A default external network already exists: "
                                    f"{first['id']}.")
        assert ids(listing(admin, "networks", {"is_default": "true"})) == [first["id"]]
        assert set(ids(listing(admin, "networks", {"is_default": "false"}))) == {
            second["id"]}
        # A network that stops being external stops being the default.
        updated = ok(admin.put(f"/v2.0/networks/{first['id']}",
                               json={"network": {"router:external": False}}))["network"]
        assert updated["is_default"] is False
        moved = ok(admin.put(f"/v2.0/networks/{second['id']}",
                             json={"network": {"is_default": True}}))["network"]
        assert moved["is_default"] is True
        internal = network(admin, is_default=True)  # not external: nothing to default
        assert internal["is_default"] is False
        ok(admin.delete(f"/v2.0/networks/{second['id']}"), 204)
        assert listing(admin, "networks", {"is_default": "true"}) == []
