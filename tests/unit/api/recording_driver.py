"""A mechanism driver for tests that keeps what each ``update_*`` hook saw.

Loaded by ``module:Class`` path (``tests.unit.api.recording_driver:RecordingDriver``)
from a module of its own, so the class the plugin loads is the one tests import.
"""

from __future__ import annotations

import threading
from typing import Any

from neutrino.plugins.ml2 import driver_api as api


class RecordingDriver(api.MechanismDriver):
    """Keeps (hook, current, original) of every update hook, in call order."""

    def initialize(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []

    def _record(self, hook: str, context: Any) -> None:
        with self.lock:
            self.calls.append((hook, dict(context.current), context.original))

    def seen(self, hook: str) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        with self.lock:
            return [(c, o) for h, c, o in self.calls if h == hook]


for _resource in ("network", "subnet", "port"):
    for _phase in ("precommit", "postcommit"):
        _hook = f"update_{_resource}_{_phase}"
        setattr(RecordingDriver, _hook,
                lambda self, context, _h=_hook: self._record(_h, context))
