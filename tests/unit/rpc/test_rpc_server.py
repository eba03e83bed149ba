"""The agent RPC end to end on the in-process bus: heartbeats, devices, l2pop, tunnels."""

from __future__ import annotations

from tests.fixtures.sim_agents import RpcRig
from tests.unit.rpc import scenarios


def test_report_state_new_alive_revived(rig: RpcRig) -> None:
    scenarios.report_state_new_alive_revived(rig)


def test_device_up_down_and_l2pop_only_to_relevant_hosts(rig: RpcRig) -> None:
    scenarios.device_up_down_and_l2pop_targets(rig)


def test_ip_change_and_port_update_are_targeted(rig: RpcRig) -> None:
    scenarios.ip_change_and_port_update(rig)


def test_unknown_and_unbound_devices(rig: RpcRig) -> None:
    scenarios.unknown_and_unbound_devices(rig)


def test_tunnel_sync_and_remap(rig: RpcRig) -> None:
    scenarios.tunnel_sync_and_remap(rig)


def test_agents_api(rig: RpcRig) -> None:
    scenarios.agents_api(rig)


def test_binding_follows_agents(rig: RpcRig) -> None:
    scenarios.binding_follows_agents(rig)


def test_ports_by_vnic_type_and_host(rig: RpcRig) -> None:
    scenarios.ports_by_vnic_type_and_host(rig)


def test_multi_segment_port_delete_and_move_reach_peers(rig: RpcRig) -> None:
    scenarios.multi_segment_port_down(rig)


def test_network_delete_goes_only_to_the_hosts_of_its_ports(rig: RpcRig) -> None:
    scenarios.network_delete_targets_port_hosts(rig)
