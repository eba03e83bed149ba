"""DHCP and metadata on real packets: server + OVS agents + two DHCP agents + metadata agents.

Covers issue 9 item 5. Hosts 0 and 1 are network nodes: each runs a ``neutrino-dhcp-agent``
(with ``enable_isolated_metadata``, in its own ``/run/netns`` as a machine of its own
would have) and a ``neutrino-metadata-agent`` asking a Nova metadata stub that checks the
HMAC signature. The server schedules every DHCP network to both
(``dhcp_agents_per_network = 2``). VMs on host 2 ask for their address with busybox
``udhcpc``, as a guest does, over VXLAN tunnels or the ``physnet1`` VLAN fabric.
"""

from __future__ import annotations

import ipaddress
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.conftest import (
    PHYSNET,
    AgentHost,
    Rig,
    ServiceAgent,
    running_rig,
    start_dhcp_agent,
    start_metadata_agent,
    wait_agent_alive,
)
from tests.fixtures import hosts
from tests.unit.agent.metadata.nova_stub import nova_stub

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "e2e-metadata-secret"
DNS = ["203.0.113.53", "203.0.113.54"]
WAIT = 45.0  # seconds a port may take to be wired and served
METADATA_URL = "http://169.254.169.254/latest/meta-data/instance-id"
FETCH = ("import sys, urllib.request, urllib.error\n"
         "try:\n"
         "    r = urllib.request.urlopen(sys.argv[1], timeout=3)\n"
         "    print(r.status, r.read().decode(), sep='|')\n"
         "except urllib.error.HTTPError as e:\n"
         "    print(e.code, e.read().decode(), sep='|')\n"
         "except OSError as e:\n"
         "    print(0, e, sep='|')\n")
SERVER = {"DEFAULT": {"dhcp_agents_per_network": 2}}


@dataclass
class DhcpRig:
    """The rig with its network nodes' agents and what Nova's stub was asked."""

    rig: Rig
    dhcp: dict[str, ServiceAgent]  # host name -> its DHCP agent
    nova_seen: list[dict[str, str]]

    @property
    def compute(self) -> AgentHost:
        return self.rig.hosts[2]


@pytest.fixture(scope="module")
def dhcp_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DhcpRig]:
    with nova_stub(SECRET) as (nova_url, seen), \
            running_rig(tmp_path_factory, server_extra=SERVER) as rig:
        nova_port = int(nova_url.rsplit(":", 1)[1])
        dhcp = {}
        for node in rig.hosts[:2]:
            _meta, socket_path = start_metadata_agent(rig, node, nova_port, SECRET)
            dhcp[node.name] = start_dhcp_agent(rig, node, metadata_socket=socket_path)
        for node in rig.hosts[:2]:
            for agent_type in ("DHCP agent", "Metadata agent"):
                try:
                    wait_agent_alive(rig, agent_type, node.name)
                except TimeoutError:
                    pytest.fail(f"{agent_type} on {node.name} did not report: "
                                + dhcp[node.name].log_tail())
        yield DhcpRig(rig, dhcp, seen)


