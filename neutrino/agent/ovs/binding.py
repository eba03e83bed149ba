"""Port binding: VIF and port/network news in, local VLAN tags and ``LocalPort`` values out.

A VIF the OVSDB monitor reports (or a ``port_update``) becomes *pending*; the next round
asks the server for the details of every pending VIF, ``processing_step`` at a time, and
binds each one: a local VLAN for its network (reusing the tag a previous agent run gave
it), the tag on its br-int port, the ``LocalPort`` its flows are computed from. A port the
server did not bind here, of a network this host cannot serve, or administratively down
gets the dead VLAN instead. Unplugged or deleted ports are unbound and their network's
local VLAN released with the last of them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from neutrino.agent.ovs.bridge import BridgeError, VifPort
from neutrino.agent.ovs.config import AgentConfig
from neutrino.agent.ovs.monitor import VifChange
from neutrino.agent.ovs.pipeline import DEAD_VLAN_TAG, TUNNEL_TYPES
from neutrino.agent.ovs.server_api import PluginApi
from neutrino.agent.ovs.state import FLAT, VLAN, AddressPair, FdbTable, LocalPort, remove_network
from neutrino.agent.ovs.topology import Bridges
from neutrino.agent.ovs.vlans import LocalVlanManager

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class BoundPort:
    """A VIF the agent wired: its network and the LocalPort the flows are computed from."""

    network_id: str
    port: LocalPort
    vif_name: str


def _fixed_ips(details: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(ip["ip_address"]) for ip in details.get("fixed_ips") or ())


def _address_pairs(details: Mapping[str, Any]) -> tuple[AddressPair, ...]:
    return tuple(AddressPair(str(pair["ip_address"]), pair.get("mac_address"))
                 for pair in details.get("allowed_address_pairs") or ())


def chunks(items: list[str], size: int) -> Iterable[list[str]]:
    """``items`` in lists of at most ``size`` (one RPC each)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def local_port(port_id: str, vif: VifPort, details: Mapping[str, Any], lvid: int
               ) -> LocalPort:
    """The flows' view of a bound VIF, from the server's device details."""
    assert vif.ofport is not None
    return LocalPort(
        port_id=port_id, ofport=vif.ofport,
        mac_address=str(details.get("mac_address") or vif.mac_address),
        lvid=lvid, fixed_ips=_fixed_ips(details),
        allowed_address_pairs=_address_pairs(details),
        port_security_enabled=bool(details.get("port_security_enabled", True))
        and not _network_owned(details))


def _network_owned(details: Mapping[str, Any]) -> bool:
    # As in Neutron, a DHCP or router port is trusted: no anti-spoofing on it, since
    # it answers from addresses that are not its fixed IPs (169.254.169.254 for the
    # metadata proxy in a qdhcp namespace, routed traffic through a router port).
    return str(details.get("device_owner") or "").startswith("network:")


