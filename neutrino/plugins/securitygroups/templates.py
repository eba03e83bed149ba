"""The default security group rule template in the database, and the rules it gives.

``rules_for_group`` is what a new group starts with: the template rows for its kind
(a project's ``default`` group or any other), ``PARENT`` turned into the group's own
id. A template rule whose remote group has since been deleted is left out, rather
than making every new group fail on a dangling reference.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from neutrino.apidef import sg_default_rules as ext
from neutrino.db.base import table_of, utcnow
from neutrino.db.models import SecurityGroup, SecurityGroupDefaultRule
from neutrino.db.query import Listing

Template = SecurityGroupDefaultRule
_FIELDS = ("id", "direction", "ethertype", "protocol", "port_range_min", "port_range_max",
           "remote_ip_prefix", "remote_group_id", "remote_address_group_id", "description",
           "used_in_default_sg", "used_in_non_default_sg")
# What a template rule passes on to the rules made from it.
_RULE_FIELDS = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",
                "remote_ip_prefix", "remote_group_id")


def template_dict(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _FIELDS}


def load(session: Session, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Template rules in ``ids`` order."""
    if not ids:
        return []
    rows = {r.id: r for r in session.execute(select(Template).where(
        Template.id.in_(list(ids)))).scalars()}
    return [template_dict(rows[i]) for i in ids if i in rows]


def all_rules(session: Session) -> list[dict[str, Any]]:
    return [template_dict(r) for r in session.execute(select(Template).order_by(
        Template.created_at, Template.id)).scalars()]


def listing() -> Listing:
    columns = {name: getattr(Template, name) for name in _FIELDS}
    return Listing(Template, columns)


def insert_rules(session: Session, rules: list[dict[str, Any]]) -> list[str]:
    """Insert validated template rules; return their ids."""
    now = utcnow()
    ids = [str(uuid.uuid4()) for _ in rules]
    values = [{**{k: r.get(k) for k in _FIELDS}, "id": rule_id,
               "description": r.get("description") or "", "created_at": now}
              for rule_id, r in zip(ids, rules, strict=True)]
    if values:
        session.connection().execute(insert(table_of(Template)), values)
    return ids


def rules_for_group(session: Session, group_id: str, default: bool) -> list[dict[str, Any]]:
    """The rules (``insert_rules`` values of the group store) a new group starts with."""
    flag = Template.used_in_default_sg if default else Template.used_in_non_default_sg
    rows = list(session.execute(select(Template).where(flag).order_by(
        Template.created_at, Template.id)).scalars())
    named = {r.remote_group_id for r in rows if r.remote_group_id not in (None, ext.PARENT)}
    existing = set(session.execute(select(SecurityGroup.id).where(
        SecurityGroup.id.in_(sorted(named)))).scalars()) if named else set()
    made = []
    for row in rows:
        rule = {name: getattr(row, name) for name in _RULE_FIELDS}
        if rule["remote_group_id"] == ext.PARENT:
            rule["remote_group_id"] = group_id
        elif rule["remote_group_id"] is not None and rule["remote_group_id"] not in existing:
            continue
        made.append({**rule, "security_group_id": group_id, "description": ""})
    return made
