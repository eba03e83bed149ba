"""Floating IPs and their port forwardings through the API, as Neutron answers them.

Allocation on external networks only (with its own ``network:floatingip`` port),
admin-chosen addresses, association (router worked out, ``port_details``, one
floating IP per fixed IP, Neutron's 400/404/409s), disassociation by PUT and by
deleting the port, the router interface and gateway a floating IP needs, port
forwardings and their exclusivity with a fixed port, project isolation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.servers import ApiServer
from tests.unit.api.helpers import assert_error, network, ok, port, subnet
from tests.unit.api.test_routers import (
    action,
    add_interface,
    external_net,
    l3_server,
    ports_of,
    router_create,
)

FIP_KEYS = {"id", "floating_ip_address", "floating_network_id", "router_id", "port_id",
            "fixed_ip_address", "status", "description", "project_id", "tenant_id",
            "created_at", "updated_at", "revision_number", "tags", "port_details",
            "port_forwardings"}


@pytest.fixture(scope="module")
def api_server(db_url: str) -> Iterator[ApiServer]:
    yield from l3_server(db_url)



def fip_post(client: httpx.Client, **attrs: Any) -> httpx.Response:
    return client.post("/v2.0/floatingips", json={"floatingip": attrs})


def fip_create(client: httpx.Client, **attrs: Any) -> dict[str, Any]:
    return ok(fip_post(client, **attrs), 201)["floatingip"]


def fip_put(client: httpx.Client, fip_id: str, **attrs: Any) -> httpx.Response:
    return client.put(f"/v2.0/floatingips/{fip_id}", json={"floatingip": attrs})


def fip_show(client: httpx.Client, fip_id: str) -> dict[str, Any]:
    return ok(client.get(f"/v2.0/floatingips/{fip_id}"))["floatingip"]


@pytest.fixture
def topology(client: httpx.Client, p1: httpx.Client, unique: str) -> dict[str, Any]:
    """p1's router: gateway on a fresh external network, an interface on p1's subnet."""
    octet = int(unique[:2], 16)
    ext = external_net(client, f"203.0.{octet}.0/24")
    router = router_create(p1, external_gateway_info={"network_id": ext["id"]})
    net = network(p1)
    sub = subnet(p1, net["id"], f"10.{octet}.0.0/24")
    add_interface(p1, router["id"], subnet_id=sub["id"])
    return {"ext": ext, "router": router, "net": net, "subnet": sub}


def test_allocate_and_release(client: httpx.Client, p1: httpx.Client,
                              topology: dict[str, Any]) -> None:
    ext = topology["ext"]
    fip = fip_create(p1, floating_network_id=ext["id"], description="web")
    assert set(fip) == FIP_KEYS
    assert fip["status"] == "DOWN" and fip["description"] == "web"
    assert fip["port_id"] is None and fip["router_id"] is None
    assert fip["floating_ip_address"].startswith("203.0.")
    (own,) = ports_of(client, fip["id"])
    assert (own["device_owner"], own["project_id"]) == ("network:floatingip", "")
    assert own["fixed_ips"][0]["ip_address"] == fip["floating_ip_address"]
    assert_error(client.delete(f"/v2.0/ports/{own['id']}"), 409, "L3PortInUse")
    assert ok(p1.delete(f"/v2.0/floatingips/{fip['id']}"), 204) is None
    assert ports_of(client, fip["id"]) == []
    assert_error(p1.get(f"/v2.0/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")


def test_external_networks_only(p1: httpx.Client, topology: dict[str, Any]) -> None:
    assert_error(fip_post(p1, floating_network_id=topology["net"]["id"]), 400, "BadRequest")


def test_address_is_admins_choice(client: httpx.Client, p1: httpx.Client,
                                  topology: dict[str, Any]) -> None:
    ext = topology["ext"]
    wanted = ext_address(client, ext, 200)
    assert_error(fip_post(p1, floating_network_id=ext["id"], floating_ip_address=wanted), 403)
    fip = fip_create(client, floating_network_id=ext["id"], floating_ip_address=wanted)
    assert fip["floating_ip_address"] == wanted
    assert_error(fip_post(client, floating_network_id=ext["id"], floating_ip_address=wanted),
                 409, "IpAddressAlreadyAllocated")


def ext_address(client: httpx.Client, ext: dict[str, Any], host: int) -> str:
    cidr = ok(client.get(f"/v2.0/subnets/{ext['subnet_id']}"))["subnet"]["cidr"]
    return cidr.rsplit(".", 1)[0] + f".{host}"


def test_associate_and_disassociate(p1: httpx.Client, topology: dict[str, Any]) -> None:
    vm = port(p1, topology["net"]["id"], name="vm", device_id="vm-1",
              device_owner="compute:nova")
    fixed = vm["fixed_ips"][0]["ip_address"]
    fip = fip_create(p1, floating_network_id=topology["ext"]["id"], port_id=vm["id"])
    assert (fip["port_id"], fip["fixed_ip_address"], fip["router_id"]) == (
        vm["id"], fixed, topology["router"]["id"])
    details = fip["port_details"]
    assert details == {"name": "vm", "network_id": topology["net"]["id"],
                       "mac_address": vm["mac_address"], "admin_state_up": True,
                       "status": "DOWN", "device_id": "vm-1", "device_owner": "compute:nova"}
    # One floating IP per fixed IP.
    assert_error(fip_post(p1, floating_network_id=topology["ext"]["id"], port_id=vm["id"]),
                 409, "FloatingIPPortAlreadyAssociated")
    # The interface and the gateway it goes through cannot go while it is associated.
    router_id = topology["router"]["id"]
    assert_error(action(p1, router_id, "remove_router_interface",
                        subnet_id=topology["subnet"]["id"]), 409,
                 "RouterInterfaceInUseByFloatingIP")
    assert_error(p1.put(f"/v2.0/routers/{router_id}", json={"router": {
        "external_gateway_info": None}}), 409, "RouterExternalGatewayInUseByFloatingIp")
    free = ok(fip_put(p1, fip["id"], port_id=None))["floatingip"]
    assert (free["port_id"], free["fixed_ip_address"], free["router_id"]) == (None,) * 3
    assert free["port_details"] is None
    again = ok(fip_put(p1, fip["id"], port_id=vm["id"], fixed_ip_address=fixed))["floatingip"]
    assert again["router_id"] == router_id
    assert [f["id"] for f in ok(p1.get("/v2.0/floatingips", params={
        "port_id": vm["id"]}))["floatingips"]] == [fip["id"]]


def test_association_errors(p1: httpx.Client, topology: dict[str, Any],
                            unique: str) -> None:
    ext_id = topology["ext"]["id"]
    vm = port(p1, topology["net"]["id"])
    fip = fip_create(p1, floating_network_id=ext_id)
    assert_error(fip_put(p1, fip["id"], port_id=vm["id"], fixed_ip_address="10.250.0.9"),
                 400, "BadRequest")
    # No router connects this subnet to the external network.
    lonely = network(p1)
    subnet(p1, lonely["id"], f"10.{int(unique[:2], 16)}.200.0/24")
    stranded = port(p1, lonely["id"])
    assert_error(fip_put(p1, fip["id"], port_id=stranded["id"]), 404,
                 "ExternalGatewayForFloatingIPNotFound")
    assert fip_show(p1, fip["id"])["port_id"] is None


def test_deleting_the_port_disassociates(p1: httpx.Client, topology: dict[str, Any]) -> None:
    vm = port(p1, topology["net"]["id"])
    fip = fip_create(p1, floating_network_id=topology["ext"]["id"], port_id=vm["id"])
    assert ok(p1.delete(f"/v2.0/ports/{vm['id']}"), 204) is None
    shown = fip_show(p1, fip["id"])
    assert (shown["port_id"], shown["fixed_ip_address"], shown["router_id"]) == (None,) * 3
    assert shown["revision_number"] > fip["revision_number"]


def test_port_forwardings(p1: httpx.Client, topology: dict[str, Any]) -> None:
    vm = port(p1, topology["net"]["id"])
    ip = vm["fixed_ips"][0]["ip_address"]
    fip = fip_create(p1, floating_network_id=topology["ext"]["id"])
    url = f"/v2.0/floatingips/{fip['id']}/port_forwardings"
    body = {"internal_port_id": vm["id"], "internal_ip_address": ip, "internal_port": 22,
            "external_port": 2222, "protocol": "tcp", "description": "ssh"}
    pf = ok(p1.post(url, json={"port_forwarding": body}), 201)["port_forwarding"]
    assert {k: pf[k] for k in body} == body and "project_id" not in pf
    assert fip_show(p1, fip["id"])["router_id"] == topology["router"]["id"]
    dup = {**body, "internal_port": 23}
    assert_error(p1.post(url, json={"port_forwarding": dup}), 400, "BadRequest")
    udp = ok(p1.post(url, json={"port_forwarding": {**dup, "protocol": "udp"}}),
             201)["port_forwarding"]
    assert sorted(p["protocol"] for p in ok(p1.get(url))["port_forwardings"]) == ["tcp", "udp"]
    assert len(fip_show(p1, fip["id"])["port_forwardings"]) == 2
    # A floating IP with forwardings takes no port, and the other way round.
    assert_error(fip_put(p1, fip["id"], port_id=vm["id"]), 409, "FipInUseByPortForwarding")
    bound = fip_create(p1, floating_network_id=topology["ext"]["id"], port_id=vm["id"])
    assert_error(p1.post(f"/v2.0/floatingips/{bound['id']}/port_forwardings",
                         json={"port_forwarding": body}), 409, "PortHasBindingFloatingIP")
    changed = ok(p1.put(f"{url}/{udp['id']}", json={"port_forwarding": {
        "external_port": 5353}}))["port_forwarding"]
    assert changed["external_port"] == 5353
    bad_ip = {**body, "external_port": 80, "internal_ip_address": "10.250.0.1"}
    assert_error(p1.post(url, json={"port_forwarding": bad_ip}), 400, "BadRequest")
    for item in (pf, udp):
        assert ok(p1.delete(f"{url}/{item['id']}"), 204) is None
    assert_error(p1.get(f"{url}/{pf['id']}"), 404, "PortForwardingNotFound")
    assert fip_show(p1, fip["id"])["router_id"] is None


def test_project_isolation(p1: httpx.Client, p2: httpx.Client,
                           topology: dict[str, Any]) -> None:
    fip = fip_create(p1, floating_network_id=topology["ext"]["id"])
    assert_error(p2.get(f"/v2.0/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
    assert fip["id"] not in {f["id"] for f in ok(p2.get("/v2.0/floatingips"))["floatingips"]}
    assert_error(fip_put(p2, fip["id"], description="mine"), 404, "FloatingIPNotFound")
    assert_error(p2.get(f"/v2.0/floatingips/{fip['id']}/port_forwardings"), 404)
    # p2 cannot bind p1's port to its own floating IP.
    theirs = fip_create(p2, floating_network_id=topology["ext"]["id"])
    vm = port(p1, topology["net"]["id"])
    assert_error(fip_put(p2, theirs["id"], port_id=vm["id"]), 400, "BadRequest")


def test_openstacksdk(api_server: ApiServer, topology: dict[str, Any]) -> None:
    sdk = api_server.sdk()
    ip = sdk.network.create_ip(floating_network_id=topology["ext"]["id"])
    assert ip.status == "DOWN" and ip.floating_ip_address
    vm = sdk.network.create_port(network_id=topology["net"]["id"])
    ip = sdk.network.update_ip(ip, port_id=vm.id)
    assert ip.router_id == topology["router"]["id"]
    assert sdk.network.get_ip(ip.id).fixed_ip_address == vm.fixed_ips[0]["ip_address"]
    sdk.network.delete_ip(ip.id)
    assert sdk.network.find_ip(ip.id) is None
