"""The SDN journal: one row per change to send, its dependency links, its attempts,
and the lock row of the maintenance task.

Links carry no foreign keys on purpose: a link whose parent row is gone (sent and
deleted) simply no longer blocks, so recording never races a completing worker
(networking-odl had to retry the whole request on that race, bug #1713447), and
no statement takes a shared lock on a parent row (a source of InnoDB deadlocks).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.base import UUID_LEN, Base, BigIntPK

# Microseconds matter for ordering and timeouts; MySQL/MariaDB DATETIME drops them
# unless asked, and TEXT there stops at 64 KiB.
PreciseDateTime = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
JsonText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")

PENDING = "pending"
PROCESSING = "processing"
COMPLETED = "completed"
FAILED = "failed"
STATES = (PENDING, PROCESSING, COMPLETED, FAILED)
BLOCKING_STATES = (PENDING, PROCESSING)

CREATE = "create"
UPDATE = "update"
DELETE = "delete"
OPERATIONS = (CREATE, UPDATE, DELETE)


class JournalEntry(Base):
    """One create/update/delete of one resource, to be sent to the controller."""

    __tablename__ = "sdn_journal"
    # Seqnums are never reused (SQLite reuses a deleted max rowid without
    # AUTOINCREMENT): a link left behind by a completed row must never point at
    # a new one.
    # (state, seqnum): claims take the oldest pending rows. (operation, state): a
    # delete looks for its children's pending deletes, which without it means
    # reading the data of the whole backlog once per delete.
    __table_args__ = (Index("ix_sdn_journal_state_seqnum", "state", "seqnum"),
                      Index("ix_sdn_journal_operation_state", "operation", "state"),
                      {"sqlite_autoincrement": True})

    seqnum: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    object_type: Mapped[str] = mapped_column(String(36))
    object_uuid: Mapped[str] = mapped_column(String(UUID_LEN), index=True)
    operation: Mapped[str] = mapped_column(String(36))
    data: Mapped[str | None] = mapped_column(JsonText, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(PreciseDateTime)
    last_retried: Mapped[dt.datetime] = mapped_column(PreciseDateTime)
    version_id: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255), nullable=True)


class JournalDependency(Base):
    """``dependent`` may not be sent while ``depends_on`` is pending or processing."""

    __tablename__ = "sdn_journal_deps"

    dependent: Mapped[int] = mapped_column(BigInteger, primary_key=True,
                                           autoincrement=False)
    depends_on: Mapped[int] = mapped_column(BigInteger, primary_key=True,
                                            autoincrement=False)


class JournalAttempt(Base):
    """History of a row beyond the happy path: errors, resets, retries, recovery."""

    __tablename__ = "sdn_journal_attempts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    seqnum: Mapped[int] = mapped_column(BigInteger, index=True)
    at: Mapped[dt.datetime] = mapped_column(PreciseDateTime)
    event: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(255), default="")


class JournalTask(Base):
    """Lock row of a periodic task shared by every server (``maintenance``)."""

    __tablename__ = "sdn_journal_tasks"

    task: Mapped[str] = mapped_column(String(70), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    processing_operation: Mapped[str | None] = mapped_column(String(70), nullable=True)
    lock_updated: Mapped[dt.datetime] = mapped_column(PreciseDateTime)
    last_run: Mapped[dt.datetime | None] = mapped_column(PreciseDateTime, nullable=True)
