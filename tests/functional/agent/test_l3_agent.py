"""The L3 agent on a namespaced OVS host with real namespaces, iptables, conntrack and arping.

The server is the in-process fake (``tests/unit/agent/l3/fake_l3_server``) serving
scripted ``sync_routers`` answers; br-int switches normally (no OVS agent), so internal
and external subnets share one L2 domain and what is tested is the L3 agent's own work:
the qrouter namespace, the qr-/qg- devices plugged like VIFs, addresses and routes, SNAT
and floating-IP NAT proven by UDP datagrams between a VM and an "outside" host, the
metadata redirect to the router's proxy (answered by a stand-in for the metadata agent on
its unix socket), conntrack flushed for a removed floating IP, a restart that changes
nothing that was right and the clean-up of a deleted or no longer hosted router.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import oslo_messaging
import pytest

from neutrino.agent.l3.agent import L3Agent
from neutrino.agent.l3.config import L3AgentConfig
from neutrino.agent.l3.devices import RouterDevices
from neutrino.agent.l3.interface import RouterInterfaceDriver
from neutrino.agent.l3.wiring import WiringWatcher, ovsdb_wait
from neutrino.agent.linux import ip_lib
from neutrino.agent.metadata.process import running_pid
from neutrino.agent.ovs.bridge import close_ovsdb_api, ovsdb_api
from neutrino.conf import make_conf
from neutrino.rpc import client as rpc_client
from neutrino.rpc import transport as rpc_transport
from tests.fixtures import hosts
from tests.fixtures.rabbit import rabbit_url  # noqa: F401 - a fixture
from tests.fixtures.servers import write_config
from tests.unit.agent.l3.fake_l3_server import (
    FakeL3Server,
    L3Callbacks,
    floating_ip,
    router,
    router_port,
    subnet,
)

pytestmark = [
    pytest.mark.functional,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces and OVS"),
    pytest.mark.skipif(not all(shutil.which(t) for t in ("iptables-restore", "conntrack",
                                                         "arping")),
                       reason="needs iptables, conntrack and arping (iputils-arping)"),
]

EXT = "203.0.113.0/24"
GATEWAY_IP = "203.0.113.2"
FIP = "203.0.113.10"
OUTSIDE_IP = "203.0.113.100"
# br-int has no OVS agent here: the tests tag ports with a local VLAN per network
TAG_A, TAG_B, TAG_EXT = 1, 2, 3
FETCH = ("import sys, urllib.request\n"
         "r = urllib.request.urlopen(sys.argv[1], timeout=5)\n"
         "print(r.status, r.read().decode(), sep='|')\n")


class _MetadataStandIn(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """The metadata agent's socket: answers with the headers the proxy added."""

    daemon_threads = True


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = (f"{self.headers.get('X-Neutron-Router-ID')} "
                f"{self.headers.get('X-Forwarded-For')}").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self) -> str:
        return "unix"

    def log_message(self, format: str, *args: Any) -> None:
        return None


@dataclass
class Rig:
    host: hosts.OvsHost
    server: FakeL3Server
    agent: L3Agent
    config: L3AgentConfig
    api: Any
    cleanup: hosts.Cleanup
    events: list[tuple[str, dict[str, Any]]]

    def new_agent(self) -> L3Agent:
        """A fresh agent on the same host and state (an agent restart)."""
        driver = RouterInterfaceDriver(self.api, "br-int", ovs_namespace=self.host.netns)
        devices = RouterDevices(driver, self.config.state_dir,
                                self.config.metadata_proxy_socket, arp_count=1,
                                wiring=WiringWatcher(ovsdb_wait(self.host.db), timeout=30),
                                notify=lambda event, payload: self.events.append(
                                    (event, payload)),
                                wired_grace=0.3)
        agent = L3Agent(self.config, self.server, devices)
        agent.listeners.append(lambda event, payload: self.events.append((event, payload)))
        self.cleanup.add(agent.stop)
        return agent


