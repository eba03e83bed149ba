"""``neutrino journal``: look at and steer the SDN journal from the command line.

    neutrino journal status [--config-file F …]      backlog by state, oldest pending age
    neutrino journal list [--state S] [--limit N]    rows, oldest first
    neutrino journal show ID                         one row: data, links, history
    neutrino journal retry ID                        a failed row back to pending
    neutrino journal sync                            full sync now: re-record everything

It works on the database alone, so it runs while servers run (their workers send
what it records) and while they are stopped. ``--json`` prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from neutrino.conf import make_conf
from neutrino.db.api import Database
from neutrino.journal import full_sync, recovery, status
from neutrino.journal.journal import utcnow

ACTIONS = ("status", "list", "show", "retry", "sync")


def add_parser(sub: Any) -> None:
    """Add ``journal`` to the ``neutrino`` command's subparsers."""
    parser = sub.add_parser("journal", help="inspect and steer the SDN journal")
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("id", nargs="?", type=int, help="journal row (show, retry)")
    parser.add_argument("--state", choices=("pending", "processing", "completed", "failed"))
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--config-file", action="append", default=[], dest="config_files")


def _print(data: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True))
    elif isinstance(data, list):
        for row in data:
            print(f"{row['seqnum']:>8} {row['state']:<10} {row['operation']:<6} "
                  f"{row['object_type']:<10} {row['object_uuid']} retries={row['retry_count']}"
                  f" {row['last_error'] or ''}".rstrip())
    else:
        for key, value in data.items():
            print(f"{key}: {json.dumps(value, sort_keys=True)}")


def _status(db: Database, args: argparse.Namespace) -> int:
    with db.reader() as session:
        _print(status.status(session, utcnow()), args.json)
    return 0


def _list(db: Database, args: argparse.Namespace) -> int:
    with db.reader() as session:
        _print(status.list_rows(session, args.state, args.limit), args.json)
    return 0


def _show(db: Database, args: argparse.Namespace) -> int:
    with db.reader() as session:
        row = status.show_row(session, args.id)
    if row is None:
        print(f"neutrino journal: no row {args.id}", file=sys.stderr)
        return 1
    _print(row, args.json)
    return 0


def _retry(db: Database, args: argparse.Namespace) -> int:
    with db.transaction() as session:
        done = recovery.retry_row(session, args.id, utcnow(), "neutrino journal retry")
    if not done:
        print(f"neutrino journal: row {args.id} is not failed", file=sys.stderr)
        return 1
    print(f"row {args.id} is pending again")
    return 0


def _sync(db: Database, args: argparse.Namespace) -> int:
    def attempt() -> int:
        with db.transaction() as session:
            return full_sync.full_sync(session)
    count = db.retrying(attempt)
    print(f"full sync recorded {count} creates; the servers' workers send them")
    return 0


COMMANDS: dict[str, Callable[[Database, argparse.Namespace], int]] = {
    "status": _status, "list": _list, "show": _show, "retry": _retry, "sync": _sync}


def main(args: argparse.Namespace, config_args: list[str]) -> int:
    """Run ``neutrino journal <action>`` against ``[database] connection``."""
    if args.action in ("show", "retry") and args.id is None:
        print(f"neutrino journal {args.action}: a row ID is required", file=sys.stderr)
        return 2
    files = [arg for path in args.config_files for arg in ("--config-file", path)]
    conf = make_conf([*config_args, *files], prog="neutrino")
    db = Database(conf.database.connection, max_retries=conf.database.max_retries)
    try:
        return COMMANDS[args.action](db, args)
    finally:
        db.dispose()
