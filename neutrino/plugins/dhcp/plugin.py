"""The DHCP scheduling service plugin (ML2 brings it, as Neutron's ML2 serves it).

* Scheduling: a network with a DHCP-enabled subnet gets ``dhcp_agents_per_network``
  alive, admin-up DHCP agents, least loaded first — when such a subnet is created or
  enabled, when a port is created on a network nobody serves yet, and when an agent
  first asks for its networks (``network_auto_schedule``). A periodic check moves the
  networks of agents silent for ``agent_down_time`` (``allow_automatic_dhcp_failover``).
* API: the ``dhcp_agent_scheduler`` sub-resources (``apidef.dhcpagentscheduler``).
* Provisioning: a port created (or re-addressed) on a network that a DHCP agent serves
  waits for that agent's ``dhcp_ready_on_ports`` as well as for its L2 agent
  (``db.provisioning``); network-owned ports wait for no DHCP agent.
* Notifications: once the RPC service is attached (``attach_rpc``), the after-commit
  events of networks, subnets and ports become casts to the hosting agents only.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import dhcpagentscheduler as ext
from neutrino.common import constants as const
from neutrino.context import Context, admin_context
from neutrino.db import agents as agents_db
from neutrino.db import provisioning
from neutrino.db.base import utcnow
from neutrino.db.query import Page
from neutrino.plugins.base import ServicePlugin, SubResource
from neutrino.plugins.dhcp import scheduling, store

LOG = logging.getLogger(__name__)

DEVICE_OWNER_DHCP = "network:dhcp"

# Port changes a DHCP agent must see before the port is usable again.
_DHCP_FIELDS = ("fixed_ips", "mac_address")
# What the agents' host and opts files are made of: anything else is not their news.
_NOTIFY_FIELDS = (*_DHCP_FIELDS, "device_owner", "device_id", "extra_dhcp_opts",
                  "admin_state_up", "dns_name", "dns_assignment", "binding:host_id")


def network_owned(port: dict[str, Any]) -> bool:
    return str(port.get("device_owner") or "").startswith("network:")


class Plugin(ServicePlugin):
    """DHCP agent scheduling (``dhcp_agent_scheduler``) and the DHCP provisioning half."""

    supported_extension_aliases = [ext.ALIAS]
    sub_resources = [SubResource("agents", ext.DHCP_NETWORKS, plain_create=True),
                     SubResource("networks", ext.DHCP_AGENTS)]
    policy_rules = ext.POLICY_RULES

    def __init__(self, conf: Any, db: Any, core_plugin: Any) -> None:
        super().__init__(conf, db, core_plugin)
        self.events = core_plugin.events
        self.notifier: Any = None
        self._gone: dict[str, list[str]] = {}  # network id → hosts, between its delete's phases
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscribe()

    # --- wiring ----------------------------------------------------------------------

    def _subscribe(self) -> None:
        on = self.events.subscribe
        on("port", "precommit_create", self._block_port)
        on("port", "precommit_update", self._block_port)
        on("port", "after_create", self._port_created)
        on("port", "after_update", self._port_updated)
        on("port", "after_delete", self._port_deleted)
        on("subnet", "after_create", self._subnet_changed)
        on("subnet", "after_update", self._subnet_changed)
        on("subnet", "after_delete", self._subnet_deleted)
        on("network", "after_update", self._network_updated)
        on("network", "precommit_delete", self._network_deleting)
        on("network", "after_delete", self._network_deleted)

    def attach_rpc(self, rpc: Any) -> list[Any]:
        """Called by the RPC service: take its notifier, return the ``q-plugin`` endpoints."""
        from neutrino.rpc import dhcp as dhcp_rpc

        self.notifier = dhcp_rpc.DhcpAgentNotifier(rpc.caster)
        if self.conf.allow_automatic_dhcp_failover and self._thread is None:
            self._thread = threading.Thread(target=self._failover_loop, daemon=True,
                                            name="dhcp-failover")
            self._thread.start()
        return [dhcp_rpc.DhcpRpcCallback(self.core_plugin, self, rpc.l2pop)]

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # --- scheduling ------------------------------------------------------------------

    def _write(self, fn: Any) -> Any:
        return self.db.write(fn)

    def schedule_network(self, network_id: str, now: dt.datetime | None = None
                         ) -> list[str]:
        """Give the network the agents it lacks; return the hosts newly given it."""
        now = now or utcnow()

        def in_tx(session: Session) -> list[str]:
            if not store.wants_dhcp(session, network_id):
                return []
            # Neutron's rule: the network's hints, else default_availability_zones.
            zones = store.network_hints(session, network_id) or list(
                getattr(self.conf, "default_availability_zones", []))
            chosen = scheduling.choose_agents(
                store.dhcp_agents(session), store.agents_of_network(session, network_id),
                self.conf.dhcp_agents_per_network, now, self.conf.agent_down_time, zones)
            for agent in chosen:
                store.bind(session, network_id, agent.id)
            return [a.host for a in chosen]

        hosts: list[str] = self._write(in_tx)
        if hosts:
            LOG.info("network %s scheduled to DHCP agents on %s", network_id, hosts)
        return hosts

    def auto_schedule(self, host: str, now: dt.datetime | None = None) -> None:
        """An agent asks for its networks: first give unserved networks agents."""
        if not self.conf.network_auto_schedule:
            return
        with self.db.reader() as session:
            if store.dhcp_agent_on_host(session, host) is None:
                return
            short = store.dhcp_networks_short_of(session, self.conf.dhcp_agents_per_network)
        for network_id in short:
            self.schedule_network(network_id, now)

    def networks_of_host(self, host: str) -> list[str]:
        with self.db.reader() as session:
            agent_id = store.dhcp_agent_on_host(session, host)
            return store.networks_of_agent(session, agent_id) if agent_id else []

    def reschedule_dead_agents(self, now: dt.datetime) -> dict[str, list[str]]:
        """Move the networks of agents down for ``agent_down_time``; network → new hosts."""
        with self.db.reader() as session:
            dead = scheduling.dead_agents(store.dhcp_agents(session), now,
                                          self.conf.agent_down_time)
            moving = {a.id: store.networks_of_agent(session, a.id) for a in dead}
        moved: dict[str, list[str]] = {}
        for agent in dead:
            for network_id in moving[agent.id]:
                LOG.warning("DHCP agent on %s is down: moving network %s", agent.host,
                            network_id)
                self._write(lambda s, n=network_id, a=agent.id: store.unbind(s, n, a))
                hosts = self.schedule_network(network_id, now)
                moved[network_id] = hosts
                self._announce_network(network_id, hosts)
                self._release_if_unserved(network_id)
        return moved

    def _failover_loop(self) -> None:
        interval = max(self.conf.agent_down_time / 2, 1)
        while not self._stop.wait(interval):
            try:
                self.reschedule_dead_agents(utcnow())
            except Exception:
                LOG.exception("DHCP agent failover check failed")

    def _release_if_unserved(self, network_id: str) -> None:
        """No DHCP agent left: ports waiting for one would wait forever; let them go."""
        with self.db.reader() as session:
            if store.agents_of_network(session, network_id):
                return
        ports = self.core_plugin.get_ports(admin_context(), {"network_id": [network_id]})
        with self.db.reader() as session:
            waiting = provisioning.blocked_ports(session, [p["id"] for p in ports],
                                                 provisioning.DHCP_ENTITY)
        for port_id in waiting:
            self.core_plugin.provisioning_complete(admin_context(), port_id,
                                                   provisioning.DHCP_ENTITY)

    # --- API: /agents/{id}/dhcp-networks ----------------------------------------------

    def _dhcp_agent(self, session: Session, agent_id: str) -> scheduling.DhcpAgent:
        found = store.dhcp_agents(session, [agent_id])
        if not found:
            raise ext.InvalidDHCPAgent(id=agent_id)
        return found[0]

    def get_agent_networks(self, ctx: Context, agent_id: str, filters: dict[str, list[Any]],
                           page: Page | None = None) -> list[dict[str, Any]]:
        with self.db.reader() as session:
            self._dhcp_agent(session, agent_id)
            ids = store.networks_of_agent(session, agent_id)
        if not ids:
            return []
        wanted = filters.get("id")
        ids = [i for i in ids if not wanted or i in wanted]
        return list(self.core_plugin.get_networks(ctx, {**filters, "id": ids}, page))

    def get_agent_network(self, ctx: Context, network_id: str,
                          agent_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            if network_id not in store.networks_of_agent(session, agent_id):
                raise ext.NetworkNotHostedByDhcpAgent(network_id=network_id,
                                                      agent_id=agent_id)
        return dict(self.core_plugin.get_network(ctx, network_id))

    def create_agent_network(self, ctx: Context, agent_id: str,
                             body: dict[str, Any]) -> None:
        """Neutron's ``add_network_to_dhcp_agent`` (may exceed dhcp_agents_per_network)."""
        network_id = body.get("network_id")
        if not isinstance(network_id, str) or not network_id:
            raise exc.HTTPBadRequest(msg="network_id is required")
        self.core_plugin.get_network(ctx, network_id)  # 404 if there is none

        def in_tx(session: Session) -> str:
            agent = self._dhcp_agent(session, agent_id)
            if not agent.admin_state_up and \
                    not self.conf.enable_services_on_agents_with_admin_state_down:
                raise ext.InvalidDHCPAgent(id=agent_id)
            if agent_id in store.agents_of_network(session, network_id):
                raise ext.NetworkHostedByDHCPAgent(network_id=network_id, agent_id=agent_id)
            store.bind(session, network_id, agent_id)
            return agent.host

        host = self._write(in_tx)
        self._announce_network(network_id, [host])

    def delete_agent_network(self, ctx: Context, network_id: str, agent_id: str) -> None:
        """Neutron's ``remove_network_from_dhcp_agent``: the agent's DHCP port goes too."""
        def in_tx(session: Session) -> str:
            agent = self._dhcp_agent(session, agent_id)
            if not store.unbind(session, network_id, agent_id):
                raise ext.NetworkNotHostedByDhcpAgent(network_id=network_id,
                                                      agent_id=agent_id)
            return agent.host

        host = self._write(in_tx)
        admin = admin_context()
        for port in self.core_plugin.get_ports(admin, {
                "network_id": [network_id], "device_owner": [DEVICE_OWNER_DHCP],
                "binding:host_id": [host]}):
            self.core_plugin.delete_port(admin, port["id"])
        self._cast([host], "network_delete_end", {"network_id": network_id})
        self._release_if_unserved(network_id)

    # --- API: /networks/{id}/dhcp-agents ---------------------------------------------

    def get_network_agents(self, ctx: Context, network_id: str,
                           filters: dict[str, list[Any]],
                           page: Page | None = None) -> list[dict[str, Any]]:
        with self.db.reader() as session:
            hosting = store.agents_of_network(session, network_id)
            return agents_db.listed_agents(session, hosting, utcnow(),
                                           self.conf.agent_down_time, filters)

    def get_network_agent(self, ctx: Context, agent_id: str,
                          network_id: str) -> dict[str, Any]:
        for agent in self.get_network_agents(ctx, network_id, {}):
            if agent["id"] == agent_id:
                return agent
        raise ext.InvalidDHCPAgent(id=agent_id)

    # --- provisioning blocks (inside the port's transaction) -------------------------

    def _block_port(self, resource: str, event: str, ctx: Context, current: dict[str, Any],
                    original: dict[str, Any] | None, session: Session | None = None,
                    **details: Any) -> None:
        if session is None or network_owned(current) or not current.get("fixed_ips"):
            return
        if original is not None and all(current.get(k) == original.get(k)
                                        for k in _DHCP_FIELDS):
            return
        if not store.served_by_dhcp(session, current["network_id"]):
            return
        entities = [provisioning.DHCP_ENTITY]
        if current.get("status") != const.PORT_STATUS_ACTIVE:
            # Its L2 agent has not reported it yet: that half must come too.
            entities.append(provisioning.L2_AGENT_ENTITY)
        provisioning.add(session, current["id"], entities)

    # --- notifications (after commit) ------------------------------------------------

    def _hosts(self, network_id: str) -> list[str]:
        with self.db.reader() as session:
            return store.hosts_of_network(session, network_id)

    def _cast(self, hosts: list[str], method: str, payload: dict[str, Any]) -> None:
        if self.notifier is not None and hosts:
            self.notifier.notify(hosts, method, payload)

    def _announce_network(self, network_id: str, hosts: list[str]) -> None:
        """Newly scheduled agents hear of the whole network (they fetch it)."""
        if not hosts or self.notifier is None:
            return
        network = self.core_plugin.get_network(admin_context(), network_id)
        self._cast(hosts, "network_create_end", {"network": network})

    def _schedule_and_announce(self, network_id: str) -> list[str]:
        new = self.schedule_network(network_id)
        self._announce_network(network_id, new)
        return new

    def _port_created(self, resource: str, event: str, ctx: Context,
                      current: dict[str, Any], original: dict[str, Any] | None,
                      **details: Any) -> None:
        network_id = current["network_id"]
        # Read after the commit: an agent scheduled to the network concurrently shows
        # here, or fetches the network (this port included) after the commit.
        with self.db.read_engine.connect() as conn:
            hosts, any_agent = store.hosts_of_new_port(conn, network_id)
        # Scheduling chooses among DHCP agents: with none registered, its write
        # transaction (three reads) would choose nothing on every port create.
        schedule = not hosts and bool(current.get("fixed_ips")) and any_agent
        if schedule:
            self._schedule_and_announce(network_id)
            return  # the new agents fetch the whole network, this port included
        self._cast(hosts, "port_create_end", {"port": current})

    def _port_updated(self, resource: str, event: str, ctx: Context,
                      current: dict[str, Any], original: dict[str, Any] | None,
                      **details: Any) -> None:
        if original is None or all(current.get(k) == original.get(k)
                                   for k in _NOTIFY_FIELDS):
            return  # a status report, or nothing the DHCP agents' files hold
        self._cast(self._hosts(current["network_id"]), "port_update_end", {"port": current})

    def _port_deleted(self, resource: str, event: str, ctx: Context,
                      current: dict[str, Any], original: dict[str, Any] | None,
                      **details: Any) -> None:
        if current["network_id"] in self._gone:
            return  # its network is going too: network_delete_end says it all
        self._cast(self._hosts(current["network_id"]), "port_delete_end", {
            "port_id": current["id"], "network_id": current["network_id"],
            "fixed_ips": current.get("fixed_ips", [])})

    def _subnet_changed(self, resource: str, event: str, ctx: Context,
                        current: dict[str, Any], original: dict[str, Any] | None,
                        **details: Any) -> None:
        network_id = current["network_id"]
        new = self._schedule_and_announce(network_id) if current.get("enable_dhcp") else []
        method = "subnet_create_end" if event == "after_create" else "subnet_update_end"
        others = [h for h in self._hosts(network_id) if h not in new]
        self._cast(others, method, {"subnet": current})

    def _subnet_deleted(self, resource: str, event: str, ctx: Context,
                        current: dict[str, Any], original: dict[str, Any] | None,
                        **details: Any) -> None:
        self._cast(self._hosts(current["network_id"]), "subnet_delete_end", {
            "subnet_id": current["id"], "network_id": current["network_id"]})

    def _network_updated(self, resource: str, event: str, ctx: Context,
                         current: dict[str, Any], original: dict[str, Any] | None,
                         **details: Any) -> None:
        self._cast(self._hosts(current["id"]), "network_update_end", {"network": current})

    def _network_deleting(self, resource: str, event: str, ctx: Context,
                          current: dict[str, Any], original: dict[str, Any] | None,
                          session: Session | None = None, **details: Any) -> None:
        # The bindings go with the network (ON DELETE CASCADE); remember whom to tell.
        if session is not None:
            self._gone[current["id"]] = store.hosts_of_network(session, current["id"])

    def _network_deleted(self, resource: str, event: str, ctx: Context,
                         current: dict[str, Any], original: dict[str, Any] | None,
                         **details: Any) -> None:
        hosts = self._gone.pop(current["id"], [])
        self._cast(hosts, "network_delete_end", {"network_id": current["id"]})
