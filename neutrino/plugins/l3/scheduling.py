"""Pure scheduling decisions: which L3 agent should host a router, which must give theirs up.

The facts (agents with their load and configuration, routers with their gateway and
zone hints) are gathered by ``agentschedulers``; time comes in as ``now``. A router
goes to an alive, admin-up L3 agent in ``legacy`` or ``dvr_snat`` mode that accepts
it (Neutron's ``handle_internal_only_routers``, ``gateway_external_network_id`` and
``router_id`` agent settings), inside the router's availability zones when it has
hints. Least routers first (then the host name, so the same facts always give the
same answer), or at random with Neutron's chance scheduler.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Iterable, Sequence
from typing import Any

from neutrino.apidef.l3agentscheduler import SCHEDULABLE_MODES
from neutrino.conf.l3_scheduler import CHANCE


@dataclasses.dataclass(frozen=True)
class L3Agent:
    """An L3 agent as scheduling sees it."""

    id: str
    host: str
    admin_state_up: bool
    heartbeat: dt.datetime | None
    availability_zone: str | None
    configurations: dict[str, Any]
    load: int  # routers it hosts

    @property
    def mode(self) -> str:
        return str(self.configurations.get("agent_mode") or "legacy")

    def alive(self, now: dt.datetime, down_time: int) -> bool:
        return self.heartbeat is not None and \
            (now - self.heartbeat).total_seconds() <= down_time


@dataclasses.dataclass(frozen=True)
class RouterFacts:
    """What of a router decides where it may go."""

    id: str
    external_network_id: str | None
    az_hints: tuple[str, ...]


def accepts(agent: L3Agent, router: RouterFacts) -> bool:
    """Can ``agent`` host ``router`` at all (mode and the agent's own restrictions)?"""
    if agent.mode not in SCHEDULABLE_MODES:
        return False
    conf = agent.configurations
    if conf.get("router_id") and conf["router_id"] != router.id:
        return False
    if router.external_network_id is None:
        return bool(conf.get("handle_internal_only_routers", True))
    wanted = conf.get("gateway_external_network_id")
    return not wanted or wanted == router.external_network_id


def in_zones(agent: L3Agent, zones: Sequence[str]) -> bool:
    return not zones or agent.availability_zone in zones


def could_host_any(agents: Iterable[L3Agent], now: dt.datetime, down_time: int) -> bool:
    """Whether some agent could take some router now (alive, admin up, a mode that
    hosts routers): when none can, scheduling has nothing to decide."""
    return any(a.admin_state_up and a.alive(now, down_time) and a.mode in SCHEDULABLE_MODES
               for a in agents)


def candidates(agents: Iterable[L3Agent], router: RouterFacts, now: dt.datetime,
               down_time: int, default_zones: Sequence[str] = ()) -> list[L3Agent]:
    """Alive, admin-up agents that accept the router, in its zones."""
    zones = router.az_hints or tuple(default_zones)
    return [a for a in agents if a.admin_state_up and a.alive(now, down_time)
            and accepts(a, router) and in_zones(a, zones)]


def choose_agent(agents: Iterable[L3Agent], router: RouterFacts, now: dt.datetime,
                 down_time: int, driver: str, default_zones: Sequence[str] = (),
                 rng: random.Random | None = None) -> L3Agent | None:
    """The agent a router without one should go to, or None if nobody can take it."""
    found = candidates(agents, router, now, down_time, default_zones)
    if not found:
        return None
    if driver == CHANCE:
        return (rng or random.Random()).choice(sorted(found, key=lambda a: a.id))
    return min(found, key=lambda a: (a.load, a.host, a.id))


def dead_agents(agents: Iterable[L3Agent], now: dt.datetime,
                down_time: int) -> list[L3Agent]:
    """Agents whose routers should move elsewhere: down for ``down_time``, with routers.

    When no L3 agent at all is alive nothing moves: there is nowhere to move to, and
    a broker or database outage that silences every agent at once must not strip
    them of all their routers.
    """
    agents = list(agents)
    if not any(a.alive(now, down_time) for a in agents):
        return []
    return [a for a in agents if a.load and not a.alive(now, down_time)]
