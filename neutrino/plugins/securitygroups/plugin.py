"""The security-group service plugin: ``security-groups`` and ``security-group-rules``.

In Neutron ML2 itself serves this extension; here it is a service plugin that ML2
always brings (``implicit_service_plugins``), and it reaches ports only through
``core_plugin.events``: precommit callbacks bind a port's groups inside the port's
transaction, a dict extender adds ``security_groups`` to port dicts (see
``ports.py``). Its own changes are published as ``security_group`` and
``security_group_rule`` events (``precommit_*`` with ``session=``, ``after_*``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import securitygroup as sg
from neutrino.apidef import sg_default_rules
from neutrino.context import Context, admin_context
from neutrino.db.base import utcnow
from neutrino.db.models import (
    DefaultSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
    Tag,
)
from neutrino.db.query import Page
from neutrino.journal import securitygroups as sg_journal
from neutrino.plugins.base import ServicePlugin
from neutrino.plugins.securitygroups import ports as sg_ports
from neutrino.plugins.securitygroups import rules as sg_rules
from neutrino.plugins.securitygroups import store
from neutrino.plugins.securitygroups.default_rules import DefaultRulesMixin
from neutrino.plugins.securitygroups.policies import POLICY_RULES
from neutrino.plugins.tags import TagChange, current_tags, store_tags


def _check_revision(ctx: Context, current: int) -> None:
    """Honour ``If-Match: revision_number=N`` inside the writing transaction."""
    wanted = getattr(ctx, "if_match_revision", None)
    if wanted is not None and wanted != current:
        raise exc.RevisionNumberConstraintFailed(
            constraint=f"revision_number={wanted}", current=current)


class Plugin(DefaultRulesMixin, ServicePlugin):
    """Security groups and rules (``service_plugins = security_groups``), and the
    template new groups take their rules from (``default_rules``)."""

    resources = [sg.SECURITY_GROUPS, sg.SECURITY_GROUP_RULES,
                 sg_default_rules.DEFAULT_SG_RULES]
    supported_extension_aliases = ["security-group", "stateful-security-group",
                                   "security-groups-rules-belongs-to-default-sg",
                                   "security-groups-shared-filtering",
                                   sg_default_rules.ALIAS]
    policy_rules = {**POLICY_RULES, **sg_default_rules.POLICY_RULES}
    tag_models = {"security-groups": SecurityGroup}

    def __init__(self, conf: Any, db: Any, core_plugin: Any) -> None:
        super().__init__(conf, db, core_plugin)
        self.events = core_plugin.events
        sg_ports.register(self.events, self.ensure_default_in)
        # A journal full sync re-records every group, then every rule, before networks.
        sg_journal.register_full_sync(SecurityGroup, store.load_groups, SecurityGroupRule,
                                      store.load_rules)

    # --- helpers -------------------------------------------------------------------

    def _write(self, fn: Callable[[Session], Any]) -> Any:
        return self.db.write(fn)

    def ensure_default_in(self, session: Session, project: str) -> str:
        """The project's default group, made in ``session``'s transaction if missing.

        A group made here is announced like any created group (``precommit_create``,
        in the transaction): the SDN controller's journal must hear of it too.
        """
        return self._ensure_default(session, project)[0]

    def _ensure_default(self, session: Session,
                        project: str) -> tuple[str, dict[str, Any] | None]:
        group_id, created = store.ensure_default(session, project)
        if not created:
            return group_id, None
        group = self._group(session, group_id)
        self.events.publish("security_group", "precommit_create", admin_context(), group,
                            session=session)
        return group_id, group

    def ensure_default(self, project: str | None) -> str | None:
        """The project's default group, created in its own transaction if missing."""
        if not project:
            return None
        with self.db.reader() as session:
            found = store.default_group_id(session, project)
        if found is not None:
            return found
        group_id, made = self._write(lambda s: self._ensure_default(s, project))
        if made is not None:
            self.events.publish("security_group", "after_create", admin_context(), made)
        return str(group_id)

    def _group(self, session: Session, group_id: str) -> dict[str, Any]:
        groups = store.load_groups(session, [group_id])
        if not groups:
            raise sg.SecurityGroupNotFound(id=group_id)
        return groups[0]

    # --- security groups -----------------------------------------------------------

    def create_security_group(self, ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        return self.create_security_group_bulk(ctx, [body])[0]

    def create_security_group_bulk(self, ctx: Context,
                                   bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for project in dict.fromkeys(b["project_id"] for b in bodies):
            self.ensure_default(project)

        def in_tx(session: Session) -> list[dict[str, Any]]:
            made = []
            for body in bodies:
                group = self._group(session, store.insert_group(session, body))
                self.events.publish("security_group", "precommit_create", ctx, group,
                                    session=session)
                made.append(group)
            return made

        groups: list[dict[str, Any]] = self._write(in_tx)
        for group in groups:
            self.events.publish("security_group", "after_create", ctx, group)
        return groups

    def get_security_group(self, ctx: Context, group_id: str) -> dict[str, Any]:
        self.ensure_default(ctx.project_id)
        with self.db.reader() as session:
            groups = store.load_groups(session, [group_id], ctx.project_id)
        if not groups:
            raise sg.SecurityGroupNotFound(id=group_id)
        return groups[0]

    def get_security_groups(self, ctx: Context, filters: dict[str, list[Any]],
                            page: Page | None = None) -> list[dict[str, Any]]:
        self.ensure_default(ctx.project_id)
        scope = None if ctx.is_admin else store.group_scope(ctx.project_id or "")
        with self.db.reader() as session:
            ids = store.group_listing(ctx.project_id).select_ids(session, filters, scope,
                                                                page or Page())
            return store.load_groups(session, ids, ctx.project_id)

    def update_security_group(self, ctx: Context, group_id: str,
                              changes: dict[str, Any]) -> dict[str, Any]:
        holder: dict[str, Any] = {}

        def in_tx(session: Session) -> dict[str, Any]:
            row = store.group_row(session, group_id, lock=True)
            if row is None:
                raise sg.SecurityGroupNotFound(id=group_id)
            _check_revision(ctx, row.revision_number)
            original = holder["original"] = self._group(session, group_id)
            self._check_update(session, row, changes)
            values = {k: changes[k] for k in ("name", "description", "stateful")
                      if k in changes}
            session.execute(update(SecurityGroup).where(SecurityGroup.id == group_id).values(
                revision_number=SecurityGroup.revision_number + 1, updated_at=utcnow(),
                **values))
            group = self._group(session, group_id)
            self.events.publish("security_group", "precommit_update", ctx, group, original,
                                session=session)
            return group

        group: dict[str, Any] = self._write(in_tx)
        self.events.publish("security_group", "after_update", ctx, group, holder["original"])
        return group

    @staticmethod
    def _check_update(session: Session, row: Any, changes: dict[str, Any]) -> None:
        if "name" in changes and changes["name"] != row.name and \
                store.default_group_ids(session, [row.id]):
            raise sg.SecurityGroupCannotUpdateDefault()
        if "stateful" in changes and changes["stateful"] != row.stateful and \
                store.groups_in_use(session, [row.id]):
            # Existing connections' conntrack state would contradict the new mode.
            raise sg.SecurityGroupInUse(id=row.id)

    def delete_security_group(self, ctx: Context, group_id: str) -> None:
        holder: dict[str, Any] = {}

        def in_tx(session: Session) -> dict[str, Any]:
            row = store.group_row(session, group_id, lock=True)
            if row is None:
                raise sg.SecurityGroupNotFound(id=group_id)
            _check_revision(ctx, row.revision_number)
            if store.default_group_ids(session, [group_id]) and not ctx.is_admin:
                raise sg.SecurityGroupCannotRemoveDefault()
            if store.groups_in_use(session, [group_id]):
                raise sg.SecurityGroupInUse(id=group_id)
            group = self._group(session, group_id)
            # Other groups' rules that name this one as their remote group go with it.
            holder["remote_of"] = sorted(set(session.execute(
                select(SecurityGroupRule.security_group_id).where(
                    SecurityGroupRule.remote_group_id == group_id,
                    SecurityGroupRule.security_group_id != group_id)).scalars()))
            self.events.publish("security_group", "precommit_delete", ctx, group,
                                session=session)
            session.execute(delete(SecurityGroupRule).where(or_(
                SecurityGroupRule.security_group_id == group_id,
                SecurityGroupRule.remote_group_id == group_id)))
            session.execute(delete(DefaultSecurityGroup).where(
                DefaultSecurityGroup.security_group_id == group_id))
            session.execute(delete(Tag).where(Tag.resource_id == group_id))
            session.execute(delete(SecurityGroup).where(SecurityGroup.id == group_id))
            return group

        group = self._write(in_tx)
        self.events.publish("security_group", "after_delete", ctx, group,
                            remote_of=holder["remote_of"])

    def update_tags(self, ctx: Context, collection: str, group_id: str,
                    change: TagChange) -> list[str]:
        """A tag change is an update of the group (revision bumped, events published)."""
        holder: dict[str, Any] = {}

        def in_tx(session: Session) -> dict[str, Any]:
            if store.group_row(session, group_id, lock=True) is None:
                raise sg.SecurityGroupNotFound(id=group_id)
            original = holder["original"] = self._group(session, group_id)
            before = current_tags(session, group_id)
            store_tags(session, collection, group_id, before, change.apply(before))
            session.execute(update(SecurityGroup).where(SecurityGroup.id == group_id).values(
                revision_number=SecurityGroup.revision_number + 1, updated_at=utcnow()))
            group = self._group(session, group_id)
            self.events.publish("security_group", "precommit_update", ctx, group, original,
                                session=session)
            return group

        group: dict[str, Any] = self._write(in_tx)
        self.events.publish("security_group", "after_update", ctx, group, holder["original"])
        return list(group["tags"])

    # --- rules ---------------------------------------------------------------------

    def create_security_group_rule(self, ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        return self.create_security_group_rule_bulk(ctx, [body])[0]

    def create_security_group_rule_bulk(self, ctx: Context, bodies: list[dict[str, Any]]
                                        ) -> list[dict[str, Any]]:
        projects = {b["project_id"] for b in bodies}
        if len(projects) > 1:
            raise sg.SecurityGroupRulesNotSingleTenant()
        project = projects.pop()
        for body in bodies:
            sg_rules.validate(body)
        keys = [sg_rules.rule_key(b) for b in bodies]
        if len(set(keys)) != len(keys):
            raise sg.DuplicateSecurityGroupRuleInPost()

        def in_tx(session: Session) -> list[dict[str, Any]]:
            self._check_rule_groups(session, ctx, bodies)
            self._check_duplicates(session, bodies, keys)
            made = store.load_rules(session, store.insert_rules(session, project, bodies))
            for rule in made:
                self.events.publish("security_group_rule", "precommit_create", ctx, rule,
                                    session=session)
            return made

        made: list[dict[str, Any]] = self._write(in_tx)
        for rule in made:
            # ``batch``: every rule of the request, so observers can act once per request.
            self.events.publish("security_group_rule", "after_create", ctx, rule, batch=made)
        return made

    @staticmethod
    def _check_rule_groups(session: Session, ctx: Context,
                           bodies: list[dict[str, Any]]) -> None:
        """The groups exist and are the caller's (admin: any); 404 otherwise.

        The groups' rows stay locked to the end of the transaction, so two requests
        adding the same rule to one group cannot both pass the duplicate check.
        """
        owner = None if ctx.is_admin else (ctx.project_id or "")
        groups = sorted({b["security_group_id"] for b in bodies})
        for group_id in groups:
            row = store.group_row(session, group_id, lock=True)
            if row is None or (owner is not None and row.project_id != owner):
                raise sg.SecurityGroupNotFound(id=group_id)
        remotes = sorted({b["remote_group_id"] for b in bodies if b.get("remote_group_id")})
        missing = sorted(set(remotes) - store.visible_groups(session, remotes, owner))
        if missing:
            raise sg.SecurityGroupNotFound(id=missing[0])

    @staticmethod
    def _check_duplicates(session: Session, bodies: list[dict[str, Any]],
                          keys: list[Any]) -> None:
        groups = sorted({b["security_group_id"] for b in bodies})
        existing = {}
        for rows in store.rules_of_groups(session, groups).values():
            for row in rows:
                existing[sg_rules.rule_key(store.rule_dict(row, set()))] = row.id
        for key in keys:
            if key in existing:
                raise sg.SecurityGroupRuleExists(rule_id=existing[key])

    def get_security_group_rule(self, ctx: Context, rule_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            rules = store.load_rules(session, [rule_id])
        if not rules:
            raise sg.SecurityGroupRuleNotFound(id=rule_id)
        return rules[0]

    def get_security_group_rules(self, ctx: Context, filters: dict[str, list[Any]],
                                 page: Page | None = None) -> list[dict[str, Any]]:
        scope = None if ctx.is_admin else store.rule_scope(ctx.project_id or "")
        with self.db.reader() as session:
            ids = store.rule_listing().select_ids(session, filters, scope, page or Page())
            return store.load_rules(session, ids)

    def update_security_group_rule(self, ctx: Context, rule_id: str,
                                   changes: dict[str, Any]) -> dict[str, Any]:
        # No rule attribute is writable (the controller refuses every key).
        return self.get_security_group_rule(ctx, rule_id)

    def delete_security_group_rule(self, ctx: Context, rule_id: str) -> None:
        def in_tx(session: Session) -> dict[str, Any]:
            rules = store.load_rules(session, [rule_id])
            if not rules:
                raise sg.SecurityGroupRuleNotFound(id=rule_id)
            rule = rules[0]
            store.group_row(session, rule["security_group_id"], lock=True)
            _check_revision(ctx, rule["revision_number"])
            self.events.publish("security_group_rule", "precommit_delete", ctx, rule,
                                session=session)
            session.execute(delete(SecurityGroupRule).where(SecurityGroupRule.id == rule_id))
            return rule

        rule = self._write(in_tx)
        self.events.publish("security_group_rule", "after_delete", ctx, rule, batch=[rule])
