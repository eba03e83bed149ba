"""Batching and retrying Nova events on a background thread; API requests never wait.

The first event after a quiet spell is sent at once; events arriving later are
gathered for ``send_events_interval`` seconds and sent as one request (Neutron's
batching). When Nova or Keystone cannot be reached a batch is retried with
exponential backoff a bounded number of times, then dropped with an error logged
(Nova's ``vif_plugging_timeout`` takes over from there).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from neutrino.plugins.nova.client import RetryLater

LOG = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 10.0


def backoff(attempt: int, first: float = FIRST_BACKOFF, cap: float = MAX_BACKOFF) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (attempt counts from 1)."""
    return float(min(cap, first * 2 ** (attempt - 1)))


class Notifier:
    """Queue of events for Nova, drained by one daemon thread."""

    def __init__(self, send: Callable[[list[dict[str, Any]]], Any], interval: float,
                 max_attempts: int = MAX_ATTEMPTS, first_backoff: float = FIRST_BACKOFF
                 ) -> None:
        self.send = send
        self.interval = interval
        self.max_attempts = max_attempts
        self.first_backoff = first_backoff
        self._pending: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._stopped = False
        self.sent_batches = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, daemon=True, name="nova-notifier")
        self._thread.start()

    def queue(self, events: list[dict[str, Any]]) -> None:
        """Hand events over; returns at once."""
        if not events:
            return
        with self._cond:
            self._pending.extend(events)
            self._cond.notify()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout)

    def _take(self, wait: float | None) -> list[dict[str, Any]]:
        """The pending events; waits up to ``wait`` (None: until some come) for them."""
        with self._cond:
            if wait is None:
                while not self._pending and not self._stopped:
                    self._cond.wait()
            elif wait > 0:
                # Gather for the whole interval: stop() alone cuts it short.
                self._cond.wait_for(lambda: self._stopped, timeout=wait)
            batch, self._pending = self._pending, []
            return batch

    def _run(self) -> None:
        while not self._stopped:
            batch = self._take(None)
            while batch:
                self._deliver(batch)
                batch = self._take(self.interval)

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                self.send(batch)
                self.sent_batches += 1
                return
            except RetryLater as e:
                if attempt == self.max_attempts:
                    break
                LOG.warning("sending %d event(s) to Nova failed (%s); attempt %d of %d",
                            len(batch), e, attempt, self.max_attempts)
                with self._cond:
                    if self._cond.wait_for(lambda: self._stopped,
                                           timeout=backoff(attempt, self.first_backoff)):
                        break
            except Exception:
                LOG.exception("sending %d event(s) to Nova failed", len(batch))
                break
        self.dropped += len(batch)
        LOG.error("dropped %d event(s) for Nova: %s", len(batch), batch)
