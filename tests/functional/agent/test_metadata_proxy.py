"""Metadata end to end on one namespaced OVS host: VM → qdhcp proxy → metadata agent → Nova.

Real pieces: the qdhcp namespace and DHCP port made by the DHCP agent (with
``enable_isolated_metadata``), the metadata proxy process it supervises inside that
namespace, the metadata agent on its unix socket, and an HTTP Nova stub that checks the
HMAC signature. The servers (DHCP and metadata RPC) are in-process fakes. A "VM"
namespace fetches ``http://169.254.169.254/latest/meta-data/instance-id``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from neutrino.agent.dhcp.agent import DhcpAgent
from neutrino.agent.dhcp.config import DhcpAgentConfig
from neutrino.agent.dhcp.devices import DhcpDevices
from neutrino.agent.dhcp.dnsmasq import Settings
from neutrino.agent.dhcp.interface import OvsInterfaceDriver
from neutrino.agent.metadata.agent import MetadataAgent
from neutrino.agent.metadata.config import MetadataAgentConfig
from neutrino.agent.metadata.process import running_pid
from neutrino.agent.ovs.bridge import close_ovsdb_api, ovsdb_api
from tests.fixtures import hosts
from tests.unit.agent.dhcp.fake_dhcp_server import FakeDhcpServer, port, subnet
from tests.unit.agent.metadata.fakes import FakeMetadataServer
from tests.unit.agent.metadata.nova_stub import nova_stub

pytestmark = [
    pytest.mark.functional,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces and OVS"),
    pytest.mark.skipif(not shutil.which("dnsmasq"), reason="needs dnsmasq"),
]

SECRET = "functional-secret"
METADATA_URL = "http://169.254.169.254/latest/meta-data/instance-id"
FETCH = ("import sys, urllib.request, urllib.error\n"
         "try:\n"
         "    r = urllib.request.urlopen(sys.argv[1], timeout=5)\n"
         "    print(r.status, r.read().decode(), sep='|')\n"
         "except urllib.error.HTTPError as e:\n"
         "    print(e.code, e.read().decode(), sep='|')\n")


@dataclass
class Rig:
    host: hosts.OvsHost
    dhcp_server: FakeDhcpServer
    dhcp: DhcpAgent
    ports: FakeMetadataServer
    metadata: MetadataAgent
    nova_seen: list[dict[str, str]]
    cleanup: hosts.Cleanup

    def pid_file(self, network_id: str) -> Path:
        return self.dhcp.config.confs_dir / network_id / "metadata_proxy.pid"


def fetch(vm: hosts.Vm, url: str = METADATA_URL) -> tuple[int, str]:
    out = subprocess.run(["ip", "netns", "exec", vm.netns, sys.executable, "-c", FETCH, url],
                         capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    status, body = out.stdout.strip().split("|", 1)
    return int(status), body


@pytest.fixture
def rig() -> Iterator[Rig]:
    with hosts.Cleanup() as cleanup, nova_stub(SECRET) as (nova_url, seen):
        host = hosts.create_host(cleanup)
        host.add_bridge("br-int")
        state = Path(tempfile.mkdtemp(prefix="neutrino-meta-"))
        state.chmod(0o755)  # dnsmasq re-reads its files as nobody
        cleanup.add(shutil.rmtree, state, True)
        socket_path = state / "metadata_proxy"

        ports = FakeMetadataServer()
        metadata = MetadataAgent(MetadataAgentConfig(
            host="node1", socket_path=socket_path, nova_url=nova_url, shared_secret=SECRET),
            ports)
        metadata.start(heartbeat=False)
        cleanup.add(metadata.stop)

        api = ovsdb_api(host.db)
        cleanup.add(close_ovsdb_api, api)
        config = DhcpAgentConfig(host=f"h-{host.name}", confs_dir=state / "dhcp",
                                 dnsmasq=Settings(enable_isolated_metadata=True),
                                 resync_interval=1.0, check_interval=0.2,
                                 metadata_proxy_socket=socket_path)
        dhcp_server = FakeDhcpServer()
        devices = DhcpDevices(OvsInterfaceDriver(api, "br-int", ovs_namespace=host.netns),
                              config.confs_dir, socket_path)
        dhcp = DhcpAgent(config, dhcp_server, devices)
        cleanup.add(_remove_all, dhcp)
        cleanup.add(dhcp.stop)
        yield Rig(host, dhcp_server, dhcp, ports, metadata, seen, cleanup)


def _remove_all(agent: DhcpAgent) -> None:
    for network_id in agent.devices.known_networks():
        agent.devices.remove(network_id, None)


def _network_with_vm(rig: Rig) -> tuple[dict[str, Any], dict[str, Any], hosts.Vm]:
    sub = subnet("10.20.0.0/24")
    network = rig.dhcp_server.add_network([sub])
    vm_port = port(network["id"], "fa:16:3e:20:00:05", [(sub["id"], "10.20.0.5")])
    vm_port.update(device_id="instance-5", device_owner="compute:nova", project_id="proj")
    network["ports"].append(vm_port)
    rig.ports.ports.append(vm_port)
    rig.dhcp.start(heartbeat=False)
    hosts.wait_for(lambda: vm_port["id"] in rig.dhcp_server.ready, timeout=20,
                   what="the network served")
    dhcp_port = next(p for p in network["ports"] if p["device_owner"] == "network:dhcp")
    rig.ports.ports.append(dhcp_port)
    vm = hosts.create_vm(rig.cleanup, rig.host, vm_port["id"], vm_port["mac_address"],
                         "10.20.0.5/24")
    vm.tx_offload_off()  # TCP through the userspace datapath needs it (hosts.py)
    # the classless static route dnsmasq hands out for isolated metadata
    vm.exec("ip", "route", "add", "169.254.169.254/32", "via",
            dhcp_port["fixed_ips"][0]["ip_address"])
    return network, vm_port, vm


def test_vm_gets_its_instance_id_from_nova(rig: Rig) -> None:
    network, _vm_port, vm = _network_with_vm(rig)
    hosts.wait_for(lambda: running_pid(rig.pid_file(network["id"])) is not None,
                   what="the metadata proxy")

    assert fetch(vm) == (200, "instance-5")
    sent = rig.nova_seen[-1]
    assert sent["x-instance-id"] == "instance-5"
    assert sent["x-tenant-id"] == "proj"
    assert sent["x-forwarded-for"] == "10.20.0.5"
    assert rig.ports.calls[-1]["network_id"] == [network["id"]]
    assert fetch(vm, "http://169.254.169.254/nothing-here")[0] == 404

    # a wrong secret: Nova's 403 reaches the guest
    rig.metadata.handler.secret = "wrong"
    assert fetch(vm)[0] == 403


def test_proxy_is_restarted_when_it_dies_and_stopped_with_the_network(rig: Rig) -> None:
    network, _vm_port, vm = _network_with_vm(rig)
    pid_file = rig.pid_file(network["id"])
    hosts.wait_for(lambda: running_pid(pid_file) is not None, what="the metadata proxy")
    pid = running_pid(pid_file)
    assert pid is not None

    os.kill(pid, signal.SIGKILL)
    hosts.wait_for(lambda: running_pid(pid_file) not in (None, pid), timeout=10,
                   what="the proxy restarted")
    assert fetch(vm) == (200, "instance-5")

    new_pid = running_pid(pid_file)
    del rig.dhcp_server.networks[network["id"]]
    rig.dhcp.notify("network_deleted", network_id=network["id"])
    hosts.wait_for(lambda: not Path(f"/proc/{new_pid}").exists()
                   or b"metadata.proxy" not in Path(f"/proc/{new_pid}/cmdline").read_bytes(),
                   what="the proxy stopped")


def test_a_router_on_the_subnet_stops_the_proxy(rig: Rig) -> None:
    network, _vm_port, _vm = _network_with_vm(rig)
    pid_file = rig.pid_file(network["id"])
    hosts.wait_for(lambda: running_pid(pid_file) is not None, what="the metadata proxy")
    sub = network["subnets"][0]
    router = port(network["id"], "fa:16:3e:20:00:01", [(sub["id"], sub["gateway_ip"])])
    router.update(device_owner="network:router_interface", device_id="router-1")
    network["ports"].append(router)
    rig.dhcp.notify("port_changed", port=dict(router))
    hosts.wait_for(lambda: running_pid(pid_file) is None, what="the proxy stopped")
