"""The security-group flows on a real ovs-vswitchd: what packets do (ofproto/trace, ping).

Four VMs on one network (local VLAN 1): ``a`` and ``b`` in group ``web`` (ICMP from
members of ``web``; ``b`` also in ``ssh``: TCP 22 from anywhere), ``c`` in ``closed``
(egress only), ``d`` with port security off. ``compute_flows`` is installed through the
bridge adapter exactly as the agent does it.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from neutrino.agent.ovs import firewall as fw
from neutrino.agent.ovs import flows
from neutrino.agent.ovs import pipeline as p
from neutrino.agent.ovs.bridge import OvsBridge, close_ovsdb_api, ovsdb_api
from neutrino.agent.ovs.state import AgentState, LocalPort, LocalVlan
from tests.fixtures import hosts

pytestmark = [
    pytest.mark.functional,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces and OVS"),
]
COOKIE = 0x5EED
LVID = 1
NEW, EST, REPLY = "trk,new", "trk,est", "trk,est,rpl"


def _rule(direction: str, protocol: str | None = None, port: int | None = None,
          remote: str | None = None) -> dict[str, Any]:
    return {"id": f"{direction}-{protocol}-{port}-{remote}", "direction": direction,
            "ethertype": "IPv4", "protocol": protocol, "port_range_min": port,
            "port_range_max": port, "remote_ip_prefix": None, "remote_group_id": remote}


SSH = _rule("ingress", "tcp", 22)
INFO = {
    "devices": {"port-a": {"security_groups": ["web"], "port_security_enabled": True},
                "port-b": {"security_groups": ["web", "ssh"], "port_security_enabled": True},
                "port-c": {"security_groups": ["closed"], "port_security_enabled": True}},
    "security_groups": {
        "web": {"stateful": True, "rules": [_rule("egress"), _rule("ingress", "icmp",
                                                                    remote="web")]},
        "ssh": {"stateful": True, "rules": [SSH]},
        "closed": {"stateful": True, "rules": [_rule("egress")]}},
    "sg_member_ips": {"web": {"IPv4": ["10.0.0.1", "10.0.0.2"], "IPv6": []}},
}
VMS = {"a": ("fa:16:3e:00:00:0a", "10.0.0.1"), "b": ("fa:16:3e:00:00:0b", "10.0.0.2"),
       "c": ("fa:16:3e:00:00:0c", "10.0.0.3"), "d": ("fa:16:3e:00:00:0d", "10.0.0.4")}


@dataclass
class Rig:
    host: hosts.OvsHost
    bridge: OvsBridge
    vms: dict[str, hosts.Vm]
    state: AgentState

    def install(self, state: AgentState) -> None:
        self.state = state
        self.bridge.sync_flows(flows.compute_flows(state)["br-int"], COOKIE)

    def dp_port(self, vm: str) -> str:
        """The datapath port number of a VM's tap (what "Datapath actions" print)."""
        tap = self.vms[vm].tap
        match = re.search(rf"\b{tap} \d+/(\d+)", self.host.appctl("dpif/show"))
        assert match, tap
        return match.group(1)

    def trace(self, src: str, dst: str, proto: str, *ct_next: str, **fields: Any) -> str:
        (smac, sip), (dmac, dip) = VMS[src], VMS[dst]
        ofport = hosts.ofport(self.host, self.vms[src].tap)
        flow = ",".join([proto, f"in_port={ofport}", f"dl_src={smac}", f"dl_dst={dmac}",
                         f"nw_src={sip}", f"nw_dst={dip}",
                         *(f"{k}={v}" for k, v in fields.items())])
        args = [arg for flags in ct_next for arg in ("--ct-next", flags)]
        return self.host.appctl("ofproto/trace", "br-int", flow, *args)

    def delivered(self, trace: str, vm: str) -> bool:
        """True when the packet's last datapath actions output it to ``vm``."""
        final = trace.strip().splitlines()[-1]
        assert final.startswith("Datapath actions:"), final
        outputs = re.split(r",(?![^(]*\))", final.split(":", 1)[1].strip())
        return self.dp_port(vm) in outputs


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with hosts.Cleanup() as cleanup:
        host = hosts.create_host(cleanup, tmp_path)
        api = ovsdb_api(host.db)
        cleanup.add(close_ovsdb_api, api)
        bridge = OvsBridge("br-int", api, p.BR_INT, datapath_type="netdev",
                           rundir=str(host.rundir))
        bridge.ensure()
        vms = {name: hosts.create_vm(cleanup, host, f"port-{name}", mac, f"{ip}/24")
               for name, (mac, ip) in VMS.items()}
        ports = []
        for name, vm in vms.items():
            host.vsctl("set", "port", vm.tap, f"tag={LVID}")
            ports.append(LocalPort(vm.port_id, hosts.ofport(host, vm.tap), vm.mac, LVID,
                                   (vm.ip,), port_security_enabled=name != "d"))
        state = AgentState(cookie=COOKIE,
                           local_vlans={"net": LocalVlan("net", "vxlan", LVID, 100)},
                           ports=tuple(ports), firewall=fw.firewall_state(INFO))
        rig = Rig(host, bridge, vms, state)
        rig.install(state)
        yield rig


