"""Part (b) of ``bench/security_groups.py``: a rule's POST until 200 agents applied it.

A real ``neutrino-server`` runs as a process of its own (API, security-group plugin and
RPC on a private RabbitMQ virtual host, made and deleted here); this process runs the
simulated fleet (the real agent code on in-memory bridges, ``agent/ovs/simulated.py``)
and the HTTP client, so the fleet never shares an interpreter lock with the server whose
latency it measures. 20 groups each have a port on a window of the hosts; for each rule
POSTed the clock runs until every agent with a port in that group has pushed flows
computed from a state holding the rule (then its bridge is checked for the rule's flows).
Casts and ``security_group_info_for_devices`` calls per rule are counted against the one
copy per agent that Neutron's fanout sends, and the CPU each process spent is recorded.
"""

from __future__ import annotations

import functools
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import log, percentiles_ms
from neutrino.agent.ovs.agent import OvsAgent
from neutrino.agent.ovs.simulated import SimulatedHost, simulated_config, simulated_ip


class Observer:
    """What the fleet's agents received and when each applied each awaited rule."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.casts = 0
        self.info_calls = 0
        self.info_call_s: list[float] = []  # round trips of the calls since the last reset
        self.watch: tuple[str, int] | None = None  # (group, tcp port of the awaited rule)
        self.applied: dict[tuple[str, int], float] = {}
        self.cast_at: dict[str, float] = {}  # each host's first cast since the last reset

    def reset(self) -> None:
        with self.lock:
            self.cast_at, self.info_call_s = {}, []

    def counted_cast(self, kind: str, host: str) -> None:
        if kind.startswith("security_groups_"):
            now = time.monotonic()
            with self.lock:
                self.casts += 1
                self.cast_at.setdefault(host, now)

    def counted_call(self, seconds: float) -> None:
        with self.lock:
            self.info_calls += 1
            self.info_call_s.append(seconds)

    def all_applied(self, hosts: list[SimulatedHost], tcp_port: int) -> bool:
        return all((host.name, tcp_port) in self.applied for host in hosts)

    def listener(self, host: str) -> Callable[[str, dict[str, Any]], None]:
        def on_event(event: str, payload: dict[str, Any]) -> None:
            watch = self.watch
            if event != "flows_synced" or watch is None:
                return
            firewall = payload["state"].firewall
            group = firewall.groups.get(watch[0]) if firewall is not None else None
            if group is not None and any(r.port_range_min == watch[1] for r in group.rules):
                with self.lock:
                    self.applied.setdefault((host, watch[1]), time.monotonic())
        return on_event


class CountingSink:
    """The agent's sink for the server's casts, counting the security-group ones."""

    def __init__(self, host: str, agent: OvsAgent, observer: Observer) -> None:
        self.host, self.agent, self.observer = host, agent, observer

    def notify(self, kind: str, **payload: Any) -> None:
        self.observer.counted_cast(kind, self.host)
        self.agent.notify(kind, **payload)


class CountingPluginApi:
    """An agent's ``PluginApi`` that counts its ``security_group_info_for_devices`` calls."""

    def __init__(self, api: Any, observer: Observer) -> None:
        self.api, self.observer = api, observer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    def security_group_info_for_devices(self, devices: list[str]) -> dict[str, Any]:
        started = time.monotonic()
        reply = dict(self.api.security_group_info_for_devices(devices))
        self.observer.counted_call(time.monotonic() - started)
        return reply


def _in_parallel(work: Callable[[Any], Any], items: list[Any], workers: int = 32) -> None:
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(work, item) for item in items]:
            future.result()


@dataclass
class Fleet:
    """Simulated hosts whose agents run the OVS firewall, over one shared transport."""

    hosts: list[SimulatedHost]
    servers: list[Any]

    def stop(self) -> None:
        from neutrino.rpc.client import stop_servers

        agents = [host.agent for host in self.hosts if host.agent is not None]
        for agent in agents:
            agent.stop(timeout=0)
        stop_servers(self.servers)
        for agent in agents:
            agent.stop()


