"""Routers through the API, as Neutron answers them.

Attributes and defaults, the external gateway (its port, external networks only,
``enable_snat`` for admins), interfaces by subnet and by port with Neutron's
400/404/409s, router ports refused by ``DELETE /ports``, extra routes (PUT and the
atomic actions), project isolation, tags and If-Match; the plugin loads by its
entry point and by Neutron's class path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from neutrino.common.loading import load_class
from neutrino.plugins.l3.plugin import Plugin
from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import ApiServer, start_api_server
from tests.unit.api.helpers import assert_error, network, ok, port, subnet

ROUTER_KEYS = {"id", "name", "description", "project_id", "tenant_id", "admin_state_up",
               "status", "external_gateway_info", "routes", "distributed", "ha",
               "availability_zone_hints", "availability_zones", "flavor_id", "tags",
               "created_at", "updated_at", "revision_number"}


def l3_server(db_url: str) -> Iterator[ApiServer]:
    """A noauth server with the L3 plugin (the ``api_server`` of the L3 API tests)."""
    server = start_api_server(_merge(ML2_TEST_CONFIG, {
        "DEFAULT": {"auth_strategy": "noauth", "service_plugins": ["router"]},
        "database": {"connection": db_url}}))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_server(db_url: str) -> Iterator[ApiServer]:
    yield from l3_server(db_url)


# --- helpers ----------------------------------------------------------------------------

def external_net(admin: httpx.Client, cidr: str = "172.24.4.0/24") -> dict[str, Any]:
    """An external network with one IPv4 subnet (``subnet_id`` added)."""
    net = network(admin, **{"router:external": True})
    net["subnet_id"] = subnet(admin, net["id"], cidr)["id"]
    return net


def router_post(client: httpx.Client, **attrs: Any) -> httpx.Response:
    return client.post("/v2.0/routers", json={"router": attrs})


def router_create(client: httpx.Client, **attrs: Any) -> dict[str, Any]:
    return ok(router_post(client, **attrs), 201)["router"]


def router_show(client: httpx.Client, router_id: str) -> dict[str, Any]:
    return ok(client.get(f"/v2.0/routers/{router_id}"))["router"]


def action(client: httpx.Client, router_id: str, name: str, **body: Any) -> httpx.Response:
    return client.put(f"/v2.0/routers/{router_id}/{name}", json=body)


def add_interface(client: httpx.Client, router_id: str, **body: Any) -> dict[str, Any]:
    return ok(action(client, router_id, "add_router_interface", **body))


def ports_of(client: httpx.Client, device_id: str) -> list[dict[str, Any]]:
    return ok(client.get("/v2.0/ports", params={"device_id": device_id}))["ports"]


def private_subnet(client: httpx.Client, cidr: str, **attrs: Any) -> dict[str, Any]:
    return subnet(client, network(client)["id"], cidr, **attrs)


# --- attributes and the gateway -------------------------------------------------------------

def test_router_attributes_and_defaults(api_server: ApiServer, p1: httpx.Client) -> None:
    router = router_create(p1, name="r1")
    assert set(router) == ROUTER_KEYS
    assert router["status"] == "ACTIVE" and router["admin_state_up"] is True
    assert router["external_gateway_info"] is None and router["routes"] == []
    assert (router["distributed"], router["ha"], router["flavor_id"]) == (False, False, None)
    assert router["availability_zone_hints"] == [] == router["availability_zones"]
    # openstacksdk, as an admin, sees it in the project's listing.
    sdk = api_server.sdk()
    found = {r.id: r for r in sdk.network.routers(project_id=router["project_id"])}
    assert found[router["id"]].name == "r1"
    sdk.network.update_router(router["id"], name="renamed", admin_state_up=False)
    shown = router_show(p1, router["id"])
    assert (shown["name"], shown["admin_state_up"]) == ("renamed", False)
    assert shown["revision_number"] > router["revision_number"]
    sdk.network.delete_router(router["id"])
    assert_error(p1.get(f"/v2.0/routers/{router['id']}"), 404, "RouterNotFound")


def test_gateway_needs_an_external_network(client: httpx.Client, p1: httpx.Client) -> None:
    internal = network(client)
    subnet(client, internal["id"], "10.55.0.0/24")
    assert_error(router_post(client, external_gateway_info={"network_id": internal["id"]}),
                 400, "BadRequest")
    router = router_create(client)
    assert_error(client.put(f"/v2.0/routers/{router['id']}", json={"router": {
        "external_gateway_info": {"network_id": internal["id"]}}}), 400, "BadRequest")
    assert router_show(client, router["id"])["external_gateway_info"] is None


def test_gateway_port_is_made_and_removed(client: httpx.Client, p1: httpx.Client) -> None:
    ext = external_net(client)
    router = router_create(p1, external_gateway_info={"network_id": ext["id"]})
    gateway = router["external_gateway_info"]
    assert gateway["network_id"] == ext["id"] and gateway["enable_snat"] is True
    (fixed,) = gateway["external_fixed_ips"]
    assert fixed["subnet_id"] == ext["subnet_id"]
    (gw_port,) = ports_of(client, router["id"])
    assert gw_port["device_owner"] == "network:router_gateway"
    assert gw_port["project_id"] == "" and gw_port["fixed_ips"] == [fixed]
    # The gateway port is the router's: not deletable through the port API.
    assert_error(client.delete(f"/v2.0/ports/{gw_port['id']}"), 409, "L3PortInUse")
    cleared = ok(p1.put(f"/v2.0/routers/{router['id']}", json={"router": {
        "external_gateway_info": None}}))["router"]
    assert cleared["external_gateway_info"] is None
    assert ports_of(client, router["id"]) == []


def test_enable_snat_and_fixed_ips_are_admin_only(client: httpx.Client,
                                                  p1: httpx.Client) -> None:
    ext = external_net(client, "172.24.5.0/24")
    assert_error(router_post(p1, external_gateway_info={
        "network_id": ext["id"], "enable_snat": False}), 403)
    router = router_create(client, external_gateway_info={
        "network_id": ext["id"], "enable_snat": False,
        "external_fixed_ips": [{"ip_address": "172.24.5.77"}]})
    gateway = router["external_gateway_info"]
    assert gateway["enable_snat"] is False
    assert gateway["external_fixed_ips"][0]["ip_address"] == "172.24.5.77"
    changed = ok(client.put(f"/v2.0/routers/{router['id']}", json={"router": {
        "external_gateway_info": {"network_id": ext["id"], "enable_snat": True}}}))["router"]
    assert changed["external_gateway_info"]["enable_snat"] is True
    # Same network: the gateway port (and its address) stays.
    assert changed["external_gateway_info"]["external_fixed_ips"] == \
        gateway["external_fixed_ips"]


# --- interfaces ---------------------------------------------------------------------------

def test_interface_by_subnet(p1: httpx.Client, client: httpx.Client) -> None:
    router = router_create(p1)
    sub = private_subnet(p1, "10.60.0.0/24")
    info = add_interface(p1, router["id"], subnet_id=sub["id"])
    assert set(info) == {"id", "tenant_id", "project_id", "port_id", "subnet_id",
                         "subnet_ids", "network_id"}
    assert (info["id"], info["subnet_id"], info["subnet_ids"], info["network_id"]) == (
        router["id"], sub["id"], [sub["id"]], sub["network_id"])
    intf = ok(p1.get(f"/v2.0/ports/{info['port_id']}"))["port"]
    assert intf["device_owner"] == "network:router_interface"
    assert intf["device_id"] == router["id"]
    assert intf["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.60.0.1"}]
    # Twice, or an overlapping CIDR: 400.
    assert_error(action(p1, router["id"], "add_router_interface", subnet_id=sub["id"]),
                 400, "BadRequest")
    overlapping = private_subnet(p1, "10.60.0.0/16")
    error = assert_error(action(p1, router["id"], "add_router_interface",
                                subnet_id=overlapping["id"]), 400, "BadRequest")
    assert "overlaps" in error["message"]
    no_gw = private_subnet(p1, "10.61.0.0/24", gateway_ip=None)
    assert_error(action(p1, router["id"], "add_router_interface", subnet_id=no_gw["id"]),
                 400, "BadRequest")
    # In use: the router, the port, the subnet and its network refuse deletion.
    assert_error(p1.delete(f"/v2.0/routers/{router['id']}"), 409, "RouterInUse")
    error = assert_error(p1.delete(f"/v2.0/ports/{info['port_id']}"), 409, "L3PortInUse")
    assert "network:router_interface" in error["message"]
    assert_error(p1.delete(f"/v2.0/subnets/{sub['id']}"), 409, "SubnetInUse")
    assert_error(p1.delete(f"/v2.0/networks/{sub['network_id']}"), 409, "NetworkInUse")
    removed = ok(action(p1, router["id"], "remove_router_interface", subnet_id=sub["id"]))
    assert removed["port_id"] == info["port_id"]
    assert_error(p1.get(f"/v2.0/ports/{info['port_id']}"), 404, "PortNotFound")
    assert_error(action(p1, router["id"], "remove_router_interface", subnet_id=sub["id"]),
                 404, "RouterInterfaceNotFoundForSubnet")
    assert ok(p1.delete(f"/v2.0/routers/{router['id']}"), 204) is None


def test_interface_by_port(p1: httpx.Client) -> None:
    router = router_create(p1)
    sub = private_subnet(p1, "10.62.0.0/24")
    mine = port(p1, sub["network_id"])
    info = add_interface(p1, router["id"], port_id=mine["id"])
    assert (info["port_id"], info["subnet_ids"]) == (mine["id"], [sub["id"]])
    taken = ok(p1.get(f"/v2.0/ports/{mine['id']}"))["port"]
    assert (taken["device_owner"], taken["device_id"]) == ("network:router_interface",
                                                           router["id"])
    # A port bound to a device is in use.
    other_router = router_create(p1)
    vm_port = port(p1, sub["network_id"], device_id="vm-1", device_owner="compute:nova")
    assert_error(action(p1, other_router["id"], "add_router_interface",
                        port_id=vm_port["id"]), 409, "PortInUse")
    assert_error(action(p1, router["id"], "add_router_interface"), 400, "BadRequest")
    assert_error(action(p1, router["id"], "remove_router_interface",
                        port_id=vm_port["id"]), 404, "RouterInterfaceNotFound")
    ok(action(p1, router["id"], "remove_router_interface", port_id=mine["id"]))
    assert_error(p1.get(f"/v2.0/ports/{mine['id']}"), 404)


# --- extra routes -------------------------------------------------------------------------

def test_extra_routes(p1: httpx.Client) -> None:
    router = router_create(p1)
    sub = private_subnet(p1, "10.63.0.0/24")
    add_interface(p1, router["id"], subnet_id=sub["id"])
    url = f"/v2.0/routers/{router['id']}"
    far = {"destination": "192.168.50.0/24", "nexthop": "10.99.0.5"}
    assert_error(p1.put(url, json={"router": {"routes": [far]}}), 400, "InvalidRoutes")
    own = {"destination": "192.168.50.0/24", "nexthop": "10.63.0.1"}
    assert_error(p1.put(url, json={"router": {"routes": [own]}}), 400, "InvalidRoutes")
    route = {"destination": "192.168.50.0/24", "nexthop": "10.63.0.5"}
    assert ok(p1.put(url, json={"router": {"routes": [route]}}))["router"]["routes"] == [route]
    second = {"destination": "192.168.60.0/24", "nexthop": "10.63.0.6"}
    added = ok(action(p1, router["id"], "add_extraroutes",
                      router={"routes": [second, route]}))["router"]
    assert sorted(r["destination"] for r in added["routes"]) == [
        "192.168.50.0/24", "192.168.60.0/24"]
    left = ok(action(p1, router["id"], "remove_extraroutes",
                     router={"routes": [route]}))["router"]
    assert left["routes"] == [second]
    # A route's nexthop keeps its interface.
    assert_error(action(p1, router["id"], "remove_router_interface", subnet_id=sub["id"]),
                 409, "RouterInterfaceInUseByRoute")
    ok(p1.put(url, json={"router": {"routes": []}}))
    ok(action(p1, router["id"], "remove_router_interface", subnet_id=sub["id"]))


# --- isolation, tags, If-Match, loading ---------------------------------------------------------

def test_project_isolation(p1: httpx.Client, p2: httpx.Client) -> None:
    router = router_create(p1)
    assert_error(p2.get(f"/v2.0/routers/{router['id']}"), 404, "RouterNotFound")
    assert router["id"] not in {r["id"] for r in ok(p2.get("/v2.0/routers"))["routers"]}
    theirs = private_subnet(p2, "10.64.0.0/24")
    assert_error(action(p2, router["id"], "add_router_interface", subnet_id=theirs["id"]),
                 404, "RouterNotFound")
    # p1 cannot attach p2's subnet to its own router either.
    assert_error(action(p1, router["id"], "add_router_interface", subnet_id=theirs["id"]),
                 404, "SubnetNotFound")
    assert_error(p2.delete(f"/v2.0/routers/{router['id']}"), 404, "RouterNotFound")


def test_tags_and_if_match(p1: httpx.Client) -> None:
    router = router_create(p1)
    url = f"/v2.0/routers/{router['id']}"
    assert ok(p1.put(f"{url}/tags/blue"), 201) is None
    tagged = router_show(p1, router["id"])
    assert tagged["tags"] == ["blue"]
    assert router["id"] in {r["id"] for r in ok(p1.get(
        "/v2.0/routers", params={"tags": "blue"}))["routers"]}
    stale = {"If-Match": f"revision_number={router['revision_number']}"}
    assert_error(p1.put(url, json={"router": {"name": "x"}}, headers=stale), 412)
    fresh = {"If-Match": f"revision_number={tagged['revision_number']}"}
    assert ok(p1.put(url, json={"router": {"name": "x"}}, headers=fresh))["router"]["name"] == "x"


def test_plugin_loads_by_entry_point_and_neutron_path() -> None:
    assert load_class("neutrino.service_plugins", "router") is Plugin
    assert load_class("neutrino.service_plugins",
                      "neutron.services.l3_router.l3_router_plugin.L3RouterPlugin") is Plugin


def test_routers_and_floating_ips_have_quotas(client: httpx.Client, p1: httpx.Client,
                                              unique: str) -> None:
    project = f"p1-{unique}"
    ok(client.put(f"/v2.0/quotas/{project}", json={"quota": {"router": 1,
                                                               "floatingip": 1}}))
    router_create(p1, name="first")
    error = assert_error(router_post(p1, name="second"), 409, "OverQuota")
    assert error["message"] == "Quota exceeded for resources: ['router']."
    ext = external_net(client, "172.24.9.0/24")
    fip = {"floatingip": {"floating_network_id": ext["id"]}}
    ok(p1.post("/v2.0/floatingips", json=fip), 201)
    assert_error(p1.post("/v2.0/floatingips", json=fip), 409, "OverQuota")
    usage = ok(client.get(f"/v2.0/quotas/{project}/details"))["quota"]
    assert usage["router"]["used"] == 1 and usage["floatingip"]["used"] == 1
