"""Simulated hosts: the real agent code on in-memory bridges, many per process.

A :class:`SimulatedHost` owns the bridges of one "host" (they outlive an agent restart,
as OVS does) and plays Nova: :meth:`SimulatedHost.plug` adds a VIF and tells the agent what
an OVSDB monitor would. :func:`start_simulated_agents` wires N of them to a server over
RPC for benchmarks (``bench/l2pop.py``).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from neutrino.agent.ovs import pipeline as p
from neutrino.agent.ovs.agent import AgentConfig, OvsAgent
from neutrino.agent.ovs.bridge import InMemoryBridge, VifPort
from neutrino.agent.ovs.monitor import VifChange
from neutrino.agent.ovs.server_api import PluginApi, StateReportApi


@dataclass
class SimulatedHost:
    """One host's in-memory OVS; the agent on it is made by :meth:`make_agent`."""

    name: str
    bridges: dict[str, InMemoryBridge] = field(default_factory=dict)
    agent: OvsAgent | None = None

    def bridge(self, name: str, pipeline: p.Pipeline) -> InMemoryBridge:
        """The bridge called ``name``, created on first use (the agent's bridge factory)."""
        if name not in self.bridges:
            self.bridges[name] = InMemoryBridge(name, pipeline)
        return self.bridges[name]

    def make_agent(self, config: AgentConfig, plugin_rpc: PluginApi,
                   state_rpc: StateReportApi | None = None,
                   cookie: int | None = None) -> OvsAgent:
        """A new agent on this host's bridges (``setup`` done, threads not started)."""
        self.agent = OvsAgent(config, self.bridge, plugin_rpc, state_rpc, cookie=cookie)
        self.agent.setup()
        return self.agent

    @property
    def int_br(self) -> InMemoryBridge:
        return self.bridges["br-int"]

    def plug(self, port_id: str, mac_address: str, name: str | None = None) -> VifPort:
        """Plug a VIF into br-int as Nova does and report it as the OVSDB monitor would."""
        name = name or f"tap{port_id[:11]}"
        ofport = self.int_br.add_vif(name, port_id, mac_address)
        vif = VifPort(name=name, port_id=port_id, ofport=ofport, mac_address=mac_address,
                      status="active")
        if self.agent is not None:
            self.agent.vif_changed(VifChange.ADDED, vif)
        return vif

    def unplug(self, port_id: str, notify: bool = True) -> None:
        """Remove the VIF of ``port_id`` (without telling the agent when ``notify`` is False)."""
        for vif in self.int_br.get_vif_ports():
            if vif.port_id == port_id:
                self.int_br.delete_port(vif.name)
                if notify and self.agent is not None:
                    self.agent.vif_changed(VifChange.DELETED, vif)

    def replay_vifs(self) -> None:
        """Report every plugged VIF to the agent, as a fresh OVSDB monitor does."""
        assert self.agent is not None
        for vif in self.int_br.get_vif_ports():
            self.agent.vif_changed(VifChange.ADDED, vif)

    def restart_ovs(self) -> None:
        """Simulate an ovs-vswitchd restart: every bridge loses its flows."""
        for bridge in self.bridges.values():
            bridge.restart()


def simulated_config(host: str, local_ip: str, **overrides: Any) -> AgentConfig:
    """A VXLAN + l2pop + ARP responder agent configuration for simulations (firewall off
    unless ``firewall_driver="openvswitch"`` is among the overrides)."""
    from neutrino.agent.ovs.topology import TopologyConfig

    topology = TopologyConfig(local_ip=local_ip, tunnel_types=("vxlan",))
    values: dict[str, Any] = {"host": host, "topology": topology, "l2_population": True,
                              "arp_responder": True, "report_interval": 30.0,
                              "polling_interval": 1.0}
    values.update(overrides)
    return AgentConfig(**values)


def simulated_ip(index: int) -> str:
    """A distinct tunnel endpoint per simulated host, from 10.64.0.0/10."""
    return f"10.{64 + index // 65536}.{(index // 256) % 256}.{index % 256}"


def fleet_transport(url: str, pool_size: int) -> Any:
    """One RPC transport for a whole simulated fleet, with a sending pool of ``pool_size``
    and one dispatch thread per consumer.

    Every agent of the fleet sends through it; oslo.messaging's default pool (30
    connections, ``rpc_conn_pool_size``) would make hundreds of agents queue behind each
    other at start-up. A private ConfigOpts keeps the server's own settings untouched.
    """
    from oslo_config import cfg

    from neutrino.conf import rpc as rpc_conf
    from neutrino.rpc.transport import make_transport

    conf = cfg.ConfigOpts()
    rpc_conf.register(conf)
    conf(args=[], project="neutrino-simulated-fleet", default_config_files=[])
    conf.set_override("rpc_conn_pool_size", pool_size, group="oslo_messaging_rabbit")
    return make_transport(conf, url)


def _in_parallel(work: Callable[[Any], Any], items: Iterable[Any], workers: int) -> None:
    items = list(items)
    if not items:
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        for future in [pool.submit(work, item) for item in items]:
            future.result()


class SimulatedFleet:
    """N simulated hosts, each with an agent over RPC, all sharing one ``transport``.

    Each host still has its own consumers (``<topic>.<host>`` and the fanout queue), so
    the broker delivers to it exactly what it would deliver to a real agent; that is what
    the l2pop benchmark counts. Starting and stopping the consumers is done in parallel:
    one at a time, hundreds of them take minutes. ``config`` overrides the agents'
    ``simulated_config`` (``firewall_driver="openvswitch"`` for a fleet with security
    groups: they fetch ``security_group_info_for_devices`` like real agents).
    """

    def __init__(self, transport: Any, count: int, prefix: str = "sim",
                 consumer_topics: Iterable[str] | None = None, workers: int = 32,
                 **config: Any) -> None:
        from neutrino.agent.ovs.messaging import RpcPluginApi, RpcStateReportApi

        self.transport = transport
        self.hosts: list[SimulatedHost] = []
        self._servers: list[Any] = []
        self._topics = consumer_topics
        self._workers = workers
        state = RpcStateReportApi(transport, timeout=30)
        for index in range(count):
            host = SimulatedHost(f"{prefix}-{index:04d}")
            host.make_agent(simulated_config(host.name, simulated_ip(index + 1), **config),
                            RpcPluginApi(transport, host.name), state)
            self.hosts.append(host)

    def start(self) -> None:
        """Start every agent's RPC consumers, then its loop and heartbeat."""
        from neutrino.agent.ovs.messaging import consumer_topics, start_consumers

        names = consumer_topics(True, self._topics)

        def consume(host: SimulatedHost) -> None:
            assert host.agent is not None
            consumer = start_consumers(self.transport, host.name, host.agent, names)
            self._servers.extend(consumer.take_servers())

        _in_parallel(consume, self.hosts, self._workers)
        for host in self.hosts:
            assert host.agent is not None
            host.agent.start(canary_thread=False)

    def stop(self) -> None:
        """Stop every consumer (together) and every agent; flows stay, as on real hosts."""
        from neutrino.rpc.client import stop_servers

        agents = [host.agent for host in self.hosts if host.agent is not None]
        for agent in agents:
            agent.stop(timeout=0)  # only signals; joined below
        servers, self._servers = self._servers, []
        stop_servers(servers)
        for agent in agents:
            agent.stop()
