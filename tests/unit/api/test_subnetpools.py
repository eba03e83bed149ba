"""Subnet pools through the API, as Neutron answers them, and subnets allocated from them.

Attributes and defaults (min/max/default prefix lengths by IP version, compacted
prefixes), Neutron's validation errors, ``add_prefixes``/``remove_prefixes``,
subnets by ``prefixlen``, by a ``cidr`` inside the pool, by the pool's default and
by ``use_default_subnetpool``, never overlapping, an exhausted pool (409
SubnetAllocationError), the per-project ``default_quota`` (409), one default per IP
version, deletion refused while subnets use the pool, project isolation, shared
pools, If-Match, tags, filters, sorting and pagination.
"""

from __future__ import annotations

from typing import Any

import httpx
import netaddr
import pytest

from tests.unit.api.helpers import assert_error, create, ids, listing, network, ok, show

POOL_KEYS = {"id", "name", "description", "project_id", "tenant_id", "created_at",
             "updated_at", "revision_number", "tags", "prefixes", "default_quota",
             "ip_version", "default_prefixlen", "min_prefixlen", "max_prefixlen",
             "is_default", "shared", "address_scope_id"}


def pool_post(client: httpx.Client, **attrs: Any) -> httpx.Response:
    return client.post("/v2.0/subnetpools", json={"subnetpool": attrs})


def make_pool(client: httpx.Client, prefixes: list[str], **attrs: Any) -> dict[str, Any]:
    return ok(pool_post(client, prefixes=prefixes, **attrs), 201)["subnetpool"]


def subnet_post(client: httpx.Client, net_id: str, version: int = 4,
                **attrs: Any) -> httpx.Response:
    return client.post("/v2.0/subnets", json={"subnet": {
        "network_id": net_id, "ip_version": version, **attrs}})


def pool_subnet(client: httpx.Client, net_id: str, pool_id: str, version: int = 4,
                **attrs: Any) -> dict[str, Any]:
    return ok(subnet_post(client, net_id, version, subnetpool_id=pool_id, **attrs),
              201)["subnet"]


def action(client: httpx.Client, pool_id: str, name: str, prefixes: Any) -> httpx.Response:
    return client.put(f"/v2.0/subnetpools/{pool_id}/{name}", json={"prefixes": prefixes})


# --- the resource ---------------------------------------------------------------------

def test_a_pool_shows_neutrons_attributes_and_defaults(client: httpx.Client) -> None:
    pool = make_pool(client, ["10.10.0.0/24", "10.10.1.0/24", "10.10.0.0/25"], name="v4")
    assert set(pool) == POOL_KEYS
    assert pool["prefixes"] == ["10.10.0.0/23"]  # merged and compacted
    assert (pool["ip_version"], pool["min_prefixlen"], pool["max_prefixlen"],
            pool["default_prefixlen"]) == (4, 8, 32, 8)
    assert (pool["shared"], pool["is_default"], pool["default_quota"],
            pool["address_scope_id"], pool["revision_number"]) == (False, False, None, None, 0)
    assert show(client, "subnetpools", pool["id"]) == pool
    v6 = make_pool(client, ["2001:db8:10::/48"], default_prefixlen=64, min_prefixlen=56)
    assert (v6["ip_version"], v6["min_prefixlen"], v6["max_prefixlen"],
            v6["default_prefixlen"]) == (6, 56, 128, 64)
    resp = client.delete(f"/v2.0/subnetpools/{v6['id']}")
    assert resp.status_code == 204
    assert_error(client.get(f"/v2.0/subnetpools/{v6['id']}"), 404, "SubnetPoolNotFound")


@pytest.mark.parametrize(("attrs", "type_", "message"), [
    ({"prefixes": []}, "EmptySubnetPoolPrefixList", "Empty subnet pool prefix list."),
    ({"prefixes": ["10.0.0.0/24", "2001:db8::/64"]}, "PrefixVersionMismatch",
     "Cannot mix IPv4 and IPv6 prefixes in a subnet pool."),
    ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 24, "max_prefixlen": 16},
     "IllegalSubnetPoolPrefixBounds",
     "Illegal prefix bounds: min_prefixlen=24, max_prefixlen=16."),
    ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 16, "default_prefixlen": 12},
     "IllegalSubnetPoolPrefixBounds",
     "Illegal prefix bounds: default_prefixlen=12, min_prefixlen=16."),
    ({"prefixes": ["10.0.0.0/8"], "max_prefixlen": 33}, "IllegalSubnetPoolPrefixBounds",
     "Illegal prefix bounds: max_prefixlen=33, max_prefixlen=32."),
    ({"prefixes": ["10.0.0.1/24"]}, "InvalidInput", None),
    ({"prefixes": ["10.0.0.0/8"], "default_quota": -1}, "InvalidInput", None),
    ({"prefixes": ["10.0.0.0/8"], "ip_version": 4}, "HTTPBadRequest", None),
    ({"name": "no prefixes"}, "HTTPBadRequest", None),
])
def test_invalid_pools_are_refused_as_neutron_does(client: httpx.Client, attrs: dict[str, Any],
                                                   type_: str, message: str | None) -> None:
    before = len(listing(client, "subnetpools"))
    error = assert_error(pool_post(client, **attrs), 400, type_)
    if message:
        assert error["message"] == message
    assert len(listing(client, "subnetpools")) == before


