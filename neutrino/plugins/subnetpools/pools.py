"""Subnet pools: create, read, update, delete, and the prefix actions.

A pool's row is the lock of everything decided about it: subnets allocated from it,
prefix changes, its deletion. An address scope's row is locked while a pool joins
it, so two pools cannot join with overlapping prefixes at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.apidef import address_scope as scope_api
from neutrino.apidef import subnetpool as sp
from neutrino.context import Context
from neutrino.db.base import utcnow
from neutrino.db.models import AddressScope, SubnetPool, Tag
from neutrino.db.query import Page
from neutrino.plugins.subnetpools import prefixes as px
from neutrino.plugins.subnetpools import store
from neutrino.plugins.subnetpools.base import PoolsBase, check_revision, may_use, viewer

_PREFIXLENS = ("min_prefixlen", "max_prefixlen", "default_prefixlen")


class PoolMixin(PoolsBase):
    """The ``subnetpools`` collection and its ``add_prefixes``/``remove_prefixes``."""

    def _pool(self, session: Session, pool_id: str,
              reader: str | None = None) -> dict[str, Any]:
        found = store.load_pools(session, [pool_id], reader)
        if not found:
            raise sp.SubnetPoolNotFound(subnetpool_id=pool_id)
        return found[0]

    @staticmethod
    def _locked(session: Session, ctx: Context, pool_id: str) -> Any:
        row = store.lock(session, SubnetPool, pool_id)
        if row is None:
            raise sp.SubnetPoolNotFound(subnetpool_id=pool_id)
        check_revision(ctx, row.revision_number)
        return row

    # --- create ----------------------------------------------------------------------

    def create_subnetpool(self, ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        return self.create_subnetpool_bulk(ctx, [body])[0]

    def create_subnetpool_bulk(self, ctx: Context,
                               bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        values = [self._new_values(b) for b in bodies]

        def in_tx(session: Session) -> list[dict[str, Any]]:
            made = []
            for value in values:
                self._check_scope(session, ctx, None, value)
                pool_id = store.insert_pool(session, value)
                self._set_default(session, pool_id, value["ip_version"], value["is_default"])
                pool = self._pool(session, pool_id, ctx.project_id)
                # The quota enforcer's hook (``subnetpool``: ``[quotas] default_quota``)
                # and the RBAC plugin's (``shared``: the wildcard policy).
                self.events.publish("subnetpool", "precommit_create", ctx, pool,
                                    session=session)
                made.append(pool)
            return made

        pools: list[dict[str, Any]] = self._write(in_tx)
        return pools

    @staticmethod
    def _new_values(body: dict[str, Any]) -> dict[str, Any]:
        prefixes = px.compact(body["prefixes"]) if body["prefixes"] else []
        version = px.version_of(prefixes)
        return {**body, **px.bounds(version, body), "prefixes": prefixes,
                "ip_version": version, "is_default": bool(body.get("is_default")),
                "shared": bool(body.get("shared"))}

    @staticmethod
    def _set_default(session: Session, pool_id: str, version: int, is_default: bool) -> None:
        try:
            with session.begin_nested():
                store.set_default(session, pool_id, version, is_default)
        except IntegrityError:
            raise sp.default_exists() from None

    def _check_scope(self, session: Session, ctx: Context, pool_id: str | None,
                     value: dict[str, Any]) -> None:
        """The pool may join its address scope: visible, same version, no overlap."""
        scope_id = value.get("address_scope_id")
        if not scope_id:
            return
        row = store.lock(session, AddressScope, scope_id)
        if row is None or not may_use(session, ctx, row):
            raise scope_api.AddressScopeNotFound(address_scope_id=scope_id)
        if row.ip_version != value["ip_version"]:
            raise sp.IllegalSubnetPoolIpVersionAssociationToAddressScope(
                subnetpool_id=pool_id or "", address_scope_id=scope_id,
                ip_version=row.ip_version)
        for other_id, other in store.scope_pools(session, scope_id):
            if other_id != pool_id and px.overlap(other, value["prefixes"]):
                raise sp.AddressScopePrefixConflict()

    # --- read ------------------------------------------------------------------------

    def get_subnetpool(self, ctx: Context, pool_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            return self._pool(session, pool_id, ctx.project_id)

    def get_subnetpools(self, ctx: Context, filters: dict[str, list[Any]],
                        page: Page | None = None) -> list[dict[str, Any]]:
        scope = store.visible(viewer(ctx), SubnetPool)
        with self.db.reader() as session:
            ids = store.pool_listing(ctx.project_id).select_ids(session, filters, scope,
                                                                page or Page())
            return store.load_pools(session, ids, ctx.project_id)

    def get_default_subnetpool(self, ip_version: int) -> dict[str, Any] | None:
        with self.db.reader() as session:
            pool_id = store.default_pool_id(session, ip_version)
            return self._pool(session, pool_id) if pool_id else None

    # --- update ----------------------------------------------------------------------

    def update_subnetpool(self, ctx: Context, pool_id: str,
                          changes: dict[str, Any]) -> dict[str, Any]:
        def in_tx(session: Session) -> dict[str, Any]:
            self._locked(session, ctx, pool_id)
            self._apply(session, ctx, self._pool(session, pool_id), changes)
            return self._pool(session, pool_id, ctx.project_id)
        result: dict[str, Any] = self._write(in_tx)
        return result

    def _apply(self, session: Session, ctx: Context, pool: dict[str, Any],
               changes: dict[str, Any]) -> None:
        value = {**pool, **{k: v for k, v in changes.items() if k not in _PREFIXLENS}}
        if "prefixes" in changes:
            value["prefixes"] = px.compact(changes["prefixes"]) if changes["prefixes"] else []
            if px.version_of(value["prefixes"]) != pool["ip_version"]:
                raise sp.PrefixVersionMismatch()
            if not px.covers(value["prefixes"], pool["prefixes"]):
                raise sp.IllegalSubnetPoolPrefixUpdate(
                    msg="Existing prefixes must be a subset of the new prefixes")
        value.update(px.bounds(pool["ip_version"], changes, pool))
        if value["address_scope_id"] and ("address_scope_id" in changes
                                          or "prefixes" in changes):
            self._check_scope(session, ctx, pool["id"], value)
        if "is_default" in changes and changes["is_default"] != pool["is_default"]:
            self._set_default(session, pool["id"], pool["ip_version"], value["is_default"])
        self._store(session, pool, value)

    @staticmethod
    def _store(session: Session, pool: dict[str, Any], value: dict[str, Any]) -> None:
        columns = ("name", "description", "default_quota", "is_default",
                   "address_scope_id", *_PREFIXLENS)
        session.execute(update(SubnetPool).where(SubnetPool.id == pool["id"]).values(
            revision_number=SubnetPool.revision_number + 1, updated_at=utcnow(),
            **{c: value[c] for c in columns}))
        if value["prefixes"] != pool["prefixes"]:
            store.set_prefixes(session, pool["id"], value["prefixes"])

    # --- prefix actions ----------------------------------------------------------------

    def add_prefixes(self, ctx: Context, pool_id: str, body: Any) -> dict[str, Any]:
        wanted = sp.parse_prefix_body(body)

        def in_tx(session: Session) -> dict[str, Any]:
            self._locked(session, ctx, pool_id)
            pool = self._pool(session, pool_id)
            self._apply(session, ctx, pool, {"prefixes": [*pool["prefixes"], *wanted]})
            return {"prefixes": self._pool(session, pool_id)["prefixes"]}
        result: dict[str, Any] = self._write(in_tx)
        return result

    def remove_prefixes(self, ctx: Context, pool_id: str, body: Any) -> dict[str, Any]:
        wanted = sp.parse_prefix_body(body)

        def in_tx(session: Session) -> dict[str, Any]:
            self._locked(session, ctx, pool_id)
            pool = self._pool(session, pool_id)
            if not px.overlap(pool["prefixes"], wanted):
                return {"prefixes": pool["prefixes"]}
            if px.overlap([c for c, _ in store.allocated(session, pool_id)], wanted):
                raise sp.IllegalSubnetPoolPrefixUpdate(
                    msg="One or more the prefixes to be removed is in use by a subnet")
            left = [str(c) for c in px.available(pool["prefixes"], wanted).iter_cidrs()]
            if not left:
                raise sp.EmptySubnetPoolPrefixList()
            store.set_prefixes(session, pool_id, left)
            session.execute(update(SubnetPool).where(SubnetPool.id == pool_id).values(
                revision_number=SubnetPool.revision_number + 1, updated_at=utcnow()))
            return {"prefixes": left}
        result: dict[str, Any] = self._write(in_tx)
        return result

    # --- delete ----------------------------------------------------------------------

    def delete_subnetpool(self, ctx: Context, pool_id: str) -> None:
        def in_tx(session: Session) -> None:
            self._locked(session, ctx, pool_id)
            if store.pool_in_use(session, pool_id):
                raise sp.SubnetPoolDeleteError(reason="Subnet pool has existing allocations")
            session.execute(delete(Tag).where(Tag.resource_id == pool_id))
            session.execute(delete(SubnetPool).where(SubnetPool.id == pool_id))
        self._write(in_tx)
