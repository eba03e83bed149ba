"""Networks through the API: attributes as Neutron shows them, CRUD, bulk, in-use checks."""

from __future__ import annotations

import re

from tests.unit.api.helpers import (
    assert_error,
    ids,
    listing,
    network,
    ok,
    port,
    show,
    subnet,
    update,
)

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
NETWORK_KEYS = {
    "id", "name", "description", "project_id", "tenant_id", "created_at", "updated_at",
    "revision_number", "tags", "admin_state_up", "status", "shared", "router:external",
    "mtu", "subnets", "port_security_enabled", "provider:network_type",
    "provider:physical_network", "provider:segmentation_id",
    "availability_zone_hints", "availability_zones",
    "is_default", "ipv4_address_scope", "ipv6_address_scope",
}


def test_create_shows_every_standard_attribute(client, unique):
    net = network(client, name=f"n-{unique}", description="d", project_id="p-a")
    assert set(net) == NETWORK_KEYS
    assert net["project_id"] == net["tenant_id"] == "p-a"
    assert TIMESTAMP.match(net["created_at"]) and TIMESTAMP.match(net["updated_at"])
    assert (net["revision_number"], net["tags"], net["subnets"]) == (0, [], [])
    assert (net["status"], net["admin_state_up"], net["shared"]) == ("ACTIVE", True, False)
    assert net["router:external"] is False and net["port_security_enabled"] is True
    assert net["provider:network_type"] == "vxlan" and net["mtu"] == 1450
    assert show(client, "networks", net["id"]) == net


def test_sdk_create_show_update_delete(sdk, unique):
    net = sdk.network.create_network(name=f"sdk-{unique}", admin_state_up=False)
    assert sdk.network.get_network(net.id).is_admin_state_up is False
    revision = net.revision_number
    updated = sdk.network.update_network(net, name=f"renamed-{unique}", mtu=1400)
    assert (updated.name, updated.mtu) == (f"renamed-{unique}", 1400)
    assert updated.revision_number == revision + 1
    assert net.id in [n.id for n in sdk.network.networks(name=f"renamed-{unique}")]
    sdk.network.delete_network(net)
    assert sdk.network.find_network(net.id) is None


def test_tenant_id_alone_sets_project_id(client):
    net = network(client, tenant_id="p-tenant")
    assert net["project_id"] == net["tenant_id"] == "p-tenant"


def test_project_and_tenant_must_match(client):
    resp = client.post("/v2.0/networks", json={"network": {"project_id": "a", "tenant_id": "b"}})
    assert_error(resp, 400)


def test_update_every_writable_attribute(client, unique):
    net = network(client)
    got = update(client, "networks", net["id"], name=f"x-{unique}", description="new",
                 admin_state_up=False, port_security_enabled=False, mtu=1300,
                 shared=True, **{"router:external": True})
    assert (got["name"], got["description"], got["mtu"]) == (f"x-{unique}", "new", 1300)
    assert got["admin_state_up"] is False and got["port_security_enabled"] is False
    assert got["shared"] is True and got["router:external"] is True
    assert got["revision_number"] == net["revision_number"] + 1
    assert show(client, "networks", net["id"]) == got


def test_mtu_above_the_segment_maximum_is_refused(client):
    net = network(client)
    assert_error(client.put(f"/v2.0/networks/{net['id']}", json={"network": {"mtu": 9000}}),
                 400, "InvalidInput")
    assert_error(client.post("/v2.0/networks", json={"network": {"mtu": 1451}}), 400)
    assert network(client, mtu=1450)["mtu"] == 1450


def test_provider_attributes_cannot_be_updated(client):
    net = network(client)
    for key, value in (("provider:network_type", "vlan"),
                       ("provider:segmentation_id", 1500)):
        resp = client.put(f"/v2.0/networks/{net['id']}", json={"network": {key: value}})
        assert_error(resp, 400)


def test_delete_then_404(client):
    net = network(client)
    assert client.delete(f"/v2.0/networks/{net['id']}").status_code == 204
    assert_error(client.get(f"/v2.0/networks/{net['id']}"), 404, "NetworkNotFound")
    assert_error(client.delete(f"/v2.0/networks/{net['id']}"), 404, "NetworkNotFound")
    assert_error(client.put(f"/v2.0/networks/{net['id']}", json={"network": {"name": "x"}}),
                 404, "NetworkNotFound")


