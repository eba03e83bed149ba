"""Fault injection: an unreachable, slow or failing controller, reproducibly.

Settings (all optional in an update; unknown names are refused):

``down`` (bool)
    Northbound connections are dropped without an answer (the client sees a
    connection error); ``/_test/*`` keeps answering so the fault can be lifted.
``delay`` (float, seconds)
    Every northbound request is answered this much later.
``error_rate`` (float, 0..1)
    Fraction of northbound requests answered with ``error_status``. Without a
    ``seed`` the choice is a deterministic counter (rate 0.5 fails the 2nd,
    4th, ... request); with a ``seed`` it is a seeded pseudo-random draw.
``error_status`` (int, default 500)
``error_methods`` (list of HTTP methods or null for all)
    Restrict ``error_rate``/``fail_next`` to these methods, e.g. ``["POST"]``.
``fail_next`` (int)
    The next N northbound requests (matching ``error_methods``) fail, then
    requests succeed again; counted down as it is used.
``seed`` (int or null)

Every update restarts the error counter or the random sequence.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from neutrino.controller import errors


@dataclass(frozen=True)
class FaultSettings:
    down: bool = False
    delay: float = 0.0
    error_rate: float = 0.0
    error_status: int = 500
    error_methods: tuple[str, ...] | None = None
    fail_next: int = 0
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.error_methods is not None:
            data["error_methods"] = list(self.error_methods)
        return data


def _validated(current: FaultSettings, changes: dict[str, Any]) -> FaultSettings:
    known = {f.name for f in fields(FaultSettings)}
    # "injected" is a read-only counter shown by GET; tolerate it so a client
    # can PUT back what it read.
    changes = {k: v for k, v in changes.items() if k != "injected"}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise errors.BadRequest(reason=f"unknown fault setting(s): {', '.join(unknown)}")
    try:
        new = replace(current, **changes)
        new = replace(
            new,
            down=_bool(new.down),
            delay=float(new.delay),
            error_rate=float(new.error_rate),
            error_status=int(new.error_status),
            error_methods=_methods(new.error_methods),
            fail_next=int(new.fail_next),
            seed=None if new.seed is None else int(new.seed),
        )
    except (TypeError, ValueError) as exc:
        raise errors.BadRequest(reason=f"bad fault setting: {exc}") from None
    if not 0.0 <= new.error_rate <= 1.0:
        raise errors.BadRequest(reason="error_rate must be between 0 and 1")
    if new.delay < 0 or new.fail_next < 0:
        raise errors.BadRequest(reason="delay and fail_next must not be negative")
    if not 400 <= new.error_status <= 599:
        raise errors.BadRequest(reason="error_status must be an HTTP error status")
    return new


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected a boolean, got {value!r}")
    return value


def _methods(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        raise TypeError("error_methods must be a list of methods")
    return tuple(str(m).upper() for m in value)


class FaultInjector:
    """Holds the fault settings and decides, request by request, what to do."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._credit = 0.0
        self._rng = random.Random()
        self.injected = 0

    @property
    def settings(self) -> FaultSettings:
        with self._lock:
            return self._settings

    def update(self, **changes: Any) -> FaultSettings:
        """Apply some settings (see the module docstring); return the result."""
        with self._lock:
            self._settings = _validated(self._settings, changes)
            self._credit = 0.0
            self._rng = random.Random(self._settings.seed)
            return self._settings

    def reset(self) -> FaultSettings:
        """Back to a healthy controller."""
        with self._lock:
            self._settings = FaultSettings()
            self._credit = 0.0
            return self._settings

    def error_for(self, method: str) -> int | None:
        """Return the status to fail this request with, or None to serve it."""
        with self._lock:
            s = self._settings
            if s.error_methods is not None and method.upper() not in s.error_methods:
                return None
            if s.fail_next > 0:
                self._settings = replace(s, fail_next=s.fail_next - 1)
                return self._inject(s.error_status)
            if s.error_rate <= 0.0:
                return None
            if s.seed is not None:
                return self._inject(s.error_status) if self._rng.random() < s.error_rate else None
            # Deterministic: accumulate the rate and fail each time it adds up to one.
            self._credit += s.error_rate
            if self._credit >= 1.0 - 1e-9:
                self._credit -= 1.0
                return self._inject(s.error_status)
            return None

    def _inject(self, status: int) -> int:
        self.injected += 1
        return status

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {**self._settings.to_dict(), "injected": self.injected}
