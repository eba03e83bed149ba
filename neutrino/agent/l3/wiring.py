"""Router ports wired by the OVS agent: what to do once a new ``qr-``/``qg-`` port is bound.

A router device is plugged (an internal port on br-int moved into ``qrouter-<id>``) long
before it can carry a frame: the host's OVS agent must first see the VIF, fetch its
details and bind it, which it does by setting the port's local VLAN ``tag``. Until then a
gratuitous ARP is lost, and an ARP the router sends for a neighbour goes unanswered and
is only retried after the kernel's ``retrans_time`` (1 s by default).

:class:`WiringWatcher` learns that moment without polling: one worker thread per new
device runs ``ovs-vsctl wait-until`` (a monitor session of its own, woken by ovsdb-server
when the row changes) with a deadline, then calls back. The router sync never waits for
it: ``watch`` only starts the thread.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable, Sequence

LOG = logging.getLogger(__name__)

OVS_VSCTL = "ovs-vsctl"
DEAD_VLAN_TAG = 4095  # the OVS agent parks a port it cannot bind (yet) there
WIRING_TIMEOUT_S = 60.0

# (device name, deadline in seconds) -> True once wired, False when the deadline passed
WaitFn = Callable[[str, float], bool]
# (device name, wired) -> None, on the watcher's thread
WiredFn = Callable[[str, bool], None]
Runner = Callable[[Sequence[str], float], int]


def wait_until_argv(connection: str, name: str, timeout: float) -> list[str]:
    """``ovs-vsctl`` waiting for ``name``'s Port row to hold a usable local VLAN tag.

    ``wait-until`` also waits for the row to exist; a port on the dead VLAN is not wired.
    """
    return [OVS_VSCTL, f"--db={connection}", f"--timeout={max(1, round(timeout))}",
            "wait-until", "Port", name, "tag!=[]", f"tag!={DEAD_VLAN_TAG}"]


def _run(argv: Sequence[str], timeout: float) -> int:
    try:
        # ovs-vsctl enforces --timeout itself; this one only guards against a hang
        return subprocess.run(list(argv), capture_output=True, timeout=timeout + 5,
                              check=False).returncode
    except subprocess.TimeoutExpired:
        return -1


def ovsdb_wait(connection: str, runner: Runner = _run) -> WaitFn:
    """A :data:`WaitFn` asking the OVSDB at ``connection`` (``unix:...``, ``tcp:...``)."""
    def wait(name: str, timeout: float) -> bool:
        try:
            return runner(wait_until_argv(connection, name, timeout), timeout) == 0
        except OSError as exc:  # no ovs-vsctl: treated as a deadline passed
            LOG.warning("cannot wait for %s to be wired: %s", name, exc)
            return False

    return wait


class WiringWatcher:
    """Calls ``on_wired(name, wired)`` once the port of each watched device is wired
    (``wired`` True) or ``timeout`` seconds passed (False), on a thread of its own."""

    def __init__(self, wait: WaitFn, timeout: float = WIRING_TIMEOUT_S) -> None:
        self._wait = wait
        self.timeout = timeout
        self._lock = threading.Lock()
        self._watched: set[str] = set()

    def watch(self, name: str, on_wired: WiredFn) -> bool:
        """Start watching ``name``; False if it is watched already (nothing started)."""
        with self._lock:
            if name in self._watched:
                return False
            self._watched.add(name)
        threading.Thread(target=self._run, args=(name, on_wired), name=f"wired-{name}",
                         daemon=True).start()
        return True

    def watching(self) -> set[str]:
        with self._lock:
            return set(self._watched)

    def _run(self, name: str, on_wired: WiredFn) -> None:
        try:
            wired = self._wait(name, self.timeout)
            if not wired:
                LOG.info("%s not wired after %.0fs; acting on it anyway", name,
                         self.timeout)
            on_wired(name, wired)
        except Exception:  # a device removed meanwhile, a namespace gone: nothing to do
            LOG.debug("after wiring %s", name, exc_info=True)
        finally:
            with self._lock:
                self._watched.discard(name)
