"""The DHCP agent over oslo.messaging: ``q-plugin`` calls and the ``dhcp_agent`` consumer.

Calls carry Neutron's kwargs (``host`` on each); the consumer listens on
``dhcp_agent.<host>`` (and the fanout, as Neutron's agent does) with one dispatch thread,
so notifications reach the agent's queue in the order they were sent.
"""

from __future__ import annotations

from typing import Any

import oslo_messaging

from neutrino.agent.dhcp.server_api import (
    DHCP_AGENT_TOPIC,
    NOTIFIER_API_VERSION,
    AgentSink,
    DhcpAgentNotifications,
)
from neutrino.rpc import client, topics


class RpcDhcpPluginApi:
    """:class:`~neutrino.agent.dhcp.server_api.DhcpPluginApi` over ``q-plugin``."""

    def __init__(self, transport: oslo_messaging.Transport, host: str,
                 timeout: float = client.DEFAULT_TIMEOUT) -> None:
        self.host = host
        self.caller = client._Caller(transport, topics.PLUGIN, timeout=timeout)

    def get_active_networks_info(self, enable_dhcp_filter: bool = True
                                 ) -> list[dict[str, Any]]:
        return list(self.caller.call("get_active_networks_info", host=self.host,
                                     enable_dhcp_filter=enable_dhcp_filter) or [])

    def get_network_info(self, network_id: str) -> dict[str, Any] | None:
        result = self.caller.call("get_network_info", network_id=network_id, host=self.host)
        return dict(result) if result else None

    def create_dhcp_port(self, port: dict[str, Any]) -> dict[str, Any] | None:
        return self.caller.call("create_dhcp_port", port=port, host=self.host)

    def update_dhcp_port(self, port_id: str, port: dict[str, Any]) -> dict[str, Any] | None:
        return self.caller.call("update_dhcp_port", port_id=port_id, port=port,
                                host=self.host)

    def release_dhcp_port(self, network_id: str, device_id: str) -> None:
        self.caller.call("release_dhcp_port", network_id=network_id, device_id=device_id,
                         host=self.host)

    def dhcp_ready_on_ports(self, port_ids: list[str]) -> None:
        self.caller.call("dhcp_ready_on_ports", port_ids=list(port_ids))


class _Endpoint(DhcpAgentNotifications):
    target = oslo_messaging.Target(version=NOTIFIER_API_VERSION)


def start_consumer(transport: oslo_messaging.Transport, host: str, sink: AgentSink
                   ) -> client.AgentConsumer:
    """Deliver the ``dhcp_agent`` casts for ``host`` to ``sink``."""
    consumer = client.AgentConsumer(transport, host, [_Endpoint(sink)], [DHCP_AGENT_TOPIC])
    consumer.start()
    return consumer
