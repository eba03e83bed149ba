"""What RBAC policies grant a project: SQL clauses and batch look-ups.

Shared by the plugins whose objects RBAC policies share (networks, security groups
…) and by the RBAC plugin itself: a project sees an object it owns or one that a
policy targets at it or at every project (``*``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from neutrino.db.models.network import Network
from neutrino.db.models.rbac import ACCESS_EXTERNAL, ACCESS_SHARED, WILDCARD, NetworkRBAC

__all__ = ["ACCESS_EXTERNAL", "ACCESS_SHARED", "WILDCARD", "external_for", "granted",
           "granted_clause"]

_CHUNK = 500


def _targets(project: str | None) -> tuple[str, ...]:
    return (WILDCARD, project) if project else (WILDCARD,)


def granted_clause(rbac_model: Any, object_id: Any, project: str | None,
                   action: str | None = None) -> ColumnElement[bool]:
    """True where some policy on ``object_id`` (a column) targets ``project`` or ``*``
    (with ``action`` if given)."""
    conditions = [rbac_model.object_id == object_id,
                  rbac_model.target_project.in_(_targets(project))]
    if action is not None:
        conditions.append(rbac_model.action == action)
    clause: ColumnElement[bool] = exists().where(*conditions)
    return clause


def granted(session: Session, rbac_model: Any, object_ids: Iterable[str],
            project: str | None) -> dict[str, set[str]]:
    """The actions that policies grant ``project`` (or every project) on each object."""
    ids = sorted(set(object_ids))
    found: dict[str, set[str]] = defaultdict(set)
    for i in range(0, len(ids), _CHUNK):
        for object_id, action in session.execute(select(
                rbac_model.object_id, rbac_model.action).where(
                rbac_model.object_id.in_(ids[i:i + _CHUNK]),
                rbac_model.target_project.in_(_targets(project)))):
            found[object_id].add(action)
    return found


def external_for(session: Session, net_id: str, project: str | None) -> bool | None:
    """Whether ``project`` may use the network as external (any project if None):
    the network is external and the project owns it or a policy lets it use it so.
    None when the network does not exist or is not visible to the project at all."""
    row = session.execute(select(Network.project_id, Network.router_external).where(
        Network.id == net_id)).first()
    if row is None:
        return None
    if project is None or row.project_id == project:
        return bool(row.router_external)
    actions = granted(session, NetworkRBAC, [net_id], project).get(net_id, set())
    if not actions:
        return None
    return bool(row.router_external) and ACCESS_EXTERNAL in actions
