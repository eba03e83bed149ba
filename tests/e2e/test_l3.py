"""Routers, SNAT, floating IPs and the metadata redirect on real packets (issue 10 item 5).

Host 0 is the network node: its ``neutrino-ovs-agent`` maps ``public:br-ex`` (the flat
``router:external`` network) besides ``physnet1``, it runs ``neutrino-l3-agent`` and a
``neutrino-metadata-agent`` asking a Nova metadata stub, and an "outside" namespace
cabled to its br-ex holds 203.0.113.1, the external subnet's gateway (the upstream
router). Hosts 1 and 2 are compute nodes: VMs on VXLAN tenant networks, their addresses
set statically with a default route through their subnet's gateway (no DHCP agent runs,
so no isolated metadata either). Every "is cut" check follows a check that the same
path carried packets.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.conftest import (
    EXTERNAL_PHYSNET,
    AgentHost,
    L3Agent,
    Rig,
    make_network_node,
    running_rig,
    start_l3_agent,
    start_metadata_agent,
    wait_agent_alive,
)
from tests.fixtures import hosts
from tests.unit.agent.metadata.nova_stub import nova_stub

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WAIT = 45.0  # seconds a change may take to reach the data plane
SECRET = "e2e-l3-metadata-secret"
EXTERNAL_CIDR = "203.0.113.0/24"
OUTSIDE_IP = "203.0.113.1"  # the external subnet's gateway_ip: the outside host holds it
SERVER = {"DEFAULT": {"service_plugins": ["agents", "router"]},
          "ml2_type_flat": {"flat_networks": ["physnet1", EXTERNAL_PHYSNET]}}
METADATA_URL = "http://169.254.169.254/latest/meta-data/instance-id"
FETCH = ("import sys, urllib.request, urllib.error\n"
         "try:\n"
         "    r = urllib.request.urlopen(sys.argv[1], timeout=3)\n"
         "    print(r.status, r.read().decode(), sep='|')\n"
         "except urllib.error.HTTPError as e:\n"
         "    print(e.code, e.read().decode(), sep='|')\n"
         "except OSError as e:\n"
         "    print(0, e, sep='|')\n")
TTL = re.compile(r"ttl=(\d+)")


@dataclass
class L3Rig:
    """The rig with its network node, outside host, L3 agent and external network."""

    rig: Rig
    outside: hosts.Vm
    l3: L3Agent
    public: dict[str, Any]
    public_subnet: dict[str, Any]
    routers: set[str]  # every router the tests made (their namespaces are cleaned up)
    nova_seen: list[dict[str, str]]

    @property
    def node(self) -> AgentHost:
        return self.rig.hosts[0]

    @property
    def computes(self) -> list[AgentHost]:
        return self.rig.hosts[1:]


@pytest.fixture(scope="module")
def l3_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[L3Rig]:
    with nova_stub(SECRET) as (nova_url, seen), \
            running_rig(tmp_path_factory, server_extra=SERVER) as rig:
        node = rig.hosts[0]
        outside = make_network_node(rig, node, f"{OUTSIDE_IP}/24")
        public = rig.api("POST", "networks", {"network": {
            "name": "public", "router:external": True, "provider:network_type": "flat",
            "provider:physical_network": EXTERNAL_PHYSNET}})["network"]
        public_subnet = rig.api("POST", "subnets", {"subnet": {
            "network_id": public["id"], "ip_version": 4, "cidr": EXTERNAL_CIDR,
            "gateway_ip": OUTSIDE_IP, "enable_dhcp": False,
            "allocation_pools": [{"start": "203.0.113.10", "end": "203.0.113.99"}]}}
            )["subnet"]
        nova_port = int(nova_url.rsplit(":", 1)[1])
        meta, socket_path = start_metadata_agent(rig, node, nova_port, SECRET)
        routers: set[str] = set()
        l3 = start_l3_agent(rig, node, metadata_socket=socket_path, router_ids=routers)
        for agent_type, log in (("L3 agent", l3.log_tail), ("Metadata agent", meta.log_tail)):
            try:
                wait_agent_alive(rig, agent_type, node.name)
            except TimeoutError:
                pytest.fail(f"{agent_type} on {node.name} did not report: {log()}")
        yield L3Rig(rig, outside, l3, public, public_subnet, routers, seen)


@dataclass
class Lab:
    """One test's networks, routers, floating IPs, ports and VMs; all deleted at its end
    (in reverse: floating IPs, interfaces, routers, ports, networks)."""

    l3: L3Rig
    cleanup: hosts.Cleanup

    @property
    def rig(self) -> Rig:
        return self.l3.rig

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        response = self.rig.http.request(method, f"/v2.0/{path}", json=body)
        assert response.status_code in (200, 204, 404), f"{method} {path}: {response.text}"

    def network(self, cidr: str) -> tuple[dict[str, Any], dict[str, Any]]:
        net = self.rig.api("POST", "networks", {"network": {
            "name": "e2e-l3", "provider:network_type": "vxlan"}})["network"]
        self.cleanup.add(self._request, "DELETE", f"networks/{net['id']}")
        subnet = self.rig.api("POST", "subnets", {"subnet": {
            "network_id": net["id"], "ip_version": 4, "cidr": cidr,
            "enable_dhcp": False}})["subnet"]
        return net, subnet

    def router(self, gateway: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"name": "e2e-l3"}
        if gateway:
            body["external_gateway_info"] = {"network_id": self.l3.public["id"]}
        router = self.rig.api("POST", "routers", {"router": body})["router"]
        self.l3.routers.add(router["id"])
        self.cleanup.add(self._request, "DELETE", f"routers/{router['id']}")
        return dict(router)

    def add_interface(self, router: dict[str, Any], subnet: dict[str, Any]) -> None:
        path = f"routers/{router['id']}"
        self.rig.api("PUT", f"{path}/add_router_interface", {"subnet_id": subnet["id"]})
        self.cleanup.add(self._request, "PUT", f"{path}/remove_router_interface",
                         {"subnet_id": subnet["id"]})

    def vm(self, where: AgentHost, net: dict[str, Any], subnet: dict[str, Any],
           **port: Any) -> tuple[dict[str, Any], hosts.Vm]:
        """A compute port of a new instance and its VM, plugged on ``where``, with a
        default route through the subnet's gateway (the router), as DHCP would give."""
        body = {"network_id": net["id"], "binding:host_id": where.name,
                "device_owner": "compute:nova", "device_id": str(uuid.uuid4()), **port}
        created = self.rig.api("POST", "ports", {"port": body})["port"]
        self.cleanup.add(self._request, "DELETE", f"ports/{created['id']}")
        prefix = subnet["cidr"].split("/")[1]
        vm = hosts.create_vm(self.cleanup, where.host, created["id"],
                             created["mac_address"], f"{_address(created)}/{prefix}")
        vm.exec("ip", "route", "add", "default", "via", subnet["gateway_ip"])
        vm.tx_offload_off()  # TCP through the userspace datapath needs it (hosts.py)
        return created, vm

    def floatingip(self, port: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"floating_network_id": self.l3.public["id"]}
        if port:
            body["port_id"] = port["id"]
        fip = self.rig.api("POST", "floatingips", {"floatingip": body})["floatingip"]
        self.cleanup.add(self._request, "DELETE", f"floatingips/{fip['id']}")
        return dict(fip)

    def active(self, *vms: hosts.Vm) -> None:
        self.rig.wait_active(*(vm.port_id for vm in vms), timeout=WAIT)

    def peer(self, where: hosts.Vm, port: int) -> hosts.Program:
        """A UDP peer on ``port`` in ``where``: it prints ``<source ip> <port> <payload>``
        for every datagram it receives and sends what is written to it."""
        program = where.program(self.cleanup, "udp-peer", str(port))
        program.wait_line("ready")
        return program


