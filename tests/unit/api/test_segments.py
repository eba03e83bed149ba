"""Segments through the API and routed provider networks.

``/v2.0/segments`` (admin only): a network's segments listed, a segment added (the
type driver validates it and allocates a missing id), renamed, deleted unless a
subnet or port uses it or it is the network's last; subnets bound to segments (all
or none); on a routed network a port bound to a host gets its addresses from the
subnets of the segment that host's OVS agent reaches and binds that segment, and a
port made without a host waits (``ip_allocation: deferred``) until it gets one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import netaddr
import pytest
from sqlalchemy import select

from neutrino.common import constants as const
from neutrino.controller.server import ControllerServer
from neutrino.db import agents as agents_db
from neutrino.db.base import utcnow
from neutrino.db.models import PortBinding
from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import ApiServer, make_database, start_api_server
from tests.unit.api.helpers import assert_error, network, ok, subnet

PLUGINS = {"DEFAULT": {"service_plugins": ["segments", "network_segment_range"]}}
OVS = {"ml2": {"mechanism_drivers": ["openvswitch"]}}


@pytest.fixture
def server(make_server: Any) -> Any:
    return make_server(_merge(PLUGINS, OVS))


@pytest.fixture
def admin(server: Any) -> Iterator[httpx.Client]:
    with server.http() as http:
        yield http


def add_segment(admin: httpx.Client, net_id: str, **attrs: Any) -> dict[str, Any]:
    return ok(admin.post("/v2.0/segments", json={"segment": {
        "network_id": net_id, **attrs}}), 201)["segment"]


def segments_of(admin: httpx.Client, net_id: str) -> list[dict[str, Any]]:
    return ok(admin.get("/v2.0/segments", params={"network_id": net_id}))["segments"]


def ovs_agent(server: ApiServer, host: str, **configurations: Any) -> None:
    """``host``'s OVS agent reports in, as its heartbeat would."""
    with server.server.db.transaction() as session:
        agents_db.record_heartbeat(session, {
            "agent_type": const.AGENT_TYPE_OVS, "host": host, "binary": "neutrino-ovs-agent",
            "topic": "N/A", "configurations": {"tunnel_types": [], **configurations}},
            utcnow(), 75)


def bound_segment(server: ApiServer, port_id: str) -> str | None:
    with server.server.db.reader() as session:
        return session.execute(select(PortBinding.segment_id).where(
            PortBinding.port_id == port_id)).scalar()


def test_a_networks_segment_is_listed(admin: httpx.Client) -> None:
    net = network(admin, name="plain")
    (segment,) = segments_of(admin, net["id"])
    assert segment == {
        "id": segment["id"], "network_id": net["id"], "name": None, "description": "",
        "network_type": net["provider:network_type"], "physical_network": None,
        "segmentation_id": net["provider:segmentation_id"], "tags": [],
        "created_at": segment["created_at"], "updated_at": segment["updated_at"],
        "revision_number": 0}
    assert ok(admin.get(f"/v2.0/segments/{segment['id']}"))["segment"] == segment
    aliases = {e["alias"] for e in ok(admin.get("/v2.0/extensions"))["extensions"]}
    assert {"segment", "standard-attr-segment", "ip_allocation"} <= aliases


