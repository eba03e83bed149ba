"""Agent records: heartbeats in, API dicts and liveness out. Time is always passed in.

An agent is alive while its last heartbeat is at most ``agent_down_time`` seconds
old. ``record_heartbeat`` is the whole of ``report_state`` on the database side: it
creates the row (``new``), refreshes it (``alive``) or brings a dead agent back
(``revived``, which tells the agent to resync everything).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.common import constants as const
from neutrino.db.api import RetryRequest
from neutrino.db.models import Agent

# What report_state may set; everything else in agent_state is ignored.
_STATE_KEYS = ("binary", "topic", "availability_zone")


def timestamp(value: dt.datetime | None) -> str | None:
    """Neutron shows agent times as ``YYYY-MM-DD HH:MM:SS``."""
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def is_alive(heartbeat: dt.datetime | None, now: dt.datetime, down_time: int) -> bool:
    return heartbeat is not None and (now - heartbeat).total_seconds() <= down_time


def configurations(row: Agent) -> dict[str, Any]:
    try:
        value = orjson.loads(row.configurations or "{}")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def agent_dict(row: Agent, now: dt.datetime, down_time: int) -> dict[str, Any]:
    """The API view of an agent row."""
    return {
        "id": row.id, "agent_type": row.agent_type, "binary": row.binary,
        "topic": row.topic, "host": row.host,
        "availability_zone": row.availability_zone,
        "admin_state_up": row.admin_state_up,
        "alive": is_alive(row.heartbeat_timestamp, now, down_time),
        "configurations": configurations(row),
        "resource_versions": orjson.loads(row.resource_versions)
        if row.resource_versions else {},
        "created_at": timestamp(row.created_at), "started_at": timestamp(row.started_at),
        "heartbeat_timestamp": timestamp(row.heartbeat_timestamp),
        "description": row.description, "load": row.load,
        "resources_synced": row.resources_synced,
    }


def listed_agents(session: Session, ids: Iterable[str], now: dt.datetime, down_time: int,
                  filters: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The API views of the agents ``ids`` that match ``filters``, by host (the
    scheduler sub-collections: a network's DHCP agents, a router's L3 agents)."""
    wanted = list(ids)
    rows: Any = session.execute(select(Agent).where(Agent.id.in_(wanted))).scalars() \
        if wanted else []
    views = [agent_dict(r, now, down_time) for r in rows]
    return sorted((a for a in views
                   if all(a.get(k) in values for k, values in filters.items() if values)),
                  key=lambda a: a["host"])


def get_by_type_and_host(session: Session, agent_type: str, host: str) -> Agent | None:
    return session.execute(select(Agent).where(
        Agent.agent_type == agent_type, Agent.host == host)).scalar()


def agents_on_hosts(session: Session, agent_type: str,
                    hosts: Iterable[str]) -> dict[str, Agent]:
    """host → agent of ``agent_type``, for the hosts that have one."""
    wanted = sorted(set(hosts))
    if not wanted:
        return {}
    rows = session.execute(select(Agent).where(
        Agent.agent_type == agent_type, Agent.host.in_(wanted))).scalars()
    return {row.host: row for row in rows}


def _json(value: Any) -> str:
    return orjson.dumps(value or {}).decode()


def record_heartbeat(session: Session, state: dict[str, Any], now: dt.datetime,
                     down_time: int) -> str:
    """Store one ``report_state``; return ``new``, ``alive`` or ``revived``.

    Two servers may see the first heartbeat of an agent at once; the loser's
    insert hits the (agent_type, host) unique key and the whole transaction is
    retried, finding the winner's row.
    """
    row = get_by_type_and_host(session, state["agent_type"], state["host"])
    if row is None:
        _insert(session, state, now)
        return const.AGENT_NEW
    status = const.AGENT_ALIVE if is_alive(row.heartbeat_timestamp, now, down_time) \
        else const.AGENT_REVIVED
    values: dict[str, Any] = {k: state[k] for k in _STATE_KEYS if k in state}
    values.update(heartbeat_timestamp=now, configurations=_json(state.get("configurations")))
    if state.get("start_flag"):
        values["started_at"] = now
    if state.get("resource_versions"):
        values["resource_versions"] = _json(state["resource_versions"])
    if "load" in state:
        values["load"] = int(state.get("load") or 0)
    session.execute(update(Agent).where(Agent.id == row.id).values(**values))
    return status


def _insert(session: Session, state: dict[str, Any], now: dt.datetime) -> None:
    try:
        with session.begin_nested():
            session.execute(insert(Agent), {
                "id": str(uuid.uuid4()), "agent_type": state["agent_type"],
                "host": state["host"], "binary": state.get("binary", ""),
                "topic": state.get("topic", "N/A"),
                "availability_zone": state.get("availability_zone"),
                "admin_state_up": True, "created_at": now, "started_at": now,
                "heartbeat_timestamp": now,
                "configurations": _json(state.get("configurations")),
                "resource_versions": _json(state.get("resource_versions")),
                "load": int(state.get("load") or 0), "description": None})
    except IntegrityError:
        raise RetryRequest() from None
