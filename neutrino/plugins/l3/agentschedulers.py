"""L3 agent scheduling of the L3 plugin, its API, and the casts to the hosting agents.

* Scheduling: a router without an agent gets one (``scheduling.choose_agent``) when
  it is created or changed (``router_auto_schedule``), and an agent asking for its
  routers first takes the unhosted ones it can serve. A periodic check moves the
  routers of agents silent for ``agent_down_time``
  (``allow_automatic_l3agent_failover``).
* API: the ``l3_agent_scheduler`` sub-resources (``apidef.l3agentscheduler``).
* Notifications: once the RPC service is attached (``attach_rpc``), the plugin's
  after-commit events (``router``, ``router_interface``, ``floatingip``,
  ``port_forwarding``) become casts to the agent hosting the router only.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import l3
from neutrino.apidef import l3agentscheduler as ext
from neutrino.context import Context
from neutrino.db import agents as agents_db
from neutrino.db.base import utcnow
from neutrino.db.models import FloatingIP
from neutrino.db.query import Page
from neutrino.plugins.l3 import agentstore, scheduling
from neutrino.plugins.l3.base import L3Base

LOG = logging.getLogger(__name__)

FIP_STATUSES = ("ACTIVE", "DOWN", "ERROR")


class L3AgentSchedulerMixin(L3Base):
    """Routers ↔ L3 agents: scheduling, failover, API, notifications."""

    notifier: Any = None

    def _init_scheduler(self) -> None:
        self._gone: dict[str, list[str]] = {}  # router id → hosts, between delete phases
        self._pf_routers: dict[str, str | None] = {}  # port forwarding → its FIP's router
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        on = self.events.subscribe
        on("router", "after_create", self._router_created)
        on("router", "after_update", self._router_event)
        on("router", "precommit_delete", self._router_deleting)
        on("router", "after_delete", self._router_deleted)
        on("router_interface", "after_create", self._router_event)
        on("router_interface", "after_delete", self._router_event)
        on("floatingip", "after_create", self._fip_event)
        on("floatingip", "after_update", self._fip_event)
        on("floatingip", "after_delete", self._fip_event)
        for phase in ("create", "update", "delete"):
            on("port_forwarding", f"precommit_{phase}", self._pf_precommit)
            on("port_forwarding", f"after_{phase}", self._pf_event)

    def attach_rpc(self, rpc: Any) -> list[Any]:
        """Called by the RPC service: take its caster, serve ``q-l3-plugin``."""
        from neutrino.rpc import l3 as l3_rpc
        from neutrino.rpc import topics

        self.notifier = l3_rpc.L3AgentNotifier(rpc.caster)
        rpc.consume(topics.L3PLUGIN, [l3_rpc.L3RpcCallback(self.core_plugin, self)])
        if self.conf.allow_automatic_l3agent_failover and self._thread is None:
            self._thread = threading.Thread(target=self._failover_loop, daemon=True,
                                            name="l3-failover")
            self._thread.start()
        return []

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # --- scheduling ------------------------------------------------------------------

    def _choose(self, agents: list[scheduling.L3Agent], router: scheduling.RouterFacts,
                now: dt.datetime) -> scheduling.L3Agent | None:
        return scheduling.choose_agent(agents, router, now, self.conf.agent_down_time,
                                       self.conf.router_scheduler_driver,
                                       self.conf.default_availability_zones)

    def schedule_router(self, router_id: str, now: dt.datetime | None = None) -> str | None:
        """Give an unhosted router an agent; the host newly given it, or None."""
        at = now or utcnow()
        with self.db.reader() as session:
            if not self._could_schedule(session, at):
                return None
        return self._schedule(router_id, at)

    def _could_schedule(self, session: Session, now: dt.datetime) -> bool:
        """False when no L3 agent could host any router now: then a scheduling
        transaction (router facts, bindings, agents) would only find that out."""
        return scheduling.could_host_any(agentstore.l3_agents(session), now,
                                         self.conf.agent_down_time)

    def _schedule(self, router_id: str, at: dt.datetime) -> str | None:
        def in_tx(session: Session) -> str | None:
            facts = agentstore.router_facts(session, [router_id])
            if not facts or agentstore.agents_of_router(session, router_id):
                return None
            chosen = self._choose(agentstore.l3_agents(session), facts[0], at)
            if chosen is None:
                return None
            agentstore.bind(session, router_id, chosen.id)
            return chosen.host

        host: str | None = self._write(in_tx)
        if host:
            LOG.info("router %s scheduled to the L3 agent on %s", router_id, host)
        return host

    def _serving_agent(self, session: Session, host: str) -> scheduling.L3Agent | None:
        """The L3 agent of ``host`` if it may serve routers now (admin up, or allowed)."""
        agent = agentstore.l3_agent_on_host(session, host)
        if agent is None or not (
                agent.admin_state_up or self.conf.enable_services_on_agents_with_admin_state_down):
            return None
        return agent

    def auto_schedule(self, host: str) -> list[str]:
        """``host``'s agent asks for its routers: it takes the unhosted ones it can serve.

        The asker is alive by definition; only its admin state and settings count.
        """
        if not self.conf.router_auto_schedule:
            return []

        def in_tx(session: Session) -> list[str]:
            agent = self._serving_agent(session, host)
            if agent is None or not agent.admin_state_up:
                return []
            taken = []
            for router in agentstore.router_facts(session,
                                                  agentstore.unscheduled_routers(session)):
                zones = router.az_hints or tuple(self.conf.default_availability_zones)
                if scheduling.accepts(agent, router) and scheduling.in_zones(agent, zones):
                    agentstore.bind(session, router.id, agent.id)
                    taken.append(router.id)
            return taken

        taken: list[str] = self._write(in_tx)
        if taken:
            LOG.info("L3 agent on %s takes unhosted routers %s", host, taken)
        return taken

    def router_ids_on_host(self, host: str) -> list[str]:
        """Routers of ``host``'s L3 agent; none while its services are disabled."""
        with self.db.reader() as session:
            agent = self._serving_agent(session, host)
            return agentstore.routers_of_agent(session, agent.id) if agent else []

    def reschedule_dead_agents(self, now: dt.datetime) -> dict[str, str]:
        """Move the routers of agents down for ``agent_down_time``; router → new host.

        A router stays where it is when no other agent can take it.
        """
        with self.db.reader() as session:
            dead = [a for a in scheduling.dead_agents(
                agentstore.l3_agents(session), now, self.conf.agent_down_time)
                if a.admin_state_up]
            moving = {a.id: agentstore.routers_of_agent(session, a.id) for a in dead}
        moved: dict[str, str] = {}
        for agent in dead:
            for router_id in moving[agent.id]:
                host = self._move(router_id, agent, now)
                if host is not None:
                    moved[router_id] = host
        return moved

    def _move(self, router_id: str, dead: scheduling.L3Agent, now: dt.datetime) -> str | None:
        def in_tx(session: Session) -> str | None:
            facts = agentstore.router_facts(session, [router_id])
            if not facts or not agentstore.unbind(session, router_id, dead.id):
                return None
            chosen = self._choose(agentstore.l3_agents(session), facts[0], now)
            if chosen is None:
                raise _NoTarget()
            agentstore.bind(session, router_id, chosen.id)
            return chosen.host

        try:
            host: str | None = self._write(in_tx)
        except _NoTarget:
            LOG.warning("L3 agent on %s is down, and no other agent can take router %s",
                        dead.host, router_id)
            return None
        if host is not None:
            LOG.warning("L3 agent on %s is down: router %s moved to %s", dead.host,
                        router_id, host)
            self._cast(dead.host, "router_removed_from_agent", router_id)
            self._cast(host, "router_added_to_agent", router_id)
        return host

    def _failover_loop(self) -> None:
        interval = max(self.conf.agent_down_time / 2, 1)
        while not self._stop.wait(interval):
            try:
                self.reschedule_dead_agents(utcnow())
            except Exception:
                LOG.exception("L3 agent failover check failed")

    # --- API: /agents/{id}/l3-routers, /routers/{id}/l3-agents ------------------------

    def _l3_agent(self, session: Session, agent_id: str) -> scheduling.L3Agent:
        found = agentstore.l3_agents(session, [agent_id])
        if not found:
            raise ext.InvalidL3Agent(id=agent_id)
        return found[0]

    def get_agent_routers(self, ctx: Context, agent_id: str, filters: dict[str, list[Any]],
                          page: Page | None = None) -> list[dict[str, Any]]:
        with self.db.reader() as session:
            ids = agentstore.routers_of_agent(session, agent_id)
        wanted = filters.get("id")
        ids = [i for i in ids if not wanted or i in wanted]
        if not ids:
            return []
        routers: Any = self.get_routers(  # type: ignore[attr-defined]
            ctx, {**filters, "id": ids}, page)
        return list(routers)

    def get_agent_router(self, ctx: Context, router_id: str,
                         agent_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            if router_id not in agentstore.routers_of_agent(session, agent_id):
                raise ext.RouterNotHostedByL3Agent(router_id=router_id, agent_id=agent_id)
        return dict(self.get_router(ctx, router_id))  # type: ignore[attr-defined]

    def create_agent_router(self, ctx: Context, agent_id: str, body: dict[str, Any]) -> None:
        """Neutron's ``add_router_to_l3_agent``: a legacy router has one agent."""
        router_id = body.get("router_id")
        if not isinstance(router_id, str) or not router_id:
            raise exc.HTTPBadRequest(msg="router_id is required")

        def in_tx(session: Session) -> str | None:
            facts = agentstore.router_facts(session, [router_id])
            if not facts:
                raise l3.RouterNotFound(router_id=router_id)
            agent = self._l3_agent(session, agent_id)
            if agent.mode not in ext.SCHEDULABLE_MODES:
                raise ext.DVRL3CannotAssignToDvrAgent()
            if not (agent.admin_state_up or
                    self.conf.enable_services_on_agents_with_admin_state_down) or \
                    not scheduling.accepts(agent, facts[0]):
                raise ext.InvalidL3Agent(id=agent_id)
            hosting = agentstore.agents_of_router(session, router_id)
            if agent_id in hosting:
                return None  # already there: nothing to do, as Neutron
            if hosting:
                raise ext.RouterHostedByL3Agent(router_id=router_id, agent_id=hosting[0])
            agentstore.bind(session, router_id, agent_id)
            return agent.host

        host: str | None = self._write(in_tx)
        if host is not None:
            self._cast(host, "router_added_to_agent", router_id)

    def delete_agent_router(self, ctx: Context, router_id: str, agent_id: str) -> None:
        """Neutron's ``remove_router_from_l3_agent``: the router is left unhosted."""
        def in_tx(session: Session) -> str:
            agent = self._l3_agent(session, agent_id)
            if agent.mode not in ext.SCHEDULABLE_MODES:
                raise ext.DVRL3CannotRemoveFromDvrAgent()
            if not agentstore.unbind(session, router_id, agent_id):
                raise ext.RouterNotHostedByL3Agent(router_id=router_id, agent_id=agent_id)
            return agent.host

        host: str = self._write(in_tx)
        self._cast(host, "router_removed_from_agent", router_id)

    def get_router_agents(self, ctx: Context, router_id: str,
                          filters: dict[str, list[Any]],
                          page: Page | None = None) -> list[dict[str, Any]]:
        with self.db.reader() as session:
            hosting = agentstore.agents_of_router(session, router_id)
            return agents_db.listed_agents(session, hosting, utcnow(),
                                           self.conf.agent_down_time, filters)

    def get_router_agent(self, ctx: Context, agent_id: str,
                         router_id: str) -> dict[str, Any]:
        for agent in self.get_router_agents(ctx, router_id, {}):
            if agent["id"] == agent_id:
                return agent
        raise ext.RouterNotHostedByL3Agent(router_id=router_id, agent_id=agent_id)

    # --- floating IP statuses from the agents ----------------------------------------

    def update_floatingip_statuses(self, router_id: str, statuses: dict[str, str]) -> int:
        """Set the statuses an agent reports, for floating IPs still on ``router_id``."""
        wanted = {f: s for f, s in statuses.items() if s in FIP_STATUSES}
        if not wanted:
            return 0

        def in_tx(session: Session) -> int:
            changed = 0
            for fip_id, status in sorted(wanted.items()):
                done = session.execute(update(FloatingIP).where(
                    FloatingIP.id == fip_id, FloatingIP.router_id == router_id,
                    FloatingIP.status != status).values(
                    status=status, revision_number=FloatingIP.revision_number + 1,
                    updated_at=utcnow()))
                changed += done.rowcount  # type: ignore[attr-defined]
            return changed

        return int(self._write(in_tx))

    # --- notifications (after commit) ------------------------------------------------

    def _cast(self, host: str, method: str, router_id: str) -> None:
        if self.notifier is not None and host:
            self.notifier.notify(host, method, router_id)

    def router_changed(self, router_id: str) -> None:
        """Tell the router's agent; an unhosted router is scheduled first (if allowed)."""
        now = utcnow()
        with self.db.reader() as session:
            if not self.conf.router_auto_schedule:
                hosts = agentstore.hosts_of_routers(session, [router_id])[router_id]
            else:
                agents, hosts = agentstore.l3_agents_and_hosts(session, router_id)
                if not hosts and not scheduling.could_host_any(
                        agents, now, self.conf.agent_down_time):
                    return  # unhosted, and no agent to host it: nobody to tell
        if not hosts and self.conf.router_auto_schedule:
            new = self._schedule(router_id, now)
            if new is not None:
                self._cast(new, "router_added_to_agent", router_id)
            return
        for host in hosts:
            self._cast(host, "routers_updated", router_id)

    def _router_created(self, resource: str, event: str, ctx: Context,
                        current: dict[str, Any], original: dict[str, Any] | None,
                        **details: Any) -> None:
        if self.conf.router_auto_schedule:
            host = self.schedule_router(current["id"])
            if host is not None:
                self._cast(host, "router_added_to_agent", current["id"])

    def _router_event(self, resource: str, event: str, ctx: Context,
                      current: dict[str, Any], original: dict[str, Any] | None,
                      **details: Any) -> None:
        # A router's own dict, or an interface's info: both carry the router as "id".
        self.router_changed(current["id"])

    def _router_deleting(self, resource: str, event: str, ctx: Context,
                         current: dict[str, Any], original: dict[str, Any] | None,
                         session: Session | None = None, **details: Any) -> None:
        # The bindings go with the router (ON DELETE CASCADE); remember whom to tell.
        if session is not None:
            self._gone[current["id"]] = agentstore.hosts_of_routers(
                session, [current["id"]])[current["id"]]

    def _router_deleted(self, resource: str, event: str, ctx: Context,
                        current: dict[str, Any], original: dict[str, Any] | None,
                        **details: Any) -> None:
        for host in self._gone.pop(current["id"], []):
            self._cast(host, "router_deleted", current["id"])

    def _fip_event(self, resource: str, event: str, ctx: Context, current: dict[str, Any],
                   original: dict[str, Any] | None, **details: Any) -> None:
        routers = {current.get("router_id"), (original or {}).get("router_id")}
        if original is not None and current.get("router_id") == original.get("router_id") \
                and all(current.get(k) == original.get(k)
                        for k in ("port_id", "fixed_ip_address")):
            return  # a description, a tag, a status: nothing the agent holds
        for router_id in sorted(r for r in routers if r):
            self.router_changed(router_id)

    def _pf_precommit(self, resource: str, event: str, ctx: Context,
                      current: dict[str, Any], original: dict[str, Any] | None,
                      session: Session | None = None, **details: Any) -> None:
        if session is not None:
            self._pf_routers[current["id"]] = session.execute(select(
                FloatingIP.router_id).where(FloatingIP.id == current["floatingip_id"])).scalar()

    def _pf_event(self, resource: str, event: str, ctx: Context, current: dict[str, Any],
                  original: dict[str, Any] | None, **details: Any) -> None:
        router_id = self._pf_routers.pop(current["id"], None)
        if router_id:
            self.router_changed(router_id)


class _NoTarget(Exception):
    """No agent can take a router off a dead one: its binding stays (rolled back)."""
