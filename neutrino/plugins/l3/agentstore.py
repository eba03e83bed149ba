"""Database side of L3 agent scheduling: L3 agents with their load, bindings, zones.

Reads gather the facts ``scheduling`` decides on; ``bind`` relies on the
(router, binding_index) unique key so that two servers scheduling one router at
once cannot give it two agents.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.apidef import availability_zone as az
from neutrino.common import constants as const
from neutrino.db import agents as agents_db
from neutrino.db.api import RetryRequest
from neutrino.db.models import (
    Agent,
    Port,
    Router,
    RouterExtraAttributes,
    RouterL3AgentBinding,
)
from neutrino.plugins import availability_zones as zones_db
from neutrino.plugins.l3.scheduling import L3Agent, RouterFacts

Binding = RouterL3AgentBinding


def l3_agents(session: Session, ids: Iterable[str] | None = None) -> list[L3Agent]:
    """Every L3 agent (or those of ``ids``) with the number of routers it hosts."""
    query = _l3_agents_query(False)
    if ids is not None:
        query = query.where(Agent.id.in_(sorted(set(ids))))
    return [_l3_agent(row, n) for row, n in session.execute(query).all()]


@functools.cache
def _l3_agents_query(hosting: bool) -> Any:
    """L3 agents with their load; with ``hosting``: whether each hosts the router of the
    ``router_id`` parameter. Built once (the scheduler asks on every router change)."""
    load = select(Binding.l3_agent_id, func.count().label("n")).group_by(
        Binding.l3_agent_id).subquery()
    extra = [exists().where(Binding.l3_agent_id == Agent.id,
                            Binding.router_id == bindparam("router_id")).label("hosting")]
    return select(Agent, func.coalesce(load.c.n, 0), *(extra if hosting else [])).outerjoin(
        load, load.c.l3_agent_id == Agent.id).where(Agent.agent_type == const.AGENT_TYPE_L3)


def _l3_agent(row: Any, load: int) -> L3Agent:
    return L3Agent(row.id, row.host, bool(row.admin_state_up), row.heartbeat_timestamp,
                   row.availability_zone, agents_db.configurations(row), int(load))


def l3_agents_and_hosts(session: Session, router_id: str) -> tuple[list[L3Agent], list[str]]:
    """``l3_agents`` and ``hosts_of_routers`` of one router, in one query."""
    agents, hosts = [], []
    for row, n, hosts_it in session.execute(_l3_agents_query(True), {"router_id": router_id}):
        agents.append(_l3_agent(row, n))
        if hosts_it and row.admin_state_up:
            hosts.append(row.host)
    return agents, sorted(hosts)


def l3_agent_on_host(session: Session, host: str) -> L3Agent | None:
    agent_id = session.execute(select(Agent.id).where(
        Agent.agent_type == const.AGENT_TYPE_L3, Agent.host == host)).scalar()
    found = l3_agents(session, [agent_id]) if agent_id else []
    return found[0] if found else None


def agents_of_router(session: Session, router_id: str) -> list[str]:
    return sorted(session.execute(select(Binding.l3_agent_id).where(
        Binding.router_id == router_id)).scalars())


def routers_of_agent(session: Session, agent_id: str) -> list[str]:
    return sorted(session.execute(select(Binding.router_id).where(
        Binding.l3_agent_id == agent_id)).scalars())


def hosts_of_routers(session: Session, router_ids: Iterable[str]) -> dict[str, list[str]]:
    """router id → hosts of the admin-up L3 agents hosting it."""
    ids = sorted(set(router_ids))
    found: dict[str, list[str]] = {r: [] for r in ids}
    if not ids:
        return found
    for router_id, host in session.execute(_hosts_query(), {"router_ids": ids}).all():
        found[router_id].append(host)
    return {r: sorted(h) for r, h in found.items()}


@functools.cache
def _hosts_query() -> Any:
    return select(Binding.router_id, Agent.host).join(
        Agent, Agent.id == Binding.l3_agent_id).where(
        Binding.router_id.in_(bindparam("router_ids", expanding=True)), Agent.admin_state_up)


def router_facts(session: Session, router_ids: Sequence[str]) -> list[RouterFacts]:
    """What scheduling needs of each existing router in ``router_ids``."""
    if not router_ids:
        return []
    rows = session.execute(select(Router.id, Port.network_id).outerjoin(
        Port, Port.id == Router.gw_port_id).where(Router.id.in_(sorted(set(router_ids))))
    ).all()
    hints = hints_of(session, [r[0] for r in rows])
    return [RouterFacts(r[0], r[1], tuple(hints.get(r[0], ()))) for r in sorted(rows)]


def unscheduled_routers(session: Session) -> list[str]:
    """Routers no L3 agent hosts, oldest first."""
    bound = select(Binding.router_id)
    return list(session.execute(select(Router.id).where(Router.id.not_in(bound)).order_by(
        Router.created_at, Router.id)).scalars())


def bind(session: Session, router_id: str, agent_id: str) -> None:
    """Bind; a concurrent binder of the same router makes this transaction retry."""
    try:
        with session.begin_nested():
            session.execute(insert(Binding), {"router_id": router_id,
                                              "l3_agent_id": agent_id, "binding_index": 1})
    except IntegrityError:
        # Another server bound the router (or it went away) meanwhile: look again.
        raise RetryRequest() from None


def unbind(session: Session, router_id: str, agent_id: str) -> bool:
    done = session.execute(delete(Binding).where(
        Binding.router_id == router_id, Binding.l3_agent_id == agent_id))
    return bool(done.rowcount)  # type: ignore[attr-defined]


# --- availability zones ------------------------------------------------------------

def check_hints(session: Session, hints: Sequence[str]) -> None:
    """404 ``AvailabilityZoneNotFound`` for a hinted zone no L3 agent reports."""
    zones_db.validate_hints(session, az.RESOURCE_ROUTER, hints)


def store_hints(session: Session, router_id: str, hints: Sequence[str]) -> None:
    if hints:
        session.execute(insert(RouterExtraAttributes), {
            "router_id": router_id, "availability_zone_hints": az.hints_to_db(hints)})


def hints_of(session: Session, router_ids: Sequence[str]) -> dict[str, list[str]]:
    if not router_ids:
        return {}
    return {rid: az.hints_from_db(value) for rid, value in session.execute(
        select(RouterExtraAttributes.router_id, RouterExtraAttributes.availability_zone_hints)
        .where(RouterExtraAttributes.router_id.in_(list(router_ids)))).all()}


def zones_of(session: Session, router_ids: Sequence[str]) -> dict[str, list[str]]:
    """router id → zones of the agents hosting it (Neutron's ``availability_zones``)."""
    found: dict[str, set[str]] = defaultdict(set)
    if router_ids:
        for rid, zone in session.execute(select(Binding.router_id, Agent.availability_zone)
                                         .join(Agent, Agent.id == Binding.l3_agent_id).where(
                Binding.router_id.in_(list(router_ids)))).all():
            if zone:
                found[rid].add(zone)
    return {rid: sorted(zones) for rid, zones in found.items()}
