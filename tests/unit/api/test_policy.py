"""Policy with noauth headers: project scoping, admin-only attributes, policy file overrides."""

from __future__ import annotations

import pytest

from neutrino.api import app as api_app
from neutrino.api import serve
from neutrino.conf import make_conf
from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import ApiServer, write_config
from tests.unit.api.helpers import (
    assert_error,
    ids,
    listing,
    network,
    ok,
    port,
    show,
    subnet,
    update,
)

PROVIDER = {"provider:network_type", "provider:physical_network", "provider:segmentation_id"}
BINDING_ADMIN = {"binding:host_id", "binding:vif_type", "binding:vif_details",
                 "binding:profile"}



def test_a_project_sees_its_own_and_shared_networks_only(client, p1, p2):
    own = network(p1)
    shared = network(client, shared=True, project_id="someone-else")
    external = network(client, project_id="someone-else", **{"router:external": True})
    foreign = network(p2)
    seen = ids(listing(p1, "networks"))
    assert own["id"] in seen and shared["id"] in seen and external["id"] in seen
    assert foreign["id"] not in seen
    assert own["project_id"] == own["tenant_id"] == p1.headers["X-Project-Id"]
    assert_error(p1.get(f"/v2.0/networks/{foreign['id']}"), 404, "NetworkNotFound")
    assert_error(p1.put(f"/v2.0/networks/{foreign['id']}", json={"network": {"name": "x"}}),
                 404)
    assert_error(p1.delete(f"/v2.0/networks/{foreign['id']}"), 404)
    assert show(p1, "networks", shared["id"])["shared"] is True


def test_deleting_others_subnets_and_ports_is_404_or_403_and_changes_nothing(client, p1, p2):
    # The plugin runs these checks on the row it reads in its delete transaction.
    foreign_net = network(p2)
    foreign_sub = subnet(p2, foreign_net["id"], "10.131.0.0/24")
    foreign_port = port(p2, foreign_net["id"])
    assert_error(p1.delete(f"/v2.0/subnets/{foreign_sub['id']}"), 404, "SubnetNotFound")
    assert_error(p1.delete(f"/v2.0/ports/{foreign_port['id']}"), 404, "PortNotFound")
    shared = network(client, shared=True, project_id="someone-else")
    shared_sub = subnet(client, shared["id"], "10.132.0.0/24", project_id="someone-else")
    assert_error(p1.delete(f"/v2.0/subnets/{shared_sub['id']}"), 403, "PolicyNotAuthorized")
    show(client, "subnets", shared_sub["id"])
    show(p2, "ports", foreign_port["id"])
    resp = p2.delete(f"/v2.0/ports/{foreign_port['id']}",
                     headers={"If-Match": "revision_number=99"})
    assert_error(resp, 412)
    assert p2.delete(f"/v2.0/ports/{foreign_port['id']}").status_code == 204


def test_updating_others_resources_is_404_or_403_and_changes_nothing(client, p1, p2):
    # The plugin runs these checks on the row it reads in its update transaction.
    foreign_net = network(p2)
    foreign_sub = subnet(p2, foreign_net["id"], "10.133.0.0/24")
    foreign_port = port(p2, foreign_net["id"])
    for collection, item in (("networks", foreign_net), ("subnets", foreign_sub),
                             ("ports", foreign_port)):
        member = collection[:-1]
        assert_error(p1.put(f"/v2.0/{collection}/{item['id']}",
                            json={member: {"name": "stolen"}}), 404)
        assert show(p2, collection, item["id"])["name"] != "stolen"
    # Visible but not the caller's: 403, unchanged.
    shared = network(client, shared=True, project_id="someone-else")
    shared_sub = subnet(client, shared["id"], "10.134.0.0/24", project_id="someone-else")
    assert_error(p1.put(f"/v2.0/subnets/{shared_sub['id']}",
                        json={"subnet": {"name": "stolen"}}), 403, "PolicyNotAuthorized")
    assert_error(p1.put(f"/v2.0/networks/{shared['id']}",
                        json={"network": {"name": "stolen"}}), 403, "PolicyNotAuthorized")
    assert show(client, "subnets", shared_sub["id"])["name"] != "stolen"
    assert show(client, "networks", shared["id"])["name"] != "stolen"
    # An owner's own attribute rule still applies: a member may not set binding:host_id.
    own = port(p1, network(p1)["id"])
    assert_error(p1.put(f"/v2.0/ports/{own['id']}",
                        json={"port": {"binding:host_id": "h1"}}), 403)
    assert update(p1, "ports", own["id"], name="mine")["name"] == "mine"


