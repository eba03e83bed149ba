"""Tag changes (the standard-attr-tag API) as a plugin operation.

The API's tags sub-resource (``/v2.0/<collection>/<id>/tags[/<tag>]``) hands each
change to the plugin that owns the collection, so the plugin treats it as an
update of the resource: one transaction, a bumped revision, its own precommit and
after-commit notifications (ML2's mechanism drivers get ``update_<member>_*``; an
SDN controller's journal records an update). The contract:

``plugin.update_tags(ctx, collection, resource_id, change) -> list[str]``
    Apply ``change`` (a ``TagChange``) to the tags of ``resource_id`` in
    ``collection`` and bump its revision, all in one transaction; return the new
    tags, sorted. Raise the collection's ``NotFound`` if the resource is gone. The
    caller has already checked visibility and the ``update_<member>`` policy.

A plugin without ``update_tags`` gets ``write_tags_directly``: the same change in
the database, with no notifications (nothing of that plugin would hear of them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neutrino.db.base import table_of, utcnow
from neutrino.db.models import Tag


@dataclasses.dataclass(frozen=True)
class TagChange:
    """What one tags request asks for: a new whole set, or tags to add and remove.

    Kept as a change rather than the final list so the plugin applies it to the
    tags it reads inside its transaction: two concurrent single-tag PUTs both land.
    """

    replace: tuple[str, ...] | None = None
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    def apply(self, current: Sequence[str]) -> list[str]:
        """The tags after this change, given the ``current`` ones (sorted, unique)."""
        base = list(self.replace) if self.replace is not None else list(current)
        gone = set(self.remove)
        return sorted({t for t in [*base, *self.add] if t not in gone})


def current_tags(session: Session, resource_id: str) -> list[str]:
    return sorted(session.execute(select(Tag.tag).where(
        Tag.resource_id == resource_id)).scalars())


def store_tags(session: Session, resource_type: str, resource_id: str,
               before: Sequence[str], after: Sequence[str]) -> None:
    """Write the difference between the ``before`` and ``after`` tag sets."""
    gone = sorted(set(before) - set(after))
    new = sorted(set(after) - set(before))
    if gone:
        session.execute(delete(Tag).where(Tag.resource_id == resource_id,
                                          Tag.tag.in_(gone)))
    if new:
        session.connection().execute(table_of(Tag).insert(), [
            {"resource_id": resource_id, "tag": t, "resource_type": resource_type}
            for t in new])


def bump_revision(session: Session, model: Any, resource_id: str) -> None:
    """Move ``model``'s revision_number and updated_at forward (a tag change is an update)."""
    session.execute(model.__table__.update().where(model.id == resource_id).values(
        revision_number=model.revision_number + 1, updated_at=utcnow()))


def write_tags_directly(db: Any, model: Any, collection: str, resource_id: str,
                        change: TagChange) -> list[str]:
    """The fallback for plugins without ``update_tags``: change the rows, bump, no events."""
    def attempt() -> list[str]:
        with db.transaction() as session:
            before = current_tags(session, resource_id)
            after = change.apply(before)
            store_tags(session, collection, resource_id, before, after)
            bump_revision(session, model, resource_id)
            return after
    result: list[str] = db.retrying(attempt)
    return result
