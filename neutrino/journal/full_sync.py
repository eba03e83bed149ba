"""Full sync: re-record every resource when the controller has lost its state.

The controller is known to be empty (wiped, replaced, new) when it lacks the
canary network, a network that only the journal ever creates, last, at the end of
each full sync. A full sync drops the pending creates and updates (they are
superseded), records a create for every resource in dependency order — links are
computed as for any row, so the workers send networks before their subnets and
subnets before their ports — and finally the canary's create, which waits for all of them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neutrino.db import resources
from neutrino.db.models import Network, Port, Subnet
from neutrino.db.models.journal import (
    BLOCKING_STATES,
    CREATE,
    PENDING,
    UPDATE,
    JournalDependency,
    JournalEntry,
)
from neutrino.journal.client import BaseControllerClient
from neutrino.journal.dependencies import Entry
from neutrino.journal.journal import hold_off_full_sync, record

LOG = logging.getLogger(__name__)

CANARY_ID = "bd8db3a8-2b30-4083-a8b3-b3fd46401142"
CANARY_NETWORK = {"id": CANARY_ID, "tenant_id": CANARY_ID, "project_id": CANARY_ID,
                  "name": "Sync Canary Network", "admin_state_up": False}
_CHUNK = 500


@dataclasses.dataclass(frozen=True)
class ResourceSource:
    """How to enumerate and load one synced resource type from Neutrino's database."""

    object_type: str
    all_ids: Callable[[Session], list[str]]
    load: Callable[[Session, Sequence[str]], list[dict[str, Any]]]


def _ids_of(model: Any) -> Callable[[Session], list[str]]:
    def all_ids(session: Session) -> list[str]:
        return list(session.execute(select(model.id).order_by(model.created_at, model.id))
                    .scalars())
    return all_ids


# In dependency order (parents first); service plugins add theirs with ``register``.
SOURCES: list[ResourceSource] = [
    ResourceSource("network", _ids_of(Network), resources.load_networks),
    ResourceSource("subnet", _ids_of(Subnet), resources.load_subnets),
    ResourceSource("port", _ids_of(Port), resources.load_ports),
]


# extend(object_type, session, items): adds what service plugins put on another
# plugin's resources (a port's ``security_groups``), so re-recorded rows carry what
# the API shows. Set by the sdn_controller driver to the core plugin's extenders.
Extend = Callable[[str, Session, list[dict[str, Any]]], None]
_extend: list[Extend] = []


def extend_with(extend: Extend) -> None:
    """Apply ``extend`` to everything full sync and recovery load (replaces the last)."""
    _extend[:] = [extend]


def load(source: ResourceSource, session: Session, ids: Sequence[str]) -> list[dict[str, Any]]:
    """``source``'s resources ``ids`` as the API shows them."""
    items = source.load(session, ids)
    for extend in _extend:
        extend(source.object_type, session, items)
    return items


def register(source: ResourceSource, before: str | None = None) -> None:
    """Add a resource type to full sync and recovery (before ``before`` if given)."""
    names = [s.object_type for s in SOURCES]
    SOURCES.insert(names.index(before) if before in names else len(SOURCES), source)


def source_for(object_type: str) -> ResourceSource | None:
    return next((s for s in SOURCES if s.object_type == object_type), None)


def canary_pending(session: Session) -> bool:
    j = JournalEntry
    return session.execute(select(j.seqnum).where(
        j.object_uuid == CANARY_ID, j.operation == CREATE,
        j.state.in_(BLOCKING_STATES)).limit(1)).first() is not None


def full_sync_needed(client: BaseControllerClient, session: Session) -> bool:
    """True when the controller lacks the canary and no canary create is on its way.

    Raises the client's errors when the controller cannot be asked.
    """
    if client.get("network", CANARY_ID) is not None:
        return False
    return not canary_pending(session)


def drop_pending_writes(session: Session) -> int:
    """Delete pending creates and updates (a full sync supersedes them), by key."""
    j = JournalEntry
    seqnums = list(session.execute(select(j.seqnum).where(
        j.state == PENDING, j.operation.in_((CREATE, UPDATE))).order_by(j.seqnum)).scalars())
    for i in range(0, len(seqnums), _CHUNK):
        chunk = seqnums[i:i + _CHUNK]
        session.execute(delete(j).where(j.seqnum.in_(chunk), j.state == PENDING))
        session.execute(delete(JournalDependency).where(JournalDependency.dependent.in_(chunk)))
    return len(seqnums)


def current_entries(session: Session) -> list[Entry]:
    """A create for every resource Neutrino holds, parents first."""
    entries: list[Entry] = []
    for source in SOURCES:
        ids = source.all_ids(session)
        for i in range(0, len(ids), _CHUNK):
            for item in load(source, session, ids[i:i + _CHUNK]):
                entries.append(Entry(source.object_type, item["id"], CREATE, item))
    return entries


def full_sync(session: Session, now: dt.datetime | None = None) -> int:
    """Re-record everything plus the canary in ``session``'s transaction; return rows."""
    hold_off_full_sync(session, exclusive=True)
    dropped = drop_pending_writes(session)
    entries = current_entries(session)
    seqnums = record(session, entries, now)
    # The canary waits for every row of the sync: once the controller has it, it
    # has everything (networking-odl only records it last, which orders nothing).
    record(session, [Entry("network", CANARY_ID, CREATE, dict(CANARY_NETWORK))], now,
           after=seqnums)
    LOG.info("full sync: dropped %d pending writes, recorded %d creates", dropped,
             len(entries) + 1)
    return len(entries) + 1