@pytest.fixture
def rig() -> Iterator[Rig]:
    with hosts.Cleanup() as cleanup:
        host = hosts.create_host(cleanup)
        host.add_bridge("br-int")
        state = Path(tempfile.mkdtemp(prefix="neutrino-l3-"))
        cleanup.add(shutil.rmtree, state, True)
        socket_path = state / "metadata_proxy"
        metadata = _MetadataStandIn(str(socket_path), _Echo)
        threading.Thread(target=metadata.serve_forever, daemon=True).start()
        cleanup.add(metadata.server_close)
        cleanup.add(metadata.shutdown)
        api = ovsdb_api(host.db)
        cleanup.add(close_ovsdb_api, api)
        config = L3AgentConfig(host=f"h-{host.name}", state_dir=state / "l3",
                               metadata_proxy_socket=socket_path, periodic_interval=1.0,
                               check_interval=0.2)
        rig = Rig(host, FakeL3Server(), None, config, api, cleanup, [])  # type: ignore[arg-type]
        cleanup.add(_remove_all, rig)
        rig.agent = rig.new_agent()
        yield rig


def _remove_all(rig: Rig) -> None:
    rig.agent.stop()
    for router_id in rig.agent.devices.known_routers():
        rig.agent.devices.remove(router_id)


@dataclass
class Topology:
    router: dict[str, Any]
    vm: hosts.Vm
    outside: hosts.Vm

    @property
    def namespace(self) -> str:
        return f"qrouter-{self.router['id']}"

    @property
    def qg(self) -> str:
        return "qg-" + self.router["gw_port"]["id"][:11]

    def qr(self, index: int) -> str:
        return "qr-" + self.router["_interfaces"][index]["id"][:11]


def _topology(rig: Rig) -> Topology:
    """A router with two interfaces (10.0.0.1/24, 10.1.0.1/24), a gateway on EXT and an
    extra route; a VM on the first subnet, an outside host on the external subnet."""
    ext, net_a, net_b = subnet(EXT), subnet("10.0.0.0/24"), subnet("10.1.0.0/24")
    gw = router_port(ext, GATEWAY_IP, owner="network:router_gateway", mtu=1500)
    body = router([router_port(net_a, "10.0.0.1", mtu=1400),
                   router_port(net_b, "10.1.0.1")], gw)
    body["routes"] = [{"destination": "10.9.0.0/24", "nexthop": "10.1.0.9"}]
    rig.server.add(body)
    vm = hosts.create_vm(rig.cleanup, rig.host, "vm-port", "fa:16:3e:aa:00:05",
                         "10.0.0.5/24")
    rig.host.vsctl("set", "port", vm.tap, f"tag={TAG_A}")
    vm.exec("ip", "route", "add", "default", "via", "10.0.0.1")
    vm.tx_offload_off()  # TCP and UDP through the userspace datapath need it (hosts.py)
    outside = hosts.create_vm(rig.cleanup, rig.host, "outside-port", "fa:16:3e:bb:00:64",
                              f"{OUTSIDE_IP}/24")
    rig.host.vsctl("set", "port", outside.tap, f"tag={TAG_EXT}")
    outside.tx_offload_off()
    return Topology(body, vm, outside)


def _wire(rig: Rig, topo: Topology) -> None:
    """Put the router's devices in their networks' local VLANs, as the OVS agent would."""
    for name, tag in ((topo.qr(0), TAG_A), (topo.qr(1), TAG_B), (topo.qg, TAG_EXT)):
        rig.host.vsctl("set", "port", name, f"tag={tag}")


def _iptables_save(namespace: str, counters: bool = False) -> str:
    out = hosts.run(["iptables-save", *(["-c"] if counters else [])], netns=namespace)
    return "\n".join(line for line in out.splitlines() if not line.startswith("#"))


def _ifindexes(namespace: str) -> dict[str, int]:
    out = hosts.run(["ip", "-o", "link", "show"], netns=namespace)
    return {m.group(2): int(m.group(1))
            for m in re.finditer(r"^(\d+): ([^:@]+)[:@]", out, re.M)}


def _conntrack(namespace: str, address: str) -> str:
    out = [hosts.run(["conntrack", "-L", option, address], netns=namespace, check=False)
           for option in ("-d", "-q")]
    return "".join(out)


def _udp(sender: hosts.Vm | hosts.Program, receiver: hosts.Vm,
         peers: dict[str, hosts.Program], address: str, payload: str) -> str:
    """Send ``payload`` from ``sender`` (its peer on port 5000, or that program) to
    ``address``:5000; the source address ``receiver`` saw."""
    program = sender if isinstance(sender, hosts.Program) else peers[sender.netns]
    program.send_line(f"{address} 5000 {payload}")
    line = next((lx for lx in _wait_lines(peers[receiver.netns], payload)), "")
    return line.split()[0]