@pytest.fixture
def lab(l3_rig: L3Rig) -> Iterator[Lab]:
    with hosts.Cleanup() as cleanup:
        yield Lab(l3_rig, cleanup)


def _address(port: dict[str, Any]) -> str:
    return str(port["fixed_ips"][0]["ip_address"])


def _gateway_ip(router: dict[str, Any]) -> str:
    return str(router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"])


def wait_ping(src: hosts.Vm, ip: str) -> None:
    hosts.wait_for(lambda: src.ping(ip, count=1, timeout_s=1), timeout=WAIT, interval=0.2,
                   what=f"{src.ip} -> {ip} ping")


def wait_no_ping(src: hosts.Vm, ip: str) -> None:
    hosts.wait_for(lambda: not src.ping(ip, count=1, timeout_s=1), timeout=WAIT,
                   interval=0.2, what=f"{src.ip} -> {ip} ping to stop")


def wait_open(src: hosts.Vm, ip: str, port: int) -> None:
    try:
        hosts.wait_for(lambda: src.tcp_open(ip, port), timeout=WAIT, interval=0.2,
                       what=f"{src.ip} -> {ip}:{port} TCP to open")
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}\n{_routers_seen_from(src, ip)}") from None


def _routers_seen_from(src: hosts.Vm, ip: str) -> str:
    """What a failed wait should show: ``src``'s neighbour entry for ``ip`` and every
    router namespace's addresses and NAT rules."""
    lines = [f"{src.netns} neigh: " + src.exec("ip", "neigh", "show", ip, check=False)]
    for ns in sorted(n for n in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                text=True, check=False).stdout.split()
                     if n.startswith("qrouter-")):
        for cmd in (["ip", "-br", "link"], ["ip", "-4", "-br", "addr"],
                    ["iptables-save", "-t", "nat"]):
            out = subprocess.run(["ip", "netns", "exec", ns, *cmd], capture_output=True,
                                 text=True, check=False)
            lines.append(f"{ns} {' '.join(cmd)}:\n{out.stdout}{out.stderr}")
    return "\n".join(lines)


