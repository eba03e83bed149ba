"""The ``agent`` extension: ``GET/PUT/DELETE /v2.0/agents``, admin only.

Agents are created by their heartbeats (``report_state``), never by POST. ``alive``
is computed on every read from ``heartbeat_timestamp`` and ``agent_down_time``.
Deleting an OVS agent forgets its tunnel endpoints and tells the other agents
(``tunnel_delete``) once a notifier is attached by the RPC service.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, false, or_, select, update
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef.agent import AGENTS
from neutrino.common import constants as const
from neutrino.context import Context
from neutrino.db import agents as agents_db
from neutrino.db import tunnels as tunnels_db
from neutrino.db.api import Database
from neutrino.db.base import utcnow
from neutrino.db.models import Agent
from neutrino.db.query import Listing, Page
from neutrino.plugins.base import ServicePlugin


class AgentNotFound(exc.NotFound):
    message = "Agent %(id)s could not be found."


class AgentCreateNotSupported(exc.NeutronException):
    message = "Agents are created by their heartbeats, not through the API."
    status = 405


POLICY_RULES = {
    "get_agent": "rule:admin_only",
    "update_agent": "rule:admin_only",
    "delete_agent": "rule:admin_only",
    "create_agent": "rule:admin_only",
}


def register_policy(policy: Any) -> None:
    """Add the agent rules to a ``neutrino.api.policy.Policy`` (file rules still win)."""
    from oslo_policy import policy as oslo_policy

    policy.enforcer.register_defaults(
        [oslo_policy.RuleDefault(name, check) for name, check in POLICY_RULES.items()])
    policy.enforcer.load_rules(force_reload=True)


def _listing(now: dt.datetime, down_time: int) -> Listing:
    columns = {name: getattr(Agent, name) for name in (
        "id", "agent_type", "binary", "topic", "host", "availability_zone",
        "admin_state_up", "heartbeat_timestamp", "started_at", "created_at", "description")}
    cutoff = now - dt.timedelta(seconds=down_time)

    def alive(values: list[Any]) -> Any:
        clauses = [Agent.heartbeat_timestamp >= cutoff if value
                   else Agent.heartbeat_timestamp < cutoff for value in values]
        return or_(*clauses) if clauses else false()

    return Listing(Agent, columns, {"alive": alive})


class Plugin(ServicePlugin):
    """The agents service plugin (``service_plugins = agents``)."""

    # ``availability_zone`` is the availability_zones plugin's (it lists the zones).
    supported_extension_aliases = ["agent"]
    resources = [AGENTS]
    policy_rules = POLICY_RULES

    def __init__(self, conf: Any, db: Database, core_plugin: Any) -> None:
        super().__init__(conf, db, core_plugin)
        self.notifier: Any = None

    def attach_notifier(self, notifier: Any) -> None:
        """The AgentNotifier used to announce removed tunnel endpoints."""
        self.notifier = notifier

    def _dict(self, row: Agent) -> dict[str, Any]:
        return agents_db.agent_dict(row, utcnow(), self.conf.agent_down_time)

    def _row(self, session: Session, agent_id: str) -> Agent:
        row = session.execute(select(Agent).where(Agent.id == agent_id)).scalar()
        if row is None:
            raise AgentNotFound(id=agent_id)
        return row

    def get_agent(self, ctx: Context, agent_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            return self._dict(self._row(session, agent_id))

    def get_agents(self, ctx: Context, filters: dict[str, list[Any]],
                   page: Page | None = None) -> list[dict[str, Any]]:
        now = utcnow()
        listing = _listing(now, self.conf.agent_down_time)
        with self.db.reader() as session:
            ids = listing.select_ids(session, filters, None, page or Page())
            rows = {r.id: agents_db.agent_dict(r, now, self.conf.agent_down_time)
                    for r in session.execute(select(Agent).where(Agent.id.in_(ids))).scalars()
                    } if ids else {}
        return [rows[i] for i in ids if i in rows]

    def create_agent_bulk(self, ctx: Context, bodies: list[dict[str, Any]]) -> None:
        raise AgentCreateNotSupported()

    def update_agent(self, ctx: Context, agent_id: str,
                     body: dict[str, Any]) -> dict[str, Any]:
        values = {k: body[k] for k in ("admin_state_up", "description") if k in body}

        def attempt() -> dict[str, Any]:
            with self.db.transaction() as session:
                if values:
                    session.execute(update(Agent).where(Agent.id == agent_id)
                                    .values(**values))
                return self._dict(self._row(session, agent_id))

        return self.db.retrying(attempt)

    def delete_agent(self, ctx: Context, agent_id: str) -> None:
        def attempt() -> list[tuple[str, str]]:
            with self.db.transaction() as session:
                row = self._row(session, agent_id)
                removed = tunnels_db.delete_host_endpoints(session, row.host) \
                    if self._owns_tunnels(row) else []
                session.execute(delete(Agent).where(Agent.id == agent_id))
                return removed

        removed = self.db.retrying(attempt)
        if self.notifier is not None:
            for ip, tunnel_type in removed:
                self.notifier.tunnel_delete(ip, tunnel_type)

    @staticmethod
    def _owns_tunnels(row: Agent) -> bool:
        return row.agent_type == const.AGENT_TYPE_OVS