def _wait_lines(peer: hosts.Program, payload: str) -> list[str]:
    hosts.wait_for(lambda: any(line.endswith(f" {payload}") for line in peer.lines),
                   timeout=10, interval=0.05, what=f"datagram {payload!r}: {peer.lines[-3:]}")
    return [line for line in peer.lines if line.endswith(f" {payload}")]


def _peers(rig: Rig, topo: Topology) -> dict[str, hosts.Program]:
    peers = {}
    for vm in (topo.vm, topo.outside):
        peers[vm.netns] = vm.program(rig.cleanup, "udp-peer", "5000")
        peers[vm.netns].wait_line("ready")
    return peers


def _fetch_metadata(vm: hosts.Vm) -> str:
    out = subprocess.run(["ip", "netns", "exec", vm.netns, sys.executable, "-c", FETCH,
                          "http://169.254.169.254/latest/meta-data/instance-id"],
                         capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _applied(rig: Rig, router_id: str) -> bool:
    return any(e == "router_applied" and p["router_id"] == router_id for e, p in rig.events)


def test_router_namespace_devices_routes_nat_and_metadata(rig: Rig) -> None:
    topo = _topology(rig)
    rig.agent.start(heartbeat=False)
    ns = topo.namespace
    hosts.wait_for(lambda: _applied(rig, topo.router["id"]), timeout=30,
                   what="the router applied")
    _wire(rig, topo)

    # devices: OVS internal ports on br-int, plugged like VIFs, moved into the namespace
    gw = topo.router["gw_port"]
    assert rig.host.vsctl("get", "interface", topo.qg, "external_ids:iface-id") \
        == f'"{gw["id"]}"'
    assert rig.host.vsctl("get", "interface", topo.qg, "external_ids:attached-mac") \
        == f'"{gw["mac_address"]}"'
    assert rig.host.vsctl("get", "interface", topo.qr(0), "type") == "internal"
    link = hosts.run(["ip", "-o", "link", "show", topo.qr(0)], netns=ns)
    assert "mtu 1400" in link and topo.router["_interfaces"][0]["mac_address"] in link
    assert ip_lib.get_addresses(topo.qr(0), ns) == {"10.0.0.1/24"}
    assert ip_lib.get_addresses(topo.qr(1), ns) == {"10.1.0.1/24"}
    assert ip_lib.get_addresses(topo.qg, ns) == {f"{GATEWAY_IP}/24"}
    routes = hosts.run(["ip", "route"], netns=ns)
    assert f"default via 203.0.113.1 dev {topo.qg}" in routes
    assert f"10.9.0.0/24 via 10.1.0.9 dev {topo.qr(1)}" in routes
    assert hosts.run(["sysctl", "-n", "net.ipv4.ip_forward"], netns=ns).strip() == "1"

    # NAT as Neutron's agent writes it
    saved = _iptables_save(ns)
    for rule in (f"-A neutron-l3-agent-snat -o {topo.qg} -j SNAT --to-source {GATEWAY_IP}",
                 f"-A neutron-l3-agent-POSTROUTING ! -o {topo.qg} -m conntrack ! --ctstate "
                 "DNAT -j ACCEPT",
                 "-A neutron-l3-agent-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp "
                 "--dport 80 -j REDIRECT --to-ports 9697",
                 f"-A neutron-l3-agent-mark -i {topo.qg} -j MARK --set-xmark 0x2/0xffff",
                 "-A POSTROUTING -j neutron-postrouting-bottom"):
        assert rule in saved

    # SNAT: the VM is seen outside as the router's gateway address
    peers = _peers(rig, topo)
    assert _udp(topo.vm, topo.outside, peers, OUTSIDE_IP, "snat-1") == GATEWAY_IP

    # the metadata redirect reaches the router's proxy, which names the router
    pid_file = rig.config.state_dir / topo.router["id"] / "metadata_proxy.pid"
    assert running_pid(pid_file) is not None
    assert _fetch_metadata(topo.vm) == f"200|{topo.router['id']} 10.0.0.5"

    # a floating IP: DNAT in, SNAT out, a /32 on qg-, reported ACTIVE, announced by
    # gratuitous ARP (the outside host learns it before sending anything to it)
    hosts.run(["sysctl", "-qw", "net.ipv4.conf.eth0.arp_accept=1"], netns=topo.outside.netns)
    fip = floating_ip(topo.router, FIP, "10.0.0.5")
    rig.agent.notify("routers_changed", router_ids=[topo.router["id"]])
    hosts.wait_for(lambda: rig.server.statuses.get(fip["id"]) == "ACTIVE",
                   what="the floating IP reported ACTIVE")
    hosts.wait_for(lambda: topo.outside.neighbour(FIP) == gw["mac_address"],
                   what="the gratuitous ARP for the floating IP")
    assert f"{FIP}/32" in ip_lib.get_addresses(topo.qg, ns)
    saved = _iptables_save(ns)
    assert f"-A neutron-l3-agent-PREROUTING -d {FIP}/32 -j DNAT --to-destination " \
        "10.0.0.5" in saved
    assert f"-A neutron-l3-agent-OUTPUT -d {FIP}/32 -j DNAT --to-destination " \
        "10.0.0.5" in saved
    assert f"-A neutron-l3-agent-float-snat -s 10.0.0.5/32 -j SNAT --to-source {FIP}" \
        in saved
    assert _udp(topo.outside, topo.vm, peers, FIP, "dnat-1") == OUTSIDE_IP
    # a flow the VM starts now (a new source port: port 5000's flow keeps its SNAT)
    flow = topo.vm.program(rig.cleanup, "udp-peer", "5001")
    flow.wait_line("ready")
    assert _udp(flow, topo.outside, peers, OUTSIDE_IP, "fip-out-1") == FIP
    assert FIP in _conntrack(ns, FIP)

    # disassociated: rules and address gone, the floating IP's connections forgotten
    topo.router["_floatingips"].clear()
    rig.agent.notify("routers_changed", router_ids=[topo.router["id"]])
    hosts.wait_for(lambda: f"{FIP}/32" not in ip_lib.get_addresses(topo.qg, ns),
                   what="the floating IP's address removed")
    hosts.wait_for(lambda: FIP not in _iptables_save(ns), what="the floating IP's rules")
    assert FIP not in _conntrack(ns, FIP)
    # the same flow now leaves by the gateway address: its old translation was deleted
    assert _udp(flow, topo.outside, peers, OUTSIDE_IP, "fip-out-2") == GATEWAY_IP

    # the router is deleted: namespace, devices and proxy go
    proxy_pid = running_pid(pid_file)
    del rig.server.routers[topo.router["id"]]
    rig.agent.notify("router_gone", router_id=topo.router["id"])
    hosts.wait_for(lambda: not ip_lib.namespace_exists(ns), what="the namespace deleted")
    ports = rig.host.vsctl("list-ports", "br-int").split()
    assert not [p for p in ports if p.startswith(("qr-", "qg-"))]
    assert proxy_pid is not None and not _process_alive(proxy_pid)
    assert not (rig.config.state_dir / topo.router["id"]).exists()


def test_restart_changes_nothing_that_is_right(rig: Rig) -> None:
    topo = _topology(rig)
    fip = floating_ip(topo.router, FIP, "10.0.0.5")
    gone = rig.server.add(router([router_port(subnet("10.7.0.0/24"), "10.7.0.1")]))
    rig.agent.start(heartbeat=False)
    hosts.wait_for(lambda: rig.server.statuses.get(fip["id"]) == "ACTIVE"
                   and _applied(rig, gone["id"]), timeout=30, what="both routers applied")
    _wire(rig, topo)
    ns = topo.namespace
    peers = _peers(rig, topo)
    assert _udp(topo.outside, topo.vm, peers, FIP, "before") == OUTSIDE_IP
    pid_file = rig.config.state_dir / topo.router["id"] / "metadata_proxy.pid"
    before = (_ifindexes(ns), _iptables_save(ns, counters=True),
              ip_lib.get_addresses(topo.qg, ns), running_pid(pid_file))
    assert "[0:0] -A neutron-l3-agent-PREROUTING -d 203.0.113.10/32" not in before[1]

    # the agent stops; meanwhile the second router is unscheduled from this host
    rig.agent.stop()
    del rig.server.routers[gone["id"]]
    rig.events.clear()
    rig.agent = rig.new_agent()
    rig.agent.start(heartbeat=False)
    hosts.wait_for(lambda: not ip_lib.namespace_exists(f"qrouter-{gone['id']}"),
                   timeout=30, what="the unhosted router's namespace removed")
    hosts.wait_for(lambda: _applied(rig, topo.router["id"]), what="the router re-applied")

    outcome = next(p["outcome"] for e, p in rig.events
                   if e == "router_applied" and p["router_id"] == topo.router["id"])
    assert not outcome.changed, outcome
    after = (_ifindexes(ns), _iptables_save(ns, counters=True),
             ip_lib.get_addresses(topo.qg, ns), running_pid(pid_file))
    assert after == before
    # and the floating IP still carries traffic
    assert _udp(topo.outside, topo.vm, peers, FIP, "after") == OUTSIDE_IP
    assert not [p for p in rig.host.vsctl("list-ports", "br-int").split()
                if p == "qr-" + gone["_interfaces"][0]["id"][:11]]


def test_applying_the_same_router_twice_changes_nothing(rig: Rig) -> None:
    topo = _topology(rig)
    floating_ip(topo.router, FIP, "10.0.0.5")
    rig.agent.run_until_idle()
    ns = topo.namespace
    saved = _iptables_save(ns, counters=True)
    rig.events.clear()

    rig.agent.resync("test")
    rig.agent.run_until_idle()
    rig.agent.notify("routers_changed", router_ids=[topo.router["id"]])
    rig.agent.run_until_idle()
    assert [e for e, _ in rig.events if e == "router_applied"] == []
    assert _iptables_save(ns, counters=True) == saved

    # what the host lost is put back (here: a rule flushed behind the agent's back)
    hosts.run(["iptables", "-t", "nat", "-F", "neutron-l3-agent-float-snat"], netns=ns)
    with contextlib.suppress(KeyError):
        rig.agent.applied.pop(topo.router["id"])
    rig.agent.notify("routers_changed", router_ids=[topo.router["id"]])
    rig.agent.run_until_idle()
    outcome = next(p["outcome"] for e, p in rig.events if e == "router_applied")
    assert outcome.tables_written == ["nat"]
    assert f"-s 10.0.0.5/32 -j SNAT --to-source {FIP}" in _iptables_save(ns)


def test_a_namespace_deleted_behind_the_agents_back_is_rebuilt(rig: Rig) -> None:
    topo = _topology(rig)
    rig.agent.start(heartbeat=False)
    hosts.wait_for(lambda: _applied(rig, topo.router["id"]), timeout=30,
                   what="the router applied")
    rig.events.clear()
    hosts.run(["ip", "netns", "del", topo.namespace])
    hosts.wait_for(lambda: _applied(rig, topo.router["id"]), timeout=30,
                   what="the router applied again")
    outcome = next(p["outcome"] for e, p in rig.events if e == "router_applied")
    assert outcome.namespace_created and len(outcome.plugged) == 3
    _wire(rig, topo)  # the ports are new: the OVS agent would tag them again
    assert ip_lib.get_addresses(topo.qg, topo.namespace) == {f"{GATEWAY_IP}/24"}
    peers = _peers(rig, topo)
    assert _udp(topo.vm, topo.outside, peers, OUTSIDE_IP, "snat-again") == GATEWAY_IP
    assert _fetch_metadata(topo.vm) == f"200|{topo.router['id']} 10.0.0.5"


def _wired(rig: Rig, device: str) -> list[dict[str, Any]]:
    return [p for e, p in list(rig.events) if e == "device_wired" and p["device"] == device]


def _retrans_ms(namespace: str, device: str) -> str:
    return hosts.run(["sysctl", "-n", f"net.ipv4.neigh.{device}.retrans_time_ms"],
                     netns=namespace).strip()


def test_new_devices_are_announced_once_their_port_is_tagged(rig: Rig) -> None:
    """A new qr-/qg- device is announced (gratuitous ARP) when the OVS agent has tagged its
    port, not before; what the router failed to resolve meanwhile is forgotten, and its
    short ARP retransmission interval goes back to the default afterwards."""
    topo = _topology(rig)
    ns, qr, qg = topo.namespace, topo.qr(0), topo.qg
    stale = "02:00:00:00:00:01"  # the MAC of the router's previous interface, say
    topo.vm.exec("ip", "neigh", "replace", "10.0.0.1", "lladdr", stale, "dev", "eth0",
                 "nud", "stale")
    topo.outside.exec("ip", "neigh", "replace", GATEWAY_IP, "lladdr", stale, "dev",
                      "eth0", "nud", "stale")
    rig.agent.start(heartbeat=False)
    hosts.wait_for(lambda: _applied(rig, topo.router["id"]), timeout=30,
                   what="the router applied")
    assert _retrans_ms(ns, qr) == "100" and _retrans_ms(ns, qg) == "100"
    # the router tries to reach the VM through its unwired port: nothing answers
    assert not hosts.run(["ping", "-c", "1", "-W", "1", "10.0.0.5"], netns=ns,
                         check=False).count(" 0% packet loss")
    with pytest.raises(TimeoutError):  # untagged ports: nothing is announced
        hosts.wait_for(lambda: any(e == "device_wired" for e, _ in rig.events),
                       timeout=1.0, interval=0.05, what="no announcement")
    assert topo.vm.neighbour("10.0.0.1") == stale

    rig.host.vsctl("set", "port", qr, f"tag={TAG_A}")  # the OVS agent binds the port
    hosts.wait_for(lambda: _wired(rig, qr), timeout=10, interval=0.02, what=f"{qr} wired")
    (event,) = _wired(rig, qr)
    assert event["wired"] and event["announced"] == ["10.0.0.1"]
    assert "10.0.0.5" in event["flushed"]  # the failed resolution, forgotten
    qr_mac = topo.router["_interfaces"][0]["mac_address"]
    hosts.wait_for(lambda: topo.vm.neighbour("10.0.0.1") == qr_mac, timeout=10,
                   interval=0.05, what="the VM's ARP cache corrected")
    assert not _wired(rig, qg) and topo.outside.neighbour(GATEWAY_IP) == stale
    assert hosts.run(["ping", "-c", "1", "-W", "2", "10.0.0.5"], netns=ns).count(
        " 0% packet loss")

    rig.host.vsctl("set", "port", qg, f"tag={TAG_EXT}")
    hosts.wait_for(lambda: _wired(rig, qg), timeout=10, interval=0.02, what=f"{qg} wired")
    assert _wired(rig, qg)[0]["announced"] == [GATEWAY_IP]
    hosts.wait_for(lambda: topo.outside.neighbour(GATEWAY_IP)
                   == topo.router["gw_port"]["mac_address"], timeout=10, interval=0.05,
                   what="the outside host's ARP cache corrected")
    hosts.wait_for(lambda: _retrans_ms(ns, qr) == "1000", timeout=10, interval=0.05,
                   what="the default ARP retransmission back")
    assert not _wired(rig, topo.qr(1))  # never tagged: never announced

    # an agent restart plugs nothing anew, so it announces nothing again
    rig.agent.stop()
    rig.events.clear()
    rig.agent = rig.new_agent()
    rig.agent.start(heartbeat=False)
    hosts.wait_for(lambda: topo.router["id"] in rig.agent.applied, timeout=30,
                   what="the restarted agent's round")
    assert not [e for e, _ in rig.events if e == "device_wired"]
    assert _retrans_ms(ns, qr) == "1000"


def test_port_forwarding_forwards_only_its_port(rig: Rig) -> None:
    topo = _topology(rig)
    pf_fip = "203.0.113.20"
    topo.router["_port_forwardings"] = [{
        "id": "pf-1", "floatingip_id": "fip-pf", "floating_ip_address": pf_fip,
        "internal_ip_address": "10.0.0.5", "internal_port": 5001, "external_port": 6000,
        "protocol": "udp", "internal_port_id": "vm-port"}]
    rig.agent.start(heartbeat=False)
    hosts.wait_for(lambda: _applied(rig, topo.router["id"]), timeout=30,
                   what="the router applied")
    _wire(rig, topo)
    assert f"{pf_fip}/32" in ip_lib.get_addresses(topo.qg, topo.namespace)
    peers = _peers(rig, topo)
    served = topo.vm.program(rig.cleanup, "udp-peer", "5001")
    served.wait_line("ready")

    peers[topo.outside.netns].send_line(f"{pf_fip} 5001 not-forwarded")
    peers[topo.outside.netns].send_line(f"{pf_fip} 6000 forwarded")
    _wait_lines(served, "forwarded")
    assert [line.split()[0] for line in served.lines if line.endswith(" forwarded")] == \
        [OUTSIDE_IP]
    assert not [line for line in served.lines + peers[topo.vm.netns].lines
                if line.endswith("not-forwarded")]

    # the forwarding removed: the port is closed again
    topo.router["_port_forwardings"] = []
    rig.agent.notify("routers_changed", router_ids=[topo.router["id"]])
    hosts.wait_for(lambda: pf_fip not in _iptables_save(topo.namespace),
                   what="the forwarding's rule removed")
    assert f"{pf_fip}/32" not in ip_lib.get_addresses(topo.qg, topo.namespace)


class _Reports:
    """The server's ``q-reports-plugin`` endpoint: keeps the heartbeats."""

    target = oslo_messaging.Target(version="1.4")

    def __init__(self) -> None:
        self.states: list[dict[str, Any]] = []

    def report_state(self, context: Any, agent_state: dict[str, Any], time: str) -> str:
        self.states.append(agent_state["agent_state"])
        return "alive" if len(self.states) > 1 else "new"


def test_console_script_over_rabbitmq(rabbit_url: str,  # noqa: F811 - the fixture
                                      tmp_path: Path) -> None:
    """``neutrino-l3-agent --config-file neutron.conf --config-file l3_agent.ini`` in a host
    namespace, against a scripted server on a private RabbitMQ virtual host."""
    fake, reports = FakeL3Server(), _Reports()
    first = fake.add(router([router_port(subnet("10.50.0.0/24"), "10.50.0.1")]))
    with hosts.Cleanup() as cleanup:
        host = hosts.create_host(cleanup)
        host.add_bridge("br-int")
        hosts.start_relay(cleanup, host.netns)  # the broker, seen from inside the host
        transport = rpc_transport.make_transport(make_conf([]), rabbit_url)
        cleanup.add(rpc_transport.cleanup, transport)
        servers = [oslo_messaging.get_rpc_server(
            transport, oslo_messaging.Target(topic=topic, server="server-1"), [endpoint],
            executor="threading") for topic, endpoint in (("q-l3-plugin", L3Callbacks(fake)),
                                                          ("q-reports-plugin", reports))]
        for server in servers:
            server.start()
        cleanup.add(rpc_client.stop_servers, servers)
        neutron_conf = write_config(tmp_path / "neutron.conf", {"DEFAULT": {
            "host": "net1", "state_path": str(tmp_path), "transport_url": rabbit_url,
            "rpc_response_timeout": 10}})
        l3_ini = tmp_path / "l3_agent.ini"
        l3_ini.write_text("[DEFAULT]\ninterface_driver = openvswitch\nagent_mode = legacy\n"
                          "enable_metadata_proxy = false\nha_vrrp_advert_int = 2\n"
                          f"[AGENT]\nreport_interval = 1\navailability_zone = az9\n"
                          f"[ovs]\novsdb_connection = {host.db}\n")
        cleanup.add(lambda: [hosts.run(["ip", "netns", "del", f"qrouter-{r}"], check=False)
                             for r in list(fake.routers) + [first["id"]]
                             if ip_lib.namespace_exists(f"qrouter-{r}")])
        log = open(tmp_path / "l3-agent.log", "wb")  # noqa: SIM115 - closed on clean-up
        cleanup.add(log.close)
        # nsenter switches the network namespace only (``ip netns exec`` would give the
        # agent a mount namespace of its own, and its qrouter namespaces with it)
        proc = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{host.netns}", "--",
             str(Path(sys.executable).with_name("neutrino-l3-agent")),
             "--config-file", str(neutron_conf), "--config-file", str(l3_ini)],
            stdout=log, stderr=subprocess.STDOUT)
        cleanup.add(_stop_process, proc)
        ns = f"qrouter-{first['id']}"
        qr = "qr-" + first["_interfaces"][0]["id"][:11]
        try:
            hosts.wait_for(lambda: any(s["configurations"]["routers"] == 1
                                       for s in reports.states), timeout=60,
                           what="a heartbeat with the router")
        except TimeoutError:
            pytest.fail((tmp_path / "l3-agent.log").read_text(errors="replace")[-3000:])
        state = reports.states[-1]
        assert (state["agent_type"], state["binary"], state["topic"], state["host"],
                state["availability_zone"]) == ("L3 agent", "neutron-l3-agent", "l3_agent",
                                                "net1", "az9")
        assert ip_lib.get_addresses(qr, ns) == {"10.50.0.1/24"}
        assert "ha_vrrp_advert_int is accepted but not implemented" in \
            (tmp_path / "l3-agent.log").read_text()

        # a cast to l3_agent.net1: the second router is fetched and set up at once
        second = fake.add(router([router_port(subnet("10.60.0.0/24"), "10.60.0.1")]))
        caster = oslo_messaging.get_rpc_client(transport, oslo_messaging.Target(
            topic="l3_agent", version="1.0")).prepare(server="net1")
        caster.cast({}, "router_added_to_agent", payload=[second["id"]])
        hosts.wait_for(lambda: ip_lib.namespace_exists(f"qrouter-{second['id']}"),
                       timeout=20, what="the second router's namespace")
        del fake.routers[first["id"]]
        caster.cast({}, "router_deleted", router_id=first["id"])
        hosts.wait_for(lambda: not ip_lib.namespace_exists(ns), timeout=20,
                       what="the deleted router's namespace removed")

        # SIGTERM: the agent exits, its router stays as it is; started again, it changes
        # nothing of it (same namespace, same devices, same rules with their counters)
        proc.terminate()
        assert proc.wait(30) == 0
        ns = f"qrouter-{second['id']}"
        before = (os.stat(f"/run/netns/{ns}").st_ino, _ifindexes(ns),
                  _iptables_save(ns, counters=True))
        reports.states.clear()
        proc = subprocess.Popen(proc.args, stdout=log, stderr=subprocess.STDOUT)
        cleanup.add(_stop_process, proc)
        hosts.wait_for(lambda: any(s.get("start_flag") for s in reports.states)
                       and reports.states[-1]["configurations"]["routers"] == 1
                       and not reports.states[-1].get("start_flag"), timeout=60,
                       what="the restarted agent's heartbeats")
        assert (os.stat(f"/run/netns/{ns}").st_ino, _ifindexes(ns),
                _iptables_save(ns, counters=True)) == before


