"""Errors: every failure is a NeutronError with Neutron's status; bad input is never a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neutrino.api.errors import INTERNAL
from tests.unit.api.helpers import assert_error, network, port, subnet

MISSING = "6d2f8a0e-1111-2222-3333-444444444444"


# --- malformed requests ------------------------------------------------------------

@pytest.mark.parametrize("raw", [b"", b"{bad json", b"[]", b"null", b"42", b'"network"',
                                 b'{"network": null}', b'{"network": []}', b'{"networks": {}}',
                                 b'{"networks": []}', b'{"networks": [{"name": "a"}, 5]}',
                                 b'{"something": {}}', b"\xff\xfe"])
def test_malformed_post_bodies_are_400(client, raw):
    resp = client.post("/v2.0/networks", content=raw,
                       headers={"Content-Type": "application/json"})
    assert_error(resp, 400)


LIMIT = 114688  # [oslo_middleware] max_request_body_size, Neutron's default


def test_a_body_over_the_size_limit_is_413(client):
    body = json.dumps({"network": {"name": "big", "description": "x" * LIMIT}}).encode()
    error = assert_error(client.post("/v2.0/networks", content=body,
                                     headers={"Content-Type": "application/json"}),
                         413, "HTTPRequestEntityTooLarge")
    assert error["message"] == "Request is too large."
    # Without a Content-Length (chunked), the body is cut at the limit all the same.
    assert_error(client.post("/v2.0/networks", content=iter([body[:LIMIT // 2],
                                                             body[LIMIT // 2:]]),
                             headers={"Content-Type": "application/json"}), 413)
    assert not [n for n in client.get("/v2.0/networks", params={"name": "big"}).json()[
        "networks"]]
    # A small chunked body is read like any other.
    small = json.dumps({"network": {"name": "chunked"}}).encode()
    resp = client.post("/v2.0/networks", content=iter([small[:10], small[10:]]),
                       headers={"Content-Type": "application/json"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["network"]["name"] == "chunked"
    # A bulk create just under the limit goes through.
    many = json.dumps({"networks": [{"name": f"bulk-{i}"} for i in range(40)]}).encode()
    assert len(many) < LIMIT
    assert client.post("/v2.0/networks", content=many,
                       headers={"Content-Type": "application/json"}).status_code == 201


@pytest.mark.parametrize("raw", [b"", b"{", b'{"network": "x"}', b'{"port": {}}'])
def test_malformed_put_bodies_are_400(client, raw):
    net = network(client)
    assert_error(client.put(f"/v2.0/networks/{net['id']}", content=raw), 400)


def test_content_type_is_ignored(client):
    resp = client.post("/v2.0/networks", content=json.dumps({"network": {"name": "ct"}}),
                       headers={"Content-Type": "text/plain"})
    assert resp.status_code == 201


# --- attribute checks ---------------------------------------------------------------

@pytest.mark.parametrize("attrs", [
    {"bogus": 1}, {"id": "6d2f8a0e-1111-2222-3333-444444444444"}, {"status": "DOWN"},
    {"subnets": []}, {"revision_number": 3}, {"created_at": "2020-01-01T00:00:00Z"},
    {"tags": ["a"]},
])
def test_unknown_or_read_only_attributes_on_create_are_400(client, attrs):
    assert_error(client.post("/v2.0/networks", json={"network": attrs}), 400, "HTTPBadRequest")


@pytest.mark.parametrize("attrs", [{"bogus": 1}, {"id": MISSING}, {"status": "DOWN"},
                                   {"project_id": "other"}, {"tenant_id": "other"},
                                   {"updated_at": "x"}])
def test_unknown_or_read_only_attributes_on_update_are_400(client, attrs):
    net = network(client)
    resp = client.put(f"/v2.0/networks/{net['id']}", json={"network": attrs})
    assert_error(resp, 400, "HTTPBadRequest")


@pytest.mark.parametrize("attrs", [
    {"name": 5}, {"name": None}, {"name": "x" * 256}, {"description": ["a"]},
    {"admin_state_up": "maybe"}, {"admin_state_up": None}, {"shared": 2},
    {"mtu": "big"}, {"mtu": 67}, {"mtu": 70000}, {"mtu": True},
    {"port_security_enabled": "perhaps"}, {"router:external": []},
    {"provider:network_type": 7}, {"provider:segmentation_id": "seven"},
    {"provider:segmentation_id": True}, {"segments": "vlan"}, {"segments": [5]},
    {"segments": [{"provider:network_type": "vlan", "unknown": 1}]},
    {"project_id": 5},
])
def test_wrong_types_on_networks_are_400(client, attrs):
    assert_error(client.post("/v2.0/networks", json={"network": attrs}), 400)


@pytest.mark.parametrize("attrs", [
    {"network_id": 5}, {"network_id": "not-a-uuid"}, {"mac_address": "zz:zz"},
    {"mac_address": "00:00:00:00:00:00"}, {"mac_address": "ff:ff:ff:ff:ff:ff"},
    {"mac_address": 5}, {"fixed_ips": {"ip_address": "10.0.0.1"}}, {"fixed_ips": ["x"]},
    {"fixed_ips": [{"ip_address": "300.0.0.1"}]}, {"fixed_ips": [{"subnet_id": "x"}]},
    {"fixed_ips": [{"bogus": 1}]}, {"fixed_ips": [{}]},
    {"allowed_address_pairs": [{"mac_address": "fa:16:3e:00:00:01"}]},
    {"allowed_address_pairs": [{"ip_address": "nope"}]}, {"allowed_address_pairs": "x"},
    {"extra_dhcp_opts": [{"opt_value": "x"}]}, {"extra_dhcp_opts": [5]},
    {"binding:vnic_type": "warp"}, {"binding:profile": "x"}, {"binding:host_id": 5},
    {"device_id": None}, {"device_owner": 5}, {"binding:vif_type": "ovs"},
    {"status": "ACTIVE"}, {"security_groups": ["x"]}, {"tags": "x"}, {"tags": [5]},
])
def test_wrong_types_on_ports_are_400(client, attrs):
    net = network(client)
    subnet(client, net["id"], "10.100.0.0/24")
    body = {"network_id": net["id"], **attrs}
    assert_error(client.post("/v2.0/ports", json={"port": body}), 400)


# --- the status codes of item 4 -------------------------------------------------------

@pytest.mark.parametrize("collection,type_", [("networks", "NetworkNotFound"),
                                              ("subnets", "SubnetNotFound"),
                                              ("ports", "PortNotFound")])
def test_missing_resources_are_404(client, collection, type_):
    member = collection[:-1]
    assert_error(client.get(f"/v2.0/{collection}/{MISSING}"), 404, type_)
    assert_error(client.put(f"/v2.0/{collection}/{MISSING}", json={member: {"name": "x"}}),
                 404, type_)
    assert_error(client.delete(f"/v2.0/{collection}/{MISSING}"), 404, type_)


def test_unknown_paths_and_methods(client):
    assert_error(client.get("/v2.0/widgets"), 404)
    assert_error(client.get("/v3/networks"), 404)
    assert_error(client.patch("/v2.0/networks"), 405)
    assert_error(client.delete("/v2.0/networks"), 405)
    assert_error(client.post(f"/v2.0/networks/{MISSING}", json={}), 405)


def test_conflicts_are_409(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.101.0.0/30")
    p = port(client, net["id"])
    assert_error(client.delete(f"/v2.0/networks/{net['id']}"), 409, "NetworkInUse")
    assert_error(client.delete(f"/v2.0/subnets/{sub['id']}"), 409, "SubnetInUse")
    resp = client.post("/v2.0/ports", json={"port": {"network_id": net["id"],
                                                     "mac_address": p["mac_address"]}})
    assert_error(resp, 409, "MacAddressInUse")
    resp = client.post("/v2.0/ports", json={"port": {"network_id": net["id"], "fixed_ips": [
        {"ip_address": p["fixed_ips"][0]["ip_address"]}]}})
    assert_error(resp, 409, "IpAddressAlreadyAllocated")
    resp = client.post("/v2.0/ports", json={"port": {"network_id": net["id"]}})
    error = assert_error(resp, 409, "IpAddressGenerationFailure")
    assert error["message"] == f"No more IP addresses available on network {net['id']}."


def test_messages_follow_neutron(client):
    error = assert_error(client.get(f"/v2.0/networks/{MISSING}"), 404)
    assert error["message"] == f"Network {MISSING} could not be found."
    net = network(client)
    resp = client.post("/v2.0/subnets", json={"subnet": {
        "network_id": net["id"], "cidr": "10.102.0.1/24", "ip_version": 4}})
    assert assert_error(resp, 400, "InvalidInput")["message"].startswith(
        "Invalid input for operation: ")


def test_an_unexpected_failure_is_a_500_without_details(sqlite_server, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(sqlite_server.plugin, "get_networks", explode)
    with sqlite_server.http() as http:
        resp = http.get("/v2.0/networks")
    error = assert_error(resp, 500)
    assert error["message"] == INTERNAL
    assert "secret" not in resp.text


def test_bulk_disabled_is_400(make_server):
    server = make_server({"DEFAULT": {"allow_bulk": False}})
    with server.http() as http:
        resp = http.post("/v2.0/networks", json={"networks": [{"name": "a"}]})
        assert_error(resp, 400)
        assert http.post("/v2.0/networks", json={"network": {"name": "a"}}).status_code == 201


# --- fuzz: nothing a client sends makes a 500 --------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=20), inner,
                                                                 max_size=3),
    max_leaves=8)
ADDRESS = st.sampled_from(["10.110.0.5", "10.110.0.0", "10.110.1.1", "fd00::1", "x",
                           "10.110.0.255", "10.110.0.1", ""])
FIXED_IP = st.fixed_dictionaries({}, optional={"ip_address": ADDRESS | JSON,
                                               "subnet_id": st.just("SUBNET") | JSON})
NETWORK_ATTRS = {
    "name": JSON, "admin_state_up": JSON, "shared": JSON, "mtu": JSON,
    "router:external": JSON, "port_security_enabled": JSON, "description": JSON,
    "provider:network_type": st.sampled_from(["vlan", "vxlan", "gre", "geneve", "flat",
                                              "local", "bogus"]) | JSON,
    "provider:physical_network": st.sampled_from(["physnet1", "physnet2", "flat1",
                                                  "nope"]) | JSON,
    "provider:segmentation_id": st.integers(-5, 2**33) | JSON,
    "segments": st.lists(st.fixed_dictionaries({}, optional={
        "provider:network_type": st.sampled_from(["vlan", "vxlan", "gre"]),
        "provider:segmentation_id": st.integers(-5, 5000) | JSON,
        "provider:physical_network": st.sampled_from(["physnet1", "nope"]) | JSON}),
        max_size=3) | JSON,
}
SUBNET_ATTRS = {
    "cidr": st.sampled_from(["10.110.0.0/24", "10.110.0.0/31", "10.110.0.0/32",
                             "fd00:110::/64", "fd00:110::/127", "0.0.0.0/0", "bogus"]) | JSON,
    "ip_version": st.sampled_from([4, 6]) | JSON,
    "gateway_ip": ADDRESS | JSON,
    "allocation_pools": st.lists(st.fixed_dictionaries({"start": ADDRESS, "end": ADDRESS}),
                                 max_size=2) | JSON,
    "dns_nameservers": st.lists(ADDRESS, max_size=3) | JSON,
    "host_routes": st.lists(st.fixed_dictionaries({"destination": ADDRESS | st.just(
        "0.0.0.0/0"), "nexthop": ADDRESS}), max_size=2) | JSON,
    "enable_dhcp": JSON,
    "ipv6_ra_mode": st.sampled_from(["slaac", "dhcpv6-stateful", "dhcpv6-stateless"]) | JSON,
    "ipv6_address_mode": st.sampled_from(["slaac", "dhcpv6-stateful"]) | JSON,
    "name": JSON,
}
PORT_ATTRS = {
    "fixed_ips": st.lists(FIXED_IP, max_size=3) | JSON,
    "mac_address": st.sampled_from(["fa:16:3e:00:00:01", "FA:16:3E:00:00:02", "x"]) | JSON,
    "allowed_address_pairs": st.lists(st.fixed_dictionaries(
        {"ip_address": ADDRESS}, optional={"mac_address": JSON}), max_size=2) | JSON,
    "extra_dhcp_opts": st.lists(st.fixed_dictionaries(
        {"opt_name": JSON, "opt_value": JSON}), max_size=2) | JSON,
    "binding:host_id": JSON, "binding:profile": JSON, "binding:vnic_type": JSON,
    "device_owner": st.sampled_from(["network:dhcp", "network:router_interface",
                                     "compute:nova"]) | JSON,
    "device_id": JSON, "port_security_enabled": JSON, "tags": JSON, "name": JSON,
}
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def bodies(attrs):
    return st.fixed_dictionaries({}, optional=attrs)


def _replace(value, placeholder, real):
    if value == placeholder:
        return real
    if isinstance(value, list):
        return [_replace(v, placeholder, real) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, placeholder, real) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def fuzz_net(api_server):
    with api_server.http() as http:
        net = network(http)
        sub = subnet(http, net["id"], "10.110.0.0/24")
        return net, sub


@FUZZ
@given(body=bodies(NETWORK_ATTRS))
def test_fuzz_network_create(client, body):
    resp = client.post("/v2.0/networks", json={"network": body})
    assert resp.status_code < 500, resp.text
    if resp.status_code == 201:
        client.delete(f"/v2.0/networks/{resp.json()['network']['id']}")


@FUZZ
@given(body=bodies(SUBNET_ATTRS))
def test_fuzz_subnet_create(client, fuzz_net, body):
    net = network(client)
    resp = client.post("/v2.0/subnets", json={"subnet": {"network_id": net["id"], **body}})
    assert resp.status_code < 500, resp.text
    client.delete(f"/v2.0/networks/{net['id']}")


@FUZZ
@given(body=bodies(PORT_ATTRS), update=bodies(PORT_ATTRS))
def test_fuzz_port_create_and_update(client, fuzz_net, body, update):
    net, sub = fuzz_net
    body = _replace(body, "SUBNET", sub["id"])
    resp = client.post("/v2.0/ports", json={"port": {"network_id": net["id"], **body}})
    assert resp.status_code < 500, resp.text
    if resp.status_code != 201:
        return
    pid = resp.json()["port"]["id"]
    update = {k: v for k, v in _replace(update, "SUBNET", sub["id"]).items() if k != "tags"}
    resp = client.put(f"/v2.0/ports/{pid}", json={"port": update})
    assert resp.status_code < 500, resp.text
    client.delete(f"/v2.0/ports/{pid}")


@FUZZ
@given(query=st.lists(st.tuples(
    st.sampled_from(["name", "id", "shared", "mtu", "limit", "marker", "sort_key", "sort_dir",
                     "page_reverse", "fields", "tags", "not-tags-any", "bogus",
                     "provider:segmentation_id", "subnets", "revision_number", "status"]),
    st.text(max_size=40)), max_size=4))
def test_fuzz_list_queries(client, query):
    resp = client.get("/v2.0/networks", params=query)
    assert resp.status_code < 500, resp.text


@pytest.mark.parametrize("name", ["nul\x00byte", "nul\x00", "emoji \U0001f680 ok", "ünïcödé",
                                  "x" * 255])
def test_awkward_strings_never_500(client, name):
    resp = client.post("/v2.0/networks", json={"network": {"name": name}})
    assert resp.status_code in (201, 400), resp.text
    if resp.status_code == 201:
        assert resp.json()["network"]["name"] == name
        assert client.get("/v2.0/networks", params={"name": name}).json()["networks"]


def test_nul_in_path_or_query_is_400(client):
    net = network(client)
    for path in ("/v2.0/networks/a%00b", "/v2.0/networks?name=a%00b",
                 f"/v2.0/networks/{net['id']}/tags/a%00b",
                 "/v2.0/ports?fixed_ips=ip_address%3D%00"):
        assert_error(client.get(path), 400)
    assert_error(client.put(f"/v2.0/networks/{net['id']}/tags/a%00b"), 400)
    resp = client.put(f"/v2.0/networks/{net['id']}/tags", json={"tags": ["a\x00"]})
    assert_error(resp, 400)


@pytest.mark.parametrize("segid", [2**31 - 1, 2**31, 2**32 - 1, 2**32])
def test_large_gre_ids_never_500(client, backend, segid):
    """GRE keys are 32-bit unsigned: every backend stores up to 2**32-1."""
    resp = client.post("/v2.0/networks", json={"network": {
        "provider:network_type": "gre", "provider:segmentation_id": segid}})
    assert resp.status_code == (201 if segid < 2**32 else 400), resp.text
    if resp.status_code == 201:
        assert resp.json()["network"]["provider:segmentation_id"] == segid
        client.delete(f"/v2.0/networks/{resp.json()['network']['id']}")


@pytest.mark.parametrize("query", ["mtu=9223372036854775808",
                                   "revision_number=-99999999999999999999",
                                   "limit=99999999999999999999", "ip_version=1e3"])
def test_out_of_range_numbers_in_queries_never_500(client, query):
    collection = "subnets" if query.startswith("ip_version") else "networks"
    resp = client.get(f"/v2.0/{collection}?{query}")
    assert resp.status_code in (200, 400), resp.text
