"""The schema exists only through Alembic, and the migrations match the models.

On every backend: a database built by ``neutrino db upgrade`` compares equal to the
models (Alembic's autogenerate finds nothing to do), and the schema is at head.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from neutrino.db import migration, models  # noqa: F401  (registers every table)
from neutrino.db.base import Base
from tests.fixtures.servers import REPO, make_database, write_config

pytestmark = pytest.mark.functional


def test_migrated_schema_matches_models(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == []
        assert migration.is_current(engine)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_neutrino_db_upgrade_command(backend: str, tmp_path) -> None:
    with make_database(backend, tmp_path, migrate=False) as url:
        conf = write_config(tmp_path / "neutron.conf", {"database": {"connection": url}})
        out = subprocess.run([sys.executable, "-m", "neutrino.cmd.neutrino", "db", "upgrade",
                              "--config-file", str(conf)], cwd=REPO, capture_output=True,
                             text=True, check=True)
        assert "database upgraded" in out.stdout
        engine = create_engine(url)
        try:
            assert migration.is_current(engine)
            assert "ports" in inspect(engine).get_table_names()
        finally:
            engine.dispose()


def test_server_refuses_an_unmigrated_database(tmp_path) -> None:
    with make_database("sqlite", tmp_path, migrate=False) as url:
        conf = write_config(tmp_path / "neutron.conf", {
            "DEFAULT": {"auth_strategy": "noauth"}, "database": {"connection": url}})
        out = subprocess.run([sys.executable, "-m", "neutrino.cmd.server", "--config-file",
                              str(conf)], cwd=REPO, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode != 0
        assert "neutrino db upgrade" in out.stderr
