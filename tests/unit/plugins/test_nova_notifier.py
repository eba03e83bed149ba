"""Nova external events: which port changes make which events, and how they are sent.

Pure event rules; the HTTP client against an httpx mock transport (answers 200, 207,
404, 401, 5xx); the batching/retrying notifier; and the plugin on a real server with
simulated OVS agents, its client answering through a mock transport.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from neutrino.plugins.nova import events as ev
from neutrino.plugins.nova.client import NovaClient, RetryLater, events_url
from neutrino.plugins.nova.notifier import Notifier, backoff
from neutrino.plugins.nova.plugin import Plugin
from tests.fixtures.sim_agents import RpcRig, rpc_rig, wait_until
from tests.unit.rpc.scenarios import make_network, up

SERVER = "4f0a7b8e-0000-4000-8000-000000000001"


def port(**attrs: Any) -> dict[str, Any]:
    return {"id": "p1", "device_id": SERVER, "device_owner": "compute:nova",
            "status": "DOWN", "fixed_ips": [{"subnet_id": "s", "ip_address": "10.0.0.5"}],
            "binding:vif_type": "ovs", **attrs}


# --- which events ----------------------------------------------------------------------

def test_status_changes() -> None:
    plugged = {"name": "network-vif-plugged", "server_uuid": SERVER, "tag": "p1",
               "status": "completed"}
    assert ev.status_events(port(status="ACTIVE"), "DOWN") == [plugged]
    assert ev.status_events(port(status="ACTIVE"), "BUILD") == [plugged]
    assert ev.status_events(port(status="DOWN"), "ACTIVE") == [{
        "name": "network-vif-unplugged", "server_uuid": SERVER, "tag": "p1",
        "status": "completed"}]
    assert ev.status_events(port(status="BUILD"), "DOWN") == []
    assert ev.status_events(port(status="ACTIVE", device_owner="network:dhcp"), "DOWN") == []
    assert ev.status_events(port(status="ACTIVE", device_id=""), "DOWN") == []
    assert ev.status_events(port(status="ERROR"), "BUILD")[0]["status"] == "failed"


def test_binding_failure_and_data_changes_and_delete() -> None:
    failed = port(**{"binding:vif_type": "binding_failed"})
    assert ev.binding_events(failed, port())[0] == {
        "name": "network-vif-plugged", "server_uuid": SERVER, "tag": "p1", "status": "failed"}
    assert ev.binding_events(failed, failed) == []
    moved = port(fixed_ips=[{"subnet_id": "s", "ip_address": "10.0.0.6"}])
    assert ev.data_events(moved, port()) == [{"name": "network-changed",
                                              "server_uuid": SERVER, "tag": "p1"}]
    assert ev.data_events(port(name="x"), port()) == []
    assert ev.delete_events(port()) == [{"name": "network-vif-deleted",
                                         "server_uuid": SERVER, "tag": "p1"}]
    assert ev.delete_events(port(device_owner="")) == []


def test_events_url() -> None:
    assert events_url("http://n:8774/v2.1") == "http://n:8774/v2.1/os-server-external-events"
    assert events_url("http://n/compute/v2.1/") == \
        "http://n/compute/v2.1/os-server-external-events"
    assert events_url("http://n:8774") == "http://n:8774/v2.1/os-server-external-events"


# --- the client --------------------------------------------------------------------------

class FixedAuth:
    def __init__(self) -> None:
        self.tokens = ["t1", "t2", "t3"]
        self.invalidated = 0

    def token(self) -> str:
        return self.tokens[self.invalidated]

    def endpoint(self) -> str:
        return "http://nova.test/v2.1"

    def invalidate(self) -> None:
        self.invalidated += 1


def nova(answer: Any) -> tuple[NovaClient, list[httpx.Request], FixedAuth]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request) if callable(answer) else answer

    auth = FixedAuth()
    return NovaClient(auth, httpx.MockTransport(handle)), seen, auth


EVENTS = [ev.event("network-vif-plugged", port(), "completed"),
          ev.event("network-vif-deleted", port(id="p2"))]


def test_client_posts_the_documented_body() -> None:
    client, seen, _ = nova(lambda r: httpx.Response(200, json={"events": [
        {**e, "code": 200} for e in json.loads(r.content)["events"]]}))
    answers = client.send(EVENTS)
    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == "http://nova.test/v2.1/os-server-external-events"
    assert request.headers["X-Auth-Token"] == "t1"
    assert json.loads(request.content) == {"events": EVENTS}
    assert [a["code"] for a in answers] == [200, 200]


def test_client_207_404_and_4xx_are_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    client, _, _ = nova(httpx.Response(207, json={"events": [
        {**EVENTS[0], "code": 404}, {**EVENTS[1], "code": 422}]}))
    assert [a["code"] for a in client.send(EVENTS)] == [404, 422]
    assert "no such instance" in caplog.text and "has no host" in caplog.text
    client, _, _ = nova(httpx.Response(404, json={"itemNotFound": {}}))
    assert client.send(EVENTS) == []
    client, _, _ = nova(httpx.Response(400, json={"badRequest": {}}))
    assert client.send(EVENTS) == []


def test_client_retries_5xx_and_outages_and_renews_tokens() -> None:
    client, _, _ = nova(httpx.Response(503))
    with pytest.raises(RetryLater):
        client.send(EVENTS)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, _, _ = nova(refuse)
    with pytest.raises(RetryLater):
        client.send(EVENTS)
    client, seen, auth = nova(lambda r: httpx.Response(
        401 if r.headers["X-Auth-Token"] == "t1" else 200, json={"events": []}))
    client.send(EVENTS)
    assert [r.headers["X-Auth-Token"] for r in seen] == ["t1", "t2"]
    assert auth.invalidated == 1


# --- batching and retrying ---------------------------------------------------------------

class Recording:
    def __init__(self, failures: int = 0) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.failures = failures
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, batch: list[dict[str, Any]]) -> None:
        with self.lock:
            self.calls += 1
            if self.failures:
                self.failures -= 1
                raise RetryLater("nova down")
            self.batches.append(list(batch))


def test_first_event_at_once_then_batched() -> None:
    send = Recording()
    notifier = Notifier(send, interval=0.5)
    try:
        notifier.queue([EVENTS[0]])
        wait_until(lambda: send.batches, what="first event sent")
        assert send.batches == [[EVENTS[0]]]
        # These arrive while the interval after the first send runs: one request.
        notifier.queue([EVENTS[1]])
        notifier.queue([EVENTS[0]])
        wait_until(lambda: len(send.batches) == 2, what="the batch")
        assert send.batches[1] == [EVENTS[1], EVENTS[0]]
    finally:
        notifier.stop()


def test_retried_with_backoff_then_dropped() -> None:
    assert [backoff(a, 0.5, 10) for a in (1, 2, 3, 6)] == [0.5, 1.0, 2.0, 10.0]
    send = Recording(failures=2)
    notifier = Notifier(send, interval=0, first_backoff=0.01)
    try:
        notifier.queue(EVENTS)
        wait_until(lambda: send.batches, what="sent after two failures")
        assert send.batches == [EVENTS] and send.calls == 3
    finally:
        notifier.stop()
    send = Recording(failures=100)
    notifier = Notifier(send, interval=0, max_attempts=3, first_backoff=0.01)
    try:
        notifier.queue(EVENTS)
        wait_until(lambda: notifier.dropped == 2, what="dropped after 3 attempts")
        assert send.calls == 3 and send.batches == []
    finally:
        notifier.stop()


# --- the plugin on a real server -----------------------------------------------------------

@pytest.fixture
def rig(sqlite_url: str) -> Iterator[RpcRig]:
    with rpc_rig(sqlite_url, "fake://") as r:
        yield r


def test_port_life_reaches_nova(rig: RpcRig) -> None:
    got: list[dict[str, Any]] = []
    lock = threading.Lock()

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        with lock:
            got.extend(body["events"])
        return httpx.Response(200, json={"events": [{**e, "code": 200}
                                                    for e in body["events"]]})

    conf = rig.api.server.conf
    plugin = Plugin(conf, rig.plugin.db, rig.plugin,
                    client=NovaClient(FixedAuth(), httpx.MockTransport(handle)))
    plugin.notifier.interval = 0.05  # type: ignore[union-attr]

    def names() -> list[tuple[str, str | None]]:
        with lock:
            return [(e["name"], e.get("status")) for e in got]

    try:
        net = make_network(rig)
        ovs = rig.agent("compute-1", "192.0.2.1")
        with rig.api.http() as http:
            vm = http.post("/v2.0/ports", json={"port": {
                "network_id": net["id"], "binding:host_id": "compute-1",
                "device_id": SERVER, "device_owner": "compute:nova"}}).json()["port"]
            ovs.plugin_api.get_devices_details_list_and_failed_devices([vm["id"]])
            up(ovs, vm)
            wait_until(lambda: ("network-vif-plugged", "completed") in names(),
                       what="vif-plugged")
            ovs.plugin_api.update_device_list([], [vm["id"]])
            wait_until(lambda: ("network-vif-unplugged", "completed") in names(),
                       what="vif-unplugged")
            sub = vm["fixed_ips"][0]["subnet_id"]
            http.put(f"/v2.0/ports/{vm['id']}", json={"port": {"fixed_ips": [
                {"subnet_id": sub, "ip_address": "10.1.0.99"}]}})
            wait_until(lambda: ("network-changed", None) in names(), what="network-changed")
            http.delete(f"/v2.0/ports/{vm['id']}")
            wait_until(lambda: ("network-vif-deleted", None) in names(), what="vif-deleted")
            # A host with no agent: the binding fails, and Nova must not wait for a plug.
            http.post("/v2.0/ports", json={"port": {
                "network_id": net["id"], "binding:host_id": "nowhere",
                "device_id": SERVER, "device_owner": "compute:nova"}})
            wait_until(lambda: ("network-vif-plugged", "failed") in names(),
                       what="vif-plugged failed")
        with lock:
            assert all(e["server_uuid"] == SERVER for e in got)
    finally:
        plugin.stop()