def test_shared_network_is_read_only_to_others(client, p1):
    shared = network(client, shared=True, project_id="someone-else")
    resp = p1.put(f"/v2.0/networks/{shared['id']}", json={"network": {"name": "mine"}})
    assert_error(resp, 403, "PolicyNotAuthorized")
    assert_error(p1.delete(f"/v2.0/networks/{shared['id']}"), 403)
    resp = p1.post("/v2.0/subnets", json={"subnet": {
        "network_id": shared["id"], "cidr": "10.130.0.0/24", "ip_version": 4}})
    assert_error(resp, 403)


def test_subnets_and_ports_are_scoped(client, p1, p2):
    net = network(p1)
    sub = subnet(p1, net["id"], "10.131.0.0/24")
    p = port(p1, net["id"])
    assert_error(p2.get(f"/v2.0/subnets/{sub['id']}"), 404, "SubnetNotFound")
    assert_error(p2.get(f"/v2.0/ports/{p['id']}"), 404, "PortNotFound")
    assert sub["id"] not in ids(listing(p2, "subnets"))
    assert p["id"] not in ids(listing(p2, "ports"))
    assert_error(p2.post("/v2.0/ports", json={"port": {"network_id": net["id"]}}), 404)


def test_shared_network_subnets_visible_and_ports_allowed(client, p1, p2):
    net = network(p1, name="to-share")
    sub = subnet(p1, net["id"], "10.132.0.0/24")
    update(client, "networks", net["id"], shared=True)
    assert sub["id"] in ids(listing(p2, "subnets"))
    theirs = port(p2, net["id"], fixed_ips=[{"subnet_id": sub["id"]}])
    # The network owner sees ports on its network; the port owner sees only its own.
    assert theirs["id"] in ids(listing(p1, "ports"))
    mine = port(p1, net["id"])
    assert mine["id"] not in ids(listing(p2, "ports"))
    resp = p2.post("/v2.0/ports", json={"port": {"network_id": net["id"], "fixed_ips": [
        {"ip_address": "10.132.0.50"}]}})
    assert_error(resp, 403, "PolicyNotAuthorized")


def test_provider_attributes_are_hidden_and_refused(client, p1):
    net = network(p1)
    assert not PROVIDER & set(net) and "segments" not in net
    assert not PROVIDER & set(show(p1, "networks", net["id"]))
    got = ok(p1.get(f"/v2.0/networks/{net['id']}?fields=id&fields=provider:network_type"))
    assert got["network"] == {"id": net["id"]}
    assert set(show(client, "networks", net["id"])) >= PROVIDER
    for attrs in ({"provider:network_type": "vxlan"},
                  {"segments": [{"provider:network_type": "vxlan"}]}, {"shared": True}):
        assert_error(p1.post("/v2.0/networks", json={"network": attrs}), 403,
                     "PolicyNotAuthorized")
    assert_error(p1.put(f"/v2.0/networks/{net['id']}", json={"network": {"shared": True}}),
                 403)


def test_binding_attributes_are_admin_only_but_vnic_type_stays(client, p1):
    net = network(p1)
    p = port(p1, net["id"], **{"binding:vnic_type": "direct"})
    assert not BINDING_ADMIN & set(p)
    assert p["binding:vnic_type"] == "direct"
    assert not BINDING_ADMIN & set(show(p1, "ports", p["id"]))
    assert show(p1, "ports", p["id"])["binding:vnic_type"] == "direct"
    for attr, value in (("binding:host_id", "h1"), ("binding:profile", {"a": 1})):
        resp = p1.post("/v2.0/ports", json={"port": {"network_id": net["id"], attr: value}})
        assert_error(resp, 403, "PolicyNotAuthorized")
        resp = p1.put(f"/v2.0/ports/{p['id']}", json={"port": {attr: value}})
        assert_error(resp, 403, "PolicyNotAuthorized")
    assert update(p1, "ports", p["id"], **{"binding:vnic_type": "normal"})[
        "binding:vnic_type"] == "normal"
    assert set(show(client, "ports", p["id"])) >= BINDING_ADMIN


