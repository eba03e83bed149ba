"""OVSDB monitor of the VIFs on br-int (Interface rows with ``external_ids:iface-id``).

Pushed, not polled: ovsdb-server sends every change of the Bridge, Port and Interface
tables over the monitor session. After each batch of updates the monitor takes the set of
VIFs of the integration bridge (bridge -> ports -> interfaces) and reports what differs
from the previous set: a VIF that came, changed (e.g. got its ofport) or went. Working on
whole snapshots rather than single row events matters because one ``ovs-vsctl add-port``
changes three tables and the rows arrive in no guaranteed order; only after the batch is
it known which bridge an interface is on. Interfaces on other bridges (br-tun, physical
bridges, another bridge a VIF was moved to) are not this agent's VIFs.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ovsdbapp.backend.ovs_idl import connection, idlutils

from neutrino.agent.ovs.bridge import BridgeError, VifPort, vif_from_row

LOG = logging.getLogger(__name__)

MONITORED_COLUMNS = {
    "Bridge": ("name", "ports"),
    "Port": ("name", "interfaces"),
    "Interface": ("name", "ofport", "external_ids"),
}
INTERFACE_COLUMNS = MONITORED_COLUMNS["Interface"]


class VifChange(enum.Enum):
    """What happened to a VIF."""

    ADDED = "added"
    UPDATED = "updated"
    DELETED = "deleted"


VifCallback = Callable[[VifChange, VifPort], None]
VifSet = Mapping[str, VifPort]  # interface name -> VIF


def _row_dict(row: Any) -> dict[str, Any]:
    return {column: getattr(row, column, None) for column in INTERFACE_COLUMNS}


def bridge_vifs(bridges: Iterable[Any], bridge_name: str) -> dict[str, VifPort]:
    """The VIFs of bridge ``bridge_name``, from Bridge rows (``name``, ``ports``) whose
    ports hold Interface rows (``interfaces``), as the IDL presents them."""
    vifs: dict[str, VifPort] = {}
    for bridge in bridges:
        if getattr(bridge, "name", None) != bridge_name:
            continue
        for port in getattr(bridge, "ports", None) or ():
            for interface in getattr(port, "interfaces", None) or ():
                vif = vif_from_row(_row_dict(interface))
                if vif is not None:
                    vifs[vif.name] = vif
    return vifs


def diff_vifs(before: VifSet, after: VifSet) -> list[tuple[VifChange, VifPort]]:
    """The changes that turn VIF set ``before`` into ``after``: deletions first.

    An interface whose ``iface-id`` changed is the old port going and a new one coming.
    """
    deleted: list[tuple[VifChange, VifPort]] = []
    added: list[tuple[VifChange, VifPort]] = []
    updated: list[tuple[VifChange, VifPort]] = []
    for name, gone in sorted(before.items()):
        now = after.get(name)
        if now is None or now.port_id != gone.port_id:
            deleted.append((VifChange.DELETED, gone))
    for name, vif in sorted(after.items()):
        was = before.get(name)
        if was is None or vif.port_id != was.port_id:
            added.append((VifChange.ADDED, vif))
        elif vif != was:
            updated.append((VifChange.UPDATED, vif))
    return [*deleted, *added, *updated]


class _SnapshotIdl(connection.OvsdbIdl):
    """An IDL that calls ``on_change`` once after each ``run`` that changed anything."""

    def __init__(self, remote: str, helper: Any, on_change: Callable[[Any], None]) -> None:
        super().__init__(remote, helper)
        self._on_change = on_change
        self._seen_seqno: int | None = None

    def run(self) -> Any:
        result = super().run()
        if self.change_seqno != self._seen_seqno:
            self._seen_seqno = self.change_seqno
            try:
                self._on_change(self.tables)
            except Exception:  # a failing consumer must not stop the monitor
                LOG.exception("VIF monitor callback failed")
        return result


class VifMonitor:
    """Watch one OVSDB for the VIFs of ``bridge``; ``callback(change, vif)`` runs on the
    monitor's thread (keep it short: the agent only queues the news).

    On start every existing VIF is reported as ADDED (the initial monitor reply), so a
    restarted agent learns its ports without a separate listing.
    """

    def __init__(self, ovsdb_connection: str, callback: VifCallback,
                 bridge: str = "br-int", timeout: float = 10.0) -> None:
        self.ovsdb_connection = ovsdb_connection
        self.callback = callback
        self.bridge = bridge
        self.timeout = timeout
        self._conn: connection.Connection | None = None
        self._vifs: dict[str, VifPort] = {}

    def start(self) -> None:
        """Connect and begin reporting; :class:`BridgeError` if OVSDB cannot be reached."""
        try:
            helper = idlutils.get_schema_helper(self.ovsdb_connection, "Open_vSwitch")
        except Exception as exc:  # ovsdbapp raises bare Exception on connection failure
            raise BridgeError(f"cannot reach OVSDB at {self.ovsdb_connection}: {exc}") from exc
        for table, columns in MONITORED_COLUMNS.items():
            helper.register_columns(table, list(columns))
        idl = _SnapshotIdl(self.ovsdb_connection, helper, self._tables_changed)
        self._conn = connection.Connection(idl=idl, timeout=self.timeout)
        self._conn.start()

    def _tables_changed(self, tables: Mapping[str, Any]) -> None:
        bridges = tables["Bridge"].rows.values() if "Bridge" in tables else ()
        vifs = bridge_vifs(bridges, self.bridge)
        changes = diff_vifs(self._vifs, vifs)
        self._vifs = vifs
        for change in changes:
            try:
                self.callback(*change)
            except Exception:  # a failing consumer must not stop the monitor
                LOG.exception("VIF callback failed for %s", change)

    def stop(self) -> None:
        """Disconnect and stop the monitor's thread (idempotent)."""
        if self._conn is not None:
            self._conn.stop(timeout=self.timeout)
            self._conn = None

    def __enter__(self) -> VifMonitor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