def _without_ssh(state: AgentState) -> AgentState:
    assert state.firewall is not None
    info = {"security_groups": {"ssh": {"stateful": True, "rules": []}}}
    return dataclasses.replace(state, firewall=fw.merge_info(state.firewall, info))


def test_flows_read_back_identical_and_resync_is_noop(rig: Rig) -> None:
    desired = flows.compute_flows(rig.state)["br-int"]
    assert rig.bridge.dump_flows(cookie=COOKIE) == desired
    rig.bridge.forget_flows()
    assert rig.bridge.sync_flows(desired, COOKIE).empty


def test_same_group_icmp_allowed_through_remote_group_conjunction(rig: Rig) -> None:
    trace = rig.trace("a", "b", "icmp", NEW, NEW, icmp_type=8)
    assert rig.delivered(trace, "b")
    assert re.search(r"82\. conj_id=\d+,ip", trace)  # accepted by the conjunction
    assert "ct(commit,zone=1)" in trace  # the new connection is committed
    # c is not a member of web: the same ICMP from it is refused
    assert not rig.delivered(rig.trace("c", "b", "icmp", NEW, NEW, icmp_type=8), "b")


def test_tcp_rule_allows_its_port_only(rig: Rig) -> None:
    assert rig.delivered(rig.trace("c", "b", "tcp", NEW, NEW, tp_dst=22), "b")
    assert not rig.delivered(rig.trace("c", "b", "tcp", NEW, NEW, tp_dst=23), "b")
    assert not rig.delivered(rig.trace("c", "a", "tcp", NEW, NEW, tp_dst=22), "a")


def test_group_without_ingress_rules_gets_replies_but_no_new_connections(rig: Rig) -> None:
    assert not rig.delivered(rig.trace("a", "c", "tcp", NEW, NEW, tp_dst=80), "c")
    # c's own connection to a: its replies (+est+rpl) come back in
    reply = rig.trace("a", "c", "tcp", REPLY, REPLY, tp_src=80, tp_dst=40000)
    assert rig.delivered(reply, "c")
    # and really, with packets: c reaches d, a cannot reach c
    assert rig.vms["c"].ping(VMS["d"][1], count=2)
    assert not rig.vms["a"].ping(VMS["c"][1], count=1)


def test_dhcp_server_reply_from_a_vm_is_dropped(rig: Rig) -> None:
    trace = rig.trace("a", "b", "udp", NEW, NEW, udp_src=67, udp_dst=68)
    assert "71. udp,reg5=" in trace and "goto_table:93" in trace
    assert trace.strip().endswith("Datapath actions: drop")


def test_port_security_off_passes_everything(rig: Rig) -> None:
    for src in ("a", "c"):
        assert rig.delivered(rig.trace(src, "d", "tcp", NEW, tp_dst=4444), "d")
    assert rig.delivered(rig.trace("d", "a", "icmp", NEW, icmp_type=8), "a") is False
    assert rig.vms["d"].ping(VMS["c"][1], count=1) is False  # c still filters its ingress
    assert rig.vms["c"].ping(VMS["d"][1], count=1)


def test_removed_rule_cuts_established_connection(rig: Rig) -> None:
    established = rig.trace("c", "b", "tcp", EST, EST, tp_dst=22)
    assert rig.delivered(established, "b")
    rig.install(_without_ssh(rig.state))
    cut = rig.trace("c", "b", "tcp", EST, EST, tp_dst=22)
    assert not rig.delivered(cut, "b")
    # the connection is marked so its replies stop too
    assert "exec(set_field:0x1->ct_mark)" in cut
    assert re.search(r"ct\(commit,zone=1,mark=0x1/0x[0-9a-f]+\)", cut)
    rig.install(dataclasses.replace(rig.state, firewall=fw.firewall_state(INFO)))
    assert rig.delivered(rig.trace("c", "b", "tcp", EST, EST, tp_dst=22), "b")


def test_real_ping_between_group_members(rig: Rig) -> None:
    assert rig.vms["a"].ping(VMS["b"][1], count=2)
    assert rig.vms["b"].ping(VMS["a"][1], count=2)
    conntrack = rig.host.appctl("dpctl/dump-conntrack")
    assert "icmp" in conntrack and "zone=1" in conntrack


def test_permitted_ethertypes_pass_only_when_configured(rig: Rig) -> None:
    """``[securitygroup] permitted_ethertypes = 0x4008``: such frames pass both ways."""
    (smac, _), (dmac, _) = VMS["a"], VMS["b"]
    frame = ",".join([f"in_port={hosts.ofport(rig.host, rig.vms['a'].tap)}",
                      f"dl_src={smac}", f"dl_dst={dmac}", "dl_type=0x4008"])
    assert not rig.delivered(rig.host.appctl("ofproto/trace", "br-int", frame), "b")
    assert rig.state.firewall is not None
    permitted = dataclasses.replace(rig.state.firewall, permitted_ethertypes=(0x4008,))
    rig.install(dataclasses.replace(rig.state, firewall=permitted))
    assert rig.delivered(rig.host.appctl("ofproto/trace", "br-int", frame), "b")
    # what merge_info builds from a later reply keeps the setting
    merged = fw.merge_info(permitted, INFO)
    assert merged.permitted_ethertypes == (0x4008,)
    assert fw.forget_ports(merged, ["port-a"]).permitted_ethertypes == (0x4008,)
