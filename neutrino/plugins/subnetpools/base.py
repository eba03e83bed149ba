"""What the subnet-pool plugin's parts share: retried transactions, If-Match, visibility."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.plugins.base import ServicePlugin
from neutrino.plugins.events import Events
from neutrino.plugins.subnetpools import store


def check_revision(ctx: Context, current: int) -> None:
    """Honour ``If-Match: revision_number=N`` inside the writing transaction."""
    wanted = getattr(ctx, "if_match_revision", None)
    if wanted is not None and wanted != current:
        raise exc.RevisionNumberConstraintFailed(
            constraint=f"revision_number={wanted}", current=current)


def viewer(ctx: Context) -> str | None:
    """The project whose view applies (None: an admin sees everything)."""
    return None if ctx.is_admin else (ctx.project_id or "")


def may_use(session: Session, ctx: Context, row: Any) -> bool:
    """A pool or scope is usable by admins, its owner, anyone if shared with every
    project (its ``shared`` column), and the projects an RBAC policy shares it with."""
    project = viewer(ctx)
    if project is None or row.project_id == project or row.shared:
        return True
    return row.id in store.shared_with(session, type(row), [row.id], project)


class PoolsBase(ServicePlugin):
    events: Events

    def _write(self, fn: Callable[[Session], Any]) -> Any:
        return self.db.write(fn)