def start_fleet(cleanup: Any, url: str, count: int, observer: Observer) -> Fleet:
    """``count`` simulated agents (firewall on), each consuming its security-group topic."""
    from neutrino.agent.ovs.messaging import (
        RpcPluginApi,
        RpcStateReportApi,
        consumer_topics,
        start_consumers,
    )
    from neutrino.agent.ovs.simulated import fleet_transport
    from neutrino.rpc import topics

    transport = fleet_transport(url, pool_size=max(30, count))
    cleanup.add(transport.cleanup)
    state = RpcStateReportApi(transport, timeout=30)
    fleet = Fleet([], [])
    for index in range(count):
        host = SimulatedHost(f"sg-{index:04d}")
        config = simulated_config(host.name, simulated_ip(index + 1),
                                  firewall_driver="openvswitch")
        agent = host.make_agent(config, CountingPluginApi(  # type: ignore[arg-type]
            RpcPluginApi(transport, host.name), observer), state)
        agent.listeners.append(observer.listener(host.name))
        fleet.hosts.append(host)
    cleanup.add(fleet.stop)
    names = consumer_topics(True, [topics.SECURITY_GROUP_UPDATE])
    lock = threading.Lock()

    def consume(host: SimulatedHost) -> None:
        assert host.agent is not None
        sink = CountingSink(host.name, host.agent, observer)
        consumer = start_consumers(transport, host.name, sink, names)
        with lock:
            fleet.servers.extend(consumer.take_servers())

    _in_parallel(consume, fleet.hosts)
    for host in fleet.hosts:
        assert host.agent is not None
        host.agent.start(canary_thread=False)
    return fleet


class Api:
    """A JSON client of the server's Neutron API (what ``rig.api`` of the e2e tests is)."""

    def __init__(self, base_url: str) -> None:
        import httpx

        self.http = httpx.Client(base_url=base_url, timeout=300)

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, f"/v2.0/{path}", json=body)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def network(self, network_type: str, cidr: str) -> tuple[str, str]:
        """(network id, subnet id) of a new network with one subnet."""
        net = self.api("POST", "networks", {"network": {
            "name": "sg-bench", "provider:network_type": network_type}})["network"]
        subnet = self.api("POST", "subnets", {"subnet": {
            "network_id": net["id"], "ip_version": 4, "cidr": cidr,
            "enable_dhcp": False}})["subnet"]
        return net["id"], subnet["id"]

    def close(self) -> None:
        self.http.close()


def start_server(cleanup: Any, base: Path, db_url: str, vhost: str) -> tuple[Api, int]:
    """``neutrino-server`` as a process of its own (API, security-group plugin and RPC on
    ``vhost``), stopped on clean-up; its API client and its pid."""
    from tests.fixtures.servers import free_port, server_process, write_config

    port = free_port()
    conf = write_config(base / "neutron.conf", {
        "DEFAULT": {"auth_strategy": "noauth", "bind_host": "127.0.0.1", "bind_port": port,
                    "service_plugins": "agents,security_groups",
                    "transport_url": f"rabbit://guest:guest@127.0.0.1:5672/{vhost}",
                    "host": "sg-bench-server", "rpc_workers": 1},
        "database": {"connection": db_url},
        "ml2": {"type_drivers": "vxlan", "tenant_network_types": "vxlan",
                "mechanism_drivers": "openvswitch,l2population"},
        "ml2_type_vxlan": {"vni_ranges": "1001:2000"},
    })
    running = server_process([conf], port, base / "server.log")
    proc = running.__enter__()
    cleanup.add(running.__exit__, None, None, None)
    api = Api(f"http://127.0.0.1:{port}")
    cleanup.add(api.close)
    return api, proc.pid


@dataclass
class Layout:
    """Groups, the hosts each group has a port on, and the ports."""

    groups: list[str]
    hosts_of: dict[str, list[SimulatedHost]]
    ports: list[str]
    empty_group: str = ""  # a group without ports: its rules notify nobody


