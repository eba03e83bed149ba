"""Security groups and rules through the API, as Neutron answers them.

Attributes and defaults, the project's ``default`` group, rule validation with
Neutron's error types, duplicates, visibility between projects, ports' groups
(default group, trusted ports, port security), filters, pagination, tags, If-Match.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.unit.api.helpers import assert_error, network, ok, port, subnet

GROUP_KEYS = {"id", "name", "description", "project_id", "tenant_id", "stateful", "shared",
              "security_group_rules", "tags", "created_at", "updated_at", "revision_number"}
RULE_KEYS = {"id", "security_group_id", "direction", "ethertype", "protocol",
             "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id",
             "remote_address_group_id", "normalized_cidr", "description", "project_id",
             "tenant_id", "created_at", "updated_at", "revision_number",
             "belongs_to_default_sg"}


# --- helpers ----------------------------------------------------------------------------

def sg_create(client: httpx.Client, **attrs: Any) -> dict[str, Any]:
    return ok(client.post("/v2.0/security-groups", json={"security_group": attrs}),
              201)["security_group"]


def rule_post(client: httpx.Client, group_id: str, **attrs: Any) -> httpx.Response:
    attrs.setdefault("direction", "ingress")
    return client.post("/v2.0/security-group-rules", json={
        "security_group_rule": {"security_group_id": group_id, **attrs}})


def rule_create(client: httpx.Client, group_id: str, **attrs: Any) -> dict[str, Any]:
    return ok(rule_post(client, group_id, **attrs), 201)["security_group_rule"]


def groups(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    return ok(client.get("/v2.0/security-groups", params=params))["security_groups"]


def sg_show(client: httpx.Client, group_id: str) -> dict[str, Any]:
    return ok(client.get(f"/v2.0/security-groups/{group_id}"))["security_group"]


def default_group(client: httpx.Client) -> dict[str, Any]:
    found = [g for g in groups(client) if g["name"] == "default"]
    assert len(found) == 1, found
    return found[0]


def shape(rule: dict[str, Any]) -> tuple[Any, ...]:
    return (rule["direction"], rule["ethertype"], rule["protocol"], rule["remote_ip_prefix"],
            rule["remote_group_id"])


@pytest.fixture
def net(p1: httpx.Client) -> dict[str, Any]:
    created = network(p1)
    subnet(p1, created["id"], "10.90.0.0/24")
    return created


# --- groups -----------------------------------------------------------------------------

def test_a_new_group_has_every_attribute_and_two_egress_rules(p1: httpx.Client) -> None:
    group = sg_create(p1, name="web", description="front")
    assert set(group) == GROUP_KEYS
    assert (group["name"], group["description"], group["stateful"], group["shared"],
            group["tags"], group["revision_number"]) == ("web", "front", True, False, [], 0)
    assert group["project_id"] == group["tenant_id"] == p1.headers["X-Project-Id"]
    assert sorted(shape(r) for r in group["security_group_rules"]) == [
        ("egress", "IPv4", None, None, None), ("egress", "IPv6", None, None, None)]
    for rule in group["security_group_rules"]:
        assert set(rule) == RULE_KEYS
        assert rule["belongs_to_default_sg"] is False
    assert sg_show(p1, group["id"]) == group
    assert sg_create(p1, name="stateless", stateful=False)["stateful"] is False


def test_the_first_list_creates_the_project_default_group_once(p1: httpx.Client) -> None:
    first = default_group(p1)
    assert first["description"] == "Default security group"
    gid = first["id"]
    assert sorted(shape(r) for r in first["security_group_rules"]) == [
        ("egress", "IPv4", None, None, None), ("egress", "IPv6", None, None, None),
        ("ingress", "IPv4", None, None, gid), ("ingress", "IPv6", None, None, gid)]
    assert all(r["belongs_to_default_sg"] for r in first["security_group_rules"])
    assert default_group(p1)["id"] == gid  # listing again creates nothing
    rules = ok(p1.get("/v2.0/security-group-rules", params={
        "belongs_to_default_sg": "true"}))["security_group_rules"]
    assert {r["security_group_id"] for r in rules} == {gid} and len(rules) == 4


def test_a_project_cannot_delete_its_default_group_but_the_admin_can(
        client: httpx.Client, p1: httpx.Client) -> None:
    gid = default_group(p1)["id"]
    assert_error(p1.delete(f"/v2.0/security-groups/{gid}"), 409,
                 "SecurityGroupCannotRemoveDefault")
    assert_error(p1.put(f"/v2.0/security-groups/{gid}", json={
        "security_group": {"name": "renamed"}}), 409, "SecurityGroupCannotUpdateDefault")
    assert_error(p1.post("/v2.0/security-groups", json={"security_group": {
        "name": "default"}}), 409, "SecurityGroupDefaultAlreadyExists")
    ok(client.delete(f"/v2.0/security-groups/{gid}"), 204)
    assert default_group(p1)["id"] != gid  # the next request makes a new one


def test_another_projects_group_is_not_found(p1: httpx.Client, p2: httpx.Client) -> None:
    group = sg_create(p1, name="mine")
    error = assert_error(p2.get(f"/v2.0/security-groups/{group['id']}"), 404,
                         "SecurityGroupNotFound")
    assert error["message"] == f"Security group {group['id']} does not exist"
    assert group["id"] not in {g["id"] for g in groups(p2)}
    assert_error(p2.delete(f"/v2.0/security-groups/{group['id']}"), 404,
                 "SecurityGroupNotFound")
    assert_error(rule_post(p2, group["id"], protocol="tcp"), 404, "SecurityGroupNotFound")
    rule = group["security_group_rules"][0]
    assert_error(p2.get(f"/v2.0/security-group-rules/{rule['id']}"), 404,
                 "SecurityGroupRuleNotFound")
    seen = ok(p2.get("/v2.0/security-group-rules"))["security_group_rules"]
    assert rule["id"] not in {r["id"] for r in seen}


def test_rules_an_admin_adds_to_a_projects_group_are_readable_by_it(
        api_server: Any, p1: httpx.Client) -> None:
    gid = default_group(p1)["id"]
    with api_server.http(project="the-admins", roles="admin") as admin:
        added = rule_create(admin, gid, protocol="tcp", port_range_min=22, port_range_max=22)
    assert added["project_id"] == "the-admins"
    assert added["belongs_to_default_sg"] is True
    assert ok(p1.get(f"/v2.0/security-group-rules/{added['id']}"))[
        "security_group_rule"]["id"] == added["id"]
    seen = ok(p1.get("/v2.0/security-group-rules", params={"security_group_id": gid}))
    assert added["id"] in {r["id"] for r in seen["security_group_rules"]}
    ok(p1.delete(f"/v2.0/security-group-rules/{added['id']}"), 204)


def test_stateful_changes_only_while_no_port_uses_the_group(
        p1: httpx.Client, net: dict[str, Any]) -> None:
    group = sg_create(p1, name="s")
    changed = ok(p1.put(f"/v2.0/security-groups/{group['id']}", json={
        "security_group": {"stateful": False}}))["security_group"]
    assert (changed["stateful"], changed["revision_number"]) == (False, 1)
    port(p1, net["id"], security_groups=[group["id"]])
    assert_error(p1.put(f"/v2.0/security-groups/{group['id']}", json={
        "security_group": {"stateful": True}}), 409, "SecurityGroupInUse")
    renamed = ok(p1.put(f"/v2.0/security-groups/{group['id']}", json={
        "security_group": {"name": "t"}}))["security_group"]
    assert renamed["name"] == "t" and renamed["stateful"] is False


def test_a_group_in_use_cannot_be_deleted(p1: httpx.Client, net: dict[str, Any]) -> None:
    group = sg_create(p1, name="used")
    used_by = port(p1, net["id"], security_groups=[group["id"]])
    error = assert_error(p1.delete(f"/v2.0/security-groups/{group['id']}"), 409,
                         "SecurityGroupInUse")
    assert error["message"] == f"Security Group {group['id']} in use."
    ok(p1.delete(f"/v2.0/ports/{used_by['id']}"), 204)
    ok(p1.delete(f"/v2.0/security-groups/{group['id']}"), 204)
    assert_error(p1.get(f"/v2.0/security-groups/{group['id']}"), 404,
                 "SecurityGroupNotFound")


def test_deleting_a_group_takes_the_rules_that_name_it_as_remote(p1: httpx.Client) -> None:
    remote, other = sg_create(p1, name="remote"), sg_create(p1, name="other")
    rule = rule_create(p1, other["id"], remote_group_id=remote["id"])
    ok(p1.delete(f"/v2.0/security-groups/{remote['id']}"), 204)
    assert_error(p1.get(f"/v2.0/security-group-rules/{rule['id']}"), 404,
                 "SecurityGroupRuleNotFound")


def test_if_match_revision_and_tags(p1: httpx.Client) -> None:
    group = sg_create(p1, name="rev")
    url = f"/v2.0/security-groups/{group['id']}"
    assert_error(p1.put(url, json={"security_group": {"name": "x"}},
                        headers={"If-Match": "revision_number=7"}), 412)
    ok(p1.put(url, json={"security_group": {"name": "x"}},
              headers={"If-Match": "revision_number=0"}))
    ok(p1.put(f"{url}/tags", json={"tags": ["red", "blue"]}))
    shown = sg_show(p1, group["id"])
    assert (shown["tags"], shown["revision_number"]) == (["blue", "red"], 2)
    assert [g["id"] for g in groups(p1, tags="red")] == [group["id"]]
    assert_error(p1.delete(url, headers={"If-Match": "revision_number=1"}), 412)
    ok(p1.delete(url, headers={"If-Match": "revision_number=2"}), 204)


def test_filters_sorting_and_pagination(p1: httpx.Client) -> None:
    made = [sg_create(p1, name=f"page-{i}") for i in range(5)]
    names = [g["name"] for g in groups(p1, sort_key="name", sort_dir="desc")
             if g["name"].startswith("page-")]
    assert names == [f"page-{i}" for i in range(4, -1, -1)]
    first = ok(p1.get("/v2.0/security-groups", params={
        "sort_key": "name", "limit": 2, "name": [g["name"] for g in made]}))
    assert [g["name"] for g in first["security_groups"]] == ["page-0", "page-1"]
    assert any(link["rel"] == "next" for link in first["security_groups_links"])
    after = groups(p1, sort_key="name", limit=2, marker=first["security_groups"][-1]["id"],
                   name=[g["name"] for g in made])
    assert [g["name"] for g in after] == ["page-2", "page-3"]
    assert [g["id"] for g in groups(p1, name="page-3", fields="id")] == [made[3]["id"]]
    assert groups(p1, shared="true") == []
    assert_error(p1.get("/v2.0/security-groups", params={"bogus": "1"}), 400)


def test_openstacksdk_sees_groups_and_rules(sdk: Any, unique: str) -> None:
    group = sdk.network.create_security_group(name=f"sdk-{unique}", description="d")
    rule = sdk.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", protocol="tcp",
        port_range_min=80, port_range_max=81, remote_ip_prefix="192.0.2.0/24")
    found = sdk.network.find_security_group(f"sdk-{unique}")
    assert found.id == group.id and found.stateful is True and found.is_shared is False
    assert rule.id in {r["id"] for r in found.security_group_rules}
    listed = list(sdk.network.security_group_rules(security_group_id=group.id))
    assert {r.id for r in listed} >= {rule.id} and len(listed) == 3
    sdk.network.delete_security_group_rule(rule)
    sdk.network.delete_security_group(group)
    assert sdk.network.find_security_group(f"sdk-{unique}") is None


# --- rules ------------------------------------------------------------------------------

def test_a_rule_has_every_attribute_and_a_normalized_cidr(p1: httpx.Client) -> None:
    group = sg_create(p1, name="r")
    rule = rule_create(p1, group["id"], protocol="TCP", port_range_min=22,
                       port_range_max=22, remote_ip_prefix="10.1.2.3/24", description="ssh")
    assert set(rule) == RULE_KEYS
    assert (rule["protocol"], rule["ethertype"], rule["remote_ip_prefix"],
            rule["normalized_cidr"], rule["remote_address_group_id"],
            rule["description"]) == ("tcp", "IPv4", "10.1.2.3/24", "10.1.2.0/24", None, "ssh")
    host = rule_create(p1, group["id"], remote_ip_prefix="2001:db8::1", ethertype="ipv6")
    assert (host["remote_ip_prefix"], host["normalized_cidr"], host["ethertype"],
            host["protocol"]) == ("2001:db8::1/128", "2001:db8::1/128", "IPv6", None)
    shown = ok(p1.get(f"/v2.0/security-group-rules/{rule['id']}"))["security_group_rule"]
    assert shown == rule
    listed = ok(p1.get("/v2.0/security-group-rules", params={
        "security_group_id": group["id"], "protocol": "tcp", "port_range_min": 22,
        "remote_address_group_id": ""}))["security_group_rules"]
    assert [r["id"] for r in listed] == [rule["id"]]
    assert_error(p1.get("/v2.0/security-group-rules", params={"normalized_cidr": "x"}), 400)
    assert rule["id"] in {r["id"] for r in sg_show(p1, group["id"])["security_group_rules"]}


@pytest.mark.parametrize("protocol, stored", [
    ("tcp", "tcp"), ("UDP", "udp"), ("icmp", "icmp"), ("sctp", "sctp"), ("any", None),
    ("ah", "ah"), ("dccp", "dccp"), ("egp", "egp"), ("esp", "esp"), ("gre", "gre"),
    ("igmp", "igmp"), ("ipip", "ipip"), ("ospf", "ospf"), ("pgm", "pgm"), ("rsvp", "rsvp"),
    ("udplite", "udplite"), ("vrrp", "vrrp"), ("6", "6"), (132, "132"), (0, "0"),
    ("255", "255"),
])
def test_protocol_names_and_numbers(p1: httpx.Client, protocol: Any, stored: Any) -> None:
    group = sg_create(p1, name="proto")
    assert rule_create(p1, group["id"], protocol=protocol)["protocol"] == stored


@pytest.mark.parametrize("protocol", [
    "icmpv6", "ipv6-icmp", "ipv6-encap", "ipv6-frag", "ipv6-nonxt", "ipv6-opts",
    "ipv6-route"])
def test_ipv6_only_protocols_need_ipv6(p1: httpx.Client, protocol: str) -> None:
    group = sg_create(p1, name="v6")
    assert_error(rule_post(p1, group["id"], protocol=protocol), 400,
                 "SecurityGroupEthertypeConflictWithProtocol")
    assert rule_create(p1, group["id"], protocol=protocol,
                       ethertype="IPv6")["protocol"] == protocol


@pytest.mark.parametrize("attrs, status, error", [
    ({"protocol": "bogus"}, 400, "SecurityGroupRuleInvalidProtocol"),
    ({"protocol": 256}, 400, "SecurityGroupRuleInvalidProtocol"),
    ({"protocol": -1}, 400, "SecurityGroupRuleInvalidProtocol"),
    ({"direction": "sideways"}, 400, "InvalidInput"),
    ({"ethertype": "IPv5"}, 400, "SecurityGroupRuleInvalidEtherType"),
    ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 10}, 400,
     "SecurityGroupInvalidPortValue"),
    ({"protocol": "udp", "port_range_min": 5, "port_range_max": 0}, 400,
     "SecurityGroupInvalidPortValue"),
    ({"protocol": "tcp", "port_range_min": 1, "port_range_max": 65536}, 400,
     "SecurityGroupInvalidPortValue"),
    ({"protocol": "tcp", "port_range_min": 90, "port_range_max": 80}, 400,
     "SecurityGroupInvalidPortRange"),
    ({"protocol": "tcp", "port_range_min": 90}, 400, "SecurityGroupInvalidPortRange"),
    ({"port_range_min": 80, "port_range_max": 80}, 400,
     "SecurityGroupProtocolRequiredWithPorts"),
    ({"protocol": "gre", "port_range_min": 80, "port_range_max": 80}, 400,
     "SecurityGroupInvalidProtocolForPortRange"),
    ({"protocol": "icmp", "port_range_min": 256}, 400, "SecurityGroupInvalidIcmpValue"),
    ({"protocol": "icmp", "port_range_min": 8, "port_range_max": 300}, 400,
     "SecurityGroupInvalidIcmpValue"),
    ({"protocol": "icmp", "port_range_max": 0}, 400, "SecurityGroupMissingIcmpType"),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "PLACEHOLDER"}, 400,
     "SecurityGroupRemoteGroupAndRemoteIpPrefix"),
    ({"remote_ip_prefix": "2001:db8::/64"}, 400, "SecurityGroupRuleParameterConflict"),
    ({"remote_ip_prefix": "10.0.0.0/8", "ethertype": "IPv6"}, 400,
     "SecurityGroupRuleParameterConflict"),
    ({"remote_ip_prefix": "not-a-cidr"}, 400, "InvalidInput"),
    ({"remote_group_id": "00000000-0000-0000-0000-000000000000"}, 404,
     "SecurityGroupNotFound"),
])
def test_invalid_rules_get_neutrons_errors(p1: httpx.Client, attrs: dict[str, Any],
                                           status: int, error: str) -> None:
    group = sg_create(p1, name="bad")
    attrs = {k: group["id"] if v == "PLACEHOLDER" else v for k, v in attrs.items()}
    assert_error(rule_post(p1, group["id"], **attrs), status, error)
    assert len(sg_show(p1, group["id"])["security_group_rules"]) == 2  # nothing added


def test_icmp_type_and_code(p1: httpx.Client) -> None:
    group = sg_create(p1, name="icmp")
    rule = rule_create(p1, group["id"], protocol="icmp", port_range_min=8, port_range_max=0)
    assert (rule["port_range_min"], rule["port_range_max"]) == (8, 0)
    assert rule_create(p1, group["id"], protocol="icmp", port_range_min=3)[
        "port_range_max"] is None


def test_duplicates_are_refused_whatever_their_spelling(p1: httpx.Client) -> None:
    group = sg_create(p1, name="dup")
    first = rule_create(p1, group["id"], protocol="tcp", port_range_min=22,
                        port_range_max=22, remote_ip_prefix="10.0.0.0/24")
    error = assert_error(rule_post(p1, group["id"], protocol="6", port_range_min=22,
                                   port_range_max=22, remote_ip_prefix="10.0.0.7/24",
                                   description="other"), 409, "SecurityGroupRuleExists")
    assert error["message"] == (
        f"Security group rule already exists. Rule id is {first['id']}.")
    whole = rule_create(p1, group["id"], protocol="udp")
    error = assert_error(rule_post(p1, group["id"], protocol="udp", port_range_min=1,
                                   port_range_max=65535), 409, "SecurityGroupRuleExists")
    assert whole["id"] in error["message"]
    egress = [r for r in group["security_group_rules"] if r["ethertype"] == "IPv4"][0]
    assert_error(rule_post(p1, group["id"], direction="egress",
                           remote_ip_prefix="0.0.0.0/0"), 409, "SecurityGroupRuleExists")
    assert egress["remote_ip_prefix"] is None


def test_bulk_rules_are_created_all_or_none(p1: httpx.Client) -> None:
    group = sg_create(p1, name="bulk")
    body = [{"security_group_id": group["id"], "direction": "ingress", "protocol": "tcp",
             "port_range_min": p, "port_range_max": p} for p in (80, 443)]
    made = ok(p1.post("/v2.0/security-group-rules", json={"security_group_rules": body}),
              201)["security_group_rules"]
    assert sorted(r["port_range_min"] for r in made) == [80, 443]
    again = [{**body[0], "port_range_min": 8080, "port_range_max": 8080}, body[1]]
    assert_error(p1.post("/v2.0/security-group-rules", json={"security_group_rules": again}),
                 409, "SecurityGroupRuleExists")
    twice = [{**body[0], "port_range_min": 9000, "port_range_max": 9000}] * 2
    assert_error(p1.post("/v2.0/security-group-rules", json={"security_group_rules": twice}),
                 409, "DuplicateSecurityGroupRuleInPost")
    ports = sorted(r["port_range_min"] for r in sg_show(p1, group["id"])[
        "security_group_rules"] if r["port_range_min"] is not None)
    assert ports == [80, 443]


def test_a_rule_cannot_name_another_projects_group_as_remote(
        p1: httpx.Client, p2: httpx.Client) -> None:
    mine, theirs = sg_create(p1, name="mine"), sg_create(p2, name="theirs")
    error = assert_error(rule_post(p1, mine["id"], remote_group_id=theirs["id"]), 404,
                         "SecurityGroupNotFound")
    assert theirs["id"] in error["message"]


# --- ports ------------------------------------------------------------------------------

def test_ports_get_the_default_group_except_network_devices(
        p1: httpx.Client, client: httpx.Client, net: dict[str, Any]) -> None:
    gid = default_group(p1)["id"]
    vm = port(p1, net["id"], device_owner="compute:nova")
    assert vm["security_groups"] == [gid]
    assert ok(p1.get(f"/v2.0/ports/{vm['id']}"))["port"]["security_groups"] == [gid]
    dhcp = port(client, net["id"], device_owner="network:dhcp",
                project_id=p1.headers["X-Project-Id"])
    assert dhcp["security_groups"] == []


def test_the_first_port_of_a_project_creates_its_default_group(
        client: httpx.Client, unique: str) -> None:
    project = f"fresh-{unique}"
    net = network(client, project_id=project)
    subnet(client, net["id"], "10.91.0.0/24", project_id=project)
    made = port(client, net["id"], project_id=project)
    listed = ok(client.get("/v2.0/security-groups", params={"project_id": project}))
    assert [g["name"] for g in listed["security_groups"]] == ["default"]
    assert made["security_groups"] == [listed["security_groups"][0]["id"]]


def test_port_groups_must_belong_to_the_ports_project(
        p1: httpx.Client, p2: httpx.Client, net: dict[str, Any]) -> None:
    theirs = sg_create(p2, name="theirs")
    error = assert_error(p1.post("/v2.0/ports", json={"port": {
        "network_id": net["id"], "security_groups": [theirs["id"]]}}), 404,
        "SecurityGroupNotFound")
    assert theirs["id"] in error["message"]
    made = port(p1, net["id"])
    assert_error(p1.put(f"/v2.0/ports/{made['id']}", json={"port": {
        "security_groups": [theirs["id"]]}}), 404, "SecurityGroupNotFound")
    assert_error(p1.post("/v2.0/ports", json={"port": {
        "network_id": net["id"], "security_groups": ["not-a-uuid"]}}), 400)


def test_port_security_disabled_means_no_groups(p1: httpx.Client,
                                                net: dict[str, Any]) -> None:
    group = sg_create(p1, name="psec")
    bare = port(p1, net["id"], port_security_enabled=False)
    assert bare["security_groups"] == []
    assert_error(p1.post("/v2.0/ports", json={"port": {
        "network_id": net["id"], "port_security_enabled": False,
        "security_groups": [group["id"]]}}), 400,
        "PortSecurityAndIPRequiredForSecurityGroups")
    filtered = port(p1, net["id"])
    assert_error(p1.put(f"/v2.0/ports/{filtered['id']}", json={"port": {
        "port_security_enabled": False}}), 409, "PortSecurityPortHasSecurityGroup")
    changed = ok(p1.put(f"/v2.0/ports/{filtered['id']}", json={"port": {
        "port_security_enabled": False, "security_groups": []}}))["port"]
    assert (changed["port_security_enabled"], changed["security_groups"]) == (False, [])
    assert_error(p1.put(f"/v2.0/ports/{bare['id']}", json={"port": {
        "security_groups": [group["id"]]}}), 400,
        "PortSecurityAndIPRequiredForSecurityGroups")


def test_changing_a_ports_groups_bumps_it_and_lists_filter_on_them(
        p1: httpx.Client, net: dict[str, Any]) -> None:
    a, b = sg_create(p1, name="a"), sg_create(p1, name="b")
    made = port(p1, net["id"], security_groups=[a["id"]])
    changed = ok(p1.put(f"/v2.0/ports/{made['id']}", json={"port": {
        "security_groups": [b["id"], a["id"]]}}))["port"]
    assert changed["security_groups"] == sorted([a["id"], b["id"]])
    assert changed["revision_number"] > made["revision_number"]
    other = port(p1, net["id"], security_groups=[a["id"]])
    in_b = ok(p1.get("/v2.0/ports", params={"security_groups": b["id"]}))["ports"]
    assert [p["id"] for p in in_b] == [made["id"]]
    in_a = ok(p1.get("/v2.0/ports", params={"security_groups": a["id"]}))["ports"]
    assert {p["id"] for p in in_a} == {made["id"], other["id"]}
    cleared = ok(p1.put(f"/v2.0/ports/{made['id']}", json={"port": {
        "security_groups": None}}))["port"]
    assert cleared["security_groups"] == []
    ok(p1.delete(f"/v2.0/security-groups/{b['id']}"), 204)


def test_extensions_are_listed(client: httpx.Client) -> None:
    aliases = {e["alias"] for e in ok(client.get("/v2.0/extensions"))["extensions"]}
    assert {"security-group", "port-security", "stateful-security-group",
            "security-groups-rules-belongs-to-default-sg"} <= aliases
    assert "security-groups-remote-address-group" not in aliases


# --- events -----------------------------------------------------------------------------

def test_changes_are_published_in_and_after_the_transaction(
        sqlite_server: Any) -> None:
    seen: list[tuple[str, str, bool]] = []

    def record(resource: str, event: str, ctx: Any, current: dict[str, Any],
               original: Any, **details: Any) -> None:
        seen.append((resource, event, "session" in details))

    events = sqlite_server.plugin.events
    for resource in ("security_group", "security_group_rule"):
        for event in ("precommit_create", "after_create", "precommit_update",
                      "after_update", "precommit_delete", "after_delete"):
            events.subscribe(resource, event, record)
    with sqlite_server.http(project="events") as http:
        group = sg_create(http, name="e")
        seen.clear()  # the default group is made directly, without events
        rule = rule_create(http, group["id"], protocol="tcp")
        ok(http.put(f"/v2.0/security-groups/{group['id']}", json={
            "security_group": {"name": "f"}}))
        ok(http.delete(f"/v2.0/security-group-rules/{rule['id']}"), 204)
        ok(http.delete(f"/v2.0/security-groups/{group['id']}"), 204)
    assert seen == [
        ("security_group_rule", "precommit_create", True),
        ("security_group_rule", "after_create", False),
        ("security_group", "precommit_update", True),
        ("security_group", "after_update", False),
        ("security_group_rule", "precommit_delete", True),
        ("security_group_rule", "after_delete", False),
        ("security_group", "precommit_delete", True),
        ("security_group", "after_delete", False),
    ]


def test_a_precommit_refusal_rolls_the_change_back(sqlite_server: Any) -> None:
    from neutrino import exceptions as exc

    def refuse(resource: str, event: str, ctx: Any, current: dict[str, Any],
               *args: Any, **kwargs: Any) -> None:
        if current["name"] == "nope":  # the project's default group may be made
            raise exc.Conflict(msg="journal says no")

    sqlite_server.plugin.events.subscribe("security_group", "precommit_create", refuse)
    with sqlite_server.http(project="refused") as http:
        assert_error(http.post("/v2.0/security-groups", json={"security_group": {
            "name": "nope"}}), 409)
        assert [g["name"] for g in groups(http)] == ["default"]


def test_the_first_network_of_a_project_creates_its_default_group(
        client: httpx.Client, unique: str) -> None:
    project = f"netfirst-{unique}"
    # read as the admin with a filter: a project's own GET would make the group itself
    assert ok(client.get("/v2.0/security-groups", params={"project_id": project}))[
        "security_groups"] == []
    network(client, project_id=project)
    listed = ok(client.get("/v2.0/security-groups", params={"project_id": project}))
    assert [g["name"] for g in listed["security_groups"]] == ["default"]
    network(client, project_id=project)
    again = ok(client.get("/v2.0/security-groups", params={"project_id": project}))
    assert [g["id"] for g in again["security_groups"]] == \
        [g["id"] for g in listed["security_groups"]]
