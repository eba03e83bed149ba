"""IPAM through the API: pools, fixed IPs, conflicts, exhaustion, IPv6 modes, updates."""

from __future__ import annotations

import netaddr
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


def post_port(client, net_id, **attrs):
    return client.post("/v2.0/ports", json={"port": {"network_id": net_id, **attrs}})


def post_subnet(client, net_id, cidr, **attrs):
    return client.post("/v2.0/subnets", json={"subnet": {
        "network_id": net_id, "cidr": cidr, "ip_version": 6 if ":" in cidr else 4, **attrs}})


def ips(p):
    return [f["ip_address"] for f in p["fixed_ips"]]


def in_pools(ip, pools):
    return any(netaddr.IPAddress(ip) in netaddr.IPRange(p["start"], p["end"]) for p in pools)


# --- allocation pools ---------------------------------------------------------------

def test_explicit_pools_are_kept_and_used(client):
    net = network(client)
    pools = [{"start": "10.50.0.10", "end": "10.50.0.11"},
             {"start": "10.50.0.100", "end": "10.50.0.100"}]
    sub = subnet(client, net["id"], "10.50.0.0/24", allocation_pools=pools)
    assert sub["allocation_pools"] == pools
    got = sorted(ips(port(client, net["id"]))[0] for _ in range(3))
    assert got == ["10.50.0.10", "10.50.0.100", "10.50.0.11"]


@pytest.mark.parametrize("pools,status,type_", [
    ([{"start": "10.51.0.10", "end": "10.51.1.10"}], 400, "OutOfBoundsAllocationPool"),
    ([{"start": "10.51.0.0", "end": "10.51.0.10"}], 400, "OutOfBoundsAllocationPool"),
    ([{"start": "10.51.0.200", "end": "10.51.0.255"}], 400, "OutOfBoundsAllocationPool"),
    ([{"start": "10.51.0.20", "end": "10.51.0.10"}], 400, "InvalidAllocationPool"),
    ([{"start": "fd00::2", "end": "fd00::9"}], 400, "InvalidAllocationPool"),
    ([{"start": "10.51.0.10", "end": "10.51.0.20"},
      {"start": "10.51.0.15", "end": "10.51.0.30"}], 409, "OverlappingAllocationPools"),
    ([{"start": "10.51.0.1", "end": "10.51.0.20"}], 409,
     "GatewayConflictWithAllocationPools"),
    ([{"start": "10.51.0.10"}], 400, "InvalidInput"),
    ([{"start": "10.51.0.10", "end": "nope"}], 400, "InvalidInput"),
    ("10.51.0.10-10.51.0.20", 400, "InvalidInput"),
])
def test_bad_pools(client, pools, status, type_):
    net = network(client)
    assert_error(post_subnet(client, net["id"], "10.51.0.0/24", allocation_pools=pools),
                 status, type_)


def test_update_pools_keeps_existing_addresses(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.52.0.0/24",
                 allocation_pools=[{"start": "10.52.0.10", "end": "10.52.0.10"}])
    first = port(client, net["id"])
    assert ips(first) == ["10.52.0.10"]
    assert_error(post_port(client, net["id"]), 409, "IpAddressGenerationFailure")
    pools = [{"start": "10.52.0.20", "end": "10.52.0.21"}]
    assert update(client, "subnets", sub["id"], allocation_pools=pools)[
        "allocation_pools"] == pools
    assert ips(show(client, "ports", first["id"])) == ["10.52.0.10"]
    assert ips(port(client, net["id"]))[0] in ("10.52.0.20", "10.52.0.21")
    resp = client.put(f"/v2.0/subnets/{sub['id']}", json={"subnet": {
        "allocation_pools": [{"start": "10.52.1.1", "end": "10.52.1.2"}]}})
    assert_error(resp, 400, "OutOfBoundsAllocationPool")


# --- fixed IPs ----------------------------------------------------------------------