def populate(rig: Any, fleet: Fleet, n_groups: int) -> Layout:
    """``n_groups`` groups (each allowing ingress from its own members), each with one
    port on each of a window of hosts; neighbouring windows overlap by half."""
    n_hosts = len(fleet.hosts)
    per_group = max(1, min(n_hosts, 2 * n_hosts // n_groups))
    layout = Layout([], {}, [])
    layout.empty_group = rig.api("POST", "security-groups", {"security_group": {
        "name": "bench-empty"}})["security_group"]["id"]
    for i in range(n_groups):
        net, _ = rig.network("vxlan", f"10.{100 + i}.0.0/16")
        group = rig.api("POST", "security-groups", {"security_group": {
            "name": f"bench-{i}"}})["security_group"]["id"]
        rig.api("POST", "security-group-rules", {"security_group_rule": {
            "security_group_id": group, "direction": "ingress", "ethertype": "IPv4",
            "remote_group_id": group}})
        start = i * per_group // 2
        hosts = [fleet.hosts[(start + j) % n_hosts] for j in range(per_group)]
        layout.groups.append(group)
        layout.hosts_of[group] = hosts
        for host in hosts:
            port = rig.api("POST", "ports", {"port": {
                "network_id": net, "binding:host_id": host.name,
                "device_owner": "compute:nova", "security_groups": [group]}})["port"]
            host.plug(port["id"], port["mac_address"])
            layout.ports.append(port["id"])
    return layout


def wait_active(rig: Any, port_ids: list[str], timeout: float = 600) -> None:
    from tests.fixtures import hosts as fixtures

    def done() -> bool:
        ports = rig.api("GET", "ports?fields=id&status=ACTIVE")["ports"]
        return set(port_ids) <= {p["id"] for p in ports}
    fixtures.wait_for(done, timeout=timeout, interval=0.5, what="ports ACTIVE")


def rule_in_flows(host: SimulatedHost, tcp_port: int) -> bool:
    """The host's br-int holds an accept for ``tcp_port`` (read from the bridge)."""
    wanted = f"tp_dst={tcp_port}"
    return any(wanted in flow.match for flow in host.int_br.dump_flows())


def post_to_empty_group(rig: Any, group: str, n_rules: int) -> list[float]:
    """The POST's own cost when no agent is told (the control for the casts' cost)."""
    seconds = []
    for k in range(n_rules):
        started = time.monotonic()
        rig.api("POST", "security-group-rules", {"security_group_rule": {
            "security_group_id": group, "direction": "ingress", "ethertype": "IPv4",
            "protocol": "tcp", "port_range_min": 20000 + k, "port_range_max": 20000 + k}})
        seconds.append(time.monotonic() - started)
    return seconds


class CpuMeter:
    """CPU seconds used by named processes (the server, the fleet) between two readings."""

    def __init__(self, pids: dict[str, int]) -> None:
        import psutil

        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}

    def read(self) -> dict[str, float]:
        return {name: sum(proc.cpu_times()[:2]) for name, proc in self.procs.items()}

    def since(self, before: dict[str, float]) -> dict[str, float]:
        return {name: used - before[name] for name, used in self.read().items()}


@dataclass
class RuleRun:
    """What one rule's propagation measured (seconds and counts)."""

    applied_s: float
    post_s: float
    last_cast_s: float
    cast_to_applied_s: list[float]  # per relevant agent: its cast's arrival to its push
    casts: int
    info_calls: int
    info_call_s: list[float]
    relevant: int
    cpu_s: dict[str, float]


def one_rule(rig: Any, layout: Layout, observer: Observer, cpu: CpuMeter,
             k: int) -> RuleRun:
    """POST rule ``k``, wait until every relevant agent applied it, check their bridges."""
    from tests.fixtures import hosts as fixtures

    group = layout.groups[k % len(layout.groups)]
    relevant = layout.hosts_of[group]
    tcp_port = 20000 + k
    observer.watch = (group, tcp_port)
    casts_before, calls_before = observer.casts, observer.info_calls
    observer.reset()
    cpu_before = cpu.read()
    started = time.monotonic()
    rig.api("POST", "security-group-rules", {"security_group_rule": {
        "security_group_id": group, "direction": "ingress", "ethertype": "IPv4",
        "protocol": "tcp", "port_range_min": tcp_port, "port_range_max": tcp_port}})
    post_s = time.monotonic() - started
    fixtures.wait_for(functools.partial(observer.all_applied, relevant, tcp_port),
                      timeout=60, interval=0.002, what=f"rule {k} on every agent")
    cpu_used = cpu.since(cpu_before)
    applied_at = {h.name: observer.applied[(h.name, tcp_port)] for h in relevant}
    time.sleep(0.3)  # let any straggling cast arrive before counting
    missing = [h.name for h in relevant if not rule_in_flows(h, tcp_port)]
    if missing:
        raise RuntimeError(f"rule {k}: not in the flows of {missing}")
    cast_at = dict(observer.cast_at)
    return RuleRun(max(applied_at.values()) - started, post_s,
                   max(cast_at.values(), default=started) - started,
                   [at - cast_at[name] for name, at in applied_at.items() if name in cast_at],
                   observer.casts - casts_before, observer.info_calls - calls_before,
                   list(observer.info_call_s), len(relevant), cpu_used)


def post_rules(rig: Any, layout: Layout, observer: Observer, cpu: CpuMeter, n_rules: int,
               n_hosts: int) -> dict[str, Any]:
    """POST ``n_rules`` rules one at a time; time each until every relevant agent has it."""
    runs = [one_rule(rig, layout, observer, cpu, k) for k in range(n_rules)]
    observer.watch = None
    messages = [r.casts + r.info_calls for r in runs]
    return {
        "rules_posted": n_rules,
        "post_to_all_relevant_agents_applied_ms": percentiles_ms([r.applied_s for r in runs]),
        "of_which": {
            "api_post_returned_ms": percentiles_ms([r.post_s for r in runs]),
            "api_post_on_a_group_without_ports_ms": percentiles_ms(
                post_to_empty_group(rig, layout.empty_group, n_rules)),
            "last_cast_received_ms": percentiles_ms([r.last_cast_s for r in runs]),
            "info_call_round_trip_ms": percentiles_ms(
                [s for r in runs for s in r.info_call_s]),
            "one_agent_cast_received_to_applied_ms": percentiles_ms(
                [s for r in runs for s in r.cast_to_applied_s])},
        "cpu_ms_per_rule_until_applied": {
            name: round(statistics.mean(r.cpu_s[name] for r in runs) * 1000, 1)
            for name in cpu.procs},
        "cpu_ms_per_relevant_agent_until_applied": {
            name: round(statistics.mean(r.cpu_s[name] / r.relevant for r in runs) * 1000, 1)
            for name in cpu.procs},
        "machine": {"cpus": os.cpu_count(),
                    "load_average_1m_after": round(os.getloadavg()[0], 2)},
        "messages_per_rule": {
            "casts_mean": round(statistics.mean(r.casts for r in runs), 2),
            "casts_max": max(r.casts for r in runs),
            "info_calls_mean": round(statistics.mean(r.info_calls for r in runs), 2),
            "casts_plus_info_calls_mean": round(statistics.mean(messages), 2),
            "relevant_agents": round(statistics.mean(r.relevant for r in runs), 1),
            "neutron_fanout": n_hosts},
        "clock": "from before the API POST until the last relevant agent pushed flows "
                 "computed with the rule (then checked on every relevant bridge)",
    }


def measure_rule_propagation(n_hosts: int, n_groups: int, n_rules: int,
                             db: str) -> dict[str, Any]:
    """(b): the server in its own process, the fleet in this one; populate, POST rules."""
    from tests.e2e import conftest as e2e
    from tests.fixtures import hosts as fixtures
    from tests.fixtures.servers import make_database

    base = Path(tempfile.mkdtemp(prefix="neutrino-sg-fleet-"))
    with fixtures.Cleanup() as cleanup, make_database(db, base) as db_url:
        cleanup.add(shutil.rmtree, base, ignore_errors=True)
        vhost = e2e.rabbit_vhost(cleanup)  # never the default vhost: others use it
        rig, server_pid = start_server(cleanup, base, db_url, vhost)
        observer = Observer()
        started = time.monotonic()
        fleet = start_fleet(cleanup, f"rabbit://guest:guest@127.0.0.1:5672/{vhost}",
                            n_hosts, observer)
        names = {h.name for h in fleet.hosts}
        fixtures.wait_for(lambda: names <= {a["host"] for a in rig.api("GET", "agents")[
            "agents"] if a["alive"]}, timeout=300, interval=1, what="agents alive")
        log(f"  {n_hosts} agents up in {time.monotonic() - started:.1f}s")
        started = time.monotonic()
        layout = populate(rig, fleet, n_groups)
        wait_active(rig, layout.ports)
        populate_s = time.monotonic() - started
        log(f"  {len(layout.ports)} ports ACTIVE in {populate_s:.1f}s")
        time.sleep(2)  # the member updates of the last ports settle
        cpu = CpuMeter({"server_process": server_pid, "fleet_process": os.getpid()})
        result = post_rules(rig, layout, observer, cpu, n_rules, n_hosts)
        result.update({"hosts": n_hosts, "groups": n_groups, "ports": len(layout.ports),
                       "hosts_per_group": len(layout.hosts_of[layout.groups[0]]),
                       "populate_s": round(populate_s, 1), "database": db,
                       "processes": "neutrino-server alone; the fleet and the HTTP "
                                    "client in the bench process",
                       "bus": "RabbitMQ, a private virtual host",
                       "bridges": "in-memory (simulated agents)"})
    return result
