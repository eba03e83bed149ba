"""The OVS agent over oslo.messaging: adapters from ``neutrino.rpc.client`` to ``server_api``.

The agent is written against the small protocols of ``server_api`` (Neutron's method
names and arguments); :class:`RpcPluginApi` and :class:`RpcStateReportApi` put the RPC
client behind them, and :func:`start_consumers` delivers the server's casts
(``q-agent-notifier-*``, fanout and ``<topic>.<host>``, including the security-group
casts) to :class:`AgentNotifications`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import oslo_messaging

from neutrino.agent.ovs.server_api import AgentNotifications, AgentSink, RpcError
from neutrino.rpc import client, topics


class RpcPluginApi:
    """The agent's ``PluginApi`` over ``q-plugin`` (calls with time-out back-off)."""

    def __init__(self, transport: oslo_messaging.Transport, host: str,
                 timeout: float = client.DEFAULT_TIMEOUT, step: int = client.DEFAULT_STEP
                 ) -> None:
        self.api = client.PluginApi(transport, host, timeout=timeout, step=step)

    def get_devices_details_list_and_failed_devices(
            self, devices: list[str], agent_id: str, host: str) -> dict[str, Any]:
        return self.api.get_devices_details_list_and_failed_devices(devices)

    def update_device_list(self, devices_up: list[str], devices_down: list[str],
                           agent_id: str, host: str,
                           refresh_tunnels: bool = False) -> dict[str, Any]:
        return self.api.update_device_list(devices_up, devices_down,
                                           refresh_tunnels=refresh_tunnels)

    def tunnel_sync(self, tunnel_ip: str, tunnel_type: str, host: str) -> dict[str, Any]:
        try:
            return self.api.tunnel_sync(tunnel_ip, tunnel_type)
        except client.RpcError as exc:
            raise RpcError(str(exc)) from exc

    def get_ports_by_vnic_type_and_host(self, vnic_type: str, host: str
                                        ) -> list[dict[str, Any]]:
        try:
            return list(self.api.caller.call("get_ports_by_vnic_type_and_host",
                                             vnic_type=vnic_type, host=host) or [])
        except oslo_messaging.RemoteError as exc:
            if exc.exc_type in ("NoSuchMethod", "UnsupportedVersion"):
                raise NotImplementedError(str(exc)) from exc
            raise RpcError(str(exc)) from exc
        except client.RpcError as exc:
            raise RpcError(str(exc)) from exc

    def security_group_info_for_devices(self, devices: list[str]) -> dict[str, Any]:
        # a failure fails the round: a port is never wired without its firewall
        try:
            return dict(self.api.caller.call("security_group_info_for_devices",
                                             devices=list(devices)) or {})
        except (oslo_messaging.RemoteError, client.RpcError) as exc:
            raise RpcError(str(exc)) from exc


class RpcStateReportApi:
    """The heartbeat over ``q-reports-plugin``; a report that did not get through raises."""

    def __init__(self, transport: oslo_messaging.Transport, timeout: float = 30.0) -> None:
        self.api = client.StateReportApi(transport, timeout=timeout)

    def report_state(self, agent_state: dict[str, Any], use_call: bool = True) -> Any:
        result = self.api.report_state(agent_state, use_call=use_call)
        if result is None and use_call:
            raise RpcError("report_state did not get through")
        return result


class _Endpoint(AgentNotifications):
    target = oslo_messaging.Target(version=topics.AGENT_NOTIFIER_VERSION)


def consumer_topics(l2_population: bool, only: Iterable[str] | None = None) -> list[str]:
    """The topics to consume (``only`` narrows them, e.g. for simulated agents).

    ``q-agent-notifier-security_group-update`` is always among them, as in Neutron: with
    the firewall off the casts are dropped by the agent, but they must not pile up in a
    queue nobody reads (the in-process bus keeps a direct cast's queue until read).
    """
    names = client.consumer_topics(l2_population, extra=[topics.SECURITY_GROUP_CONSUMER])
    if only is not None:
        wanted = set(only)
        names = [name for name in names if name in wanted]
    return names


def start_consumers(transport: oslo_messaging.Transport, host: str, sink: AgentSink,
                    topic_names: Iterable[str]) -> client.AgentConsumer:
    """Listen on each topic, fanout and ``<topic>.<host>``; casts go to ``sink``."""
    consumer = client.AgentConsumer(transport, host, [_Endpoint(sink)], list(topic_names))
    consumer.start()
    return consumer
