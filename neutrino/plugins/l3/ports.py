"""What the L3 plugin does when a port goes: guard router ports, release floating IPs.

Through ``core_plugin.events`` ``port`` ``precommit_delete`` (inside the port's
transaction): a port a router or a floating IP still owns cannot be deleted
through the port API (409 ``L3PortInUse``, as in Neutron) — the plugin's own
deletes carry ``internal_context()`` and pass; any other port takes its floating
IPs' associations along, and their ``after_update`` follows the port's
``after_delete``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from neutrino.apidef import l3
from neutrino.context import Context
from neutrino.db.models import FloatingIP
from neutrino.plugins.events import Events
from neutrino.plugins.l3 import store
from neutrino.plugins.l3.base import is_internal

Disassociate = Any  # (session, ctx, port_id) -> [(fip, original)]


def owned(session: Session, port: dict[str, Any]) -> bool:
    """True if a router or floating IP of this server still claims ``port``."""
    owner = port.get("device_owner")
    if owner == l3.DEVICE_OWNER_FLOATINGIP:
        return bool(session.execute(select(exists().where(
            FloatingIP.floating_port_id == port["id"]))).scalar())
    if owner in (l3.DEVICE_OWNER_ROUTER_INTF, l3.DEVICE_OWNER_ROUTER_GW):
        return store.router_of_port(session, port["id"]) is not None
    return False


class PortGuard:
    """The ``port`` callbacks of the L3 plugin."""

    def __init__(self, events: Events, disassociate: Disassociate) -> None:
        self.events = events
        self.disassociate = disassociate
        # Floating IPs released in a port's transaction, announced once it commits.
        self._released: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        events.subscribe("port", "precommit_delete", self.precommit_delete)
        events.subscribe("port", "after_delete", self.after_delete)

    def precommit_delete(self, resource: str, event: str, ctx: Context,
                         current: dict[str, Any], original: Any = None, *,
                         session: Session, **details: Any) -> None:
        if not is_internal(ctx) and owned(session, current):
            raise l3.L3PortInUse(port_id=current["id"], device_owner=current["device_owner"])
        released = self.disassociate(session, ctx, current["id"])
        if released:
            self._released[current["id"]] = released

    def after_delete(self, resource: str, event: str, ctx: Context,
                     current: dict[str, Any], original: Any = None, **details: Any) -> None:
        for fip, before in self._released.pop(current["id"], []):
            self.events.publish("floatingip", "after_update", ctx, fip, before)
