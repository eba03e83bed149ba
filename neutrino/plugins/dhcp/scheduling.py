"""Pure scheduling decisions: which DHCP agents should serve a network, which must go.

The facts (agents, their load, their bindings) are gathered by ``store``; time comes
in as ``now``. Least loaded first: the agent hosting the fewest networks, then the
host name, so the same facts always give the same answer. Availability zones as
Neutron's AZ-aware scheduler treats them: a network with zone hints gets agents of
those zones only, and its agents are spread across zones (the zone serving it least
first, then the zone whose free agent is least loaded).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence


@dataclasses.dataclass(frozen=True)
class DhcpAgent:
    """A DHCP agent as scheduling sees it."""

    id: str
    host: str
    admin_state_up: bool
    heartbeat: dt.datetime | None
    load: int  # networks it hosts
    availability_zone: str | None = None

    def alive(self, now: dt.datetime, down_time: int) -> bool:
        return self.heartbeat is not None and \
            (now - self.heartbeat).total_seconds() <= down_time


def choose_agents(agents: Iterable[DhcpAgent], hosting: Iterable[str], wanted: int,
                  now: dt.datetime, down_time: int,
                  zones: Sequence[str] = ()) -> list[DhcpAgent]:
    """Agents to add so that ``wanted`` alive agents serve a network hosted by ``hosting``.

    Only alive, admin-up agents count and are chosen, and with ``zones`` (the
    network's hints) only agents of those zones are chosen; an agent already hosting
    the network is never chosen twice.
    """
    agents = list(agents)
    bound = set(hosting)
    serving = [a for a in agents if a.id in bound and a.alive(now, down_time)]
    free = [a for a in agents if a.id not in bound and a.admin_state_up
            and a.alive(now, down_time)
            and (not zones or a.availability_zone in zones)]
    free.sort(key=lambda a: (a.load, a.host, a.id))
    return spread(free, serving, max(wanted - len(serving), 0))


def spread(free: list[DhcpAgent], serving: Iterable[DhcpAgent], needed: int
           ) -> list[DhcpAgent]:
    """``needed`` of ``free`` (least loaded first), taken from the zone that serves the
    network least each time; among equal zones, the one whose next agent comes first."""
    by_zone: dict[str | None, list[DhcpAgent]] = {}
    for agent in free:  # dicts keep insertion order: zones by their best agent
        by_zone.setdefault(agent.availability_zone, []).append(agent)
    count = dict.fromkeys(by_zone, 0)
    for agent in serving:
        if agent.availability_zone in count:
            count[agent.availability_zone] += 1
    chosen: list[DhcpAgent] = []
    while len(chosen) < needed and count:
        zone = min(count, key=lambda z: count[z])
        chosen.append(by_zone[zone].pop(0))
        count[zone] += 1
        if not by_zone[zone]:
            del count[zone]
    return chosen


def dead_agents(agents: Iterable[DhcpAgent], now: dt.datetime,
                down_time: int) -> list[DhcpAgent]:
    """Agents whose networks should move elsewhere: down for ``down_time``, with networks.

    When no DHCP agent at all is alive nothing moves: there is nowhere to move to, and
    a broker or database outage that silences every agent at once must not strip them
    of all their networks.
    """
    agents = list(agents)
    if not any(a.alive(now, down_time) for a in agents):
        return []
    return [a for a in agents if a.load and not a.alive(now, down_time)]


def next_binding_index(taken: Iterable[int]) -> int:
    """The lowest free ``binding_index`` (1-based) of a network."""
    used = set(taken)
    index = 1
    while index in used:
        index += 1
    return index
