"""Security groups enforced on real packets: server + OVS agents with the openvswitch firewall.

Covers issue 8 item 6. Two hosts run ``neutrino-ovs-agent`` with ``[securitygroup]
firewall_driver = openvswitch``; VMs on VXLAN networks ping and open TCP/UDP connections
to each other while the tests change groups, rules and memberships through the Neutron
API, as a user would. Every "stays closed" check comes after a check that proves the same
path carries packets, so a closed port is the firewall's doing and not a missing flow.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.conftest import AgentHost, Rig, running_rig
from tests.fixtures import hosts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIREWALL = {"securitygroup": {"firewall_driver": "openvswitch"}}
WAIT = 30.0  # seconds a change may take to reach the data plane


@pytest.fixture(scope="module")
def sg_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    # a project of its own, so its ``default`` group is created by these tests' first port
    with running_rig(tmp_path_factory, host_count=2, agent_extra=FIREWALL,
                     project=uuid.uuid4().hex) as rig:
        yield rig


@dataclass
class Lab:
    """One test's networks, groups, ports and VMs; all deleted when the test ends."""

    rig: Rig
    cleanup: hosts.Cleanup

    @property
    def agents(self) -> list[AgentHost]:
        return self.rig.hosts

    def _delete(self, path: str) -> None:
        response = self.rig.http.request("DELETE", f"/v2.0/{path}")
        assert response.status_code in (204, 404), f"DELETE {path}: {response.text}"

    def network(self, cidr: str) -> tuple[str, str]:
        net, subnet = self.rig.network("vxlan", cidr)
        self.cleanup.add(self._delete, f"networks/{net}")
        return net, subnet

    def group(self, name: str, *rules: dict[str, Any]) -> str:
        """A new group (Neutron gives it "egress anywhere" rules) plus ingress ``rules``."""
        sg = self.rig.api("POST", "security-groups",
                          {"security_group": {"name": name}})["security_group"]
        self.cleanup.add(self._delete, f"security-groups/{sg['id']}")
        for rule in rules:
            self.rule(sg["id"], **rule)
        return str(sg["id"])

    def rule(self, sg_id: str, **attrs: Any) -> str:
        body = {"security_group_id": sg_id, "direction": "ingress", "ethertype": "IPv4",
                **attrs}
        rule = self.rig.api("POST", "security-group-rules",
                            {"security_group_rule": body})["security_group_rule"]
        return str(rule["id"])

    def vm(self, where: AgentHost, net: str, subnet: str, ip: str | None = None,
           **port: Any) -> hosts.Vm:
        """A VM plugged on ``where``; ``port`` adds to the port's body (security_groups, …)."""
        body: dict[str, Any] = {"network_id": net, "binding:host_id": where.name,
                                "device_owner": "compute:nova", **port}
        if ip:
            body["fixed_ips"] = [{"subnet_id": subnet, "ip_address": ip}]
        created = self.rig.api("POST", "ports", {"port": body})["port"]
        self.cleanup.add(self._delete, f"ports/{created['id']}")
        prefix = self.rig.api("GET", f"subnets/{subnet}")["subnet"]["cidr"].split("/")[1]
        address = created["fixed_ips"][0]["ip_address"]
        vm = hosts.create_vm(self.cleanup, where.host, created["id"],
                             created["mac_address"], f"{address}/{prefix}")
        vm.tx_offload_off()
        return vm

    def port(self, vm: hosts.Vm) -> dict[str, Any]:
        return dict(self.rig.api("GET", f"ports/{vm.port_id}")["port"])

    def set_groups(self, vm: hosts.Vm, *groups: str) -> None:
        self.rig.api("PUT", f"ports/{vm.port_id}", {"port": {"security_groups": list(groups)}})

    def active(self, *vms: hosts.Vm) -> None:
        self.rig.wait_active(*(vm.port_id for vm in vms))

    def serve(self, vm: hosts.Vm, *ports: int) -> None:
        vm.serve_tcp(self.cleanup, *ports)


@pytest.fixture
def lab(sg_rig: Rig) -> Iterator[Lab]:
    with hosts.Cleanup() as cleanup:
        yield Lab(sg_rig, cleanup)


ICMP: dict[str, Any] = {"protocol": "icmp"}  # an ingress rule body, from anywhere


def tcp_rule(port: int, **attrs: Any) -> dict[str, Any]:
    """An ingress rule body for TCP ``port``."""
    return {"protocol": "tcp", "port_range_min": port, "port_range_max": port, **attrs}


def wait_ping(src: hosts.Vm, ip: str) -> None:
    hosts.wait_for(lambda: src.ping(ip, count=1, timeout_s=1), timeout=WAIT, interval=0.2,
                   what=f"{src.ip} -> {ip} ping")


def wait_no_ping(src: hosts.Vm, ip: str) -> None:
    hosts.wait_for(lambda: not src.ping(ip, count=1, timeout_s=1), timeout=WAIT,
                   interval=0.2, what=f"{src.ip} -> {ip} ping to stop")


