"""Security groups and rules in the journal: recorded rows, their links, and the
controller they end up in (the real reference controller, in memory)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from neutrino.context import admin_context
from neutrino.db.models.journal import JournalDependency, JournalEntry
from neutrino.journal.dependencies import Entry
from neutrino.journal.journal import loads, record
from neutrino.journal.securitygroups import record_security_group, record_security_group_rule
from neutrino.journal.worker import Backoff, SyncWorker, Waker
from neutrino.plugins.events import Events
from neutrino.plugins.ml2.mechanisms.sdn_controller import SdnControllerMechanismDriver

WEB, DB_SG = "sg-web", "sg-db"
PROJECT = "p1"


def _rule(rule_id: str, group: str, remote: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": rule_id, "security_group_id": group, "direction": "ingress",
            "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22,
            "port_range_max": 22, "remote_ip_prefix": None, "remote_group_id": remote,
            "project_id": PROJECT, "description": "", "revision_number": 0, **extra}


def _group(group_id: str, rules: list[dict[str, Any]] | None = None,
           **extra: Any) -> dict[str, Any]:
    return {"id": group_id, "name": group_id, "description": "", "project_id": PROJECT,
            "tenant_id": PROJECT, "stateful": True, "security_group_rules": rules or [],
            "tags": [], "revision_number": 0, **extra}


def _port(port_id: str, groups: list[str]) -> dict[str, Any]:
    return {"id": port_id, "network_id": "net-1", "fixed_ips": [],
            "security_groups": groups}


def _rows(db: Any) -> dict[int, tuple[str, str, str, Any]]:
    with db.reader() as session:
        return {r.seqnum: (r.object_type, r.object_uuid, r.operation, loads(r.data))
                for r in session.execute(select(JournalEntry)).scalars()}


def _links(db: Any) -> set[tuple[int, int]]:
    with db.reader() as session:
        return {(d, p) for d, p in session.execute(select(JournalDependency.dependent,
                                                          JournalDependency.depends_on))}


def test_group_create_records_the_group_then_its_rules(db):
    egress = _rule("r-egress", WEB, direction="egress", protocol=None)
    with db.transaction() as session:
        group_seq, rule_seq = record_security_group(
            session, "create", _group(WEB, [egress], **{"security_group:tenant_id": PROJECT}))
    rows = _rows(db)
    assert rows[group_seq][:3] == ("security_group", WEB, "create")
    assert rows[rule_seq][:3] == ("security_group_rule", "r-egress", "create")
    # Neutron's shapes: both owner keys, none of the plugin's private keys.
    group_data, rule_data = rows[group_seq][3], rows[rule_seq][3]
    assert "security_group:tenant_id" not in group_data
    assert group_data["security_group_rules"][0]["id"] == "r-egress"
    assert rule_data["tenant_id"] == rule_data["project_id"] == PROJECT
    assert _links(db) == {(rule_seq, group_seq)}


def test_a_rule_waits_for_its_group_and_its_remote_group(db):
    with db.transaction() as session:
        (web,) = record_security_group(session, "create", _group(WEB))
        (other,) = record_security_group(session, "create", _group(DB_SG))
        rule = record_security_group_rule(session, "create", _rule("r1", DB_SG, remote=WEB))
    assert _links(db) == {(rule, web), (rule, other)}


def test_a_port_waits_for_its_groups(db):
    with db.transaction() as session:
        (web,) = record_security_group(session, "create", _group(WEB))
        record_security_group(session, "create", _group(DB_SG))
        (port,) = record(session, [Entry("port", "port-1", "create", _port("port-1", [WEB]))])
    assert _links(db) == {(port, web)}


def test_group_delete_waits_for_rows_of_its_rules_and_ports(db):
    with db.transaction() as session:
        (web,) = record_security_group(session, "create", _group(WEB))
        (other,) = record_security_group(session, "create", _group(DB_SG))
    with db.transaction() as session:
        own_rule = record_security_group_rule(session, "create", _rule("r1", WEB))
        remote_rule = record_security_group_rule(session, "update",
                                                 _rule("r2", DB_SG, remote=WEB))
        (port,) = record(session, [Entry("port", "port-1", "update",
                                         _port("port-1", [WEB]))])
        (unrelated,) = record(session, [Entry("port", "port-2", "create",
                                              _port("port-2", [DB_SG]))])
    with db.transaction() as session:
        (delete,) = record_security_group(session, "delete", _group(WEB))
    waits_for = {p for d, p in _links(db) if d == delete}
    assert waits_for == {web, own_rule, remote_rule, port}
    assert unrelated not in waits_for and other not in waits_for


def test_a_rolled_back_change_leaves_no_row(db):
    with pytest.raises(RuntimeError), db.transaction() as session:
        record_security_group(session, "create", _group(WEB, [_rule("r1", WEB)]))
        raise RuntimeError("the security-group change failed after its precommit")
    assert _rows(db) == {}


# --- through the events registry, to the controller ---------------------------------

def _drain(db: Any, client: Any, settings: Any) -> None:
    worker = SyncWorker(0, db, client, settings, Backoff(), Waker(), threading.Event())
    while worker.run_once():
        pass


def _publish(events: Events, db: Any, resource: str, operation: str,
             item: dict[str, Any]) -> None:
    with db.transaction() as session:
        events.publish(resource, f"precommit_{operation}", admin_context(), item,
                       session=session)
    events.publish(resource, f"after_{operation}", admin_context(), item)


def test_driver_journals_security_group_events_into_the_controller(db, client, settings,
                                                                   controller):
    events = Events()
    driver = SdnControllerMechanismDriver(None, client)
    driver.subscribe(events)
    store = controller.store
    web = _group(WEB, [_rule("r-egress", WEB, direction="egress", protocol=None)])
    _publish(events, db, "security_group", "create", web)
    _publish(events, db, "security_group", "create", _group(DB_SG))
    _publish(events, db, "security_group_rule", "create", _rule("r-ssh", DB_SG, remote=WEB))
    _publish(events, db, "security_group", "update", {**web, "name": "web-2", "tags": ["x"]})
    _drain(db, client, settings)
    assert _rows(db) == {}                            # every row completed
    assert store.get("security_group", WEB)["name"] == "web-2"
    assert store.get("security_group", WEB)["tags"] == ["x"]
    assert {r["id"] for r in store.list("security_group_rule")} == {"r-egress", "r-ssh"}
    assert store.get("security_group_rule", "r-ssh")["remote_group_id"] == WEB

    _publish(events, db, "security_group_rule", "delete", _rule("r-ssh", DB_SG, remote=WEB))
    _publish(events, db, "security_group", "delete", web)
    _drain(db, client, settings)
    assert _rows(db) == {}
    assert [g["id"] for g in store.list("security_group")] == [DB_SG]
    assert store.list("security_group_rule") == []    # the group's rules went with it


def test_a_failing_precommit_refuses_the_change(db, client):
    """A journal error inside the precommit aborts the change (nothing is recorded)."""
    events = Events()
    SdnControllerMechanismDriver(None, client).subscribe(events)
    with pytest.raises(KeyError), db.transaction() as session:
        events.publish("security_group", "precommit_create", admin_context(),
                       {"name": "no id"}, session=session)
    assert _rows(db) == {}
