"""The L3 agent over oslo.messaging: ``q-l3-plugin`` calls and the ``l3_agent`` consumer.

Calls carry Neutron's kwargs (``host`` on each). ``sync_routers`` asks for at most
``SYNC_ROUTERS_MAX_CHUNK`` routers at a time and halves the chunk when a call times out,
as Neutron's agent does for servers slow to build large answers. The consumer listens on
``l3_agent.<host>`` with one dispatch thread, so casts reach the agent's queue in the
order they were sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import oslo_messaging

from neutrino.agent.l3.server_api import (
    L3_AGENT_TOPIC,
    L3_PLUGIN_TOPIC,
    NOTIFIER_API_VERSION,
    AgentSink,
    L3AgentNotifications,
)
from neutrino.rpc import client

SYNC_ROUTERS_MAX_CHUNK = 256
SYNC_ROUTERS_MIN_CHUNK = 32


class RpcL3PluginApi:
    """:class:`~neutrino.agent.l3.server_api.L3PluginApi` over ``q-l3-plugin``."""

    def __init__(self, transport: oslo_messaging.Transport, host: str,
                 timeout: float = client.DEFAULT_TIMEOUT) -> None:
        self.host = host
        self.chunk = SYNC_ROUTERS_MAX_CHUNK
        self.caller = client._Caller(transport, L3_PLUGIN_TOPIC, timeout=timeout)

    def get_router_ids(self) -> list[str]:
        return [str(r) for r in self.caller.call("get_router_ids", host=self.host) or []]

    def sync_routers(self, router_ids: Iterable[str] | None = None
                     ) -> list[dict[str, Any]]:
        if router_ids is None:
            return list(self.caller.call("sync_routers", host=self.host) or [])
        ids = list(router_ids)
        found: list[dict[str, Any]] = []
        while ids:
            chunk = ids[:self.chunk]
            try:
                found += self.caller.call("sync_routers", host=self.host,
                                          router_ids=chunk) or []
            except client.ServerUnreachable:
                if self.chunk <= SYNC_ROUTERS_MIN_CHUNK:
                    raise
                self.chunk = max(SYNC_ROUTERS_MIN_CHUNK, self.chunk // 2)
                continue
            ids = ids[len(chunk):]
        return found

    def update_floatingip_statuses(self, router_id: str,
                                   fip_statuses: dict[str, str]) -> None:
        self.caller.call("update_floatingip_statuses", router_id=router_id,
                         fip_statuses=dict(fip_statuses))

    def get_service_plugin_list(self) -> list[str]:
        return list(self.caller.call("get_service_plugin_list") or [])


class _Endpoint(L3AgentNotifications):
    target = oslo_messaging.Target(version=NOTIFIER_API_VERSION)


def start_consumer(transport: oslo_messaging.Transport, host: str, sink: AgentSink
                   ) -> client.AgentConsumer:
    """Deliver the ``l3_agent`` casts for ``host`` to ``sink``."""
    consumer = client.AgentConsumer(transport, host, [_Endpoint(sink)], [L3_AGENT_TOPIC])
    consumer.start()
    return consumer