def ttl_of_reply(src: hosts.Vm, ip: str) -> int:
    """The TTL of an echo reply from ``ip``: 64 less one per router on the way back."""
    out = src.exec("ping", "-c", "1", "-W", "2", ip, check=False)
    match = TTL.search(out)
    assert match, f"no reply from {ip}: {out}"
    return int(match.group(1))


def source_seen(lab: Lab, sender: hosts.Vm, receiver: hosts.Program, to_ip: str,
                to_port: int) -> str:
    """Send UDP from ``sender`` (a peer on 7001) to ``to_ip:to_port`` until ``receiver``
    prints it; the source address the receiver saw."""
    send = lab.peer(sender, 7001)
    payload = f"hello-{uuid.uuid4().hex[:8]}"

    def arrived() -> bool:
        send.send_line(f"{to_ip} {to_port} {payload}")
        return any(line.endswith(payload) for line in receiver.lines)

    hosts.wait_for(arrived, timeout=WAIT, interval=0.3, what=f"{payload} at {to_ip}")
    line = next(line for line in receiver.lines if line.endswith(payload))
    send.proc.terminate()
    return line.split()[0]


def fetch(vm: hosts.Vm, url: str = METADATA_URL) -> tuple[int, str]:
    out = subprocess.run(["ip", "netns", "exec", vm.netns, sys.executable, "-c", FETCH, url],
                         capture_output=True, text=True, timeout=30, check=False)
    status, _, body = out.stdout.strip().partition("|")
    return int(status or 0), body


def _two_routed_vms(lab: Lab, base: int) -> tuple[dict[str, Any], dict[str, Any],
                                                  hosts.Vm, hosts.Vm]:
    """Subnets 10.<base>.1.0/24 and 10.<base>.2.0/24 on one router (no gateway), a VM on
    each, on different compute hosts: (router, second subnet, first VM, second VM)."""
    router = lab.router(gateway=False)
    net_a, subnet_a = lab.network(f"10.{base}.1.0/24")
    net_b, subnet_b = lab.network(f"10.{base}.2.0/24")
    lab.add_interface(router, subnet_a)
    lab.add_interface(router, subnet_b)
    _port_a, vm_a = lab.vm(lab.l3.computes[0], net_a, subnet_a)
    _port_b, vm_b = lab.vm(lab.l3.computes[1], net_b, subnet_b)
    lab.active(vm_a, vm_b)
    return router, subnet_b, vm_a, vm_b


# --- routing between tenant subnets ------------------------------------------------------

def test_vms_on_two_subnets_on_different_hosts_reach_each_other_through_a_router(
        lab: Lab) -> None:
    _router, _subnet_b, vm_a, vm_b = _two_routed_vms(lab, 101)
    wait_ping(vm_a, vm_b.ip)
    wait_ping(vm_b, vm_a.ip)
    # one router on the way: the reply's TTL is one less than the sender's 64
    assert ttl_of_reply(vm_a, vm_b.ip) == 63
    vm_b.serve_tcp(lab.cleanup, 5001)
    wait_open(vm_a, vm_b.ip, 5001)


