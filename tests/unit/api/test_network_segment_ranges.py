"""Network segment ranges through the API, and the type drivers' pools following them.

Default ranges come from the configuration (read-only, Neutron's 400), ranges made by
the admin are shared or a project's own (taken first by that project's networks),
overlapping, shrinking past an id in use and deleting a range in use are refused
with Neutron's errors, and a change is used by the next tenant network whichever
server makes it (the ranges live in the database).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import make_database, start_api_server
from tests.unit.api.helpers import assert_error, ok

PLUGINS = {"DEFAULT": {"service_plugins": ["segments", "network_segment_range"]}}
# One tenant type: every tenant network is a VXLAN one.
VXLAN_ONLY = {"ml2": {"tenant_network_types": ["vxlan"]}}
URL = "/v2.0/network_segment_ranges"


@pytest.fixture
def server(make_server: Any) -> Any:
    return make_server(_merge(PLUGINS, VXLAN_ONLY))


@pytest.fixture
def admin(server: Any) -> Any:
    with server.http() as http:
        yield http


def make_range(admin: httpx.Client, **attrs: Any) -> dict[str, Any]:
    body = {"name": "r", "network_type": "vxlan", **attrs}
    return ok(admin.post(URL, json={"network_segment_range": body}), 201)[
        "network_segment_range"]


def show(admin: httpx.Client, range_id: str) -> dict[str, Any]:
    return ok(admin.get(f"{URL}/{range_id}"))["network_segment_range"]


def vni_of(client: httpx.Client, admin: httpx.Client | None = None, **attrs: Any) -> int:
    """Create a network as ``client``; its VNI as the admin sees it (``admin`` or client)."""
    net = ok(client.post("/v2.0/networks", json={"network": attrs}), 201)["network"]
    shown = ok((admin or client).get(f"/v2.0/networks/{net['id']}"))["network"]
    return int(shown["provider:segmentation_id"])


def test_default_ranges_are_the_configured_ones_and_read_only(admin: httpx.Client) -> None:
    ranges = ok(admin.get(URL))["network_segment_ranges"]
    shown = {(r["network_type"], r["physical_network"], r["minimum"], r["maximum"])
             for r in ranges}
    assert shown == {("vxlan", None, 1001, 2000), ("gre", None, 1, 1000),
                     ("geneve", None, 1, 1000), ("vlan", "physnet1", 100, 199)}
    vxlan = next(r for r in ranges if r["network_type"] == "vxlan")
    assert vxlan["default"] is True and vxlan["shared"] is True
    assert vxlan["project_id"] is None and vxlan["used"] == {}
    assert vxlan["available"] == list(range(1001, 2001))
    assert {"id", "name", "description", "created_at", "updated_at", "revision_number",
            "tags"} <= set(vxlan)
    error = assert_error(admin.delete(f"{URL}/{vxlan['id']}"), 400,
                         "NetworkSegmentRangeDefaultReadOnly")
    assert error["message"] == (f"Network Segment Range {vxlan['id']} is a default segment "
                                "range which could not be updated or deleted.")
    assert_error(admin.put(f"{URL}/{vxlan['id']}", json={
        "network_segment_range": {"maximum": 3000}}), 400,
        "NetworkSegmentRangeDefaultReadOnly")
    aliases = {e["alias"] for e in ok(admin.get("/v2.0/extensions"))["extensions"]}
    assert {"network-segment-range", "segment"} <= aliases
    # The default range shows what tenant networks hold.
    vni = vni_of(admin, project_id="proj-x")
    assert vni == 1001
    assert show(admin, vxlan["id"])["used"] == {"1001": "proj-x"}
    assert 1001 not in show(admin, vxlan["id"])["available"]


def test_a_projects_own_range_comes_first(server: Any, admin: httpx.Client,
                                          unique: str) -> None:
    mine, other = f"mine-{unique}", f"other-{unique}"
    own = make_range(admin, shared=False, project_id=mine, minimum=5000, maximum=5001)
    assert own["project_id"] == mine and own["shared"] is False and own["default"] is False
    with server.http(project=mine) as member, server.http(project=other) as stranger:
        assert [vni_of(member, admin), vni_of(member, admin)] == [5000, 5001]
        # Its range is full: then the shared ones.
        assert vni_of(member, admin) == 1001
        assert vni_of(stranger, admin) == 1002
        # A non-admin neither sees nor makes ranges (admin-only policy).
        assert ok(member.get(URL))["network_segment_ranges"] == []
        assert_error(member.post(URL, json={"network_segment_range": {
            "network_type": "vxlan", "minimum": 9000, "maximum": 9001}}), 403)
    used = show(admin, own["id"])
    assert used["used"] == {"5000": mine, "5001": mine}
    assert used["available"] == []


def test_a_private_range_inside_a_shared_one_is_its_projects_alone(
        server: Any, admin: httpx.Client, unique: str) -> None:
    make_range(admin, shared=False, project_id=f"mine-{unique}", minimum=1001, maximum=1003)
    with server.http(project=f"other-{unique}") as stranger:
        assert vni_of(stranger, admin) == 1004


def test_overlap_shrink_and_delete_follow_neutron(admin: httpx.Client, unique: str) -> None:
    first = make_range(admin, minimum=6000, maximum=6009)
    error = assert_error(admin.post(URL, json={"network_segment_range": {
        "network_type": "vxlan", "minimum": 6005, "maximum": 6020}}), 409,
        "NetworkSegmentRangeOverlaps")
    assert error["message"] == ("Network segment range overlaps with range(s) with id "
                                f"{first['id']}")
    # Overlapping a default range is allowed (Neutron checks API-made ranges only), and
    # another physical network or type is no overlap.
    make_range(admin, minimum=1500, maximum=1510)
    make_range(admin, network_type="gre", minimum=6000, maximum=6009)
    private = make_range(admin, shared=False, project_id=f"p-{unique}", minimum=7000,
                         maximum=7009)
    vni = vni_of(admin, project_id=f"p-{unique}")
    assert vni == 7000
    # Shrinking past the id in use, or deleting the range, is 409.
    for change in ({"minimum": 7001}, {"maximum": 6999, "minimum": 6990}):
        error = assert_error(admin.put(f"{URL}/{private['id']}", json={
            "network_segment_range": change}), 409, "NetworkSegmentRangeReferencedByProject")
    assert error["message"] == (f"Network Segment Range {private['id']} is referenced by "
                                "one or more tenant networks.")
    assert_error(admin.delete(f"{URL}/{private['id']}"), 409,
                 "NetworkSegmentRangeReferencedByProject")
    # Shrinking around it is fine; the range is unchanged by the refused requests.
    updated = ok(admin.put(f"{URL}/{private['id']}", json={"network_segment_range": {
        "maximum": 7000, "name": "tight"}}))["network_segment_range"]
    assert (updated["minimum"], updated["maximum"], updated["name"]) == (7000, 7000, "tight")
    assert updated["revision_number"] == private["revision_number"] + 1
    assert ok(admin.delete(f"{URL}/{first['id']}"), 204) is None
    assert_error(admin.get(f"{URL}/{first['id']}"), 404, "NetworkSegmentRangeNotFound")


@pytest.mark.parametrize("body", [
    {"network_type": "vxlan", "minimum": 10, "maximum": 5},
    {"network_type": "vxlan", "minimum": 1, "maximum": 2**24},
    {"network_type": "vlan", "minimum": 10, "maximum": 20},
    {"network_type": "vlan", "physical_network": "physnet1", "minimum": 0, "maximum": 20},
    {"network_type": "flat", "minimum": 1, "maximum": 2},
    {"network_type": "vxlan", "minimum": "x", "maximum": 2},
    {"network_type": "vxlan", "minimum": 1},
    {"network_type": "vxlan", "minimum": 1, "maximum": 2, "default": True},
    {"network_type": "vxlan", "minimum": 1, "maximum": 2, "used": {}},
])
def test_bad_ranges_are_400(admin: httpx.Client, body: dict[str, Any]) -> None:
    before = ok(admin.get(URL))["network_segment_ranges"]
    assert_error(admin.post(URL, json={"network_segment_range": body}), 400)
    assert ok(admin.get(URL))["network_segment_ranges"] == before


def test_unloaded_type_is_400(make_server: Any) -> None:
    server = make_server(_merge(PLUGINS, {"ml2": {"type_drivers": ["vxlan", "local"],
                                                  "tenant_network_types": ["vxlan"]}}))
    with server.http() as admin:
        error = assert_error(admin.post(URL, json={"network_segment_range": {
            "network_type": "gre", "minimum": 1, "maximum": 2}}), 400,
            "NetworkSegmentRangeNetTypeNotSupported")
        assert error["message"] == ("Network type gre does not support network segment "
                                    "ranges.")


def test_vlan_ranges_and_tags_and_if_match(server: Any, admin: httpx.Client,
                                           unique: str) -> None:
    vlan = make_range(admin, network_type="vlan", physical_network="physnet2", shared=False,
                      project_id=f"v-{unique}", minimum=300, maximum=301)
    assert vlan["physical_network"] == "physnet2"
    ok(admin.put(f"{URL}/{vlan['id']}/tags/blue"), 201)
    assert show(admin, vlan["id"])["tags"] == ["blue"]
    tagged = ok(admin.get(URL, params={"tags": "blue"}))["network_segment_ranges"]
    assert [r["id"] for r in tagged] == [vlan["id"]]
    current = show(admin, vlan["id"])["revision_number"]
    assert_error(admin.put(f"{URL}/{vlan['id']}", headers={
        "If-Match": f"revision_number={current + 5}"}, json={
        "network_segment_range": {"name": "x"}}), 412)
    ok(admin.put(f"{URL}/{vlan['id']}", headers={"If-Match": f"revision_number={current}"},
                 json={"network_segment_range": {"name": "x"}}))
    filtered = ok(admin.get(URL, params={"network_type": "vlan", "default": "false"}))
    assert [r["id"] for r in filtered["network_segment_ranges"]] == [vlan["id"]]
    # physnet2 has no configured range: a VLAN id chosen for a provider network on it
    # comes from the range made through the API.
    net = ok(admin.post("/v2.0/networks", json={"network": {
        "provider:network_type": "vlan", "provider:physical_network": "physnet2"}}),
        201)["network"]
    assert (net["provider:physical_network"], net["provider:segmentation_id"]) == (
        "physnet2", 300)


def test_a_range_change_is_used_by_the_next_network_on_any_server(
        backend: str, tmp_path: Any) -> None:
    """Two servers on one database: a range changed through one applies to the other."""
    with make_database(backend, tmp_path) as url:
        config = _merge(ML2_TEST_CONFIG, PLUGINS, VXLAN_ONLY, {
            "DEFAULT": {"auth_strategy": "noauth"}, "database": {"connection": url}})
        one, two = start_api_server(config), start_api_server(config)
        try:
            with one.http() as first, two.http() as second:
                mine = make_range(first, shared=False, project_id="proj-run",
                                  minimum=8000, maximum=8009)
                net = ok(second.post("/v2.0/networks", json={"network": {
                    "project_id": "proj-run"}}), 201)["network"]
                assert net["provider:segmentation_id"] == 8000
                ok(second.delete(f"/v2.0/networks/{net['id']}"), 204)
                ok(first.put(f"{URL}/{mine['id']}", json={"network_segment_range": {
                    "minimum": 8500, "maximum": 8509}}))
                assert vni_of(second, project_id="proj-run") == 8500
                # The range deleted through one: the project is back on the shared pool.
                ok(first.put(f"{URL}/{mine['id']}", json={"network_segment_range": {
                    "minimum": 8501}}), 409)
                assert vni_of(second, project_id="proj-other") == 1001
        finally:
            one.stop()
            two.stop()
