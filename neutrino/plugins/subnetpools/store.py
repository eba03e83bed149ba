"""Subnet pools and address scopes in the database: API dicts in batches, listings, locks.

Loaders take a batch of ids and issue one query per table for the whole batch.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, exists, insert, or_, select
from sqlalchemy.orm import Session

from neutrino.db.base import table_of, utcnow
from neutrino.db.models import (
    AddressScope,
    DefaultSubnetPool,
    Subnet,
    SubnetPool,
    SubnetPoolPrefix,
)
from neutrino.db.query import Listing
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


def visible(project: str | None, model: Any) -> Any:
    """Rows a project sees: its own and shared ones (None: an admin, all)."""
    return None if project is None else or_(model.project_id == project, model.shared)


# --- subnet pools -----------------------------------------------------------------------

def pool_prefixes(session: Session, ids: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    if ids:
        for pool_id, cidr in session.execute(select(
                SubnetPoolPrefix.subnetpool_id, SubnetPoolPrefix.cidr).where(
                SubnetPoolPrefix.subnetpool_id.in_(list(ids)))):
            found[pool_id].append(cidr)
    return found


def load_pools(session: Session, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Pools in ``ids`` order, with their prefixes (compacted, sorted) and tags."""
    if not ids:
        return []
    rows = {r.id: r for r in session.execute(select(SubnetPool).where(
        SubnetPool.id.in_(list(ids)))).scalars()}
    found = [i for i in ids if i in rows]
    prefixes = pool_prefixes(session, found)
    tags = load_tags(session, found)
    return [{**_standard(rows[i]), **{c: getattr(rows[i], c) for c in POOL_COLUMNS},
             "prefixes": compact(prefixes.get(i, [])), "tags": tags.get(i, [])}
            for i in found]


def pool_listing() -> Listing:
    columns = _std_columns(SubnetPool)
    columns.update({c: getattr(SubnetPool, c) for c in POOL_COLUMNS})
    return Listing(SubnetPool, columns)


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

def load_scopes(session: Session, ids: Sequence[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = {r.id: r for r in session.execute(select(AddressScope).where(
        AddressScope.id.in_(list(ids)))).scalars()}
    found = [i for i in ids if i in rows]
    tags = load_tags(session, found)
    return [{**_standard(rows[i]), "shared": rows[i].shared, "ip_version": rows[i].ip_version,
             "tags": tags.get(i, [])} for i in found]


def scope_listing() -> Listing:
    columns = _std_columns(AddressScope)
    columns.update({"shared": AddressScope.shared, "ip_version": AddressScope.ip_version})
    return Listing(AddressScope, columns)


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
