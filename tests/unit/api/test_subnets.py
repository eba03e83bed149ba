"""Subnets through the API: defaults, validation, overlap, lists, update and delete."""

from __future__ import annotations

import pytest

from tests.unit.api.helpers import (
    assert_error,
    network,
    ok,
    port,
    show,
    subnet,
    update,
)

SUBNET_KEYS = {
    "id", "name", "description", "project_id", "tenant_id", "created_at", "updated_at",
    "revision_number", "tags", "network_id", "ip_version", "cidr", "gateway_ip",
    "allocation_pools", "dns_nameservers", "host_routes", "enable_dhcp", "ipv6_ra_mode",
    "ipv6_address_mode", "subnetpool_id", "segment_id",
}


def post(client, **attrs):
    return client.post("/v2.0/subnets", json={"subnet": attrs})


def test_ipv4_defaults_like_neutron(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.30.0.0/24")
    assert set(sub) == SUBNET_KEYS
    assert sub["gateway_ip"] == "10.30.0.1"
    assert sub["allocation_pools"] == [{"start": "10.30.0.2", "end": "10.30.0.254"}]
    assert (sub["enable_dhcp"], sub["dns_nameservers"], sub["host_routes"]) == (True, [], [])
    assert sub["ipv6_ra_mode"] is None and sub["ipv6_address_mode"] is None
    assert sub["project_id"] == sub["tenant_id"]
    assert show(client, "subnets", sub["id"]) == sub


def test_ipv6_defaults_like_neutron(client):
    net = network(client)
    sub = subnet(client, net["id"], "2001:db8:30::/64")
    assert sub["gateway_ip"] == "2001:db8:30::1"
    assert sub["allocation_pools"] == [
        {"start": "2001:db8:30::2", "end": "2001:db8:30:0:ffff:ffff:ffff:ffff"}]


def test_no_gateway_gives_the_whole_range(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.31.0.0/24", gateway_ip=None)
    assert sub["gateway_ip"] is None
    assert sub["allocation_pools"] == [{"start": "10.31.0.1", "end": "10.31.0.254"}]


def test_gateway_inside_splits_the_default_pool(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.32.0.0/24", gateway_ip="10.32.0.100")
    assert sub["allocation_pools"] == [{"start": "10.32.0.1", "end": "10.32.0.99"},
                                       {"start": "10.32.0.101", "end": "10.32.0.254"}]


def test_gateway_outside_the_subnet_is_allowed_like_neutron(client):
    # Neutron cannot check an off-subnet gateway, so it accepts it.
    net = network(client)
    sub = subnet(client, net["id"], "10.33.0.0/24", gateway_ip="10.99.0.1")
    assert sub["gateway_ip"] == "10.99.0.1"
    assert sub["allocation_pools"] == [{"start": "10.33.0.1", "end": "10.33.0.254"}]


@pytest.mark.parametrize("gateway", ["10.34.0.0", "10.34.0.255", "fd00::1", "nonsense"])
def test_bad_gateway_is_400(client, gateway):
    net = network(client)
    assert_error(post(client, network_id=net["id"], cidr="10.34.0.0/24", ip_version=4,
                      gateway_ip=gateway), 400)


@pytest.mark.parametrize("cidr,version", [
    ("10.35.0.1/24", 4), ("10.35.0.0/33", 4), ("300.1.1.0/24", 4), ("banana", 4),
    ("10.35.0.0/24", 6), ("fd00:35::/64", 4), ("10.35.0.0", 4), (24, 4), ("10.35.0.0/24", 5),
])
def test_bad_cidr_or_version_is_400(client, cidr, version):
    net = network(client)
    assert_error(post(client, network_id=net["id"], cidr=cidr, ip_version=version), 400)


def test_missing_required_attributes_are_400(client):
    net = network(client)
    assert_error(post(client, network_id=net["id"], ip_version=4), 400)
    assert_error(post(client, cidr="10.36.0.0/24", ip_version=4), 400)


def test_unknown_network_is_404(client):
    resp = post(client, network_id="6d2f8a0e-1111-2222-3333-444444444444",
                cidr="10.37.0.0/24", ip_version=4)
    assert_error(resp, 404, "NetworkNotFound")


def test_overlapping_subnets_on_one_network_are_400(client):
    net = network(client)
    subnet(client, net["id"], "10.38.0.0/24")
    for cidr in ("10.38.0.0/24", "10.38.0.128/25", "10.38.0.0/16"):
        assert_error(post(client, network_id=net["id"], cidr=cidr, ip_version=4),
                     400, "InvalidInput")
    other = network(client)
    assert subnet(client, other["id"], "10.38.0.0/24")["cidr"] == "10.38.0.0/24"


def test_dns_and_host_routes_are_kept_in_order(client):
    net = network(client)
    routes = [{"destination": "192.168.0.0/16", "nexthop": "10.39.0.5"}]
    sub = subnet(client, net["id"], "10.39.0.0/24",
                 dns_nameservers=["8.8.8.8", "1.1.1.1"], host_routes=routes)
    assert sub["dns_nameservers"] == ["8.8.8.8", "1.1.1.1"]
    assert sub["host_routes"] == routes
    got = update(client, "subnets", sub["id"], dns_nameservers=["9.9.9.9"], host_routes=[])
    assert (got["dns_nameservers"], got["host_routes"]) == (["9.9.9.9"], [])


@pytest.mark.parametrize("attrs", [
    {"dns_nameservers": ["not-an-ip"]},
    {"dns_nameservers": ["8.8.8.8", "8.8.8.8"]},
    {"dns_nameservers": [f"8.8.8.{i}" for i in range(6)]},
    {"host_routes": [{"destination": "1.2.3.0/24"}]},
    {"host_routes": [{"destination": "1.2.3.0/24", "nexthop": "fe80::1"}]},
    {"host_routes": [{"destination": "1.2.3.0/24", "nexthop": "10.40.0.1", "x": 1}]},
    {"ipv6_address_mode": "slaac"},
    {"enable_dhcp": "sometimes"},
])
def test_bad_subnet_attributes_are_400(client, attrs):
    net = network(client)
    assert_error(post(client, network_id=net["id"], cidr="10.40.0.0/24", ip_version=4,
                      **attrs), 400)


def test_ipv6_modes_must_agree(client):
    net = network(client)
    resp = post(client, network_id=net["id"], cidr="fd00:41::/64", ip_version=6,
                ipv6_ra_mode="slaac", ipv6_address_mode="dhcpv6-stateful")
    assert_error(resp, 400)
    sub = subnet(client, net["id"], "fd00:41::/64", ipv6_ra_mode="dhcpv6-stateful",
                 ipv6_address_mode="dhcpv6-stateful")
    assert sub["ipv6_ra_mode"] == sub["ipv6_address_mode"] == "dhcpv6-stateful"


def test_update_name_gateway_and_dhcp(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.42.0.0/24",
                 allocation_pools=[{"start": "10.42.0.10", "end": "10.42.0.20"}])
    got = update(client, "subnets", sub["id"], name="renamed", gateway_ip="10.42.0.254",
                 enable_dhcp=False)
    assert (got["name"], got["gateway_ip"], got["enable_dhcp"]) == (
        "renamed", "10.42.0.254", False)
    assert got["revision_number"] == sub["revision_number"] + 1
    assert update(client, "subnets", sub["id"], gateway_ip=None)["gateway_ip"] is None


def test_gateway_update_into_a_pool_is_409(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.43.0.0/24")
    resp = client.put(f"/v2.0/subnets/{sub['id']}",
                      json={"subnet": {"gateway_ip": "10.43.0.50"}})
    assert_error(resp, 409, "GatewayConflictWithAllocationPools")


@pytest.mark.parametrize("attrs", [{"cidr": "10.44.1.0/24"}, {"ip_version": 4},
                                   {"network_id": "6d2f8a0e-1111-2222-3333-444444444444"},
                                   {"ipv6_address_mode": "slaac"}])
def test_immutable_attributes_are_400_on_update(client, attrs):
    net = network(client)
    sub = subnet(client, net["id"], "10.44.0.0/24")
    assert_error(client.put(f"/v2.0/subnets/{sub['id']}", json={"subnet": attrs}), 400)


def test_delete_subnet_in_use_is_409(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.45.0.0/24")
    p = port(client, net["id"])
    assert_error(client.delete(f"/v2.0/subnets/{sub['id']}"), 409, "SubnetInUse")
    ok(client.delete(f"/v2.0/ports/{p['id']}"), 204)
    ok(client.delete(f"/v2.0/subnets/{sub['id']}"), 204)
    assert_error(client.get(f"/v2.0/subnets/{sub['id']}"), 404, "SubnetNotFound")
    assert show(client, "networks", net["id"])["subnets"] == []


def test_delete_subnet_with_only_a_dhcp_port_frees_its_address(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.46.0.0/24")
    dhcp = port(client, net["id"], device_owner="network:dhcp")
    ok(client.delete(f"/v2.0/subnets/{sub['id']}"), 204)
    assert show(client, "ports", dhcp["id"])["fixed_ips"] == []


def test_sdk_subnet_roundtrip(sdk, unique):
    net = sdk.network.create_network(name=f"s-{unique}")
    sub = sdk.network.create_subnet(network_id=net.id, cidr="10.47.0.0/24", ip_version=4,
                                    name=f"s-{unique}", dns_nameservers=["8.8.4.4"])
    assert sub.gateway_ip == "10.47.0.1" and sub.dns_nameservers == ["8.8.4.4"]
    sub = sdk.network.update_subnet(sub, name=f"t-{unique}")
    assert [s.id for s in sdk.network.subnets(network_id=net.id)] == [sub.id]
    sdk.network.delete_subnet(sub)
    sdk.network.delete_network(net)


def test_bulk_subnets_are_atomic(client):
    net = network(client)
    resp = client.post("/v2.0/subnets", json={"subnets": [
        {"network_id": net["id"], "cidr": "10.48.0.0/24", "ip_version": 4},
        {"network_id": net["id"], "cidr": "10.48.0.0/25", "ip_version": 4}]})
    assert_error(resp, 400)
    assert show(client, "networks", net["id"])["subnets"] == []