@dataclass
class Lab:
    """One test's networks, ports and VMs; deleted when the test ends."""

    rig: Rig
    cleanup: hosts.Cleanup

    def _delete(self, path: str) -> None:
        response = self.rig.http.request("DELETE", f"/v2.0/{path}")
        assert response.status_code in (204, 404), f"DELETE {path}: {response.text}"

    def network(self, cidr: str, network_type: str = "vxlan", dhcp: bool = True
                ) -> tuple[dict[str, Any], dict[str, Any]]:
        body: dict[str, Any] = {"name": f"e2e-dhcp-{network_type}",
                                "provider:network_type": network_type}
        if network_type == "vlan":
            body["provider:physical_network"] = PHYSNET
        net = self.rig.api("POST", "networks", {"network": body})["network"]
        self.cleanup.add(self._delete, f"networks/{net['id']}")
        subnet = self.rig.api("POST", "subnets", {"subnet": {
            "network_id": net["id"], "ip_version": 4, "cidr": cidr, "enable_dhcp": dhcp,
            "dns_nameservers": DNS}})["subnet"]
        return net, subnet

    def vm(self, where: AgentHost, net: dict[str, Any], subnet: dict[str, Any],
           ip: str | None = None) -> tuple[dict[str, Any], hosts.Vm]:
        """A compute port of a new instance and its VM, plugged on ``where``."""
        body: dict[str, Any] = {"network_id": net["id"], "binding:host_id": where.name,
                                "device_owner": "compute:nova",
                                "device_id": str(uuid.uuid4())}
        if ip:
            body["fixed_ips"] = [{"subnet_id": subnet["id"], "ip_address": ip}]
        port = self.rig.api("POST", "ports", {"port": body})["port"]
        self.cleanup.add(self._delete, f"ports/{port['id']}")
        prefix = subnet["cidr"].split("/")[1]
        vm = hosts.create_vm(self.cleanup, where.host, port["id"], port["mac_address"],
                             f"{_address(port)}/{prefix}")
        return port, vm

    def dhcp_ports(self, net: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.rig.api(
            "GET", f"ports?network_id={net['id']}&device_owner=network:dhcp")["ports"])

    def dhcp_hosts(self, net: dict[str, Any]) -> set[str]:
        agents = self.rig.api("GET", f"networks/{net['id']}/dhcp-agents")["agents"]
        return {a["host"] for a in agents}


@pytest.fixture
def lab(dhcp_rig: DhcpRig) -> Iterator[Lab]:
    with hosts.Cleanup() as cleanup:
        yield Lab(dhcp_rig.rig, cleanup)


def _address(port: dict[str, Any]) -> str:
    return str(port["fixed_ips"][0]["ip_address"])


def _lease_when_active(lab: Lab, port: dict[str, Any], vm: hosts.Vm,
                       apply: bool = False) -> dict[str, str]:
    # ACTIVE means the L2 agent wired the port and a DHCP agent has it in its host file
    lab.rig.wait_active(port["id"], timeout=WAIT)
    lease = hosts.dhcp_lease(vm, apply=apply)
    assert lease is not None, f"no DHCP answer for {_address(port)}"
    return lease


def fetch(vm: hosts.Vm, url: str = METADATA_URL) -> tuple[int, str]:
    out = subprocess.run(["ip", "netns", "exec", vm.netns, sys.executable, "-c", FETCH, url],
                         capture_output=True, text=True, timeout=30, check=False)
    status, _, body = out.stdout.strip().partition("|")
    return int(status or 0), body


@pytest.mark.parametrize("network_type", ["vxlan", "vlan"])
def test_a_vm_gets_its_address_gateway_dns_and_mtu(dhcp_rig: DhcpRig, lab: Lab,
                                                   network_type: str) -> None:
    cidr = "10.91.0.0/24" if network_type == "vxlan" else "10.92.0.0/24"
    net, subnet = lab.network(cidr, network_type)
    port, vm = lab.vm(dhcp_rig.compute, net, subnet)
    assert lab.dhcp_hosts(net) == set(dhcp_rig.dhcp)

    lease = _lease_when_active(lab, port, vm)
    assert lease["ip"] == _address(port)
    assert lease["mask"] == "24"
    assert lease["router"] == subnet["gateway_ip"]
    assert lease["dns"].split() == DNS
    assert lease["mtu"] == str(net["mtu"])
    routes = lease["staticroutes"].split()
    pairs = dict(zip(routes[::2], routes[1::2], strict=True))
    assert pairs["0.0.0.0/0"] == subnet["gateway_ip"]
    # isolated metadata: the route to 169.254.169.254 is through one of the DHCP ports
    assert pairs["169.254.169.254/32"] in {_address(p) for p in lab.dhcp_ports(net)}


