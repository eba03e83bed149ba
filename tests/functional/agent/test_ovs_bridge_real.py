"""Functional tests of the OVS adapter against a real ovsdb-server + ovs-vswitchd (netdev)."""

from __future__ import annotations

import dataclasses
import os
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from neutrino.agent.ovs import flows
from neutrino.agent.ovs import pipeline as p
from neutrino.agent.ovs.bridge import (
    OvsBridge,
    OvsStatus,
    check_canary,
    close_ovsdb_api,
    ovsdb_api,
    tunnel_port_name,
)
from neutrino.agent.ovs.flowtable import FlowDiff, make_flow
from neutrino.agent.ovs.monitor import VifChange, VifMonitor
from tests.fixtures import hosts
from tests.unit.agent.ovs_samples import COOKIE, sample_state

pytestmark = [
    pytest.mark.functional,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces and OVS"),
]
GOLDEN = Path(__file__).parents[2] / "unit" / "agent" / "golden"
PIPELINES = {"br-int": p.BR_INT, "br-tun": p.BR_TUN, "br-physnet1": p.BR_PHYS}


@pytest.fixture
def cleanup() -> Iterator[hosts.Cleanup]:
    with hosts.Cleanup() as stack:
        yield stack


@pytest.fixture
def host(cleanup: hosts.Cleanup, tmp_path: Path) -> hosts.OvsHost:
    return hosts.create_host(cleanup, tmp_path)


@pytest.fixture
def api(cleanup: hosts.Cleanup, host: hosts.OvsHost) -> Any:
    ovsdb = ovsdb_api(host.db)
    cleanup.add(close_ovsdb_api, ovsdb)
    return ovsdb


def _bridge(api: Any, host: hosts.OvsHost, name: str) -> OvsBridge:
    bridge = OvsBridge(name, api, PIPELINES.get(name, p.BR_INT), datapath_type="netdev",
                       rundir=str(host.rundir))
    bridge.ensure()
    return bridge


def test_installed_flows_dump_back_as_golden_and_resync_is_noop(api: Any,
                                                                 host: hosts.OvsHost) -> None:
    for name, desired in flows.compute_flows(sample_state()).items():
        bridge = _bridge(api, host, name)
        assert len(bridge.sync_flows(desired, COOKIE).add) == len(desired)
        assert bridge.dump_flows(cookie=COOKIE) == desired
        assert bridge.sync_flows(desired, COOKIE).empty
        golden = {line.strip() for line in (GOLDEN / f"{name}.dump").read_text().splitlines()}
        dumped = host.ofctl("dump-flows", name, "--no-stats").splitlines()
        assert {line.strip() for line in dumped} - {""} == golden - {""}


def test_sync_converges_and_keeps_foreign_flows(api: Any, host: hosts.OvsHost) -> None:
    bridge = _bridge(api, host, "br-tun")
    learned = make_flow(p.BR_TUN, p.UCAST_TO_TUN, "learned",
                        ["dl_vlan=1", "dl_dst=fa:16:3e:12:34:56"], ["output:2"], cookie=0)
    bridge.apply(FlowDiff(add=(learned,)))  # as learn() would install it: cookie 0
    full = flows.tun_flows(sample_state())
    without_fdb = flows.tun_flows(dataclasses.replace(sample_state(), fdb={}))
    bridge.sync_flows(full, COOKIE)
    bridge.sync_flows(without_fdb, COOKIE)
    assert bridge.dump_flows(cookie=COOKIE) == without_fdb
    bridge.sync_flows(full, COOKIE)
    assert bridge.dump_flows(cookie=COOKIE) == full
    assert learned in bridge.dump_flows(cookie=0)


def test_ports_patch_and_tunnel(api: Any, host: hosts.OvsHost) -> None:
    int_br, tun_br = _bridge(api, host, "br-int"), _bridge(api, host, "br-tun")
    patch_tun = int_br.add_patch_port("patch-tun", "patch-int")
    patch_int = tun_br.add_patch_port("patch-int", "patch-tun")
    assert patch_tun > 0 and patch_int > 0
    assert int_br.add_patch_port("patch-tun", "patch-int") == patch_tun  # idempotent
    name = tunnel_port_name("vxlan", "192.0.2.2")
    ofport = tun_br.add_tunnel_port(name, "vxlan", "192.0.2.2", "192.0.2.1")
    assert ofport > 0 and tun_br.list_ports() == sorted(["patch-int", name])
    assert host.vsctl("get", "interface", name, "options:remote_ip") == '"192.0.2.2"'
    tun_br.delete_port(name)
    tun_br.delete_port(name)
    assert tun_br.get_ofport(name) is None
    assert host.vsctl("get", "bridge", "br-int", "fail_mode") == "secure"


