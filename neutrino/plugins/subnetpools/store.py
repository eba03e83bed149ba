"""Subnet pools and address scopes in the database: API dicts in batches, listings, locks.

Loaders take a batch of ids and issue one query per table for the whole batch.
``shared`` reads as Neutron's RBAC has it, per project: true when the object is
shared with every project (the ``shared`` column, which mirrors the wildcard
policy) or when a policy shares it with the reading project.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, exists, insert, or_, select, true
from sqlalchemy.orm import Session

from neutrino.db.base import table_of, utcnow
from neutrino.db.models import (
    AddressScope,
    DefaultSubnetPool,
    Subnet,
    SubnetPool,
    SubnetPoolPrefix,
)
from neutrino.db.models.rbac import AddressScopeRBAC, SubnetPoolRBAC
from neutrino.db.query import Listing
from neutrino.db.rbac import ACCESS_SHARED, granted, granted_clause
from neutrino.db.resources import load_tags, timestamp
from neutrino.plugins.subnetpools.prefixes import compact

POOL_COLUMNS = ("ip_version", "default_prefixlen", "min_prefixlen", "max_prefixlen",
                "shared", "is_default", "default_quota", "address_scope_id")


def _standard(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "description": row.description,
            "project_id": row.project_id, "tenant_id": row.project_id,
            "created_at": timestamp(row.created_at), "updated_at": timestamp(row.updated_at),
            "revision_number": row.revision_number}


def _std_columns(model: Any) -> dict[str, Any]:
    columns = {name: getattr(model, name) for name in (
        "id", "name", "description", "project_id", "created_at", "updated_at",
        "revision_number")}
    columns["tenant_id"] = model.project_id
    return columns


def lock(session: Session, model: Any, row_id: str) -> Any:
    """The row (None if absent), locked until the transaction ends (SQLite: serial)."""
    query = select(model).where(model.id == row_id)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return session.execute(query).scalar()


_RBAC = {SubnetPool: SubnetPoolRBAC, AddressScope: AddressScopeRBAC}


def visible(project: str | None, model: Any) -> Any:
    """Rows a project sees: its own, those shared with every project and those an RBAC
    policy shares with it (None: an admin, all)."""
    if project is None:
        return None
    return or_(model.project_id == project, model.shared,
               granted_clause(_RBAC[model], model.id, project))


def shared_with(session: Session, model: Any, ids: Sequence[str],
                project: str | None) -> set[str]:
    """Those of ``ids`` that a policy shares with ``project`` itself or every project."""
    if not project or not ids:
        return set()
    grants = granted(session, _RBAC[model], ids, project)
    return {i for i, actions in grants.items() if ACCESS_SHARED in actions}


def _shared_filter(model: Any, project: str | None) -> Any:
    """The ``shared`` filter as ``project`` reads ``shared``."""
    shared = or_(model.shared, granted_clause(_RBAC[model], model.id, project,
                                              ACCESS_SHARED))

    def clause(values: list[Any]) -> Any:
        wanted = {bool(v) for v in values}
        if wanted == {True, False}:
            return true()
        return shared if wanted == {True} else ~shared

    return clause


# --- subnet pools -----------------------------------------------------------------------

def pool_prefixes(session: Session, ids: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    if ids:
        for pool_id, cidr in session.execute(select(
                SubnetPoolPrefix.subnetpool_id, SubnetPoolPrefix.cidr).where(
                SubnetPoolPrefix.subnetpool_id.in_(list(ids)))):
            found[pool_id].append(cidr)
    return found


def load_pools(session: Session, ids: Sequence[str],
               reader: str | None = None) -> list[dict[str, Any]]:
    """Pools in ``ids`` order, with their prefixes (compacted, sorted) and tags, and
    ``shared`` as project ``reader`` reads it."""
    if not ids:
        return []
    rows = {r.id: r for r in session.execute(select(SubnetPool).where(
        SubnetPool.id.in_(list(ids)))).scalars()}
    found = [i for i in ids if i in rows]
    prefixes = pool_prefixes(session, found)
    tags = load_tags(session, found)
    shared = shared_with(session, SubnetPool, found, reader)
    return [{**_standard(rows[i]), **{c: getattr(rows[i], c) for c in POOL_COLUMNS},
             "shared": rows[i].shared or i in shared,
             "prefixes": compact(prefixes.get(i, [])), "tags": tags.get(i, [])}
            for i in found]


def pool_listing(reader: str | None = None) -> Listing:
    columns = _std_columns(SubnetPool)
    columns.update({c: getattr(SubnetPool, c) for c in POOL_COLUMNS})
    return Listing(SubnetPool, columns, {"shared": _shared_filter(SubnetPool, reader)})


def insert_pool(session: Session, values: dict[str, Any]) -> str:
    now = utcnow()
    pool_id = str(uuid.uuid4())
    session.connection().execute(insert(table_of(SubnetPool)), {
        "id": pool_id, "project_id": values["project_id"], "name": values.get("name") or "",
        "description": values.get("description") or "", "created_at": now,
        "updated_at": now, "revision_number": 0,
        **{c: values[c] for c in POOL_COLUMNS}})
    set_prefixes(session, pool_id, values["prefixes"])
    return pool_id


def set_prefixes(session: Session, pool_id: str, prefixes: list[str]) -> None:
    session.execute(delete(SubnetPoolPrefix).where(SubnetPoolPrefix.subnetpool_id == pool_id))
    session.connection().execute(insert(table_of(SubnetPoolPrefix)), [
        {"subnetpool_id": pool_id, "cidr": p} for p in prefixes])


def set_default(session: Session, pool_id: str, version: int, is_default: bool) -> None:
    """Make (or unmake) the pool its version's default; the key refuses a second one."""
    session.execute(delete(DefaultSubnetPool).where(
        DefaultSubnetPool.subnetpool_id == pool_id))
    if is_default:
        session.connection().execute(insert(table_of(DefaultSubnetPool)), {
            "ip_version": version, "subnetpool_id": pool_id})


