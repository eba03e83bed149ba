"""Routed provider networks: subnets bound to segments, addresses placed by host.

On a network whose subnets belong to segments (``segment_id``), a port's addresses
come from the subnets of the segment its host reaches (``neutrino.db.segment_hosts``)
and its binding binds that segment. A port created without a host (and without
fixed IPs) waits: ``ip_allocation`` is ``deferred`` and its addresses are allocated
when ``binding:host_id`` is set, as Neutron does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from neutrino.apidef import segment as seg
from neutrino.db.models import NetworkSegment, Port, Subnet
from neutrino.db.segment_hosts import host_segments


def check_subnet_segment(session: Session, network_id: str, segment_id: str | None) -> None:
    """A new subnet's ``segment_id``: on the network, and all of its subnets or none."""
    existing = set(session.execute(select(Subnet.segment_id).where(
        Subnet.network_id == network_id)).scalars())
    if existing and (None in existing) != (segment_id is None):
        raise seg.SubnetsNotAllAssociatedWithSegments(network_id=network_id)
    if segment_id is None:
        return
    owner = session.execute(select(NetworkSegment.network_id).where(
        NetworkSegment.id == segment_id)).scalar()
    if owner is None:
        raise seg.SegmentNotFound(segment_id=segment_id)
    if owner != network_id:
        raise seg.NetworkIdsDontMatch(subnet_network=network_id, segment_id=segment_id)


def is_routed(subnets: Iterable[dict[str, Any]]) -> bool:
    return any(s.get("segment_id") for s in subnets)


def subnets_for_host(session: Session, subnets: list[dict[str, Any]], host: str,
                     network_id: str) -> list[dict[str, Any]]:
    """The subnets of the segments ``host`` reaches; 409 when it reaches none."""
    reached = host_segments(session, host, {s["segment_id"] for s in subnets})
    if not reached:
        raise seg.HostNotConnectedToAnySegment(host=host, network_id=network_id)
    return [s for s in subnets if s["segment_id"] in reached]


def check_fixed_ips(session: Session, subnets: list[dict[str, Any]], subnet_ids: set[str],
                    host: str | None, port_id: str) -> None:
    """Addresses of one segment, and one that the port's host (if any) reaches."""
    segments = {s["segment_id"] for s in subnets if s["id"] in subnet_ids}
    if len(segments) > 1:
        raise seg.FixedIpsSubnetsNotOnSameSegment()
    if host and segments and not host_segments(session, host, segments):
        raise seg.HostNotCompatibleWithFixedIps(host=host, port_id=port_id)


def set_ip_allocation(session: Session, port_id: str, value: str | None) -> None:
    session.execute(update(Port).where(Port.id == port_id).values(ip_allocation=value))


def segments_of_subnets(session: Session, subnet_ids: Iterable[str]) -> set[str]:
    ids = sorted(set(subnet_ids))
    if not ids:
        return set()
    return {s for s in session.execute(select(Subnet.segment_id).where(
        Subnet.id.in_(ids))).scalars() if s}
