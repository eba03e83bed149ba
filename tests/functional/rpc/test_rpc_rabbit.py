"""The agent RPC over a real RabbitMQ: a real server process side, simulated agents.

Each test runs in a RabbitMQ virtual host of its own (``tests.fixtures.rabbit``):
queues are per virtual host, so a private control exchange alone would still share
``q-plugin`` with every other consumer on the broker. While these tests run, a rogue
server consumes ``q-plugin`` and ``q-reports-plugin`` on the default virtual host
``/``; each test ends by checking that it received nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import oslo_messaging
import pytest
from oslo_config import cfg

from neutrino.rpc import client, topics
from neutrino.rpc import transport as rpc_transport
from tests.fixtures import rabbit
from tests.fixtures.rabbit import rabbit_url  # noqa: F401 - a fixture
from tests.fixtures.sim_agents import RpcRig, rpc_rig, wait_until
from tests.unit.rpc import scenarios

pytestmark = pytest.mark.functional

PROBE = "rogue_probe"


class RogueEndpoint:
    """Answers any RPC method (any 1.x version) and records what it was sent."""

    target = oslo_messaging.Target(version="1.99")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Callable[..., None]:
        if method.startswith("_"):
            raise AttributeError(method)

        def record(context: Any, **kwargs: Any) -> None:
            with self.lock:
                self.received.append((method, kwargs))
        return record

    def taken(self) -> list[tuple[str, dict[str, Any]]]:
        with self.lock:
            return list(self.received)

    def stolen(self) -> list[tuple[str, dict[str, Any]]]:
        """What it took apart from the control test's probes."""
        return [(m, kw) for m, kw in self.taken() if m != PROBE]


@pytest.fixture(scope="module")
def rogue() -> Iterator[RogueEndpoint]:
    """A competing consumer of the server's topics on the default virtual host ``/``."""
    reason = rabbit.unavailable()
    if reason:
        pytest.skip(reason)
    conf = cfg.ConfigOpts()
    conf([], project="neutrino-rogue")
    transport = rpc_transport.make_transport(conf, rabbit.broker_url("/"))
    endpoint = RogueEndpoint()
    servers = [oslo_messaging.get_rpc_server(
        transport, oslo_messaging.Target(topic=topic, server="rogue"), [endpoint],
        executor="threading") for topic in (topics.PLUGIN, topics.REPORTS)]
    for server in servers:
        server.start()
    try:
        yield endpoint
    finally:
        client.stop_servers(servers)
        rpc_transport.cleanup(transport)


@pytest.fixture
def rig(sqlite_url: str, rabbit_url: str,  # noqa: F811 - the fixture imported above
        rogue: RogueEndpoint) -> Iterator[RpcRig]:
    with rpc_rig(sqlite_url, rabbit_url) as r:
        yield r
    assert rogue.stolen() == [], "a consumer on another virtual host got this test's RPC"


def test_rogue_consumer_takes_calls_on_its_own_vhost(rogue: RogueEndpoint) -> None:
    """The control: the rogue really consumes ``q-plugin`` on ``/`` while the tests run.

    Several casts, because any other consumer of ``q-plugin`` on ``/`` takes turns
    with the rogue; it must get at least one. The rigs' checks leave the probes out.
    """
    conf = cfg.ConfigOpts()
    conf([], project="neutrino-rogue-control")
    transport = rpc_transport.make_transport(conf, rabbit.broker_url("/"))
    try:
        rpc = oslo_messaging.get_rpc_client(
            transport, oslo_messaging.Target(topic=topics.PLUGIN, version="1.0"))
        for _ in range(4):
            rpc.cast({}, PROBE, marker="control")
        wait_until(lambda: any(m == PROBE for m, _ in rogue.taken()),
                   what="the rogue consumer to take a probe cast on /")
    finally:
        rpc_transport.cleanup(transport)


def test_private_vhost_is_made_and_removed() -> None:
    reason = rabbit.unavailable()
    if reason:
        pytest.skip(reason)
    with rabbit.private_vhost() as vhost:
        assert rabbit.vhost_exists(vhost)
    assert not rabbit.vhost_exists(vhost)


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