def test_update_keeps_the_prefixes_and_bounds_consistent(client: httpx.Client) -> None:
    pool = make_pool(client, ["10.20.0.0/16"], default_prefixlen=24)
    url = f"/v2.0/subnetpools/{pool['id']}"
    updated = ok(client.put(url, json={"subnetpool": {
        "name": "renamed", "prefixes": ["10.20.0.0/16", "10.21.0.0/16"],
        "max_prefixlen": 28}}))["subnetpool"]
    assert (updated["name"], updated["prefixes"], updated["max_prefixlen"],
            updated["revision_number"]) == ("renamed", ["10.20.0.0/15"], 28, 1)
    error = assert_error(client.put(url, json={"subnetpool": {"prefixes": ["10.21.0.0/16"]}}),
                         400, "IllegalSubnetPoolPrefixUpdate")
    assert "subset" in error["message"]
    assert_error(client.put(url, json={"subnetpool": {"default_prefixlen": 30}}), 400,
                 "IllegalSubnetPoolPrefixBounds")
    assert_error(client.put(url, json={"subnetpool": {"shared": True}}), 400)
    assert show(client, "subnetpools", pool["id"]) == {**updated}


# --- prefix actions ------------------------------------------------------------------

def test_add_and_remove_prefixes_merge_and_refuse_prefixes_in_use(
        client: httpx.Client) -> None:
    pool = make_pool(client, ["10.30.0.0/24"], default_prefixlen=26)
    added = ok(action(client, pool["id"], "add_prefixes", ["10.30.1.0/24", "10.30.4.0/24"]))
    assert added == {"prefixes": ["10.30.0.0/23", "10.30.4.0/24"]}
    assert show(client, "subnetpools", pool["id"])["prefixes"] == added["prefixes"]
    assert_error(action(client, pool["id"], "add_prefixes", ["2001:db8::/64"]), 400,
                 "PrefixVersionMismatch")
    assert_error(action(client, pool["id"], "add_prefixes", []), 400, "HTTPBadRequest")
    net = network(client)
    used = pool_subnet(client, net["id"], pool["id"], cidr="10.30.4.0/26")
    error = assert_error(action(client, pool["id"], "remove_prefixes", ["10.30.4.0/24"]),
                         400, "IllegalSubnetPoolPrefixUpdate")
    assert "in use" in error["message"]
    removed = ok(action(client, pool["id"], "remove_prefixes", ["10.30.1.0/24"]))
    assert removed == {"prefixes": ["10.30.0.0/24", "10.30.4.0/24"]}
    # Removing what the pool does not hold changes nothing.
    assert ok(action(client, pool["id"], "remove_prefixes", ["192.0.2.0/24"])) == removed
    assert show(client, "subnets", used["id"])["cidr"] == "10.30.4.0/26"
    missing = "00000000-0000-0000-0000-000000000000"
    assert_error(action(client, missing, "add_prefixes", ["10.0.0.0/8"]), 404,
                 "SubnetPoolNotFound")


# --- subnets from a pool ---------------------------------------------------------------