def wait_open(src: hosts.Vm, ip: str, port: int) -> None:
    hosts.wait_for(lambda: src.tcp_open(ip, port), timeout=WAIT, interval=0.2,
                   what=f"{src.ip} -> {ip}:{port} TCP to open")


def wait_closed(src: hosts.Vm, ip: str, port: int) -> None:
    hosts.wait_for(lambda: not src.tcp_open(ip, port), timeout=WAIT, interval=0.2,
                   what=f"{src.ip} -> {ip}:{port} TCP to close")


# 1 -----------------------------------------------------------------------------------------

def test_default_group_members_reach_each_other_across_hosts(lab: Lab) -> None:
    a_host, b_host = lab.agents
    net, subnet = lab.network("10.91.1.0/24")
    a = lab.vm(a_host, net, subnet)  # no security_groups: the project's default group
    b = lab.vm(b_host, net, subnet)
    outsider = lab.vm(b_host, net, subnet, security_groups=[lab.group("pingable", ICMP)])
    lab.active(a, b, outsider)
    default = lab.rig.api("GET", "security-groups?name=default")["security_groups"]
    assert [g["id"] for g in default] == lab.port(a)["security_groups"]
    wait_ping(a, b.ip)
    wait_ping(b, a.ip)
    # the firewall is on: a VM outside the default group reaches nothing in it, though its
    # own port works (a default-group VM may ping it)
    wait_ping(a, outsider.ip)
    assert not outsider.ping(a.ip, count=1, timeout_s=1)


# 2 -----------------------------------------------------------------------------------------

def test_group_without_ingress_rules_only_lets_replies_in(lab: Lab) -> None:
    a_host, b_host = lab.agents
    net, subnet = lab.network("10.91.2.0/24")
    closed = lab.vm(a_host, net, subnet, security_groups=[lab.group("no-ingress")])
    server = lab.vm(b_host, net, subnet,
                    security_groups=[lab.group("open", ICMP, tcp_rule(5001))])
    lab.active(closed, server)
    lab.serve(closed, 5001)
    lab.serve(server, 5001)
    # its own connections get their replies ...
    wait_ping(closed, server.ip)
    wait_open(closed, server.ip, 5001)
    # ... while nothing reaches it unasked
    assert not server.ping(closed.ip, count=2, timeout_s=1)
    assert not server.tcp_open(closed.ip, 5001)


# 3 -----------------------------------------------------------------------------------------

def test_icmp_rule_opens_ping_and_tcp_rule_opens_its_port_only(lab: Lab) -> None:
    a_host, b_host = lab.agents
    net, subnet = lab.network("10.91.3.0/24")
    target_sg = lab.group("target")
    target = lab.vm(a_host, net, subnet, security_groups=[target_sg])
    peer = lab.vm(b_host, net, subnet, security_groups=[lab.group("peer", ICMP)])
    lab.active(target, peer)
    lab.serve(target, 5001, 5002)
    wait_ping(target, peer.ip)  # both ports are wired
    assert not peer.ping(target.ip, count=1, timeout_s=1)

    lab.rule(target_sg, **ICMP)
    wait_ping(peer, target.ip)
    assert not peer.tcp_open(target.ip, 5001)

    lab.rule(target_sg, **tcp_rule(5001))
    wait_open(peer, target.ip, 5001)
    assert not peer.tcp_open(target.ip, 5002)


# 4 -----------------------------------------------------------------------------------------

def test_joining_and_leaving_a_remote_group(lab: Lab) -> None:
    """Group T lets TCP 5001 in from members of B and TCP 5002 from members of C.

    A VM on the other host joins B and leaves it; then a VM on T's host that stays in C
    throughout joins and leaves B: leaving must close 5001 and only 5001.
    """
    a_host, b_host = lab.agents
    net, subnet = lab.network("10.91.4.0/24")
    remote_b, remote_c, plain = lab.group("remote-b"), lab.group("remote-c"), lab.group("plain")
    target_sg = lab.group("target", ICMP, tcp_rule(5001, remote_group_id=remote_b),
                          tcp_rule(5002, remote_group_id=remote_c))
    target = lab.vm(a_host, net, subnet, security_groups=[target_sg])
    far = lab.vm(b_host, net, subnet, security_groups=[plain])
    near = lab.vm(a_host, net, subnet, security_groups=[remote_c])
    lab.active(target, far, near)
    lab.serve(target, 5001, 5002)

    wait_ping(far, target.ip)
    assert not far.tcp_open(target.ip, 5001)
    lab.set_groups(far, plain, remote_b)
    wait_open(far, target.ip, 5001)
    assert not far.tcp_open(target.ip, 5002)
    lab.set_groups(far, plain)
    wait_closed(far, target.ip, 5001)

    wait_open(near, target.ip, 5002)
    assert not near.tcp_open(target.ip, 5001)
    lab.set_groups(near, remote_c, remote_b)
    wait_open(near, target.ip, 5001)
    assert near.tcp_open(target.ip, 5002)  # one address, two remote groups: both open
    lab.set_groups(near, remote_c)
    wait_closed(near, target.ip, 5001)
    assert near.tcp_open(target.ip, 5002)  # still a member of C


