"""The agent-side client when no server answers: bounded retries, failures reported."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from neutrino.conf import make_conf
from neutrino.rpc import client
from neutrino.rpc import transport as rpc_transport


@pytest.fixture
def lonely_transport() -> Iterator[Any]:
    """An in-process bus with no server on it."""
    transport = rpc_transport.make_transport(make_conf([]), "fake://")
    yield transport
    rpc_transport.cleanup(transport)


def test_call_times_out_into_server_unreachable(lonely_transport: Any) -> None:
    api = client.PluginApi(lonely_transport, "h", timeout=0.2, retries=1)
    with pytest.raises(client.ServerUnreachable):
        api.tunnel_sync("10.0.0.1", "vxlan")


def test_device_list_chunks_that_time_out_come_back_failed(lonely_transport: Any) -> None:
    api = client.PluginApi(lonely_transport, "h", timeout=0.1, retries=0, step=2)
    reply = api.update_device_list(["a", "b", "c"], ["d"])
    assert reply == {"devices_up": [], "failed_devices_up": ["a", "b", "c"],
                     "devices_down": [], "failed_devices_down": ["d"]}
    details = api.get_devices_details_list_and_failed_devices(["a", "b", "c"])
    assert details == {"devices": [], "failed_devices": ["a", "b", "c"]}


def test_report_state_without_server_returns_none(lonely_transport: Any) -> None:
    reports = client.StateReportApi(lonely_transport, timeout=0.1)
    assert reports.report_state({"agent_type": "x", "host": "h"}) is None


def test_consumer_topics() -> None:
    names = client.consumer_topics(l2_population=True)
    assert "q-agent-notifier-l2population-update" in names
    assert "q-agent-notifier-port-update" in names
    assert "q-agent-notifier-l2population-update" not in client.consumer_topics(False)
