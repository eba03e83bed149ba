"""RBAC policies in the database: one table per object type, listed as one collection.

Listings run over a UNION ALL of the registered types' tables, so filters, sorting
and keyset pagination work across types exactly as on any single table.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, insert, literal, select, union_all, update
from sqlalchemy.orm import Session

from neutrino.db.base import table_of, utcnow
from neutrino.db.query import Listing
from neutrino.db.rbac import WILDCARD, granted
from neutrino.db.resources import timestamp
from neutrino.plugins.rbac.registry import Losing, ObjectType, object_types

_COLUMNS = ("id", "project_id", "target_project", "action", "object_id", "created_at",
            "updated_at", "revision_number")


def _union() -> Any:
    parts = [select(*(getattr(t.rbac_model, c) for c in _COLUMNS),
                    literal(t.name).label("object_type")) for t in object_types()]
    return union_all(*parts).subquery("rbac_policies")


def policy_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "object_type": row.object_type, "object_id": row.object_id,
            "action": row.action, "target_tenant": row.target_project,
            "project_id": row.project_id, "tenant_id": row.project_id,
            "created_at": timestamp(row.created_at), "updated_at": timestamp(row.updated_at),
            "revision_number": row.revision_number}


def listing() -> tuple[Listing, Any]:
    """The listing over every type's policies, and the union it selects from."""
    union = _union()
    columns = {name: union.c[name] for name in (*_COLUMNS, "object_type")}
    columns.update(tenant_id=union.c.project_id, target_tenant=union.c.target_project)
    # Listing names its 404 for a bad marker after the model's table, minus a plural s.
    model = SimpleNamespace(id=union.c.id, __tablename__="rbac_policy")
    return Listing(model, columns), union


def load(session: Session, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    union = _union()
    rows = {r.id: r for r in session.execute(select(union).where(union.c.id.in_(ids)))}
    return [policy_dict(rows[i]) for i in ids if i in rows]


def find(session: Session, policy_id: str) -> tuple[ObjectType, Any] | None:
    """The policy's type and row, or None."""
    for object_type in object_types():
        model = object_type.rbac_model
        row = session.execute(select(model).where(model.id == policy_id)).scalar()
        if row is not None:
            return object_type, row
    return None


def lock_object(session: Session, object_type: ObjectType, object_id: str) -> Any:
    """The object's row (None if absent), locked so that changes to its policies are
    serial (SQLite: writers already are)."""
    model = object_type.object_model
    query = select(model.id, model.project_id).where(model.id == object_id)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return session.execute(query).first()


def granted_to(session: Session, object_type: ObjectType, object_id: str,
               project: str) -> bool:
    """Whether some policy on the object targets ``project`` or every project."""
    return bool(granted(session, object_type.rbac_model, [object_id], project))


def exists_policy(session: Session, object_type: ObjectType, object_id: str, action: str,
                  target: str) -> bool:
    model = object_type.rbac_model
    return session.execute(select(model.id).where(
        model.object_id == object_id, model.action == action,
        model.target_project == target)).first() is not None


def insert_policy(session: Session, object_type: ObjectType, values: dict[str, Any]) -> str:
    now = utcnow()
    policy_id = values.get("id") or str(uuid.uuid4())
    session.connection().execute(insert(table_of(object_type.rbac_model)), {
        "id": policy_id, "project_id": values["project_id"],
        "target_project": values["target_tenant"], "action": values["action"],
        "object_id": values["object_id"], "created_at": now, "updated_at": now,
        "revision_number": 0})
    return policy_id


def retarget(session: Session, object_type: ObjectType, policy_id: str, target: str) -> None:
    model = object_type.rbac_model
    session.execute(update(model).where(model.id == policy_id).values(
        target_project=target, updated_at=utcnow(),
        revision_number=model.revision_number + 1))


def remove(session: Session, object_type: ObjectType, policy_id: str) -> None:
    model = object_type.rbac_model
    session.execute(delete(model).where(model.id == policy_id))


def remove_all(session: Session, object_type: ObjectType, object_id: str, action: str,
               target: str | None = None) -> None:
    """Delete the object's ``action`` policies (only those for ``target`` if given)."""
    model = object_type.rbac_model
    query = delete(model).where(model.object_id == object_id, model.action == action)
    if target is not None:
        query = query.where(model.target_project == target)
    session.execute(query)


def losing(session: Session, object_type: ObjectType, owner: str, object_id: str,
           action: str, target: str, skip: str | None, gaining: str | None = None
           ) -> Losing | None:
    """Who loses ``action`` when the policy for ``target`` goes (``skip``: its id, if it
    exists; ``gaining``: a target that takes its place). None: nobody."""
    if target in (owner, gaining):
        return None
    model = object_type.rbac_model
    query = select(model.target_project).where(model.object_id == object_id,
                                               model.action == action)
    if skip is not None:
        query = query.where(model.id != skip)
    others = set(session.execute(query).scalars())
    if gaining is not None:
        others.add(gaining)
    if WILDCARD in others:
        return None
    if target == WILDCARD:
        return Losing(keep=frozenset({owner, *others}))
    return Losing(only=target)
