"""Address scopes through the API, as Neutron answers them.

Attributes, defaults and validation; a pool joins a scope only with the scope's IP
version and without overlapping the scope's other pools (on create, on update, by
``add_prefixes``); a scope in use cannot be deleted (409); networks show the scope of
their subnets' pools; ``shared`` is admin's and cannot be taken back; project
isolation, If-Match and tags.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.unit.api.helpers import assert_error, ids, listing, network, ok, show


def scopes(client: httpx.Client, params: Any = None) -> list[dict[str, Any]]:
    return list(ok(client.get("/v2.0/address-scopes", params=params))["address_scopes"])

SCOPE_KEYS = {"id", "name", "description", "project_id", "tenant_id", "created_at",
              "updated_at", "revision_number", "tags", "shared", "ip_version"}


def scope_post(client: httpx.Client, **attrs: Any) -> httpx.Response:
    return client.post("/v2.0/address-scopes", json={"address_scope": attrs})


def make_scope(client: httpx.Client, version: int = 4, **attrs: Any) -> dict[str, Any]:
    return ok(scope_post(client, ip_version=version, **attrs), 201)["address_scope"]


def pool_post(client: httpx.Client, **attrs: Any) -> httpx.Response:
    return client.post("/v2.0/subnetpools", json={"subnetpool": attrs})


def make_pool(client: httpx.Client, prefixes: list[str], **attrs: Any) -> dict[str, Any]:
    return ok(pool_post(client, prefixes=prefixes, **attrs), 201)["subnetpool"]


def set_pool(client: httpx.Client, pool_id: str, **attrs: Any) -> httpx.Response:
    return client.put(f"/v2.0/subnetpools/{pool_id}", json={"subnetpool": attrs})


def test_a_scope_shows_neutrons_attributes(client: httpx.Client) -> None:
    scope = make_scope(client, 6, name="s6")
    assert set(scope) == SCOPE_KEYS
    assert (scope["name"], scope["ip_version"], scope["shared"],
            scope["revision_number"]) == ("s6", 6, False, 0)
    path = f"/v2.0/address-scopes/{scope['id']}"
    assert ok(client.get(path))["address_scope"] == scope
    assert scope["id"] in ids(scopes(client, {"ip_version": 6}))
    assert scope["id"] not in ids(scopes(client, {"ip_version": 4}))
    renamed = ok(client.put(path, json={"address_scope": {"name": "r"}}))["address_scope"]
    assert (renamed["name"], renamed["revision_number"]) == ("r", 1)
    assert_error(client.put(path, json={"address_scope": {"ip_version": 4}}), 400)
    ok(client.delete(path), 204)
    assert_error(client.get(path), 404, "AddressScopeNotFound")


@pytest.mark.parametrize("attrs", [{}, {"ip_version": 5}, {"ip_version": "x"},
                                   {"ip_version": 4, "shared": "maybe"}])
def test_invalid_scopes_are_400(client: httpx.Client, attrs: dict[str, Any]) -> None:
    assert_error(scope_post(client, **attrs), 400)


def test_pools_join_a_scope_of_their_version_without_overlap(client: httpx.Client) -> None:
    scope = make_scope(client)
    first = make_pool(client, ["10.120.0.0/16"], address_scope_id=scope["id"])
    assert first["address_scope_id"] == scope["id"]
    error = assert_error(pool_post(client, prefixes=["10.120.128.0/17"],
                                   address_scope_id=scope["id"]), 409,
                         "AddressScopePrefixConflict")
    assert error["message"] == ("Failed to associate address scope: subnetpools within an "
                                "address scope must have unique prefixes.")
    assert_error(pool_post(client, prefixes=["2001:db8:120::/48"],
                           address_scope_id=scope["id"]), 400,
                 "IllegalSubnetPoolIpVersionAssociationToAddressScope")
    assert_error(pool_post(client, prefixes=["10.121.0.0/16"],
                           address_scope_id="00000000-0000-0000-0000-000000000000"), 404,
                 "AddressScopeNotFound")
    second = make_pool(client, ["10.121.0.0/16"])
    joined = ok(set_pool(client, second["id"], address_scope_id=scope["id"]))["subnetpool"]
    assert joined["address_scope_id"] == scope["id"]
    assert_error(client.put(f"/v2.0/subnetpools/{second['id']}/add_prefixes",
                            json={"prefixes": ["10.120.5.0/24"]}), 409,
                 "AddressScopePrefixConflict")
    assert show(client, "subnetpools", second["id"])["prefixes"] == ["10.121.0.0/16"]
    overlapping = make_pool(client, ["10.121.7.0/24"])
    assert_error(set_pool(client, overlapping["id"], address_scope_id=scope["id"]), 409,
                 "AddressScopePrefixConflict")
    assert show(client, "subnetpools", overlapping["id"])["address_scope_id"] is None
    filtered = listing(client, "subnetpools", {"address_scope_id": scope["id"]})
    assert set(ids(filtered)) == {first["id"], second["id"]}


def test_a_scope_in_use_cannot_be_deleted(client: httpx.Client) -> None:
    scope = make_scope(client)
    pool = make_pool(client, ["10.130.0.0/16"], address_scope_id=scope["id"])
    path = f"/v2.0/address-scopes/{scope['id']}"
    error = assert_error(client.delete(path), 409, "AddressScopeInUse")
    assert error["message"] == (f"Unable to complete operation on address scope "
                                f"{scope['id']}. There are one or more subnet pools in use "
                                "on the address scope.")
    ok(set_pool(client, pool["id"], address_scope_id=None))
    ok(client.delete(path), 204)


def test_networks_show_the_scopes_of_their_subnets_pools(client: httpx.Client) -> None:
    v4, v6 = make_scope(client), make_scope(client, 6)
    pool4 = make_pool(client, ["10.140.0.0/16"], default_prefixlen=24,
                      address_scope_id=v4["id"])
    pool6 = make_pool(client, ["2001:db8:140::/48"], default_prefixlen=64,
                      address_scope_id=v6["id"])
    net = network(client)
    assert (net["ipv4_address_scope"], net["ipv6_address_scope"]) == (None, None)
    for pool, version in ((pool4, 4), (pool6, 6)):
        ok(client.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "ip_version": version, "subnetpool_id": pool["id"]}}),
           201)
    shown = show(client, "networks", net["id"])
    assert (shown["ipv4_address_scope"], shown["ipv6_address_scope"]) == (v4["id"], v6["id"])
    listed = [n for n in listing(client, "networks") if n["id"] == net["id"]]
    assert listed[0]["ipv4_address_scope"] == v4["id"]
    plain = network(client)
    ok(client.post("/v2.0/subnets", json={"subnet": {
        "network_id": plain["id"], "ip_version": 4, "cidr": "192.0.2.0/24"}}), 201)
    assert show(client, "networks", plain["id"])["ipv4_address_scope"] is None


def test_sharing_is_admins_and_cannot_be_undone(client: httpx.Client, p1: httpx.Client,
                                               p2: httpx.Client) -> None:
    assert_error(scope_post(p1, ip_version=4, shared=True), 403, "PolicyNotAuthorized")
    private = make_scope(p1)
    assert_error(p2.get(f"/v2.0/address-scopes/{private['id']}"), 404, "AddressScopeNotFound")
    assert private["id"] not in ids(scopes(p2))
    assert_error(pool_post(p2, prefixes=["10.150.0.0/16"], address_scope_id=private["id"]),
                 404, "AddressScopeNotFound")
    shared = make_scope(client, shared=True)
    assert shared["id"] in ids(scopes(p2))
    pool = make_pool(p2, ["10.151.0.0/16"], address_scope_id=shared["id"])
    assert pool["address_scope_id"] == shared["id"]
    path = f"/v2.0/address-scopes/{shared['id']}"
    error = assert_error(client.put(path, json={"address_scope": {"shared": False}}), 400,
                         "AddressScopeUpdateError")
    assert "can't be unshared" in error["message"]
    assert_error(p2.put(path, json={"address_scope": {"name": "x"}}), 403,
                 "PolicyNotAuthorized")
    assert_error(p2.delete(path), 403, "PolicyNotAuthorized")


def test_if_match_and_tags(client: httpx.Client, unique: str) -> None:
    scope = make_scope(client, name=unique)
    path = f"/v2.0/address-scopes/{scope['id']}"
    assert_error(client.put(path, json={"address_scope": {"name": "y"}},
                            headers={"If-Match": "revision_number=3"}), 412)
    ok(client.put(f"{path}/tags/{unique}"), 201)
    assert ok(client.get(path))["address_scope"]["tags"] == [unique]
    assert ids(scopes(client, {"tags": unique})) == [scope["id"]]
    assert_error(client.delete(path, headers={"If-Match": "revision_number=0"}), 412)
    ok(client.delete(path), 204)