def test_subnets_take_prefixlen_cidr_or_the_default_and_never_overlap(
        client: httpx.Client) -> None:
    pool = make_pool(client, ["10.40.0.0/22"], default_prefixlen=24, min_prefixlen=23,
                     max_prefixlen=28)
    nets = [network(client) for _ in range(4)]
    by_default = pool_subnet(client, nets[0]["id"], pool["id"])
    by_len = pool_subnet(client, nets[1]["id"], pool["id"], prefixlen=28)
    by_cidr = pool_subnet(client, nets[2]["id"], pool["id"], cidr="10.40.3.0/24")
    assert netaddr.IPNetwork(by_default["cidr"]).prefixlen == 24
    assert netaddr.IPNetwork(by_len["cidr"]).prefixlen == 28
    assert by_cidr["cidr"] == "10.40.3.0/24"
    cidrs = [s["cidr"] for s in (by_default, by_len, by_cidr)]
    assert all(s["subnetpool_id"] == pool["id"] for s in (by_default, by_len, by_cidr))
    assert not netaddr.IPSet(cidrs[:1]) & netaddr.IPSet(cidrs[1:2])
    assert all(netaddr.IPNetwork(c) in netaddr.IPNetwork("10.40.0.0/22") for c in cidrs)
    # The gateway and pools follow the allocated CIDR as for any subnet.
    assert by_cidr["gateway_ip"] == "10.40.3.1"
    assert len(listing(client, "subnets", {"subnetpool_id": pool["id"]})) == 3
    net = nets[3]["id"]
    for attrs, status, type_ in (
            ({"cidr": "10.40.3.0/25"}, 409, "SubnetAllocationError"),
            ({"cidr": "192.0.2.0/24"}, 409, "SubnetAllocationError"),
            ({"prefixlen": 22}, 400, "MinPrefixSubnetAllocationError"),
            ({"prefixlen": 29}, 400, "MaxPrefixSubnetAllocationError"),
            ({"prefixlen": 24, "cidr": "10.40.2.0/24"}, 400, "BadRequest")):
        assert_error(subnet_post(client, net, subnetpool_id=pool["id"], **attrs), status,
                     type_)
    assert_error(subnet_post(client, net, 6, subnetpool_id=pool["id"]), 400, "BadRequest")
    error = assert_error(subnet_post(client, net), 400, "BadRequest")
    assert error["message"] == ("Bad subnets request: a subnetpool must be specified in the "
                                "absence of a cidr.")
    assert_error(subnet_post(client, net, subnetpool_id="00000000-0000-0000-0000-00000000"
                             "0000"), 404, "SubnetPoolNotFound")
    assert show(client, "networks", net)["subnets"] == []


def test_a_bulk_allocates_distinct_cidrs_or_nothing(client: httpx.Client) -> None:
    pool = make_pool(client, ["10.55.0.0/24"], default_prefixlen=26)
    nets = [network(client)["id"] for _ in range(3)]
    body = {"subnets": [{"network_id": n, "ip_version": 4, "subnetpool_id": pool["id"]}
                        for n in nets[:2]]}
    made = ok(client.post("/v2.0/subnets", json=body), 201)["subnets"]
    assert len({s["cidr"] for s in made}) == 2
    assert not netaddr.IPSet([made[0]["cidr"]]) & netaddr.IPSet([made[1]["cidr"]])
    # Two more /26s fit, three do not: the bulk is refused whole.
    body = {"subnets": [{"network_id": n, "ip_version": 4, "subnetpool_id": pool["id"]}
                        for n in nets]}
    assert_error(client.post("/v2.0/subnets", json=body), 409, "SubnetAllocationError")
    assert len(listing(client, "subnets", {"subnetpool_id": pool["id"]})) == 2


def test_an_exhausted_pool_is_409_until_a_subnet_goes(client: httpx.Client) -> None:
    pool = make_pool(client, ["10.50.0.0/24"], default_prefixlen=25)
    net = network(client)["id"]
    first = pool_subnet(client, net, pool["id"])
    second = pool_subnet(client, network(client)["id"], pool["id"])
    assert {first["cidr"], second["cidr"]} == {"10.50.0.0/25", "10.50.0.128/25"}
    error = assert_error(subnet_post(client, network(client)["id"],
                                     subnetpool_id=pool["id"]), 409, "SubnetAllocationError")
    assert error["message"] == ("Failed to allocate subnet: Insufficient prefix space to "
                                "allocate subnet size /25.")
    ok(client.delete(f"/v2.0/subnets/{first['id']}"), 204)
    again = pool_subnet(client, network(client)["id"], pool["id"])
    assert again["cidr"] == first["cidr"]


def test_default_quota_counts_a_projects_addresses_in_the_pool(
        api_server: Any, client: httpx.Client, unique: str) -> None:
    pool = make_pool(client, ["10.60.0.0/16"], default_prefixlen=24, default_quota=512,
                     shared=True)
    with api_server.http(project=f"q1-{unique}") as q1, \
            api_server.http(project=f"q2-{unique}") as q2:
        for _ in range(2):
            pool_subnet(q1, network(q1)["id"], pool["id"])
        error = assert_error(subnet_post(q1, network(q1)["id"], subnetpool_id=pool["id"],
                                         prefixlen=28), 409, "SubnetPoolQuotaExceeded")
        assert error["message"] == "Per-tenant subnet pool prefix quota exceeded."
        # Another project has a quota of its own.
        pool_subnet(q2, network(q2)["id"], pool["id"], prefixlen=23)
        assert_error(subnet_post(q2, network(q2)["id"], subnetpool_id=pool["id"],
                                 prefixlen=30), 409, "SubnetPoolQuotaExceeded")


