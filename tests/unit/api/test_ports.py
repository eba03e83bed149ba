"""Ports through the API: attributes, CRUD, bulk, address pairs, DHCP options, binding."""

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

PORT_KEYS = {
    "id", "name", "description", "project_id", "tenant_id", "created_at", "updated_at",
    "revision_number", "tags", "network_id", "admin_state_up", "mac_address", "fixed_ips",
    "device_id", "device_owner", "status", "port_security_enabled",
    "allowed_address_pairs", "extra_dhcp_opts", "security_groups", "binding:host_id",
    "binding:vif_type", "binding:vif_details", "binding:vnic_type", "binding:profile",
}
MAC = re.compile(r"^fa:16:3e(:[0-9a-f]{2}){3}$")


def post(client, **attrs):
    return client.post("/v2.0/ports", json={"port": attrs})


def test_create_shows_every_attribute(client):
    net = network(client)
    subnet(client, net["id"], "10.80.0.0/24")
    p = port(client, net["id"], name="p", device_id="vm-1", device_owner="compute:nova")
    assert set(p) == PORT_KEYS
    assert MAC.match(p["mac_address"])
    assert (p["status"], p["admin_state_up"], p["port_security_enabled"]) == (
        "DOWN", True, True)
    assert (p["allowed_address_pairs"], p["extra_dhcp_opts"]) == ([], [])
    assert len(p["security_groups"]) == 1  # the project's default group
    assert (p["binding:host_id"], p["binding:vif_type"], p["binding:vnic_type"]) == (
        "", "unbound", "normal")
    assert (p["binding:vif_details"], p["binding:profile"]) == ({}, {})
    assert (p["device_id"], p["device_owner"]) == ("vm-1", "compute:nova")
    assert show(client, "ports", p["id"]) == p


def test_port_security_follows_the_network(client):
    net = network(client, port_security_enabled=False)
    assert port(client, net["id"])["port_security_enabled"] is False
    assert port(client, net["id"], port_security_enabled=True)["port_security_enabled"]


def test_sdk_port_roundtrip(sdk, unique):
    net = sdk.network.create_network(name=f"p-{unique}")
    sdk.network.create_subnet(network_id=net.id, cidr="10.81.0.0/24", ip_version=4)
    p = sdk.network.create_port(network_id=net.id, name=f"p-{unique}",
                                binding_host_id="host-a", binding_vnic_type="direct")
    assert (p.binding_host_id, p.binding_vnic_type) == ("host-a", "direct")
    p = sdk.network.update_port(p, name=f"q-{unique}", device_id="vm")
    assert (p.name, p.device_id) == (f"q-{unique}", "vm")
    assert [x.id for x in sdk.network.ports(network_id=net.id)] == [p.id]
    sdk.network.delete_port(p)
    assert sdk.network.find_port(p.id) is None
    sdk.network.delete_network(net)


def test_update_writable_attributes(client):
    net = network(client)
    p = port(client, net["id"])
    got = update(client, "ports", p["id"], name="n", description="d", admin_state_up=False,
                 device_id="dev", device_owner="compute:az1", mac_address="fa:16:3e:aa:bb:cc",
                 **{"binding:vnic_type": "macvtap", "binding:profile": {"k": "v"}})
    assert (got["name"], got["description"], got["admin_state_up"]) == ("n", "d", False)
    assert (got["device_id"], got["device_owner"]) == ("dev", "compute:az1")
    assert got["mac_address"] == "fa:16:3e:aa:bb:cc"
    assert (got["binding:vnic_type"], got["binding:profile"]) == ("macvtap", {"k": "v"})
    assert got["revision_number"] > p["revision_number"]


def test_delete_port_then_404(client):
    p = port(client, network(client)["id"])
    ok(client.delete(f"/v2.0/ports/{p['id']}"), 204)
    assert_error(client.get(f"/v2.0/ports/{p['id']}"), 404, "PortNotFound")
    assert_error(client.delete(f"/v2.0/ports/{p['id']}"), 404, "PortNotFound")


def test_unknown_network_is_404(client):
    resp = post(client, network_id="6d2f8a0e-1111-2222-3333-444444444444")
    assert_error(resp, 404, "NetworkNotFound")


