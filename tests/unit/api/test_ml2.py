"""ML2 through the API: type drivers, segments, MTU, mechanism drivers and port binding."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from neutrino.db.models import Network, Port, Subnet
from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import start_api_server
from tests.unit.api.fakedrivers import BindingDriver
from tests.unit.api.helpers import assert_error, listing, network, ok, port, show, subnet

DRIVERS = ["logger", "tests.unit.api.fakedrivers:FailingDriver",
           "tests.unit.api.fakedrivers:BindingDriver"]


@pytest.fixture(scope="module")
def ml2_server(db_url):
    server = start_api_server(_merge(ML2_TEST_CONFIG, {
        "DEFAULT": {"auth_strategy": "noauth"}, "database": {"connection": db_url},
        "ml2": {"mechanism_drivers": DRIVERS}}))
    yield server
    server.stop()


@pytest.fixture
def http(ml2_server):
    with ml2_server.http() as client:
        yield client


def provider(network_type, physnet=None, segid=None):
    attrs = {"provider:network_type": network_type}
    if physnet is not None:
        attrs["provider:physical_network"] = physnet
    if segid is not None:
        attrs["provider:segmentation_id"] = segid
    return attrs


def post_network(client, **attrs):
    return client.post("/v2.0/networks", json={"network": attrs})


def segment_of(net):
    return (net["provider:network_type"], net["provider:physical_network"],
            net["provider:segmentation_id"])


# --- type drivers --------------------------------------------------------------------

def test_tenant_networks_use_the_first_type_then_fall_back(make_server):
    server = make_server({"ml2_type_vxlan": {"vni_ranges": ["5000:5001"]},
                          "ml2_type_vlan": {"network_vlan_ranges": ["physnet1:300:300"]}})
    with server.http() as client:
        got = [segment_of(network(client)) for _ in range(3)]
        assert got == [("vxlan", None, 5000), ("vxlan", None, 5001),
                       ("vlan", "physnet1", 300)]
        assert_error(post_network(client), 503, "NoNetworkAvailable")
        # A released segment is reusable.
        first = listing(client, "networks", {"provider:segmentation_id": "5000"})[0]
        ok(client.delete(f"/v2.0/networks/{first['id']}"), 204)
        assert segment_of(network(client)) == ("vxlan", None, 5000)


@pytest.mark.parametrize("attrs,segment", [
    (provider("vlan", "physnet1", 120), ("vlan", "physnet1", 120)),
    (provider("vlan", "physnet2", 4000), ("vlan", "physnet2", 4000)),
    (provider("flat", "flat2"), ("flat", "flat2", None)),
    (provider("vxlan", segid=1_500_000), ("vxlan", None, 1_500_000)),
    (provider("gre", segid=77), ("gre", None, 77)),
    (provider("geneve", segid=5000), ("geneve", None, 5000)),
    (provider("local"), ("local", None, None)),
])
def test_provider_networks(http, attrs, segment):
    net = network(http, **attrs)
    assert segment_of(net) == segment
    ok(http.delete(f"/v2.0/networks/{net['id']}"), 204)
    again = network(http, **attrs)
    assert segment_of(again) == segment
    ok(http.delete(f"/v2.0/networks/{again['id']}"), 204)


def test_partial_provider_segments_are_completed(http):
    vlan = network(http, **provider("vlan", "physnet1"))
    assert vlan["provider:physical_network"] == "physnet1"
    assert 100 <= vlan["provider:segmentation_id"] <= 199
    vxlan = network(http, **provider("vxlan"))
    assert 1001 <= vxlan["provider:segmentation_id"] <= 2000


@pytest.mark.parametrize("attrs", [
    provider("vlan", "nowhere", 100), provider("vlan", "physnet1", 0),
    provider("vlan", "physnet1", 4095), provider("flat", "nowhere"), provider("flat"),
    provider("flat", "flat1", 5), provider("vxlan", "physnet1", 5),
    provider("vxlan", segid=2**24), provider("geneve", segid=0), provider("gre", segid=-1),
    provider("local", "physnet1"), provider("local", segid=3), provider("bogus"),
    {"provider:segmentation_id": 5}, {"provider:physical_network": "physnet1"},
])
def test_bad_provider_segments_are_400(http, attrs):
    assert_error(post_network(http, **attrs), 400)


@pytest.mark.parametrize("attrs,type_", [
    (provider("vlan", "physnet1", 130), "VlanIdInUse"),
    (provider("flat", "flat1"), "FlatNetworkInUse"),
    (provider("vxlan", segid=1_600_000), "TunnelIdInUse"),
    (provider("gre", segid=900), "TunnelIdInUse"),
])
def test_taken_provider_segments_are_409(http, attrs, type_):
    net = network(http, **attrs)
    assert_error(post_network(http, **attrs), 409, type_)
    ok(http.delete(f"/v2.0/networks/{net['id']}"), 204)
    ok(http.delete(f"/v2.0/networks/{network(http, **attrs)['id']}"), 204)


def test_provider_vlan_range_exhaustion_is_503(make_server):
    server = make_server({"ml2_type_vlan": {"network_vlan_ranges": ["physnet1:10:11"]}})
    with server.http() as client:
        for _ in range(2):
            network(client, **provider("vlan", "physnet1"))
        assert_error(post_network(client, **provider("vlan", "physnet1")), 503)
        # Outside the tenant ranges, a provider VLAN is still available.
        assert network(client, **provider("vlan", "physnet1", 500))


def test_multi_provider_segments(http):
    segments = [{"provider:network_type": "vlan", "provider:physical_network": "physnet1",
                 "provider:segmentation_id": 140},
                {"provider:network_type": "vxlan", "provider:segmentation_id": "1700000"}]
    net = network(http, segments=segments)
    assert net["segments"] == [
        {**segments[0], "provider:physical_network": "physnet1"},
        {"provider:network_type": "vxlan", "provider:physical_network": None,
         "provider:segmentation_id": 1700000}]
    assert "provider:network_type" not in net
    assert net["mtu"] == 1450
    assert_error(post_network(http, segments=segments[:1]), 409, "VlanIdInUse")
    ok(http.delete(f"/v2.0/networks/{net['id']}"), 204)
    assert network(http, segments=segments)["segments"][0]["provider:segmentation_id"] == 140


def test_multi_provider_refuses_mixing_and_duplicates(http):
    seg = {"provider:network_type": "vlan", "provider:physical_network": "physnet1",
           "provider:segmentation_id": 141}
    assert_error(post_network(http, segments=[seg], **provider("vxlan")), 400)
    assert_error(post_network(http, segments=[seg, dict(seg)]), 400)


@pytest.mark.parametrize("attrs,mtu", [
    (provider("vxlan"), 1450), (provider("geneve"), 1450), (provider("gre"), 1458),
    (provider("vlan", "physnet1"), 1500), (provider("flat", "flat2"), 1500),
    (provider("local"), 1500),
])
def test_mtu_per_type(http, attrs, mtu):
    net = network(http, **attrs)
    assert net["mtu"] == mtu
    ok(http.delete(f"/v2.0/networks/{net['id']}"), 204)


def test_physical_network_mtus(make_server):
    server = make_server({"DEFAULT": {"global_physnet_mtu": 9000},
                          "ml2": {"physical_network_mtus": ["physnet2:1400"]}})
    with server.http() as client:
        assert network(client, **provider("vlan", "physnet1", 101))["mtu"] == 9000
        assert network(client, **provider("vlan", "physnet2", 101))["mtu"] == 1400
        assert network(client)["mtu"] == 8950


# --- mechanism drivers ------------------------------------------------------------------

def count(server, model):
    with server.server.db.reader() as session:
        return session.execute(select(func.count()).select_from(model)).scalar()


@pytest.mark.parametrize("member", ["network", "subnet", "port"])
def test_precommit_failure_rolls_everything_back(ml2_server, http, member):
    net = network(http)
    subnet(http, net["id"], "10.140.0.0/24")
    models = (Network, Subnet, Port)
    before = [count(ml2_server, m) for m in models]
    body = {"name": f"fail-create_{member}_precommit"}
    if member == "subnet":
        body.update(network_id=net["id"], cidr="10.140.1.0/24", ip_version=4)
    if member == "port":
        body.update(network_id=net["id"])
    resp = http.post(f"/v2.0/{member}s", json={member: body})
    assert_error(resp, 500, "MechanismDriverError")
    assert [count(ml2_server, m) for m in models] == before
    if member == "network":  # its segment went back too: the next network gets it
        assert network(http)["provider:segmentation_id"] is not None


@pytest.mark.parametrize("member", ["network", "subnet", "port"])
def test_postcommit_failure_on_create_deletes_the_resource(ml2_server, http, member):
    net = network(http)
    subnet(http, net["id"], "10.141.0.0/24")
    name = f"fail-create_{member}_postcommit"
    body = {"name": name}
    if member == "subnet":
        body.update(network_id=net["id"], cidr="10.141.1.0/24", ip_version=4)
    if member == "port":
        body.update(network_id=net["id"])
    resp = http.post(f"/v2.0/{member}s", json={member: body})
    error = assert_error(resp, 500, "MechanismDriverError")
    assert f"create_{member}_postcommit" in error["message"]
    assert listing(http, f"{member}s", {"name": name}) == []


def test_update_and_delete_postcommit_failures_keep_the_change(http):
    net = network(http)
    got = http.put(f"/v2.0/networks/{net['id']}",
                   json={"network": {"name": "fail-update_network_postcommit"}})
    assert ok(got)["network"]["name"] == "fail-update_network_postcommit"  # logged only
    assert show(http, "networks", net["id"])["name"] == "fail-update_network_postcommit"
    http.put(f"/v2.0/networks/{net['id']}",
             json={"network": {"name": "fail-delete_network_postcommit"}})
    http.delete(f"/v2.0/networks/{net['id']}")
    assert_error(http.get(f"/v2.0/networks/{net['id']}"), 404)


def test_update_precommit_failure_changes_nothing(http):
    net = network(http, name="before")
    resp = http.put(f"/v2.0/networks/{net['id']}",
                    json={"network": {"name": "fail-update_network_precommit"}})
    assert_error(resp, 500, "MechanismDriverError")
    assert show(http, "networks", net["id"])["name"] == "before"


def test_delete_precommit_failure_keeps_the_network(http):
    net = network(http, name="fail-delete_network_precommit")
    assert_error(http.delete(f"/v2.0/networks/{net['id']}"), 500, "MechanismDriverError")
    assert show(http, "networks", net["id"])["id"] == net["id"]


def test_logger_driver_sees_precommit_before_postcommit(ml2_server, http):
    logger = next(d for d in ml2_server.plugin.mechanism_manager.drivers
                  if d.name == "logger")
    net = network(http)
    calls = [c for c, rid in logger.calls if rid == net["id"]]
    assert calls == ["create_network_precommit", "create_network_postcommit"]


def test_network_delete_runs_the_delete_hooks_of_its_dhcp_port(ml2_server, http):
    """The DHCP port that goes with a network gets its own precommit and postcommit."""
    logger = next(d for d in ml2_server.plugin.mechanism_manager.drivers
                  if d.name == "logger")
    net = network(http)
    subnet(http, net["id"], "10.93.0.0/24")
    dhcp = port(http, net["id"], device_owner="network:dhcp")
    assert http.delete(f"/v2.0/networks/{net['id']}").status_code == 204
    calls = [c for c, rid in logger.calls if rid == dhcp["id"]]
    assert calls[-2:] == ["delete_port_precommit", "delete_port_postcommit"]


# --- port binding --------------------------------------------------------------------------

def test_a_driver_binds_the_port(http):
    net = network(http, **provider("vlan", "physnet1"))
    p = port(http, net["id"], **{"binding:host_id": "bindable-1"})
    assert p["binding:vif_type"] == BindingDriver.VIF_TYPE
    assert p["binding:vif_details"] == BindingDriver.VIF_DETAILS
    assert show(http, "ports", p["id"])["binding:vif_type"] == "ovs"


def test_no_driver_binds_gives_binding_failed(http):
    p = port(http, network(http)["id"], **{"binding:host_id": "nobody-binds-here"})
    assert (p["binding:vif_type"], p["binding:vif_details"]) == ("binding_failed", {})


def test_no_host_is_unbound_and_rebinding_follows_the_host(http):
    p = port(http, network(http)["id"])
    assert p["binding:vif_type"] == "unbound"
    bound = http.put(f"/v2.0/ports/{p['id']}", json={"port": {"binding:host_id": "bindable-2"}})
    assert ok(bound)["port"]["binding:vif_type"] == "ovs"
    failed = http.put(f"/v2.0/ports/{p['id']}", json={"port": {"binding:host_id": "elsewhere"}})
    assert ok(failed)["port"]["binding:vif_type"] == "binding_failed"
    unbound = http.put(f"/v2.0/ports/{p['id']}", json={"port": {"binding:host_id": ""}})
    assert ok(unbound)["port"]["binding:vif_type"] == "unbound"


def test_sdk_binding(ml2_server, unique):
    conn = ml2_server.sdk()
    net = conn.network.create_network(name=f"b-{unique}")
    p = conn.network.create_port(network_id=net.id, binding_host_id="bindable-sdk")
    assert (p.binding_vif_type, p.binding_vif_details) == ("ovs", BindingDriver.VIF_DETAILS)
