"""Pure prefix arithmetic of subnet pools: validation, compaction, allocation, quota.

No database here: the plugin reads the pool and the CIDRs already allocated from it
under the pool's lock, and these functions decide.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import netaddr

from neutrino.apidef import subnetpool as sp
from neutrino.apidef.attributes import ATTR_NOT_SPECIFIED


def compact(prefixes: Iterable[str]) -> list[str]:
    """The prefixes merged into the fewest CIDRs (Neutron stores them so), sorted."""
    return [str(c) for c in netaddr.IPSet(list(prefixes)).iter_cidrs()]


def version_of(prefixes: list[str]) -> int:
    """The IP version all ``prefixes`` share; 400 if none or mixed."""
    if not prefixes:
        raise sp.EmptySubnetPoolPrefixList()
    versions = {netaddr.IPNetwork(p).version for p in prefixes}
    if len(versions) > 1:
        raise sp.PrefixVersionMismatch()
    return versions.pop()


def _given(value: Any) -> bool:
    return value is not ATTR_NOT_SPECIFIED and value is not None


def _or(value: Any, fallback: int) -> int:
    return int(value) if _given(value) else fallback


def bounds(version: int, wanted: dict[str, Any],
           current: dict[str, int] | None = None) -> dict[str, int]:
    """``min_prefixlen``, ``max_prefixlen`` and ``default_prefixlen``, checked.

    Unset ones come from ``current`` (an update) or the version's defaults: min 8/64,
    max 32/128, default = min. IllegalSubnetPoolPrefixBounds as Neutron words it.
    """
    low, high = sp.PREFIX_BOUNDS[version]
    current = current or {}
    result: dict[str, int] = {}
    for name, fallback in (("min_prefixlen", low), ("max_prefixlen", high)):
        value = wanted.get(name)
        result[name] = _or(value, current.get(name, fallback))
    result["default_prefixlen"] = _or(wanted.get("default_prefixlen"), current.get(
        "default_prefixlen", result["min_prefixlen"]))
    for name, value in result.items():
        if value > high:
            raise sp.IllegalSubnetPoolPrefixBounds(prefix_type=name, prefixlen=value,
                                                   base_prefix_type="max_prefixlen",
                                                   base_prefixlen=high)
    low_, high_ = result["min_prefixlen"], result["max_prefixlen"]
    if low_ > high_:
        raise sp.IllegalSubnetPoolPrefixBounds(prefix_type="min_prefixlen", prefixlen=low_,
                                               base_prefix_type="max_prefixlen",
                                               base_prefixlen=high_)
    default = result["default_prefixlen"]
    if default < low_:
        raise sp.IllegalSubnetPoolPrefixBounds(prefix_type="default_prefixlen",
                                               prefixlen=default,
                                               base_prefix_type="min_prefixlen",
                                               base_prefixlen=low_)
    if default > high_:
        raise sp.IllegalSubnetPoolPrefixBounds(prefix_type="default_prefixlen",
                                               prefixlen=default,
                                               base_prefix_type="max_prefixlen",
                                               base_prefixlen=high_)
    return result


def check_prefixlen(pool: dict[str, Any], prefixlen: int) -> None:
    """A subnet's prefix length must lie within the pool's bounds (400)."""
    if prefixlen < pool["min_prefixlen"]:
        raise sp.MinPrefixSubnetAllocationError(prefixlen=prefixlen,
                                                min_prefixlen=pool["min_prefixlen"])
    if prefixlen > pool["max_prefixlen"]:
        raise sp.MaxPrefixSubnetAllocationError(prefixlen=prefixlen,
                                                max_prefixlen=pool["max_prefixlen"])


def available(pool_prefixes: list[str], allocated: Iterable[str]) -> netaddr.IPSet:
    return netaddr.IPSet(pool_prefixes) - netaddr.IPSet(list(allocated))


def pick(pool_prefixes: list[str], allocated: Iterable[str], prefixlen: int) -> str:
    """The first free CIDR of length ``prefixlen``, taken from the smallest free block
    that holds one (keeps large blocks whole); SubnetAllocationError if none."""
    free = sorted(available(pool_prefixes, allocated).iter_cidrs(),
                  key=lambda c: (-c.prefixlen, c.first))
    for block in free:
        if block.prefixlen <= prefixlen:
            return str(next(block.subnet(prefixlen)))
    raise sp.SubnetAllocationError(
        reason=f"Insufficient prefix space to allocate subnet size /{prefixlen}")


def check_specific(pool_prefixes: list[str], allocated: Iterable[str], cidr: str) -> None:
    """A requested CIDR must lie in the pool's free space (SubnetAllocationError)."""
    if netaddr.IPNetwork(cidr) not in available(pool_prefixes, allocated):
        raise sp.SubnetAllocationError(
            reason="Cannot allocate requested subnet from the available set of prefixes")


def quota_units(cidr: str) -> int:
    """What a subnet counts against ``default_quota``: IPv4 addresses, IPv6 /64s."""
    net = netaddr.IPNetwork(cidr)
    unit = sp.QUOTA_UNIT_PREFIXLEN[net.version]
    return 2 ** max(unit - net.prefixlen, 0)


def overlap(a: list[str], b: list[str]) -> bool:
    return bool(netaddr.IPSet(a) & netaddr.IPSet(b))


def covers(new: list[str], old: list[str]) -> bool:
    return netaddr.IPSet(old).issubset(netaddr.IPSet(new))
