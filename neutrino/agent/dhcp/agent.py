"""The DHCP agent: networks in, one namespace + DHCP port + dnsmasq per network out.

:class:`DhcpAgent` is the device-agent skeleton (``agent.common.device_agent``: ordered
event queue, one worker thread, heartbeat, resync on start and on 'revived') plus the
DHCP agent's own steps. Each round: a full sync fetches every network scheduled here
(``get_active_networks_info``) when asked; networks the server announced changed are
fetched again (``get_network_info``, ``num_sync_threads`` at a time); port notifications
edit the model directly, without a call; then each changed network's desired state
(``state.desired``) is applied by the device adapter (``devices``) in parallel, and the
ports newly in a host file are reported with ``dhcp_ready_on_ports``.

As in Neutron, a network that fails is retried ``resync_interval`` later (only it, and
only after a failure); a dnsmasq or metadata proxy found dead is started again.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from neutrino.agent.common.device_agent import DeviceAgent, Event, Phase, StateReporter
from neutrino.agent.dhcp.config import DhcpAgentConfig
from neutrino.agent.dhcp.devices import DhcpDevices
from neutrino.agent.dhcp.model import (
    DEVICE_OWNER_DHCP,
    Network,
    Port,
    network_from_dict,
    port_from_dict,
)
from neutrino.agent.dhcp.server_api import AGENT_BINARY_DHCP, DHCP_AGENT_TOPIC, DhcpPluginApi
from neutrino.agent.dhcp.state import (
    NetworkState,
    desired,
    dhcp_device_id,
    find_dhcp_port,
    wants_dhcp,
)
from neutrino.common.constants import AGENT_TYPE_DHCP

LOG = logging.getLogger(__name__)

Outcome = tuple[str, Network | None, NetworkState | None, Exception | None]


class DhcpAgent(DeviceAgent):
    """One host's DHCP agent over a server API and a device adapter."""

    agent_name = "dhcp-agent"

    def __init__(self, config: DhcpAgentConfig, plugin_rpc: DhcpPluginApi,
                 devices: DhcpDevices, state_rpc: StateReporter | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        super().__init__(config.host, state_rpc, report_interval=config.report_interval,
                         idle_interval=config.check_interval,
                         retry_interval=config.resync_interval, clock=clock)
        self.config = config
        self.plugin_rpc = plugin_rpc
        self.devices = devices
        self._wall = wall_clock
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max(1, config.num_sync_threads), thread_name_prefix=f"dhcp-sync-{config.host}")
        self.networks: dict[str, Network] = {}
        self.applied: dict[str, NetworkState] = {}
        self._dirty: set[str] = set()  # to fetch from the server
        self._changed: set[str] = set()  # to apply on the host
        self._ready_ports: set[str] = set()  # ports to report with dhcp_ready_on_ports
        self._failed: dict[str, float] = {}  # network -> when to retry it

    def device_id(self, network_id: str) -> str:
        return dhcp_device_id(network_id, self.host)

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._pool.shutdown(wait=timeout > 0)

    # one round -------------------------------------------------------------------------------

    def _phases(self) -> Sequence[Phase]:
        # each step checks for its own work: an earlier step may have made it some
        return (("sync", self._sync_all), ("fetch", self._fetch), ("apply", self._apply),
                ("ready", self._report_ready))

    def _has_work(self) -> bool:
        return bool(self._dirty or self._changed or self._ready_ports)

    def _sync_all(self) -> None:
        """Every network scheduled here, from one call; all of them (and stale ones) applied."""
        if not self._resync:
            return
        infos = self.plugin_rpc.get_active_networks_info(enable_dhcp_filter=True)
        self.networks = {info["id"]: network_from_dict(info) for info in infos}
        self._changed |= set(self.networks) | set(self.applied) | self.devices.known_networks()
        self._dirty -= set(self.networks)
        self._resync = False

    def _fetch(self) -> None:
        ids = sorted(self._dirty)
        if not ids:
            return
        for network_id, info in zip(ids, self._pool.map(self.plugin_rpc.get_network_info, ids),
                                    strict=True):
            if info is None:
                self.networks.pop(network_id, None)
            else:
                self.networks[network_id] = network_from_dict(info)
            self._dirty.discard(network_id)
            self._changed.add(network_id)

    def _apply(self) -> None:
        ids = sorted(self._changed)
        if not ids:
            return
        self._changed.clear()
        for network_id, network, state, error in self._pool.map(self._apply_one, ids):
            if error is not None:
                LOG.warning("%s: network %s failed (%s); retried in %.0fs", self.host,
                            network_id, error, self.config.resync_interval)
                self._failed[network_id] = self._clock() + self.config.resync_interval
                continue
            self._record(network_id, network, state)

    def _record(self, network_id: str, network: Network | None,
                state: NetworkState | None) -> None:
        previous = self.applied.pop(network_id, None)
        if network is not None and network_id in self.networks:
            self.networks[network_id] = network
        if state is None:
            return
        self.applied[network_id] = state
        self._ready_ports |= state.ports - (previous.ports if previous else frozenset())

    def _report_ready(self) -> None:
        ports = sorted(self._ready_ports)
        if not ports:
            return
        self.plugin_rpc.dhcp_ready_on_ports(ports)
        self._ready_ports -= set(ports)
        self._emit("ready", {"ports": ports})

    # one network (on the sync threads; only reads the agent's state) -------------------------

    def _apply_one(self, network_id: str) -> Outcome:
        network = self.networks.get(network_id)
        try:
            if network is not None and wants_dhcp(network):
                network, state = self._enable(network)
                return network_id, network, state, None
            self._disable(network_id)
            return network_id, None, None, None
        except Exception as exc:  # RPC or device error: this network only
            return network_id, None, None, exc

    def _enable(self, network: Network) -> tuple[Network, NetworkState]:
        port = self._dhcp_port(network)
        network = _with_port(network, port)
        state = desired(network, port, self.config.dnsmasq, self.config.confs_dir,
                        int(self._wall()))
        previous = self.applied.get(network.id)
        if dataclasses.replace(state, leases="") == _no_leases(previous) \
                and self.devices.alive(network.id, state.metadata):
            return network, state
        outcome = self.devices.apply(state, previous)
        self._emit("network_applied", {"network_id": network.id, "dnsmasq": outcome})
        return network, state

    def _disable(self, network_id: str) -> None:
        previous = self.applied.get(network_id)
        if previous is None and network_id not in self.devices.known_networks():
            return
        self.devices.remove(network_id, previous.port_id if previous else None)
        self.plugin_rpc.release_dhcp_port(network_id=network_id,
                                          device_id=self.device_id(network_id))
        self._emit("network_removed", {"network_id": network_id})

    def _dhcp_port(self, network: Network) -> Port:
        """This agent's DHCP port on ``network``, created or given its missing subnets."""
        device_id = self.device_id(network.id)
        port = find_dhcp_port(network, device_id)
        wanted = [s.id for s in network.dhcp_subnets]
        if port is None:
            body = {"port": {"name": "", "admin_state_up": True, "network_id": network.id,
                             "device_id": device_id, "device_owner": DEVICE_OWNER_DHCP,
                             "fixed_ips": [{"subnet_id": s} for s in wanted]}}
            return _port(self.plugin_rpc.create_dhcp_port(port=body), network.id)
        have = {ip.subnet_id for ip in port.fixed_ips}
        if set(wanted) == have:
            return port
        fixed_ips = [{"subnet_id": ip.subnet_id, "ip_address": ip.ip_address}
                     for ip in port.fixed_ips if ip.subnet_id in wanted]
        fixed_ips += [{"subnet_id": s} for s in wanted if s not in have]
        body = {"port": {"network_id": network.id, "fixed_ips": fixed_ips}}
        return _port(self.plugin_rpc.update_dhcp_port(port_id=port.id, port=body), network.id)

    # events (worker thread) ------------------------------------------------------------------

    def _on_network_changed(self, network_id: str) -> None:
        self._dirty.add(network_id)

    def _on_network_deleted(self, network_id: str) -> None:
        self.networks.pop(network_id, None)
        self._dirty.discard(network_id)
        self._changed.add(network_id)

    def _on_subnet_deleted(self, subnet_id: str, network_id: str | None = None) -> None:
        network_id = network_id or next((n.id for n in self.networks.values()
                                         if n.subnet(subnet_id)), None)
        if network_id is not None:
            self._dirty.add(network_id)

    def _on_port_changed(self, port: dict[str, Any]) -> None:
        network = self.networks.get(port.get("network_id", ""))
        if network is None:
            return  # not a network this agent serves
        model = port_from_dict(port)
        if any(network.subnet(ip.subnet_id) is None for ip in model.fixed_ips):
            self._dirty.add(network.id)  # a subnet we have not heard of yet
            return
        self.networks[network.id] = _with_port(network, model)
        self._changed.add(network.id)

    def _on_port_deleted(self, port_id: str, network_id: str | None = None) -> None:
        for network in list(self.networks.values()):
            if network_id not in (None, network.id):
                continue
            if any(p.id == port_id for p in network.ports):
                self.networks[network.id] = dataclasses.replace(
                    network, ports=tuple(p for p in network.ports if p.id != port_id))
                self._changed.add(network.id)

    def _on_retry_networks(self, network_ids: Iterable[str]) -> None:
        self._dirty.update(network_ids)

    def _on_dnsmasq_died(self, network_id: str) -> None:
        LOG.warning("%s: dnsmasq or metadata proxy of network %s died; restarting it",
                    self.host, network_id)
        self.applied.pop(network_id, None)
        self._changed.add(network_id)

    def _idle_events(self) -> list[Event]:
        """Networks due for a retry, and networks whose dnsmasq (or proxy) is gone."""
        now = self._clock()
        due = [n for n, when in self._failed.items() if when <= now]
        for network_id in due:
            del self._failed[network_id]
        events: list[Event] = [("retry_networks", {"network_ids": due})] if due else []
        events += [("dnsmasq_died", {"network_id": n}) for n, state in self.applied.items()
                   if not self.devices.alive(n, state.metadata)]
        return events

    # heartbeat -------------------------------------------------------------------------------

    def state_report(self) -> dict[str, Any]:
        applied = [self.networks[n] for n in self.applied if n in self.networks]
        report: dict[str, Any] = {
            "binary": AGENT_BINARY_DHCP, "host": self.host, "topic": DHCP_AGENT_TOPIC,
            "agent_type": AGENT_TYPE_DHCP, "start_flag": self._start_flag,
            "availability_zone": self.config.availability_zone,
            "configurations": {
                "networks": len(applied),
                "subnets": sum(len(n.dhcp_subnets) for n in applied),
                "ports": sum(len(n.ports) for n in applied),
                "dhcp_driver": self.config.dhcp_driver,
                "dhcp_lease_duration": self.config.dnsmasq.lease_duration,
                "log_agent_heartbeats": self.config.log_agent_heartbeats,
            },
        }
        if not self._start_flag:
            report.pop("start_flag")
        return report


def _with_port(network: Network, port: Port) -> Network:
    ports = tuple(sorted((*(p for p in network.ports if p.id != port.id), port),
                         key=lambda p: p.id))
    return dataclasses.replace(network, ports=ports)


def _port(reply: dict[str, Any] | None, network_id: str) -> Port:
    if not reply:
        raise RuntimeError(f"the server gave no DHCP port for network {network_id}")
    return port_from_dict(reply)


def _no_leases(state: NetworkState | None) -> NetworkState | None:
    return dataclasses.replace(state, leases="") if state is not None else None