def test_a_renewed_lease_gives_the_new_fixed_ip(dhcp_rig: DhcpRig, lab: Lab) -> None:
    net, subnet = lab.network("10.93.0.0/24")
    port, vm = lab.vm(dhcp_rig.compute, net, subnet, ip="10.93.0.20")
    assert _lease_when_active(lab, port, vm)["ip"] == "10.93.0.20"

    lab.rig.api("PUT", f"ports/{port['id']}", {"port": {
        "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": "10.93.0.77"}]}})
    leased: list[str | None] = []

    def new_address() -> bool:
        lease = hosts.dhcp_lease(vm, tries=3)
        leased.append(lease and lease["ip"])
        return leased[-1] == "10.93.0.77"

    hosts.wait_for(new_address, timeout=WAIT, interval=0.2,
                   what=f"the new address by DHCP (got {leased[-3:]})")


def test_a_dhcp_disabled_subnet_gets_no_answer(dhcp_rig: DhcpRig, lab: Lab) -> None:
    net, subnet = lab.network("10.94.0.0/24", dhcp=False)
    port, vm = lab.vm(dhcp_rig.compute, net, subnet, ip="10.94.0.10")
    peer_port, _peer = lab.vm(lab.rig.hosts[0], net, subnet, ip="10.94.0.11")
    lab.rig.wait_active(port["id"], peer_port["id"], timeout=WAIT)
    # the VM reaches the network node over this network: silence is DHCP's, not the path's
    lab.rig.wait_ping(vm, "10.94.0.11", timeout=WAIT)

    assert lab.dhcp_hosts(net) == set()
    assert lab.dhcp_ports(net) == []
    assert hosts.dhcp_lease(vm, tries=4) is None


def test_a_vm_fetches_its_metadata_through_the_dhcp_route(dhcp_rig: DhcpRig,
                                                          lab: Lab) -> None:
    net, subnet = lab.network("10.95.0.0/24")
    port, vm = lab.vm(dhcp_rig.compute, net, subnet)
    lease = _lease_when_active(lab, port, vm, apply=True)
    via = vm.exec("ip", "-4", "route", "get", "169.254.169.254").split()
    assert via[via.index("via") + 1] in {_address(p) for p in lab.dhcp_ports(net)}
    assert ipaddress.ip_address(lease["ip"]) in ipaddress.ip_network(subnet["cidr"])
    vm.tx_offload_off()  # TCP through the userspace datapath needs it (hosts.py)

    answers: list[tuple[int, str]] = []

    def answered() -> bool:
        answers.append(fetch(vm))
        return answers[-1][0] != 0 and answers[-1][0] != 503

    try:
        hosts.wait_for(answered, timeout=WAIT, interval=0.5, what="a metadata answer")
    except TimeoutError:
        pytest.fail(f"no metadata answer: {answers[-3:]}")
    assert answers[-1] == (200, port["device_id"])
    asked = [h for h in dhcp_rig.nova_seen if h.get("x-instance-id") == port["device_id"]]
    assert asked[-1]["x-forwarded-for"] == _address(port)
    assert asked[-1]["x-tenant-id"] == port["project_id"]


def test_killing_one_dhcp_agent_leaves_addresses_served(dhcp_rig: DhcpRig,
                                                        lab: Lab) -> None:
    net, subnet = lab.network("10.96.0.0/24")
    first_port, first_vm = lab.vm(dhcp_rig.compute, net, subnet)
    assert _lease_when_active(lab, first_port, first_vm)["ip"] == _address(first_port)
    assert lab.dhcp_hosts(net) == set(dhcp_rig.dhcp)

    victim = dhcp_rig.dhcp[lab.rig.hosts[0].name]
    # as if the network node died: the agent and its dnsmasq processes, at once
    victim.stop(signal.SIGKILL)
    lab.cleanup.add(_revive, lab.rig, victim)

    port, vm = lab.vm(dhcp_rig.compute, net, subnet)
    assert _lease_when_active(lab, port, vm)["ip"] == _address(port)
    assert hosts.dhcp_lease(first_vm)["ip"] == _address(first_port)  # type: ignore[index]


def _revive(rig: Rig, agent: ServiceAgent) -> None:
    agent.start()
    wait_agent_alive(rig, "DHCP agent", agent.host.name)
