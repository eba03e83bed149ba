"""The server's RPC side: consumers on ``q-plugin``/``q-reports-plugin`` and the notifiers.

``RpcService(conf, core_plugin)`` wires everything to one transport:

* ``notifier`` (AgentNotifier) is subscribed to the core plugin's after-commit
  events: ``port_update`` / ``port_delete`` cast to the port's host(s),
  ``network_delete`` to the hosts of the ports deleted with the network (an agent
  holds state for a network only while it has ports on it; Neutron fans it out to
  every agent);
* the ``l2population`` mechanism driver, when loaded, gets an ``L2popNotifier``;
* ``start()`` begins consuming agents' calls, ``stop()`` ends it.

``attach(server)`` does this for a built API ``Server`` (core plugin plus service
plugins) and is idempotent; the API process calls it once after ``build``.
"""

from __future__ import annotations

import logging
from typing import Any

import oslo_messaging

from neutrino.common import constants as const
from neutrino.context import Context, admin_context
from neutrino.db import l2pop as l2pop_db
from neutrino.plugins.ml2 import driver_api as api
from neutrino.rpc import callbacks, client, notifiers, topics
from neutrino.rpc import metadata as metadata_rpc
from neutrino.rpc import securitygroups as sg_rpc
from neutrino.rpc import transport as rpc_transport

LOG = logging.getLogger(__name__)

# Changes of a port that its agent must act on (anything else is API bookkeeping).
_AGENT_RELEVANT = ("admin_state_up", "fixed_ips", "allowed_address_pairs", "mac_address",
                   "port_security_enabled", "security_groups", "binding:host_id",
                   "binding:vif_type", "binding:profile", "device_owner")