def _stop_process(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _process_alive(pid: int) -> bool:
    try:
        return b"metadata.proxy" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def test_all_in_one_runs_the_l3_agent(tmp_path: Path) -> None:
    """``neutrino run`` with the router plugin hosts routers itself: the L3 agent reports
    and a router interface added through the API gets its qrouter namespace."""
    from tests.functional.agent import test_all_in_one_dhcp as aio

    with hosts.Cleanup() as cleanup:
        host = hosts.create_host(cleanup)
        aio._management_link(cleanup, host)
        config = aio._config(tmp_path, host)
        config.write_text(config.read_text().replace(
            "[DEFAULT]\n", "[DEFAULT]\nservice_plugins = router\n", 1))
        router_ids: list[str] = []
        # the command enters the host's network namespace only (``hosts.add_netns``): its
        # qrouter namespaces are this machine's, deleted after the process and its
        # metadata proxies (stopped first: LIFO)
        cleanup.add(lambda: [hosts.run(["ip", "netns", "del", f"qrouter-{r}"], check=False)
                             for r in router_ids])
        cleanup.add(lambda: [hosts.run(["pkill", "-F", str(p)], check=False)
                             for p in tmp_path.glob("l3/*/*.pid")])
        log = open(tmp_path / "neutrino.log", "wb")  # noqa: SIM115 - closed on clean-up
        cleanup.add(log.close)
        proc = subprocess.Popen(
            ["nsenter", f"--net={hosts.NETNS_DIR}/{host.netns}", "--", sys.executable,
             "-m", "neutrino.cmd.neutrino", "run", "--config-file", str(config)],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **host.env})
        cleanup.add(_stop_process, proc)
        http = httpx.Client(base_url=aio.API, timeout=10)
        cleanup.add(http.close)
        try:
            hosts.wait_for(lambda: aio._answers(http), timeout=30, what="the API")
            hosts.wait_for(lambda: "L3 agent" in aio._alive_agents(http), timeout=30,
                           what="the L3 agent's report")
        except TimeoutError:
            pytest.fail((tmp_path / "neutrino.log").read_text(errors="replace")[-3000:])
        net = http.post("/v2.0/networks", json={"network": {"name": "n"}}).json()["network"]
        sub = http.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": "10.40.0.0/24", "ip_version": 4,
            "enable_dhcp": False}}).json()  # no qdhcp namespace: only the router's
        rtr = http.post("/v2.0/routers", json={"router": {"name": "r"}}).json()["router"]
        router_ids.append(rtr["id"])
        added = http.put(f"/v2.0/routers/{rtr['id']}/add_router_interface",
                         json={"subnet_id": sub["subnet"]["id"]})
        assert added.status_code == 200, added.text
        qr = "qr-" + added.json()["port_id"][:11]
        ns = f"qrouter-{rtr['id']}"

        def addresses() -> str:
            return hosts.run(["ip", "-n", ns, "-o", "addr", "show", "dev", qr], check=False)

        hosts.wait_for(lambda: "10.40.0.1/24" in addresses(), timeout=30,
                       what="the router's namespace and interface")
