"""The ``quotas`` table: limits, lock rows and live usage counts.

Every function works in the caller's session. Lock rows are inserted with the
backend's "insert unless present" so that two transactions making the same row
both go on, the second after the first commits; they then queue on
``SELECT … FOR UPDATE`` (SQLite needs no row lock: its writers are serial).

The lock and the count run on every create of a tracked resource, so their statements
are built once and run on the session's connection: building and compiling-cache
keying a ``select`` per call cost more than the database takes to answer it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.orm import Session

from neutrino.db.base import table_of
from neutrino.db.models import Quota


def _insert_missing(session: Session, project: str, resources: Iterable[str]) -> None:
    rows = [{"id": str(uuid.uuid4()), "project_id": project, "resource": r, "limit": None}
            for r in resources]
    if not rows:
        return
    table = table_of(Quota)
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    else:
        stmt = mysql.insert(table)
        stmt = stmt.on_duplicate_key_update(resource=stmt.inserted.resource)
    session.connection().execute(stmt, rows)


def _locked_limit(project: str, resource: str) -> Any:
    """SELECT … FOR UPDATE of a project's lock row for a resource, with the bound
    parameters named ``project`` and ``resource``."""
    return select(Quota.limit).where(
        Quota.project_id == bindparam(project), Quota.resource == bindparam(resource)
    ).with_for_update()


_LOCKED_LIMIT = _locked_limit("project", "resource")
# The same lock for a creator to fold into its insert (PostgreSQL, as a CTE): its
# parameters named so as not to meet the insert's.
LOCKED_LIMIT_FOLDED = _locked_limit("quota_project", "quota_resource")
_COUNTS: dict[Any, Any] = {}  # model → its per-project count statement


def _locked_row(session: Session, project: str, resource: str) -> Any:
    return session.connection().execute(
        _LOCKED_LIMIT, {"project": project, "resource": resource}).first()


def lock(session: Session, project: str, resource: str, default: int) -> int:
    """The project's limit of ``resource``, its lock row held to the end of the
    transaction when the limit is not −1 (one query when the project has no row and
    ``default`` is −1, or its row says −1).
    """
    row = _locked_row(session, project, resource)
    if row is None:
        if default < 0:
            return default
        _insert_missing(session, project, [resource])
        row = _locked_row(session, project, resource)
    return default if row.limit is None else int(row.limit)


def count(session: Session, model: Any, project: str) -> int:
    """Rows of ``model`` the project owns, as this transaction sees them."""
    stmt = _COUNTS.get(model)
    if stmt is None:
        stmt = _COUNTS[model] = select(func.count()).select_from(model).where(
            model.project_id == bindparam("project"))
    session.flush()  # rows added through the ORM count too (session.execute autoflushed)
    return int(session.connection().execute(stmt, {"project": project}).scalar_one())


def overrides(session: Session, project: str) -> dict[str, int]:
    """The project's own limits (no row, or a NULL limit: the default applies)."""
    return {r: int(limit or 0) for r, limit in session.execute(
        select(Quota.resource, Quota.limit).where(Quota.project_id == project,
                                                  Quota.limit.is_not(None)))}


def all_overrides(session: Session) -> dict[str, dict[str, int]]:
    """Every project's own limits, for the projects that have any."""
    found: dict[str, dict[str, int]] = {}
    for project, resource, limit in session.execute(
            select(Quota.project_id, Quota.resource, Quota.limit).where(
                Quota.limit.is_not(None)).order_by(Quota.project_id, Quota.resource)):
        found.setdefault(project, {})[resource] = int(limit or 0)
    return found


def set_limits(session: Session, project: str, limits: dict[str, int]) -> None:
    """Store the project's limits (each row made if missing, then updated)."""
    _insert_missing(session, project, sorted(limits))
    for resource, limit in sorted(limits.items()):
        session.execute(update(Quota).where(Quota.project_id == project,
                                            Quota.resource == resource).values(limit=limit))


def clear_limits(session: Session, project: str) -> None:
    """Back to the defaults; the rows stay as lock rows."""
    session.execute(update(Quota).where(Quota.project_id == project).values(limit=None))
