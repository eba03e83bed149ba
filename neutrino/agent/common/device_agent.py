"""The skeleton of a device-facing agent: ordered event queue, convergence rounds, heartbeat.

One worker thread owns all of an agent's state. Everything else only queues news for it
(:meth:`DeviceAgent.notify`): RPC casts from the server, device monitors, a health check
thread, the heartbeat thread. Each round the worker applies the queued events in the
order they came (``_on_<kind>`` handlers update the model), then runs the agent's phases
(``_phases``: fetch from the server, compute desired state, apply it to the devices,
report). A failed round (RPC or device error) asks for a full resync on the next one.

The heartbeat thread sends ``report_state`` every ``report_interval``; the server's
'revived' answer (it had taken the agent for dead) or the first report that gets through
after failures queues a full resync, as Neutron's agents do. A subclass provides the
phases, the event handlers and the ``state_report`` dict; nothing else.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from neutrino.common.constants import AGENT_REVIVED

LOG = logging.getLogger(__name__)

Event = tuple[str, dict[str, Any]]
Listener = Callable[[str, dict[str, Any]], None]
Phase = tuple[str, Callable[[], None] | None]


class StateReporter(Protocol):
    """``q-reports-plugin``: the heartbeat."""

    def report_state(self, agent_state: dict[str, Any], use_call: bool = True) -> Any:
        """Send the heartbeat; the server answers 'new', 'alive' or 'revived'."""


class DeviceAgent:
    """Queue, worker loop, heartbeat and resync; subclasses add phases and handlers.

    ``idle_interval`` is how long the worker waits for news before calling
    :meth:`_idle_events` (a health check); ``retry_interval`` how long it waits after a
    failed round before trying again.
    """

    agent_name = "agent"  # thread names: <agent_name>-loop-<host>, …

    def __init__(self, host: str, state_rpc: StateReporter | None, *,
                 report_interval: float, idle_interval: float, retry_interval: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.state_rpc = state_rpc
        self.report_interval = report_interval
        self.idle_interval = idle_interval
        self.retry_interval = retry_interval
        self._clock = clock
        self._queue: queue.Queue[Event] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.listeners: list[Listener] = []
        self._resync = True  # the first round is a full sync
        self._start_flag = True
        self._report_failed = False
        self.iterations = 0

    # what a subclass provides ---------------------------------------------------------------

    def _phases(self) -> Sequence[Phase]:
        """The steps of one round, in order; a None step is skipped."""
        raise NotImplementedError

    def state_report(self) -> dict[str, Any]:
        """The ``agent_state`` dict of a heartbeat."""
        raise NotImplementedError

    def _has_work(self) -> bool:
        """True while a round left work for the next one (:meth:`run_until_idle`)."""
        return False

    def _ready(self) -> bool:
        """False while the devices cannot be touched (the round is skipped)."""
        return True

    def _can_report(self) -> bool:
        """False while heartbeats must not claim the agent is fine."""
        return True

    def _idle_events(self) -> list[Event]:
        """News to make up when none came for ``idle_interval`` (a health check)."""
        return []

    def _round_failed(self) -> None:
        """Forget what a failed round may have left half done (the resync redoes it)."""

    # public entry points (any thread) --------------------------------------------------------

    def notify(self, kind: str, **payload: Any) -> None:
        """Queue news (a server cast, a device change, a resync request) for the worker."""
        self._queue.put((kind, payload))

    def resync(self, reason: str = "requested") -> None:
        self.notify("resync", reason=reason)

    # lifecycle -------------------------------------------------------------------------------

    def start(self, heartbeat: bool = True) -> None:
        """Start the worker (and, with a state RPC, the heartbeat) thread."""
        self._spawn(self._loop, f"{self.agent_name}-loop")
        if heartbeat and self.state_rpc is not None:
            self._spawn(self._heartbeat_loop, f"{self.agent_name}-heartbeat")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=f"{name}-{self.host}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the threads (devices stay as they are: traffic keeps flowing).

        ``timeout=0`` only signals them, so many agents can be stopped together and then
        joined by a second call.
        """
        self._stop.set()
        self._queue.put(("stop", {}))
        for thread in self._threads:
            thread.join(timeout)
        self._threads = [thread for thread in self._threads if thread.is_alive()]

    def wait(self) -> None:
        """Block until :meth:`stop` is called (from a signal handler, say)."""
        while not self._stop.wait(1.0):
            pass

    # the loop --------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            events = self._drain(self.idle_interval)
            self.run_once(events or self._idle_events())

    def _drain(self, timeout: float) -> list[Event]:
        try:
            events = [self._queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                return events

    def run_once(self, events: Iterable[Event] = ()) -> bool:
        """Apply ``events`` and converge; False when it must be retried (RPC or device error)."""
        for kind, payload in events:
            self._apply_event(kind, payload)
        if not self._ready():
            return False
        try:
            self._converge()
        except Exception as exc:  # RPC and device errors alike: resync everything next time
            LOG.warning("%s: iteration failed (%s); full resync", self.host, exc)
            self._resync = True
            self._round_failed()
            self._stop.wait(self.retry_interval)
            if not self._stop.is_set():
                self.notify("retry")
            return False
        self.iterations += 1
        return True

    def run_until_idle(self, max_rounds: int = 100) -> None:
        """Drain the queue and converge until nothing is left (tests, simulations)."""
        for _ in range(max_rounds):
            events = self._drain(0) if not self._queue.empty() else []
            self.run_once(events)
            if self._queue.empty() and not self._has_work() and not self._resync:
                return

    def _converge(self) -> None:
        timings: list[tuple[str, float]] = []
        started = last = self._clock()
        for name, phase in self._phases():
            if phase is None:
                continue
            phase()
            now = self._clock()
            timings.append((name, now - last))
            last = now
        if last - started >= 0.001:  # like Neutron's "rpc_loop - iteration ... Elapsed"
            LOG.debug("%s: iteration %d took %.1f ms (%s)", self.host, self.iterations,
                      (last - started) * 1000,
                      ", ".join(f"{n} {d * 1000:.1f}" for n, d in timings if d >= 0.0005))

    # events ----------------------------------------------------------------------------------

    def _apply_event(self, kind: str, payload: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            LOG.debug("ignoring %s", kind)
            return
        handler(**payload)

    def _on_stop(self) -> None:
        return None

    def _on_retry(self) -> None:
        return None

    def _on_resync(self, reason: str = "") -> None:
        LOG.info("%s: full resync (%s)", self.host, reason)
        self._resync = True

    def _emit(self, event: str, payload: dict[str, Any]) -> None:
        """Tell the observers (benchmarks, tests) what the agent just did."""
        for listener in self.listeners:
            try:
                listener(event, payload)
            except Exception:  # an observer must never break the agent
                LOG.exception("listener failed on %s", event)

    # heartbeat -------------------------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        while not self._stop.is_set():
            self.report_state()
            self._stop.wait(self.report_interval)

    def report_state(self) -> str | None:
        """Send one heartbeat; 'revived' (or reaching the server again) queues a resync."""
        if self.state_rpc is None or not self._can_report():
            return None
        try:
            result = self.state_rpc.report_state(agent_state=self.state_report(),
                                                 use_call=True)
        except Exception as exc:  # the broker or server may be down; keep beating
            LOG.warning("%s: report_state failed: %s", self.host, exc)
            self._report_failed = True
            return None
        self._start_flag = False
        if result == AGENT_REVIVED or self._report_failed:
            self.resync("revived" if result == AGENT_REVIVED else "server reachable again")
        self._report_failed = False
        return str(result) if result is not None else None