def test_after_interface_removal_the_subnets_are_cut_off(lab: Lab) -> None:
    router, subnet_b, vm_a, vm_b = _two_routed_vms(lab, 102)
    wait_ping(vm_a, vm_b.ip)
    wait_ping(vm_b, subnet_b["gateway_ip"])

    lab.rig.api("PUT", f"routers/{router['id']}/remove_router_interface",
                {"subnet_id": subnet_b["id"]})
    wait_no_ping(vm_a, vm_b.ip)
    wait_no_ping(vm_b, subnet_b["gateway_ip"])  # the router's address there is gone too
    assert not vm_b.ping(vm_a.ip, count=2, timeout_s=1)


# A VM whose ARP cache holds the router's previous MAC for its gateway sends to that MAC
# until the entry has gone STALE, waited DELAY (5 s) and failed three unicast probes: at
# least 8 s. Only the router's gratuitous ARP for its new port corrects it sooner.
SOON = 6.0


def _gateway_mac(lab: Lab, router: dict[str, Any], subnet: dict[str, Any]) -> str:
    ports = lab.rig.api("GET", f"ports?device_id={router['id']}"
                        "&device_owner=network:router_interface")["ports"]
    return next(str(p["mac_address"]) for p in ports
                if p["fixed_ips"][0]["subnet_id"] == subnet["id"])


def test_a_re_added_interface_is_reached_again_soon_without_touching_arp_caches(
        lab: Lab) -> None:
    router, subnet_b, vm_a, vm_b = _two_routed_vms(lab, 108)
    gateway = subnet_b["gateway_ip"]
    wait_ping(vm_b, vm_a.ip)
    old_mac = _gateway_mac(lab, router, subnet_b)
    assert vm_b.neighbour(gateway) == old_mac
    path = f"routers/{router['id']}"
    lab.rig.api("PUT", f"{path}/remove_router_interface", {"subnet_id": subnet_b["id"]})
    wait_no_ping(vm_b, vm_a.ip)
    assert vm_b.neighbour(gateway) == old_mac  # still cached: nothing flushed it

    lab.rig.api("PUT", f"{path}/add_router_interface", {"subnet_id": subnet_b["id"]})
    new_mac = _gateway_mac(lab, router, subnet_b)
    assert new_mac != old_mac  # a new port: the same gateway IP behind a new MAC
    # only vm_b sends (vm_a's replies would make the router ARP for vm_b, which would
    # teach vm_b the new MAC without any announcement)
    hosts.wait_for(lambda: vm_b.ping(vm_a.ip, count=1, timeout_s=1), timeout=SOON,
                   interval=0.05, what=f"{vm_b.ip} -> {vm_a.ip} through the re-added port")
    assert vm_b.neighbour(gateway) == new_mac


def test_an_extra_route_is_followed(lab: Lab) -> None:
    behind = "10.109.0.1"  # an address only the next hop holds, on its loopback
    router = lab.router(gateway=False)
    net_a, subnet_a = lab.network("10.103.1.0/24")
    net_b, subnet_b = lab.network("10.103.2.0/24")
    lab.add_interface(router, subnet_a)
    lab.add_interface(router, subnet_b)
    hop_port, hop = lab.vm(lab.l3.computes[0], net_a, subnet_a,
                           allowed_address_pairs=[{"ip_address": "10.109.0.0/24"}])
    hop.exec("ip", "addr", "add", f"{behind}/32", "dev", "lo")
    _src_port, src = lab.vm(lab.l3.computes[1], net_b, subnet_b)
    lab.active(hop, src)
    wait_ping(src, hop.ip)  # the path to the next hop works; the address behind it not yet
    assert not src.ping(behind, count=2, timeout_s=1)

    route = {"destination": "10.109.0.0/24", "nexthop": _address(hop_port)}
    path = f"routers/{router['id']}"
    lab.rig.api("PUT", f"{path}/add_extraroutes", {"router": {"routes": [route]}})
    wait_ping(src, behind)
    lab.rig.api("PUT", f"{path}/remove_extraroutes", {"router": {"routes": [route]}})
    wait_no_ping(src, behind)


