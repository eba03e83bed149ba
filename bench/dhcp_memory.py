"""Part 2 of ``bench/dhcp.py`` in memory: a DHCP agent's full sync of N networks.

The agent code is the real ``DhcpAgent``; the server is the unit tests' ``FakeDhcpServer``
and the host is a dict (what ``DhcpDevices`` would converge, kept as applied states), so
what is measured is the agent's own work: one ``get_active_networks_info``, a DHCP port
per network, rendering every network's dnsmasq files, reporting the ports ready.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from neutrino.agent.dhcp.agent import DhcpAgent
from neutrino.agent.dhcp.config import DhcpAgentConfig
from neutrino.agent.dhcp.state import NetworkState

PORTS_PER_NETWORK = 5


class MemoryDevices:
    """The host as a dict of applied states (as the unit tests' in-memory devices)."""

    def __init__(self) -> None:
        self.states: dict[str, NetworkState] = {}
        self.applies = 0

    def apply(self, state: NetworkState, previous: NetworkState | None) -> str:
        self.applies += 1
        self.states[state.network_id] = state
        return "started"

    def alive(self, network_id: str, metadata: bool = False) -> bool:
        return network_id in self.states

    def remove(self, network_id: str, port_id: str | None) -> None:
        self.states.pop(network_id, None)

    def known_networks(self) -> set[str]:
        return set(self.states)


def _server(count: int) -> Any:
    from tests.unit.agent.dhcp.fake_dhcp_server import FakeDhcpServer, port, subnet

    server = FakeDhcpServer()
    for index in range(count):
        sub = subnet(f"10.{index // 256}.{index % 256}.0/24")
        net = server.add_network([sub])
        net["ports"] = [port(net["id"], f"fa:16:3e:{index >> 8 & 0xff:02x}:{index & 0xff:02x}:"
                                        f"{vm:02x}", [(sub["id"], f"10.{index // 256}."
                                                                  f"{index % 256}.{10 + vm}")])
                        for vm in range(PORTS_PER_NETWORK)]
    return server


def _sync_s(server: Any, devices: MemoryDevices) -> tuple[float, DhcpAgent]:
    """Seconds a fresh agent over ``devices`` takes to converge (its first full sync)."""
    config = DhcpAgentConfig(host="bench-node", confs_dir=Path("/nonexistent/dhcp"))
    agent = DhcpAgent(config, server, devices)  # type: ignore[arg-type]
    started = time.perf_counter()
    agent.run_until_idle()
    return time.perf_counter() - started, agent


def measure(count: int) -> dict[str, Any]:
    """First sync of ``count`` networks, then the sync of a restarted agent on that host."""
    server, devices = _server(count), MemoryDevices()
    first_s, agent = _sync_s(server, devices)
    agent.stop(0)
    if len(devices.states) != count:
        raise RuntimeError(f"{len(devices.states)} of {count} networks applied")
    created = server.calls.count("create_dhcp_port")
    resync_s, agent = _sync_s(server, devices)
    agent.stop(0)
    return {"networks": count, "ports_per_network": PORTS_PER_NETWORK,
            "first_sync_s": round(first_s, 3), "resync_after_restart_s": round(resync_s, 3),
            "dhcp_ports_created": created,
            "dhcp_ports_created_on_resync": server.calls.count("create_dhcp_port") - created,
            "rpc_calls_total": len(server.calls)}


def growth(results: list[dict[str, Any]]) -> str:
    """How the resync time grows from the smallest to the largest count."""
    low, high = results[0], results[-1]
    ratio = high["resync_after_restart_s"] / max(low["resync_after_restart_s"], 1e-9)
    return (f"{high['networks'] / low['networks']:.0f}x the networks took {ratio:.1f}x "
            "the time (linear is the same factor)")
