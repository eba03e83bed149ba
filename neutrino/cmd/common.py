"""Shared start-up steps of the entry points: logging and the schema check."""

from __future__ import annotations

import logging
import sys
from typing import Any

from neutrino.db import migration
from neutrino.db.api import make_engine


def setup_logging(conf: Any) -> None:
    logging.basicConfig(level=logging.DEBUG if conf.debug else logging.INFO,
                        format="%(asctime)s %(process)d %(levelname)s %(name)s %(message)s",
                        stream=sys.stderr)
    for noisy in ("sqlalchemy", "alembic", "amqp", "kombu", "oslo_messaging", "oslo_policy",
                  "keystonemiddleware", "ovsdbapp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def require_current_schema(url: str) -> None:
    engine = make_engine(url)
    try:
        if not migration.is_current(engine):
            raise SystemExit(f"The database at {engine.url!r} is not at the current schema; "
                             "run: neutrino db upgrade --config-file …")
    finally:
        engine.dispose()
