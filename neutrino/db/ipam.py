"""IP address management: gateways, allocation pools, and race-free address allocation.

Allocation on a subnet is serialised by a lock on the subnet's row (SQLite: by its
single writer), taken with the read of the pools; a random sample of pool addresses
is checked in one query and a free one inserted. The table's primary key
(ip_address, subnet_id) stays the arbiter: a specific address is inserted in a
savepoint and a clash is a 409 or, for a sampled one, a retry of the whole request —
never an address handed out twice, on any backend.
"""

from __future__ import annotations

import ipaddress
import itertools
import random
import uuid
from collections.abc import Iterator
from typing import Any, cast

import netaddr
from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.db.base import table_of
from neutrino.db.models import IPAllocation, IPAllocationPool, Subnet

SLAAC_MODES = ("slaac", "dhcpv6-stateless")
# Concurrent requests start from a random free address within this window, so that
# sixteen clients on one subnet do not all fight over the lowest free address.
_WINDOW = 16
_MAX_COLLISIONS = 64


def default_gateway(cidr: str) -> str:
    net = netaddr.IPNetwork(cidr)
    if net.version == 4 and net.prefixlen >= 31:
        return str(net.network)
    return str(net.network + 1)


def _usable_range(net: netaddr.IPNetwork) -> tuple[int, int]:
    """First and last addresses a pool may hold: no network or v4 broadcast address."""
    first, last = int(net.first), int(net.last)
    if net.version == 4 and net.prefixlen < 31:
        return first + 1, last - 1
    if net.version == 6 and net.prefixlen < 127:
        return first + 1, last
    return first, last


def default_pools(cidr: str, gateway: str | None) -> list[dict[str, str]]:
    """The whole usable range of ``cidr``, split around the gateway."""
    net = netaddr.IPNetwork(cidr)
    first, last = _usable_range(net)
    ranges = [(first, last)]
    if gateway is not None:
        gw = int(netaddr.IPAddress(gateway))
        if first <= gw <= last:
            ranges = [(first, gw - 1), (gw + 1, last)]
    return [{"start": str(netaddr.IPAddress(a, net.version)),
             "end": str(netaddr.IPAddress(b, net.version))}
            for a, b in ranges if a <= b]


def validate_pools(cidr: str, pools: list[dict[str, str]], gateway: str | None) -> None:
    """Each pool inside the cidr, well ordered, not overlapping, not holding the gateway."""
    net = netaddr.IPNetwork(cidr)
    lo, hi = _usable_range(net)
    ranges = []
    for pool in pools:
        start, end = netaddr.IPAddress(pool["start"]), netaddr.IPAddress(pool["end"])
        text = f"{pool['start']}-{pool['end']}"
        if start.version != net.version or end.version != net.version or start > end:
            raise exc.InvalidAllocationPool(pool=text)
        if int(start) < lo or int(end) > hi:
            raise exc.OutOfBoundsAllocationPool(pool=text, subnet_cidr=cidr)
        ranges.append((int(start), int(end), text))
    ranges.sort()
    for (_, end_a, text_a), (start_b, _, text_b) in zip(ranges, ranges[1:], strict=False):
        if start_b <= end_a:
            raise exc.OverlappingAllocationPools(pool_1=text_a, pool_2=text_b,
                                                 subnet_cidr=cidr)
    if gateway is not None:
        gw = int(netaddr.IPAddress(gateway))
        for start, end, text in ranges:
            if start <= gw <= end:
                raise exc.GatewayConflictWithAllocationPools(ip_address=gateway, pool=text)


def store_pools(session: Session, subnet_id: str, pools: list[dict[str, str]]) -> None:
    session.execute(delete(IPAllocationPool).where(IPAllocationPool.subnet_id == subnet_id))
    if pools:
        session.connection().execute(insert(table_of(IPAllocationPool)), [
            {"id": str(uuid.uuid4()), "subnet_id": subnet_id, "first_ip": p["start"],
             "last_ip": p["end"]} for p in pools])


def ip_in_subnet(ip: str, subnet: dict[str, Any]) -> bool:
    address = netaddr.IPAddress(ip)
    net = netaddr.IPNetwork(subnet["cidr"])
    return address.version == net.version and address in net


def is_slaac(subnet: dict[str, Any]) -> bool:
    return subnet["ip_version"] == 6 and subnet.get("ipv6_address_mode") in SLAAC_MODES


def slaac_address(subnet: dict[str, Any], mac: str) -> str:
    """The modified EUI-64 address a host with ``mac`` takes on a SLAAC subnet."""
    prefix = netaddr.IPNetwork(subnet["cidr"])
    return str(netaddr.EUI(mac).ipv6(prefix.network))


