"""Pure scheduling decisions: which DHCP agents should serve a network, which must go.

The facts (agents, their load, their bindings) are gathered by ``store``; time comes
in as ``now``. Least loaded first: the agent hosting the fewest networks, then the
host name, so the same facts always give the same answer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable


@dataclasses.dataclass(frozen=True)
class DhcpAgent:
    """A DHCP agent as scheduling sees it."""

    id: str
    host: str
    admin_state_up: bool
    heartbeat: dt.datetime | None
    load: int  # networks it hosts

    def alive(self, now: dt.datetime, down_time: int) -> bool:
        return self.heartbeat is not None and \
            (now - self.heartbeat).total_seconds() <= down_time


def choose_agents(agents: Iterable[DhcpAgent], hosting: Iterable[str], wanted: int,
                  now: dt.datetime, down_time: int) -> list[DhcpAgent]:
    """Agents to add so that ``wanted`` alive agents serve a network hosted by ``hosting``.

    Only alive, admin-up agents count and are chosen; an agent already hosting the
    network is never chosen twice.
    """
    agents = list(agents)
    bound = set(hosting)
    serving = sum(1 for a in agents if a.id in bound and a.alive(now, down_time))
    free = [a for a in agents if a.id not in bound and a.admin_state_up
            and a.alive(now, down_time)]
    free.sort(key=lambda a: (a.load, a.host, a.id))
    return free[:max(wanted - serving, 0)]


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
