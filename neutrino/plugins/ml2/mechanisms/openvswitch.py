"""The openvswitch mechanism driver: binds a port where an OVS agent can wire it.

A port binds on host H to the first segment that H's Open vSwitch agent can
serve, and only if that agent is alive (a heartbeat within ``agent_down_time``)
and administratively up: tunnel segments need the type in the agent's
``tunnel_types``, flat and VLAN segments the physnet in its ``bridge_mappings``,
local segments nothing. Otherwise the driver leaves the port unbound and ML2
marks it ``binding_failed``; the binding is retried when the agent comes back.
"""

from __future__ import annotations

import logging
from typing import Any

from neutrino.common import constants as const
from neutrino.db import agents as agents_db
from neutrino.db.base import utcnow
from neutrino.db.segment_hosts import bridge_mappings
from neutrino.plugins.ml2 import driver_api as api

LOG = logging.getLogger(__name__)

VIF_TYPE_OVS = "ovs"
SUPPORTED_VNIC_TYPES = ("normal",)


def can_serve(configurations: dict[str, Any], segment: api.Segment) -> bool:
    """True when an agent with these configurations can wire ``segment``."""
    network_type = segment[api.NETWORK_TYPE]
    if network_type == const.TYPE_LOCAL:
        return True
    if network_type in const.TUNNEL_NETWORK_TYPES:
        return network_type in (configurations.get("tunnel_types") or [])
    if network_type in (const.TYPE_FLAT, const.TYPE_VLAN):
        physnet = segment.get(api.PHYSICAL_NETWORK)
        return bool(physnet) and physnet in bridge_mappings(configurations.get("bridge_mappings"))
    return False


def vif_details(configurations: dict[str, Any]) -> dict[str, Any]:
    return {"port_filter": True, "ovs_hybrid_plug": False,
            "datapath_type": configurations.get("datapath_type") or "system",
            "bridge_name": configurations.get("integration_bridge") or "br-int",
            "connectivity": "l2"}


class OpenvswitchMechanismDriver(api.MechanismDriver):
    """Binds ``normal`` ports with vif_type ``ovs`` on hosts with a usable OVS agent."""

    agent_type = const.AGENT_TYPE_OVS

    def _host_agent(self, context: api.PortContext) -> dict[str, Any] | None:
        session = context.session
        if session is None:
            with context._plugin.db.reader() as session:
                return self._agent_view(session, context.host)
        return self._agent_view(session, context.host)

    def _agent_view(self, session: Any, host: str) -> dict[str, Any] | None:
        row = agents_db.get_by_type_and_host(session, self.agent_type, host)
        if row is None:
            return None
        return {"alive": agents_db.is_alive(row.heartbeat_timestamp, utcnow(),
                                            self.conf.agent_down_time),
                "admin_state_up": row.admin_state_up,
                "configurations": agents_db.configurations(row)}

    def bind_port(self, context: api.PortContext) -> None:
        if context.vnic_type not in SUPPORTED_VNIC_TYPES or not context.host:
            return
        agent = self._host_agent(context)
        if agent is None:
            LOG.info("port %s: no %s on host %s", context.current["id"], self.agent_type,
                     context.host)
            return
        if not agent["alive"] or not agent["admin_state_up"]:
            LOG.warning("port %s: the %s on %s is %s", context.current["id"],
                        self.agent_type, context.host,
                        "down" if not agent["alive"] else "administratively down")
            return
        for segment in context.segments_to_bind:
            if can_serve(agent["configurations"], segment):
                context.set_binding(segment[api.ID], VIF_TYPE_OVS,
                                    vif_details(agent["configurations"]))
                return
        LOG.info("port %s: the %s on %s serves none of %s", context.current["id"],
                 self.agent_type, context.host, context.segments_to_bind)
