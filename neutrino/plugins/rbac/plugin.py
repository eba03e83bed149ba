"""The RBAC service plugin: ``/v2.0/rbac-policies`` over the registered object types.

ML2 brings it along (``implicit_service_plugins``). It keeps a network's ``shared``
and ``router:external`` and its wildcard policies in step both ways: a network
created or updated with ``shared``/``router:external`` gets (or loses) its wildcard
policy in the network's own transaction (``network`` precommit events), and a policy
change that flips either is a network update in the policy's transaction
(``core_plugin.set_network_access``), journaled for the SDN controller like any.
Subnet pools and address scopes the same way (``pools.py``), without the journal.
Its own changes are published as ``rbac_policy`` events (``precommit_*`` with
``session=``, ``after_*``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import rbac as rbac_api
from neutrino.context import Context
from neutrino.db.query import Page
from neutrino.plugins.base import ServicePlugin
from neutrino.plugins.rbac import networks as net_access
from neutrino.plugins.rbac import pools, store
from neutrino.plugins.rbac.policies import POLICY_RULES
from neutrino.plugins.rbac.registry import ObjectType, object_type
from neutrino.plugins.rbac.types import register_builtin

Postcommit = Callable[[], None]


def _check_revision(ctx: Context, current: int) -> None:
    wanted = getattr(ctx, "if_match_revision", None)
    if wanted is not None and wanted != current:
        raise exc.RevisionNumberConstraintFailed(
            constraint=f"revision_number={wanted}", current=current)


class Plugin(ServicePlugin):
    """RBAC policies (``service_plugins = rbac``)."""

    resources = [rbac_api.RBAC_POLICIES]
    supported_extension_aliases = [*rbac_api.ALIASES, *pools.ALIASES]
    policy_rules = POLICY_RULES

    def __init__(self, conf: Any, db: Any, core_plugin: Any) -> None:
        super().__init__(conf, db, core_plugin)
        register_builtin()
        self.events = core_plugin.events
        net_access.register(self.events)
        pools.register(self.events)

    # --- helpers -------------------------------------------------------------------

    def _write(self, fn: Callable[[Session], Any]) -> Any:
        try:
            return self.db.write(fn)
        except IntegrityError:
            # The unique key on (target, object, action): a concurrent twin won.
            raise rbac_api.DuplicateRbacPolicy() from None

    def _object(self, session: Session, ctx: Context, kind: ObjectType,
                object_id: str) -> Any:
        """The object's (id, project_id) row, locked; 404 if absent or unseen."""
        row = store.lock_object(session, kind, object_id)
        if row is None:
            raise kind.not_found(object_id)
        if ctx.is_admin or row.project_id == ctx.project_id:
            return row
        if ctx.project_id and store.granted_to(session, kind, object_id, ctx.project_id):
            raise exc.InvalidInput(error_message="Only admins can manipulate policies on "
                                                 "objects they do not own")
        raise kind.not_found(object_id)

    def _check_losing(self, session: Session, kind: ObjectType, owner: str, row: Any,
                      gaining: str | None = None) -> None:
        losing = store.losing(session, kind, owner, row.object_id, row.action,
                              row.target_project, row.id, gaining)
        if losing is None or kind.in_use is None:
            return
        details = kind.in_use(session, row.object_id, row.action, losing)
        if details:
            raise rbac_api.RbacPolicyInUse(object_id=row.object_id, details=details)

    @staticmethod
    def _check_target(session: Session, kind: ObjectType, object_id: str, action: str,
                      target: str) -> None:
        if kind.check_target is not None:
            kind.check_target(session, object_id, action, target)

    def _sync(self, session: Session, ctx: Context, kind: ObjectType,
              object_id: str) -> Postcommit | None:
        if kind.sync is None:
            return None
        return kind.sync(session, ctx, self.core_plugin, object_id)

    @staticmethod
    def _after(postcommits: list[Postcommit | None]) -> None:
        for postcommit in postcommits:
            if postcommit is not None:
                postcommit()

    # --- the collection ------------------------------------------------------------

    def create_rbac_policy(self, ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        return self.create_rbac_policy_bulk(ctx, [body])[0]

    def create_rbac_policy_bulk(self, ctx: Context, bodies: list[dict[str, Any]]
                                ) -> list[dict[str, Any]]:
        for body in bodies:
            actions = rbac_api.actions_of(body["object_type"])
            if body["action"] not in actions:
                raise rbac_api.InvalidActionForType(
                    action=body["action"], object_type=body["object_type"],
                    valid_actions=", ".join(actions))

        def in_tx(session: Session) -> tuple[list[dict[str, Any]], list[Postcommit | None]]:
            made, postcommits = [], []
            for body in bodies:
                kind = object_type(body["object_type"])
                self._object(session, ctx, kind, body["object_id"])
                if store.exists_policy(session, kind, body["object_id"], body["action"],
                                       body["target_tenant"]):
                    raise rbac_api.DuplicateRbacPolicy()
                self._check_target(session, kind, body["object_id"], body["action"],
                                   body["target_tenant"])
                policy = store.load(session, [store.insert_policy(session, kind, body)])[0]
                self.events.publish("rbac_policy", "precommit_create", ctx, policy,
                                    session=session)
                postcommits.append(self._sync(session, ctx, kind, body["object_id"]))
                made.append(policy)
            return made, postcommits

        made, postcommits = self._write(in_tx)
        self._after(postcommits)
        for policy in made:
            self.events.publish("rbac_policy", "after_create", ctx, policy)
        return list(made)

    def get_rbac_policy(self, ctx: Context, policy_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            found = store.load(session, [policy_id])
        if not found:
            raise rbac_api.RbacPolicyNotFound(id=policy_id)
        return found[0]

    def get_rbac_policies(self, ctx: Context, filters: dict[str, list[Any]],
                          page: Page | None = None) -> list[dict[str, Any]]:
        listing, union = store.listing()
        scope = None if ctx.is_admin else union.c.project_id == (ctx.project_id or "")
        with self.db.reader() as session:
            ids = listing.select_ids(session, filters, scope, page or Page())
            return store.load(session, list(ids))

    def update_rbac_policy(self, ctx: Context, policy_id: str,
                           changes: dict[str, Any]) -> dict[str, Any]:
        holder: dict[str, Any] = {}

        def in_tx(session: Session) -> tuple[dict[str, Any], Postcommit | None]:
            kind, row, owner = self._locked_policy(session, ctx, policy_id)
            _check_revision(ctx, row.revision_number)
            original = holder["original"] = store.load(session, [policy_id])[0]
            target = changes.get("target_tenant", row.target_project)
            postcommit = None
            if target != row.target_project:
                if store.exists_policy(session, kind, row.object_id, row.action, target):
                    raise rbac_api.DuplicateRbacPolicy()
                self._check_losing(session, kind, owner, row, gaining=target)
                self._check_target(session, kind, row.object_id, row.action, target)
                store.retarget(session, kind, policy_id, target)
                postcommit = self._sync(session, ctx, kind, row.object_id)
            policy = store.load(session, [policy_id])[0]
            self.events.publish("rbac_policy", "precommit_update", ctx, policy, original,
                                session=session)
            return policy, postcommit

        policy, postcommit = self._write(in_tx)
        self._after([postcommit])
        self.events.publish("rbac_policy", "after_update", ctx, policy, holder["original"])
        return dict(policy)

    def delete_rbac_policy(self, ctx: Context, policy_id: str) -> None:
        def in_tx(session: Session) -> tuple[dict[str, Any], Postcommit | None]:
            kind, row, owner = self._locked_policy(session, ctx, policy_id)
            _check_revision(ctx, row.revision_number)
            policy = store.load(session, [policy_id])[0]
            self._check_losing(session, kind, owner, row)
            self.events.publish("rbac_policy", "precommit_delete", ctx, policy,
                                session=session)
            store.remove(session, kind, policy_id)
            return policy, self._sync(session, ctx, kind, row.object_id)

        policy, postcommit = self._write(in_tx)
        self._after([postcommit])
        self.events.publish("rbac_policy", "after_delete", ctx, policy)

    def _locked_policy(self, session: Session, ctx: Context,
                       policy_id: str) -> tuple[ObjectType, Any, str]:
        """The policy's type and row, read again once its object is locked (a
        concurrent change may have moved it), and the object's owner."""
        found = store.find(session, policy_id)
        if found is None:
            raise rbac_api.RbacPolicyNotFound(id=policy_id)
        owner = self._object(session, ctx, found[0], found[1].object_id).project_id
        found = store.find(session, policy_id)
        if found is None:
            raise rbac_api.RbacPolicyNotFound(id=policy_id)
        return found[0], found[1], str(owner)