def test_subnets_of_one_network_and_version_share_their_pool(client: httpx.Client) -> None:
    one = make_pool(client, ["10.70.0.0/16"], default_prefixlen=24)
    two = make_pool(client, ["10.71.0.0/16"], default_prefixlen=24)
    net = network(client)["id"]
    pool_subnet(client, net, one["id"])
    pool_subnet(client, net, one["id"])
    assert_error(subnet_post(client, net, subnetpool_id=two["id"]), 400,
                 "NetworkSubnetPoolAffinityError")
    assert_error(subnet_post(client, net, cidr="192.0.2.0/24"), 400,
                 "NetworkSubnetPoolAffinityError")
    v6 = create(client, "subnet", network_id=net, ip_version=6, cidr="2001:db8:70::/64")
    assert v6["subnetpool_id"] is None


def test_a_pool_with_subnets_cannot_be_deleted(client: httpx.Client) -> None:
    pool = make_pool(client, ["10.80.0.0/16"], default_prefixlen=24)
    sub = pool_subnet(client, network(client)["id"], pool["id"])
    error = assert_error(client.delete(f"/v2.0/subnetpools/{pool['id']}"), 400,
                         "SubnetPoolDeleteError")
    assert error["message"] == ("Unable to delete subnet pool: Subnet pool has existing "
                                "allocations.")
    ok(client.delete(f"/v2.0/subnets/{sub['id']}"), 204)
    ok(client.delete(f"/v2.0/subnetpools/{pool['id']}"), 204)


# --- defaults ---------------------------------------------------------------------------

def test_one_default_pool_per_version_serves_use_default_subnetpool(
        make_server: Any) -> None:
    server = make_server({})
    with server.http() as admin:
        net = network(admin)["id"]
        error = assert_error(subnet_post(admin, net, use_default_subnetpool=True), 400,
                             "BadRequest")
        assert error["message"] == ("Bad subnets request: No default subnetpool found for "
                                    "IPv4.")
        v4 = make_pool(admin, ["10.90.0.0/16"], default_prefixlen=26, is_default=True)
        assert v4["is_default"] is True
        error = assert_error(pool_post(admin, prefixes=["10.91.0.0/16"], is_default=True),
                             400, "InvalidInput")
        assert "Only one default may exist per IP family" in error["message"]
        v6 = make_pool(admin, ["2001:db8:90::/48"], is_default=True)
        sub = ok(subnet_post(admin, net, use_default_subnetpool=True), 201)["subnet"]
        assert sub["subnetpool_id"] == v4["id"]
        assert netaddr.IPNetwork(sub["cidr"]) in netaddr.IPNetwork("10.90.0.0/16")
        sub6 = ok(subnet_post(admin, net, 6, use_default_subnetpool=True), 201)["subnet"]
        assert sub6["subnetpool_id"] == v6["id"]
        assert_error(subnet_post(admin, net, use_default_subnetpool=True,
                                 subnetpool_id=v4["id"]), 400, "BadRequest")
        defaults = listing(admin, "subnetpools", {"is_default": "true"})
        assert set(ids(defaults)) == {v4["id"], v6["id"]}
        # Unsetting frees the slot for another pool.
        ok(admin.put(f"/v2.0/subnetpools/{v4['id']}",
                     json={"subnetpool": {"is_default": False}}))
        other = make_pool(admin, ["10.92.0.0/16"], is_default=True)
        assert other["is_default"] and not show(admin, "subnetpools", v4["id"])["is_default"]


# --- policy and isolation ----------------------------------------------------------------

