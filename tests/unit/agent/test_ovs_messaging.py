"""The agent's RPC over the in-process bus: security-group calls and casts reach the right place.

A small server endpoint on ``q-plugin`` stands in for the server's callbacks; casts are
sent the way the server's notifier does (to ``<topic>.<host>``, never fanout) and must come
out of the agent's ordered queue, in order, for that host only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import oslo_messaging
import pytest

from neutrino.agent.ovs.messaging import RpcPluginApi, consumer_topics, start_consumers
from neutrino.conf import make_conf
from neutrino.rpc import client, topics
from neutrino.rpc import transport as rpc_transport

INFO = {"devices": {"p1": {"security_groups": ["sg1"], "port_security_enabled": True}},
        "security_groups": {"sg1": {"stateful": True, "rules": []}},
        "sg_member_ips": {}}


class Sink:
    """Collects what the consumers queue for the agent (the agent's ``notify``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, dict[str, Any]]] = []

    def notify(self, kind: str, **payload: Any) -> None:
        with self.lock:
            self.events.append((kind, payload))

    def wait_for(self, count: int, deadline_s: float = 10.0) -> list[tuple[str, dict[str, Any]]]:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.events) >= count:
                    return list(self.events)
            time.sleep(0.01)
        raise AssertionError(f"only {self.events} arrived")


class ServerCallbacks:
    """What the server's ``q-plugin`` endpoint receives (only the call under test)."""

    target = oslo_messaging.Target(version="1.9")

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def security_group_info_for_devices(self, context: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return INFO


@pytest.fixture
def transport() -> Iterator[Any]:
    transport = rpc_transport.make_transport(make_conf([]), "fake://")
    yield transport
    rpc_transport.cleanup(transport)


def test_security_group_info_is_one_call_with_the_devices(transport: Any) -> None:
    callbacks = ServerCallbacks()
    server = oslo_messaging.get_rpc_server(
        transport, oslo_messaging.Target(topic=topics.PLUGIN, server="server-1"),
        [callbacks], executor="threading")
    server.start()
    try:
        api = RpcPluginApi(transport, "host-a", timeout=5)
        assert api.security_group_info_for_devices(devices=["p1", "p2"]) == INFO
    finally:
        client.stop_servers([server])
    assert callbacks.calls == [{"devices": ["p1", "p2"]}]


def test_the_agent_consumes_the_security_group_topic() -> None:
    assert topics.SECURITY_GROUP_UPDATE == "q-agent-notifier-security_group-update"
    assert topics.SECURITY_GROUP_UPDATE in consumer_topics(l2_population=False)
    assert topics.SECURITY_GROUP_UPDATE in consumer_topics(l2_population=True)


def test_security_group_casts_to_the_host_are_queued_in_order(transport: Any) -> None:
    here, there = Sink(), Sink()
    consumers = [start_consumers(transport, "host-a", here, [topics.SECURITY_GROUP_UPDATE]),
                 start_consumers(transport, "host-b", there, [topics.SECURITY_GROUP_UPDATE])]
    try:
        caster = oslo_messaging.get_rpc_client(transport, oslo_messaging.Target(
            topic=topics.SECURITY_GROUP_UPDATE, version=topics.AGENT_NOTIFIER_VERSION))
        direct = caster.prepare(server="host-a")
        direct.cast({}, "security_groups_rule_updated", security_groups=["sg1"])
        direct.cast({}, "security_groups_member_updated", security_groups=["sg2", "sg3"])
        direct.cast({}, "security_groups_provider_updated", devices_to_update=None)
        events = here.wait_for(3)
    finally:
        for consumer in consumers:
            consumer.stop()
    assert events == [
        ("security_groups_rule_updated", {"security_groups": ["sg1"]}),
        ("security_groups_member_updated", {"security_groups": ["sg2", "sg3"]}),
        ("security_groups_provider_updated", {"devices_to_update": None})]
    assert there.events == []
