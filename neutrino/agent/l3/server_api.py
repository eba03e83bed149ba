"""What the L3 agent needs from the server, and what the server tells it (Neutron's names).

:class:`L3PluginApi` is Neutron's ``L3PluginApi`` (calls on ``q-l3-plugin``), the agent's
view of the server: a fake in tests, oslo.messaging in production (``messaging``).
:class:`L3AgentNotifications` is the endpoint of the casts on ``l3_agent.<host>``; each
method only queues the news for the agent loop, where updates to one router coalesce.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

L3_PLUGIN_TOPIC = "q-l3-plugin"
L3_AGENT_TOPIC = "l3_agent"
AGENT_BINARY_L3 = "neutron-l3-agent"
NOTIFIER_API_VERSION = "1.4"  # Neutron's L3 agent RPC API


class L3PluginApi(Protocol):
    """The ``q-l3-plugin`` calls of the L3 agent (the host is bound by the implementation)."""

    def get_router_ids(self) -> list[str]:
        """Ids of the routers scheduled to this host's L3 agent."""

    def sync_routers(self, router_ids: Iterable[str] | None = None
                     ) -> list[dict[str, Any]]:
        """The router dicts of the routers scheduled here (only ``router_ids`` if given;
        unknown or unscheduled ones are absent)."""

    def update_floatingip_statuses(self, router_id: str,
                                   fip_statuses: dict[str, str]) -> None:
        """Set the statuses (ACTIVE, DOWN, ERROR) of floating IPs of ``router_id``."""


class AgentSink(Protocol):
    def notify(self, kind: str, **payload: Any) -> None: ...


class L3AgentNotifications:
    """RPC endpoint of Neutron's ``L3AgentNotifyAPI`` casts."""

    def __init__(self, sink: AgentSink) -> None:
        self._sink = sink

    def routers_updated(self, context: Any, routers: Iterable[Any] | None = None,
                        **kwargs: Any) -> None:
        ids = [r["id"] if isinstance(r, dict) else str(r) for r in routers or ()]
        if ids:
            self._sink.notify("routers_changed", router_ids=ids)

    def router_deleted(self, context: Any, router_id: str, **kwargs: Any) -> None:
        self._sink.notify("router_gone", router_id=router_id)

    def router_added_to_agent(self, context: Any, payload: Iterable[str],
                              **kwargs: Any) -> None:
        ids = [str(r) for r in payload or ()]
        if ids:
            self._sink.notify("routers_changed", router_ids=ids)

    def router_removed_from_agent(self, context: Any, payload: dict[str, Any],
                                  **kwargs: Any) -> None:
        self._sink.notify("router_gone", router_id=payload["router_id"])

    def agent_updated(self, context: Any, payload: dict[str, Any], **kwargs: Any) -> None:
        if payload.get("admin_state_up"):
            self._sink.notify("resync", reason="agent enabled")
