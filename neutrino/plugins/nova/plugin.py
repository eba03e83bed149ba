"""The Nova notifier as a service plugin: port after-events → Nova external events.

On when ``notify_nova_on_port_status_changes`` or ``notify_nova_on_port_data_changes``
is set (both are by default) and the ``[nova]`` section names an ``auth_type``;
without credentials there is no one to tell, and the server says so once at start.
"""

from __future__ import annotations

import logging
from typing import Any

from neutrino.context import Context
from neutrino.plugins.base import ServicePlugin
from neutrino.plugins.nova import events as nova_events
from neutrino.plugins.nova.client import KeystoneAuth, NovaClient
from neutrino.plugins.nova.notifier import Notifier

LOG = logging.getLogger(__name__)


class Plugin(ServicePlugin):
    """Subscribes a Notifier to the core plugin's port events (no API of its own)."""

    def __init__(self, conf: Any, db: Any, core_plugin: Any,
                 client: NovaClient | None = None) -> None:
        super().__init__(conf, db, core_plugin)
        self.notifier: Notifier | None = None
        self.client = client
        status, data = conf.notify_nova_on_port_status_changes, \
            conf.notify_nova_on_port_data_changes
        if not (status or data):
            return
        if self.client is None:
            if not conf.nova.auth_type:
                LOG.info("[nova] has no auth_type: Nova will not be sent port events")
                return
            self.client = NovaClient(KeystoneAuth(conf))
        self.notifier = Notifier(self.client.send, conf.send_events_interval)
        self.subscribe(core_plugin.events, status, data)

    def subscribe(self, events: Any, status: bool, data: bool) -> None:
        if status:
            events.subscribe("port", "after_delete", self._deleted)
        events.subscribe("port", "after_create", self._changed)
        events.subscribe("port", "after_update", self._changed)
        self._status, self._data = status, data

    def _queue(self, found: list[dict[str, Any]]) -> None:
        if found and self.notifier is not None:
            self.notifier.queue(found)

    def _changed(self, resource: str, event: str, ctx: Context, current: dict[str, Any],
                 original: dict[str, Any] | None, previous_status: str | None = None,
                 **details: Any) -> None:
        found: list[dict[str, Any]] = []
        if self._status:
            found += nova_events.status_events(current, previous_status)
            found += nova_events.binding_events(current, original)
        if self._data and event == "after_update":
            found += nova_events.data_events(current, original)
        self._queue(found)

    def _deleted(self, resource: str, event: str, ctx: Context, current: dict[str, Any],
                 original: dict[str, Any] | None, **details: Any) -> None:
        self._queue(nova_events.delete_events(current))

    def floatingip_changed(self, port: dict[str, Any] | None) -> None:
        """For the L3 plugin: a floating IP was associated with or taken from ``port``."""
        if self._data:
            self._queue(nova_events.floatingip_events(port))

    def stop(self) -> None:
        if self.notifier is not None:
            self.notifier.stop()
        if self.client is not None:
            self.client.close()
