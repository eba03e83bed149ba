"""``/v2.0/network-ip-availabilities``: IP usage of networks, counted by the database.

Every 500 networks of a page cost four queries: the networks, their
subnets, the allocation counts per subnet (``COUNT`` grouped by subnet) and the
allocation pools; pool sizes are summed here (address arithmetic on a handful of rows).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import netaddr
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import ipavailability as ext
from neutrino.context import Context
from neutrino.db.models import IPAllocation, IPAllocationPool, Network, Subnet
from neutrino.db.query import Listing, Page
from neutrino.plugins.base import ServicePlugin
from neutrino.plugins.readonly import ReadOnlyCollection

_CHUNK = 500  # networks per round of queries (keeps IN lists within every backend's limits)


def _listing() -> Listing:
    def ip_version(values: list[Any]) -> Any:
        return exists().where(Subnet.network_id == Network.id, Subnet.ip_version.in_(values))

    return Listing(Network, {"network_id": Network.id, "network_name": Network.name,
                             "project_id": Network.project_id,
                             "tenant_id": Network.project_id},
                   {"ip_version": ip_version})


def subnet_total(cidr: str, pools: list[tuple[str, str]]) -> int:
    """Addresses a subnet offers: its pools' sizes, or its CIDR's without pools."""
    if not pools:
        return int(netaddr.IPNetwork(cidr).size)
    return sum(int(netaddr.IPRange(first, last).size) for first, last in pools)


def availabilities(session: Session, network_ids: list[str],
                   versions: list[int] | None) -> list[dict[str, Any]]:
    """The availability dicts of ``network_ids`` (in that order)."""
    if not network_ids:
        return []
    nets = {r.id: r for r in session.execute(select(
        Network.id, Network.name, Network.project_id).where(Network.id.in_(network_ids)))}
    query = select(Subnet.id, Subnet.name, Subnet.cidr, Subnet.ip_version,
                   Subnet.network_id).where(Subnet.network_id.in_(network_ids))
    if versions:
        query = query.where(Subnet.ip_version.in_(versions))
    subnets = list(session.execute(query.order_by(Subnet.created_at, Subnet.id)))
    subnet_ids = [s.id for s in subnets]
    used: dict[str, int] = {}
    pools: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if subnet_ids:
        used = {sid: int(n) for sid, n in session.execute(
            select(IPAllocation.subnet_id, func.count()).where(
                IPAllocation.network_id.in_(network_ids),
                IPAllocation.subnet_id.in_(subnet_ids)).group_by(IPAllocation.subnet_id))}
        for sid, first, last in session.execute(select(
                IPAllocationPool.subnet_id, IPAllocationPool.first_ip,
                IPAllocationPool.last_ip).where(IPAllocationPool.subnet_id.in_(subnet_ids))):
            pools[sid].append((first, last))
    per_network: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in subnets:
        per_network[s.network_id].append({
            "subnet_id": s.id, "subnet_name": s.name, "cidr": s.cidr,
            "ip_version": s.ip_version, "used_ips": used.get(s.id, 0),
            "total_ips": subnet_total(s.cidr, pools.get(s.id, []))})
    return [_network_dict(nets[n], per_network.get(n, [])) for n in network_ids if n in nets]


def _network_dict(row: Any, subnets: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum(s["total_ips"] for s in subnets)
    for s in subnets:
        s["total_ips"] = min(s["total_ips"], ext.MAX_COUNT)
    return {"network_id": row.id, "network_name": row.name, "project_id": row.project_id,
            "tenant_id": row.project_id, "total_ips": min(total, ext.MAX_COUNT),
            "used_ips": sum(s["used_ips"] for s in subnets),
            "subnet_ip_availability": subnets}


class Plugin(ReadOnlyCollection, ServicePlugin):
    """``service_plugins = network_ip_availability``; ML2 brings it along."""

    resources = [ext.NETWORK_IP_AVAILABILITIES]
    supported_extension_aliases = [ext.ALIAS]
    policy_rules = ext.POLICY_RULES
    read_only = ("network_ip_availabilities", "network_ip_availability")

    def get_network_ip_availabilities(self, ctx: Context, filters: dict[str, list[Any]],
                                      page: Page | None = None) -> list[dict[str, Any]]:
        with self.db.reader() as session:
            ids = list(_listing().select_ids(session, filters, None, page or Page()))
            versions = filters.get("ip_version")
            return [item for i in range(0, len(ids), _CHUNK)
                    for item in availabilities(session, ids[i:i + _CHUNK], versions)]

    def get_network_ip_availability(self, ctx: Context, network_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            found = availabilities(session, [network_id], None)
        if not found:
            raise exc.NetworkNotFound(net_id=network_id)
        return found[0]
