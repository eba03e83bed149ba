"""The metadata agent on a real unix socket behind the real proxy (in this namespace).

Guest → proxy (TCP on 127.0.0.1) → agent (unix socket) → a real HTTP Nova stub; the
namespace part is the functional test's.
"""

from __future__ import annotations

import http.client
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from neutrino.agent.metadata.agent import MetadataAgent
from neutrino.agent.metadata.config import MetadataAgentConfig
from neutrino.agent.metadata.proxy import ProxyServer, UnixHTTPConnection
from tests.unit.agent.metadata.fakes import FakeMetadataServer, vm_port
from tests.unit.agent.metadata.nova_stub import nova_stub

SECRET = "s3cret"


class Reports:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def report_state(self, agent_state: dict[str, Any], use_call: bool = True) -> str:
        self.sent.append(agent_state)
        return "alive"


@dataclass
class Rig:
    agent: MetadataAgent
    server: FakeMetadataServer
    proxy: ProxyServer
    nova_seen: list[dict[str, str]]

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.proxy.server_port, timeout=10)
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    server = FakeMetadataServer([vm_port("net1", "127.0.0.1", "vm-1")])
    with nova_stub(SECRET) as (url, seen):
        config = MetadataAgentConfig(host="node1", socket_path=tmp_path / "metadata_proxy",
                                     nova_url=url, shared_secret=SECRET)
        agent = MetadataAgent(config, server, Reports())
        agent.start(heartbeat=False)
        proxy = ProxyServer(("127.0.0.1", 0), str(config.socket_path),
                            "X-Neutron-Network-ID", "net1")
        thread = threading.Thread(target=proxy.serve_forever, daemon=True)
        thread.start()
        try:
            yield Rig(agent, server, proxy, seen)
        finally:
            proxy.shutdown()
            proxy.server_close()
            agent.stop()


def test_guest_request_through_proxy_and_agent_reaches_nova(rig: Rig) -> None:
    assert rig.get("/latest/meta-data/instance-id") == (200, "vm-1")
    sent = rig.nova_seen[-1]
    assert sent["x-forwarded-for"] == "127.0.0.1" and sent["x-tenant-id"] == "p1"
    assert rig.server.calls == [{"network_id": ["net1"],
                                 "fixed_ips": {"ip_address": ["127.0.0.1"]}}]


def test_the_proxy_replaces_what_a_guest_forges(rig: Rig) -> None:
    rig.server.ports.append(vm_port("net2", "10.9.9.9", "victim"))
    status, body = rig.get("/latest/meta-data/instance-id", {
        "X-Forwarded-For": "10.9.9.9", "X-Neutron-Network-ID": "net2",
        "X-Instance-ID": "victim"})
    assert (status, body) == (200, "vm-1")


def test_the_agent_socket_answers_404_for_an_unknown_address(rig: Rig) -> None:
    conn = UnixHTTPConnection(str(rig.agent.config.socket_path))
    conn.request("GET", "/latest/meta-data/instance-id", headers={
        "X-Forwarded-For": "10.1.1.1", "X-Neutron-Network-ID": "net1"})
    assert conn.getresponse().status == 404
    conn.close()


def test_the_proxy_answers_503_while_the_agent_is_down(rig: Rig) -> None:
    rig.agent.stop()
    assert not os.path.exists(rig.agent.config.socket_path)
    assert rig.get("/latest/meta-data/instance-id")[0] == 503


def test_heartbeat_is_a_metadata_agent(rig: Rig) -> None:
    reports = rig.agent.state_rpc
    assert isinstance(reports, Reports)
    rig.agent.report_state()
    rig.agent.report_state()
    first, second = reports.sent
    assert first["agent_type"] == "Metadata agent"
    assert first["binary"] == "neutron-metadata-agent"
    assert first["host"] == "node1" and first["start_flag"] is True
    assert first["configurations"]["metadata_proxy_socket"] == \
        str(rig.agent.config.socket_path)
    assert "start_flag" not in second
