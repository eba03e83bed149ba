"""``neutrino-controller``: run the reference SDN controller as a process.

Options may also come from ``--config-file`` ([DEFAULT] section, option
names with underscores). On start one line is printed to stdout,
``neutrino-controller listening on <northbound URL>``, so a parent process
that asked for ``--port 0`` can learn the port.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from oslo_config import cfg

from neutrino.controller.app import DEFAULT_BASE_PATH
from neutrino.controller.server import ControllerServer

OPTS = [
    cfg.HostAddressOpt(
        "bind-host", dest="bind_host", default="127.0.0.1", help="Address to listen on."
    ),
    cfg.PortOpt("port", default=8181, help="TCP port to listen on; 0 picks a free one."),
    cfg.StrOpt(
        "state-file",
        dest="state_file",
        help="JSON file the resources are kept in across restarts; in memory only if unset.",
    ),
    cfg.StrOpt(
        "base-path",
        dest="base_path",
        default=DEFAULT_BASE_PATH,
        help="URL path under which the resource collections are served.",
    ),
    cfg.StrOpt("username", help="Require HTTP basic auth with this user name."),
    cfg.StrOpt("password", secret=True, help="Password for --username."),
    cfg.BoolOpt(
        "test-api",
        dest="test_api",
        default=True,
        help="Serve /_test (request log, fault injection, wipe).",
    ),
    cfg.BoolOpt("debug", default=False, help="Log every request."),
]


def parse_args(argv: Sequence[str]) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    conf.register_cli_opts(OPTS)
    conf(
        args=list(argv),
        project="neutrino",
        prog="neutrino-controller",
        default_config_files=[],
    )
    if conf.password and not conf.username:
        raise SystemExit("neutrino-controller: --password needs --username")
    return conf


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; ``argv`` excludes the program name (default ``sys.argv[1:]``)."""
    conf = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.DEBUG if conf.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    server = ControllerServer(
        host=conf.bind_host,
        port=conf.port,
        base_path=conf.base_path,
        username=conf.username,
        password=conf.password,
        state_file=conf.state_file,
        test_api=conf.test_api,
    )
    server.bind()
    print(f"neutrino-controller listening on {server.northbound_url}", flush=True)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0
