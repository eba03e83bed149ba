"""``/v2.0/default-security-group-rules``: the template's API half of the SG plugin.

Create is checked as a security-group rule is (``rules.validate``), then against the
template: a rule identical to one already used for the same kind of group (default
or not) is a 409, as two identical rules in one group would be.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from neutrino.apidef import securitygroup as sg
from neutrino.apidef import sg_default_rules as ext
from neutrino.context import Context
from neutrino.db.query import Page
from neutrino.plugins.securitygroups import rules as sg_rules
from neutrino.plugins.securitygroups import store, templates

_KINDS = ("used_in_default_sg", "used_in_non_default_sg")


def _key(rule: dict[str, Any]) -> Hashable:
    return sg_rules.rule_key({**rule, "security_group_id": None})


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Would ``a`` and ``b`` both go into some group?"""
    return any(a[kind] and b[kind] for kind in _KINDS)


def check_duplicates(existing: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
    """409 if a new rule repeats another new one or one of the template, for the same
    kind of group (Neutron's ``DuplicateDefaultSgRuleInPost`` / ``…Exists``)."""
    for i, rule in enumerate(new):
        for other in new[:i]:
            if _key(rule) == _key(other) and _overlap(rule, other):
                raise ext.DuplicateDefaultSgRuleInPost()
        for old in existing:
            if _key(rule) == _key(old) and _overlap(rule, old):
                raise ext.DefaultSecurityGroupRuleExists(rule_id=old["id"])


def _check_remote_groups(session: Session, bodies: list[dict[str, Any]]) -> None:
    """A named remote group must exist (Neutron does not check, and every group
    made from the template afterwards would point nowhere)."""
    named = sorted({b["remote_group_id"] for b in bodies
                    if b.get("remote_group_id") not in (None, ext.PARENT)})
    missing = sorted(set(named) - store.visible_groups(session, named, None))
    if missing:
        raise sg.SecurityGroupNotFound(id=missing[0])


class DefaultRulesMixin:
    """The template's collection methods, for the security-group plugin."""

    db: Any

    def _write(self, fn: Any) -> Any:
        raise NotImplementedError

    def create_default_security_group_rule_bulk(
            self, ctx: Context, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for body in bodies:
            sg_rules.validate(body)

        def in_tx(session: Session) -> list[dict[str, Any]]:
            _check_remote_groups(session, bodies)
            check_duplicates(templates.all_rules(session), bodies)
            return templates.load(session, templates.insert_rules(session, bodies))

        made: list[dict[str, Any]] = self._write(in_tx)
        return made

    def get_default_security_group_rule(self, ctx: Context, rule_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            found = templates.load(session, [rule_id])
        if not found:
            raise ext.DefaultSecurityGroupRuleNotFound(id=rule_id)
        return found[0]

    def get_default_security_group_rules(self, ctx: Context, filters: dict[str, list[Any]],
                                         page: Page | None = None) -> list[dict[str, Any]]:
        with self.db.reader() as session:
            ids = templates.listing().select_ids(session, filters, None, page or Page())
            return templates.load(session, ids)

    def update_default_security_group_rule(self, ctx: Context, rule_id: str,
                                           changes: dict[str, Any]) -> dict[str, Any]:
        # Nothing is writable (the controller refuses every key), as in Neutron.
        return self.get_default_security_group_rule(ctx, rule_id)

    def delete_default_security_group_rule(self, ctx: Context, rule_id: str) -> None:
        def in_tx(session: Session) -> None:
            gone = session.execute(delete(templates.Template).where(
                templates.Template.id == rule_id))
            if not gone.rowcount:  # type: ignore[attr-defined]
                raise ext.DefaultSecurityGroupRuleNotFound(id=rule_id)

        self._write(in_tx)
