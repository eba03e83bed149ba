"""What the DHCP agent needs from the server, and what the server tells it (Neutron's names).

:class:`DhcpPluginApi` is Neutron's ``DhcpPluginApi`` (calls on ``q-plugin``), the agent's
view of the server: a fake in tests, oslo.messaging in production (``messaging``).
:class:`DhcpAgentNotifications` is the endpoint of the ``dhcp_agent`` casts; each method
only queues the news for the agent loop.
"""

from __future__ import annotations

from typing import Any, Protocol

DHCP_AGENT_TOPIC = "dhcp_agent"
AGENT_BINARY_DHCP = "neutron-dhcp-agent"
PLUGIN_API_VERSION = "1.0"
NOTIFIER_API_VERSION = "1.0"


class DhcpPluginApi(Protocol):
    """The ``q-plugin`` calls of the DHCP agent (the host is bound by the implementation)."""

    def get_active_networks_info(self, enable_dhcp_filter: bool = True
                                 ) -> list[dict[str, Any]]:
        """Every network scheduled to this host's DHCP agent, as ``get_network_info``."""

    def get_network_info(self, network_id: str) -> dict[str, Any] | None:
        """The network with its subnets and ports, or None when it is gone."""

    def create_dhcp_port(self, port: dict[str, Any]) -> dict[str, Any] | None:
        """Create the DHCP port (``{"port": {...}}``); the port dict."""

    def update_dhcp_port(self, port_id: str, port: dict[str, Any]) -> dict[str, Any] | None:
        """Update the DHCP port (``{"port": {...}}``); the port dict."""

    def release_dhcp_port(self, network_id: str, device_id: str) -> None:
        """Delete this agent's DHCP port on the network."""

    def dhcp_ready_on_ports(self, port_ids: list[str]) -> None:
        """The DHCP half of these ports' provisioning is done."""


class AgentSink(Protocol):
    def notify(self, kind: str, **payload: Any) -> None: ...


class DhcpAgentNotifications:
    """RPC endpoint of Neutron's ``DhcpAgentNotifyAPI`` casts (``payload=`` each)."""

    def __init__(self, sink: AgentSink) -> None:
        self._sink = sink

    def network_create_end(self, context: Any, payload: dict[str, Any]) -> None:
        self._sink.notify("network_changed", network_id=payload["network"]["id"])

    def network_update_end(self, context: Any, payload: dict[str, Any]) -> None:
        self._sink.notify("network_changed", network_id=payload["network"]["id"])

    def network_delete_end(self, context: Any, payload: dict[str, Any]) -> None:
        self._sink.notify("network_deleted", network_id=payload["network_id"])

    def subnet_create_end(self, context: Any, payload: dict[str, Any]) -> None:
        self._sink.notify("network_changed", network_id=payload["subnet"]["network_id"])

    def subnet_update_end(self, context: Any, payload: dict[str, Any]) -> None:
        self._sink.notify("network_changed", network_id=payload["subnet"]["network_id"])

    def subnet_delete_end(self, context: Any, payload: dict[str, Any]) -> None:
        self._sink.notify("subnet_deleted", subnet_id=payload["subnet_id"],
                          network_id=payload.get("network_id"))

    def port_create_end(self, context: Any, payload: dict[str, Any]) -> None:
        self._sink.notify("port_changed", port=payload["port"])

    def port_update_end(self, context: Any, payload: dict[str, Any]) -> None:
        self._sink.notify("port_changed", port=payload["port"])

    def port_delete_end(self, context: Any, payload: dict[str, Any]) -> None:
        self._sink.notify("port_deleted", port_id=payload["port_id"],
                          network_id=payload.get("network_id"))

    def agent_updated(self, context: Any, payload: dict[str, Any]) -> None:
        if payload.get("admin_state_up"):
            self._sink.notify("resync", reason="agent enabled")
