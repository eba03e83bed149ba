"""OVSDB monitor of VIFs (Interface rows with ``external_ids:iface-id``), pushed, not polled.

Calls back when a VIF comes, changes (e.g. gets its ofport) or goes, as ovsdb-server
reports it over the monitor session.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any

from ovsdbapp.backend.ovs_idl import connection, event, idlutils

from neutrino.agent.ovs.bridge import BridgeError, VifPort, vif_from_row

LOG = logging.getLogger(__name__)

INTERFACE_COLUMNS = ("name", "ofport", "external_ids")


class VifChange(enum.Enum):
    """What happened to a VIF."""

    ADDED = "added"
    UPDATED = "updated"
    DELETED = "deleted"


VifCallback = Callable[[VifChange, VifPort], None]


def _row_dict(row: Any) -> dict[str, Any]:
    return {column: getattr(row, column, None) for column in INTERFACE_COLUMNS}


def _had_iface_id(old: Any) -> bool | None:
    """Whether the previous row version was a VIF; None when the update left external_ids."""
    if old is None or not hasattr(old, "external_ids"):
        return None
    return "iface-id" in (old.external_ids or {})


def classify(kind: str, row: Any, old: Any) -> tuple[VifChange, VifPort] | None:
    """Turn an OVSDB row event into a VIF change (None when it concerns no VIF).

    A row gaining ``iface-id`` is ADDED, losing it DELETED, as the agent must treat them.
    """
    vif = vif_from_row(_row_dict(row))
    if kind == "delete":
        return (VifChange.DELETED, vif) if vif else None
    if kind == "create":
        return (VifChange.ADDED, vif) if vif else None
    was_vif = _had_iface_id(old)
    if vif is None:
        if was_vif:
            old_vif = vif_from_row({**_row_dict(row), "external_ids": old.external_ids})
            return (VifChange.DELETED, old_vif) if old_vif else None
        return None
    return (VifChange.ADDED if was_vif is False else VifChange.UPDATED), vif


class _InterfaceEvent(event.RowEvent):
    """Every create/update/delete of an Interface row; :func:`classify` filters VIFs."""

    def __init__(self, callback: VifCallback) -> None:
        super().__init__((self.ROW_CREATE, self.ROW_UPDATE, self.ROW_DELETE), "Interface",
                         None)
        self._callback = callback

    def run(self, kind: str, row: Any, old: Any) -> None:
        change = classify(kind, row, old)
        if change is not None:
            try:
                self._callback(*change)
            except Exception:  # a failing consumer must not stop the monitor
                LOG.exception("VIF callback failed for %s", change)


class _NotifyingIdl(connection.OvsdbIdl):
    def __init__(self, remote: str, helper: Any, handler: event.RowEventHandler) -> None:
        super().__init__(remote, helper)
        self._handler = handler

    def notify(self, kind: str, row: Any, updates: Any = None) -> None:
        self._handler.notify(kind, row, updates)


class VifMonitor:
    """Watch one OVSDB for VIF changes; ``callback(change, vif)`` runs on the monitor's thread.

    On start every existing VIF is reported as ADDED (the initial monitor reply), so a
    restarted agent learns its ports without a separate listing.
    """

    def __init__(self, ovsdb_connection: str, callback: VifCallback,
                 timeout: float = 10.0) -> None:
        self.ovsdb_connection = ovsdb_connection
        self.callback = callback
        self.timeout = timeout
        self._conn: connection.Connection | None = None
        self._handler: event.RowEventHandler | None = None

    def start(self) -> None:
        """Connect and begin reporting; :class:`BridgeError` if OVSDB cannot be reached."""
        try:
            helper = idlutils.get_schema_helper(self.ovsdb_connection, "Open_vSwitch")
        except Exception as exc:  # ovsdbapp raises bare Exception on connection failure
            raise BridgeError(f"cannot reach OVSDB at {self.ovsdb_connection}: {exc}") from exc
        helper.register_columns("Interface", list(INTERFACE_COLUMNS))
        self._handler = event.RowEventHandler()
        self._handler.watch_event(_InterfaceEvent(self.callback))
        idl = _NotifyingIdl(self.ovsdb_connection, helper, self._handler)
        self._conn = connection.Connection(idl=idl, timeout=self.timeout)
        self._conn.start()

    def stop(self) -> None:
        """Disconnect and stop the notification thread (idempotent)."""
        if self._conn is not None:
            self._conn.stop(timeout=self.timeout)
            self._conn = None
        if self._handler is not None:
            self._handler.shutdown()
            self._handler = None

    def __enter__(self) -> VifMonitor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
