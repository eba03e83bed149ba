"""The DHCP agent's device adapter: makes a ``NetworkState`` true on the host, or undoes it.

Namespace, then the device on br-int (moved into the namespace, addressed), the default
route, then dnsmasq (files, start/restart/SIGHUP), the metadata proxy when the network
serves metadata (started if missing, stopped when no longer wanted) and the release of
leases whose address left the host file. Every step is create-if-missing, so applying
one state twice does nothing the second time.
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
from neutrino.agent.metadata.process import MetadataProxyProcess, proxy_command

LOG = logging.getLogger(__name__)


class InterfaceDriver(Protocol):
    def plug(self, port_id: str, mac: str, namespace: str, mtu: int = 0) -> str: ...

    def unplug(self, name: str, namespace: str | None) -> None: ...


class DhcpDevices:
    """Namespaces, DHCP devices and dnsmasq processes of the networks under ``confs_dir``."""

    def __init__(self, driver: InterfaceDriver, confs_dir: Path,
                 metadata_socket: Path | None = None) -> None:
        self.driver = driver
        self.confs_dir = confs_dir
        self.metadata_socket = metadata_socket

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
        self._apply_proxy(state)
        if previous is not None:
            gone = (previous.allocations - state.allocations) & leased(state.conf_dir)
            if gone:
                process.release(gone)
        return outcome

    def _apply_proxy(self, state: NetworkState) -> None:
        proxy = self._proxy(state.network_id)
        if not (state.metadata and self.metadata_socket):
            proxy.stop()
            return
        proxy.ensure(proxy_command(self.metadata_socket, proxy.pid_file,
                                   network_id=state.network_id))

    def alive(self, network_id: str, metadata: bool = False) -> bool:
        """dnsmasq runs (and the metadata proxy, when ``metadata`` says there is one)."""
        if metadata and self.metadata_socket and not self._proxy(network_id).alive():
            return False
        return self._process(network_id, "").alive()

    def remove(self, network_id: str, port_id: str | None) -> None:
        """Stop the proxy and dnsmasq, unplug the device, delete the namespace and files."""
        namespace = namespace_name(network_id)
        interface = device_name(port_id) if port_id else _interface(self.confs_dir / network_id)
        self._proxy(network_id).stop()
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

    def _proxy(self, network_id: str) -> MetadataProxyProcess:
        return MetadataProxyProcess(namespace_name(network_id),
                                    self.confs_dir / network_id / "metadata_proxy.pid")

    def _process(self, network_id: str, interface: str) -> DnsmasqProcess:
        return DnsmasqProcess(self.confs_dir / network_id, namespace_name(network_id),
                              interface)


def _interface(conf_dir: Path) -> str:
    try:
        return (conf_dir / "interface").read_text().strip()
    except OSError:
        return ""