def test_delete_with_a_port_is_409_network_in_use(client):
    net = network(client)
    subnet(client, net["id"], "10.20.0.0/24")
    p = port(client, net["id"])
    assert_error(client.delete(f"/v2.0/networks/{net['id']}"), 409, "NetworkInUse")
    ok(client.delete(f"/v2.0/ports/{p['id']}"), 204)
    ok(client.delete(f"/v2.0/networks/{net['id']}"), 204)


def test_delete_removes_dhcp_ports_and_subnets(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.21.0.0/24")
    dhcp = port(client, net["id"], device_owner="network:dhcp")
    ok(client.delete(f"/v2.0/networks/{net['id']}"), 204)
    assert_error(client.get(f"/v2.0/ports/{dhcp['id']}"), 404)
    assert_error(client.get(f"/v2.0/subnets/{sub['id']}"), 404)


def test_bulk_create_returns_all(client, unique):
    resp = client.post("/v2.0/networks", json={"networks": [
        {"name": f"b1-{unique}"}, {"name": f"b2-{unique}"}]})
    nets = ok(resp, 201)["networks"]
    assert [n["name"] for n in nets] == [f"b1-{unique}", f"b2-{unique}"]
    assert len({n["provider:segmentation_id"] for n in nets}) == 2


def test_bulk_create_is_atomic(client, unique):
    resp = client.post("/v2.0/networks", json={"networks": [
        {"name": f"atomic-{unique}"},
        {"name": f"atomic-{unique}", "provider:network_type": "vlan",
         "provider:physical_network": "unknown-physnet"}]})
    assert_error(resp, 400)
    assert listing(client, "networks", {"name": f"atomic-{unique}"}) == []


def test_unshare_refused_while_another_project_uses_it(client, api_server):
    net = network(client, shared=True, project_id="owner")
    subnet(client, net["id"], "10.22.0.0/24", project_id="owner")
    with api_server.http(project="other") as other:
        port(other, net["id"])
    resp = client.put(f"/v2.0/networks/{net['id']}", json={"network": {"shared": False}})
    assert_error(resp, 409, "InvalidSharedSetting")


def test_unshare_allowed_when_only_the_owner_uses_it(client):
    net = network(client, shared=True, project_id="owner")
    subnet(client, net["id"], "10.23.0.0/24", project_id="owner")
    port(client, net["id"], project_id="owner")
    assert update(client, "networks", net["id"], shared=False)["shared"] is False


def test_subnets_attribute_lists_the_network_subnets(client):
    net = network(client)
    a = subnet(client, net["id"], "10.24.0.0/24")
    b = subnet(client, net["id"], "fd00:24::/64")
    assert sorted(show(client, "networks", net["id"])["subnets"]) == sorted([a["id"], b["id"]])
    assert net["id"] in ids(listing(client, "networks", {"subnets": a["id"]}))


def test_json_suffix_and_trailing_slash(client):
    net = network(client)
    assert ok(client.get(f"/v2.0/networks/{net['id']}.json"))["network"]["id"] == net["id"]
    assert net["id"] in ids(ok(client.get("/v2.0/networks.json"))["networks"])
    assert net["id"] in ids(ok(client.get("/v2.0/networks/"))["networks"])


def test_version_documents(client):
    versions = ok(client.get("/"))["versions"]
    assert [v["id"] for v in versions] == ["v2.0"]
    assert versions[0]["status"] == "CURRENT"
    collections = {r["collection"] for r in ok(client.get("/v2.0"))["resources"]}
    assert {"networks", "subnets", "ports"} <= collections


def test_extensions_list_and_show(client):
    aliases = {e["alias"] for e in ok(client.get("/v2.0/extensions"))["extensions"]}
    assert {"provider", "multi-provider", "binding", "pagination", "sorting",
            "standard-attr-tag", "revision-if-match", "project-id", "net-mtu"} <= aliases
    assert "router" not in aliases
    ext = ok(client.get("/v2.0/extensions/provider"))["extension"]
    assert set(ext) == {"alias", "name", "description", "updated", "links"}
    assert_error(client.get("/v2.0/extensions/router"), 404, "ExtensionNotFound")


def test_sdk_sees_extensions(sdk):
    assert sdk.network.find_extension("binding") is not None
