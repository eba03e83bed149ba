"""``/v2.0/service-providers`` from ``[service_providers] service_provider``."""

from __future__ import annotations

import pytest

from neutrino.conf import ConfigError
from neutrino.conf import service_providers as conf_sp
from tests.fixtures.servers import ApiServer
from tests.unit.api.conftest import ServerFactory
from tests.unit.api.helpers import assert_error, ok

URL = "/v2.0/service-providers"
ENTRIES = ["L3_ROUTER_NAT:Single_Node:neutron.services.l3_router.drivers.single.SingleNode",
           "L3_ROUTER_NAT:ha:neutron.services.l3_router.drivers.ha.HA:default",
           "VPN:openswan:neutron_vpnaas.services.vpn.ipsec.IPsecVPNDriver:"]


@pytest.fixture
def server(make_server: ServerFactory) -> ApiServer:
    return make_server({"service_providers": {"service_provider": ENTRIES}})


def test_providers_as_configured(server: ApiServer) -> None:
    with server.http(project="p-sp") as member:
        providers = ok(member.get(URL))["service_providers"]
    assert providers == [
        {"service_type": "L3_ROUTER_NAT", "name": "single_node", "default": False},
        {"service_type": "L3_ROUTER_NAT", "name": "ha", "default": True},
        {"service_type": "VPN", "name": "openswan", "default": False}]


def test_filters_and_fields(server: ApiServer) -> None:
    with server.http() as http:
        def names(**params: object) -> list[str]:
            return [p["name"] for p in ok(http.get(URL, params=params))["service_providers"]]

        assert names(service_type="VPN") == ["openswan"]
        assert names(default="true") == ["ha"]
        assert names(service_type="L3_ROUTER_NAT", default="false") == ["single_node"]
        assert names(name="nothing") == []
        slim = ok(http.get(URL, params={"fields": "name"}))["service_providers"]
        assert slim == [{"name": "single_node"}, {"name": "ha"}, {"name": "openswan"}]
        assert_error(http.get(URL, params={"driver": "x"}), 400)
        assert_error(http.get(URL, params={"default": "maybe"}), 400)


def test_list_only(server: ApiServer) -> None:
    with server.http() as http:
        assert_error(http.post(URL, json={"service_provider": {}}), 405)
        assert_error(http.get(f"{URL}/ha"), 404)
        assert_error(http.delete(f"{URL}/ha"), 404)
        extensions = ok(http.get("/v2.0/extensions/service-type"))["extension"]
        assert extensions["name"] == "Neutron Service Type Management"


def test_none_configured_lists_nothing(sqlite_server: ApiServer) -> None:
    with sqlite_server.http() as http:
        assert ok(http.get(URL))["service_providers"] == []


@pytest.mark.parametrize("entries", [
    ["VPN:only-two"], ["VPN:a:driver.A:maybe"], ["VPN:a:d.A", "VPN:A:d.B"],
    ["VPN:a:d.A", "LB:b:d.A"], ["VPN:a:d.A:default", "VPN:b:d.B:default"],
    [f"VPN:{'n' * 256}:d.A"],
])
def test_bad_entries_are_refused(entries: list[str]) -> None:
    with pytest.raises(ValueError):
        conf_sp.parse(entries)


def test_the_server_refuses_to_start_with_a_bad_entry(make_server: ServerFactory) -> None:
    with pytest.raises(ConfigError, match="service_provider"):
        make_server({"service_providers": {"service_provider": ["VPN:broken"]}})