def check_specific_ip(subnet: dict[str, Any], ip: str) -> None:
    """A requested address must be a host address of the subnet."""
    net = netaddr.IPNetwork(subnet["cidr"])
    if not ip_in_subnet(ip, subnet):
        raise exc.InvalidIpForSubnet(ip_address=ip)
    value = int(netaddr.IPAddress(ip))
    if net.version == 4 and net.prefixlen < 31 and value in (net.first, net.last):
        raise exc.InvalidIpForSubnet(ip_address=ip)
    if net.version == 6 and net.prefixlen < 127 and value == net.first:
        raise exc.InvalidIpForSubnet(ip_address=ip)


def lock_subnet(session: Session, subnet_id: str) -> None:
    """Serialise allocation on one subnet until this transaction ends.

    Without it, concurrent (bulk) creates insert addresses in crossing orders and
    wait on each other's uncommitted rows — a deadlock cycle on PostgreSQL and
    MariaDB. One row lock per subnet, taken before the first allocation, orders
    them instead; the primary key still arbitrates. SQLite's writers are already
    serialised by BEGIN IMMEDIATE.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    locked = session.info.setdefault("ipam_locked_subnets", set())
    if subnet_id not in locked:
        session.execute(select(Subnet.id).where(Subnet.id == subnet_id).with_for_update())
        locked.add(subnet_id)


def _insert(session: Session, subnet: dict[str, Any], port_id: str, ip: str) -> bool:
    """Insert an allocation in a savepoint; False if the address is taken."""
    try:
        with session.begin_nested():
            _insert_row(session, subnet, port_id, ip)
        return True
    except IntegrityError:
        return False


_INSERT_ALLOCATION = insert(table_of(IPAllocation))
_TAKEN_AMONG = select(IPAllocation.ip_address).where(
    IPAllocation.subnet_id == bindparam("subnet_id"),
    IPAllocation.ip_address.in_(bindparam("ips", expanding=True)))


def _insert_row(session: Session, subnet: dict[str, Any], port_id: str, ip: str) -> None:
    session.connection().execute(_INSERT_ALLOCATION, {
        "ip_address": ip, "subnet_id": subnet["id"], "network_id": subnet["network_id"],
        "port_id": port_id})


def _insert_known_free(session: Session, subnet: dict[str, Any], port_id: str,
                       ip: str) -> None:
    """Insert an address this transaction saw free while holding the subnet's lock.

    Nothing else can take it before we commit (the lock, or SQLite's single
    writer), so no savepoint — two round trips fewer per port on PostgreSQL. Should
    the key clash all the same, the whole request is retried rather than failed.
    """
    try:
        _insert_row(session, subnet, port_id, ip)
    except IntegrityError:
        from neutrino.db.api import RetryRequest
        raise RetryRequest() from None


def allocate_specific(session: Session, subnet: dict[str, Any], port_id: str,
                      ip: str) -> str:
    ip = str(netaddr.IPAddress(ip))
    check_specific_ip(subnet, ip)
    lock_subnet(session, subnet["id"])
    if not _insert(session, subnet, port_id, ip):
        raise exc.IpAddressAlreadyAllocated(ip=ip, subnet_id=subnet["id"])
    return ip


def _address(value: int, version: int) -> str:
    return str(ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value))


def _pools(session: Session, subnet_id: str) -> list[tuple[int, int]]:
    rows = session.connection().execute(
        select(IPAllocationPool.first_ip, IPAllocationPool.last_ip)
        .where(IPAllocationPool.subnet_id == subnet_id)).all()
    return _pool_ranges(rows)


def _pool_ranges(rows: Any) -> list[tuple[int, int]]:
    return sorted((int(ipaddress.ip_address(a)), int(ipaddress.ip_address(b)))
                  for a, b in rows if a is not None)


# PostgreSQL: the subnet's lock and its pools in one statement. FOR UPDATE OF
# names the subnet alone (the pools are the nullable side of the join).
_LOCKED_POOLS = select(Subnet.revision_number, IPAllocationPool.first_ip,
                       IPAllocationPool.last_ip).select_from(
    Subnet.__table__.outerjoin(IPAllocationPool.__table__,
                               IPAllocationPool.subnet_id == Subnet.id)
).where(Subnet.id == bindparam("subnet_id")).with_for_update(of=Subnet.__table__)


def _lock_and_pools(session: Session, subnet: dict[str, Any]) -> list[tuple[int, int]]:
    """``lock_subnet`` then the subnet's pools: one round trip on PostgreSQL.

    Should a pool update commit while the statement waits for the lock, the locked
    row comes back in its new version but the pools as the statement's snapshot
    saw them: a revision other than the one the caller read means the pools are
    read again, now under the lock.
    """
    subnet_id = subnet["id"]
    if session.get_bind().dialect.name != "postgresql":
        lock_subnet(session, subnet_id)
        return _pools(session, subnet_id)
    rows = session.connection().execute(_LOCKED_POOLS, {"subnet_id": subnet_id}).all()
    session.info.setdefault("ipam_locked_subnets", set()).add(subnet_id)
    if not rows or rows[0][0] != subnet.get("revision_number"):
        return _pools(session, subnet_id)
    return _pool_ranges((first, last) for _, first, last in rows)


def _free_candidates(session: Session, subnet_id: str,
                     pools: list[tuple[int, int]]) -> Iterator[int]:
    """Every free address of the pools, lowest first (reads all allocations)."""
    taken = {int(ipaddress.ip_address(ip)) for ip in session.connection().execute(
        select(IPAllocation.ip_address).where(IPAllocation.subnet_id == subnet_id)
    ).scalars()}
    for first, last in pools:
        for value in range(first, last + 1):
            if value not in taken:
                yield value


def _sample(pools: list[tuple[int, int]], version: int) -> list[str]:
    """Up to ``_WINDOW`` distinct random addresses of the pools."""
    sizes = [last - first + 1 for first, last in pools]
    picks = {random.randrange(sum(sizes)) for _ in range(_WINDOW)}
    sample = []
    for pick in picks:
        for (first, _), size in zip(pools, sizes, strict=True):
            if pick < size:
                sample.append(_address(first + pick, version))
                break
            pick -= size
    return sample


def _probe(session: Session, subnet_id: str, sample: list[str]) -> list[str]:
    """The addresses of ``sample`` that no allocation holds (one IN query)."""
    taken = set(session.connection().execute(
        _TAKEN_AMONG, {"subnet_id": subnet_id, "ips": sample}).scalars())
    return [ip for ip in sample if ip not in taken]


# PostgreSQL: the probe and the insert of the first free sampled address in one
# statement (no row back: every sampled address is taken).
_INSERT_FIRST_FREE = text(
    "INSERT INTO ipallocations (ip_address, subnet_id, network_id, port_id) "
    "SELECT c.ip, CAST(:subnet_id AS VARCHAR), CAST(:network_id AS VARCHAR), "
    "CAST(:port_id AS VARCHAR) FROM unnest(CAST(:ips AS VARCHAR[])) AS c(ip) "
    "WHERE NOT EXISTS (SELECT 1 FROM ipallocations a "
    "WHERE a.subnet_id = CAST(:subnet_id AS VARCHAR) AND a.ip_address = c.ip) "
    "LIMIT 1 RETURNING ip_address")


def _take_sampled(session: Session, subnet: dict[str, Any], port_id: str,
                  sample: list[str]) -> str | None:
    """Insert a free address of ``sample`` (seen free under the subnet's lock, as in
    ``_insert_known_free``); None if all are taken."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        free = _probe(session, subnet["id"], sample)
        if free:
            _insert_known_free(session, subnet, port_id, free[0])
        return free[0] if free else None
    try:
        return cast(str | None, conn.execute(_INSERT_FIRST_FREE, {
            "subnet_id": subnet["id"], "network_id": subnet["network_id"],
            "port_id": port_id, "ips": sample}).scalar())
    except IntegrityError:
        from neutrino.db.api import RetryRequest
        raise RetryRequest() from None


