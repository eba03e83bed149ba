"""Unit tests of the reference controller's resource store."""

import json

import pytest

from neutrino.controller import errors
from neutrino.controller.resources import RESOURCE_TYPES
from neutrino.controller.store import ResourceStore


def _net(store: ResourceStore, net_id: str = "net-1") -> None:
    store.create("network", {"id": net_id, "name": net_id})


def _subnet(store: ResourceStore, subnet_id: str = "sub-1", net_id: str = "net-1") -> None:
    store.create("subnet", {"id": subnet_id, "network_id": net_id, "cidr": "10.0.0.0/24"})


def _port(store: ResourceStore, port_id: str = "port-1", subnet_id: str = "sub-1") -> None:
    fixed_ips = [{"subnet_id": subnet_id, "ip_address": "10.0.0.5"}]
    store.create("port", {"id": port_id, "network_id": "net-1", "fixed_ips": fixed_ips})


def test_collections_follow_networking_odl_names():
    collections = {rt.object_type: rt.collection for rt in RESOURCE_TYPES}
    assert collections == {
        "network": "networks",
        "subnet": "subnets",
        "port": "ports",
        "router": "routers",
        "floatingip": "floatingips",
        "security_group": "security-groups",
        "security_group_rule": "security-group-rules",
        "router_interface": "router-interfaces",
    }


def test_create_get_list_update_delete():
    store = ResourceStore()
    _net(store)
    assert store.get("network", "net-1") == {"id": "net-1", "name": "net-1"}
    updated = store.update("network", "net-1", {"name": "renamed"})
    assert updated == {"id": "net-1", "name": "renamed"}
    assert store.list("network") == [updated]
    store.delete("network", "net-1")
    with pytest.raises(errors.ResourceNotFound):
        store.get("network", "net-1")


def test_returned_objects_are_copies():
    store = ResourceStore()
    _net(store)
    store.get("network", "net-1")["name"] = "mutated"
    assert store.get("network", "net-1")["name"] == "net-1"


def test_duplicate_id_is_refused():
    store = ResourceStore()
    _net(store)
    with pytest.raises(errors.ResourceExists):
        _net(store)


@pytest.mark.parametrize(
    ("object_type", "obj", "missing"),
    [
        ("subnet", {"id": "s", "network_id": "nope"}, "network nope"),
        ("port", {"id": "p", "network_id": "nope", "fixed_ips": []}, "network nope"),
        (
            "port",
            {"id": "p", "network_id": "net-1", "fixed_ips": [{"subnet_id": "nope"}]},
            "subnet nope",
        ),
        ("security_group_rule", {"id": "r", "security_group_id": "nope"}, "security_group nope"),
        (
            "security_group_rule",
            {"id": "r", "security_group_id": "sg-0", "remote_group_id": "nope"},
            "security_group nope",
        ),
        ("floatingip", {"id": "f", "floating_network_id": "nope"}, "network nope"),
        ("router", {"id": "r", "external_gateway_info": {"network_id": "nope"}}, "network nope"),
    ],
)
def test_create_refuses_missing_dependency(object_type, obj, missing):
    store = ResourceStore()
    _net(store)
    store.create("security_group", {"id": "sg-0"})
    with pytest.raises(errors.DependencyMissing, match=missing):
        store.create(object_type, obj)
    assert store.list(object_type) == []


def test_update_refuses_missing_dependency_and_keeps_old_state():
    store = ResourceStore()
    _net(store)
    _subnet(store)
    _port(store)
    with pytest.raises(errors.DependencyMissing):
        store.update("port", "port-1", {"fixed_ips": [{"subnet_id": "nope"}]})
    assert store.get("port", "port-1")["fixed_ips"][0]["subnet_id"] == "sub-1"
    # The old reference still protects the subnet.
    with pytest.raises(errors.ResourceInUse):
        store.delete("subnet", "sub-1")


def test_delete_refused_while_children_exist_then_allowed():
    store = ResourceStore()
    _net(store)
    _subnet(store)
    _port(store)
    with pytest.raises(errors.ResourceInUse, match="port port-1"):
        store.delete("subnet", "sub-1")
    with pytest.raises(errors.ResourceInUse):
        store.delete("network", "net-1")
    store.delete("port", "port-1")
    store.delete("subnet", "sub-1")
    store.delete("network", "net-1")
    assert store.counts() == {rt.object_type: 0 for rt in RESOURCE_TYPES}


def test_update_moving_a_port_releases_the_old_subnet():
    store = ResourceStore()
    _net(store)
    _subnet(store, "sub-1")
    _subnet(store, "sub-2")
    _port(store, subnet_id="sub-1")
    store.update("port", "port-1", {"fixed_ips": [{"subnet_id": "sub-2"}]})
    store.delete("subnet", "sub-1")
    with pytest.raises(errors.ResourceInUse):
        store.delete("subnet", "sub-2")


def test_deleting_a_security_group_drops_its_rules():
    store = ResourceStore()
    store.create("security_group", {"id": "sg"})
    store.create("security_group_rule", {"id": "r1", "security_group_id": "sg"})
    store.delete("security_group", "sg")
    assert store.list("security_group_rule") == []


def test_deleting_a_group_drops_the_rules_naming_it_as_remote():
    store = ResourceStore()
    store.create("security_group", {"id": "web"})
    store.create("security_group", {"id": "db"})
    store.create("security_group_rule", {"id": "self", "security_group_id": "web",
                                         "remote_group_id": "web"})
    store.create("security_group_rule", {"id": "from-web", "security_group_id": "db",
                                         "remote_group_id": "web"})
    store.create("security_group_rule", {"id": "db-own", "security_group_id": "db"})
    store.delete("security_group", "web")
    assert [r["id"] for r in store.list("security_group_rule")] == ["db-own"]
    store.delete("security_group", "db")
    assert store.counts()["security_group_rule"] == 0


def test_router_gateway_and_floating_network_do_not_block_network_delete():
    store = ResourceStore()
    _net(store, "ext")
    store.create("router", {"id": "r", "external_gateway_info": {"network_id": "ext"}})
    store.create("floatingip", {"id": "f", "floating_network_id": "ext"})
    store.delete("network", "ext")
    assert store.get("router", "r")["external_gateway_info"] == {"network_id": "ext"}


def test_update_body_id_must_match():
    store = ResourceStore()
    _net(store)
    with pytest.raises(errors.BadRequest):
        store.update("network", "net-1", {"id": "other"})


def test_wipe_forgets_everything():
    store = ResourceStore()
    _net(store)
    _subnet(store)
    store.wipe()
    assert store.list("network") == [] and store.list("subnet") == []
    _net(store)  # and the reference index was reset too
    store.delete("network", "net-1")


def test_state_file_round_trip(tmp_path):
    path = tmp_path / "state.json"
    store = ResourceStore(path)
    _net(store)
    _subnet(store)
    _port(store)
    reloaded = ResourceStore(path)
    assert reloaded.list("port") == store.list("port")
    with pytest.raises(errors.ResourceInUse):
        reloaded.delete("subnet", "sub-1")
    assert json.loads(path.read_text())["version"] == 1


def test_state_file_records_wipe(tmp_path):
    path = tmp_path / "state.json"
    store = ResourceStore(path)
    _net(store)
    store.wipe()
    assert ResourceStore(path).list("network") == []


def test_state_file_with_unknown_version_is_refused(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 99, "resources": {}}))
    with pytest.raises(ValueError, match="version"):
        ResourceStore(path)
