"""Database sessions: what readers and transactions see, and the state they leave on
the pooled connections that the next request gets."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.db.api import Database
from neutrino.db.models import Network

PROJECT = "p-db-api"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


def _add(session: Session | Connection, name: str) -> None:
    session.execute(insert(Network).values(id=str(uuid.uuid4()), project_id=PROJECT,
                                           name=name))


def _names(session: Session | Connection) -> set[str | None]:
    return set(session.execute(select(Network.name).where(
        Network.project_id == PROJECT)).scalars())


def _open_transactions(db: Database) -> int:
    """Pooled connections of ``db`` that the server sees inside a transaction."""
    if db.dialect == "postgresql":
        with db.read_engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%'")).scalar_one())
    raw = db.read_engine.raw_connection()  # the connection the last session returned
    try:
        cur = raw.cursor()
        cur.execute("SELECT @@in_transaction")
        return int(cur.fetchone()[0])
    finally:
        raw.close()


def test_a_reader_sees_each_commit_as_soon_as_it_is_made(db: Database) -> None:
    if db.dialect == "sqlite":
        pytest.skip("a SQLite reader is one read transaction, on a file lock of its own")
    name = f"seen-{uuid.uuid4().hex[:8]}"
    with db.reader() as reader:
        before = _names(reader)
        db.write(lambda session: _add(session, name))
        assert _names(reader) == before | {name}


def test_a_failed_transaction_leaves_nothing_and_a_savepoint_only_its_part(
        db: Database) -> None:
    lost, kept = f"lost-{uuid.uuid4().hex[:8]}", f"kept-{uuid.uuid4().hex[:8]}"
    with pytest.raises(RuntimeError), db.transaction() as session:
        _add(session, lost)
        raise RuntimeError("abort")
    with db.transaction() as session:
        _add(session, kept)
        with contextlib.suppress(IntegrityError), session.begin_nested():
            session.execute(insert(Network).values(id=None, project_id=PROJECT))
        _add(session, kept + "-2")
    with db.reader() as reader:
        names = _names(reader)
    assert lost not in names and {kept, kept + "-2"} <= names


def test_the_engine_used_directly_is_transactional(db: Database) -> None:
    name = f"direct-{uuid.uuid4().hex[:8]}"
    with db.engine.connect() as conn:
        _add(conn, name)
        assert name in _names(conn)
        conn.rollback()
    with db.reader() as reader:
        assert name not in _names(reader)


def test_no_pooled_connection_is_left_inside_a_transaction(db: Database) -> None:
    if db.dialect == "sqlite":
        pytest.skip("SQLite readers and writers have engines and pools of their own")
    for _ in range(3):
        db.write(lambda session: _add(session, "w"))
        with db.reader() as reader:
            _names(reader)
        with pytest.raises(IntegrityError), db.transaction() as session:
            session.execute(insert(Network).values(id=None, project_id=PROJECT))
        with db.reader() as reader:  # a reader after a writer: autocommit again
            _names(reader)
        assert _open_transactions(db) == 0


def _second_statement_began_a_transaction(session: Session) -> bool:
    """Whether two statements ran in two transactions (PostgreSQL)."""
    xid = text("SELECT txid_current()")
    return bool(session.execute(xid).scalar_one() != session.execute(xid).scalar_one())


def test_postgresql_readers_run_in_autocommit_and_writers_in_one_transaction(
        db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("autocommit readers are PostgreSQL's")
    for _ in range(8):  # the same pooled connection, from writer to reader and back
        with db.transaction() as session:
            assert not _second_statement_began_a_transaction(session)
        with db.reader() as reader:
            assert _second_statement_began_a_transaction(reader)
    with db.engine.connect() as conn, Session(conn) as session:
        assert not _second_statement_began_a_transaction(session)