# --- SNAT and floating IPs ---------------------------------------------------------------

def test_a_vm_without_floating_ip_reaches_the_outside_as_the_gateway_address(
        lab: Lab) -> None:
    router = lab.router()
    net, subnet = lab.network("10.104.1.0/24")
    lab.add_interface(router, subnet)
    _port, vm = lab.vm(lab.l3.computes[0], net, subnet)
    lab.active(vm)
    wait_ping(vm, OUTSIDE_IP)
    receiver = lab.peer(lab.l3.outside, 7000)
    assert source_seen(lab, vm, receiver, OUTSIDE_IP, 7000) == _gateway_ip(router)
    # the outside has no route to the tenant subnet: only SNAT lets the reply back
    assert "10.104.1.0" not in lab.l3.outside.exec("ip", "route")


def _vm_with_fip(lab: Lab, base: int) -> tuple[dict[str, Any], dict[str, Any], hosts.Vm]:
    router = lab.router()
    net, subnet = lab.network(f"10.{base}.1.0/24")
    lab.add_interface(router, subnet)
    port, vm = lab.vm(lab.l3.computes[1], net, subnet)
    fip = lab.floatingip(port)
    assert fip["router_id"] == router["id"]
    lab.active(vm)
    vm.serve_tcp(lab.cleanup, 5001)
    return router, fip, vm


def test_the_outside_reaches_a_vm_by_its_floating_ip_and_the_vm_leaves_from_it(
        lab: Lab) -> None:
    router, fip, vm = _vm_with_fip(lab, 105)
    address = fip["floating_ip_address"]
    outside = lab.l3.outside
    wait_ping(outside, address)
    wait_open(outside, address, 5001)
    receiver = lab.peer(outside, 7000)
    assert source_seen(lab, vm, receiver, OUTSIDE_IP, 7000) == address
    assert address != _gateway_ip(router)

    def active() -> bool:
        return lab.rig.api("GET", f"floatingips/{fip['id']}")["floatingip"]["status"] \
            == "ACTIVE"

    hosts.wait_for(active, timeout=WAIT, interval=0.2, what="the floating IP ACTIVE")


def test_after_disassociation_the_floating_ip_is_dead(lab: Lab) -> None:
    router, fip, vm = _vm_with_fip(lab, 106)
    address = fip["floating_ip_address"]
    outside = lab.l3.outside
    wait_ping(outside, address)
    wait_open(outside, address, 5001)
    # a connection open through the floating IP must die with it (conntrack flushed)
    talk = outside.program(lab.cleanup, "tcp-talk", address, "5001", "0.1", "2")
    talk.wait_line("echo", timeout=WAIT)

    lab.rig.api("PUT", f"floatingips/{fip['id']}", {"floatingip": {"port_id": None}})
    wait_no_ping(outside, address)
    assert not outside.tcp_open(address, 5001)
    talk.wait_line("stalled", timeout=WAIT)
    receiver = lab.peer(outside, 7000)
    # the VM still reaches the outside, now through the router's SNAT address
    assert source_seen(lab, vm, receiver, OUTSIDE_IP, 7000) == _gateway_ip(router)


def test_a_port_forwarding_forwards_only_its_port(lab: Lab) -> None:
    router = lab.router()
    net, subnet = lab.network("10.107.1.0/24")
    lab.add_interface(router, subnet)
    port, vm = lab.vm(lab.l3.computes[0], net, subnet)
    lab.active(vm)
    vm.serve_tcp(lab.cleanup, 8022, 8023)
    fip = lab.floatingip()
    address = fip["floating_ip_address"]
    lab.rig.api("POST", f"floatingips/{fip['id']}/port_forwardings", {"port_forwarding": {
        "protocol": "tcp", "external_port": 2222, "internal_port": 8022,
        "internal_port_id": port["id"], "internal_ip_address": _address(port)}})
    outside = lab.l3.outside
    wait_open(outside, address, 2222)
    # the other ports of the VM, and the forwarded one by its own number, stay closed
    for closed in (8022, 8023, 2223):
        assert not outside.tcp_open(address, closed), f"{address}:{closed} is open"


# --- metadata through the router ---------------------------------------------------------

