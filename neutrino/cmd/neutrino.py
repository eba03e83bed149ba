"""neutrino: the all-in-one server (no arguments) and the admin commands.

    neutrino                       all-in-one: SQLite file, in-process bus, noauth,
                                   API on 127.0.0.1:9696
    neutrino run [--config-file F …]
    neutrino db upgrade|current [--config-file F …]
    neutrino journal status|list|show ID|retry ID|sync [--config-file F …]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from neutrino.cmd import journal as journal_cmd
from neutrino.cmd.common import setup_logging
from neutrino.conf import ConfigError, make_conf
from neutrino.db import migration
from neutrino.db.api import make_engine

ALL_IN_ONE: dict[str, dict[str, object]] = {
    "DEFAULT": {"auth_strategy": "noauth", "bind_host": "127.0.0.1", "bind_port": 9696,
                "transport_url": "fake://"},
    "ml2": {"mechanism_drivers": ["logger"],
            "tenant_network_types": ["vxlan", "local"]},
    "ml2_type_vxlan": {"vni_ranges": ["1:65535"]},
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neutrino", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the all-in-one server")
    db = sub.add_parser("db", help="database schema management")
    db.add_argument("action", choices=["upgrade", "current"])
    journal_cmd.add_parser(sub)
    return parser


def run_all_in_one(config_args: list[str]) -> int:
    from neutrino.api import app as api_app
    from neutrino.api import serve

    overrides = ALL_IN_ONE if not config_args else {}
    conf = make_conf(config_args, prog="neutrino", overrides=overrides)
    setup_logging(conf)
    migration.upgrade(conf.database.connection)
    server = api_app.build(conf)
    serve.serve_forever(server.wsgi_app, conf.bind_host, conf.bind_port)
    return 0


def db_command(action: str, config_args: list[str]) -> int:
    conf = make_conf(config_args, prog="neutrino")
    url = conf.database.connection
    if action == "upgrade":
        migration.upgrade(url)
        print(f"database upgraded to {', '.join(sorted(migration.head_revisions(url)))}")
    else:
        engine = make_engine(url)
        print(", ".join(sorted(migration.current_revisions(engine))) or "(empty)")
        engine.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    known, config_args = parser.parse_known_args(args)
    try:
        if known.command == "journal":
            return journal_cmd.main(known, config_args)
        if known.command == "db":
            return db_command(known.action, config_args)
        return run_all_in_one(config_args)
    except ConfigError as e:
        print(f"neutrino: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