def test_add_rename_and_delete_a_segment(admin: httpx.Client) -> None:
    net = network(admin, **{"provider:network_type": "vlan",
                            "provider:physical_network": "physnet1",
                            "provider:segmentation_id": 150})
    # A tenant type without segmentation_id gets one from the pools.
    second = add_segment(admin, net["id"], network_type="vlan", physical_network="physnet1",
                         name="rack2", description="second rack")
    assert (second["segmentation_id"], second["name"]) == (100, "rack2")
    third = add_segment(admin, net["id"], network_type="vxlan", segmentation_id=1500)
    shown = ok(admin.get(f"/v2.0/networks/{net['id']}"))["network"]
    assert shown["segments"] == [
        {"provider:network_type": "vlan", "provider:physical_network": "physnet1",
         "provider:segmentation_id": sid} for sid in (150, 100)] + [
        {"provider:network_type": "vxlan", "provider:physical_network": None,
         "provider:segmentation_id": 1500}]
    assert shown["revision_number"] > net["revision_number"]
    # Taken ids and bad segments are the type drivers' errors.
    for body, status, kind in (
            ({"network_type": "vxlan", "segmentation_id": 1500}, 409, "TunnelIdInUse"),
            ({"network_type": "vlan", "physical_network": "physnet1",
              "segmentation_id": 150}, 409, "VlanIdInUse"),
            ({"network_type": "vlan", "physical_network": "nowhere"}, 400, "InvalidInput"),
            ({"network_type": "flat", "physical_network": "flat1",
              "segmentation_id": 3}, 400, "InvalidInput"),
            ({"network_type": "bogus"}, 400, "InvalidInput"),
            ({"network_type": "vxlan", "segmentation_id": "x"}, 400, None)):
        assert_error(admin.post("/v2.0/segments", json={"segment": {
            "network_id": net["id"], **body}}), status, kind)
    assert_error(admin.post("/v2.0/segments", json={"segment": {
        "network_id": "5a9ed2b1-29e5-4e6b-8c30-9f1f2b7e0000", "network_type": "vxlan"}}),
        404, "NetworkNotFound")
    assert len(segments_of(admin, net["id"])) == 3
    renamed = ok(admin.put(f"/v2.0/segments/{second['id']}", json={"segment": {
        "name": "rack-2", "description": "d"}}))["segment"]
    assert (renamed["name"], renamed["description"], renamed["revision_number"]) == (
        "rack-2", "d", 1)
    assert_error(admin.put(f"/v2.0/segments/{second['id']}", json={"segment": {
        "segmentation_id": 7}}), 400)
    ok(admin.put(f"/v2.0/segments/{second['id']}/tags/red"), 201)
    assert [s["id"] for s in ok(admin.get("/v2.0/segments", params={
        "tags": "red"}))["segments"]] == [second["id"]]
    assert ok(admin.delete(f"/v2.0/segments/{third['id']}"), 204) is None
    assert_error(admin.get(f"/v2.0/segments/{third['id']}"), 404, "SegmentNotFound")
    # Its id went back to the pool.
    assert add_segment(admin, net["id"], network_type="vxlan",
                       segmentation_id=1500)["segmentation_id"] == 1500


def test_segment_in_use_and_last_segment_cannot_go(admin: httpx.Client) -> None:
    net = network(admin, **{"provider:network_type": "vlan",
                            "provider:physical_network": "physnet1"})
    (first,) = segments_of(admin, net["id"])
    error = assert_error(admin.delete(f"/v2.0/segments/{first['id']}"), 409, "SegmentInUse")
    assert error["message"].startswith(f"Segment '{first['id']}' cannot be deleted: ")
    second = add_segment(admin, net["id"], network_type="vlan", physical_network="physnet1")
    sub = subnet(admin, net["id"], "10.9.0.0/24", segment_id=second["id"])
    assert sub["segment_id"] == second["id"]
    error = assert_error(admin.delete(f"/v2.0/segments/{second['id']}"), 409,
                         "SegmentInUse")
    assert error["message"] == (f"Segment '{second['id']}' cannot be deleted: The segment "
                                f"is still associated with subnet(s) {sub['id']}.")
    ok(admin.delete(f"/v2.0/subnets/{sub['id']}"), 204)
    ok(admin.delete(f"/v2.0/segments/{second['id']}"), 204)
    assert [s["id"] for s in segments_of(admin, net["id"])] == [first["id"]]
    # A network delete still takes its segments with it.
    ok(admin.delete(f"/v2.0/networks/{net['id']}"), 204)
    assert segments_of(admin, net["id"]) == []


def test_subnets_of_a_network_all_have_a_segment_or_none(admin: httpx.Client) -> None:
    net = network(admin, **{"provider:network_type": "vlan",
                            "provider:physical_network": "physnet1"})
    (seg1,) = segments_of(admin, net["id"])
    subnet(admin, net["id"], "10.1.0.0/24", segment_id=seg1["id"])
    body = {"network_id": net["id"], "cidr": "10.2.0.0/24", "ip_version": 4}
    error = assert_error(admin.post("/v2.0/subnets", json={"subnet": body}), 400,
                         "SubnetsNotAllAssociatedWithSegments")
    assert error["message"] == (f"All of the subnets on network '{net['id']}' must either "
                                "all be associated with segments or all not associated "
                                "with any segment.")
    other = network(admin)
    (foreign,) = segments_of(admin, other["id"])
    assert_error(admin.post("/v2.0/subnets", json={"subnet": {
        **body, "segment_id": foreign["id"]}}), 400, "NetworkIdsDontMatch")
    plain = network(admin)
    subnet(admin, plain["id"], "10.3.0.0/24")
    (own,) = segments_of(admin, plain["id"])
    assert_error(admin.post("/v2.0/subnets", json={"subnet": {
        "network_id": plain["id"], "cidr": "10.4.0.0/24", "ip_version": 4,
        "segment_id": own["id"]}}), 400, "SubnetsNotAllAssociatedWithSegments")
    assert len(ok(admin.get("/v2.0/subnets", params={"network_id": net["id"]}))[
        "subnets"]) == 1


