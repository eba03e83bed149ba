"""RBAC policies on subnet pools and address scopes, as Neutron answers them.

``object_type`` ``subnetpool`` and ``address_scope`` with ``access_as_shared``
(extensions ``rbac-subnetpool``, ``rbac-address-scope``): a target project sees the
pool or scope (``shared`` reads true for it), allocates subnets from the pool and
puts its own pools in the scope; ``shared: true`` on create (and on a scope's
update) is the wildcard policy, and a wildcard policy is ``shared``; a policy still
in use (a target's subnet from the pool, a target's pool in the scope) cannot be
removed or narrowed (409 ``RbacPolicyInUse``); a pool in a scope is shared only with
projects that reach the scope; deleting the object takes its policies; the
migration turns shared pools and scopes into wildcard policies.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from neutrino.db import migration
from tests.fixtures.servers import ApiServer, make_database
from tests.unit.api.helpers import assert_error, ids, listing, network, ok
from tests.unit.api.test_rbac import SHARED, policies, policies_of, project, rbac_post, rbac_put

POOLS = "/v2.0/subnetpools"
SCOPES = "/v2.0/address-scopes"


@pytest.fixture
def p3(api_server: ApiServer, unique: str) -> Iterator[httpx.Client]:
    """A third project, never a target unless a test makes it one."""
    with api_server.http(project=f"p3-{unique}") as http:
        yield http


def make_pool(client: httpx.Client, prefixes: list[str], **attrs: Any) -> dict[str, Any]:
    return ok(client.post(POOLS, json={"subnetpool": {
        "prefixes": prefixes, "default_prefixlen": 24, **attrs}}), 201)["subnetpool"]


def make_scope(client: httpx.Client, **attrs: Any) -> dict[str, Any]:
    return ok(client.post(SCOPES, json={"address_scope": {"ip_version": 4, **attrs}}),
              201)["address_scope"]


def pool_of(client: httpx.Client, pool_id: str) -> dict[str, Any]:
    return ok(client.get(f"{POOLS}/{pool_id}"))["subnetpool"]  # type: ignore[no-any-return]


def scope_of(client: httpx.Client, scope_id: str) -> dict[str, Any]:
    return ok(client.get(f"{SCOPES}/{scope_id}"))[  # type: ignore[no-any-return]
        "address_scope"]


def share(client: httpx.Client, object_id: str, target: str,
          object_type: str = "subnetpool") -> dict[str, Any]:
    return ok(rbac_post(client, object_id, target, object_type=object_type),  # type: ignore
              201)["rbac_policy"]


def subnet_post(client: httpx.Client, pool_id: str) -> httpx.Response:
    return client.post("/v2.0/subnets", json={"subnet": {
        "network_id": network(client)["id"], "ip_version": 4, "subnetpool_id": pool_id}})


def set_pool_scope(client: httpx.Client, pool_id: str, scope_id: str | None
                   ) -> httpx.Response:
    return client.put(f"{POOLS}/{pool_id}", json={"subnetpool": {
        "address_scope_id": scope_id}})


def sees(client: httpx.Client, collection: str, object_id: str) -> bool:
    return object_id in ids(listed(client, collection))


def listed(client: httpx.Client, collection: str, params: Any = None
           ) -> list[dict[str, Any]]:
    body = ok(client.get(f"/v2.0/{collection}", params=params))
    return list(body[collection.replace("-", "_")])


# --- the object types -------------------------------------------------------------------

def test_extensions_are_listed(client: httpx.Client) -> None:
    aliases = {e["alias"] for e in ok(client.get("/v2.0/extensions"))["extensions"]}
    assert {"rbac-subnetpool", "rbac-address-scope", "rbac-policies"} <= aliases


def test_policies_on_pools_and_scopes_have_neutrons_attributes(p1: httpx.Client,
                                                               p2: httpx.Client) -> None:
    pool = make_pool(p1, ["10.180.0.0/16"])
    scope = make_scope(p1)
    on_pool = share(p1, pool["id"], project(p2))
    on_scope = share(p1, scope["id"], project(p2), "address_scope")
    assert (on_pool["object_type"], on_pool["object_id"], on_pool["action"],
            on_pool["target_tenant"], on_pool["project_id"]) == (
        "subnetpool", pool["id"], SHARED, project(p2), project(p1))
    assert (on_scope["object_type"], on_scope["object_id"]) == ("address_scope", scope["id"])
    assert ids(policies(p1, object_type="subnetpool", object_id=pool["id"])) == [
        on_pool["id"]]
    assert ids(policies(p1, object_type="address_scope", object_id=scope["id"])) == [
        on_scope["id"]]
    # The targets do not see the policies.
    assert policies(p2, object_id=pool["id"]) == []


def test_bad_action_unknown_or_unseen_object(p1: httpx.Client, p2: httpx.Client) -> None:
    pool = make_pool(p1, ["10.181.0.0/16"])
    scope = make_scope(p1)
    for object_id, object_type in ((pool["id"], "subnetpool"),
                                   (scope["id"], "address_scope")):
        error = assert_error(rbac_post(p1, object_id, "x", "access_as_external",
                                       object_type), 400, "InvalidActionForType")
        assert "access_as_shared" in error["message"]
    missing = str(uuid.uuid4())
    assert_error(rbac_post(p1, missing, "x", object_type="subnetpool"), 404,
                 "SubnetPoolNotFound")
    assert_error(rbac_post(p1, missing, "x", object_type="address_scope"), 404,
                 "AddressScopeNotFound")
    # p1's private pool and scope do not exist for p2.
    assert_error(rbac_post(p2, pool["id"], project(p2), object_type="subnetpool"), 404,
                 "SubnetPoolNotFound")
    assert_error(rbac_post(p2, scope["id"], project(p2), object_type="address_scope"), 404,
                 "AddressScopeNotFound")
    # Only an admin shares with every project.
    assert_error(rbac_post(p1, pool["id"], "*", object_type="subnetpool"), 403,
                 "PolicyNotAuthorized")


def test_a_target_may_not_share_further(p1: httpx.Client, p2: httpx.Client,
                                        p3: httpx.Client) -> None:
    pool = make_pool(p1, ["10.182.0.0/16"])
    share(p1, pool["id"], project(p2))
    error = assert_error(rbac_post(p2, pool["id"], project(p3), object_type="subnetpool"),
                         400, "InvalidInput")
    assert "do not own" in error["message"]


# --- subnet pools -----------------------------------------------------------------------

def test_a_target_sees_the_pool_as_shared_and_allocates_from_it(
        client: httpx.Client, p1: httpx.Client, p2: httpx.Client, p3: httpx.Client) -> None:
    pool = make_pool(p1, ["10.183.0.0/16"])
    assert_error(p2.get(f"{POOLS}/{pool['id']}"), 404, "SubnetPoolNotFound")
    assert_error(subnet_post(p2, pool["id"]), 404, "SubnetPoolNotFound")
    share(p1, pool["id"], project(p2))
    assert sees(p2, "subnetpools", pool["id"]) and not sees(p3, "subnetpools", pool["id"])
    # Shared as the target reads it, not as the owner or an admin: no wildcard policy.
    assert pool_of(p2, pool["id"])["shared"] is True
    assert pool_of(p1, pool["id"])["shared"] is False
    assert pool_of(client, pool["id"])["shared"] is False
    assert pool["id"] in ids(listing(p2, "subnetpools", {"shared": "true"}))
    assert pool["id"] not in ids(listing(p2, "subnetpools", {"shared": "false"}))
    assert pool["id"] in ids(listing(p1, "subnetpools", {"shared": "false"}))
    assert pool["id"] not in ids(listing(p1, "subnetpools", {"shared": "true"}))
    made = ok(subnet_post(p2, pool["id"]), 201)["subnet"]
    assert (made["project_id"], made["subnetpool_id"], made["cidr"]) == (
        project(p2), pool["id"], "10.183.0.0/24")
    assert_error(subnet_post(p3, pool["id"]), 404, "SubnetPoolNotFound")
    assert_error(p3.get(f"{POOLS}/{pool['id']}"), 404, "SubnetPoolNotFound")
    # The target uses it; it does not change it.
    assert_error(p2.put(f"{POOLS}/{pool['id']}", json={"subnetpool": {"name": "mine"}}),
                 403, "PolicyNotAuthorized")
    assert_error(p2.delete(f"{POOLS}/{pool['id']}"), 403, "PolicyNotAuthorized")


def test_a_policy_a_targets_subnet_depends_on_cannot_go(client: httpx.Client,
                                                        p1: httpx.Client, p2: httpx.Client,
                                                        p3: httpx.Client) -> None:
    pool = make_pool(p1, ["10.184.0.0/16"])
    policy = share(p1, pool["id"], project(p2))
    made = ok(subnet_post(p2, pool["id"]), 201)["subnet"]
    url = f"/v2.0/rbac-policies/{policy['id']}"
    error = assert_error(p1.delete(url), 409, "RbacPolicyInUse")
    assert pool["id"] in error["message"]
    # Narrowing it to another project takes the pool from p2 as well.
    assert_error(rbac_put(p1, policy["id"], target_tenant=project(p3)), 409,
                 "RbacPolicyInUse")
    assert policies_of(client, pool["id"]) == [(SHARED, project(p2))]
    assert pool_of(p2, pool["id"])["shared"] is True
    # A wildcard covers p2: the targeted policy may go, the wildcard then may not.
    wildcard = share(client, pool["id"], "*")
    ok(p1.delete(url), 204)
    assert_error(client.delete(f"/v2.0/rbac-policies/{wildcard['id']}"), 409,
                 "RbacPolicyInUse")
    ok(p2.delete(f"/v2.0/subnets/{made['id']}"), 204)
    ok(client.delete(f"/v2.0/rbac-policies/{wildcard['id']}"), 204)
    assert policies_of(client, pool["id"]) == []
    assert_error(p2.get(f"{POOLS}/{pool['id']}"), 404, "SubnetPoolNotFound")


def test_the_owners_own_subnets_never_hold_a_policy(client: httpx.Client,
                                                    p1: httpx.Client,
                                                    p2: httpx.Client) -> None:
    pool = make_pool(p1, ["10.185.0.0/16"])
    ok(subnet_post(p1, pool["id"]), 201)
    targeted = share(p1, pool["id"], project(p2))
    ok(p1.delete(f"/v2.0/rbac-policies/{targeted['id']}"), 204)
    wildcard = share(client, pool["id"], "*")
    ok(client.delete(f"/v2.0/rbac-policies/{wildcard['id']}"), 204)


def test_shared_on_create_is_a_wildcard_policy_in_the_owners_name(
        client: httpx.Client, p1: httpx.Client, p3: httpx.Client) -> None:
    pool = make_pool(client, ["10.186.0.0/16"], shared=True, project_id=project(p1))
    assert pool["shared"] is True
    found = policies(client, object_id=pool["id"])
    assert [(p["object_type"], p["action"], p["target_tenant"], p["project_id"])
            for p in found] == [("subnetpool", SHARED, "*", project(p1))]
    assert pool_of(p3, pool["id"])["shared"] is True
    made = ok(subnet_post(p3, pool["id"]), 201)["subnet"]
    # Not updatable, as in Neutron: unsharing is removing the policy.
    assert_error(client.put(f"{POOLS}/{pool['id']}", json={"subnetpool": {
        "shared": False}}), 400)
    url = f"/v2.0/rbac-policies/{found[0]['id']}"
    assert_error(client.delete(url), 409, "RbacPolicyInUse")
    assert pool_of(client, pool["id"])["shared"] is True
    ok(p3.delete(f"/v2.0/subnets/{made['id']}"), 204)
    before = pool_of(client, pool["id"])["revision_number"]
    ok(client.delete(url), 204)
    after = pool_of(client, pool["id"])
    assert after["shared"] is False and after["revision_number"] > before
    assert not sees(p3, "subnetpools", pool["id"])
    assert pool["id"] in ids(listing(client, "subnetpools", {"shared": "false"}))


def test_a_wildcard_policy_makes_the_pool_shared(client: httpx.Client, p1: httpx.Client,
                                                 p3: httpx.Client) -> None:
    pool = make_pool(p1, ["10.187.0.0/16"])
    share(client, pool["id"], "*")
    for viewer in (client, p1, p3):
        assert pool_of(viewer, pool["id"])["shared"] is True
    assert pool_of(client, pool["id"])["revision_number"] > pool["revision_number"]
    assert pool["id"] in ids(listing(client, "subnetpools", {"shared": "true"}))
    listed = ok(client.get(POOLS, params={"sort_key": "shared", "sort_dir": "desc",
                                          "id": pool["id"]}))["subnetpools"]
    assert [p["shared"] for p in listed] == [True]


def test_pool_delete_takes_its_policies(client: httpx.Client, p1: httpx.Client,
                                        p2: httpx.Client) -> None:
    pool = make_pool(p1, ["10.188.0.0/16"])
    policy = share(p1, pool["id"], project(p2))
    ok(p1.delete(f"{POOLS}/{pool['id']}"), 204)
    assert_error(client.get(f"/v2.0/rbac-policies/{policy['id']}"), 404,
                 "RbacPolicyNotFound")


# --- address scopes ---------------------------------------------------------------------

def test_a_target_sees_the_scope_and_puts_its_pools_in_it(
        client: httpx.Client, p1: httpx.Client, p2: httpx.Client, p3: httpx.Client) -> None:
    scope = make_scope(p1)
    assert_error(p2.get(f"{SCOPES}/{scope['id']}"), 404, "AddressScopeNotFound")
    assert_error(p2.post(POOLS, json={"subnetpool": {
        "prefixes": ["10.190.0.0/16"], "address_scope_id": scope["id"]}}), 404,
        "AddressScopeNotFound")
    policy = share(p1, scope["id"], project(p2), "address_scope")
    assert sees(p2, "address-scopes", scope["id"]) and not sees(p3, "address-scopes",
                                                                 scope["id"])
    assert scope_of(p2, scope["id"])["shared"] is True
    assert scope_of(p1, scope["id"])["shared"] is False
    assert scope["id"] in ids(listed(p2, "address-scopes", {"shared": "true"}))
    assert scope["id"] in ids(listed(p1, "address-scopes", {"shared": "false"}))
    pool = make_pool(p2, ["10.190.0.0/16"], address_scope_id=scope["id"])
    assert pool["address_scope_id"] == scope["id"]
    other = make_pool(p3, ["10.191.0.0/16"])
    assert_error(set_pool_scope(p3, other["id"], scope["id"]), 404, "AddressScopeNotFound")
    # The target may not change the scope.
    assert_error(p2.put(f"{SCOPES}/{scope['id']}", json={"address_scope": {"name": "x"}}),
                 403, "PolicyNotAuthorized")
    # Its pool in the scope holds the policy, against delete and narrowing.
    url = f"/v2.0/rbac-policies/{policy['id']}"
    error = assert_error(p1.delete(url), 409, "RbacPolicyInUse")
    assert scope["id"] in error["message"]
    assert_error(rbac_put(p1, policy["id"], target_tenant=project(p3)), 409,
                 "RbacPolicyInUse")
    ok(set_pool_scope(p2, pool["id"], None))
    ok(p1.delete(url), 204)
    assert_error(set_pool_scope(p2, pool["id"], scope["id"]), 404, "AddressScopeNotFound")
    assert policies_of(client, scope["id"]) == []


def test_shared_scope_create_and_update_make_the_wildcard_policy(
        client: httpx.Client, p1: httpx.Client, p2: httpx.Client, p3: httpx.Client) -> None:
    created = make_scope(client, shared=True, project_id=project(p1))
    assert [(p["target_tenant"], p["project_id"])
            for p in policies(client, object_id=created["id"])] == [("*", project(p1))]
    later = make_scope(p1)
    path = f"{SCOPES}/{later['id']}"
    assert_error(p1.put(path, json={"address_scope": {"shared": True}}), 403,
                 "PolicyNotAuthorized")
    assert policies_of(client, later["id"]) == []
    shared = ok(client.put(path, json={"address_scope": {"shared": True}}))["address_scope"]
    assert shared["shared"] is True
    assert policies_of(client, later["id"]) == [(SHARED, "*")]
    # Sharing again changes nothing; unsharing is refused, as in Neutron.
    ok(client.put(path, json={"address_scope": {"shared": True}}))
    assert policies_of(client, later["id"]) == [(SHARED, "*")]
    assert_error(client.put(path, json={"address_scope": {"shared": False}}), 400,
                 "AddressScopeUpdateError")
    # Removing the wildcard policy is the way back, refused while p3's pool is in it.
    pool = make_pool(p3, ["10.192.0.0/16"], address_scope_id=later["id"])
    wildcard = policies(client, object_id=later["id"])[0]
    url = f"/v2.0/rbac-policies/{wildcard['id']}"
    assert_error(client.delete(url), 409, "RbacPolicyInUse")
    # Narrowing the wildcard to the one project that uses it is allowed.
    ok(rbac_put(client, wildcard["id"], target_tenant=project(p3)))
    assert scope_of(client, later["id"])["shared"] is False
    assert scope_of(p3, later["id"])["shared"] is True
    assert not sees(p2, "address-scopes", later["id"])
    ok(set_pool_scope(p3, pool["id"], None))
    ok(client.delete(url), 204)
    assert not sees(p3, "address-scopes", later["id"])


def test_scope_delete_takes_its_policies(client: httpx.Client, p1: httpx.Client,
                                         p2: httpx.Client) -> None:
    scope = make_scope(p1)
    policy = share(p1, scope["id"], project(p2), "address_scope")
    ok(p1.delete(f"{SCOPES}/{scope['id']}"), 204)
    assert_error(client.get(f"/v2.0/rbac-policies/{policy['id']}"), 404,
                 "RbacPolicyNotFound")


def test_a_pool_in_a_scope_is_shared_only_with_projects_that_reach_it(
        client: httpx.Client, p1: httpx.Client, p2: httpx.Client, p3: httpx.Client) -> None:
    scope = make_scope(p1)
    pool = make_pool(p1, ["10.193.0.0/16"], address_scope_id=scope["id"])
    error = assert_error(rbac_post(p1, pool["id"], project(p2), object_type="subnetpool"),
                         400, "InvalidInput")
    assert "doesn't have access to associated address scope" in error["message"]
    share(p1, scope["id"], project(p2), "address_scope")
    policy = share(p1, pool["id"], project(p2))
    # Moving the policy to a project outside the scope is refused the same way.
    assert_error(rbac_put(p1, policy["id"], target_tenant=project(p3)), 400, "InvalidInput")
    assert_error(rbac_post(client, pool["id"], "*", object_type="subnetpool"), 400,
                 "InvalidInput")
    # A shared pool in a scope not shared with everyone: refused, nothing left behind.
    before = ids(listing(client, "subnetpools"))
    assert_error(client.post(POOLS, json={"subnetpool": {
        "prefixes": ["10.194.0.0/16"], "shared": True, "address_scope_id": scope["id"],
        "project_id": project(p1)}}), 400, "InvalidInput")
    assert ids(listing(client, "subnetpools")) == before
    share(client, scope["id"], "*", "address_scope")
    share(client, pool["id"], "*")
    assert pool_of(p3, pool["id"])["shared"] is True


def test_list_policies_across_types(client: httpx.Client, p1: httpx.Client,
                                    unique: str) -> None:
    pool = make_pool(p1, ["10.195.0.0/16"])
    scope = make_scope(p1)
    made = [share(p1, pool["id"], f"a-{unique}"),
            share(p1, scope["id"], f"b-{unique}", "address_scope"),
            ok(rbac_post(p1, network(p1)["id"], f"c-{unique}"), 201)["rbac_policy"]]
    assert sorted(ids(policies(p1))) == sorted(ids(made))
    assert [p["object_type"] for p in policies(p1, sort_key="target_tenant")] == [
        "subnetpool", "address_scope", "network"]
    page = ok(p1.get("/v2.0/rbac-policies", params={
        "sort_key": "target_tenant", "sort_dir": "desc", "limit": 2}))
    assert [p["target_tenant"] for p in page["rbac_policies"]] == [f"c-{unique}",
                                                                    f"b-{unique}"]


# --- the migration ----------------------------------------------------------------------

def test_the_migration_turns_shared_pools_and_scopes_into_wildcard_policies(
        backend: str, tmp_path: Any) -> None:
    with make_database(backend, tmp_path, migrate=False) as url:
        migration.upgrade(url, "0013_merge")
        engine = sa.create_engine(url)
        now = dt.datetime(2026, 12, 1)
        made = {name: str(uuid.uuid4()) for name in ("scope", "private-scope", "pool",
                                                     "private-pool")}
        standard = {"description": "", "created_at": now, "updated_at": now,
                    "revision_number": 0}
        try:
            meta = sa.MetaData()
            scopes = sa.Table("address_scopes", meta, autoload_with=engine)
            pools = sa.Table("subnetpools", meta, autoload_with=engine)
            with engine.begin() as conn:
                conn.execute(scopes.insert(), [{
                    "id": made[name], "project_id": "p-old", "name": name, **standard,
                    "shared": name == "scope", "ip_version": 4}
                    for name in ("scope", "private-scope")])
                conn.execute(pools.insert(), [{
                    "id": made[name], "project_id": "p-old", "name": name, **standard,
                    "shared": name == "pool", "ip_version": 4, "default_prefixlen": 24,
                    "min_prefixlen": 8, "max_prefixlen": 32, "is_default": False,
                    "default_quota": None, "address_scope_id": None}
                    for name in ("pool", "private-pool")])
            migration.upgrade(url)
            with engine.connect() as conn:
                rows = {table: [tuple(r) for r in conn.execute(sa.text(
                    "SELECT object_id, action, target_project, project_id, "
                    f"revision_number FROM {table}"))]
                    for table in ("subnetpoolrbacs", "addressscoperbacs")}
        finally:
            engine.dispose()
    assert rows == {"subnetpoolrbacs": [(made["pool"], SHARED, "*", "p-old", 0)],
                    "addressscoperbacs": [(made["scope"], SHARED, "*", "p-old", 0)]}
