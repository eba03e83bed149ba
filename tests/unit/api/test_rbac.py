"""RBAC policies through the API, as Neutron answers them.

``/v2.0/rbac-policies`` for networks (``access_as_shared``, ``access_as_external``)
and security groups (``access_as_shared``): attributes, Neutron's policy (owner or
admin creates and sees, only an admin shares with ``*``), errors (unknown object 404,
mismatched action 400, duplicate 409, a policy still in use 409), and what policies
do: networks and security groups visible per project, ``shared`` and
``router:external`` following the policies both ways, ports, router gateways and
floating IPs of target projects, lists with filters, sorting and pagination.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from neutrino.controller import ControllerServer
from neutrino.db import migration
from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import ApiServer, make_database, start_api_server
from tests.unit.api.helpers import assert_error, ids, listing, network, ok, port, show, subnet
from tests.unit.api.test_routers import external_net, l3_server, router_create

POLICY_KEYS = {"id", "object_type", "object_id", "action", "target_tenant", "project_id",
               "tenant_id", "created_at", "updated_at", "revision_number"}
SHARED = "access_as_shared"
EXTERNAL = "access_as_external"


@pytest.fixture(scope="module")
def api_server(db_url: str) -> Iterator[ApiServer]:
    # With the L3 plugin: router gateways and floating IPs depend on external policies.
    yield from l3_server(db_url)


@pytest.fixture
def p3(api_server: ApiServer, unique: str) -> Iterator[httpx.Client]:
    """A third project, never a target unless a test makes it one."""
    with api_server.http(project=f"p3-{unique}") as http:
        yield http


def project(client: httpx.Client) -> str:
    return str(client.headers["X-Project-Id"])


def rbac_post(client: httpx.Client, object_id: str, target: str, action: str = SHARED,
              object_type: str = "network", **extra: Any) -> httpx.Response:
    return client.post("/v2.0/rbac-policies", json={"rbac_policy": {
        "object_type": object_type, "object_id": object_id, "action": action,
        "target_tenant": target, **extra}})


def rbac_create(client: httpx.Client, object_id: str, target: str, action: str = SHARED,
                object_type: str = "network") -> dict[str, Any]:
    return ok(rbac_post(client, object_id, target, action, object_type), 201)["rbac_policy"]


def rbac_put(client: httpx.Client, policy_id: str, **attrs: Any) -> httpx.Response:
    return client.put(f"/v2.0/rbac-policies/{policy_id}", json={"rbac_policy": attrs})


def policies(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    return ok(client.get("/v2.0/rbac-policies", params=params))[  # type: ignore[no-any-return]
        "rbac_policies"]


def policies_of(admin: httpx.Client, object_id: str) -> list[tuple[str, str]]:
    return sorted((p["action"], p["target_tenant"])
                  for p in ok(admin.get("/v2.0/rbac-policies", params={
                      "object_id": object_id}))["rbac_policies"])


def visible(client: httpx.Client, net_id: str) -> bool:
    return net_id in ids(listing(client, "networks"))


def groups(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    return ok(client.get("/v2.0/security-groups", params=params))[  # type: ignore[no-any-return]
        "security_groups"]


def sg_create(client: httpx.Client, name: str = "web") -> dict[str, Any]:
    return ok(client.post("/v2.0/security-groups", json={"security_group": {
        "name": name}}), 201)["security_group"]


# --- the resource -----------------------------------------------------------------------

def test_a_policy_has_neutrons_attributes(p1: httpx.Client, p2: httpx.Client) -> None:
    net = network(p1)
    policy = rbac_create(p1, net["id"], project(p2))
    assert set(policy) == POLICY_KEYS
    assert (policy["object_type"], policy["object_id"], policy["action"],
            policy["target_tenant"]) == ("network", net["id"], SHARED, project(p2))
    assert policy["project_id"] == policy["tenant_id"] == project(p1)
    assert ok(p1.get(f"/v2.0/rbac-policies/{policy['id']}"))["rbac_policy"] == policy


def test_extensions_are_listed(client: httpx.Client) -> None:
    aliases = {e["alias"] for e in ok(client.get("/v2.0/extensions"))["extensions"]}
    assert {"rbac-policies", "rbac-security-groups"} <= aliases


def test_target_tenant_and_the_rest_are_required(p1: httpx.Client) -> None:
    net = network(p1)
    for missing in ("object_type", "object_id", "action", "target_tenant"):
        body = {"object_type": "network", "object_id": net["id"], "action": SHARED,
                "target_tenant": "x"}
        del body[missing]
        assert_error(p1.post("/v2.0/rbac-policies", json={"rbac_policy": body}), 400)


def test_bad_type_or_action_is_400(p1: httpx.Client) -> None:
    net = network(p1)
    assert_error(rbac_post(p1, net["id"], "x", object_type="router"), 400, "InvalidInput")
    assert_error(rbac_post(p1, net["id"], "x", action="access_as_owner"), 400,
                 "InvalidInput")
    assert_error(rbac_post(p1, "not-a-uuid", "x"), 400, "InvalidInput")
    group = sg_create(p1)
    # A security group is shared, never external.
    error = assert_error(rbac_post(p1, group["id"], "x", EXTERNAL, "security_group"), 400,
                         "InvalidActionForType")
    assert "access_as_shared" in error["message"]


def test_unknown_or_unseen_object_is_404(p1: httpx.Client, p2: httpx.Client) -> None:
    missing = "0b8c1b53-5c1e-4e0a-9a57-2d5b7c7b4d11"
    assert_error(rbac_post(p1, missing, "x"), 404, "NetworkNotFound")
    assert_error(rbac_post(p1, missing, "x", object_type="security_group"), 404,
                 "SecurityGroupNotFound")
    # p2's private network and group do not exist for p1.
    assert_error(rbac_post(p1, network(p2)["id"], project(p1)), 404, "NetworkNotFound")
    assert_error(rbac_post(p1, sg_create(p2)["id"], project(p1),
                           object_type="security_group"), 404, "SecurityGroupNotFound")
    assert_error(p1.get(f"/v2.0/rbac-policies/{missing}"), 404, "RbacPolicyNotFound")
    assert_error(p1.delete(f"/v2.0/rbac-policies/{missing}"), 404, "RbacPolicyNotFound")


def test_only_the_owner_shares_what_it_was_shared(p1: httpx.Client, p2: httpx.Client,
                                                  p3: httpx.Client) -> None:
    net = network(p1)
    rbac_create(p1, net["id"], project(p2))
    error = assert_error(rbac_post(p2, net["id"], project(p3)), 400, "InvalidInput")
    assert "do not own" in error["message"]


def test_only_an_admin_shares_with_everyone(client: httpx.Client, p1: httpx.Client,
                                            p2: httpx.Client) -> None:
    net = network(p1)
    assert_error(rbac_post(p1, net["id"], "*"), 403, "PolicyNotAuthorized")
    policy = rbac_create(p1, net["id"], project(p2))
    assert_error(rbac_put(p1, policy["id"], target_tenant="*"), 403, "PolicyNotAuthorized")
    assert rbac_create(client, net["id"], "*")["project_id"] == ""
    assert show(p2, "networks", net["id"])["shared"] is True


def test_duplicate_policy_is_409(p1: httpx.Client, p2: httpx.Client) -> None:
    net = network(p1)
    first = rbac_create(p1, net["id"], project(p2))
    assert_error(rbac_post(p1, net["id"], project(p2)), 409, "DuplicateRbacPolicy")
    other = rbac_create(p1, net["id"], "p-other")
    assert_error(rbac_put(p1, other["id"], target_tenant=project(p2)), 409,
                 "DuplicateRbacPolicy")
    assert policies_of_project(p1, net["id"]) == sorted([first["id"], other["id"]])


def policies_of_project(client: httpx.Client, object_id: str) -> list[str]:
    return sorted(ids(policies(client, object_id=object_id)))


def test_owner_and_admin_see_policies_targets_do_not(client: httpx.Client, p1: httpx.Client,
                                                     p2: httpx.Client) -> None:
    net = network(p1)
    policy = rbac_create(p1, net["id"], project(p2))
    assert ids(policies(p1, object_id=net["id"])) == [policy["id"]]
    assert ids(policies(client, object_id=net["id"])) == [policy["id"]]
    assert policies(p2, object_id=net["id"]) == []
    assert_error(p2.get(f"/v2.0/rbac-policies/{policy['id']}"), 404, "RbacPolicyNotFound")
    assert_error(p2.delete(f"/v2.0/rbac-policies/{policy['id']}"), 404)
    assert_error(rbac_put(p2, policy["id"], target_tenant="x"), 404)


def test_update_moves_the_target_and_bumps_the_revision(p1: httpx.Client, p2: httpx.Client,
                                                        p3: httpx.Client) -> None:
    net = network(p1)
    policy = rbac_create(p1, net["id"], project(p2))
    assert visible(p2, net["id"]) and not visible(p3, net["id"])
    moved = ok(rbac_put(p1, policy["id"], target_tenant=project(p3)))["rbac_policy"]
    assert (moved["target_tenant"], moved["revision_number"]) == (project(p3), 1)
    assert not visible(p2, net["id"]) and visible(p3, net["id"])
    for key in ("object_id", "object_type", "action"):
        assert_error(rbac_put(p1, policy["id"], **{key: moved[key]}), 400)


def test_if_match_guards_update_and_delete(p1: httpx.Client, p2: httpx.Client) -> None:
    net = network(p1)
    policy = rbac_create(p1, net["id"], project(p2))
    url = f"/v2.0/rbac-policies/{policy['id']}"
    stale = {"If-Match": "revision_number=5"}
    assert_error(p1.put(url, json={"rbac_policy": {"target_tenant": "x"}}, headers=stale),
                 412, "RevisionNumberConstraintFailed")
    assert_error(p1.delete(url, headers=stale), 412, "RevisionNumberConstraintFailed")
    ok(p1.delete(url, headers={"If-Match": "revision_number=0"}), 204)


def test_list_filters_sorts_and_pages(client: httpx.Client, p1: httpx.Client,
                                      unique: str) -> None:
    net = network(p1)
    group = sg_create(p1)
    made = [rbac_create(p1, net["id"], f"t{i}-{unique}") for i in range(3)]
    made.append(rbac_create(p1, group["id"], f"t9-{unique}", object_type="security_group"))
    mine = policies(p1)
    assert sorted(ids(mine)) == sorted(ids(made))
    assert ids(policies(p1, object_type="security_group")) == [made[3]["id"]]
    assert ids(policies(p1, target_tenant=f"t1-{unique}")) == [made[1]["id"]]
    assert {p["action"] for p in policies(p1, action=SHARED)} == {SHARED}
    by_target = policies(p1, sort_key="target_tenant", sort_dir="desc")
    assert [p["target_tenant"] for p in by_target] == [
        f"t{i}-{unique}" for i in (9, 2, 1, 0)]
    page = ok(p1.get("/v2.0/rbac-policies", params={
        "sort_key": "target_tenant", "sort_dir": "asc", "limit": 2}))
    assert [p["target_tenant"] for p in page["rbac_policies"]] == [
        f"t{i}-{unique}" for i in (0, 1)]
    nxt = [link for link in page["rbac_policies_links"] if link["rel"] == "next"][0]
    rest = ok(p1.get(nxt["href"]))["rbac_policies"]
    assert [p["target_tenant"] for p in rest] == [f"t{i}-{unique}" for i in (2, 9)]
    fields = policies(p1, fields=["id", "target_tenant"])
    assert all(set(p) == {"id", "target_tenant"} for p in fields)


# --- networks: visibility and shared ----------------------------------------------------

def test_a_target_sees_the_network_as_shared_others_do_not(client: httpx.Client,
                                                           p1: httpx.Client, p2: httpx.Client,
                                                           p3: httpx.Client) -> None:
    net = network(p1)
    sub = subnet(p1, net["id"], "10.61.0.0/24")
    assert not visible(p2, net["id"])
    rbac_create(p1, net["id"], project(p2))
    assert visible(p2, net["id"]) and not visible(p3, net["id"])
    # Shared for the target, not for the owner or an admin: no wildcard policy.
    assert show(p2, "networks", net["id"])["shared"] is True
    assert show(p1, "networks", net["id"])["shared"] is False
    assert show(client, "networks", net["id"])["shared"] is False
    assert_error(p3.get(f"/v2.0/networks/{net['id']}"), 404, "NetworkNotFound")
    # Its subnets come along; the shared filter reads as each project reads shared.
    assert ids(listing(p2, "subnets", {"network_id": net["id"]})) == [sub["id"]]
    assert listing(p3, "subnets", {"network_id": net["id"]}) == []
    assert net["id"] in ids(listing(p2, "networks", {"shared": "true"}))
    assert net["id"] not in ids(listing(p1, "networks", {"shared": "true"}))
    assert net["id"] in ids(listing(p1, "networks", {"shared": "false"}))


def test_a_target_puts_ports_on_the_network_not_subnets(p1: httpx.Client, p2: httpx.Client,
                                                        p3: httpx.Client) -> None:
    net = network(p1)
    subnet(p1, net["id"], "10.62.0.0/24")
    assert_error(p2.post("/v2.0/ports", json={"port": {"network_id": net["id"]}}), 404,
                 "NetworkNotFound")
    rbac_create(p1, net["id"], project(p2))
    made = port(p2, net["id"])
    assert made["project_id"] == project(p2) and made["fixed_ips"]
    # As in Neutron's default policy, a subnet stays the network owner's to add.
    assert_error(p2.post("/v2.0/subnets", json={"subnet": {
        "network_id": net["id"], "cidr": "10.63.0.0/24", "ip_version": 4}}), 403,
        "PolicyNotAuthorized")
    assert_error(p3.post("/v2.0/ports", json={"port": {"network_id": net["id"]}}), 404,
                 "NetworkNotFound")


def test_shared_true_makes_a_wildcard_policy_and_false_removes_it(
        client: httpx.Client, p1: httpx.Client, p3: httpx.Client) -> None:
    net = network(client, shared=True, project_id=project(p1))
    assert policies_of(client, net["id"]) == [(SHARED, "*")]
    assert visible(p3, net["id"]) and show(p3, "networks", net["id"])["shared"] is True
    ok(client.put(f"/v2.0/networks/{net['id']}", json={"network": {"shared": False}}))
    assert policies_of(client, net["id"]) == []
    assert not visible(p3, net["id"])
    ok(client.put(f"/v2.0/networks/{net['id']}", json={"network": {"shared": True}}))
    assert policies_of(client, net["id"]) == [(SHARED, "*")]


def test_a_wildcard_policy_makes_the_network_shared_and_its_removal_private(
        client: httpx.Client, p1: httpx.Client, p3: httpx.Client) -> None:
    net = network(p1)
    policy = rbac_create(client, net["id"], "*")
    for viewer in (client, p1, p3):
        assert show(viewer, "networks", net["id"])["shared"] is True
    shown = show(client, "networks", net["id"])
    assert shown["revision_number"] > net["revision_number"]
    ok(client.delete(f"/v2.0/rbac-policies/{policy['id']}"), 204)
    assert show(client, "networks", net["id"])["shared"] is False
    assert not visible(p3, net["id"])


def test_network_delete_takes_its_policies(client: httpx.Client, p1: httpx.Client,
                                           p2: httpx.Client) -> None:
    net = network(p1)
    policy = rbac_create(p1, net["id"], project(p2))
    ok(p1.delete(f"/v2.0/networks/{net['id']}"), 204)
    assert_error(client.get(f"/v2.0/rbac-policies/{policy['id']}"), 404)


# --- in use -----------------------------------------------------------------------------

def test_a_policy_a_targets_port_depends_on_cannot_go(client: httpx.Client, p1: httpx.Client,
                                                      p2: httpx.Client,
                                                      p3: httpx.Client) -> None:
    net = network(p1)
    subnet(p1, net["id"], "10.64.0.0/24")
    policy = rbac_create(p1, net["id"], project(p2))
    made = port(p2, net["id"])
    url = f"/v2.0/rbac-policies/{policy['id']}"
    error = assert_error(p1.delete(url), 409, "RbacPolicyInUse")
    assert net["id"] in error["message"]
    # Narrowing it to another project takes access from p2 as well.
    assert_error(rbac_put(p1, policy["id"], target_tenant=project(p3)), 409,
                 "RbacPolicyInUse")
    assert visible(p2, net["id"]) and policies_of(client, net["id"]) == [
        (SHARED, project(p2))]
    # Another policy that covers p2 lets this one go.
    wildcard = rbac_create(client, net["id"], "*")
    ok(p1.delete(url), 204)
    assert_error(client.delete(f"/v2.0/rbac-policies/{wildcard['id']}"), 409,
                 "RbacPolicyInUse")
    ok(p2.delete(f"/v2.0/ports/{made['id']}"), 204)
    ok(client.delete(f"/v2.0/rbac-policies/{wildcard['id']}"), 204)


def test_narrowing_a_wildcard_to_the_one_user_is_allowed(client: httpx.Client,
                                                        p1: httpx.Client,
                                                        p2: httpx.Client,
                                                        p3: httpx.Client) -> None:
    net = network(p1)
    subnet(p1, net["id"], "10.65.0.0/24")
    wildcard = rbac_create(client, net["id"], "*")
    port(p2, net["id"])
    assert_error(rbac_put(client, wildcard["id"], target_tenant=project(p3)), 409,
                 "RbacPolicyInUse")
    narrowed = ok(rbac_put(client, wildcard["id"], target_tenant=project(p2)))["rbac_policy"]
    assert narrowed["target_tenant"] == project(p2)
    assert show(client, "networks", net["id"])["shared"] is False
    assert show(p2, "networks", net["id"])["shared"] is True
    assert not visible(p3, net["id"])


def test_unsharing_a_network_in_use_is_409(client: httpx.Client, p1: httpx.Client,
                                           p2: httpx.Client) -> None:
    net = network(client, shared=True, project_id=project(p1))
    subnet(p1, net["id"], "10.66.0.0/24")
    made = port(p2, net["id"])
    url = f"/v2.0/networks/{net['id']}"
    assert_error(client.put(url, json={"network": {"shared": False}}), 409,
                 "InvalidSharedSetting")
    assert policies_of(client, net["id"]) == [(SHARED, "*")]
    assert show(client, "networks", net["id"])["shared"] is True
    # With p2 let in by its own policy, the wildcard can go.
    rbac_create(p1, net["id"], project(p2))
    ok(client.put(url, json={"network": {"shared": False}}))
    assert policies_of(client, net["id"]) == [(SHARED, project(p2))]
    assert show(p2, "ports", made["id"])["network_id"] == net["id"]


def test_the_owners_own_ports_never_hold_a_policy(p1: httpx.Client, p2: httpx.Client) -> None:
    net = network(p1)
    subnet(p1, net["id"], "10.67.0.0/24")
    port(p1, net["id"])
    policy = rbac_create(p1, net["id"], project(p2))
    ok(p1.delete(f"/v2.0/rbac-policies/{policy['id']}"), 204)


# --- external networks ------------------------------------------------------------------

def test_router_external_makes_a_wildcard_external_policy(client: httpx.Client,
                                                          p3: httpx.Client) -> None:
    ext = external_net(client, "198.51.100.0/24")
    assert policies_of(client, ext["id"]) == [(EXTERNAL, "*")]
    seen = show(p3, "networks", ext["id"])
    assert (seen["router:external"], seen["shared"]) == (True, False)


def test_an_external_policy_for_one_project(client: httpx.Client, p1: httpx.Client,
                                            p2: httpx.Client, p3: httpx.Client) -> None:
    net = network(client)
    subnet(client, net["id"], "198.51.101.0/24")
    policy = rbac_create(client, net["id"], project(p2), EXTERNAL)
    # Now an external network, but only for p2.
    assert show(client, "networks", net["id"])["router:external"] is True
    assert show(p2, "networks", net["id"])["router:external"] is True
    assert not visible(p3, net["id"])
    fip = ok(p2.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": net["id"]}}), 201)["floatingip"]
    assert_error(p3.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": net["id"]}}), 404, "NetworkNotFound")
    router = router_create(p2, external_gateway_info={"network_id": net["id"]})
    assert router["external_gateway_info"]["network_id"] == net["id"]
    assert_error(client.delete(f"/v2.0/rbac-policies/{policy['id']}"), 409,
                 "RbacPolicyInUse")
    ok(p2.delete(f"/v2.0/floatingips/{fip['id']}"), 204)
    # The router's gateway still holds it.
    assert_error(client.delete(f"/v2.0/rbac-policies/{policy['id']}"), 409,
                 "RbacPolicyInUse")
    ok(p2.put(f"/v2.0/routers/{router['id']}", json={"router": {
        "external_gateway_info": None}}))
    ok(client.delete(f"/v2.0/rbac-policies/{policy['id']}"), 204)
    # Its last external policy gone, the network is internal again.
    assert show(client, "networks", net["id"])["router:external"] is False


def test_a_shared_only_network_is_no_external_network(client: httpx.Client,
                                                      p1: httpx.Client,
                                                      p2: httpx.Client) -> None:
    net = network(client)
    subnet(client, net["id"], "198.51.102.0/24")
    rbac_create(client, net["id"], project(p2))
    rbac_create(client, net["id"], project(p1), EXTERNAL)
    assert show(p2, "networks", net["id"])["router:external"] is False
    assert_error(p2.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": net["id"]}}), 400)


def test_router_external_false_refuses_while_used_then_drops_every_external_policy(
        client: httpx.Client, p2: httpx.Client) -> None:
    ext = external_net(client, "198.51.103.0/24")
    rbac_create(client, ext["id"], project(p2), EXTERNAL)
    fip = ok(p2.post("/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": ext["id"]}}), 201)["floatingip"]
    url = f"/v2.0/networks/{ext['id']}"
    assert_error(client.put(url, json={"network": {"router:external": False}}), 409,
                 "ExternalNetworkInUse")
    ok(p2.delete(f"/v2.0/floatingips/{fip['id']}"), 204)
    ok(client.put(url, json={"network": {"router:external": False}}))
    assert policies_of(client, ext["id"]) == []


# --- security groups --------------------------------------------------------------------

def test_a_shared_group_is_visible_and_usable_by_its_target(p1: httpx.Client,
                                                            p2: httpx.Client,
                                                            p3: httpx.Client) -> None:
    group = sg_create(p1, "shared-web")
    own = network(p2)
    subnet(p2, own["id"], "10.68.0.0/24")
    assert_error(p2.post("/v2.0/ports", json={"port": {
        "network_id": own["id"], "security_groups": [group["id"]]}}), 404,
        "SecurityGroupNotFound")
    policy = rbac_create(p1, group["id"], project(p2), object_type="security_group")
    seen = ok(p2.get(f"/v2.0/security-groups/{group['id']}"))["security_group"]
    assert (seen["shared"], seen["project_id"]) == (True, project(p1))
    assert group["id"] in ids(groups(p2))
    assert group["id"] not in ids(groups(p3))
    assert ok(p1.get(f"/v2.0/security-groups/{group['id']}"))["security_group"][
        "shared"] is False
    assert_error(p3.get(f"/v2.0/security-groups/{group['id']}"), 404)
    made = port(p2, own["id"], security_groups=[group["id"]])
    assert made["security_groups"] == [group["id"]]
    # The target may use it, not change it.
    assert_error(p2.put(f"/v2.0/security-groups/{group['id']}", json={
        "security_group": {"name": "mine"}}), 403)
    assert_error(p1.delete(f"/v2.0/rbac-policies/{policy['id']}"), 409, "RbacPolicyInUse")
    ok(p2.delete(f"/v2.0/ports/{made['id']}"), 204)
    ok(p1.delete(f"/v2.0/rbac-policies/{policy['id']}"), 204)
    assert_error(p2.get(f"/v2.0/security-groups/{group['id']}"), 404)


def test_shared_filter_on_security_groups(client: httpx.Client, p1: httpx.Client,
                                          p2: httpx.Client) -> None:
    group = sg_create(p1, "filtered")
    rbac_create(client, group["id"], "*", object_type="security_group")
    assert group["id"] in ids(groups(p2, shared="true"))
    assert group["id"] not in ids(groups(p2, shared="false"))
    assert group["id"] in ids(groups(p1, shared="true"))


# --- the journal and the migration ------------------------------------------------------

def test_a_policy_that_shares_a_network_reaches_the_controller(backend: str,
                                                               tmp_path: Any) -> None:
    """The network update a wildcard policy makes is journaled like any other: the
    real reference controller ends up with ``shared`` true, then false again."""
    controller = ControllerServer().start()
    try:
        with make_database(backend, tmp_path) as url:
            server = start_api_server(_merge(ML2_TEST_CONFIG, {
                "DEFAULT": {"auth_strategy": "noauth"}, "database": {"connection": url},
                "ml2": {"mechanism_drivers": ["sdn_controller"]},
                "ml2_sdn": {"url": controller.northbound_url, "sync_timeout": 0.5,
                            "maintenance_interval": 0.5}}))
            try:
                with server.http() as admin:
                    net = network(admin)
                    policy = rbac_create(admin, net["id"], "*")
                    _wait_shared(controller, net["id"], True)
                    ok(admin.delete(f"/v2.0/rbac-policies/{policy['id']}"), 204)
                    _wait_shared(controller, net["id"], False)
            finally:
                for driver in server.plugin.mechanism_manager.drivers:
                    getattr(driver, "stop", lambda: None)()
                server.stop()
    finally:
        controller.stop()


def _wait_shared(controller: ControllerServer, net_id: str, wanted: bool) -> None:
    deadline = time.monotonic() + 60
    seen = None
    while time.monotonic() < deadline:
        found = [n for n in controller.controller.store.list("network") if n["id"] == net_id]
        seen = found[0]["shared"] if found else None
        if seen is wanted:
            return
        time.sleep(0.1)
    raise AssertionError(f"controller's network {net_id} shared={seen}, wanted {wanted}")


def test_the_migration_turns_shared_networks_into_wildcard_policies(backend: str,
                                                                    tmp_path: Any) -> None:
    with make_database(backend, tmp_path, migrate=False) as url:
        migration.upgrade(url, "0007_merge")
        engine = sa.create_engine(url)
        now = dt.datetime(2026, 12, 1)
        nets = {name: str(uuid.uuid4()) for name in ("shared", "external", "private")}
        try:
            networks = sa.Table("networks", sa.MetaData(), autoload_with=engine)
            with engine.begin() as conn:
                conn.execute(networks.insert(), [{
                    "id": nets[name], "project_id": "p-old", "name": name,
                    "description": "", "created_at": now, "updated_at": now,
                    "revision_number": 0, "admin_state_up": True, "status": "ACTIVE",
                    "shared": name == "shared", "router_external": name == "external",
                    "mtu": 1450, "port_security_enabled": True} for name in nets])
            migration.upgrade(url)
            with engine.connect() as conn:
                rows = conn.execute(sa.text(
                    "SELECT object_id, action, target_project, project_id FROM networkrbacs"
                )).all()
        finally:
            engine.dispose()
    assert sorted(tuple(r) for r in rows) == sorted([
        (nets["shared"], SHARED, "*", "p-old"), (nets["external"], EXTERNAL, "*", "p-old")])


def test_a_target_may_see_the_network_not_change_it(p1: httpx.Client, p2: httpx.Client,
                                                    p3: httpx.Client) -> None:
    net = network(p1)
    rbac_create(p1, net["id"], project(p2))
    url = f"/v2.0/networks/{net['id']}"
    assert_error(p2.put(url, json={"network": {"name": "mine"}}), 403, "PolicyNotAuthorized")
    assert_error(p2.delete(url), 403, "PolicyNotAuthorized")
    assert_error(p3.put(url, json={"network": {"name": "mine"}}), 404, "NetworkNotFound")
    assert_error(p3.delete(url), 404, "NetworkNotFound")
    assert show(p1, "networks", net["id"])["name"] == net["name"]


def test_group_delete_takes_its_policies(client: httpx.Client, p1: httpx.Client,
                                         p2: httpx.Client) -> None:
    group = sg_create(p1, "short-lived")
    policy = rbac_create(p1, group["id"], project(p2), object_type="security_group")
    ok(p1.delete(f"/v2.0/security-groups/{group['id']}"), 204)
    assert_error(client.get(f"/v2.0/rbac-policies/{policy['id']}"), 404)


def test_bulk_create_is_all_or_nothing(client: httpx.Client, p1: httpx.Client,
                                       p2: httpx.Client, unique: str) -> None:
    net = network(p1)
    body = {"object_type": "network", "object_id": net["id"], "action": SHARED}
    made = ok(p1.post("/v2.0/rbac-policies", json={"rbac_policies": [
        {**body, "target_tenant": project(p2)}, {**body, "target_tenant": f"x-{unique}"}]}),
        201)["rbac_policies"]
    assert [p["target_tenant"] for p in made] == [project(p2), f"x-{unique}"]
    assert_error(p1.post("/v2.0/rbac-policies", json={"rbac_policies": [
        {**body, "target_tenant": f"y-{unique}"}, {**body, "target_tenant": project(p2)}]}),
        409, "DuplicateRbacPolicy")
    assert sorted(t for _, t in policies_of(client, net["id"])) == sorted(
        [project(p2), f"x-{unique}"])