def test_non_admin_cannot_act_for_another_project(p1):
    resp = p1.post("/v2.0/networks", json={"network": {"project_id": "someone-else"}})
    assert_error(resp, 400)


def test_admin_role_header_is_admin(api_server, p2):
    foreign = network(p2)
    with api_server.http(project="ops", roles="admin") as admin:
        assert show(admin, "networks", foreign["id"])["provider:network_type"]


def test_sdk_as_a_project_user(api_server, unique):
    import openstack

    project = f"sdk-{unique}"
    conn = openstack.connection.Connection(auth_type="none",
                                           auth={"endpoint": api_server.url})
    conn.session.additional_headers.update({"X-Project-Id": project, "X-Roles": "member"})
    net = conn.network.create_network(name=f"sdk-{unique}")
    assert net.project_id == project and net.provider_network_type is None
    assert net.id in [n.id for n in conn.network.networks()]


# --- policy file ------------------------------------------------------------------------

POLICY = """
"create_network": "role:admin"
"get_network:provider:network_type": ""
"get_network:provider:segmentation_id": ""
"""


@pytest.fixture
def policy_server(tmp_path, sqlite_url):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY)
    conf_file = write_config(tmp_path / "neutron.conf",
                             {"oslo_policy": {"policy_file": str(policy_file)}})
    conf = make_conf(["--config-file", str(conf_file)], overrides=_merge(ML2_TEST_CONFIG, {
        "DEFAULT": {"auth_strategy": "noauth"}, "database": {"connection": sqlite_url}}))
    server = api_app.build(conf)
    wsgi, _ = serve.serve_in_thread(server.wsgi_app, "127.0.0.1", 0)
    api = ApiServer(f"http://127.0.0.1:{wsgi.server_port}", server, wsgi)
    yield api
    api.stop()


def test_policy_file_overrides_the_defaults(policy_server):
    with policy_server.http() as admin, policy_server.http(project="p1") as p1:
        resp = p1.post("/v2.0/networks", json={"network": {"name": "x"}})
        assert_error(resp, 403, "PolicyNotAuthorized")
        net = network(admin, project_id="p1")
        seen = show(p1, "networks", net["id"])
        assert seen["provider:network_type"] == "vxlan"
        assert "provider:segmentation_id" in seen
        assert "provider:physical_network" not in seen


# --- the parent network is read only when a rule needs it ---------------------------

def _target_with_counter(item, network):
    from neutrino.api.controller import PolicyTarget

    calls = []

    def load():
        calls.append(1)
        return network

    return PolicyTarget(item, load), calls


def test_policy_target_reads_the_network_only_when_a_rule_asks():
    from neutrino.api.policy import Policy
    from neutrino.context import Context

    policy = Policy(make_conf([], overrides={"DEFAULT": {"auth_strategy": "noauth"}}))
    admin = Context(project_id="admin-project", roles=["admin"], is_admin=True)
    member = Context(project_id="p1", roles=["member"])
    item = {"network_id": "n1", "project_id": "p1"}
    parent = {"network:tenant_id": "p1", "network:project_id": "p1",
              "network:shared": False, "network:router:external": False}

    # Admin: role:admin decides before project_id:%(network:tenant_id)s is evaluated.
    target, calls = _target_with_counter(item, parent)
    assert policy.check(admin, "create_port", target)
    assert policy.check(admin, "create_subnet", target)
    assert policy.check(admin, "create_port:mac_address", target)
    assert calls == []

    # A member on its own network: the rule needs the network's owner, read once.
    target, calls = _target_with_counter(item, parent)
    assert policy.check(member, "create_port:mac_address", target)
    assert policy.check(member, "create_subnet", target)
    assert calls == [1]
    # … on another project's network: refused, with the network's real owner.
    target, calls = _target_with_counter(item, {**parent, "network:tenant_id": "p2"})
    assert not policy.check(member, "create_subnet", target)
    assert calls == [1]
    # Listing the keys, or .get() of a network: key, reads it too.
    target, calls = _target_with_counter(item, parent)
    assert target.get("network:shared") is False and calls == [1]
    target, calls = _target_with_counter(item, parent)
    assert "network:tenant_id" in dict(target.items()) and calls == [1]
    # Keys the item has never trigger a read.
    target, calls = _target_with_counter(item, parent)
    assert target["project_id"] == "p1" and target.get("nope") is None and calls == []
