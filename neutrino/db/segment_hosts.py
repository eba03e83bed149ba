"""Which segments of a routed network a host reaches.

A host reaches a segment when its Open vSwitch agent maps the segment's physical
network to a bridge (``bridge_mappings`` in the agent's reported configurations),
which is what Neutron's segment-host mappings record. It is read from the agents
table when needed, so every server worker sees an agent's report once it is stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.common import constants as const
from neutrino.db import agents as agents_db
from neutrino.db.models import NetworkSegment


def bridge_mappings(value: Any) -> dict[str, str]:
    """bridge_mappings as an agent reports it: a dict, or ``physnet:bridge`` strings."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    result = {}
    for item in value or []:
        physnet, _, bridge = str(item).partition(":")
        result[physnet.strip()] = bridge.strip()
    return result


def physnets_of_host(session: Session, host: str) -> set[str]:
    """The physical networks the host's OVS agent has a bridge for (none: no agent)."""
    row = agents_db.get_by_type_and_host(session, const.AGENT_TYPE_OVS, host)
    if row is None:
        return set()
    return set(bridge_mappings(agents_db.configurations(row).get("bridge_mappings")))


def host_segments(session: Session, host: str, segment_ids: set[str]) -> set[str]:
    """Those of ``segment_ids`` whose physical network ``host`` reaches."""
    physnets = physnets_of_host(session, host)
    if not physnets or not segment_ids:
        return set()
    return set(session.execute(select(NetworkSegment.id).where(
        NetworkSegment.id.in_(sorted(segment_ids)),
        NetworkSegment.physical_network.in_(sorted(physnets)))).scalars())
