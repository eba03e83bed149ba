"""Address scopes: create, read, update (``shared`` only grows), delete when unused.

Creates and updates are published as ``address_scope`` ``precommit_*`` events (with
``session=`` and, on update, ``request=`` the changes): the RBAC plugin makes the
wildcard policy of a shared scope there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from neutrino.apidef import address_scope as scope_api
from neutrino.context import Context
from neutrino.db.base import utcnow
from neutrino.db.models import AddressScope, Tag
from neutrino.db.query import Page
from neutrino.plugins.subnetpools import store
from neutrino.plugins.subnetpools.base import PoolsBase, check_revision, viewer


class ScopeMixin(PoolsBase):
    """The ``address-scopes`` collection."""

    def _scope(self, session: Session, scope_id: str,
               reader: str | None = None) -> dict[str, Any]:
        found = store.load_scopes(session, [scope_id], reader)
        if not found:
            raise scope_api.AddressScopeNotFound(address_scope_id=scope_id)
        return found[0]

    def create_address_scope(self, ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        return self.create_address_scope_bulk(ctx, [body])[0]

    def create_address_scope_bulk(self, ctx: Context,
                                  bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        def in_tx(session: Session) -> list[dict[str, Any]]:
            made = []
            for body in bodies:
                scope = self._scope(session, store.insert_scope(session, body),
                                    ctx.project_id)
                self.events.publish("address_scope", "precommit_create", ctx, scope,
                                    session=session)
                made.append(scope)
            return made
        made: list[dict[str, Any]] = self._write(in_tx)
        return made

    def get_address_scope(self, ctx: Context, scope_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            return self._scope(session, scope_id, ctx.project_id)

    def get_address_scopes(self, ctx: Context, filters: dict[str, list[Any]],
                           page: Page | None = None) -> list[dict[str, Any]]:
        scope = store.visible(viewer(ctx), AddressScope)
        with self.db.reader() as session:
            ids = store.scope_listing(ctx.project_id).select_ids(session, filters, scope,
                                                                 page or Page())
            return store.load_scopes(session, ids, ctx.project_id)

    def update_address_scope(self, ctx: Context, scope_id: str,
                             changes: dict[str, Any]) -> dict[str, Any]:
        def in_tx(session: Session) -> dict[str, Any]:
            row = store.lock(session, AddressScope, scope_id)
            if row is None:
                raise scope_api.AddressScopeNotFound(address_scope_id=scope_id)
            check_revision(ctx, row.revision_number)
            if row.shared and changes.get("shared") is False:
                raise scope_api.AddressScopeUpdateError(
                    address_scope_id=scope_id, reason="Shared address scope can't be unshared")
            original = self._scope(session, scope_id, ctx.project_id)
            values: dict[str, Any] = {k: changes[k] for k in ("name", "description")
                                      if k in changes}
            if changes.get("shared") is True:
                values["shared"] = True
            session.execute(update(AddressScope).where(AddressScope.id == scope_id).values(
                revision_number=AddressScope.revision_number + 1, updated_at=utcnow(),
                **values))
            scope = self._scope(session, scope_id, ctx.project_id)
            self.events.publish("address_scope", "precommit_update", ctx, scope, original,
                                session=session, request=changes)
            return scope
        result: dict[str, Any] = self._write(in_tx)
        return result

    def delete_address_scope(self, ctx: Context, scope_id: str) -> None:
        def in_tx(session: Session) -> None:
            row = store.lock(session, AddressScope, scope_id)
            if row is None:
                raise scope_api.AddressScopeNotFound(address_scope_id=scope_id)
            check_revision(ctx, row.revision_number)
            if store.scope_in_use(session, scope_id):
                raise scope_api.AddressScopeInUse(address_scope_id=scope_id)
            session.execute(delete(Tag).where(Tag.resource_id == scope_id))
            session.execute(delete(AddressScope).where(AddressScope.id == scope_id))
        self._write(in_tx)
