"""The L3 agent's RPC over the in-process bus: the contract's calls and casts.

A server endpoint on ``q-l3-plugin`` serves the fake server's scripted answers; casts are
sent as the server's notifier sends them, to ``l3_agent.<host>`` only, and must reach that
host's agent (and drive it: a full round trip from cast to applied router).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oslo_messaging
import pytest

from neutrino.agent.l3.agent import L3Agent
from neutrino.agent.l3.config import L3AgentConfig
from neutrino.agent.l3.messaging import RpcL3PluginApi, start_consumer
from neutrino.conf import make_conf
from neutrino.rpc import client
from neutrino.rpc import transport as rpc_transport
from tests.unit.agent.l3.fake_l3_server import (
    FakeL3Server,
    L3Callbacks,
    router,
    router_port,
    subnet,
)
from tests.unit.agent.l3.test_l3_agent import MemoryDevices


class Sink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, dict[str, Any]]] = []

    def notify(self, kind: str, **payload: Any) -> None:
        with self.lock:
            self.events.append((kind, payload))


@pytest.fixture
def transport() -> Iterator[Any]:
    transport = rpc_transport.make_transport(make_conf([]), "fake://")
    yield transport
    rpc_transport.cleanup(transport)


@pytest.fixture
def fake_server(transport: Any) -> Iterator[FakeL3Server]:
    fake = FakeL3Server()
    server = oslo_messaging.get_rpc_server(
        transport, oslo_messaging.Target(topic="q-l3-plugin", server="server-1"),
        [L3Callbacks(fake)], executor="threading")
    server.start()
    yield fake
    client.stop_servers([server])


def _wait(predicate: Any, what: str, deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_calls_carry_the_host_and_return_the_routers(transport: Any,
                                                     fake_server: FakeL3Server) -> None:
    r1 = fake_server.add(router([router_port(subnet("10.0.0.0/24"), "10.0.0.1")]))
    fake_server.add(router())
    api = RpcL3PluginApi(transport, "net1", timeout=5)
    assert sorted(api.get_router_ids()) == sorted(fake_server.routers)
    assert [r["id"] for r in api.sync_routers(router_ids=[r1["id"], "unknown"])] == \
        [r1["id"]]
    assert len(api.sync_routers()) == 2
    api.update_floatingip_statuses(r1["id"], {"f1": "ACTIVE"})
    assert fake_server.reports == [(r1["id"], {"f1": "ACTIVE"})]
    assert api.get_service_plugin_list() == ["router"]


def test_casts_reach_only_the_hosting_agent(transport: Any) -> None:
    here, there = Sink(), Sink()
    consumers = [start_consumer(transport, "net1", here),
                 start_consumer(transport, "net2", there)]
    try:
        caster = oslo_messaging.get_rpc_client(transport, oslo_messaging.Target(
            topic="l3_agent", version="1.0")).prepare(server="net1")
        caster.cast({}, "routers_updated", routers=["r1", "r2"])
        caster.cast({}, "router_deleted", router_id="r3")
        caster.cast({}, "router_added_to_agent", payload=["r4"])
        caster.cast({}, "router_removed_from_agent", payload={"router_id": "r5"})
        _wait(lambda: len(here.events) == 4, "four casts")
    finally:
        for consumer in consumers:
            consumer.stop()
    assert here.events == [("routers_changed", {"router_ids": ["r1", "r2"]}),
                           ("router_gone", {"router_id": "r3"}),
                           ("routers_changed", {"router_ids": ["r4"]}),
                           ("router_gone", {"router_id": "r5"})]
    assert there.events == []


def test_a_cast_drives_the_agent_through_the_bus(transport: Any,
                                                 fake_server: FakeL3Server) -> None:
    devices = MemoryDevices()
    config = L3AgentConfig(host="net1", state_dir=Path("/nonexistent/l3"),
                           check_interval=0.05)
    agent = L3Agent(config, RpcL3PluginApi(transport, "net1", timeout=5), devices)
    consumer = start_consumer(transport, "net1", agent)
    agent.start(heartbeat=False)
    try:
        _wait(lambda: agent.iterations >= 1, "the first sync")
        r1 = fake_server.add(router([router_port(subnet("10.0.0.0/24"), "10.0.0.1")]))
        oslo_messaging.get_rpc_client(transport, oslo_messaging.Target(
            topic="l3_agent", version="1.0")).prepare(server="net1").cast(
            {}, "routers_updated", routers=[r1["id"]])
        _wait(lambda: r1["id"] in devices.states, "the router applied")
    finally:
        agent.stop()
        consumer.stop()


class _SlowServer:
    """A ``_Caller`` whose server times out on answers of more than ``limit`` routers."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.asked: list[int] = []

    def call(self, method: str, **kwargs: Any) -> Any:
        ids = kwargs["router_ids"]
        self.asked.append(len(ids))
        if len(ids) > self.limit:
            raise client.ServerUnreachable("sync_routers: no server answered")
        return [{"id": i} for i in ids]


def test_sync_routers_halves_its_chunk_on_timeouts(transport: Any) -> None:
    api = RpcL3PluginApi(transport, "net1", timeout=5)
    slow = _SlowServer(limit=100)
    api.caller = slow  # type: ignore[assignment]
    ids = [f"r{i}" for i in range(300)]
    assert [r["id"] for r in api.sync_routers(router_ids=ids)] == ids
    assert slow.asked[:3] == [256, 128, 64] and api.chunk == 64
    slow.limit = 10  # below the smallest chunk: the agent's round fails (and resyncs)
    with pytest.raises(client.ServerUnreachable):
        api.sync_routers(router_ids=ids)
