"""What the OVS agent needs from the server, and what the server may tell it (Neutron's names).

:class:`PluginApi` and :class:`StateReportApi` are the agent's view of ``q-plugin`` and
``q-reports-plugin`` (neutron-facts §2.4-2.5); the agent is written against these small
protocols so a fake (unit tests), the oslo.messaging client (``neutrino.rpc``) or a direct
in-process call can stand behind them. :class:`AgentNotifications` is the RPC endpoint
for the server's casts (§2.6-2.7, and the security-group casts of services §1): each
method only queues the news for the agent loop.
"""

from __future__ import annotations

from typing import Any, Protocol

from neutrino.common.constants import (  # noqa: F401 - re-exported for the agent
    AGENT_ALIVE,
    AGENT_BINARY_OVS,
    AGENT_NEW,
    AGENT_REVIVED,
    AGENT_TYPE_OVS,
)


class RpcError(RuntimeError):
    """A call to the server failed (timeout, broker down, remote error)."""


class PluginApi(Protocol):
    """The ``q-plugin`` calls the OVS agent makes (``neutron/agent/rpc.py::PluginApi``)."""

    def get_devices_details_list_and_failed_devices(
            self, devices: list[str], agent_id: str, host: str) -> dict[str, Any]:
        """``{'devices': [details...], 'failed_devices': [device...]}``.

        Details of an unknown or unbound port are only ``{'device': <id>}``.
        """

    def update_device_list(self, devices_up: list[str], devices_down: list[str],
                           agent_id: str, host: str,
                           refresh_tunnels: bool = False) -> dict[str, Any]:
        """``{'devices_up', 'failed_devices_up', 'devices_down', 'failed_devices_down'}``."""

    def tunnel_sync(self, tunnel_ip: str, tunnel_type: str, host: str) -> dict[str, Any]:
        """Register this endpoint; ``{'tunnels': [{'ip_address', 'host'}...]}``."""

    def get_ports_by_vnic_type_and_host(self, vnic_type: str, host: str) -> list[dict[str, Any]]:
        """Ports bound to ``host`` with ``vnic_type`` (for VIFs unplugged while down)."""

    def security_group_info_for_devices(self, devices: list[str]) -> dict[str, Any]:
        """The security groups of ``devices`` (Neutron's ``SecurityGroupServerRpcApi``).

        ``{'devices': {port_id: {'security_groups', 'port_security_enabled'}},
        'security_groups': {sg_id: {'stateful', 'rules': [...]}},
        'sg_member_ips': {remote sg_id: {'IPv4': [...], 'IPv6': [...]}}}``; unknown
        devices are left out.
        """


class StateReportApi(Protocol):
    """``q-reports-plugin``: the heartbeat."""

    def report_state(self, agent_state: dict[str, Any], use_call: bool = True) -> Any:
        """Send the heartbeat; the server answers 'new', 'alive' or 'revived'."""


class AgentSink(Protocol):
    """Where :class:`AgentNotifications` puts what the server said (the agent's queue)."""

    def notify(self, kind: str, **payload: Any) -> None: ...


class AgentNotifications:
    """RPC endpoint with Neutron's agent-side notification methods (context first)."""

    def __init__(self, sink: AgentSink) -> None:
        self._sink = sink

    def port_update(self, context: Any, **kwargs: Any) -> None:
        port = kwargs.get("port") or {}
        self._sink.notify("port_update", port_id=port.get("id") or kwargs.get("port_id"))

    def port_delete(self, context: Any, **kwargs: Any) -> None:
        self._sink.notify("port_delete", port_id=kwargs.get("port_id"))

    def network_update(self, context: Any, **kwargs: Any) -> None:
        network = kwargs.get("network") or {}
        self._sink.notify("network_update", network_id=network.get("id"))

    def network_delete(self, context: Any, **kwargs: Any) -> None:
        self._sink.notify("network_delete", network_id=kwargs.get("network_id"))

    def tunnel_update(self, context: Any, **kwargs: Any) -> None:
        self._sink.notify("tunnel_update", tunnel_ip=kwargs.get("tunnel_ip"),
                          tunnel_type=kwargs.get("tunnel_type"))

    def tunnel_delete(self, context: Any, **kwargs: Any) -> None:
        self._sink.notify("tunnel_delete", tunnel_ip=kwargs.get("tunnel_ip"),
                          tunnel_type=kwargs.get("tunnel_type"))

    def add_fdb_entries(self, context: Any, fdb_entries: dict[str, Any],
                        host: str | None = None) -> None:
        self._sink.notify("add_fdb_entries", fdb_entries=fdb_entries)

    def remove_fdb_entries(self, context: Any, fdb_entries: dict[str, Any],
                           host: str | None = None) -> None:
        self._sink.notify("remove_fdb_entries", fdb_entries=fdb_entries)

    def update_fdb_entries(self, context: Any, fdb_entries: dict[str, Any],
                           host: str | None = None) -> None:
        self._sink.notify("update_fdb_entries", fdb_entries=fdb_entries)

    # q-agent-notifier-security_group-update (sent to <topic>.<host>)

    def security_groups_rule_updated(self, context: Any, **kwargs: Any) -> None:
        self._sink.notify("security_groups_rule_updated",
                          security_groups=list(kwargs.get("security_groups") or ()))

    def security_groups_member_updated(self, context: Any, **kwargs: Any) -> None:
        self._sink.notify("security_groups_member_updated",
                          security_groups=list(kwargs.get("security_groups") or ()))

    def security_groups_provider_updated(self, context: Any, **kwargs: Any) -> None:
        devices = kwargs.get("devices_to_update")
        self._sink.notify("security_groups_provider_updated",
                          devices_to_update=None if devices is None else list(devices))
