"""Nova events with real Keystone credentials, to a Nova stand-in that checks every request.

The stand-in (a small HTTP server in this test) validates what Nova validates: the
``X-Auth-Token`` against the real Keystone, the body against Nova's documented
schema for ``POST /v2.1/os-server-external-events`` (event names, statuses, uuids,
no unknown keys), and answers 200, 207 (per-event 404/422) or 404 as the test says.
The compute endpoint is found in Keystone's catalogue, as Neutron finds it.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from neutrino.conf import make_conf
from neutrino.plugins.nova.client import KeystoneAuth, NovaClient
from tests.fixtures.keystone import KeystoneServer
from tests.fixtures.sim_agents import rpc_rig, wait_until
from tests.unit.rpc.scenarios import make_network, up

pytestmark = [pytest.mark.keystone, pytest.mark.functional, pytest.mark.slow]

NAMES = {"network-changed", "network-vif-plugged", "network-vif-unplugged",
         "network-vif-deleted"}
STATUSES = {"failed", "completed", "in-progress"}


def schema_errors(body: Any) -> list[str]:
    """What Nova's request schema would refuse in ``body`` (empty: valid)."""
    if not isinstance(body, dict) or set(body) != {"events"}:
        return ["body must be {'events': [...]} and nothing else"]
    events = body["events"]
    if not isinstance(events, list) or not events:
        return ["events must be a non-empty list"]
    errors = []
    for e in events:
        if not isinstance(e, dict) or not {"name", "server_uuid"} <= set(e) \
                or set(e) - {"name", "server_uuid", "tag", "status"}:
            errors.append(f"bad keys in {e}")
            continue
        if e["name"] not in NAMES:
            errors.append(f"unknown name {e['name']}")
        if "status" in e and e["status"] not in STATUSES:
            errors.append(f"unknown status {e['status']}")
        try:
            uuid.UUID(e["server_uuid"])
        except (ValueError, TypeError):
            errors.append(f"server_uuid {e['server_uuid']!r} is not a uuid")
        if "tag" in e and not isinstance(e["tag"], str):
            errors.append("tag must be a string")
    return errors


class FakeNova:
    """``POST /v2.1/os-server-external-events``; ``codes[server_uuid]`` sets its answer."""

    def __init__(self, keystone: KeystoneServer) -> None:
        self.keystone = keystone
        self.codes: dict[str, int] = {}
        self.accepted: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self.lock = threading.Lock()
        nova = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                status, reply = nova.handle(self.path, self.headers,
                                            self.rfile.read(int(self.headers["Content-Length"])))
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}/v2.1"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def handle(self, path: str, headers: Any, raw: bytes) -> tuple[int, Any]:
        if path != "/v2.1/os-server-external-events":
            return self._refuse(f"path {path}", 404)
        token = self.keystone.validate_token(headers.get("X-Auth-Token", ""))
        if token is None:
            return self._refuse("invalid token", 401)
        errors = schema_errors(json.loads(raw))
        if errors:
            return self._refuse("; ".join(errors), 400)
        answers = [{**e, "code": self.codes.get(e["server_uuid"], 200)}
                   for e in json.loads(raw)["events"]]
        with self.lock:
            self.accepted.extend(a for a in answers if a["code"] == 200)
        codes = {a["code"] for a in answers}
        if codes == {200}:
            return 200, {"events": answers}
        if 200 not in codes:
            return 404, {"itemNotFound": {"message": "No instances found", "code": 404}}
        return 207, {"events": answers}

    def _refuse(self, why: str, status: int) -> tuple[int, Any]:
        with self.lock:
            self.refused.append(why)
        return status, {"error": why}

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture(scope="module")
def nova(keystone: KeystoneServer) -> Iterator[FakeNova]:
    fake = FakeNova(keystone)
    service = keystone.ensure_service("compute", "nova")
    for interface in ("public", "internal", "admin"):
        keystone.set_endpoint(service["id"], fake.url, interface)
    yield fake
    fake.stop()


def nova_section(keystone: KeystoneServer) -> dict[str, Any]:
    admin = keystone.admin_credentials
    return {"auth_type": "password", "auth_url": keystone.auth_url,
            "username": admin.username, "password": admin.password,
            "project_name": admin.project_name, "user_domain_name": "Default",
            "project_domain_name": "Default", "region_name": admin.region_name,
            "endpoint_type": "public"}


def test_client_authenticates_and_finds_nova_in_the_catalogue(
        keystone: KeystoneServer, nova: FakeNova) -> None:
    conf = make_conf(overrides={"nova": nova_section(keystone)})
    client = NovaClient(KeystoneAuth(conf))
    try:
        ok, gone, hostless = (str(uuid.uuid4()) for _ in range(3))
        nova.codes.update({gone: 404, hostless: 422})
        events = [{"name": "network-vif-plugged", "server_uuid": s, "tag": "p",
                   "status": "completed"} for s in (ok, gone, hostless)]
        answers = client.send(events)
        assert [a["code"] for a in answers] == [200, 404, 422]
        assert client.send(events[1:]) == []  # 404: none accepted, not retried
        assert nova.refused == []
        assert any(a["server_uuid"] == ok for a in nova.accepted)
    finally:
        client.close()


def test_port_going_active_is_told_to_nova(keystone: KeystoneServer, nova: FakeNova,
                                          sqlite_url: str) -> None:
    server_uuid = str(uuid.uuid4())
    with rpc_rig(sqlite_url, "fake://", {"nova": nova_section(keystone),
                                         "DEFAULT": {"send_events_interval": 0}}) as rig:
        net = make_network(rig)
        ovs = rig.agent("compute-1", "192.0.2.1")
        with rig.api.http() as http:
            vm = http.post("/v2.0/ports", json={"port": {
                "network_id": net["id"], "binding:host_id": "compute-1",
                "device_id": server_uuid, "device_owner": "compute:nova"}}).json()["port"]
        ovs.plugin_api.get_devices_details_list_and_failed_devices([vm["id"]])
        up(ovs, vm)

        def told() -> list[dict[str, Any]]:
            with nova.lock:
                return [e for e in nova.accepted if e["server_uuid"] == server_uuid]

        [event] = wait_until(told, what="network-vif-plugged at Nova")
        assert event == {"name": "network-vif-plugged", "server_uuid": server_uuid,
                         "tag": vm["id"], "status": "completed", "code": 200}
        with rig.api.http() as http:
            http.delete(f"/v2.0/ports/{vm['id']}")
        wait_until(lambda: len(told()) == 2, what="network-vif-deleted at Nova")
        assert told()[1]["name"] == "network-vif-deleted"
        assert nova.refused == []
