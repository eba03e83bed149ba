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
_MYSQL_STATUS_IN_TRANS = 1                     # SERVER_STATUS_IN_TRANS


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


def _in_transaction(dbapi_conn: Any) -> bool:
    """Whether the server holds a transaction open on this connection (True if unsure)."""
    pgconn = getattr(dbapi_conn, "pgconn", None)
    if pgconn is not None:  # psycopg
        return bool(pgconn.transaction_status != 0)  # 0: TransactionStatus.IDLE
    server_status = getattr(dbapi_conn, "server_status", None)
    if isinstance(server_status, int):  # PyMySQL
        return bool(server_status & _MYSQL_STATUS_IN_TRANS)
    return True


def _reset_on_return(engine: Engine, autocommit: bool) -> None:
    """Roll back a returned connection only if a transaction is still open on it.

    A session closing its connection has already rolled back (or committed), so the
    pool's own unconditional rollback would be one more round trip per checkin on
    MariaDB, where PyMySQL sends ROLLBACK whatever the state. On a pool whose
    connections rest in autocommit (PostgreSQL), a writer's connection goes back to it.
    """
    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_conn: Any, _rec: Any, state: Any) -> None:
        if state.terminate_only:
            return  # the pool is closing this connection
        if not state.transaction_was_reset and _in_transaction(dbapi_conn):
            dbapi_conn.rollback()
        if autocommit and not dbapi_conn.autocommit:
            dbapi_conn.autocommit = True


def _leave_autocommit(dbapi_conn: Any) -> None:
    # No round trip: psycopg sends BEGIN with the transaction's first statement, so a
    # connection lost there is that statement's error, retried like any other. A
    # savepoint begins on a connection already out of autocommit.
    if dbapi_conn.autocommit:
        dbapi_conn.autocommit = False


def _transactional(engine: Engine) -> Engine:
    """A view of an autocommit pool (PostgreSQL) whose connections begin transactions,
    for code that uses the engine directly; ``Database`` sessions do it themselves."""
    writes = engine.execution_options()

    @event.listens_for(writes, "begin")
    def _on_begin(conn: Any) -> None:
        _leave_autocommit(conn.connection.dbapi_connection)

    return writes


def _pooled_engine(url: str, pool_size: int, max_overflow: int, pool_timeout: int) -> Engine:
    # No pool_pre_ping (a round trip per checkout): _drop_dead_connections instead.
    kw: dict[str, Any] = {"pool_size": pool_size, "max_overflow": max_overflow,
                          "pool_timeout": pool_timeout, "pool_recycle": 3600,
                          "pool_reset_on_return": None}  # _reset_on_return instead
    if url.startswith("postgresql") and "+" not in url.split("://")[0]:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    if url.startswith("mysql") and "+" not in url.split("://")[0]:
        url = url.replace("mysql://", "mysql+pymysql://", 1)
    autocommit = url.startswith("postgresql")
    if autocommit:
        # Connections rest in autocommit and readers use them so: under READ
        # COMMITTED every statement takes a fresh snapshot anyway, so BEGIN/ROLLBACK
        # around reads would only add two round trips. Writers leave autocommit for
        # their transaction; _reset_on_return restores it. Only the driver's flag
        # changes, never SQLAlchemy's isolation_level: that switch at checkout and
        # back at checkin cost every reader more than its query.
        kw["isolation_level"] = "AUTOCOMMIT"
        # A reader's connection has no transaction to roll back at close; a writer's
        # is out of autocommit until it is back in the pool, so its rollback is sent.
        kw["skip_autocommit_rollback"] = True
    if url.startswith("mysql"):
        # READ COMMITTED: a retried claim must see rows that others committed.
        # Readers run in such transactions too (PyMySQL begins one with the first
        # statement, no round trip; a ROLLBACK ends it): each statement reads the
        # latest committed rows, without the round trips of SET autocommit=1 before
        # and SET autocommit=0 and the isolation level again after.
        kw["isolation_level"] = "READ COMMITTED"
    engine = create_engine(url, **kw)
    _drop_dead_connections(engine)
    _reset_on_return(engine, autocommit)
    return engine


def _after_begin(_session: Any, _transaction: Any, conn: Any) -> None:
    _leave_autocommit(conn.connection.dbapi_connection)


def _rests_in_autocommit(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def make_engine(url: str, pool_size: int = 10, max_overflow: int = 20,
                pool_timeout: int = 30, for_writes: bool = True) -> Engine:
    """An engine tuned for the backend named by ``url``, for transactions."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, immediate=for_writes)
    engine = _pooled_engine(url, pool_size, max_overflow, pool_timeout)
    return _transactional(engine) if _rests_in_autocommit(engine) else engine


class Database:
    """One engine and its session factory, shared by a process."""

    def __init__(self, url: str, max_retries: int = 10, pool_size: int = 10,
                 max_overflow: int = 20, pool_timeout: int = 30) -> None:
        self.url = url
        self.max_retries = max_retries
        if url.startswith("sqlite"):
            self.engine = make_engine(url)
            # Readers: an engine of their own, so they never take the writers' file
            # lock at BEGIN.
            self.read_engine = make_engine(url, for_writes=False)
            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        else:
            # Readers and writers share one pool (see _pooled_engine).
            self.read_engine = _pooled_engine(url, pool_size, max_overflow, pool_timeout)
            self.engine = self.read_engine
            self._sessions = sessionmaker(self.read_engine, expire_on_commit=False)
            if _rests_in_autocommit(self.read_engine):
                self.engine = _transactional(self.read_engine)
                # A session event rather than the engine's "begin": events on an
                # engine cost every statement on it a dispatch.
                event.listen(self._sessions, "after_begin", _after_begin)
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
        """A session for reads only (no explicit write lock on SQLite).

        Closing it ends its connection's transaction, if any; no ``rollback()`` first,
        which would only expire every object it loaded before dropping them all.
        """
        with self._reads() as session:
            yield session

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
        if self.read_engine.pool is not self.engine.pool:  # SQLite
            self.read_engine.dispose()
