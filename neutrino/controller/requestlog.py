"""Ordered log of the northbound requests the controller answered, for tests."""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LogEntry:
    """One northbound request: what was asked and how it was answered.

    ``seq`` grows by one per request and is never reused, not even after
    ``clear()``; it is assigned while the store is locked, so the order of
    sequence numbers is the order in which changes were applied.
    """

    seq: int
    method: str
    path: str
    object_type: str | None
    resource_id: str | None
    status: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """Thread-safe append-only list of ``LogEntry``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._entries: list[LogEntry] = []

    def record(
        self,
        method: str,
        path: str,
        object_type: str | None,
        resource_id: str | None,
        status: int,
    ) -> LogEntry:
        with self._lock:
            entry = LogEntry(next(self._seq), method, path, object_type, resource_id, status)
            self._entries.append(entry)
            return entry

    def entries(self, since: int = 0) -> list[LogEntry]:
        """Entries with ``seq`` greater than ``since``, oldest first."""
        with self._lock:
            return [e for e in self._entries if e.seq > since]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
