"""The DHCP agent on a namespaced OVS host with real dnsmasq; a VM gets its lease by udhcpc.

The server is the in-process fake (``tests/unit/agent/dhcp/fake_dhcp_server``); br-int
switches normally (no OVS agent), so what is tested is the DHCP agent's own work: the
qdhcp namespace, the DHCP port plugged like a VIF, dnsmasq's files and process, reloads,
lease release, restart of a dead dnsmasq and the clean-up of a removed network.
"""

from __future__ import annotations

import os
import shutil
import signal
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
from neutrino.agent.dhcp.process import read_pid
from neutrino.agent.linux import ip_lib
from neutrino.agent.ovs.bridge import close_ovsdb_api, ovsdb_api
from tests.fixtures import hosts
from tests.unit.agent.dhcp.fake_dhcp_server import FakeDhcpServer, port, subnet

pytestmark = [
    pytest.mark.functional,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces and OVS"),
    pytest.mark.skipif(not (shutil.which("dnsmasq") and shutil.which("busybox")
                            and shutil.which("dhcp_release")),
                       reason="needs dnsmasq, dhcp_release (dnsmasq-utils) and busybox"),
]

# udhcpc calls this with the lease in its environment; it records what a guest would set
UDHCPC_SCRIPT = """#!/bin/sh
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
for v in ip mask router dns mtu hostname domain staticroutes; do
    eval "echo $v=\\$$v"
done > "$OUT"
"""


@dataclass
class Rig:
    host: hosts.OvsHost
    server: FakeDhcpServer
    agent: DhcpAgent
    confs: Path
    cleanup: hosts.Cleanup

    def conf_dir(self, network_id: str) -> Path:
        return self.confs / network_id

    def lease(self, vm: hosts.Vm) -> dict[str, str]:
        """Run udhcpc once in the VM; the lease it got as key=value pairs."""
        out = Path(tempfile.mkdtemp(prefix="udhcpc-"))
        self.cleanup.add(shutil.rmtree, out, True)
        script = out / "script.sh"
        script.write_text(UDHCPC_SCRIPT)
        script.chmod(0o755)
        vm.exec("ip", "addr", "flush", "dev", "eth0")
        hosts.run(["env", f"OUT={out / 'lease'}", "busybox", "udhcpc", "-i", "eth0", "-n",
                   "-q", "-f", "-t", "8", "-T", "1", "-O", "mtu", "-O", "staticroutes",
                   "-s", str(script)], netns=vm.netns)
        return dict(line.split("=", 1) for line in (out / "lease").read_text().splitlines())


@pytest.fixture
def rig() -> Iterator[Rig]:
    with hosts.Cleanup() as cleanup:
        host = hosts.create_host(cleanup)
        host.add_bridge("br-int")
        confs = Path(tempfile.mkdtemp(prefix="neutrino-dhcp-"))
        confs.chmod(0o755)  # dnsmasq re-reads its files as nobody
        cleanup.add(shutil.rmtree, confs, True)
        api = ovsdb_api(host.db)
        cleanup.add(close_ovsdb_api, api)
        config = DhcpAgentConfig(host=f"h-{host.name}", confs_dir=confs / "dhcp",
                                 dnsmasq=Settings(), resync_interval=1.0,
                                 check_interval=0.2)
        server = FakeDhcpServer()
        devices = DhcpDevices(OvsInterfaceDriver(api, "br-int", ovs_namespace=host.netns),
                              config.confs_dir)
        agent = DhcpAgent(config, server, devices)
        # whatever the test leaves behind: dnsmasq processes and qdhcp namespaces
        cleanup.add(_remove_all, agent)
        cleanup.add(agent.stop)
        yield Rig(host, server, agent, config.confs_dir, cleanup)


def _remove_all(agent: DhcpAgent) -> None:
    for network_id in agent.devices.known_networks():
        agent.devices.remove(network_id, None)


def _network(rig: Rig) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    sub = subnet("10.10.0.0/24", dns_nameservers=["192.0.2.53"],
                 host_routes=[{"destination": "198.51.100.0/24", "nexthop": "10.10.0.254"}])
    network = rig.server.add_network([sub], mtu=1400)
    vm_port = port(network["id"], "fa:16:3e:10:00:05", [(sub["id"], "10.10.0.5")])
    network["ports"].append(vm_port)
    return network, sub, vm_port


def _vm(rig: Rig, vm_port: dict[str, Any]) -> hosts.Vm:
    return hosts.create_vm(rig.cleanup, rig.host, vm_port["id"], vm_port["mac_address"],
                           "192.0.2.250/32")


