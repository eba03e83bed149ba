"""The DHCP agent's loop over the fake server and an in-memory device adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neutrino.agent.dhcp.agent import DhcpAgent
from neutrino.agent.dhcp.config import DhcpAgentConfig
from neutrino.agent.dhcp.state import NetworkState
from tests.unit.agent.dhcp.fake_dhcp_server import FakeDhcpServer, port, subnet


class MemoryDevices:
    """What a host would hold: the applied state per network; can fail for one network."""

    def __init__(self) -> None:
        self.states: dict[str, NetworkState] = {}
        self.applies: list[str] = []
        self.failing: set[str] = set()
        self.dead: set[str] = set()

    def apply(self, state: NetworkState, previous: NetworkState | None) -> str:
        if state.network_id in self.failing:
            raise OSError("device error")
        self.applies.append(state.network_id)
        self.states[state.network_id] = state
        self.dead.discard(state.network_id)
        return "started"

    def alive(self, network_id: str, metadata: bool = False) -> bool:
        return network_id in self.states and network_id not in self.dead

    def remove(self, network_id: str, port_id: str | None) -> None:
        self.states.pop(network_id, None)

    def known_networks(self) -> set[str]:
        return set(self.states)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _agent(server: FakeDhcpServer, devices: MemoryDevices, clock: Clock) -> DhcpAgent:
    config = DhcpAgentConfig(host="node1", confs_dir=Path("/nonexistent/dhcp"),
                             resync_interval=5.0)
    agent = DhcpAgent(config, server, devices, clock=clock)  # type: ignore[arg-type]
    agent.retry_interval = 0
    return agent


def _net(server: FakeDhcpServer) -> tuple[dict[str, Any], dict[str, Any]]:
    sub = subnet("10.0.0.0/24")
    return server.add_network([sub]), sub


def test_start_syncs_all_and_reports_ready() -> None:
    server, devices, clock = FakeDhcpServer(), MemoryDevices(), Clock()
    net, sub = _net(server)
    vm = port(net["id"], "fa:16:3e:00:00:05", [(sub["id"], "10.0.0.5")])
    net["ports"].append(vm)
    agent = _agent(server, devices, clock)
    agent.run_until_idle()
    assert server.calls.count("get_active_networks_info") == 1
    assert server.calls.count("create_dhcp_port") == 1
    assert vm["id"] in server.ready
    assert "fa:16:3e:00:00:05,host-10-0-0-5" in dict(devices.states[net["id"]].files)["host"]


def test_port_notification_needs_no_call() -> None:
    server, devices, clock = FakeDhcpServer(), MemoryDevices(), Clock()
    net, sub = _net(server)
    agent = _agent(server, devices, clock)
    agent.run_until_idle()
    calls = len(server.calls)
    vm = port(net["id"], "fa:16:3e:00:00:07", [(sub["id"], "10.0.0.7")])
    agent.notify("port_changed", port=vm)
    agent.run_until_idle()
    assert server.calls[calls:] == ["dhcp_ready_on_ports"]
    assert "10.0.0.7" in dict(devices.states[net["id"]].files)["host"]
    agent.notify("port_deleted", port_id=vm["id"], network_id=net["id"])
    agent.run_until_idle()
    assert "10.0.0.7" not in dict(devices.states[net["id"]].files)["host"]


def test_a_failed_network_alone_is_retried_after_resync_interval() -> None:
    server, devices, clock = FakeDhcpServer(), MemoryDevices(), Clock()
    good, _ = _net(server)
    bad, _ = _net(server)
    devices.failing.add(bad["id"])
    agent = _agent(server, devices, clock)
    agent.run_until_idle()
    assert good["id"] in devices.states and bad["id"] not in devices.states
    devices.failing.clear()
    clock.now = 4.0
    assert agent._idle_events() == []
    clock.now = 5.5
    agent.run_once(agent._idle_events())
    assert bad["id"] in devices.states
    assert server.calls.count("get_active_networks_info") == 1  # no full resync
    assert devices.applies.count(good["id"]) == 1


def test_dead_dnsmasq_is_reapplied_and_removed_network_released() -> None:
    server, devices, clock = FakeDhcpServer(), MemoryDevices(), Clock()
    net, _ = _net(server)
    agent = _agent(server, devices, clock)
    agent.run_until_idle()
    devices.dead.add(net["id"])
    agent.run_once(agent._idle_events())
    assert devices.applies.count(net["id"]) == 2 and devices.alive(net["id"])
    del server.networks[net["id"]]
    agent.notify("network_deleted", network_id=net["id"])
    agent.run_until_idle()
    assert net["id"] not in devices.states
    assert server.released == [(net["id"], agent.device_id(net["id"]))]


def test_server_failure_means_full_resync_later() -> None:
    server, devices, clock = FakeDhcpServer(), MemoryDevices(), Clock()
    _net(server)
    server.fail = True
    agent = _agent(server, devices, clock)
    assert agent.run_once([]) is False
    server.fail = False
    agent.run_until_idle()
    assert len(devices.states) == 1
