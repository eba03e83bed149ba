"""Tunnel endpoints and the l2population FDB: ``tunnel_sync``, tunnel and FDB casts.

Without l2pop the agent learns every endpoint from ``tunnel_sync`` (at each resync) and
``tunnel_update``/``tunnel_delete`` casts, and floods to all of them. With l2pop the
server's ``add_fdb_entries`` / ``remove_fdb_entries`` / ``update_fdb_entries`` name the
remote MACs/IPs of the networks this host has ports on; the pure helpers of ``state``
fold them into the FDB, so replaying a message twice changes nothing. The tunnel ports
wanted follow from both (``topology.plan_tunnels``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from neutrino.agent.ovs.config import AgentConfig
from neutrino.agent.ovs.server_api import PluginApi
from neutrino.agent.ovs.state import (
    FdbTable,
    add_fdb_entries,
    remove_fdb_entries,
    update_fdb_entries,
)
from neutrino.agent.ovs.topology import plan_tunnels
from neutrino.agent.ovs.vlans import LocalVlanManager


class L2popHandling:
    """OvsAgent's part that tracks tunnel endpoints and the l2pop FDB."""

    host: str
    config: AgentConfig
    plugin_rpc: PluginApi
    vlans: LocalVlanManager
    fdb: FdbTable
    endpoints: set[tuple[str, str]]
    _fdb_seen: set[str]

    if TYPE_CHECKING:  # provided by DeviceAgent
        def _emit(self, event: str, payload: dict[str, Any]) -> None: ...

    def _tunnel_sync(self) -> None:
        """Register this host's endpoint per tunnel type and learn the others'."""
        topology = self.config.topology
        if not topology.tunnelling:
            return
        for tunnel_type in topology.tunnel_types:
            reply = self.plugin_rpc.tunnel_sync(tunnel_ip=str(topology.local_ip),
                                                tunnel_type=tunnel_type,
                                                host=self.host) or {}
            for tunnel in reply.get("tunnels") or ():
                self._on_tunnel_update(tunnel.get("ip_address"), tunnel_type)

    def _wanted_tunnels(self) -> frozenset[tuple[str, str]]:
        topology = self.config.topology
        return plan_tunnels(topology.local_ip, topology.tunnel_types, self.vlans.all,
                            self.fdb, self.endpoints, self.config.l2_population)

    def _on_tunnel_update(self, tunnel_ip: str | None, tunnel_type: str | None) -> None:
        if tunnel_ip and tunnel_type and tunnel_ip != self.config.topology.local_ip:
            self.endpoints.add((tunnel_type, tunnel_ip))

    def _on_tunnel_delete(self, tunnel_ip: str | None, tunnel_type: str | None) -> None:
        self.endpoints.discard((tunnel_type or "", tunnel_ip or ""))

    def _local_entries(self, fdb_entries: Mapping[str, Any]) -> dict[str, Any]:
        # like Neutron's fdb_add: only networks with a local VLAN here matter
        return {net: value for net, value in fdb_entries.items()
                if net != "chg_ip" and self.vlans.get(net) is not None}

    def _on_add_fdb_entries(self, fdb_entries: Mapping[str, Any]) -> None:
        local = self._local_entries(fdb_entries)
        self.fdb = add_fdb_entries(self.fdb, local, self.config.topology.local_ip)
        self._fdb_seen.update(local)
        self._emit("add_fdb_entries", {"networks": sorted(local), "fdb_entries": local})

    def _on_remove_fdb_entries(self, fdb_entries: Mapping[str, Any]) -> None:
        local = self._local_entries(fdb_entries)
        self.fdb = remove_fdb_entries(self.fdb, local, self.config.topology.local_ip)
        self._emit("remove_fdb_entries", {"networks": sorted(local), "fdb_entries": local})

    def _on_update_fdb_entries(self, fdb_entries: Mapping[str, Any]) -> None:
        changes = self._local_entries(fdb_entries.get("chg_ip") or {})
        self.fdb = update_fdb_entries(self.fdb, {"chg_ip": changes},
                                      self.config.topology.local_ip)
        self._emit("update_fdb_entries", {"networks": sorted(changes)})
