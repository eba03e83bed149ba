"""neutrino-server: the API (and, later, RPC) server of a multi-host deployment."""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from typing import Any

from neutrino.api import app as api_app
from neutrino.api import serve
from neutrino.cmd.common import require_current_schema, setup_logging
from neutrino.conf import ConfigError, make_conf


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        conf = make_conf(args, prog="neutrino-server")
    except ConfigError as e:
        print(f"neutrino-server: {e}", file=sys.stderr)
        return 2
    setup_logging(conf)
    require_current_schema(conf.database.connection)
    # SIGTERM unwinds like Ctrl-C, so atexit hooks (journal workers handing back
    # their rows, RPC servers stopping) run instead of leaving work for timeouts.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    workers = conf.api_workers or 0
    try:
        return _serve(args, conf, workers)
    except KeyboardInterrupt:
        return 130  # Ctrl-C: everything was stopped on the way out, no traceback


def _serve(args: list[str], conf: Any, workers: int) -> int:
    if workers >= 1:
        serve.serve_gunicorn(lambda: api_app.build(make_conf(args)).wsgi_app,
                             conf.bind_host, conf.bind_port, workers)
    else:
        server = api_app.build(conf)
        try:
            serve.serve_forever(server.wsgi_app, conf.bind_host, conf.bind_port)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
