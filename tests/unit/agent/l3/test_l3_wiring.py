"""The wiring watcher: router devices acted on once the OVS agent has bound their port."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from neutrino.agent.l3.wiring import WiringWatcher, ovsdb_wait, wait_until_argv
from tests.fixtures.hosts import wait_for


class _Ovsdb:
    """Ports whose tag the test sets; ``wait`` blocks until then (or the deadline)."""

    def __init__(self) -> None:
        self.wired: dict[str, threading.Event] = {}
        self.deadlines: list[float] = []

    def port(self, name: str) -> threading.Event:
        return self.wired.setdefault(name, threading.Event())

    def wait(self, name: str, timeout: float) -> bool:
        self.deadlines.append(timeout)
        return self.port(name).wait(timeout)


def test_called_back_only_once_the_port_is_wired() -> None:
    ovsdb, calls = _Ovsdb(), []
    watcher = WiringWatcher(ovsdb.wait, timeout=30)
    assert watcher.watch("qr-1", lambda name, wired: calls.append((name, wired)))
    wait_for(lambda: ovsdb.deadlines == [30], timeout=5, interval=0.01, what="waiting")
    assert calls == [] and watcher.watching() == {"qr-1"}
    ovsdb.port("qr-1").set()
    wait_for(lambda: calls == [("qr-1", True)], timeout=5, interval=0.01, what="callback")
    wait_for(lambda: not watcher.watching(), timeout=5, interval=0.01, what="done")


def test_watch_returns_at_once_and_a_device_is_watched_once() -> None:
    ovsdb, calls = _Ovsdb(), []
    watcher = WiringWatcher(ovsdb.wait, timeout=30)
    assert watcher.watch("qr-1", lambda n, w: calls.append(n))  # blocks nothing
    assert not watcher.watch("qr-1", lambda n, w: calls.append(n))
    assert watcher.watch("qg-2", lambda n, w: calls.append(n))
    ovsdb.port("qg-2").set()
    wait_for(lambda: calls == ["qg-2"], timeout=5, interval=0.01, what="qg-2 only")
    ovsdb.port("qr-1").set()
    wait_for(lambda: sorted(calls) == ["qg-2", "qr-1"], timeout=5, interval=0.01,
             what="qr-1 once")
    wait_for(lambda: not watcher.watching(), timeout=5, interval=0.01, what="done")
    assert watcher.watch("qr-1", lambda n, w: calls.append(n))  # a new watch after that


def test_a_deadline_passed_is_called_back_unwired() -> None:
    calls = []
    watcher = WiringWatcher(_Ovsdb().wait, timeout=0.05)
    watcher.watch("qr-1", lambda name, wired: calls.append((name, wired)))
    wait_for(lambda: calls == [("qr-1", False)], timeout=5, interval=0.01, what="deadline")


def test_a_failing_callback_does_not_keep_the_device_watched() -> None:
    def boom(name: str, wired: bool) -> None:
        raise OSError("namespace gone")

    ovsdb = _Ovsdb()
    ovsdb.port("qr-1").set()
    watcher = WiringWatcher(ovsdb.wait)
    watcher.watch("qr-1", boom)
    wait_for(lambda: not watcher.watching(), timeout=5, interval=0.01, what="released")


def test_ovs_vsctl_waits_for_a_live_vlan_tag() -> None:
    argv = wait_until_argv("unix:/run/x/db.sock", "qr-abc", 12.4)
    assert argv == ["ovs-vsctl", "--db=unix:/run/x/db.sock", "--timeout=12", "wait-until",
                    "Port", "qr-abc", "tag!=[]", "tag!=4095"]


def test_ovsdb_wait_reports_the_exit_status() -> None:
    seen: list[Sequence[str]] = []

    def runner(argv: Sequence[str], timeout: float) -> int:
        seen.append(argv)
        return 0 if "qr-ok" in argv else 142  # ovs-vsctl's exit on --timeout

    wait = ovsdb_wait("unix:/db.sock", runner)
    assert wait("qr-ok", 5) is True
    assert wait("qr-late", 5) is False
    assert [a[5] for a in seen] == ["qr-ok", "qr-late"]


def test_ovsdb_wait_without_ovs_vsctl_is_a_deadline_passed() -> None:
    def runner(argv: Sequence[str], timeout: float) -> int:
        raise FileNotFoundError("ovs-vsctl")

    assert ovsdb_wait("unix:/db.sock", runner)("qr-1", 1) is False
