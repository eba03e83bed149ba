"""Quotas through the API, as Neutron answers them, and enforcement on every resource.

``/v2.0/quotas`` (list, show, update, delete, ``default``, ``details``), validation
and policy; creates refused with Neutron's 409 OverQuota body once a project is at
its limit, bulks counted whole, system-made ports not refused but counted, −1 and
the null driver unlimited.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.unit.api.helpers import assert_error, ok

PROJECT = "proj-quota"
# ``subnetpool`` as Neutron's ML2 tracks it: no option of its own, so default_quota (-1).
RESOURCES = {"network", "subnet", "port", "security_group", "security_group_rule",
             "subnetpool"}
DEFAULTS = {"network": 100, "subnet": 100, "port": 500, "security_group": 10,
            "subnetpool": -1,
            "security_group_rule": 100}
OVER_PORT = {"NeutronError": {"type": "OverQuota",
                              "message": "Quota exceeded for resources: ['port'].",
                              "detail": ""}}


@pytest.fixture
def server(make_server: Any) -> Any:
    return make_server({})


def set_quota(admin: httpx.Client, project: str, **limits: int) -> dict[str, Any]:
    return ok(admin.put(f"/v2.0/quotas/{project}", json={"quota": limits}))["quota"]


def details(client: httpx.Client, project: str) -> dict[str, Any]:
    return ok(client.get(f"/v2.0/quotas/{project}/details"))["quota"]


def project_ports(admin: httpx.Client, project: str) -> list[dict[str, Any]]:
    return ok(admin.get("/v2.0/ports", params={"project_id": project}))["ports"]


def make_network(client: httpx.Client) -> str:
    return str(ok(client.post("/v2.0/networks", json={"network": {}}), 201)["network"]["id"])


# --- the API --------------------------------------------------------------------------

def test_show_and_default_are_the_configured_limits(make_server: Any) -> None:
    server = make_server({"quotas": {"quota_port": 7, "quota_network": -1}})
    with server.http() as admin:
        expected = {**DEFAULTS, "port": 7, "network": -1}
        assert ok(admin.get(f"/v2.0/quotas/{PROJECT}")) == {"quota": expected}
        assert ok(admin.get(f"/v2.0/quotas/{PROJECT}/default")) == {"quota": expected}
        assert ok(admin.get("/v2.0/quotas")) == {"quotas": []}
        aliases = {e["alias"] for e in ok(admin.get("/v2.0/extensions"))["extensions"]}
        assert {"quotas", "quota_details"} <= aliases


def test_update_lists_the_project_and_delete_resets_it(server: Any) -> None:
    with server.http() as admin:
        assert set_quota(admin, PROJECT, port=20, network=3) == {
            **DEFAULTS, "port": 20, "network": 3}
        assert set_quota(admin, PROJECT, port=21)["port"] == 21  # idempotent rows
        assert ok(admin.get("/v2.0/quotas")) == {"quotas": [{
            **DEFAULTS, "port": 21, "network": 3, "project_id": PROJECT,
            "tenant_id": PROJECT}]}
        # The default view ignores the project's own limits.
        assert ok(admin.get(f"/v2.0/quotas/{PROJECT}/default"))["quota"] == DEFAULTS
        resp = admin.delete(f"/v2.0/quotas/{PROJECT}")
        assert resp.status_code == 204 and not resp.content
        assert ok(admin.get(f"/v2.0/quotas/{PROJECT}"))["quota"] == DEFAULTS
        assert ok(admin.get("/v2.0/quotas")) == {"quotas": []}


@pytest.mark.parametrize(("body", "type_"), [
    ({"quota": {"port": -2}}, "InvalidInput"),
    ({"quota": {"port": "many"}}, "InvalidInput"),
    ({"quota": {"port": 2**31}}, "InvalidInput"),
    ({"quota": {"port": True}}, "InvalidInput"),
    ({"quota": {"volumes": 3}}, "HTTPBadRequest"),
    ({"port": 3}, "HTTPBadRequest"),
])
def test_bad_updates_are_400(server: Any, body: dict[str, Any], type_: str) -> None:
    with server.http() as admin:
        error = assert_error(admin.put(f"/v2.0/quotas/{PROJECT}", json=body), 400, type_)
        assert ok(admin.get(f"/v2.0/quotas/{PROJECT}"))["quota"] == DEFAULTS
    if type_ == "InvalidInput":
        assert "Invalid input for port" in error["message"]


def test_a_project_reads_only_its_own_and_writes_nothing(server: Any) -> None:
    with server.http() as admin:
        set_quota(admin, PROJECT, port=5)
    with server.http(PROJECT) as member:
        assert ok(member.get(f"/v2.0/quotas/{PROJECT}"))["quota"]["port"] == 5
        assert details(member, PROJECT)["port"] == {"used": 0, "limit": 5, "reserved": 0}
        for resp in (member.get("/v2.0/quotas"), member.get("/v2.0/quotas/other"),
                     member.get("/v2.0/quotas/other/details"),
                     member.put(f"/v2.0/quotas/{PROJECT}", json={"quota": {"port": 50}}),
                     member.delete(f"/v2.0/quotas/{PROJECT}")):
            assert_error(resp, 403, "PolicyNotAuthorized")
    with server.http() as admin:
        assert ok(admin.get(f"/v2.0/quotas/{PROJECT}"))["quota"]["port"] == 5


# --- enforcement ---------------------------------------------------------------------

def test_ports_stop_at_the_limit_and_a_bulk_counts_whole(server: Any) -> None:
    with server.http() as admin:
        set_quota(admin, PROJECT, port=3)
    with server.http(PROJECT) as member:
        net = make_network(member)
        too_many = member.post("/v2.0/ports", json={"ports": [{"network_id": net}] * 4})
        assert too_many.status_code == 409 and too_many.json() == OVER_PORT
        with server.http() as admin:
            assert project_ports(admin, PROJECT) == []  # the bulk left nothing behind
        ok(member.post("/v2.0/ports", json={"ports": [{"network_id": net}] * 2}), 201)
        ok(member.post("/v2.0/ports", json={"port": {"network_id": net}}), 201)
        refused = member.post("/v2.0/ports", json={"port": {"network_id": net}})
        assert refused.status_code == 409 and refused.json() == OVER_PORT
        assert details(member, PROJECT)["port"] == {"used": 3, "limit": 3, "reserved": 0}
    with server.http() as admin:
        assert len(project_ports(admin, PROJECT)) == 3
        # An admin creating for the project is held to the project's quota too.
        resp = admin.post("/v2.0/ports", json={"port": {"network_id": net,
                                                        "project_id": PROJECT}})
        assert resp.status_code == 409 and resp.json() == OVER_PORT
        set_quota(admin, PROJECT, port=4)
    with server.http(PROJECT) as member:
        ok(member.post("/v2.0/ports", json={"port": {"network_id": net}}), 201)


def test_deleting_frees_quota(server: Any) -> None:
    with server.http() as admin:
        set_quota(admin, PROJECT, port=1)
    with server.http(PROJECT) as member:
        net = make_network(member)
        first = ok(member.post("/v2.0/ports", json={"port": {"network_id": net}}), 201)
        assert_error(member.post("/v2.0/ports", json={"port": {"network_id": net}}), 409,
                     "OverQuota")
        assert member.delete(f"/v2.0/ports/{first['port']['id']}").status_code == 204
        ok(member.post("/v2.0/ports", json={"port": {"network_id": net}}), 201)


@pytest.mark.parametrize("resource", ["network", "subnet", "security_group",
                                      "security_group_rule"])
def test_every_tracked_resource_is_enforced(server: Any, resource: str) -> None:
    with server.http(PROJECT) as member:
        net = make_network(member)
        group = ok(member.post("/v2.0/security-groups", json={"security_group": {
            "name": "web"}}), 201)["security_group"]
        used = details(member, PROJECT)[resource]["used"]
    with server.http() as admin:
        set_quota(admin, PROJECT, **{resource: used + 1})
    cidrs = iter(["10.1.0.0/24", "10.2.0.0/24"])
    ports = iter([80, 443])
    bodies = {
        "network": lambda: ("/v2.0/networks", {"network": {}}),
        "subnet": lambda: ("/v2.0/subnets", {"subnet": {
            "network_id": net, "cidr": next(cidrs), "ip_version": 4}}),
        "security_group": lambda: ("/v2.0/security-groups", {"security_group": {
            "name": "db"}}),
        "security_group_rule": lambda: ("/v2.0/security-group-rules", {
            "security_group_rule": {"security_group_id": group["id"], "direction": "ingress",
                                    "protocol": "tcp", "port_range_min": next(ports),
                                    "port_range_max": 443}}),
    }
    with server.http(PROJECT) as member:
        url, body = bodies[resource]()
        ok(member.post(url, json=body), 201)
        url, body = bodies[resource]()
        error = assert_error(member.post(url, json=body), 409, "OverQuota")
        assert error["message"] == f"Quota exceeded for resources: ['{resource}']."
        assert details(member, PROJECT)[resource]["used"] == used + 1


def test_system_ports_are_not_refused_but_count(server: Any) -> None:
    with server.http() as admin:
        set_quota(admin, PROJECT, port=1)
    with server.http(PROJECT) as member:
        net = make_network(member)
        ok(member.post("/v2.0/ports", json={"port": {"network_id": net}}), 201)
    with server.http() as admin:
        # A DHCP port is made for the project by the system: never refused, as in Neutron.
        ok(admin.post("/v2.0/ports", json={"port": {
            "network_id": net, "project_id": PROJECT, "device_owner": "network:dhcp"}}), 201)
        assert details(admin, PROJECT)["port"]["used"] == 2


def test_minus_one_and_the_null_driver_are_unlimited(make_server: Any) -> None:
    for overrides, project_limit in (
            ({"quotas": {"quota_network": 1}}, -1),
            ({"quotas": {"quota_network": 1, "quota_driver":
                         "neutron.db.quota.driver_null.DbQuotaDriverNull"}}, None)):
        server = make_server(overrides)
        if project_limit is not None:
            with server.http() as admin:
                set_quota(admin, PROJECT, network=project_limit)
        with server.http(PROJECT) as member:
            for _ in range(3):
                make_network(member)
            assert details(member, PROJECT)["network"]["used"] == 3


def test_another_project_is_not_limited_by_this_one(server: Any) -> None:
    with server.http() as admin:
        set_quota(admin, PROJECT, network=0)
    with server.http(PROJECT) as member:
        assert_error(member.post("/v2.0/networks", json={"network": {}}), 409, "OverQuota")
    with server.http("someone-else") as other:
        make_network(other)
