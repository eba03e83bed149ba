"""``/v2.0/default-security-group-rules``: the template new security groups are built from.

Seeded with Neutron's four rules; admins create and delete template rules, everyone
reads them; the default and every other new group take their rules from it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.servers import ApiServer
from tests.unit.api.conftest import ServerFactory
from tests.unit.api.helpers import assert_error, ok

URL = "/v2.0/default-security-group-rules"
KEYS = {"id", "direction", "ethertype", "protocol", "port_range_min", "port_range_max",
        "remote_ip_prefix", "remote_group_id", "remote_address_group_id", "description",
        "used_in_default_sg", "used_in_non_default_sg"}
SEED = {
    ("egress", "IPv4", None, True, True), ("egress", "IPv6", None, True, True),
    ("ingress", "IPv4", "PARENT", True, False), ("ingress", "IPv6", "PARENT", True, False),
}


def shape(rule: dict[str, Any]) -> tuple[Any, ...]:
    return (rule["direction"], rule["ethertype"], rule["remote_group_id"],
            rule["used_in_default_sg"], rule["used_in_non_default_sg"])


def post(http: httpx.Client, **attrs: Any) -> httpx.Response:
    attrs.setdefault("direction", "ingress")
    attrs.setdefault("used_in_default_sg", True)
    attrs.setdefault("used_in_non_default_sg", True)
    return http.post(URL, json={"default_security_group_rule": attrs})


def create(http: httpx.Client, **attrs: Any) -> dict[str, Any]:
    return ok(post(http, **attrs), 201)["default_security_group_rule"]


def templates(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    return ok(http.get(URL, params=params))["default_security_group_rules"]


@pytest.fixture
def cleanup(client: httpx.Client) -> Any:
    """Template rules a test adds to the module's shared server go away after it."""
    made: list[str] = []
    yield made
    for rule_id in made:
        client.delete(f"{URL}/{rule_id}")


def test_seeded_with_neutrons_four_rules_readable_by_everyone(p1: httpx.Client) -> None:
    rules = templates(p1)
    assert all(set(r) == KEYS for r in rules)
    assert {shape(r) for r in rules} == SEED
    for rule in rules:
        assert (rule["protocol"], rule["port_range_min"], rule["remote_ip_prefix"]) == (
            None, None, None)
        kind = "egress" if rule["direction"] == "egress" else "ingress"
        assert rule["description"] == f"Legacy default SG rule for {kind} traffic"
    one = rules[0]
    assert ok(p1.get(f"{URL}/{one['id']}"))["default_security_group_rule"] == one


def test_extension_is_listed(client: httpx.Client) -> None:
    aliases = {e["alias"] for e in ok(client.get("/v2.0/extensions"))["extensions"]}
    assert "security-groups-default-rules" in aliases


def test_admin_creates_shows_and_deletes(client: httpx.Client, cleanup: list[str]) -> None:
    rule = create(client, protocol="tcp", port_range_min=8080, port_range_max=8080,
                  used_in_default_sg=False, description="web")
    cleanup.append(rule["id"])
    assert set(rule) == KEYS
    assert (rule["protocol"], rule["port_range_min"], rule["port_range_max"]) == (
        "tcp", 8080, 8080)
    assert (rule["ethertype"], rule["remote_group_id"], rule["description"]) == (
        "IPv4", None, "web")
    assert (rule["used_in_default_sg"], rule["used_in_non_default_sg"]) == (False, True)
    assert ok(client.get(f"{URL}/{rule['id']}"))["default_security_group_rule"] == rule
    assert client.delete(f"{URL}/{rule['id']}").status_code == 204
    assert_error(client.get(f"{URL}/{rule['id']}"), 404, "DefaultSecurityGroupRuleNotFound")
    assert_error(client.delete(f"{URL}/{rule['id']}"), 404,
                 "DefaultSecurityGroupRuleNotFound")


def test_members_read_but_cannot_create_or_delete(client: httpx.Client, p1: httpx.Client
                                                  ) -> None:
    assert_error(post(p1, protocol="udp"), 403, "PolicyNotAuthorized")
    rule = templates(p1)[0]
    assert_error(p1.delete(f"{URL}/{rule['id']}"), 403, "PolicyNotAuthorized")
    assert rule in templates(client)


def test_there_is_no_update(client: httpx.Client) -> None:
    rule = templates(client)[0]
    assert_error(client.put(f"{URL}/{rule['id']}", json={
        "default_security_group_rule": {"description": "x"}}), 400)


@pytest.mark.parametrize(("attrs", "status", "type_"), [
    ({"used_in_default_sg": None}, 400, "InvalidInput"),
    ({"direction": "sideways"}, 400, "InvalidInput"),
    ({"protocol": "bogus"}, 400, "SecurityGroupRuleInvalidProtocol"),
    ({"port_range_min": 22, "port_range_max": 22}, 400,
     "SecurityGroupProtocolRequiredWithPorts"),
    ({"protocol": "tcp", "port_range_min": 30, "port_range_max": 20}, 400,
     "SecurityGroupInvalidPortRange"),
    ({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"}, 400,
     "SecurityGroupRuleParameterConflict"),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "PARENT"}, 400,
     "SecurityGroupRemoteGroupAndRemoteIpPrefix"),
    ({"remote_group_id": "not-a-uuid"}, 400, "InvalidInput"),
    ({"remote_group_id": "8a2b6e5c-1f5d-4a53-9f1e-3c8f7f0f6d11"}, 404,
     "SecurityGroupNotFound"),
    ({"remote_address_group_id": "8a2b6e5c-1f5d-4a53-9f1e-3c8f7f0f6d11"}, 400,
     "InvalidInput"),
])
def test_invalid_rules_get_neutrons_errors(client: httpx.Client, attrs: dict[str, Any],
                                           status: int, type_: str) -> None:
    before = templates(client)
    assert_error(post(client, **attrs), status, type_)
    assert templates(client) == before