def test_canary_detects_vswitchd_restart(api: Any, host: hosts.OvsHost) -> None:
    int_br = _bridge(api, host, "br-int")
    int_br.sync_flows(flows.int_flows(sample_state()), COOKIE)
    assert check_canary(int_br) is OvsStatus.NORMAL
    host.stop_vswitchd()
    assert check_canary(int_br) is OvsStatus.DEAD
    host.start_vswitchd()
    hosts.wait_for(lambda: check_canary(int_br) is not OvsStatus.DEAD, what="vswitchd up")
    assert check_canary(int_br) is OvsStatus.RESTARTED
    # the bridge still believes its flows are in place: nothing to push
    assert int_br.sync_flows(flows.int_flows(sample_state()), COOKIE).empty
    # so the agent, told by the canary, makes it read the switch again
    int_br.forget_flows()
    int_br.sync_flows(flows.int_flows(sample_state()), COOKIE)
    assert check_canary(int_br) is OvsStatus.NORMAL


def _next_change(events: queue.Queue, port_id: str, kind: VifChange,
                 with_ofport: bool = False) -> Any:
    """Read events until ``kind`` for ``port_id`` (with an ofport if asked); 10 s deadline."""
    while True:
        change, vif = events.get(timeout=10)
        if vif.port_id == port_id and change is kind and (vif.ofport or not with_ofport):
            return vif


def test_vif_monitor_reports_plug_and_unplug(cleanup: hosts.Cleanup, api: Any,
                                             host: hosts.OvsHost) -> None:
    _bridge(api, host, "br-int")
    early = hosts.create_vm(cleanup, host, "port-early", "fa:16:3e:00:00:0e",
                            "198.51.100.14/24")
    events: queue.Queue = queue.Queue()
    monitor = VifMonitor(host.db, lambda change, vif: events.put((change, vif)))
    monitor.start()
    cleanup.add(monitor.stop)
    assert _next_change(events, early.port_id, VifChange.ADDED).name == early.tap
    vm = hosts.create_vm(cleanup, host, "port-1", "fa:16:3e:00:00:01", "198.51.100.5/24")
    added = _next_change(events, "port-1", VifChange.ADDED)
    assert (added.name, added.mac_address, added.status) == (vm.tap, vm.mac, "active")
    # ovs-vsctl waits for ovs-vswitchd, so the ofport may come with the row or just after
    vif = added if added.ofport else _next_change(events, "port-1", VifChange.UPDATED, True)
    assert vif.ofport == hosts.ofport(host, vm.tap)
    host.vsctl("del-port", "br-int", vm.tap)
    assert _next_change(events, "port-1", VifChange.DELETED).name == vm.tap


def test_vif_monitor_ignores_vifs_on_other_bridges(cleanup: hosts.Cleanup, api: Any,
                                                   host: hosts.OvsHost) -> None:
    _bridge(api, host, "br-int")
    _bridge(api, host, "br-tun")
    events: queue.Queue = queue.Queue()
    monitor = VifMonitor(host.db, lambda change, vif: events.put((change, vif)))
    monitor.start()
    cleanup.add(monitor.stop)
    elsewhere = hosts.create_vm(cleanup, host, "port-tun", "fa:16:3e:00:00:21",
                                "198.51.100.21/24", bridge="br-tun")
    vm = hosts.create_vm(cleanup, host, "port-int", "fa:16:3e:00:00:22", "198.51.100.22/24")
    _next_change(events, "port-int", VifChange.ADDED)
    # moving the VIF off br-int is its deletion for this agent
    host.vsctl("del-port", "br-int", vm.tap, "--", "add-port", "br-tun", vm.tap)
    assert _next_change(events, "port-int", VifChange.DELETED).name == vm.tap
    seen = []
    while not events.empty():
        seen.append(events.get_nowait()[1].port_id)
    assert elsewhere.port_id not in seen
