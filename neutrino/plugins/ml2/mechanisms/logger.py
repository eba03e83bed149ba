"""The logger mechanism driver: logs every call it gets, binds nothing."""

from __future__ import annotations

import logging
from typing import Any

from neutrino.plugins.ml2 import driver_api as api

LOG = logging.getLogger(__name__)


def _log_hook(method: str) -> Any:
    def hook(self: LoggerMechanismDriver, context: Any) -> None:
        self.calls.append((method, context.current.get("id")))
        LOG.info("%s called with %s (original %s)", method, context.current,
                 context.original)
    hook.__name__ = method
    return hook


class LoggerMechanismDriver(api.MechanismDriver):
    """Records and logs each hook; useful to see the precommit/postcommit order."""

    def __init__(self, conf: Any) -> None:
        super().__init__(conf)
        self.calls: list[tuple[str, str | None]] = []

    def bind_port(self, context: api.PortContext) -> None:
        self.calls.append(("bind_port", context.current.get("id")))
        LOG.info("bind_port called for %s on host %s", context.current.get("id"),
                 context.host)


for _resource in ("network", "subnet", "port"):
    for _op in ("create", "update", "delete"):
        for _phase in ("precommit", "postcommit"):
            _name = f"{_op}_{_resource}_{_phase}"
            setattr(LoggerMechanismDriver, _name, _log_hook(_name))