def test_non_admins_neither_see_nor_change_segments(server: Any, admin: httpx.Client,
                                                    unique: str) -> None:
    net = network(admin, project_id=f"p-{unique}")
    (segment,) = segments_of(admin, net["id"])
    with server.http(project=f"p-{unique}") as member:
        assert ok(member.get("/v2.0/segments"))["segments"] == []
        assert_error(member.get(f"/v2.0/segments/{segment['id']}"), 404, "SegmentNotFound")
        assert_error(member.post("/v2.0/segments", json={"segment": {
            "network_id": net["id"], "network_type": "vxlan"}}), 403)


def routed_network(server: ApiServer, admin: httpx.Client) -> dict[str, Any]:
    """A network with a segment on physnet1 and one on physnet2, a subnet on each, and
    hosts whose OVS agents reach one physnet each."""
    net = network(admin, name="routed", **{"provider:network_type": "vlan",
                                           "provider:physical_network": "physnet1"})
    (seg1,) = segments_of(admin, net["id"])
    seg2 = add_segment(admin, net["id"], network_type="vlan", physical_network="physnet2",
                       segmentation_id=20)
    sub1 = subnet(admin, net["id"], "10.1.0.0/24", segment_id=seg1["id"])
    sub2 = subnet(admin, net["id"], "10.2.0.0/24", segment_id=seg2["id"])
    ovs_agent(server, "host-1", bridge_mappings={"physnet1": "br-eth1"})
    ovs_agent(server, "host-2", bridge_mappings={"physnet2": "br-eth2"})
    ovs_agent(server, "host-t", tunnel_types=["vxlan"])
    return {"net": net, "seg1": seg1, "seg2": seg2, "sub1": sub1, "sub2": sub2}


def create_port(admin: httpx.Client, net_id: str, **attrs: Any) -> httpx.Response:
    return admin.post("/v2.0/ports", json={"port": {"network_id": net_id, **attrs}})


def test_ports_take_addresses_from_their_hosts_segment(server: Any,
                                                       admin: httpx.Client) -> None:
    r = routed_network(server, admin)
    one = ok(create_port(admin, r["net"]["id"], **{"binding:host_id": "host-1"}), 201)["port"]
    two = ok(create_port(admin, r["net"]["id"], **{"binding:host_id": "host-2"}), 201)["port"]
    for port, sub, seg in ((one, r["sub1"], r["seg1"]), (two, r["sub2"], r["seg2"])):
        (fixed,) = port["fixed_ips"]
        assert fixed["subnet_id"] == sub["id"]
        assert netaddr.IPAddress(fixed["ip_address"]) in netaddr.IPNetwork(sub["cidr"])
        assert port["ip_allocation"] == "immediate"
        assert port["binding:vif_type"] == "ovs"
        assert bound_segment(server, port["id"]) == seg["id"]
    # The segment's subnet and the segment stay while the port holds its address.
    ok(admin.delete(f"/v2.0/subnets/{r['sub2']['id']}"), 409)
    assert_error(admin.delete(f"/v2.0/segments/{r['seg2']['id']}"), 409, "SegmentInUse")


def test_a_port_without_host_waits_for_one(server: Any, admin: httpx.Client) -> None:
    r = routed_network(server, admin)
    port = ok(create_port(admin, r["net"]["id"]), 201)["port"]
    assert (port["fixed_ips"], port["ip_allocation"]) == ([], "deferred")
    assert ok(admin.get(f"/v2.0/ports/{port['id']}"))["port"]["ip_allocation"] == "deferred"
    updated = ok(admin.put(f"/v2.0/ports/{port['id']}", json={"port": {
        "binding:host_id": "host-2"}}))["port"]
    (fixed,) = updated["fixed_ips"]
    assert fixed["subnet_id"] == r["sub2"]["id"]
    assert updated["ip_allocation"] == "immediate"
    assert updated["binding:vif_type"] == "ovs"
    assert bound_segment(server, port["id"]) == r["seg2"]["id"]
    # Moving it to a host that cannot reach its addresses' segment is refused.
    error = assert_error(admin.put(f"/v2.0/ports/{port['id']}", json={"port": {
        "binding:host_id": "host-1"}}), 409, "HostNotCompatibleWithFixedIps")
    assert "host-1" in error["message"]
    assert ok(admin.get(f"/v2.0/ports/{port['id']}"))["port"]["binding:host_id"] == "host-2"


