"""auth_strategy = keystone: Neutrino behind keystonemiddleware, driven by openstacksdk.

A real Keystone (tests/fixtures/keystone.py) issues the tokens; the network endpoint
in its catalog points at Neutrino, so the SDK finds us exactly as it finds Neutron.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openstack
import pytest

from tests.conftest import ML2_TEST_CONFIG
from tests.fixtures.keystone import KeystoneServer
from tests.fixtures.servers import ApiServer, make_database, start_api_server, write_config

pytestmark = [pytest.mark.keystone, pytest.mark.functional, pytest.mark.slow]


@pytest.fixture(scope="module")
def neutrino(keystone: KeystoneServer, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[ApiServer]:
    tmp = tmp_path_factory.mktemp("ks")
    admin = keystone.admin_credentials
    conf = write_config(tmp / "neutron.conf", {
        "DEFAULT": {"auth_strategy": "keystone"},
        "keystone_authtoken": {
            "www_authenticate_uri": keystone.auth_url, "auth_url": keystone.auth_url,
            "auth_type": "password", "username": admin.username,
            "password": admin.password, "project_name": admin.project_name,
            "user_domain_id": "default", "project_domain_id": "default",
            "region_name": admin.region_name}})
    with make_database("sqlite", tmp) as url:
        overrides = {**ML2_TEST_CONFIG, "database": {"connection": url}}
        server = start_api_server(overrides, config_files=(conf,))
        keystone.register_network_endpoint(server.url)
        yield server
        server.stop()


def _member(keystone: KeystoneServer) -> Any:
    name = f"p-{uuid.uuid4().hex[:8]}"
    _, _, creds = keystone.create_project_user(name, f"u-{name}", "pw-" + name)
    return openstack.connect(**creds.as_sdk_kwargs())


@pytest.fixture(scope="module")
def admin_sdk(keystone: KeystoneServer, neutrino: ApiServer) -> Any:
    return openstack.connect(**keystone.admin_credentials.as_sdk_kwargs())


def test_requests_without_a_valid_token_are_refused(neutrino: ApiServer) -> None:
    assert httpx.get(f"{neutrino.url}/").status_code == 200  # the version document is public
    for headers in ({}, {"X-Auth-Token": "bogus"}):
        resp = httpx.get(f"{neutrino.url}/v2.0/networks", headers=headers)
        assert resp.status_code == 401


def test_projects_see_their_own_and_shared_networks_only(keystone, neutrino, admin_sdk):
    alice, bob = _member(keystone), _member(keystone)
    private = alice.network.create_network(name="alice-net")
    shared = admin_sdk.network.create_network(name="shared-net", is_shared=True)
    assert private.project_id == alice.current_project_id
    bob_sees = {n.id for n in bob.network.networks()}
    assert shared.id in bob_sees and private.id not in bob_sees
    with pytest.raises(openstack.exceptions.NotFoundException):
        bob.network.get_network(private.id)
    alice_sees = {n.id for n in alice.network.networks()}
    assert {private.id, shared.id} <= alice_sees


def test_provider_and_binding_attributes_are_admin_only(keystone, neutrino, admin_sdk):
    alice = _member(keystone)
    net = alice.network.create_network(name="n")
    raw = alice.network.get(f"/networks/{net.id}").json()["network"]
    assert not any(k.startswith("provider:") for k in raw)
    assert admin_sdk.network.get_network(net.id).provider_network_type == "vxlan"
    alice.network.create_subnet(network_id=net.id, cidr="10.20.0.0/24", ip_version=4)
    port = alice.network.create_port(network_id=net.id)
    raw_port = alice.network.get(f"/ports/{port.id}").json()["port"]
    assert raw_port["binding:vnic_type"] == "normal"
    assert not {"binding:host_id", "binding:vif_type", "binding:vif_details",
                "binding:profile"} & set(raw_port)
    with pytest.raises(openstack.exceptions.ForbiddenException):
        alice.network.update_port(port.id, binding_host_id="compute-1")
    with pytest.raises(openstack.exceptions.ForbiddenException):
        alice.network.create_network(name="x", provider_network_type="vlan")
    admin_view = admin_sdk.network.get_port(port.id)
    assert admin_view.binding_vif_type == "unbound"