def test_a_vm_on_a_routed_network_gets_its_instance_id_from_metadata(
        lab: Lab, l3_rig: L3Rig) -> None:
    router = lab.router(gateway=False)
    net, subnet = lab.network("10.108.1.0/24")
    lab.add_interface(router, subnet)
    port, vm = lab.vm(lab.l3.computes[1], net, subnet)
    lab.active(vm)
    wait_ping(vm, subnet["gateway_ip"])
    via = vm.exec("ip", "-4", "route", "get", "169.254.169.254").split()
    assert via[via.index("via") + 1] == subnet["gateway_ip"]  # the router, no DHCP route

    answers: list[tuple[int, str]] = []

    def answered() -> bool:
        answers.append(fetch(vm))
        return answers[-1][0] not in (0, 503)

    try:
        hosts.wait_for(answered, timeout=WAIT, interval=0.5, what="a metadata answer")
    except TimeoutError:
        pytest.fail(f"no metadata answer: {answers[-3:]}; {l3_rig.l3.log_tail(1500)}")
    assert answers[-1] == (200, port["device_id"])
    asked = [h for h in l3_rig.nova_seen if h.get("x-instance-id") == port["device_id"]]
    assert asked[-1]["x-forwarded-for"] == _address(port)
    assert asked[-1]["x-tenant-id"] == port["project_id"]


# --- an agent restart ----------------------------------------------------------------------

PING_INTERVAL_S = 0.05
PINGS_LOST_TOLERATED = 2  # two 50 ms pings a loaded two-core machine may drop anyway


def _namespace_inode(router_id: str) -> int:
    return int(subprocess.run(["stat", "-L", "-c", "%i", f"/run/netns/qrouter-{router_id}"],
                              capture_output=True, text=True, check=True).stdout)


def _l3_report(rig: Rig, host: str) -> dict[str, Any]:
    agents = rig.api("GET", "agents?agent_type=L3 agent")["agents"]
    return next(dict(a) for a in agents if a["host"] == host)


def test_traffic_survives_an_l3_agent_restart(lab: Lab, l3_rig: L3Rig) -> None:
    router, fip, vm = _vm_with_fip(lab, 110)
    address = fip["floating_ip_address"]
    outside = l3_rig.outside
    wait_ping(outside, address)
    wait_open(outside, address, 5001)
    wait_ping(vm, OUTSIDE_IP)
    namespace = _namespace_inode(router["id"])
    # across the restart: a TCP stream in through the floating IP (a reply a tenth of a
    # second, "stalled" after 2 s without one) and pings out from the VM
    talk = outside.program(lab.cleanup, "tcp-talk", address, "5001", "0.1", "2")
    talk.wait_line("echo", timeout=WAIT)
    pinger = subprocess.Popen(["ip", "netns", "exec", vm.netns, "ping", "-n", "-q", "-i",
                               str(PING_INTERVAL_S), OUTSIDE_IP],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lab.cleanup.add(_stop, pinger)
    started = _l3_report(l3_rig.rig, l3_rig.node.name)["started_at"]

    l3_rig.l3.restart()

    def resynced() -> bool:  # the new process reported (start_flag) with its routers
        report = _l3_report(l3_rig.rig, l3_rig.node.name)
        return report["started_at"] != started and report["configurations"]["routers"] > 0

    hosts.wait_for(resynced, timeout=WAIT, interval=0.2, what="the restarted agent's report")
    echoes = talk.count("echo")
    try:
        hosts.wait_for(lambda: talk.count("echo") >= echoes + 30 or "stalled" in talk.lines,
                       timeout=WAIT, interval=0.2, what="the stream to go on after the restart")
    except TimeoutError:
        pytest.fail(f"the stream stopped: {talk.lines[-3:]}; {l3_rig.l3.log_tail()}")
    pinger.send_signal(2)  # SIGINT: ping prints its statistics
    summary, _ = pinger.communicate(timeout=10)

    assert "stalled" not in talk.lines, l3_rig.l3.log_tail()
    sent, received = map(int, re.search(r"(\d+) packets transmitted, (\d+) received",
                                        summary).groups())  # type: ignore[union-attr]
    assert sent > 50
    assert sent - received <= PINGS_LOST_TOLERATED, summary
    assert _namespace_inode(router["id"]) == namespace  # the router was not rebuilt
    wait_open(outside, address, 5001)  # and new connections still pass


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
