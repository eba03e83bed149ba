"""Subnet pools and address scopes as RBAC object types (``rbac-subnetpool``,
``rbac-address-scope``).

``access_as_shared`` on a pool lets the target project see it and allocate subnets
from it; on a scope, see it and put its own pools in it. The objects' ``shared``
column mirrors "a wildcard ``access_as_shared`` policy exists", both ways: a pool or
scope created with ``shared: true``, or a scope updated to it, gets its wildcard
policy in its own transaction (``subnetpool``/``address_scope`` precommit events);
a policy change that adds or removes the wildcard sets the column (and bumps the
revision). Unsharing by update is what Neutron refuses (a pool's ``shared`` is not
updatable, a shared scope "can't be unshared"); removing or narrowing a policy is
409 ``RbacPolicyInUse`` while a subnet of a losing project comes from the pool, or a
pool of a losing project is in the scope. A pool in an address scope is shared only
with projects that reach the scope, as Neutron checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import address_scope as scope_api
from neutrino.apidef import subnetpool as sp
from neutrino.context import Context
from neutrino.db.base import utcnow
from neutrino.db.models import AddressScope, Subnet, SubnetPool
from neutrino.db.models.rbac import AddressScopeRBAC, SubnetPoolRBAC
from neutrino.db.rbac import ACCESS_SHARED, WILDCARD
from neutrino.plugins.events import Events
from neutrino.plugins.rbac import store
from neutrino.plugins.rbac.registry import (
    Losing,
    ObjectType,
    SyncHook,
    register_object_type,
)

ALIASES = ["rbac-subnetpool", "rbac-address-scope"]


def _any(session: Session, clause: Any) -> bool:
    return bool(session.execute(select(clause)).scalar())


def subnetpool_in_use(session: Session, pool_id: str, action: str,
                      losing: Losing) -> str | None:
    if _any(session, exists().where(Subnet.subnetpool_id == pool_id,
                                    losing.clause(Subnet.project_id))):
        return "Subnets of the projects losing access are allocated from the subnet pool."
    return None


def address_scope_in_use(session: Session, scope_id: str, action: str,
                         losing: Losing) -> str | None:
    if _any(session, exists().where(SubnetPool.address_scope_id == scope_id,
                                    losing.clause(SubnetPool.project_id))):
        return "Subnet pools of the projects losing access are in the address scope."
    return None


def _sync_shared(model: Any, rbac_model: Any) -> SyncHook:
    """A hook that sets the object's ``shared`` column to "a wildcard policy exists"."""

    def sync(session: Session, ctx: Context, core_plugin: Any,
             object_id: str) -> Callable[[], None] | None:
        wildcard = _any(session, exists().where(
            rbac_model.object_id == object_id, rbac_model.action == ACCESS_SHARED,
            rbac_model.target_project == WILDCARD))
        session.execute(update(model).where(
            model.id == object_id, model.shared != wildcard).values(
            shared=wildcard, updated_at=utcnow(),
            revision_number=model.revision_number + 1))
        return None  # pools and scopes are not journaled: nothing after the commit

    return sync


def check_pool_target(session: Session, pool_id: str, action: str, target: str) -> None:
    """A pool in an address scope is shared only with a project that reaches the scope
    (its owner, or a target of the scope's policies), or with every project if the
    scope is shared with every project."""
    row = session.execute(select(SubnetPool.address_scope_id, AddressScope.project_id).join(
        AddressScope, AddressScope.id == SubnetPool.address_scope_id).where(
        SubnetPool.id == pool_id)).first()
    if row is None or row.project_id == target:
        return
    targets = (WILDCARD,) if target == WILDCARD else (WILDCARD, target)
    if not _any(session, exists().where(AddressScopeRBAC.object_id == row.address_scope_id,
                                        AddressScopeRBAC.action == ACCESS_SHARED,
                                        AddressScopeRBAC.target_project.in_(targets))):
        raise exc.InvalidInput(error_message=(
            f"Failed to create RBAC policy on object {pool_id} because target project "
            "doesn't have access to associated address scope"))


SUBNETPOOL = ObjectType("subnetpool", SubnetPoolRBAC, SubnetPool, (ACCESS_SHARED,),
                        lambda i: sp.SubnetPoolNotFound(subnetpool_id=i), subnetpool_in_use,
                        _sync_shared(SubnetPool, SubnetPoolRBAC), check_pool_target)
ADDRESS_SCOPE = ObjectType("address_scope", AddressScopeRBAC, AddressScope, (ACCESS_SHARED,),
                           lambda i: scope_api.AddressScopeNotFound(address_scope_id=i),
                           address_scope_in_use, _sync_shared(AddressScope, AddressScopeRBAC))


# --- ``shared: true`` on the objects themselves -------------------------------------------

def _share(session: Session, kind: ObjectType, object_id: str, owner: str) -> None:
    if store.exists_policy(session, kind, object_id, ACCESS_SHARED, WILDCARD):
        return
    if kind.check_target is not None:
        kind.check_target(session, object_id, ACCESS_SHARED, WILDCARD)
    store.insert_policy(session, kind, {"project_id": owner, "target_tenant": WILDCARD,
                                        "action": ACCESS_SHARED, "object_id": object_id})


def _on_create(kind: ObjectType) -> Callable[..., None]:
    def on_create(resource: str, event: str, ctx: Context, current: dict[str, Any],
                  original: dict[str, Any] | None = None, *, session: Session,
                  **details: Any) -> None:
        # Neutron makes the wildcard policy of a new object in its owner's name.
        if current.get("shared"):
            _share(session, kind, current["id"], current["project_id"])
    return on_create


def on_scope_update(resource: str, event: str, ctx: Context, current: dict[str, Any],
                    original: dict[str, Any] | None = None, *, session: Session,
                    request: dict[str, Any] | None = None, **details: Any) -> None:
    """``shared: true`` on an existing scope: the wildcard policy, in the caller's name
    (as Neutron). The request, not ``current``: a project that a policy targets reads
    ``shared`` true already."""
    if (request or {}).get("shared") is True:
        _share(session, ADDRESS_SCOPE, current["id"], ctx.project_id or "")


def register(events: Events) -> None:
    for kind in (SUBNETPOOL, ADDRESS_SCOPE):
        register_object_type(kind)
    events.subscribe("subnetpool", "precommit_create", _on_create(SUBNETPOOL))
    events.subscribe("address_scope", "precommit_create", _on_create(ADDRESS_SCOPE))
    events.subscribe("address_scope", "precommit_update", on_scope_update)
