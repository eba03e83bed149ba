"""Queries behind L2 population and device details: bound segments, active ports, L2 agents."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.common import constants as const
from neutrino.db import agents as agents_db
from neutrino.db.models import IPAllocation, NetworkSegment, Port, PortBinding
from neutrino.db.resources import segment_dict


@dataclasses.dataclass(frozen=True)
class ActivePort:
    """An ACTIVE port bound to a host: what its peers need to reach it."""

    port_id: str
    mac_address: str
    host: str
    ip_addresses: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class L2Agent:
    """The l2pop-relevant part of a host's OVS agent."""

    host: str
    tunneling_ip: str | None
    network_types: frozenset[str]
    l2_population: bool
    alive: bool

    def serves(self, network_type: str) -> bool:
        return bool(self.tunneling_ip) and self.l2_population \
            and network_type in self.network_types


def bound_segments(session: Session, port_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """port id → the segment its binding chose (ports without one are left out)."""
    ids = sorted(set(port_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(PortBinding.port_id, NetworkSegment).join(
            NetworkSegment, NetworkSegment.id == PortBinding.segment_id)
        .where(PortBinding.port_id.in_(ids))).all()
    return {pid: segment_dict(seg) for pid, seg in rows}


def active_ports(session: Session, network_id: str) -> list[ActivePort]:
    """Every ACTIVE, host-bound port of the network, with its fixed IPs."""
    rows = session.execute(
        select(Port.id, Port.mac_address, PortBinding.host)
        .join(PortBinding, PortBinding.port_id == Port.id)
        .where(Port.network_id == network_id, Port.status == const.PORT_STATUS_ACTIVE,
               PortBinding.host != "")).all()
    if not rows:
        return []
    ips: dict[str, list[str]] = defaultdict(list)
    for pid, ip in session.execute(select(IPAllocation.port_id, IPAllocation.ip_address)
                                   .where(IPAllocation.port_id.in_([r[0] for r in rows]))):
        ips[pid].append(ip)
    return [ActivePort(pid, mac, host, tuple(sorted(ips.get(pid, []))))
            for pid, mac, host in sorted(rows)]


def l2_agents(session: Session, hosts: Iterable[str], now: Any,
              down_time: int) -> dict[str, L2Agent]:
    """host → its OVS agent's l2pop view, for the hosts that have an agent."""
    result = {}
    for host, row in agents_db.agents_on_hosts(session, const.AGENT_TYPE_OVS,
                                               hosts).items():
        conf = agents_db.configurations(row)
        types = conf.get("l2pop_network_types") or conf.get("tunnel_types") or []
        result[host] = L2Agent(
            host=host, tunneling_ip=conf.get("tunneling_ip") or None,
            network_types=frozenset(types),
            l2_population=bool(conf.get("l2_population", True)),
            alive=agents_db.is_alive(row.heartbeat_timestamp, now, down_time))
    return result
