"""Availability zones as the agents report them: listing and checking hints.

The zones come from the agents' heartbeats (``availability_zone``): DHCP agents'
zones are a network's, L3 agents' a router's. Helpers for any plugin whose
resources take ``availability_zone_hints`` (networks here, routers in ``l3``):

- ``validate_hints(session, resource, hints)``: ``AvailabilityZoneNotFound`` (404)
  for the first hint no agent of the resource's kind reports;
- ``zones(session, now, down_time)``: every (name, resource, state).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.apidef import availability_zone as az
from neutrino.common import constants as const
from neutrino.db.agents import is_alive
from neutrino.db.models import Agent

# Which agents' zones are which resource's (Neutron's AZ_AGENT_TYPES).
AGENT_TYPES = {az.RESOURCE_NETWORK: const.AGENT_TYPE_DHCP,
               az.RESOURCE_ROUTER: const.AGENT_TYPE_L3}
_RESOURCES = {agent_type: resource for resource, agent_type in AGENT_TYPES.items()}


def reported_zones(session: Session, resource: str) -> set[str]:
    """The zones some agent serving ``resource`` (``network``/``router``) reports."""
    agent_type = AGENT_TYPES.get(resource)
    if agent_type is None:
        return set()
    return {z for z in session.execute(select(Agent.availability_zone).where(
        Agent.agent_type == agent_type).distinct()).scalars() if z}


def validate_hints(session: Session, resource: str, hints: Iterable[str]) -> None:
    """404 ``AvailabilityZoneNotFound`` for the first (sorted) hint no agent of the
    resource's kind reports, whether that agent is alive or not (as Neutron)."""
    wanted = sorted(set(hints))
    if not wanted:
        return
    missing = [h for h in wanted if h not in reported_zones(session, resource)]
    if missing:
        raise az.AvailabilityZoneNotFound(availability_zone=missing[0])


def zones(session: Session, now: dt.datetime, down_time: int) -> list[dict[str, Any]]:
    """Every zone of DHCP and L3 agents, ``available`` while one of its agents is
    alive and admin-up, sorted by resource then name."""
    state: dict[tuple[str, str], bool] = {}
    for agent_type, zone, admin_up, heartbeat in session.execute(select(
            Agent.agent_type, Agent.availability_zone, Agent.admin_state_up,
            Agent.heartbeat_timestamp).where(Agent.agent_type.in_(sorted(_RESOURCES)))):
        if not zone:
            continue
        key = (_RESOURCES[agent_type], zone)
        up = bool(admin_up) and is_alive(heartbeat, now, down_time)
        state[key] = state.get(key, False) or up
    return [{"name": name, "resource": resource,
             "state": az.AVAILABLE if up else az.UNAVAILABLE}
            for (resource, name), up in sorted(state.items())]
