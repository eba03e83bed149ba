"""Subnets from pools: the CIDR of a subnet created with ``subnetpool_id`` (or
``use_default_subnetpool``), decided inside the subnet's own transaction.

ML2 publishes ``subnet`` ``precommit_allocate`` with the request (a dict this
callback fills with ``cidr`` and ``subnetpool_id``) after locking the network and
before its checks and insert. The pool's row is locked first, then the CIDRs already
taken from it are read: a concurrent allocation from the same pool waits for the
lock and, once it holds it, sees the first one's committed subnet (every statement
reads committed rows on PostgreSQL and on MariaDB at READ COMMITTED; SQLite's writers
are serial). So two subnets of one pool never overlap, and the project's share of
the pool (``default_quota``) is counted as it stands.
"""

from __future__ import annotations

from typing import Any

import netaddr
from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.apidef import subnetpool as sp
from neutrino.apidef.attributes import ATTR_NOT_SPECIFIED
from neutrino.context import Context
from neutrino.db.models import Subnet, SubnetPool
from neutrino.plugins.subnetpools import prefixes as px
from neutrino.plugins.subnetpools import store
from neutrino.plugins.subnetpools.base import may_use

EVENT = "precommit_allocate"


def _given(value: Any) -> bool:
    return value is not ATTR_NOT_SPECIFIED and value is not None


def _pool_id(session: Session, body: dict[str, Any]) -> str | None:
    """The pool the request names, or its version's default pool (Neutron's rules)."""
    pool_id = body.get("subnetpool_id")
    pool_id = pool_id if _given(pool_id) else None
    use_default = bool(body.get("use_default_subnetpool")) \
        and body.get("use_default_subnetpool") is not ATTR_NOT_SPECIFIED
    if use_default and pool_id:
        raise sp.bad_subnet("subnetpool_id and use_default_subnetpool cannot both be "
                            "specified")
    if pool_id or not use_default:
        return pool_id
    cidr = body.get("cidr")
    version = netaddr.IPNetwork(cidr).version if _given(cidr) else body["ip_version"]
    found = store.default_pool_id(session, version)
    if found is None:
        raise sp.bad_subnet(f"No default subnetpool found for IPv{version}")
    return found


def _check_affinity(session: Session, body: dict[str, Any], pool_id: str | None) -> None:
    """The subnets of one IP version on a network come from one pool (or none)."""
    others = set(session.execute(select(Subnet.subnetpool_id).where(
        Subnet.network_id == body["network_id"],
        Subnet.ip_version == body["ip_version"])).scalars())
    if others and others != {pool_id}:
        raise sp.NetworkSubnetPoolAffinityError()


def _check_quota(pool: Any, taken: list[tuple[str, str]], project: str, cidr: str) -> None:
    if pool.default_quota is None:
        return
    used = sum(px.quota_units(c) for c, owner in taken if owner == project)
    if used + px.quota_units(cidr) > pool.default_quota:
        raise sp.SubnetPoolQuotaExceeded()


def _cidr_from(session: Session, ctx: Context, body: dict[str, Any], pool_id: str) -> str:
    pool = store.lock(session, SubnetPool, pool_id)
    if pool is None or not may_use(session, ctx, pool):
        raise sp.SubnetPoolNotFound(subnetpool_id=pool_id)
    if body["ip_version"] != pool.ip_version:
        raise sp.bad_subnet(f"Cannot allocate IPv{body['ip_version']} subnet from "
                            f"IPv{pool.ip_version} subnet pool")
    prefixes = store.pool_prefixes(session, [pool_id]).get(pool_id, [])
    taken = store.allocated(session, pool_id)
    cidr = body.get("cidr")
    if _given(cidr):
        cidr = str(netaddr.IPNetwork(cidr).cidr)
        px.check_prefixlen(_bounds(pool), netaddr.IPNetwork(cidr).prefixlen)
        px.check_specific(prefixes, (c for c, _ in taken), cidr)
    else:
        wanted: Any = body.get("prefixlen")
        prefixlen = int(wanted) if _given(wanted) else int(pool.default_prefixlen)
        px.check_prefixlen(_bounds(pool), prefixlen)
        cidr = px.pick(prefixes, (c for c, _ in taken), prefixlen)
    _check_quota(pool, taken, body["project_id"], cidr)
    return str(cidr)


def _bounds(pool: Any) -> dict[str, int]:
    return {"min_prefixlen": pool.min_prefixlen, "max_prefixlen": pool.max_prefixlen}


def on_allocate(resource: str, event: str, ctx: Context, current: dict[str, Any],
                original: dict[str, Any] | None = None, *, session: Session,
                **details: Any) -> None:
    """Fill ``current`` (the subnet request) with its ``cidr`` and ``subnetpool_id``."""
    body = current
    cidr_given, prefixlen_given = _given(body.get("cidr")), _given(body.get("prefixlen"))
    if cidr_given and prefixlen_given:
        raise sp.bad_subnet("cidr and prefixlen must not be supplied together")
    pool_id = _pool_id(session, body)
    _check_affinity(session, body, pool_id)
    if pool_id is None:
        if not cidr_given:
            raise sp.bad_subnet("a subnetpool must be specified in the absence of a cidr")
        body["subnetpool_id"] = None
        return
    body["cidr"] = _cidr_from(session, ctx, body, pool_id)
    body["subnetpool_id"] = pool_id
