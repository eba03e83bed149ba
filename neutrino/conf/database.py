"""[database] options: the SQLAlchemy URL and pool settings."""

from __future__ import annotations

from oslo_config import cfg

OPTS = [
    cfg.StrOpt("connection", default="sqlite:///neutrino.sqlite", secret=True,
               help="SQLAlchemy URL: sqlite:///file, postgresql+psycopg://…, "
                    "mysql+pymysql://…"),
    cfg.IntOpt("max_pool_size", default=10, help="Connections kept open per process."),
    cfg.IntOpt("max_overflow", default=20, help="Extra connections allowed under load."),
    cfg.IntOpt("pool_timeout", default=30, help="Seconds to wait for a pooled connection."),
    cfg.IntOpt("max_retries", default=10,
               help="Times a request is retried on deadlock or serialization failure."),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group="database")
