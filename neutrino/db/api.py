"""Engines, sessions and transactions, with retries on deadlock and serialization errors.

Every write of a request runs in one transaction (``Database.transaction``). When
the backend aborts it for a deadlock or a serialization conflict, the whole request
is retried (``Database.retrying``) — never a partial step — so the caller sees either
the full effect or a clean error.
"""

from __future__ import annotations

import contextlib
import logging
import random
import select
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from neutrino.exceptions import ServiceUnavailable

LOG = logging.getLogger(__name__)
T = TypeVar("T")

_PG_RETRY_STATES = {"40001", "40P01"}          # serialization_failure, deadlock_detected
_MYSQL_RETRY_CODES = {1213, 1205, 1020}        # deadlock, lock wait timeout, record changed


class CommitOutcomeUnknown(ServiceUnavailable):
    message = ("The database connection was lost while committing the change; it may "
               "or may not have been applied.")


class RetryRequest(Exception):
    """Raised inside a transaction to ask for the whole operation to be run again."""


def is_retriable(exc: BaseException) -> bool:
    """True for errors that a fresh attempt of the same transaction can avoid."""
    if isinstance(exc, RetryRequest):
        return True
    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return False
    if exc.connection_invalidated:
        return True  # the server closed a pooled connection (restart, failover)
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in _PG_RETRY_STATES:
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_RETRY_CODES:
        return True
    return "database is locked" in str(orig)


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
        # Autocommit at the driver level; SQLAlchemy's "begin" event below issues
        # BEGIN IMMEDIATE so that concurrent writers queue on the file lock instead
        # of failing when a read transaction tries to upgrade to a write.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                       "busy_timeout=30000"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _socket_of(dbapi_conn: Any) -> Any:
    if hasattr(dbapi_conn, "fileno"):  # psycopg
        return dbapi_conn.fileno()
    sock = getattr(dbapi_conn, "_sock", None)  # PyMySQL
    return sock.fileno() if sock is not None else None


def _drop_dead_connections(engine: Engine) -> None:
    """Refuse pooled connections the server has closed, without a round trip.

    An idle connection has nothing to read; if its socket is readable, the server
    sent a termination notice or closed it (restart, failover, idle kill). The pool
    then discards it and opens a new one — pool_pre_ping's guarantee for a
    ``select()`` instead of a query per checkout.
    """
    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        try:
            fileno = _socket_of(dbapi_conn)
            readable = fileno is not None and bool(select.select([fileno], [], [], 0)[0])
        except (OSError, ValueError):
            readable = True
        if readable:
            raise DisconnectionError("server closed the pooled connection")


def make_engine(url: str, pool_size: int = 10, max_overflow: int = 20,
                pool_timeout: int = 30, for_writes: bool = True) -> Engine:
    """An engine tuned for the backend named by ``url``."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, immediate=for_writes)
    # No pool_pre_ping (a round trip per checkout): _drop_dead_connections instead.
    kw: dict[str, Any] = {"pool_size": pool_size, "max_overflow": max_overflow,
                          "pool_timeout": pool_timeout, "pool_recycle": 3600}
    if url.startswith("postgresql") and "+" not in url.split("://")[0]:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    if url.startswith("mysql") and "+" not in url.split("://")[0]:
        url = url.replace("mysql://", "mysql+pymysql://", 1)
    if url.startswith("mysql"):
        # READ COMMITTED: a retried claim must see rows that others committed.
        kw["isolation_level"] = "READ COMMITTED"
    engine = create_engine(url, **kw)
    _drop_dead_connections(engine)
    return engine


class Database:
    """One engine and its session factory, shared by a process."""

    def __init__(self, url: str, max_retries: int = 10, **engine_kw: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kw)
        # Readers: on SQLite an engine of their own, so they never take the writers'
        # file lock at BEGIN. Elsewhere autocommit on the same pool: under READ
        # COMMITTED every statement takes a fresh snapshot anyway, so BEGIN/ROLLBACK
        # around reads would only add two round trips.
        self.read_engine = (make_engine(url, for_writes=False) if url.startswith("sqlite")
                            else self.engine.execution_options(isolation_level="AUTOCOMMIT"))
        self.max_retries = max_retries
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._reads = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error.

        A connection lost during COMMIT leaves the outcome unknown: the server may have
        committed before the connection went. That is ``CommitOutcomeUnknown`` (503),
        which ``retrying`` does not retry: running a create again could make it twice.
        A connection lost before COMMIT rolled the transaction back and is retried.
        """
        with self._sessions() as session:
            session.begin()
            try:
                yield session
            except BaseException:
                # A rollback that fails (the connection is gone) must not hide why.
                with contextlib.suppress(Exception):
                    session.rollback()
                raise
            try:
                session.commit()
            except DBAPIError as e:
                if e.connection_invalidated:
                    LOG.error("database connection lost during COMMIT: %s", e.orig)
                    raise CommitOutcomeUnknown() from e
                raise

    @contextlib.contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads only (no explicit write lock on SQLite)."""
        with self._reads() as session:
            yield session
            session.rollback()

    def retrying(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (which opens its own transaction) again on retriable errors."""
        for attempt in range(self.max_retries + 1):
            try:
                return fn()
            except Exception as exc:
                if attempt >= self.max_retries or not is_retriable(exc):
                    raise
                delay = min(0.5, 0.005 * 2 ** attempt) * random.random()
                LOG.debug("retrying after %s (attempt %d)", type(exc).__name__, attempt + 1)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def write(self, fn: Callable[[Session], T]) -> T:
        """``fn(session)`` in one transaction, the whole transaction retried on
        retriable errors (deadlocks, serialization failures, lost connections)."""
        def attempt() -> T:
            with self.transaction() as session:
                return fn(session)
        return self.retrying(attempt)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.dialect == "sqlite":  # elsewhere the readers share the writers' pool
            self.read_engine.dispose()
