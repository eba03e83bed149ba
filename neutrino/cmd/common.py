"""Shared steps of the entry points: logging, the schema check, and running an agent."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from neutrino.db import migration
from neutrino.db.api import make_engine

LOG = logging.getLogger(__name__)


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


class Closer:
    """Something ``stop_agent`` stops by calling ``fn(*args)``."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._fn = fn
        self._args = args

    def stop(self) -> None:
        self._fn(*self._args)


def stop_agent(agent: Any, resources: Sequence[Any]) -> None:
    """Stop the agent, then what was built for it (monitor, consumers, OVSDB …)."""
    agent.stop()
    for resource in resources:
        try:
            resource.stop()
        except Exception:  # keep stopping the others
            LOG.exception("stopping %s failed", resource)


def run_agent(prog: str, argv: Sequence[str] | None, make_conf: Callable[[list[str]], Any],
              build: Callable[[Any], tuple[Any, list[Any]]],
              describe: Callable[[Any, Any], str]) -> int:
    """An agent's ``main``: configure, build, run until SIGTERM/SIGINT, stop.

    Called as the console script (``argv`` None), the process exits as soon as the agent
    has stopped: oslo.messaging's executor leaves non-daemon worker threads behind that
    would otherwise keep the interpreter alive for many seconds.
    """
    code = _run_agent(prog, argv, make_conf, build, describe)
    if argv is None:
        logging.shutdown()
        sys.stderr.flush()
        os._exit(code)
    return code


def _run_agent(prog: str, argv: Sequence[str] | None, make_conf: Callable[[list[str]], Any],
               build: Callable[[Any], tuple[Any, list[Any]]],
               describe: Callable[[Any, Any], str]) -> int:
    from neutrino.conf import ConfigError

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        conf = make_conf(args)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    setup_logging(conf)
    agent, resources = build(conf)
    signal.signal(signal.SIGTERM, lambda *_: agent.stop(timeout=0))
    signal.signal(signal.SIGINT, lambda *_: agent.stop(timeout=0))
    LOG.info("%s started on host %s (%s)", prog, conf.host, describe(conf, agent))
    try:
        agent.wait()
    finally:
        stop_agent(agent, resources)
    return 0
