"""Security groups in the database: API dicts in batches, listings, the default group.

Loaders take a batch of ids and issue one query per table for the whole batch, so a
list of groups with their rules, or the groups of 2,000 ports, costs a few queries.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, exists, false, insert, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.apidef import securitygroup as sg
from neutrino.db.base import table_of, utcnow
from neutrino.db.models import (
    DefaultSecurityGroup,
    SecurityGroup,
    SecurityGroupPortBinding,
    SecurityGroupRBAC,
    SecurityGroupRule,
    Tag,
)
from neutrino.db.query import Listing, in_chunks
from neutrino.db.rbac import ACCESS_SHARED, granted, granted_clause
from neutrino.db.resources import keyed_rows, timestamp
from neutrino.plugins.securitygroups import templates

# The policy target's copy of the group's owner, for Neutron's ``sg_owner`` rule.
SG_OWNER_KEY = "security_group:project_id"




def _standard(row: Any) -> dict[str, Any]:
    return {"project_id": row.project_id, "tenant_id": row.project_id,
            "created_at": timestamp(row.created_at), "updated_at": timestamp(row.updated_at),
            "revision_number": row.revision_number}


# --- rules ---------------------------------------------------------------------------

def rule_dict(row: Any, default_groups: set[str]) -> dict[str, Any]:
    return {"id": row.id, "security_group_id": row.security_group_id,
            "direction": row.direction, "ethertype": row.ethertype,
            "protocol": row.protocol, "port_range_min": row.port_range_min,
            "port_range_max": row.port_range_max, "remote_ip_prefix": row.remote_ip_prefix,
            "remote_group_id": row.remote_group_id, "remote_address_group_id": None,
            "normalized_cidr": sg.normalized_cidr(row.remote_ip_prefix),
            "description": row.description, **_standard(row),
            "belongs_to_default_sg": row.security_group_id in default_groups}


def default_group_ids(session: Session, group_ids: Iterable[str]) -> set[str]:
    """Which of ``group_ids`` are some project's default group."""
    ids = sorted(set(group_ids))
    found: set[str] = set()
    for chunk in in_chunks(ids):
        found.update(session.execute(select(DefaultSecurityGroup.security_group_id).where(
            DefaultSecurityGroup.security_group_id.in_(chunk))).scalars())
    return found


def rules_of_groups(session: Session, group_ids: Sequence[str]) -> dict[str, list[Any]]:
    """Rule rows by group, oldest first."""
    by_group: dict[str, list[Any]] = defaultdict(list)
    for chunk in in_chunks(list(group_ids)):
        for row in session.execute(select(SecurityGroupRule).where(
                SecurityGroupRule.security_group_id.in_(chunk)).order_by(
                SecurityGroupRule.created_at, SecurityGroupRule.id)).scalars():
            by_group[row.security_group_id].append(row)
    return by_group


