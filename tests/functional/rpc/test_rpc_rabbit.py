"""The agent RPC over a real RabbitMQ: a real server process side, simulated agents.

Each test gets its own control exchange, so tests (and other users of the broker)
never see each other's messages.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from neutrino.rpc import client
from tests.fixtures.sim_agents import RABBIT_URL, RpcRig, rpc_rig
from tests.unit.rpc import scenarios

pytestmark = pytest.mark.functional


@pytest.fixture
def rig(sqlite_url: str) -> Iterator[RpcRig]:
    with rpc_rig(sqlite_url, RABBIT_URL) as r:
        yield r


def test_report_state_new_alive_revived(rig: RpcRig) -> None:
    scenarios.report_state_new_alive_revived(rig)


def test_device_up_down_and_l2pop_only_to_relevant_hosts(rig: RpcRig) -> None:
    scenarios.device_up_down_and_l2pop_targets(rig)


def test_ip_change_and_port_update_are_targeted(rig: RpcRig) -> None:
    scenarios.ip_change_and_port_update(rig)


def test_tunnel_sync_and_remap(rig: RpcRig) -> None:
    scenarios.tunnel_sync_and_remap(rig)


def test_agents_api(rig: RpcRig) -> None:
    scenarios.agents_api(rig)


def test_binding_follows_agents(rig: RpcRig) -> None:
    scenarios.binding_follows_agents(rig)


def test_server_gone_then_back(rig: RpcRig) -> None:
    """No server consuming: calls time out into failures, and work again once it is back."""
    agent = rig.agent("host-a", "10.0.0.1")
    net = scenarios.make_network(rig)
    port = scenarios.make_port(rig, net, "host-a")
    rig.rpc.stop()
    quick = client.PluginApi(rig.agent_transport, "host-a", timeout=0.5, retries=1)
    reply = quick.update_device_list([port["id"]], [])
    assert reply["failed_devices_up"] == [port["id"]]
    with pytest.raises(client.ServerUnreachable):
        quick.tunnel_sync("10.0.0.1", "vxlan")
    assert client.StateReportApi(rig.agent_transport, timeout=0.5).report_state(
        agent.state()) is None
    rig.rpc.start()
    # Messages published while no one consumed may still be in the shared queue and be
    # answered late; the agent just retries what failed until it succeeds.
    scenarios.wait_until(lambda: not quick.update_device_list([port["id"]], [])[
        "failed_devices_up"], what="device up after the server came back")
    assert scenarios.port_status(rig, port["id"]) == "ACTIVE"