def default_pool_id(session: Session, version: int) -> str | None:
    return session.execute(select(DefaultSubnetPool.subnetpool_id).where(
        DefaultSubnetPool.ip_version == version)).scalar()


def allocated(session: Session, pool_id: str) -> list[tuple[str, str]]:
    """(cidr, project) of every subnet taken from the pool, as committed now."""
    return [(c, p) for c, p in session.execute(select(Subnet.cidr, Subnet.project_id).where(
        Subnet.subnetpool_id == pool_id))]


def pool_in_use(session: Session, pool_id: str) -> bool:
    return bool(session.execute(select(exists().where(
        Subnet.subnetpool_id == pool_id))).scalar())


def scope_pools(session: Session, scope_id: str) -> list[tuple[str, list[str]]]:
    """(pool id, prefixes) of the pools in the scope."""
    ids = list(session.execute(select(SubnetPool.id).where(
        SubnetPool.address_scope_id == scope_id)).scalars())
    prefixes = pool_prefixes(session, ids)
    return [(i, prefixes.get(i, [])) for i in ids]


# --- address scopes ----------------------------------------------------------------------

def load_scopes(session: Session, ids: Sequence[str],
                reader: str | None = None) -> list[dict[str, Any]]:
    """Scopes in ``ids`` order, ``shared`` as project ``reader`` reads it."""
    if not ids:
        return []
    rows = {r.id: r for r in session.execute(select(AddressScope).where(
        AddressScope.id.in_(list(ids)))).scalars()}
    found = [i for i in ids if i in rows]
    tags = load_tags(session, found)
    shared = shared_with(session, AddressScope, found, reader)
    return [{**_standard(rows[i]), "shared": rows[i].shared or i in shared,
             "ip_version": rows[i].ip_version, "tags": tags.get(i, [])} for i in found]


def scope_listing(reader: str | None = None) -> Listing:
    columns = _std_columns(AddressScope)
    columns.update({"shared": AddressScope.shared, "ip_version": AddressScope.ip_version})
    return Listing(AddressScope, columns, {"shared": _shared_filter(AddressScope, reader)})


def insert_scope(session: Session, values: dict[str, Any]) -> str:
    now = utcnow()
    scope_id = str(uuid.uuid4())
    session.connection().execute(insert(table_of(AddressScope)), {
        "id": scope_id, "project_id": values["project_id"], "name": values.get("name") or "",
        "description": values.get("description") or "", "shared": values["shared"],
        "ip_version": values["ip_version"], "created_at": now, "updated_at": now,
        "revision_number": 0})
    return scope_id


def scope_in_use(session: Session, scope_id: str) -> bool:
    return bool(session.execute(select(exists().where(
        SubnetPool.address_scope_id == scope_id))).scalar())