def allocate_any(session: Session, subnet: dict[str, Any], port_id: str) -> str:
    """Take a free address of the subnet's pools; IpAddressGenerationFailure if none.

    Addresses are picked at random (as Neutron does) so that a freed address is not
    handed out again at once.
    """
    pools = _lock_and_pools(session, subnet)
    # A random sample first: one query on a sparse subnet, so allocation costs the
    # same with 10 or 10,000 ports. A dense subnet's sample comes back all taken and
    # costs that one query before the full scan.
    if sum(last - first + 1 for first, last in pools) >= 4 * _WINDOW:
        ip = _take_sampled(session, subnet, port_id, _sample(pools, subnet["ip_version"]))
        if ip is not None:
            return ip
    candidates = _free_candidates(session, subnet["id"], pools)
    window = [c for _, c in zip(range(_WINDOW), candidates, strict=False)]
    random.shuffle(window)
    for collisions, value in enumerate(itertools.chain(window, candidates), start=1):
        ip = _address(value, subnet["ip_version"])
        if _insert(session, subnet, port_id, ip):
            return ip
        if collisions >= _MAX_COLLISIONS:
            from neutrino.db.api import RetryRequest
            raise RetryRequest()
    raise exc.IpAddressGenerationFailure(net_id=subnet["network_id"])


def release(session: Session, port_id: str, keep: set[tuple[str, str]] | None = None) -> None:
    """Free the port's addresses except those in ``keep`` ((subnet_id, ip) pairs)."""
    rows = session.execute(select(IPAllocation.subnet_id, IPAllocation.ip_address)
                           .where(IPAllocation.port_id == port_id)).all()
    for subnet_id, ip in rows:
        if keep and (subnet_id, ip) in keep:
            continue
        session.execute(delete(IPAllocation).where(IPAllocation.subnet_id == subnet_id,
                                                   IPAllocation.ip_address == ip))
