"""Simulated DHCP agents for the server-side DHCP tests: heartbeats, calls, a recorder.

A ``SimDhcpAgent`` speaks the agent side of the shared DHCP contract directly over
oslo.messaging (topic ``q-plugin``, namespace ``dhcp``) and records every cast it
receives on ``dhcp_agent.<host>``.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import oslo_messaging

from neutrino.common import constants as const
from neutrino.rpc import client, topics
from neutrino.rpc.dhcp import DHCP_AGENT
from tests.fixtures.sim_agents import Recorder, RpcRig, _handler, wait_until

DHCP_METHODS = ("network_create_end", "network_update_end", "network_delete_end",
                "subnet_create_end", "subnet_update_end", "subnet_delete_end",
                "port_create_end", "port_update_end", "port_delete_end", "agent_updated")


class DhcpRecorder(Recorder):
    """Records the DHCP notifications (each has one ``payload`` kwarg)."""


for _method in DHCP_METHODS:
    setattr(DhcpRecorder, _method, _handler(_method))


@dataclasses.dataclass
class SimDhcpAgent:
    transport: Any
    host: str

    def __post_init__(self) -> None:
        self.recorder = DhcpRecorder()
        self.state_api = client.StateReportApi(self.transport, timeout=10)
        target = oslo_messaging.Target(topic=topics.PLUGIN, namespace="dhcp", version="1.0")
        self.rpc = oslo_messaging.get_rpc_client(self.transport, target).prepare(timeout=10)
        self.server = oslo_messaging.get_rpc_server(
            self.transport, oslo_messaging.Target(topic=DHCP_AGENT, server=self.host),
            [self.recorder], executor="threading")
        self.server.start()

    def report(self) -> str | None:
        return self.state_api.report_state({
            "binary": "neutron-dhcp-agent", "host": self.host, "topic": DHCP_AGENT,
            "agent_type": const.AGENT_TYPE_DHCP, "start_flag": True,
            "configurations": {"networks": 0, "subnets": 0, "ports": 0,
                               "dhcp_driver": "neutron.agent.linux.dhcp.Dnsmasq",
                               "dhcp_lease_duration": 86400, "log_agent_heartbeats": False}})

    def call(self, method: str, **kwargs: Any) -> Any:
        return self.rpc.call({}, method, **kwargs)

    def got(self, method: str, count: int = 1) -> list[dict[str, Any]]:
        return wait_until(lambda: len(self.recorder.of(method)) >= count
                          and self.recorder.of(method), what=f"{method} on {self.host}")

    def stop(self) -> None:
        client.stop_servers([self.server])


def dhcp_agents(rig: RpcRig, count: int) -> list[SimDhcpAgent]:
    agents = []
    for i in range(count):
        agent = SimDhcpAgent(rig.agent_transport, f"dhcp-{i}-{uuid.uuid4().hex[:4]}")
        assert agent.report() == const.AGENT_NEW
        agents.append(agent)
    return agents


def dhcp_plugin(rig: RpcRig) -> Any:
    from neutrino.plugins.dhcp.plugin import Plugin

    return next(p for p in rig.api.server.service_plugins if isinstance(p, Plugin))
