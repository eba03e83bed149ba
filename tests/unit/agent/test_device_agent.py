"""The device-agent skeleton the OVS, DHCP and L3 agents share, driven by a tiny agent.

``CountingAgent`` keeps a desired set of names from "add"/"remove" news and mirrors it to a
"device" (a set) each round; the server it talks to can fail. What is checked is the
skeleton's promise: news applied in the order it came, a failed round retried as a full
resync, 'revived' (or reaching the server again) asking for a resync, threads that stop.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from neutrino.agent.common.device_agent import DeviceAgent, Phase
from tests.unit.agent.fake_server import FakeReports


class CountingAgent(DeviceAgent):
    """Desired names in, a device holding exactly them out; a full sync reads the server."""

    def __init__(self, reports: FakeReports | None = None) -> None:
        super().__init__("host-x", reports, report_interval=0.01, idle_interval=0.01,
                         retry_interval=0.0)
        self.wanted: list[str] = []
        self.device: list[str] = []
        self.server_names: list[str] = []
        self.full_syncs = 0
        self.fail_next = False

    def _phases(self) -> Sequence[Phase]:
        return (("resync", self._full_sync if self._resync else None),
                ("apply", self._apply))

    def _full_sync(self) -> None:
        self.full_syncs += 1
        self.wanted = list(self.server_names)
        self._resync = False

    def _apply(self) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("device busy")
        self.device = list(self.wanted)

    def state_report(self) -> dict[str, Any]:
        return {"host": self.host, "devices": len(self.device)}

    def _on_add(self, name: str) -> None:
        self.wanted.append(name)

    def _on_remove(self, name: str) -> None:
        self.wanted.remove(name)


def test_news_is_applied_in_the_order_it_came() -> None:
    agent = CountingAgent()
    agent.run_until_idle()
    for event in (("add", "a"), ("add", "b"), ("remove", "a"), ("add", "a")):
        agent.notify(event[0], name=event[1])
    agent.run_until_idle()
    assert agent.device == ["b", "a"]


def test_first_round_is_a_full_sync_and_a_failed_round_resyncs() -> None:
    agent = CountingAgent()
    agent.server_names = ["x"]
    agent.run_until_idle()
    assert agent.device == ["x"] and agent.full_syncs == 1
    agent.fail_next = True
    agent.server_names = ["x", "y"]
    agent.notify("add", name="z")
    agent.run_until_idle()
    # the failed round is retried as a full sync: the server's view wins
    assert agent.device == ["x", "y"] and agent.full_syncs == 2


def test_revived_and_reachable_again_ask_for_a_resync() -> None:
    reports = FakeReports()
    agent = CountingAgent(reports)
    agent.run_until_idle()
    assert agent.report_state() == "new"
    assert agent.report_state() == "alive"
    agent.run_until_idle()
    assert agent.full_syncs == 1
    reports.next_result = "revived"
    agent.report_state()
    agent.run_until_idle()
    assert agent.full_syncs == 2
    reports.fail = True
    assert agent.report_state() is None
    reports.fail = False
    agent.report_state()
    agent.run_until_idle()
    assert agent.full_syncs == 3


def test_threads_converge_and_stop() -> None:
    reports = FakeReports()
    agent = CountingAgent(reports)
    agent.start()
    deadline = time.monotonic() + 10
    while agent.iterations == 0 and time.monotonic() < deadline:  # the full sync first
        time.sleep(0.01)
    agent.notify("add", name="a")
    while (agent.device != ["a"] or not reports.states) and time.monotonic() < deadline:
        time.sleep(0.01)
    agent.stop()
    assert agent.device == ["a"] and reports.states
    assert agent._threads == []
