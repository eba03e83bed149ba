"""Address scopes: create, read, update (``shared`` only grows), delete when unused."""

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

    def _scope(self, session: Session, scope_id: str) -> dict[str, Any]:
        found = store.load_scopes(session, [scope_id])
        if not found:
            raise scope_api.AddressScopeNotFound(address_scope_id=scope_id)
        return found[0]

    def create_address_scope(self, ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        return self.create_address_scope_bulk(ctx, [body])[0]

    def create_address_scope_bulk(self, ctx: Context,
                                  bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        def in_tx(session: Session) -> list[dict[str, Any]]:
            return [self._scope(session, store.insert_scope(session, b)) for b in bodies]
        made: list[dict[str, Any]] = self._write(in_tx)
        return made

    def get_address_scope(self, ctx: Context, scope_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            return self._scope(session, scope_id)

    def get_address_scopes(self, ctx: Context, filters: dict[str, list[Any]],
                           page: Page | None = None) -> list[dict[str, Any]]:
        scope = store.visible(viewer(ctx), AddressScope)
        with self.db.reader() as session:
            ids = store.scope_listing().select_ids(session, filters, scope, page or Page())
            return store.load_scopes(session, ids)

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
            values = {k: changes[k] for k in ("name", "description", "shared") if k in changes}
            session.execute(update(AddressScope).where(AddressScope.id == scope_id).values(
                revision_number=AddressScope.revision_number + 1, updated_at=utcnow(),
                **values))
            return self._scope(session, scope_id)
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