def test_both_flags_are_required(client: httpx.Client) -> None:
    resp = client.post(URL, json={"default_security_group_rule": {
        "direction": "ingress", "used_in_default_sg": True}})
    error = assert_error(resp, 400)
    assert "used_in_non_default_sg" in error["message"]


def test_duplicates_conflict_only_for_the_same_kind_of_group(
        client: httpx.Client, cleanup: list[str]) -> None:
    both = create(client, protocol="tcp", port_range_min=5000, port_range_max=5000)
    cleanup.append(both["id"])
    for flags in ({"used_in_non_default_sg": False}, {"used_in_default_sg": False}):
        error = assert_error(post(client, protocol="6", port_range_min=5000,
                                  port_range_max=5000, **flags),
                             409, "DefaultSecurityGroupRuleExists")
        assert both["id"] in error["message"]
    only_default = create(client, protocol="udp", port_range_min=53, port_range_max=53,
                          used_in_non_default_sg=False)
    cleanup.append(only_default["id"])
    only_custom = create(client, protocol="udp", port_range_min=53, port_range_max=53,
                         used_in_default_sg=False)
    cleanup.append(only_custom["id"])
    # The seeded egress rules are already in both kinds of group.
    assert_error(post(client, direction="egress", ethertype="IPv6"), 409,
                 "DefaultSecurityGroupRuleExists")


def test_bulk_create_is_all_or_none(client: httpx.Client, cleanup: list[str]) -> None:
    rule = {"direction": "ingress", "protocol": "icmp", "used_in_default_sg": True,
            "used_in_non_default_sg": False}
    before = templates(client)
    assert_error(client.post(URL, json={"default_security_group_rules": [rule, rule]}),
                 409, "DuplicateDefaultSgRuleInPost")
    assert templates(client) == before
    made = ok(client.post(URL, json={"default_security_group_rules": [
        rule, {**rule, "ethertype": "IPv6", "protocol": "ipv6-icmp"}]}), 201)[
        "default_security_group_rules"]
    cleanup.extend(r["id"] for r in made)
    assert len(made) == 2 and len(templates(client)) == len(before) + 2


def test_filters_fields_and_sorting(p1: httpx.Client) -> None:
    custom = templates(p1, used_in_non_default_sg="true")
    assert {shape(r) for r in custom} == {s for s in SEED if s[4]}
    parents = templates(p1, remote_group_id="PARENT", ethertype="IPv6")
    assert [shape(r) for r in parents] == [("ingress", "IPv6", "PARENT", True, False)]
    slim = templates(p1, fields=["id", "direction"])
    assert all(set(r) == {"id", "direction"} for r in slim)
    directions = [r["direction"] for r in templates(p1, sort_key="direction",
                                                     sort_dir="desc")]
    assert directions == sorted(directions, reverse=True)
    assert_error(p1.get(URL, params={"bogus": "1"}), 400)


def _group_rules(http: httpx.Client, group: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {(r["direction"], r["ethertype"], r["protocol"], r["port_range_min"],
             r["remote_group_id"]) for r in group["security_group_rules"]}


def test_new_groups_are_built_from_the_template(make_server: ServerFactory) -> None:
    server: ApiServer = make_server({})
    with server.http() as admin, server.http(project="p-new") as member:
        ssh = create(admin, protocol="tcp", port_range_min=22, port_range_max=22,
                     used_in_default_sg=False)
        http = create(admin, protocol="tcp", port_range_min=80, port_range_max=80,
                      used_in_non_default_sg=False)
        [egress6] = [r for r in templates(admin)
                     if shape(r) == ("egress", "IPv6", None, True, True)]
        assert admin.delete(f"{URL}/{egress6['id']}").status_code == 204
        groups = ok(member.get("/v2.0/security-groups"))["security_groups"]
        [default] = [g for g in groups if g["name"] == "default"]
        assert _group_rules(member, default) == {
            ("egress", "IPv4", None, None, None),
            ("ingress", "IPv4", None, None, default["id"]),
            ("ingress", "IPv6", None, None, default["id"]),
            ("ingress", "IPv4", "tcp", 80, None)}
        assert all(r["description"] == "" for r in default["security_group_rules"])
        web = ok(member.post("/v2.0/security-groups", json={
            "security_group": {"name": "web"}}), 201)["security_group"]
        assert _group_rules(member, web) == {("egress", "IPv4", None, None, None),
                                             ("ingress", "IPv4", "tcp", 22, None)}
        assert ssh["id"] != http["id"]


def test_a_named_remote_group_that_went_away_is_left_out(make_server: ServerFactory) -> None:
    server: ApiServer = make_server({})
    with server.http() as admin:
        mgmt = ok(admin.post("/v2.0/security-groups", json={
            "security_group": {"name": "mgmt"}}), 201)["security_group"]
        create(admin, remote_group_id=mgmt["id"], used_in_default_sg=False)
        first = ok(admin.post("/v2.0/security-groups", json={
            "security_group": {"name": "a"}}), 201)["security_group"]
        assert mgmt["id"] in {r["remote_group_id"] for r in first["security_group_rules"]}
        assert admin.delete(f"/v2.0/security-groups/{first['id']}").status_code == 204
        assert admin.delete(f"/v2.0/security-groups/{mgmt['id']}").status_code == 204
        second = ok(admin.post("/v2.0/security-groups", json={
            "security_group": {"name": "b"}}), 201)["security_group"]
        assert len(second["security_group_rules"]) == 2