def load_rules(session: Session, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Rules in ``ids`` order, each with its group's owner under ``SG_OWNER_KEY``."""
    rows: dict[str, Any] = {}
    for chunk in in_chunks(list(ids)):
        for rule, owner in session.execute(select(SecurityGroupRule, SecurityGroup.project_id)
                                           .join(SecurityGroup, SecurityGroup.id ==
                                                 SecurityGroupRule.security_group_id)
                                           .where(SecurityGroupRule.id.in_(chunk))):
            rows[rule.id] = (rule, owner)
    defaults = default_group_ids(session, (r.security_group_id for r, _ in rows.values()))
    return [{**rule_dict(rows[i][0], defaults), SG_OWNER_KEY: rows[i][1]}
            for i in ids if i in rows]


def insert_rules(session: Session, project: str, rules: list[dict[str, Any]]) -> list[str]:
    """Insert ``rules`` (validated API values) for ``project``; return their ids."""
    now = utcnow()
    values = [{"id": r.get("id") or str(uuid.uuid4()), "project_id": project,
               "security_group_id": r["security_group_id"],
               "remote_group_id": r.get("remote_group_id"), "direction": r["direction"],
               "ethertype": r["ethertype"], "protocol": r.get("protocol"),
               "port_range_min": r.get("port_range_min"),
               "port_range_max": r.get("port_range_max"),
               "remote_ip_prefix": r.get("remote_ip_prefix"),
               "description": r.get("description") or "", "created_at": now,
               "updated_at": now, "revision_number": 0} for r in rules]
    if values:
        session.connection().execute(insert(table_of(SecurityGroupRule)), values)
    return [v["id"] for v in values]


def rule_listing() -> Listing:
    columns = {name: getattr(SecurityGroupRule, name) for name in (
        "id", "security_group_id", "direction", "ethertype", "protocol", "port_range_min",
        "port_range_max", "remote_ip_prefix", "remote_group_id", "description",
        "project_id", "created_at", "updated_at", "revision_number")}
    columns["tenant_id"] = SecurityGroupRule.project_id

    def belongs_to_default(values: list[Any]) -> Any:
        is_default = exists().where(
            DefaultSecurityGroup.security_group_id == SecurityGroupRule.security_group_id)
        wanted = {bool(v) for v in values}
        if wanted == {True, False}:
            return true()
        return is_default if wanted == {True} else ~is_default

    def remote_address_group(values: list[Any]) -> Any:
        # No rule has a remote address group (the extension is not offered).
        return true() if any(v in (None, "") for v in values) else false()

    return Listing(SecurityGroupRule, columns, {
        "belongs_to_default_sg": belongs_to_default,
        "remote_address_group_id": remote_address_group})


def rule_scope(project: str) -> Any:
    """Rules a project sees: its own, and every rule of its own groups."""
    return or_(SecurityGroupRule.project_id == project, exists().where(
        SecurityGroup.id == SecurityGroupRule.security_group_id,
        SecurityGroup.project_id == project))


# --- groups --------------------------------------------------------------------------

def load_groups(session: Session, ids: Sequence[str],
                viewer: str | None = None) -> list[dict[str, Any]]:
    """Groups in ``ids`` order with their rules embedded and their tags; ``shared`` as
    project ``viewer`` reads it (an RBAC policy for it or for every project)."""
    rows: dict[str, Any] = {}
    for chunk in in_chunks(list(ids)):
        rows.update((r.id, r) for r in session.execute(select(SecurityGroup).where(
            SecurityGroup.id.in_(chunk))).scalars())
    found = [i for i in ids if i in rows]
    rules = rules_of_groups(session, found)
    defaults = default_group_ids(session, found)
    tags: dict[str, list[str]] = defaultdict(list)
    for chunk in in_chunks(found):
        for rid, tag in session.execute(select(Tag.resource_id, Tag.tag).where(
                Tag.resource_id.in_(chunk)).order_by(Tag.tag)):
            tags[rid].append(tag)
    shared = granted(session, SecurityGroupRBAC, found, viewer)
    return [_group_dict(rows[i], [rule_dict(r, defaults) for r in rules.get(i, [])],
                        tags.get(i, []), ACCESS_SHARED in shared.get(i, ()))
            for i in found]


def _group_dict(row: Any, rules: list[dict[str, Any]], tags: list[str],
                shared: bool = False) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "description": row.description,
            **_standard(row), "stateful": row.stateful,
            "shared": shared, "security_group_rules": rules, "tags": tags}


def group_scope(project: str) -> Any:
    """Groups a project sees: its own and those RBAC policies share with it."""
    return or_(SecurityGroup.project_id == project,
               granted_clause(SecurityGroupRBAC, SecurityGroup.id, project))


def group_row(session: Session, group_id: str, lock: bool = False) -> Any:
    """The group's row (None if absent), locked until the transaction ends if asked."""
    query = select(SecurityGroup).where(SecurityGroup.id == group_id)
    if lock and session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return session.execute(query).scalar()


def insert_group(session: Session, values: dict[str, Any], default: bool = False) -> str:
    """Insert a group with its starting rules; return its id."""
    now = utcnow()
    group_id = values.get("id") or str(uuid.uuid4())
    session.connection().execute(insert(table_of(SecurityGroup)), {
        "id": group_id, "project_id": values["project_id"], "name": values.get("name", ""),
        "description": values.get("description", ""),
        "stateful": values.get("stateful", True), "created_at": now, "updated_at": now,
        "revision_number": 0})
    insert_rules(session, values["project_id"],
                 templates.rules_for_group(session, group_id, default))
    return group_id


def group_listing(viewer: str | None = None) -> Listing:
    columns = {name: getattr(SecurityGroup, name) for name in (
        "id", "name", "description", "project_id", "created_at", "updated_at",
        "revision_number", "stateful")}
    columns["tenant_id"] = SecurityGroup.project_id

    def shared(values: list[Any]) -> Any:
        wanted = {bool(v) for v in values}
        if wanted == {True, False}:
            return true()
        clause = granted_clause(SecurityGroupRBAC, SecurityGroup.id, viewer, ACCESS_SHARED)
        return clause if wanted == {True} else ~clause

    return Listing(SecurityGroup, columns, {"shared": shared})