def test_default_port_takes_one_ip_from_the_pools(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.53.0.0/24")
    p = port(client, net["id"])
    assert len(p["fixed_ips"]) == 1 and p["fixed_ips"][0]["subnet_id"] == sub["id"]
    assert in_pools(ips(p)[0], sub["allocation_pools"])


def test_fixed_ip_by_subnet_id(client):
    net = network(client)
    subnet(client, net["id"], "10.54.0.0/24")
    second = subnet(client, net["id"], "10.54.1.0/24")
    p = port(client, net["id"], fixed_ips=[{"subnet_id": second["id"]}])
    assert [f["subnet_id"] for f in p["fixed_ips"]] == [second["id"]]
    assert in_pools(ips(p)[0], second["allocation_pools"])


def test_fixed_ip_by_address_only_finds_its_subnet(client):
    net = network(client)
    subnet(client, net["id"], "10.55.0.0/24")
    second = subnet(client, net["id"], "10.55.1.0/24")
    p = port(client, net["id"], fixed_ips=[{"ip_address": "10.55.1.77"}])
    assert p["fixed_ips"] == [{"subnet_id": second["id"], "ip_address": "10.55.1.77"}]


def test_fixed_ip_by_subnet_and_address_outside_the_pool(client):
    # A fixed IP may be outside the allocation pools, as long as it is in the subnet.
    net = network(client)
    sub = subnet(client, net["id"], "10.56.0.0/24",
                 allocation_pools=[{"start": "10.56.0.10", "end": "10.56.0.20"}])
    p = port(client, net["id"], fixed_ips=[{"subnet_id": sub["id"],
                                             "ip_address": "10.56.0.200"}])
    assert ips(p) == ["10.56.0.200"]


def test_several_fixed_ips(client):
    net = network(client)
    a = subnet(client, net["id"], "10.57.0.0/24")
    b = subnet(client, net["id"], "10.57.1.0/24")
    p = port(client, net["id"], fixed_ips=[
        {"subnet_id": a["id"], "ip_address": "10.57.0.5"}, {"subnet_id": a["id"]},
        {"subnet_id": b["id"]}])
    assert len(p["fixed_ips"]) == 3
    assert "10.57.0.5" in ips(p)


@pytest.mark.parametrize("fixed", [
    [{"subnet_id": "SUB", "ip_address": "10.58.1.5"}],
    [{"subnet_id": "SUB", "ip_address": "10.58.0.0"}],
    [{"subnet_id": "SUB", "ip_address": "10.58.0.255"}],
    [{"subnet_id": "SUB", "ip_address": "fd00::5"}],
])
def test_ip_outside_its_subnet_is_400(client, fixed):
    net = network(client)
    sub = subnet(client, net["id"], "10.58.0.0/24")
    fixed = [{**f, "subnet_id": sub["id"]} for f in fixed]
    assert_error(post_port(client, net["id"], fixed_ips=fixed), 400, "InvalidIpForSubnet")


def test_ip_on_no_subnet_of_the_network_is_400(client):
    net = network(client)
    subnet(client, net["id"], "10.59.0.0/24")
    resp = post_port(client, net["id"], fixed_ips=[{"ip_address": "10.59.9.9"}])
    assert_error(resp, 400, "InvalidIpForNetwork")


def test_subnet_of_another_network_is_400(client):
    net, other = network(client), network(client)
    subnet(client, net["id"], "10.60.0.0/24")
    foreign = subnet(client, other["id"], "10.60.1.0/24")
    resp = post_port(client, net["id"], fixed_ips=[{"subnet_id": foreign["id"]}])
    assert_error(resp, 400, "InvalidInput")


def test_ip_in_use_is_409(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.61.0.0/24")
    fixed = [{"subnet_id": sub["id"], "ip_address": "10.61.0.9"}]
    port(client, net["id"], fixed_ips=fixed)
    # Neutron 29: another port's address is IpAddressAlreadyAllocated, naming the subnet
    error = assert_error(post_port(client, net["id"], fixed_ips=fixed), 409,
                         "IpAddressAlreadyAllocated")
    assert error["message"] == f"IP address 10.61.0.9 already allocated in subnet {sub['id']}"
    # the gateway's address is IpAddressInUse
    assert_error(post_port(client, net["id"], fixed_ips=[{"ip_address": "10.61.0.1"}]),
                 409, "IpAddressInUse")


def test_mac_in_use_is_409(client):
    net = network(client)
    subnet(client, net["id"], "10.62.0.0/24")
    p = port(client, net["id"], mac_address="FA:16:3E:00:62:01")
    assert p["mac_address"] == "fa:16:3e:00:62:01"
    assert_error(post_port(client, net["id"], mac_address="fa:16:3e:00:62:01"),
                 409, "MacAddressInUse")
    other = port(client, net["id"])
    resp = client.put(f"/v2.0/ports/{other['id']}",
                      json={"port": {"mac_address": "fa:16:3e:00:62:01"}})
    assert_error(resp, 409, "MacAddressInUse")
    assert port(client, network(client)["id"], mac_address="fa:16:3e:00:62:01")


def test_no_more_ips_is_409(client):
    net = network(client)
    subnet(client, net["id"], "10.63.0.0/29")
    got = {ips(port(client, net["id"]))[0] for _ in range(5)}
    assert got == {f"10.63.0.{i}" for i in range(2, 7)}
    assert_error(post_port(client, net["id"]), 409, "IpAddressGenerationFailure")


def test_deleted_port_frees_its_ip(client):
    net = network(client)
    subnet(client, net["id"], "10.64.0.0/30")
    p = port(client, net["id"])
    assert_error(post_port(client, net["id"]), 409, "IpAddressGenerationFailure")
    ok(client.delete(f"/v2.0/ports/{p['id']}"), 204)
    assert ips(port(client, net["id"])) == ips(p)


def test_port_on_a_network_without_subnets_has_no_ip(client):
    assert port(client, network(client)["id"])["fixed_ips"] == []


# --- IPv6 ----------------------------------------------------------------------------

def eui64(cidr, mac):
    return str(netaddr.EUI(mac).ipv6(netaddr.IPNetwork(cidr).network))


@pytest.mark.parametrize("mode", ["slaac", "dhcpv6-stateless"])
def test_slaac_address_is_derived_from_the_mac(client, mode):
    net = network(client)
    v4 = subnet(client, net["id"], "10.65.0.0/24")
    v6 = subnet(client, net["id"], "2001:db8:65::/64", ipv6_ra_mode=mode,
                ipv6_address_mode=mode)
    p = port(client, net["id"], mac_address="fa:16:3e:65:00:01")
    by_subnet = {f["subnet_id"]: f["ip_address"] for f in p["fixed_ips"]}
    assert by_subnet[v6["id"]] == "2001:db8:65:0:f816:3eff:fe65:1"
    assert by_subnet[v6["id"]] == eui64("2001:db8:65::/64", "fa:16:3e:65:00:01")
    assert v4["id"] in by_subnet


def test_slaac_refuses_another_address(client):
    net = network(client)
    v6 = subnet(client, net["id"], "2001:db8:66::/64", ipv6_address_mode="slaac")
    resp = post_port(client, net["id"], fixed_ips=[{"subnet_id": v6["id"],
                                                    "ip_address": "2001:db8:66::5"}])
    assert_error(resp, 400)


def test_new_slaac_subnet_gives_existing_ports_an_address(client):
    net = network(client)
    subnet(client, net["id"], "10.67.0.0/24")
    p = port(client, net["id"])
    v6 = subnet(client, net["id"], "2001:db8:67::/64", ipv6_address_mode="slaac")
    got = {f["subnet_id"]: f["ip_address"] for f in show(client, "ports", p["id"])["fixed_ips"]}
    assert got[v6["id"]] == eui64(v6["cidr"], p["mac_address"])


def test_dhcpv6_stateful_allocates_from_the_pools(client):
    net = network(client)
    v6 = subnet(client, net["id"], "2001:db8:68::/120", ipv6_ra_mode="dhcpv6-stateful",
                ipv6_address_mode="dhcpv6-stateful",
                allocation_pools=[{"start": "2001:db8:68::10", "end": "2001:db8:68::11"}])
    got = {ips(port(client, net["id"]))[0] for _ in range(2)}
    assert got == {"2001:db8:68::10", "2001:db8:68::11"}
    assert_error(post_port(client, net["id"]), 409, "IpAddressGenerationFailure")
    assert v6["gateway_ip"] == "2001:db8:68::1"


def test_one_ipv4_and_one_ipv6_by_default(client):
    net = network(client)
    v4 = {subnet(client, net["id"], cidr)["id"] for cidr in ("10.69.0.0/24", "10.69.1.0/24")}
    v6 = subnet(client, net["id"], "2001:db8:69::/64")
    p = port(client, net["id"])
    got = [f["subnet_id"] for f in p["fixed_ips"]]
    assert len(got) == 2 and got[0] in v4 and got[1] == v6["id"]


# --- updating a port's fixed IPs ------------------------------------------------------

def test_update_fixed_ips_keeps_replaces_adds_and_removes(client):
    net = network(client)
    a = subnet(client, net["id"], "10.70.0.0/24")
    b = subnet(client, net["id"], "10.70.1.0/24")
    p = port(client, net["id"], fixed_ips=[{"subnet_id": a["id"], "ip_address": "10.70.0.5"}])

    same = update(client, "ports", p["id"], fixed_ips=[{"subnet_id": a["id"]}])
    assert ips(same) == ["10.70.0.5"]
    same = update(client, "ports", p["id"], fixed_ips=[{"ip_address": "10.70.0.5"}])
    assert ips(same) == ["10.70.0.5"]

    added = update(client, "ports", p["id"], fixed_ips=[{"ip_address": "10.70.0.5"},
                                                         {"subnet_id": b["id"]}])
    assert len(added["fixed_ips"]) == 2 and "10.70.0.5" in ips(added)

    replaced = update(client, "ports", p["id"], fixed_ips=[
        {"subnet_id": a["id"], "ip_address": "10.70.0.6"}])
    assert replaced["fixed_ips"] == [{"subnet_id": a["id"], "ip_address": "10.70.0.6"}]
    # The old address is free again.
    assert ips(port(client, net["id"], fixed_ips=[{"ip_address": "10.70.0.5"}])) == [
        "10.70.0.5"]

    assert update(client, "ports", p["id"], fixed_ips=[])["fixed_ips"] == []


def test_update_to_an_ip_in_use_is_409_and_changes_nothing(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.71.0.0/24")
    port(client, net["id"], fixed_ips=[{"ip_address": "10.71.0.9"}])
    p = port(client, net["id"], fixed_ips=[{"ip_address": "10.71.0.10"}])
    resp = client.put(f"/v2.0/ports/{p['id']}", json={"port": {
        "fixed_ips": [{"subnet_id": sub["id"], "ip_address": "10.71.0.9"}]}})
    assert_error(resp, 409, "IpAddressAlreadyAllocated")
    assert ips(show(client, "ports", p["id"])) == ["10.71.0.10"]


def test_update_keeps_the_address_when_subnet_named_twice(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.72.0.0/24")
    p = port(client, net["id"], fixed_ips=[{"ip_address": "10.72.0.5"}])
    got = update(client, "ports", p["id"], fixed_ips=[
        {"subnet_id": sub["id"], "ip_address": "10.72.0.5"},
        {"subnet_id": sub["id"], "ip_address": "10.72.0.6"}])
    assert sorted(ips(got)) == ["10.72.0.5", "10.72.0.6"]


def test_filling_a_subnet_hands_out_every_pool_address_once(client):
    """A /25: sampled picks while sparse, the full scan as it fills, 409 when full."""
    net = network(client, name="fill")
    subnet = post_subnet(client, net["id"], "10.66.0.0/25").json()["subnet"]
    pool = subnet["allocation_pools"][0]
    resp = client.post("/v2.0/ports", json={"ports": [{"network_id": net["id"]}] * 100})
    assert resp.status_code == 201, resp.text
    got = [p["fixed_ips"][0]["ip_address"] for p in resp.json()["ports"]]
    while True:
        one = post_port(client, net["id"])
        if one.status_code != 201:
            break
        got.append(one.json()["port"]["fixed_ips"][0]["ip_address"])
    assert_error(one, 409, "IpAddressGenerationFailure")
    assert len(got) == len(set(got)) == 125
    assert all(in_pools(ip, [pool]) for ip in got)