def test_projects_see_their_own_and_shared_pools_only(client: httpx.Client, p1: httpx.Client,
                                                      p2: httpx.Client) -> None:
    own = make_pool(p1, ["10.100.0.0/16"], default_prefixlen=24)
    assert own["project_id"] == p1.headers["X-Project-Id"]
    assert_error(pool_post(p1, prefixes=["10.101.0.0/16"], shared=True), 403,
                 "PolicyNotAuthorized")
    assert_error(pool_post(p1, prefixes=["10.101.0.0/16"], is_default=True), 403,
                 "PolicyNotAuthorized")
    assert_error(p2.get(f"/v2.0/subnetpools/{own['id']}"), 404, "SubnetPoolNotFound")
    assert own["id"] not in ids(listing(p2, "subnetpools"))
    assert_error(subnet_post(p2, network(p2)["id"], subnetpool_id=own["id"]), 404,
                 "SubnetPoolNotFound")
    assert_error(p2.delete(f"/v2.0/subnetpools/{own['id']}"), 404, "SubnetPoolNotFound")
    shared = make_pool(client, ["10.102.0.0/16"], default_prefixlen=24, shared=True)
    assert shared["id"] in ids(listing(p2, "subnetpools"))
    sub = pool_subnet(p2, network(p2)["id"], shared["id"])
    assert sub["project_id"] == p2.headers["X-Project-Id"]
    assert_error(p2.put(f"/v2.0/subnetpools/{shared['id']}",
                        json={"subnetpool": {"name": "mine"}}), 403, "PolicyNotAuthorized")
    assert_error(action(p2, shared["id"], "add_prefixes", ["10.103.0.0/16"]), 403,
                 "PolicyNotAuthorized")
    ok(action(p1, own["id"], "add_prefixes", ["10.104.0.0/16"]))
    assert_error(p1.put(f"/v2.0/subnetpools/{own['id']}",
                        json={"subnetpool": {"is_default": True}}), 403,
                 "PolicyNotAuthorized")


def test_if_match_tags_filters_sorting_and_pagination(client: httpx.Client,
                                                      unique: str) -> None:
    made = [make_pool(client, [f"10.{110 + i}.0.0/16"], name=f"{unique}-{i}",
                      default_prefixlen=20 + i) for i in range(3)]
    url = f"/v2.0/subnetpools/{made[0]['id']}"
    resp = client.put(url, json={"subnetpool": {"name": "x"}},
                      headers={"If-Match": "revision_number=7"})
    assert_error(resp, 412, "RevisionNumberConstraintFailed")
    ok(client.put(url, json={"subnetpool": {"description": "d"}},
                  headers={"If-Match": "revision_number=0"}))
    assert_error(client.delete(url, headers={"If-Match": "revision_number=0"}), 412)
    ok(client.put(f"{url}/tags/{unique}"), 201)
    assert show(client, "subnetpools", made[0]["id"])["tags"] == [unique]
    assert ids(listing(client, "subnetpools", {"tags": unique})) == [made[0]["id"]]
    assert ids(listing(client, "subnetpools", {"default_prefixlen": 21})) == [made[1]["id"]]
    names = [f"{unique}-{i}" for i in range(3)]
    found = listing(client, "subnetpools", {"name": names, "sort_key": "default_prefixlen",
                                            "sort_dir": "desc"})
    assert ids(found) == [p["id"] for p in reversed(made)]
    page = ok(client.get("/v2.0/subnetpools", params={
        "name": names, "sort_key": "name", "limit": 2}))
    assert ids(page["subnetpools"]) == [made[0]["id"], made[1]["id"]]
    assert page["subnetpools_links"][0]["rel"] == "next"
    assert_error(client.get("/v2.0/subnetpools", params={"prefixes": "10.0.0.0/8"}), 400)
    aliases = {e["alias"] for e in ok(client.get("/v2.0/extensions"))["extensions"]}
    assert {"subnet_allocation", "subnetpool-prefix-ops", "default-subnetpools",
            "address-scope"} <= aliases


def test_pools_count_against_the_subnetpool_quota(client: httpx.Client,
                                                  p1: httpx.Client) -> None:
    project = p1.headers["X-Project-Id"]
    quota = ok(client.get(f"/v2.0/quotas/{project}"))["quota"]
    assert quota["subnetpool"] == -1 and "address_scope" not in quota
    ok(client.put(f"/v2.0/quotas/{project}", json={"quota": {"subnetpool": 1}}))
    make_pool(p1, ["10.160.0.0/16"])
    resp = pool_post(p1, prefixes=["10.161.0.0/16"])
    assert resp.json() == {"NeutronError": {
        "type": "OverQuota", "message": "Quota exceeded for resources: ['subnetpool'].",
        "detail": ""}}
    assert resp.status_code == 409
    used = ok(client.get(f"/v2.0/quotas/{project}/details"))["quota"]["subnetpool"]
    assert used == {"used": 1, "limit": 1, "reserved": 0}
    ok(client.delete(f"/v2.0/quotas/{project}"), 204)
