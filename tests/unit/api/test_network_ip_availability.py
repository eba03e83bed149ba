"""``/v2.0/network-ip-availabilities``: IP usage per network and subnet (admin only)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from neutrino.plugins.ipavailability import plugin as ipa
from tests.unit.api.helpers import assert_error, network, ok, port, subnet

URL = "/v2.0/network-ip-availabilities"
KEYS = {"network_id", "network_name", "project_id", "tenant_id", "total_ips", "used_ips",
        "subnet_ip_availability"}
SUBNET_KEYS = {"subnet_id", "subnet_name", "cidr", "ip_version", "total_ips", "used_ips"}


def availability(http: httpx.Client, net_id: str) -> dict[str, Any]:
    return ok(http.get(f"{URL}/{net_id}"))["network_ip_availability"]


def listed(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    return ok(http.get(URL, params=params))["network_ip_availabilities"]


@pytest.fixture
def dual(client: httpx.Client, unique: str) -> dict[str, Any]:
    """A network with a /24 (pool .2–.254: 253 addresses) and a /64, and three ports."""
    net = network(client, name=f"ipa-{unique}", project_id=f"proj-{unique}")
    v4 = subnet(client, net["id"], "10.0.0.0/24", name="v4", project_id=f"proj-{unique}")
    v6 = subnet(client, net["id"], "2001:db8::/64", name="v6", project_id=f"proj-{unique}")
    for _ in range(3):
        port(client, net["id"], project_id=f"proj-{unique}")
    return {"net": net, "v4": v4, "v6": v6, "project": f"proj-{unique}"}


def test_extension_is_listed(client: httpx.Client) -> None:
    aliases = {e["alias"] for e in ok(client.get("/v2.0/extensions"))["extensions"]}
    assert "network-ip-availability" in aliases


def test_counts_per_subnet_and_network(client: httpx.Client, dual: dict[str, Any]) -> None:
    found = availability(client, dual["net"]["id"])
    assert set(found) == KEYS
    assert (found["network_name"], found["project_id"], found["tenant_id"]) == (
        dual["net"]["name"], dual["project"], dual["project"])
    by_id = {s["subnet_id"]: s for s in found["subnet_ip_availability"]}
    v4, v6 = by_id[dual["v4"]["id"]], by_id[dual["v6"]["id"]]
    assert set(v4) == SUBNET_KEYS
    assert (v4["subnet_name"], v4["cidr"], v4["ip_version"]) == ("v4", "10.0.0.0/24", 4)
    assert (v4["total_ips"], v4["used_ips"]) == (253, 3)
    pool = dual["v6"]["allocation_pools"][0]
    assert v6["total_ips"] == ipa.subnet_total("2001:db8::/64",
                                               [(pool["start"], pool["end"])])
    assert v6["total_ips"] > 2**63 and v6["used_ips"] == 3
    assert found["total_ips"] == min(v4["total_ips"] + v6["total_ips"], 2**64 - 1)
    assert found["used_ips"] == 6


def test_totals_beyond_64_bits_are_capped(client: httpx.Client, unique: str) -> None:
    net = network(client, name=f"big-{unique}")
    subnet(client, net["id"], "2001:db8:1::/64")
    subnet(client, net["id"], "2001:db8:2::/64")
    found = availability(client, net["id"])
    assert found["total_ips"] == 2**64 - 1
    assert all(s["total_ips"] < 2**64 for s in found["subnet_ip_availability"])


def test_pools_not_the_cidr_are_counted(client: httpx.Client, unique: str) -> None:
    net = network(client, name=f"pools-{unique}")
    sub = subnet(client, net["id"], "10.1.0.0/24", allocation_pools=[
        {"start": "10.1.0.10", "end": "10.1.0.19"}, {"start": "10.1.0.100",
                                                     "end": "10.1.0.104"}])
    port(client, net["id"], fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.1.0.200"}])
    found = availability(client, net["id"])
    assert (found["total_ips"], found["used_ips"]) == (15, 1)


def test_a_network_without_subnets_and_deleted_ports(client: httpx.Client,
                                                     unique: str) -> None:
    net = network(client, name=f"empty-{unique}")
    found = availability(client, net["id"])
    assert (found["total_ips"], found["used_ips"], found["subnet_ip_availability"]) == (
        0, 0, [])
    subnet(client, net["id"], "10.2.0.0/24")
    made = port(client, net["id"])
    assert availability(client, net["id"])["used_ips"] == 1
    assert client.delete(f"/v2.0/ports/{made['id']}").status_code == 204
    assert availability(client, net["id"])["used_ips"] == 0


def test_filters(client: httpx.Client, dual: dict[str, Any], unique: str) -> None:
    other = network(client, name=f"other-{unique}")
    net_id = dual["net"]["id"]
    assert [a["network_id"] for a in listed(client, network_id=net_id)] == [net_id]
    assert [a["network_id"] for a in listed(client, network_name=dual["net"]["name"])] == [
        net_id]
    assert [a["network_id"] for a in listed(client, project_id=dual["project"])] == [net_id]
    assert [a["network_id"] for a in listed(client, tenant_id=dual["project"])] == [net_id]
    six = listed(client, network_id=[net_id, other["id"]], ip_version=6)
    assert [a["network_id"] for a in six] == [net_id]
    assert [s["ip_version"] for s in six[0]["subnet_ip_availability"]] == [6]
    assert six[0]["used_ips"] == 3
    both = listed(client, network_id=[net_id, other["id"]])
    assert {a["network_id"] for a in both} == {net_id, other["id"]}
    slim = listed(client, network_id=net_id, fields=["network_id", "used_ips"])
    assert slim == [{"network_id": net_id, "used_ips": 6}]
    ordered = listed(client, network_id=[net_id, other["id"]], sort_key="network_id",
                     sort_dir="desc")
    assert [a["network_id"] for a in ordered] == sorted([net_id, other["id"]], reverse=True)
    assert_error(client.get(URL, params={"cidr": "10.0.0.0/24"}), 400)
    assert_error(client.get(URL, params={"ip_version": "x"}), 400)


def test_admin_only(client: httpx.Client, p1: httpx.Client, unique: str) -> None:
    net = network(p1, name=f"mine-{unique}")
    assert listed(p1) == []
    assert_error(p1.get(f"{URL}/{net['id']}"), 404)
    assert availability(client, net["id"])["network_id"] == net["id"]


def test_unknown_network_and_writes(client: httpx.Client, dual: dict[str, Any]) -> None:
    assert_error(client.get(f"{URL}/8a2b6e5c-1f5d-4a53-9f1e-3c8f7f0f6d11"), 404,
                 "NetworkNotFound")
    assert_error(client.post(URL, json={"network_ip_availability": {}}), 405)
    assert_error(client.delete(f"{URL}/{dual['net']['id']}"), 405)


def test_openstacksdk_reads_it(sdk: Any, dual: dict[str, Any]) -> None:
    found = sdk.network.get_network_ip_availability(dual["net"]["id"])
    assert (found.total_ips > 253, found.used_ips) == (True, 6)
    assert dual["net"]["id"] in {a.network_id for a in sdk.network.network_ip_availabilities()}
