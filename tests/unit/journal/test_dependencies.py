"""Dependency computation at record time (pure): who waits for whom."""

from neutrino.journal.dependencies import Entry, Row, RowIndex, references

NET, SUB, PORT, OTHER = "net-1", "sub-1", "port-1", "net-2"
PORT_DATA = {"id": PORT, "network_id": NET, "fixed_ips": [{"subnet_id": SUB,
                                                           "ip_address": "10.0.0.5"}]}


def row(seq, object_type, uuid, op, data=None):
    return Row(seq, object_type, uuid, op, references(object_type, data))


def test_port_references_network_and_subnets():
    assert references("port", PORT_DATA) == {NET, SUB}


def test_subnet_create_waits_for_its_network_create_only():
    index = RowIndex([row(1, "network", NET, "create"), row(2, "network", OTHER, "create")])
    assert index.parents(Entry("subnet", SUB, "create", {"id": SUB, "network_id": NET})) == [1]


def test_port_create_waits_for_network_and_subnet():
    index = RowIndex([row(1, "network", NET, "create"),
                      row(2, "subnet", SUB, "create", {"id": SUB, "network_id": NET})])
    assert index.parents(Entry("port", PORT, "create", PORT_DATA)) == [1, 2]


def test_update_waits_for_earlier_create_and_update_of_same_object():
    index = RowIndex([row(1, "port", PORT, "create", PORT_DATA),
                      row(2, "port", PORT, "update", PORT_DATA)])
    assert index.parents(Entry("port", PORT, "update", PORT_DATA)) == [1, 2]


def test_create_does_not_wait_for_unrelated_rows():
    index = RowIndex([row(1, "network", OTHER, "create"), row(2, "port", "p9", "update")])
    assert index.parents(Entry("network", NET, "create", {"id": NET})) == []


def test_delete_waits_for_pending_writes_of_itself_and_child_deletes():
    sub_data = {"id": SUB, "network_id": NET}
    index = RowIndex([row(1, "network", NET, "update", {"id": NET}),
                      row(2, "port", PORT, "delete", PORT_DATA),
                      row(3, "subnet", SUB, "delete", sub_data),
                      row(4, "subnet", "sub-x", "delete", {"id": "sub-x", "network_id": OTHER})])
    assert index.parents(Entry("network", NET, "delete", {"id": NET})) == [1, 2, 3]
    assert index.parents(Entry("subnet", SUB, "delete", sub_data)) == [2]


def test_delete_does_not_wait_for_child_creates():
    index = RowIndex([row(1, "port", PORT, "create", PORT_DATA)])
    assert index.parents(Entry("network", NET, "delete", {"id": NET})) == []


def test_router_port_waits_for_router():
    data = {**PORT_DATA, "device_owner": "network:router_interface", "device_id": "r1"}
    index = RowIndex([row(1, "router", "r1", "create")])
    assert index.parents(Entry("port", PORT, "create", data)) == [1]


# --- security groups ---------------------------------------------------------------

SG, REMOTE = "sg-1", "sg-2"
RULE = {"id": "rule-1", "security_group_id": SG, "remote_group_id": REMOTE,
        "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp"}
SG_PORT = {**PORT_DATA, "security_groups": [SG]}


def test_rule_waits_for_its_group_and_its_remote_group():
    index = RowIndex([row(1, "security_group", SG, "create"),
                      row(2, "security_group", REMOTE, "update"),
                      row(3, "security_group", "sg-9", "create")])
    assert index.parents(Entry("security_group_rule", "rule-1", "create", RULE)) == [1, 2]


def test_port_waits_for_its_security_groups():
    index = RowIndex([row(1, "security_group", SG, "create"),
                      row(2, "security_group", "sg-9", "create")])
    assert index.parents(Entry("port", PORT, "create", SG_PORT)) == [1]
    assert index.parents(Entry("port", PORT, "update", SG_PORT)) == [1]


def test_group_delete_waits_for_rule_and_port_rows_naming_it():
    index = RowIndex([row(1, "security_group_rule", "rule-1", "create", RULE),
                      row(2, "port", PORT, "update", SG_PORT),
                      row(3, "security_group_rule", "rule-2", "delete",
                          {"id": "rule-2", "security_group_id": SG}),
                      row(4, "port", "port-9", "create", PORT_DATA),
                      row(5, "security_group_rule", "rule-3", "create",
                          {"id": "rule-3", "security_group_id": "sg-9"})])
    assert index.parents(Entry("security_group", SG, "delete", {"id": SG})) == [1, 2, 3]
    # The remote group's delete waits for the rule that names it too.
    assert index.parents(Entry("security_group", REMOTE, "delete", {"id": REMOTE})) == [1]


def test_other_deletes_still_wait_only_for_child_deletes():
    index = RowIndex([row(1, "port", PORT, "update", PORT_DATA)])
    assert index.parents(Entry("network", NET, "delete", {"id": NET})) == []
