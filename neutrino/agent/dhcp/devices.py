"""The DHCP agent's device adapter: makes a ``NetworkState`` true on the host, or undoes it.

Namespace, then the device on br-int (moved into the namespace, addressed), the default
route, then dnsmasq (files, start/restart/SIGHUP) and the release of leases whose address
left the host file. Every step is create-if-missing, so applying one state twice does
nothing the second time.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

from neutrino.agent.dhcp.interface import device_name
from neutrino.agent.dhcp.process import DnsmasqProcess, leased
from neutrino.agent.dhcp.state import NetworkState, namespace_name
from neutrino.agent.linux import ip_lib

LOG = logging.getLogger(__name__)


class InterfaceDriver(Protocol):
    def plug(self, port_id: str, mac: str, namespace: str, mtu: int = 0) -> str: ...

    def unplug(self, name: str, namespace: str | None) -> None: ...


class DhcpDevices:
    """Namespaces, DHCP devices and dnsmasq processes of the networks under ``confs_dir``."""

    def __init__(self, driver: InterfaceDriver, confs_dir: Path) -> None:
        self.driver = driver
        self.confs_dir = confs_dir

    def apply(self, state: NetworkState, previous: NetworkState | None) -> str:
        """Converge one network; dnsmasq's outcome ('unchanged', 'reloaded', 'started')."""
        if previous is not None and previous.port_id != state.port_id:
            self.driver.unplug(previous.interface, previous.namespace)
        ip_lib.ensure_namespace(state.namespace)
        self.driver.plug(state.port_id, state.mac, state.namespace, state.mtu)
        ip_lib.sync_addresses(state.interface, state.addresses, state.namespace)
        ip_lib.set_default_gateway(state.gateway, state.interface, state.namespace)
        process = self._process(state.network_id, state.interface)
        outcome = process.apply(state.cmdline, dict(state.files), state.leases)
        if previous is not None:
            gone = (previous.allocations - state.allocations) & leased(state.conf_dir)
            if gone:
                process.release(gone)
        return outcome

    def alive(self, network_id: str) -> bool:
        return self._process(network_id, "").alive()

    def remove(self, network_id: str, port_id: str | None) -> None:
        """Stop dnsmasq, unplug the device, delete the namespace and the network's files."""
        namespace = namespace_name(network_id)
        interface = device_name(port_id) if port_id else _interface(self.confs_dir / network_id)
        self._process(network_id, interface).stop()
        if interface:
            self.driver.unplug(interface, namespace)
        ip_lib.delete_namespace(namespace)

    def known_networks(self) -> set[str]:
        """Networks with a directory under ``confs_dir`` (a previous run's too)."""
        try:
            return {name for name in os.listdir(self.confs_dir)
                    if (self.confs_dir / name).is_dir()}
        except FileNotFoundError:
            return set()

    def _process(self, network_id: str, interface: str) -> DnsmasqProcess:
        return DnsmasqProcess(self.confs_dir / network_id, namespace_name(network_id),
                              interface)


def _interface(conf_dir: Path) -> str:
    try:
        return (conf_dir / "interface").read_text().strip()
    except OSError:
        return ""