# --- the default group ---------------------------------------------------------------

# Read on every network and port create of a project: built once.
_DEFAULT_GROUP_ID = select(DefaultSecurityGroup.security_group_id).where(
    DefaultSecurityGroup.project_id == bindparam("project"))


def default_group_id(session: Session, project: str, locking: bool = False) -> str | None:
    if not locking:
        session.flush()  # as session.execute would: a group added through the ORM
        return session.connection().execute(_DEFAULT_GROUP_ID,
                                            {"project": project}).scalar()
    query = select(DefaultSecurityGroup.security_group_id).where(
        DefaultSecurityGroup.project_id == project)
    if session.get_bind().dialect.name != "sqlite":
        # A locking read sees rows committed after this transaction's snapshot
        # (MariaDB's REPEATABLE READ would otherwise hide the winner's row).
        query = query.with_for_update()
    return session.execute(query).scalar()


def ensure_default(session: Session, project: str) -> tuple[str, bool]:
    """The project's ``default`` group, created (with Neutron's rules) if missing, and
    whether this call created it.

    The insert runs in a savepoint: when a concurrent request creates it first,
    the primary key on ``default_security_group.project_id`` refuses ours, the
    savepoint is undone and the winner's group is read.
    """
    found = default_group_id(session, project)
    if found is not None:
        return found, False
    try:
        with session.begin_nested():
            group_id = insert_group(session, {"project_id": project, "name": sg.DEFAULT_NAME,
                                              "description": "Default security group"},
                                    default=True)
            session.connection().execute(insert(table_of(DefaultSecurityGroup)), {
                "project_id": project, "security_group_id": group_id})
        return group_id, True
    except IntegrityError:
        found = default_group_id(session, project, locking=True)
        if found is None:
            raise
        return found, False


# --- ports ---------------------------------------------------------------------------

def port_groups(session: Session, port_ids: Sequence[str]) -> dict[str, list[str]]:
    """The groups of each port (sorted ids), in one statement on PostgreSQL.

    ``keyed_rows``: one array parameter rather than an IN list of a parameter per id,
    whose rendering and parsing cost more than the query on a list of thousands.
    """
    groups: dict[str, list[str]] = defaultdict(list)
    session.flush()  # as session.execute would: bindings added through the ORM show
    for pid, gid in keyed_rows(session, lambda match: select(
            SecurityGroupPortBinding.port_id, SecurityGroupPortBinding.security_group_id
    ).where(match(SecurityGroupPortBinding.port_id)).order_by(
            SecurityGroupPortBinding.security_group_id), port_ids):
        groups[pid].append(gid)
    return groups


def set_port_groups(session: Session, port_id: str, group_ids: Sequence[str],
                    replace: bool = True) -> None:
    if replace:
        session.execute(delete(SecurityGroupPortBinding).where(
            SecurityGroupPortBinding.port_id == port_id))
    if group_ids:
        session.connection().execute(insert(table_of(SecurityGroupPortBinding)), [
            {"port_id": port_id, "security_group_id": g} for g in dict.fromkeys(group_ids)])


def groups_in_use(session: Session, group_ids: Sequence[str]) -> set[str]:
    """Which of ``group_ids`` some port uses."""
    used: set[str] = set()
    for chunk in in_chunks(list(group_ids)):
        used.update(session.execute(select(SecurityGroupPortBinding.security_group_id)
                                    .where(SecurityGroupPortBinding.security_group_id
                                           .in_(chunk)).distinct()).scalars())
    return used


def visible_groups(session: Session, group_ids: Sequence[str],
                   project: str | None, shared: bool = False) -> set[str]:
    """Which of ``group_ids`` exist and belong to ``project`` (any project if None),
    or, with ``shared``, are shared with it by an RBAC policy."""
    found: set[str] = set()
    for chunk in in_chunks(list(group_ids)):
        query = select(SecurityGroup.id).where(SecurityGroup.id.in_(chunk))
        if project is not None:
            owned = SecurityGroup.project_id == project
            query = query.where(or_(owned, granted_clause(
                SecurityGroupRBAC, SecurityGroup.id, project, ACCESS_SHARED))
                if shared else owned)
        found.update(session.execute(query).scalars())
    return found