# 5 -----------------------------------------------------------------------------------------

def test_removing_a_rule_cuts_an_established_connection(lab: Lab) -> None:
    a_host, b_host = lab.agents
    net, subnet = lab.network("10.91.5.0/24")
    server_sg = lab.group("server")
    rule = lab.rule(server_sg, **tcp_rule(5003))
    server = lab.vm(a_host, net, subnet, security_groups=[server_sg])
    client = lab.vm(b_host, net, subnet, security_groups=[lab.group("client")])
    lab.active(server, client)
    lab.serve(server, 5003)
    wait_open(client, server.ip, 5003)

    # a byte every 100 ms, echoed back; "stalled" once an echo is 2 s late
    talk = client.program(lab.cleanup, "tcp-talk", server.ip, "5003", "0.1", "2")
    hosts.wait_for(lambda: talk.count("echo") >= 10, timeout=WAIT,
                   what=f"the connection to carry echoes: {talk.lines[-3:]}")
    lab.rig.api("DELETE", f"security-group-rules/{rule}")
    hosts.wait_for(lambda: "stalled" in talk.lines, timeout=WAIT,
                   what="the established connection to stop after the rule delete")
    assert not client.tcp_open(server.ip, 5003)


# 6 -----------------------------------------------------------------------------------------

def test_port_security_disabled_passes_everything(lab: Lab) -> None:
    a_host, b_host = lab.agents
    net, subnet = lab.network("10.91.6.0/24")
    open_vm = lab.vm(a_host, net, subnet, port_security_enabled=False, security_groups=[])
    closed = lab.vm(b_host, net, subnet, security_groups=[lab.group("no-ingress")])
    lab.active(open_vm, closed)
    assert lab.port(open_vm)["security_groups"] == []
    lab.serve(open_vm, 5001, 5002)
    wait_ping(closed, open_vm.ip)
    for port in (5001, 5002):
        wait_open(closed, open_vm.ip, port)
    # no anti-spoofing either: an address the port does not own answers from it
    spoofed = open_vm.ip.rsplit(".", 1)[0] + ".250"
    open_vm.exec("ip", "addr", "add", f"{spoofed}/24", "dev", "eth0")
    wait_ping(closed, spoofed)
    # while the other port, filtered, still turns away what nobody asked for
    assert not open_vm.ping(closed.ip, count=1, timeout_s=1)


# 7 -----------------------------------------------------------------------------------------

def test_same_cidr_networks_never_share_conntrack_state(lab: Lab) -> None:
    """A UDP flow x1:7000 -> y1:7001 on network 1 is answered; on network 2, with the very
    same addresses on the same hosts, y2's "answer" to x2 must still be a new, refused flow.
    If both networks shared a conntrack zone it would pass as a reply."""
    a_host, b_host = lab.agents
    closed = lab.group("no-ingress")
    udp_in = lab.group("udp-in", {"protocol": "udp", "port_range_min": 7001,
                                  "port_range_max": 7001})
    xs, ys = [], []
    for _ in range(2):
        net, subnet = lab.network("10.91.7.0/24")
        xs.append(lab.vm(a_host, net, subnet, "10.91.7.20", security_groups=[closed]))
        ys.append(lab.vm(b_host, net, subnet, "10.91.7.10", security_groups=[udp_in]))
    lab.active(*xs, *ys)
    (x1, x2), (y1, y2) = xs, ys
    ux1, ux2 = (x.program(lab.cleanup, "udp-peer", "7000") for x in xs)
    uy1, uy2 = (y.program(lab.cleanup, "udp-peer", "7001") for y in ys)
    for peer in (ux1, ux2, uy1, uy2):
        peer.wait_line("ready")

    _exchange(ux1, uy1, y1.ip, 7001, "hello")  # x1 -> y1 opens the flow ...
    _exchange(uy1, ux1, x1.ip, 7000, "reply")  # ... and its reply passes x1's firewall

    for n in range(3):
        uy2.send_line(f"{x2.ip} 7000 leak-{n}")
    hosts.wait_for(lambda: y2.neighbour(x2.ip) == x2.mac, timeout=WAIT,
                   what="y2's packets to x2 sent")
    # control: once x2 itself opened the flow, the very same packets from y2 do arrive
    _exchange(ux2, uy2, y2.ip, 7001, "open")
    _exchange(uy2, ux2, x2.ip, 7000, "ok")
    assert not [line for line in ux2.lines if "leak" in line], ux2.lines


def _exchange(src: hosts.Program, dst: hosts.Program, ip: str, port: int, word: str) -> None:
    """Send ``word`` datagrams from ``src`` to ``ip:port`` until ``dst`` receives one."""
    counter = itertools.count()

    def arrived() -> bool:
        src.send_line(f"{ip} {port} {word}-{next(counter)}")
        return any(f" {word}-" in line for line in dst.lines)

    hosts.wait_for(arrived, timeout=WAIT, interval=0.2, what=f"{word} to reach {ip}:{port}")
