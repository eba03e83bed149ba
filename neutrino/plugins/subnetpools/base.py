"""What the subnet-pool plugin's parts share: retried transactions, If-Match, visibility."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.plugins.base import ServicePlugin
from neutrino.plugins.events import Events


def check_revision(ctx: Context, current: int) -> None:
    """Honour ``If-Match: revision_number=N`` inside the writing transaction."""
    wanted = getattr(ctx, "if_match_revision", None)
    if wanted is not None and wanted != current:
        raise exc.RevisionNumberConstraintFailed(
            constraint=f"revision_number={wanted}", current=current)


def viewer(ctx: Context) -> str | None:
    """The project whose view applies (None: an admin sees everything)."""
    return None if ctx.is_admin else (ctx.project_id or "")


def may_use(ctx: Context, row: Any) -> bool:
    """A pool or scope is usable by its owner, by anyone if shared, and by admins."""
    project = viewer(ctx)
    return project is None or row.project_id == project or bool(row.shared)


class PoolsBase(ServicePlugin):
    events: Events

    def _write(self, fn: Callable[[Session], Any]) -> Any:
        def attempt() -> Any:
            with self.db.transaction() as session:
                return fn(session)
        return self.db.retrying(attempt)