def test_bulk_create_with_tags(client, unique):
    net = network(client)
    subnet(client, net["id"], "10.82.0.0/24")
    resp = client.post("/v2.0/ports", json={"ports": [
        {"network_id": net["id"], "name": f"a-{unique}", "tags": ["red", "blue"]},
        {"network_id": net["id"], "name": f"b-{unique}"}]})
    made = ok(resp, 201)["ports"]
    assert [p["name"] for p in made] == [f"a-{unique}", f"b-{unique}"]
    assert made[0]["tags"] == ["blue", "red"] and made[1]["tags"] == []
    assert len({p["fixed_ips"][0]["ip_address"] for p in made}) == 2


def test_bulk_create_is_atomic(client, unique):
    net = network(client)
    sub = subnet(client, net["id"], "10.83.0.0/24")
    fixed = [{"subnet_id": sub["id"], "ip_address": "10.83.0.9"}]
    resp = client.post("/v2.0/ports", json={"ports": [
        {"network_id": net["id"], "name": f"bulk-{unique}", "fixed_ips": fixed},
        {"network_id": net["id"], "name": f"bulk-{unique}", "fixed_ips": fixed}]})
    assert_error(resp, 409, "IpAddressAlreadyAllocated")
    assert listing(client, "ports", {"name": f"bulk-{unique}"}) == []
    assert port(client, net["id"], fixed_ips=fixed)["fixed_ips"] == fixed


def test_allowed_address_pairs(client):
    net = network(client)
    subnet(client, net["id"], "10.84.0.0/24")
    pairs = [{"ip_address": "10.84.0.200"},
             {"ip_address": "10.84.1.0/24", "mac_address": "fa:16:3e:84:00:01"}]
    p = port(client, net["id"], allowed_address_pairs=pairs)
    got = sorted(p["allowed_address_pairs"], key=lambda x: x["ip_address"])
    assert got == [{"ip_address": "10.84.0.200", "mac_address": p["mac_address"]},
                   {"ip_address": "10.84.1.0/24", "mac_address": "fa:16:3e:84:00:01"}]
    assert update(client, "ports", p["id"], allowed_address_pairs=[])[
        "allowed_address_pairs"] == []


def test_address_pairs_need_port_security(client):
    net = network(client)
    resp = post(client, network_id=net["id"], port_security_enabled=False,
                allowed_address_pairs=[{"ip_address": "10.85.0.5"}])
    assert_error(resp, 409)
    p = port(client, net["id"], allowed_address_pairs=[{"ip_address": "10.85.0.5"}])
    resp = client.put(f"/v2.0/ports/{p['id']}",
                      json={"port": {"port_security_enabled": False}})
    assert_error(resp, 409)


def test_extra_dhcp_opts_merge_by_name(client):
    net = network(client)
    p = port(client, net["id"], extra_dhcp_opts=[
        {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
        {"opt_name": "tftp-server", "opt_value": "10.0.0.1"}])
    assert len(p["extra_dhcp_opts"]) == 2
    got = update(client, "ports", p["id"], extra_dhcp_opts=[
        {"opt_name": "bootfile-name", "opt_value": "ipxe.efi"},
        {"opt_name": "tftp-server", "opt_value": None}])
    assert got["extra_dhcp_opts"] == [
        {"opt_name": "bootfile-name", "opt_value": "ipxe.efi", "ip_version": 4}]


def test_filters_on_port_attributes(client, unique):
    net = network(client)
    sub = subnet(client, net["id"], "10.86.0.0/24")
    a = port(client, net["id"], device_id=f"vm-{unique}", fixed_ips=[
        {"ip_address": "10.86.0.10"}], **{"binding:host_id": f"h-{unique}"})
    b = port(client, net["id"], device_id=f"vm-{unique}", device_owner="compute:x")
    assert sorted(ids(listing(client, "ports", {"device_id": f"vm-{unique}"}))) == sorted(
        [a["id"], b["id"]])
    assert ids(listing(client, "ports", {"fixed_ips": "ip_address=10.86.0.10"})) == [a["id"]]
    assert ids(listing(client, "ports", [("fixed_ips", f"subnet_id={sub['id']}"),
                                         ("device_owner", "compute:x")])) == [b["id"]]
    assert ids(listing(client, "ports", {"binding:host_id": f"h-{unique}"})) == [a["id"]]
    assert ids(listing(client, "ports", {"mac_address": b["mac_address"].upper()})) == [
        b["id"]]


def test_sdk_fixed_ip_filter(sdk, client):
    net = network(client)
    subnet(client, net["id"], "10.87.0.0/24")
    p = port(client, net["id"], fixed_ips=[{"ip_address": "10.87.0.33"}])
    found = list(sdk.network.ports(fixed_ips=["ip_address=10.87.0.33"]))
    assert [x.id for x in found] == [p["id"]]
