"""Security groups at scale: flow counts, rule propagation across 200 agents, big remote groups.

Four measurements, printed as one JSON object on stdout (progress goes to stderr):

(a) ``flows``: the br-int flows one host holds for 200 local ports in one group whose
    ingress rule names a remote group of 2,000 members, computed by the real compiler
    (``flows.compute_flows``) from a ``security_group_info_for_devices`` reply, against the
    ports × members × rules × conntrack variants a design without conjunctive matches
    (one flow per port per member per rule) would install.
(b) ``rule_propagation``: a real ``neutrino-server`` in a process of its own (API + RPC
    over a private RabbitMQ virtual host, made and deleted here) and, in this process,
    200 simulated agents (the real agent code on in-memory bridges,
    ``agent/ovs/simulated.py``), so the fleet does not share an interpreter lock with the
    server whose latency it measures; 20 groups, each on a subset of the hosts. For each rule
    POSTed the clock runs until every agent with a port in that group has pushed flows
    computed from a state holding the rule (then its bridge is checked for the rule's
    flows); it also counts the security-group casts and info calls per rule, against the
    one copy per agent Neutron's fanout sends (``bench/sg_rule_propagation.py``).
(c) ``remote_group_change``: one agent, 200 ports, its whole path (fetch the info, merge
    it, compute every flow, diff against the last push, apply) when a 2,000-member remote
    group appears, when it empties again, and when the rule naming it is deleted; on a
    real OVS (a namespaced ovsdb-server + ovs-vswitchd, userspace datapath) when this
    machine can run one, and on the in-memory bridge.
(d) ``first_packet``: on real hosts (namespaces with their own OVS, ``neutrino-ovs-agent``
    processes with the openvswitch firewall), milliseconds from an ICMP ingress rule's POST
    to the first ping reply through it, over 20 rules (``bench/sg_first_packet.py``).

``python bench/security_groups.py [--quick] [--skip-fleet] [--no-real-hosts]
[--db sqlite|postgresql|mariadb]`` (from the repository root; (c) on real OVS and (d) need
root, ``openvswitch-switch`` and RabbitMQ on 127.0.0.1, and skip themselves otherwise)
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import sg_first_packet, sg_rule_propagation  # noqa: E402
from bench.report import log  # noqa: E402
from neutrino.agent.ovs import flows as flows_mod  # noqa: E402
from neutrino.agent.ovs import pipeline as p  # noqa: E402
from neutrino.agent.ovs.agent import OvsAgent  # noqa: E402
from neutrino.agent.ovs.bridge import Bridge, VifPort  # noqa: E402
from neutrino.agent.ovs.firewall import firewall_state, merge_info  # noqa: E402
from neutrino.agent.ovs.flowtable import Flow, diff_flows  # noqa: E402
from neutrino.agent.ovs.monitor import VifChange  # noqa: E402
from neutrino.agent.ovs.simulated import (  # noqa: E402
    SimulatedHost,
    simulated_config,
    simulated_ip,
)
from neutrino.agent.ovs.state import AgentState, LocalPort, LocalVlan  # noqa: E402

# Neutron's numbers these are compared with (issue 8).
NEUTRON = {"post_to_first_packet_s": [0.2, 1.9], "remote_group_delete_s": 500,
           "remote_group_delete_bug": "https://bugs.launchpad.net/neutron/+bug/1975674"}
COOKIE = 0x4E55000000000001
WEB_PORTS = (80, 443)  # the remote-group rule's port range, as a realistic web tier


# The data: a realistic security_group_info_for_devices reply ------------------------------

def member_ips(count: int, base: str = "10.128.0.0") -> list[str]:
    """``count`` distinct IPv4 addresses from ``base`` up (the remote group's members)."""
    start = int(ipaddress.IPv4Address(base))
    return [str(ipaddress.IPv4Address(start + 1 + i)) for i in range(count)]


def rule(direction: str, ethertype: str = "IPv4", protocol: str | None = None,
         ports: tuple[int, int] | None = None, prefix: str | None = None,
         remote_group_id: str | None = None) -> dict[str, Any]:
    """One rule as the server's reply carries it (the API's fields)."""
    low, high = ports if ports else (None, None)
    return {"id": str(uuid.uuid4()), "direction": direction, "ethertype": ethertype,
            "protocol": protocol, "port_range_min": low, "port_range_max": high,
            "remote_ip_prefix": prefix, "remote_group_id": remote_group_id}


def web_group_rules(remote_group_id: str | None) -> list[dict[str, Any]]:
    """What a web tier's group holds: egress anywhere (both ethertypes), SSH from the
    admin network, and ``WEB_PORTS`` from the members of ``remote_group_id``."""
    rules = [rule("egress", "IPv4"), rule("egress", "IPv6"),
             rule("ingress", "IPv4", "tcp", (22, 22), "192.0.2.0/24")]
    if remote_group_id is not None:
        rules.append(rule("ingress", "IPv4", "tcp", WEB_PORTS, remote_group_id=remote_group_id))
    return rules


@dataclass(frozen=True)
class Scenario:
    """Local ports in ``web``, whose ingress rule names ``clients`` (``members`` IPs)."""

    ports: int
    members: int
    networks: int = 1
    web: str = field(default_factory=lambda: str(uuid.uuid4()))
    clients: str = field(default_factory=lambda: str(uuid.uuid4()))

    def port_ids(self) -> list[str]:
        return [str(uuid.uuid5(uuid.UUID(self.web), str(i))) for i in range(self.ports)]

    def local_ports(self) -> tuple[LocalPort, ...]:
        return tuple(LocalPort(port_id=port_id, ofport=10 + i, mac_address=mac_of(i),
                               lvid=1 + i % self.networks, fixed_ips=(local_ip(i),))
                     for i, port_id in enumerate(self.port_ids()))

    def info(self, members: int | None = None, with_rule: bool = True) -> dict[str, Any]:
        """The reply for every local port (the contract of issue 8)."""
        count = self.members if members is None else members
        return {"devices": {port_id: {"security_groups": [self.web],
                                      "port_security_enabled": True}
                            for port_id in self.port_ids()},
                "security_groups": {self.web: {
                    "stateful": True,
                    "rules": web_group_rules(self.clients if with_rule else None)}},
                "sg_member_ips": {self.clients: {"IPv4": member_ips(count), "IPv6": []}}
                if with_rule else {}}


def local_ip(index: int) -> str:
    return f"10.0.{index // 250}.{index % 250 + 2}"


def mac_of(index: int) -> str:
    return f"fa:16:3e:{index >> 16 & 0xFF:02x}:{index >> 8 & 0xFF:02x}:{index & 0xFF:02x}"


# (a) flows on one host ------------------------------------------------------------------

def host_state(scenario: Scenario, info: dict[str, Any]) -> AgentState:
    """An agent state of one host: the scenario's ports on their networks, the firewall on."""
    vlans = {f"net-{lvid}": LocalVlan(f"net-{lvid}", "vxlan", lvid, 1000 + lvid)
             for lvid in range(1, scenario.networks + 1)}
    return AgentState(cookie=COOKIE, local_vlans=vlans, ports=scenario.local_ports(),
                      firewall=firewall_state(info))


def _is_member_flow(flow: Flow) -> bool:
    return any(a.startswith("conjunction(") and a.endswith(",1/2)") for a in flow.actions)


def _firewall_tables() -> set[int]:
    names = (p.TRANSIENT_TABLE, p.BASE_EGRESS, p.RULES_EGRESS, p.ACCEPT_OR_INGRESS,
             p.BASE_INGRESS, p.RULES_INGRESS, p.ACCEPTED_EGRESS_TRAFFIC,
             p.ACCEPTED_EGRESS_TRAFFIC_NORMAL, p.DROPPED_TRAFFIC)
    return {p.BR_INT.table(name).number for name in names}


def count_flows(scenario: Scenario) -> dict[str, Any]:
    """Flows of one host for ``scenario``, ours and those of a non-conjunctive design."""
    info = scenario.info()
    started = time.perf_counter()
    state = host_state(scenario, info)
    flows = flows_mod.int_flows(state)
    compile_s = time.perf_counter() - started
    without = flows_mod.int_flows(host_state(scenario, scenario.info(members=0)))
    member_flows = sum(1 for f in flows if _is_member_flow(f))
    variants = 2  # stateful: a new-connection and an established flow per rule match
    remote_rules = sum(1 for r in info["security_groups"][scenario.web]["rules"]
                       if r["remote_group_id"])
    # a design without conjunctions: one flow per local port, member, rule and variant
    naive_remote = scenario.ports * scenario.members * remote_rules * variants
    naive_total = len(without) + naive_remote
    tables = _firewall_tables()
    return {
        "local_ports": scenario.ports, "networks_on_host": scenario.networks,
        "remote_group_members": scenario.members, "remote_group_rules": remote_rules,
        "br_int_flows": len(flows),
        "firewall_flows": sum(1 for f in flows if f.table_id in tables),
        "member_flows": member_flows,
        "flows_added_by_the_members": len(flows) - len(without),
        "non_conjunctive": {
            "remote_group_flows": naive_remote, "br_int_flows": naive_total,
            "formula": "ports x members x remote-group rules x 2 ct variants "
                       "+ the flows without members"},
        "ratio_non_conjunctive_to_ours": round(naive_total / len(flows), 1),
        "compile_s": round(compile_s, 3),
    }


# (c) one agent, a 2,000-member remote group, the agent's whole path ------------------------

class FakeServer:
    """The agent's ``PluginApi`` answered in process: device details and the scenario's
    security-group info (changed between measurements). Counts the info calls."""

    def __init__(self, scenario: Scenario, lvid_net: Callable[[int], str]) -> None:
        self.scenario = scenario
        self.members = 0
        self.with_rule = True
        self.info_calls = 0
        self.info_s = 0.0
        ports = scenario.local_ports()
        self.details = {port.port_id: {
            "device": port.port_id, "network_id": lvid_net(port.lvid),
            "network_type": "vxlan", "segmentation_id": 1000 + port.lvid,
            "physical_network": None, "admin_state_up": True,
            "mac_address": port.mac_address, "port_security_enabled": True,
            "fixed_ips": [{"ip_address": a, "subnet_id": "s"} for a in port.fixed_ips],
            "allowed_address_pairs": []} for port in ports}

    def get_devices_details_list_and_failed_devices(
            self, devices: list[str], agent_id: str, host: str) -> dict[str, Any]:
        return {"devices": [self.details.get(d, {"device": d}) for d in devices],
                "failed_devices": []}

    def update_device_list(self, devices_up: list[str], devices_down: list[str],
                           agent_id: str, host: str,
                           refresh_tunnels: bool = False) -> dict[str, Any]:
        return {"devices_up": devices_up, "failed_devices_up": [],
                "devices_down": devices_down, "failed_devices_down": []}

    def tunnel_sync(self, tunnel_ip: str, tunnel_type: str, host: str) -> dict[str, Any]:
        return {"tunnels": []}

    def get_ports_by_vnic_type_and_host(self, vnic_type: str, host: str
                                        ) -> list[dict[str, Any]]:
        return []

    def security_group_info_for_devices(self, devices: list[str]) -> dict[str, Any]:
        started = time.perf_counter()
        info = self.scenario.info(self.members, self.with_rule)
        wanted = set(devices)
        info["devices"] = {d: v for d, v in info["devices"].items() if d in wanted}
        # a real reply crosses the wire as JSON: pay for the copy as the agent would
        info = json.loads(json.dumps(info))
        self.info_calls += 1
        self.info_s += time.perf_counter() - started
        return info


class TimedBridge:
    """Times the ``apply`` (the OpenFlow bundle) of a bridge, wrapping its instance."""

    def __init__(self) -> None:
        self.apply_s = 0.0
        self.added = 0
        self.deleted = 0

    def wrap(self, bridge: Bridge) -> Bridge:
        original = bridge.apply

        def apply(diff: Any) -> None:
            started = time.perf_counter()
            original(diff)
            self.apply_s += time.perf_counter() - started
            self.added += len(diff.add)
            self.deleted += len(diff.delete)

        bridge.apply = apply  # type: ignore[method-assign]
        return bridge


@dataclass
class AgentRig:
    """One agent over ``bridge_factory`` with the scenario's VIFs plugged by ``plug``."""

    agent: OvsAgent
    server: FakeServer
    timer: TimedBridge
    kind: str


def make_agent(scenario: Scenario, factory: Callable[[str, p.Pipeline], Bridge],
               kind: str) -> AgentRig:
    timer = TimedBridge()
    server = FakeServer(scenario, lambda lvid: f"net-{lvid}")
    config = simulated_config("sg-bench", simulated_ip(1), firewall_driver="openvswitch",
                              stale_flow_grace=0.0)

    def timed_factory(name: str, pipeline: p.Pipeline) -> Bridge:
        return timer.wrap(factory(name, pipeline)) if name == "br-int" \
            else factory(name, pipeline)

    agent = OvsAgent(config, timed_factory, server)
    agent.setup()
    return AgentRig(agent, server, timer, kind)


def bind_all(rig: AgentRig, vifs: Iterable[VifPort]) -> None:
    for vif in vifs:
        rig.agent.vif_changed(VifChange.ADDED, vif)
    rig.agent.run_until_idle(max_rounds=1000)
    bound = len(rig.agent.bound)
    if bound != rig.server.scenario.ports:
        raise RuntimeError(f"{rig.kind}: only {bound} ports bound")


def timed_change(rig: AgentRig, event: str, groups: list[str],
                 check: Callable[[], bool]) -> dict[str, float]:
    """Tell the agent ``event`` about ``groups`` and time the round(s) that follow."""
    timer, server = rig.timer, rig.server
    timer.apply_s, timer.added, timer.deleted = 0.0, 0, 0
    server.info_s = 0.0
    started = time.perf_counter()
    rig.agent.notify(event, security_groups=groups)
    rig.agent.run_until_idle(max_rounds=10)
    elapsed = time.perf_counter() - started
    if not check():
        raise RuntimeError(f"{rig.kind}: {event} did not reach the bridge")
    return {"total_s": round(elapsed, 3), "apply_to_bridge_s": round(timer.apply_s, 3),
            "fetch_info_s": round(server.info_s, 3),
            "merge_compute_diff_s": round(elapsed - timer.apply_s - server.info_s, 3),
            "flows_added": timer.added, "flows_deleted": timer.deleted}


def member_flows_on(bridge: Bridge, cookie: int) -> int:
    """Flows matching one remote-group member on the switch (read back from it)."""
    return sum(1 for f in bridge.dump_flows(cookie=cookie) if _is_member_flow(f))


def measure_change(rig: AgentRig) -> dict[str, Any]:
    """Members appear, go, appear again, then the rule naming them is deleted."""
    scenario, server, agent = rig.server.scenario, rig.server, rig.agent
    assert agent.bridges is not None
    int_br = agent.bridges.int_br
    members = scenario.members
    result: dict[str, Any] = {"bridge": rig.kind, "local_ports": scenario.ports,
                              "members": members}

    def members_on() -> int:
        return member_flows_on(int_br, agent.cookie)

    steps = (("add_members", members, True, "security_groups_member_updated",
              scenario.clients, lambda: members_on() >= members),
             ("remove_members", 0, True, "security_groups_member_updated",
              scenario.clients, lambda: members_on() == 0),
             ("add_members_again", members, True, "security_groups_member_updated",
              scenario.clients, lambda: members_on() >= members),
             ("delete_rule", members, False, "security_groups_rule_updated",
              scenario.web, lambda: members_on() == 0))
    for name, count, with_rule, event, group, check in steps:
        server.members, server.with_rule = count, with_rule
        result[name] = timed_change(rig, event, [group], check)
        log(f"  {rig.kind} {name}: {result[name]}")
    result["info_calls"] = server.info_calls
    return result


def in_memory_rig(scenario: Scenario) -> AgentRig:
    host = SimulatedHost("sg-bench")
    rig = make_agent(scenario, host.bridge, "in-memory")
    host.agent = rig.agent
    vifs = []
    for port in scenario.local_ports():
        name = f"tap{port.port_id[:11]}"
        ofport = host.int_br.add_vif(name, port.port_id, port.mac_address)
        vifs.append(VifPort(name=name, port_id=port.port_id, ofport=ofport,
                            mac_address=port.mac_address, status="active"))
    bind_all(rig, vifs)
    return rig


def real_ovs_rig(scenario: Scenario, cleanup: Any, base: Path) -> AgentRig:
    """The agent on a namespaced OVS (userspace datapath) with ``scenario.ports`` VIFs."""
    from neutrino.agent.ovs.bridge import OvsBridge, close_ovsdb_api, ovsdb_api
    from tests.fixtures import hosts

    host = hosts.create_host(cleanup, base)
    api = ovsdb_api(host.db)
    cleanup.add(close_ovsdb_api, api)

    def factory(name: str, pipeline: p.Pipeline) -> Bridge:
        return OvsBridge(name, api, pipeline, datapath_type="netdev",
                         rundir=str(host.rundir))

    rig = make_agent(scenario, factory, "real OVS (userspace datapath)")
    assert rig.agent.bridges is not None
    int_br = rig.agent.bridges.int_br
    args: list[str] = []
    for port in scenario.local_ports():
        name = f"tap{port.port_id[-11:]}"
        args += ["--", "add-port", "br-int", name, "--", "set", "Interface", name,
                 "type=internal", f"external_ids:iface-id={port.port_id}",
                 f"external_ids:attached-mac={port.mac_address}",
                 "external_ids:iface-status=active"]
    host.vsctl(*args)
    hosts.wait_for(lambda: sum(1 for v in int_br.get_vif_ports() if v.ofport)
                   >= scenario.ports, timeout=120, what="VIF ofports")
    bind_all(rig, int_br.get_vif_ports())
    return rig


def measure_remote_group_change(scenario: Scenario, real_ovs: bool) -> dict[str, Any]:
    """(c) on the in-memory bridge, and on a real OVS when asked and possible."""
    from tests.fixtures import hosts

    results = {"in_memory": measure_change(in_memory_rig(scenario))}
    ok, why = hosts.can_run_hosts()
    if not real_ovs or not ok:
        results["real_ovs"] = {"skipped": why if not ok else "not asked (--no-real-ovs)"}
        return results
    base = Path(tempfile.mkdtemp(prefix="neutrino-sg-bench-"))
    with hosts.Cleanup() as cleanup:
        cleanup.add(shutil.rmtree, base, ignore_errors=True)
        results["real_ovs"] = measure_change(real_ovs_rig(scenario, cleanup, base))
    return results


def pure_path(scenario: Scenario) -> dict[str, float]:
    """The pure steps of (c) alone: merge the reply, compute the flows, diff them."""
    empty = host_state(scenario, scenario.info(members=0))
    before = flows_mod.int_flows(empty)
    info = json.loads(json.dumps(scenario.info()))
    t0 = time.perf_counter()
    assert empty.firewall is not None
    merged = merge_info(empty.firewall, info)
    t1 = time.perf_counter()
    after = flows_mod.int_flows(AgentState(cookie=COOKIE, local_vlans=empty.local_vlans,
                                           ports=empty.ports, firewall=merged))
    t2 = time.perf_counter()
    diff = diff_flows(after, before)
    t3 = time.perf_counter()
    return {"merge_info_s": round(t1 - t0, 4), "compute_flows_s": round(t2 - t1, 4),
            "diff_s": round(t3 - t2, 4), "flows_to_add": len(diff.add)}


# main ---------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a small run: 20 ports, 200 members; 20 hosts, 4 groups, 5 rules; "
                             "5 rules on real hosts")
    parser.add_argument("--skip-fleet", action="store_true", help="skip (b)")
    parser.add_argument("--no-real-ovs", action="store_true",
                        help="(c) on the in-memory bridge only")
    parser.add_argument("--real-hosts", action=argparse.BooleanOptionalAction, default=True,
                        help="(d) POST to first ping reply on real hosts (default: on; "
                             "skipped by itself where namespaces/OVS/RabbitMQ are missing)")
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql", "mariadb"))
    args = parser.parse_args()
    ports, members = (20, 200) if args.quick else (200, 2000)
    out: dict[str, Any] = {"benchmark": "security_groups", "quick": args.quick,
                           "neutron_reference": NEUTRON}
    log("(a) flows on one host")
    out["flows"] = count_flows(Scenario(ports, members))
    out["flows_10_networks"] = count_flows(Scenario(ports, members, networks=10))
    if not args.skip_fleet:
        hosts, groups, rules = (20, 4, 5) if args.quick else (200, 20, 20)
        log("(b) rule propagation")
        out["rule_propagation"] = sg_rule_propagation.measure_rule_propagation(
            hosts, groups, rules, args.db)
    log("(c) remote-group change on one agent")
    scenario = Scenario(ports, members)
    out["remote_group_change"] = measure_remote_group_change(scenario, not args.no_real_ovs)
    out["remote_group_change"]["pure_steps"] = pure_path(scenario)
    failed = False
    if args.real_hosts:
        log("(d) POST to the first ping reply on real hosts")
        try:
            out["first_packet"] = sg_first_packet.measure_first_packet(
                5 if args.quick else 20)
        except Exception as exc:  # keep (a)-(c), minutes of work, and say what broke
            log(f"(d) failed: {exc!r}")
            out["first_packet"] = {"error": repr(exc)}
            failed = True
    print(json.dumps(out, indent=2), flush=True)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