def test_vm_gets_its_address_routes_and_mtu(rig: Rig) -> None:
    network, sub, vm_port = _network(rig)
    vm = _vm(rig, vm_port)
    rig.agent.start(heartbeat=False)
    hosts.wait_for(lambda: vm_port["id"] in rig.server.ready, timeout=20,
                   what="dhcp_ready_on_ports for the VM port")

    namespace = f"qdhcp-{network['id']}"
    assert ip_lib.namespace_exists(namespace)
    dhcp_port = next(p for p in network["ports"] if p["device_owner"] == "network:dhcp")
    tap = "tap" + dhcp_port["id"][:11]
    assert rig.host.vsctl("get", "interface", tap, "external_ids:iface-id") \
        == f'"{dhcp_port["id"]}"'
    assert ip_lib.get_addresses(tap, namespace) == {f"{dhcp_port['fixed_ips'][0]['ip_address']}/24"}
    host_file = (rig.conf_dir(network["id"]) / "host").read_text()
    assert "fa:16:3e:10:00:05,host-10-10-0-5.openstacklocal,10.10.0.5\n" in host_file

    lease = rig.lease(vm)
    assert lease["ip"] == "10.10.0.5"
    assert lease["router"] == "10.10.0.1"
    assert lease["dns"] == "192.0.2.53"
    assert lease["mtu"] == "1400"
    assert lease["hostname"] == "host-10-10-0-5"
    # classless static routes: the host route, then the default route through the gateway
    assert lease["staticroutes"].split() == ["198.51.100.0/24", "10.10.0.254",
                                             "0.0.0.0/0", "10.10.0.1"]


def test_changes_reload_release_restart_and_remove(rig: Rig) -> None:
    network, sub, vm_port = _network(rig)
    vm = _vm(rig, vm_port)
    rig.agent.start(heartbeat=False)
    hosts.wait_for(lambda: vm_port["id"] in rig.server.ready, timeout=20, what="ready")
    conf_dir = rig.conf_dir(network["id"])
    assert rig.lease(vm)["ip"] == "10.10.0.5"
    pid = read_pid(conf_dir)

    # the port's address changes: reload (same dnsmasq), old lease released, new one served
    vm_port["fixed_ips"] = [{"subnet_id": sub["id"], "ip_address": "10.10.0.6"}]
    rig.agent.notify("port_changed", port=dict(vm_port))
    hosts.wait_for(lambda: "10.10.0.6" in (conf_dir / "host").read_text(), what="new host")
    hosts.wait_for(lambda: "10.10.0.5 " not in (conf_dir / "leases").read_text(),
                   what="the old lease released")
    assert read_pid(conf_dir) == pid
    assert rig.lease(vm)["ip"] == "10.10.0.6"

    # a dnsmasq that dies is started again
    os.kill(pid, signal.SIGKILL)
    hosts.wait_for(lambda: read_pid(conf_dir) not in (None, pid)
                   and rig.agent.devices.alive(network["id"]), timeout=10,
                   what="dnsmasq restarted")
    assert rig.lease(vm)["ip"] == "10.10.0.6"

    # the network goes: dnsmasq stopped, device and namespace gone, DHCP port released
    new_pid = read_pid(conf_dir)
    del rig.server.networks[network["id"]]
    rig.agent.notify("network_deleted", network_id=network["id"])
    hosts.wait_for(lambda: not ip_lib.namespace_exists(f"qdhcp-{network['id']}"),
                   what="namespace deleted")
    assert rig.server.released == [(network["id"], rig.agent.device_id(network["id"]))]
    assert not conf_dir.exists()
    assert new_pid is not None and not os.path.exists(f"/proc/{new_pid}/cmdline") \
        or "dnsmasq" not in Path(f"/proc/{new_pid}/cmdline").read_text()
    assert not [name for name in rig.host.vsctl("list-ports", "br-int").split()
                if name.startswith("tap") and name != vm.tap]


def test_applying_the_same_model_twice_changes_nothing(rig: Rig) -> None:
    network, _sub, vm_port = _network(rig)
    events: list[tuple[str, dict[str, Any]]] = []
    rig.agent.listeners.append(lambda event, payload: events.append((event, payload)))
    rig.agent.run_until_idle()
    conf_dir = rig.conf_dir(network["id"])
    stamps = {f: (conf_dir / f).stat().st_mtime_ns for f in ("host", "addn_hosts", "opts")}
    pid = read_pid(conf_dir)
    events.clear()

    rig.agent.resync("test")
    rig.agent.run_until_idle()
    rig.agent.notify("port_changed", port=dict(vm_port))
    rig.agent.run_until_idle()
    assert [e for e, _ in events if e == "network_applied"] == []
    assert {f: (conf_dir / f).stat().st_mtime_ns for f in stamps} == stamps
    assert read_pid(conf_dir) == pid