def test_hosts_that_reach_no_segment_and_mixed_segments_are_refused(
        server: Any, admin: httpx.Client) -> None:
    r = routed_network(server, admin)
    net_id = r["net"]["id"]
    for host in ("host-t", "no-agent-here"):
        error = assert_error(create_port(admin, net_id, **{"binding:host_id": host}), 409,
                             "HostNotConnectedToAnySegment")
        assert error["message"] == (f"Host {host} is not connected to any segments on "
                                    f"routed provider network '{net_id}'.  It should be "
                                    "connected to one.")
    assert_error(create_port(admin, net_id, **{"binding:host_id": "host-2", "fixed_ips": [
        {"subnet_id": r["sub1"]["id"]}]}), 409, "HostNotCompatibleWithFixedIps")
    assert_error(create_port(admin, net_id, fixed_ips=[
        {"subnet_id": r["sub1"]["id"]}, {"subnet_id": r["sub2"]["id"]}]), 400,
        "FixedIpsSubnetsNotOnSameSegment")
    # Named addresses on one segment need no host.
    port = ok(create_port(admin, net_id, fixed_ips=[{"subnet_id": r["sub1"]["id"]}]),
              201)["port"]
    assert port["ip_allocation"] == "immediate"
    # Nothing of the refused requests was left behind.
    assert [p["id"] for p in ok(admin.get("/v2.0/ports", params={
        "network_id": net_id}))["ports"]] == [port["id"]]
    # A DHCP port serves the subnets of every segment.
    dhcp = ok(create_port(admin, net_id, device_owner="network:dhcp", fixed_ips=[
        {"subnet_id": r["sub1"]["id"]}, {"subnet_id": r["sub2"]["id"]}]), 201)["port"]
    assert {f["subnet_id"] for f in dhcp["fixed_ips"]} == {r["sub1"]["id"], r["sub2"]["id"]}


# --- the SDN controller hears of a network's new segment ---------------------------

@pytest.fixture
def journaled(tmp_path: Path) -> Iterator[tuple[ApiServer, ControllerServer]]:
    controller = ControllerServer().start()
    try:
        with make_database("sqlite", tmp_path) as url:
            server = start_api_server(_merge(ML2_TEST_CONFIG, PLUGINS, {
                "DEFAULT": {"auth_strategy": "noauth"}, "database": {"connection": url},
                "ml2": {"mechanism_drivers": ["sdn_controller"]},
                "ml2_sdn": {"url": controller.northbound_url, "sync_workers": 2,
                            "sync_timeout": 0.5, "maintenance_interval": 0.5,
                            "retry_count": 2, "timeout": 5}}))
            try:
                yield server, controller
            finally:
                for driver in server.plugin.mechanism_manager.drivers:
                    getattr(driver, "stop", lambda: None)()
                server.stop()
    finally:
        controller.stop()


def _wait(predicate: Callable[[], Any], what: str, deadline_s: float = 30) -> Any:
    deadline = time.monotonic() + deadline_s
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return result


def test_the_controller_gets_the_networks_new_segments(
        journaled: tuple[ApiServer, ControllerServer]) -> None:
    server, controller = journaled

    def stored() -> dict[str, Any]:
        return {i["id"]: i for i in controller.controller.store.list("network")}

    with server.http() as admin:
        net = network(admin, **{"provider:network_type": "vlan",
                                "provider:physical_network": "physnet1"})
        _wait(lambda: net["id"] in stored(), "the network on the controller")
        seg = add_segment(admin, net["id"], network_type="vlan", physical_network="physnet2",
                          segmentation_id=42)
        _wait(lambda: len(stored()[net["id"]].get("segments") or []) == 2,
              "the network's two segments on the controller")
        assert stored()[net["id"]]["segments"][1] == {
            "provider:network_type": "vlan", "provider:physical_network": "physnet2",
            "provider:segmentation_id": 42}
        ok(admin.delete(f"/v2.0/segments/{seg['id']}"), 204)
        _wait(lambda: stored()[net["id"]].get("provider:segmentation_id") is not None,
              "the network back to one segment on the controller")


def test_a_deleted_networks_segments_take_their_tags(server: Any, admin: httpx.Client) -> None:
    from neutrino.db.models import Tag

    net = network(admin, name="tagged")
    seg = segments_of(admin, net["id"])[0]
    ok(admin.put(f"/v2.0/segments/{seg['id']}/tags/blue"), 201)
    ok(admin.delete(f"/v2.0/networks/{net['id']}"), 204)
    with server.server.db.reader() as session:
        assert session.scalars(select(Tag.resource_id).where(
            Tag.resource_id == seg["id"])).all() == []