class PortBinding:
    """OvsAgent's part that binds and unbinds VIFs."""

    host: str
    config: AgentConfig
    agent_id: str
    plugin_rpc: PluginApi
    bridges: Bridges | None
    vlans: LocalVlanManager
    vifs: dict[str, VifPort]
    bound: dict[str, BoundPort]
    dead: set[str]
    fdb: FdbTable
    _tags: dict[str, int | None]
    _pending: set[str]
    _gone: set[str]
    _up: set[str]
    _down: set[str]
    _fdb_seen: set[str]

    if TYPE_CHECKING:  # provided by DeviceAgent and the security-group part of OvsAgent
        def notify(self, kind: str, **payload: Any) -> None: ...
        def _ports_bound(self, port_ids: list[str]) -> None: ...
        def _ports_unbound(self, port_ids: list[str]) -> None: ...

    # events ----------------------------------------------------------------------------------

    def vif_changed(self, change: VifChange, vif: VifPort) -> None:
        """VifMonitor callback: queue a VIF change for the worker."""
        self.notify("vif", change=change, vif=vif)

    def _on_vif(self, change: VifChange, vif: VifPort) -> None:
        if change == VifChange.DELETED:
            if self.vifs.get(vif.port_id, vif).name == vif.name:
                self.vifs.pop(vif.port_id, None)
                self._pending.discard(vif.port_id)
                self._gone.add(vif.port_id)
            return
        previous = self.vifs.get(vif.port_id)
        self.vifs[vif.port_id] = vif
        if vif.ofport is not None and previous != vif:
            self._pending.add(vif.port_id)

    def _on_port_update(self, port_id: str | None) -> None:
        if port_id and port_id in self.vifs:
            self._pending.add(port_id)

    def _on_port_delete(self, port_id: str | None) -> None:
        if port_id and (port_id in self.bound or port_id in self.vifs):
            self._unbind(port_id)
            self._pending.discard(port_id)
            vif = self.vifs.get(port_id)
            if vif is not None:
                self._dead_vlan(port_id, vif.name)

    def _on_network_update(self, network_id: str | None) -> None:
        self._pending.update(p for p, b in self.bound.items() if b.network_id == network_id)

    def _on_network_delete(self, network_id: str | None) -> None:
        self._on_network_update(network_id)

    # the "details" phase --------------------------------------------------------------------

    def _bind_pending(self) -> None:
        devices = sorted(p for p in self._pending
                         if p in self.vifs and self.vifs[p].ofport is not None)
        self._pending.intersection_update(devices)
        for chunk in chunks(devices, self.config.processing_step):
            reply = self.plugin_rpc.get_devices_details_list_and_failed_devices(
                devices=chunk, agent_id=self.agent_id, host=self.host) or {}
            bound = []
            for details in reply.get("devices") or ():
                if self._bind(details):
                    bound.append(str(details.get("device")))
                self._pending.discard(details.get("device"))
            self._ports_bound(bound)
            failed = set(reply.get("failed_devices") or ())
            if failed:  # still pending: retried on the next iteration
                LOG.warning("%s: details failed for %s", self.host, sorted(failed))

    def _can_serve(self, details: Mapping[str, Any]) -> bool:
        network_type = details.get("network_type")
        if network_type in TUNNEL_TYPES:
            return (network_type in self.config.topology.tunnel_types
                    and self.config.topology.tunnelling)
        if network_type in (VLAN, FLAT):
            return details.get("physical_network") in self.config.topology.bridge_mappings
        return network_type == "local"

    def _bind(self, details: Mapping[str, Any]) -> bool:
        """Wire one VIF from its details; True if it is now bound (else dead or gone)."""
        port_id = str(details.get("device"))
        vif = self.vifs.get(port_id)
        if vif is None or vif.ofport is None:
            return False
        if "network_id" not in details or not self._can_serve(details):
            LOG.info("%s: port %s not bound here (or unsupported); dead VLAN",
                     self.host, port_id)
            self._unbind(port_id)
            self._dead_vlan(port_id, vif.name)
            return False
        lvid = self._local_vlan(details, vif)
        if not details.get("admin_state_up", True):
            self._unbind(port_id)
            self._dead_vlan(port_id, vif.name)
            self._down.add(port_id)
            return False
        previous = self.bound.get(port_id)
        self.bound[port_id] = BoundPort(str(details["network_id"]),
                                        local_port(port_id, vif, details, lvid), vif.name)
        if previous is not None and previous.network_id != details["network_id"]:
            self._release_if_unused(previous.network_id)
        self.dead.discard(port_id)
        self._set_tag(vif.name, lvid)
        self._up.add(port_id)
        self._down.discard(port_id)
        return True

    def _local_vlan(self, details: Mapping[str, Any], vif: VifPort) -> int:
        network_id = str(details["network_id"])
        if self.vlans.get(network_id) is None:
            self._reuse_tag(network_id, vif)
        segmentation_id = details.get("segmentation_id")
        vlan = self.vlans.ensure(network_id, str(details["network_type"]),
                                 int(segmentation_id) if segmentation_id is not None else None,
                                 details.get("physical_network"))
        return vlan.lvid

    def _reuse_tag(self, network_id: str, vif: VifPort) -> None:
        """Keep the local VLAN a previous run gave this VIF, so its old flows keep working."""
        if self.bridges is None:
            return
        tag = self.bridges.int_br.get_port_tag(vif.name)
        if tag is not None:
            self.vlans.reserve(network_id, tag)  # refuses a taken or out-of-range id

    def _set_tag(self, vif_name: str, tag: int) -> None:
        if self._tags.get(vif_name) != tag and self.bridges is not None:
            self.bridges.int_br.set_port_tag(vif_name, tag)
            self._tags[vif_name] = tag

    def _dead_vlan(self, port_id: str, vif_name: str) -> None:
        self.dead.add(port_id)
        self._up.discard(port_id)
        try:
            self._set_tag(vif_name, DEAD_VLAN_TAG)
        except BridgeError:  # the port may be going away at the same time
            LOG.debug("could not set dead VLAN on %s", vif_name)

    # unbinding -------------------------------------------------------------------------------

    def _unbind(self, port_id: str) -> None:
        gone = self.bound.pop(port_id, None)
        self._up.discard(port_id)
        self._ports_unbound([port_id])
        if gone is not None:
            self._release_if_unused(gone.network_id)

    def _release_if_unused(self, network_id: str) -> None:
        if any(b.network_id == network_id for b in self.bound.values()):
            return
        self.vlans.release(network_id)
        self.fdb = remove_network(self.fdb, network_id)
        self._fdb_seen.discard(network_id)

    def _unbind_gone(self) -> None:
        """The "unbind" phase: ports whose VIF went away since the last round."""
        if not self._gone:
            return
        for port_id in sorted(self._gone):
            was_bound = port_id in self.bound or port_id in self.dead
            self._unbind(port_id)
            self.dead.discard(port_id)
            if was_bound:
                self._down.add(port_id)
        names = {v.name for v in self.vifs.values()}
        self._tags = {name: tag for name, tag in self._tags.items() if name in names}
        self._gone.clear()