class RpcService:
    """Notifiers, callbacks and the RPC servers of one API process."""

    def __init__(self, conf: Any, core_plugin: Any,
                 transport: oslo_messaging.Transport | None = None) -> None:
        self.conf = conf
        self.plugin = core_plugin
        self.transport = transport or rpc_transport.get_transport(conf)
        self.caster = notifiers.Caster(self.transport)
        self.notifier = notifiers.AgentNotifier(self.caster)
        self.l2pop_notifier = notifiers.L2popNotifier(self.caster)
        self.l2pop = self._attach_l2pop()
        self.callbacks = callbacks.RpcCallbacks(core_plugin, self.notifier, self.l2pop)
        self.sg_notifier = sg_rpc.SecurityGroupAgentNotifier(self.caster)
        self.sg_callbacks = sg_rpc.SecurityGroupServerRpcCallback(core_plugin.db)
        self.metadata_callbacks = metadata_rpc.MetadataRpcCallback(core_plugin)
        self.reports = callbacks.StateReportCallbacks(core_plugin, conf.agent_down_time,
                                                      on_return=self.agent_returned)
        self._servers: list[Any] = []
        # More q-plugin endpoints that service plugins bring (``attach_rpc``: DHCP).
        self.plugin_endpoints: list[Any] = []
        # Topics of their own that service plugins serve (``consume``: q-l3-plugin).
        self.topic_endpoints: dict[str, list[Any]] = {}
        self._subscribe()

    # --- wiring ----------------------------------------------------------------------

    def _attach_l2pop(self) -> Any:
        from neutrino.plugins.ml2.mechanisms.l2population import L2populationMechanismDriver

        manager = getattr(self.plugin, "mechanism_manager", None)
        for driver in getattr(manager, "drivers", []):
            if isinstance(driver, L2populationMechanismDriver):
                driver.attach(self.plugin, self.l2pop_notifier)
                return driver
        return None

    def _subscribe(self) -> None:
        events = getattr(self.plugin, "events", None)
        if events is None:
            return
        events.subscribe("port", "after_update", self._port_updated)
        events.subscribe("port", "after_delete", self._port_deleted)
        events.subscribe("network", "after_delete", self._network_deleted)
        sg_rpc.SecurityGroupNotifications(self.plugin.db, self.sg_notifier).subscribe(events)

    # --- event handlers (run after commit, on the API thread) ------------------------

    def _port_updated(self, resource: str, event: str, ctx: Context,
                      current: dict[str, Any], original: dict[str, Any] | None,
                      **details: Any) -> None:
        if original is None:
            return  # a status change reported by the agent itself
        if not any(current.get(k) != original.get(k) for k in _AGENT_RELEVANT):
            return
        hosts = [current.get("binding:host_id", ""), original.get("binding:host_id", "")]
        self.notifier.port_update(current, self._segment(current), hosts)

    def _port_deleted(self, resource: str, event: str, ctx: Context,
                      current: dict[str, Any], original: dict[str, Any] | None,
                      **details: Any) -> None:
        self.notifier.port_delete(current["id"], [current.get("binding:host_id", "")])

    def _network_deleted(self, resource: str, event: str, ctx: Context,
                         current: dict[str, Any], original: dict[str, Any] | None,
                         port_hosts: list[str] | None = None, **details: Any) -> None:
        # None (a publisher that does not know the hosts): fanout, as Neutron.
        self.notifier.network_delete(current["id"], port_hosts)

    def _segment(self, port: dict[str, Any]) -> dict[str, Any] | None:
        with self.plugin.db.reader() as session:
            return l2pop_db.bound_segments(session, [port["id"]]).get(port["id"])

    # --- agents coming back ----------------------------------------------------------

    def agent_returned(self, state: dict[str, Any], status: str) -> None:
        """A new or revived agent: retry the bindings that failed on its host."""
        if state.get("agent_type") != const.AGENT_TYPE_OVS:
            return
        rebind_failed_ports(self.plugin, state["host"])

    def consume(self, topic: str, endpoints: list[Any]) -> None:
        """Serve ``endpoints`` on ``topic`` too, from ``start()`` on (for ``attach_rpc``)."""
        self.topic_endpoints.setdefault(topic, []).extend(endpoints)

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Consume ``q-plugin`` and ``q-reports-plugin`` (idempotent)."""
        if self._servers:
            return
        host = self.conf.host
        plugin = [self.callbacks, self.sg_callbacks, self.metadata_callbacks,
                  *self.plugin_endpoints]
        plan = [(topics.PLUGIN, plugin), (topics.REPORTS, [self.reports])]
        if not self.conf.rpc_state_report_workers:
            plan = [(topics.PLUGIN, [*plugin, self.reports])]
        plan += list(self.topic_endpoints.items())
        for topic, endpoints in plan:
            server = oslo_messaging.get_rpc_server(
                self.transport, oslo_messaging.Target(topic=topic, server=host),
                endpoints, executor="threading")
            server.start()
            self._servers.append(server)
        LOG.info("RPC server consuming %s as %s", [t for t, _ in plan], host)

    def take_servers(self) -> list[Any]:
        """Hand over the running servers (to be stopped together with others)."""
        servers, self._servers = self._servers, []
        return servers

    def stop(self) -> None:
        servers = self.take_servers()
        client.stop_servers(servers)


def rebind_failed_ports(plugin: Any, host: str) -> int:
    """Bind again every port of ``host`` whose binding failed; return how many bound."""
    ctx = admin_context()
    failed = plugin.get_ports(ctx, {"binding:host_id": [host],
                                    "binding:vif_type": [api.VIF_TYPE_BINDING_FAILED]})
    bound = 0
    for port in failed:
        try:
            updated = plugin.update_port(ctx, port["id"], {"binding:host_id": host})
        except Exception:
            LOG.exception("rebinding port %s on %s failed", port["id"], host)
            continue
        bound += updated.get("binding:vif_type") not in callbacks.UNBOUND
    if failed:
        LOG.info("agent on %s is back: %d of %d failed bindings now bound", host, bound,
                 len(failed))
    return bound


def attach(server: Any, transport: oslo_messaging.Transport | None = None,
           start: bool = True) -> RpcService:
    """Give a built API ``Server`` its RpcService (once) and start consuming if asked.

    Also hands the agents service plugin, when loaded, the notifier it uses to
    announce removed tunnel endpoints.
    """
    service = getattr(server, "rpc", None)
    if service is None:
        service = RpcService(server.conf, server.core_plugin, transport)
        server.rpc = service
        for plugin in getattr(server, "service_plugins", []):
            if hasattr(plugin, "attach_notifier"):
                plugin.attach_notifier(service.notifier)
            if hasattr(plugin, "attach_rpc"):
                service.plugin_endpoints.extend(plugin.attach_rpc(service))
    if start and server.conf.rpc_workers:
        service.start()
    return service


def detach(server: Any) -> None:
    """Stop the RPC servers of ``server`` (the transport stays with its owner)."""
    service = getattr(server, "rpc", None)
    if service is not None:
        service.stop()
