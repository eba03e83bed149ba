"""Quota checks inside the creating transaction, so a project never ends above its limit.

Subscribed to ``precommit_create`` of every tracked resource. The new row is
already written when the event runs; the check locks the project's quota row for
that resource, then counts the project's rows as the transaction sees them (its own
new rows included) and refuses the change (409 ``OverQuota``) if the count exceeds
the limit. A concurrent create of the same resource in the same project waits on
the lock and, once it holds it, counts the first one's committed rows — which is
why the count must follow the lock and not come from a cache. Neutron's default
driver checks before the transaction without a lock and can overshoot.

A bulk create publishes one event per item in one transaction: the lock is taken
once (the limit is remembered in ``session.info``) and each item recounts, so a
bulk of N counts N and is refused whole.

A creator may take the lock in the statement that inserts its row (``lock_query``,
then ``locked`` with what it read): the count still comes in a later statement, after
the lock is held, so it still sees every earlier holder's committed rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from neutrino.apidef.quota import UNLIMITED, OverQuota
from neutrino.context import Context
from neutrino.plugins.quotas import store
from neutrino.plugins.quotas.registry import Tracked

DefaultOf = Callable[[str], int]


class Enforcer:
    """The ``precommit_create`` callback of tracked resources."""

    def __init__(self, tracked: dict[str, Tracked], default_of: DefaultOf) -> None:
        self.tracked = tracked
        self.default_of = default_of

    def __call__(self, resource: str, event: str, ctx: Context, current: dict[str, Any],
                 original: dict[str, Any] | None = None, *, session: Session,
                 **details: Any) -> None:
        tracked = self.tracked[resource]
        if tracked.exempt(current):
            return
        project = str(current["project_id"])
        limit = self._limit(session, project, resource)
        if limit != UNLIMITED and store.count(session, tracked.model, project) > limit:
            raise OverQuota([resource])

    def lock_query(self, resource: str, item: dict[str, Any]) -> tuple[Any, dict[str, Any]] | None:
        """The SELECT … FOR UPDATE of the lock row that creating ``item`` takes, and its
        parameters, for the creator to fold into its insert; None when the create takes
        no lock (the resource has no quota, or the item is exempt).

        The statement reads the row's ``limit``; no row read: none exists yet and the
        precommit check makes it. Pass what was read to ``locked``.
        """
        tracked = self.tracked.get(resource)
        if tracked is None or tracked.exempt(item):
            return None
        return store.LOCKED_LIMIT_FOLDED, {"quota_project": str(item["project_id"]),
                                           "quota_resource": resource}

    def locked(self, session: Session, resource: str, project: str, rows: int,
               limit: int | None) -> None:
        """The creator's folded lock read ``rows`` rows (0 or 1), the row's ``limit``:
        with a row, it is held and the precommit check only counts."""
        if rows:
            session.info[("quota", project, resource)] = (
                self.default_of(resource) if limit is None else int(limit))

    def _limit(self, session: Session, project: str, resource: str) -> int:
        """The limit, locked once per transaction (a bulk's later items reuse it)."""
        key = ("quota", project, resource)
        if key not in session.info:
            session.info[key] = store.lock(session, project, resource,
                                           self.default_of(resource))
        return int(session.info[key])
