"""Machinery shared by ML2's network, subnet and port operations.

``run`` is the one place where the precommit/postcommit contract is implemented:
the change and every driver's precommit in one transaction (retried as a whole on
deadlock), then the postcommits; a failed create postcommit undoes the create.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef.attributes import ATTR_NOT_SPECIFIED
from neutrino.context import Context, admin_context
from neutrino.db.api import Database
from neutrino.db.base import table_of, utcnow
from neutrino.db.models import Tag
from neutrino.plugins.events import Events
from neutrino.plugins.ml2.managers import MechanismManager, TypeManager

LOG = logging.getLogger(__name__)

def specified(value: Any) -> bool:
    return value is not ATTR_NOT_SPECIFIED


def lock_row(session: Session, model: Any, resource_id: str) -> None:
    """Hold ``model``'s row until the transaction ends (SQLite: writers are serial)."""
    if session.get_bind().dialect.name != "sqlite":
        session.execute(select(model.id).where(model.id == resource_id).with_for_update())


def check_revision(ctx: Context, current: int) -> None:
    """Honour ``If-Match: revision_number=N`` inside the transaction that writes."""
    wanted = getattr(ctx, "if_match_revision", None)
    if wanted is not None and wanted != current:
        raise exc.RevisionNumberConstraintFailed(
            constraint=f"revision_number={wanted}", current=current)


def check_write(ctx: Context, member: str, item: dict[str, Any]) -> None:
    """Run the API caller's checks on ``item``, just read in the updating or deleting
    transaction.

    The controller leaves ``ctx.write_guard`` = (member, id, check) instead of
    reading the resource once more before the plugin reads it: ``check(item)``
    raises NotFound when the caller may not see it and PolicyNotAuthorized when it
    may see but not change it. Then If-Match (412). Both concern only the resource
    the request names, not the ports and subnets a network delete takes along. The
    checks see the row the change applies to: no window between check and write.
    """
    guard = getattr(ctx, "write_guard", None)
    if guard is not None:
        if (guard[0], guard[1]) != (member, item["id"]):
            return
        guard[2](item)
    check_revision(ctx, item["revision_number"])


class Ml2Base:
    """State and helpers that the resource mixins share."""

    # Updates and deletes call ``check_write``: the API controller need not read the
    # resource first.
    checks_write_guard = True

    def __init__(self, conf: Any, db: Database) -> None:
        self.conf = conf
        self.db = db
        self.type_manager = TypeManager(conf)
        self.mechanism_manager = MechanismManager(conf)
        self.events = Events()
        self.type_manager.initialize()
        self.mechanism_manager.initialize()
        # Drivers that journal or watch other plugins' resources (security groups)
        # hear of them through the core plugin's events.
        for driver in self.mechanism_manager.drivers:
            subscribe = getattr(driver, "subscribe", None)
            if subscribe is not None:
                subscribe(self.events)

    def stop(self) -> None:
        """Stop what mechanism drivers run in the background (journal workers …)."""
        for driver in self.mechanism_manager.drivers:
            stop = getattr(driver, "stop", None)
            if stop is not None:
                stop()

    # --- the precommit/postcommit contract ----------------------------------------

    def run(self, method: str, in_tx: Callable[[Session], tuple[Any, list[Any]]],
            undo: Callable[[Any], None] | None = None) -> Any:
        """Run ``in_tx`` (change + precommits) in one retried transaction, then postcommit.

        ``in_tx`` returns (result, driver contexts). If a postcommit fails and
        ``undo`` is given (creates), ``undo(result)`` removes what was created and
        the error is re-raised, as ML2 does.
        """
        def attempt() -> tuple[Any, list[Any]]:
            with self.db.transaction() as session:
                return in_tx(session)

        result, contexts = self.db.retrying(attempt)
        try:
            for context in contexts:
                self.mechanism_manager.postcommit(method, context)
        except exc.NeutronException:
            if undo is None:
                LOG.exception("%s postcommit failed; the change stays committed", method)
                return result
            LOG.error("%s postcommit failed; undoing the create", method)
            try:
                undo(result)
            except Exception:
                LOG.exception("undo after failed %s postcommit failed", method)
            raise
        return result

    # --- common column work -------------------------------------------------------

    @staticmethod
    def bump(session: Session, model: Any, resource_id: str,
             values: dict[str, Any] | None = None) -> None:
        """Apply ``values`` and move revision_number and updated_at forward."""
        session.execute(update(model).where(model.id == resource_id).values(
            revision_number=model.revision_number + 1, updated_at=utcnow(), **(values or {})))

    @staticmethod
    def set_tags(session: Session, resource_type: str, resource_id: str,
                 tags: list[str]) -> None:
        if tags:
            session.connection().execute(insert(table_of(Tag)), [
                {"resource_id": resource_id, "tag": t, "resource_type": resource_type}
                for t in dict.fromkeys(tags)])

    @staticmethod
    def project_of(ctx: Context, body: dict[str, Any]) -> str:
        for key in ("project_id", "tenant_id"):
            value = body.get(key)
            if specified(value) and value is not None:
                return str(value)
        return ctx.project_id or ""

    @staticmethod
    def row_or_404(session: Session, model: Any, resource_id: str,
                   error: Callable[[], exc.NeutronException]) -> Any:
        # A plain row, not an ORM object: building one costs more than the query.
        row = session.connection().execute(
            select(*model.__table__.c).where(model.id == resource_id)).first()
        if row is None:
            raise error()
        return row

    def undo_as_admin(self, delete: Callable[[Context, str], None]) -> Callable[[Any], None]:
        def undo(result: Any) -> None:
            items = result if isinstance(result, list) else [result]
            for item in items:
                with contextlib.suppress(exc.NotFound):
                    delete(admin_context(), item["id"])
        return undo
