"""What the OVS agent tells the server: devices up/down and its heartbeat's configuration.

Devices bound (or dead, or gone) since the last report go in one ``update_device_list``
per round, so the server marks ports ACTIVE or DOWN; devices the server failed to process
stay queued for the next round. ``refresh_tunnels`` (after a resync) rides on the next
report that carries devices, as Neutron's agent does. At a resync, ports the server
believes bound here but whose VIF is gone (unplugged while the agent was down) are
reported down.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from neutrino.agent.ovs.binding import BoundPort
from neutrino.agent.ovs.bridge import VifPort
from neutrino.agent.ovs.config import AgentConfig
from neutrino.agent.ovs.server_api import AGENT_BINARY_OVS, AGENT_TYPE_OVS, PluginApi

LOG = logging.getLogger(__name__)


class DeviceReporting:
    """OvsAgent's part that reports devices and builds the heartbeat."""

    host: str
    config: AgentConfig
    agent_id: str
    plugin_rpc: PluginApi
    vifs: dict[str, VifPort]
    bound: dict[str, BoundPort]
    _up: set[str]
    _down: set[str]
    _refresh_tunnels: bool
    _start_flag: bool

    if TYPE_CHECKING:  # provided by DeviceAgent
        def _emit(self, event: str, payload: dict[str, Any]) -> None: ...

    def _report_devices(self) -> None:
        """The "report" phase: one ``update_device_list`` for what changed this round."""
        up, down = sorted(self._up), sorted(self._down)
        refresh = self._refresh_tunnels
        if not up and not down:
            return  # refresh_tunnels rides on the next report with devices
        reply = self.plugin_rpc.update_device_list(
            devices_up=up, devices_down=down, agent_id=self.agent_id,
            host=self.host, refresh_tunnels=refresh) or {}
        failed_up = set(reply.get("failed_devices_up") or ())
        failed_down = set(reply.get("failed_devices_down") or ())
        self._up.difference_update(set(up) - failed_up)
        self._down.difference_update(set(down) - failed_down)
        if failed_up or failed_down:  # retried on the next iteration
            LOG.warning("%s: reporting devices failed: up %s down %s", self.host,
                        sorted(failed_up), sorted(failed_down))
        else:
            self._refresh_tunnels = False
        self._emit("devices_reported", {"up": up, "down": down})

    def _report_unplugged(self) -> None:
        """Ports the server believes bound here whose VIF is gone (unplugged while down)."""
        try:
            ports = self.plugin_rpc.get_ports_by_vnic_type_and_host(
                vnic_type="normal", host=self.host) or []
        except NotImplementedError:
            return
        for port in ports:
            port_id = port.get("id")
            if port_id and port_id not in self.vifs and port.get("status") != "DOWN":
                self._down.add(port_id)

    def state_report(self) -> dict[str, Any]:
        """The ``agent_state`` dict of a heartbeat (neutron-facts §2.4)."""
        topology = self.config.topology
        report: dict[str, Any] = {
            "binary": AGENT_BINARY_OVS, "host": self.host, "topic": "N/A",
            "agent_type": AGENT_TYPE_OVS, "start_flag": self._start_flag,
            "configurations": {
                "bridge_mappings": dict(topology.bridge_mappings),
                "tunnel_types": list(topology.tunnel_types),
                "tunneling_ip": topology.local_ip or "",
                "l2_population": self.config.l2_population,
                "arp_responder_enabled": self.config.arp_responder_enabled,
                "enable_distributed_routing": False,
                "devices": len(self.bound),
                "datapath_type": self.config.datapath_type,
                "ovs_hybrid_plug": False,
                "integration_bridge": topology.integration_bridge,
                "tunnel_bridge": topology.tunnel_bridge,
                "extensions": [],
            },
        }
        if not self._start_flag:
            report.pop("start_flag")
        return report
