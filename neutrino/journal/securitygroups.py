"""Journal rows of security groups and rules, and their place in full sync.

Rows carry Neutron's dicts: a group with ``id``, ``name``, ``description``,
``project_id``/``tenant_id``, ``stateful``, ``security_group_rules``, ``tags``,
``revision_number`` …; a rule with ``id``, ``security_group_id``, ``direction``,
``ethertype``, ``protocol``, ``port_range_min``/``max``, ``remote_ip_prefix``,
``remote_group_id`` …. Their ordering is ``dependencies``' business (a rule waits
for its group and its remote group; a group delete waits for the rows of its
rules and of the ports that use it).

A group is created together with its first rules (Neutron's two egress rules, a
default group's four), announced as one group: recording its create also records
a create per embedded rule, so the controller gets them as rules too (as
networking-odl does). Rules added later come through ``record_security_group_rule``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.db.models.journal import CREATE
from neutrino.journal import full_sync
from neutrino.journal.dependencies import Entry
from neutrino.journal.journal import record

SECURITY_GROUP = "security_group"
SECURITY_GROUP_RULE = "security_group_rule"

Loader = Callable[[Session, Sequence[str]], list[dict[str, Any]]]


def _neutron_shape(item: dict[str, Any]) -> dict[str, Any]:
    """The API dict: both owner keys, none of the plugin's own (``security_group:…``)."""
    data = {k: v for k, v in item.items() if ":" not in k}
    owner = data.get("project_id", data.get("tenant_id"))
    if owner is not None:
        data.setdefault("project_id", owner)
        data.setdefault("tenant_id", owner)
    return data


def _with_owner(rule: dict[str, Any], group: dict[str, Any]) -> dict[str, Any]:
    return {"project_id": group.get("project_id"), "tenant_id": group.get("tenant_id"),
            **rule}


def record_security_group(session: Session, operation: str, sg: dict[str, Any]) -> list[int]:
    """Record a change of group ``sg`` in ``session``'s transaction; return the seqnums.

    A create also records a create of each rule in ``security_group_rules``, after
    the group's row.
    """
    group = _neutron_shape(sg)
    entries = [Entry(SECURITY_GROUP, group["id"], operation, group)]
    if operation == CREATE:
        entries += [Entry(SECURITY_GROUP_RULE, r["id"], CREATE,
                          _neutron_shape(_with_owner(r, group)))
                    for r in group.get("security_group_rules") or []]
    return record(session, entries)


def record_security_group_rule(session: Session, operation: str,
                               rule: dict[str, Any]) -> int:
    """Record a change of ``rule`` in ``session``'s transaction; return its seqnum."""
    data = _neutron_shape(rule)
    return record(session, [Entry(SECURITY_GROUP_RULE, data["id"], operation, data)])[0]


def _ids_of(model: Any) -> Callable[[Session], list[str]]:
    def all_ids(session: Session) -> list[str]:
        return list(session.execute(select(model.id).order_by(model.created_at, model.id))
                    .scalars())
    return all_ids


def _shaped(load: Loader) -> Loader:
    def shaped(session: Session, ids: Sequence[str]) -> list[dict[str, Any]]:
        return [_neutron_shape(item) for item in load(session, ids)]
    return shaped


def register_full_sync(group_model: Any, load_groups: Loader, rule_model: Any,
                       load_rules: Loader) -> None:
    """Have full sync re-record every group, then every rule, before the networks.

    Groups go first (ports name them); rules after all groups (a rule may name
    any group as its remote group). Registering again changes nothing.
    """
    if full_sync.source_for(SECURITY_GROUP) is None:
        full_sync.register(full_sync.ResourceSource(
            SECURITY_GROUP, _ids_of(group_model), _shaped(load_groups)), before="network")
    if full_sync.source_for(SECURITY_GROUP_RULE) is None:
        full_sync.register(full_sync.ResourceSource(
            SECURITY_GROUP_RULE, _ids_of(rule_model), _shaped(load_rules)), before="network")
