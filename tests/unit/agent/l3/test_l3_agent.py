"""The L3 agent's loop over the fake server and an in-memory device adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neutrino.agent.l3.agent import L3Agent
from neutrino.agent.l3.config import L3AgentConfig
from neutrino.agent.l3.devices import Outcome
from neutrino.agent.l3.state import RouterState
from tests.unit.agent.l3.fake_l3_server import (
    FakeL3Server,
    floating_ip,
    router,
    router_port,
    subnet,
)


class MemoryDevices:
    """What a host would hold: the applied state per router; can fail for one router."""

    def __init__(self, leftovers: set[str] | None = None) -> None:
        self.states: dict[str, RouterState] = {}
        self.leftovers = set(leftovers or ())  # set up by an earlier run
        self.applies: list[str] = []
        self.removed: list[str] = []
        self.failing: set[str] = set()
        self.dead: set[str] = set()

    def apply(self, state: RouterState, previous: RouterState | None) -> Outcome:
        if state.router_id in self.failing:
            raise OSError("device error")
        self.applies.append(state.router_id)
        self.states[state.router_id] = state
        self.dead.discard(state.router_id)
        return Outcome(namespace_created=True)

    def alive(self, router_id: str, metadata: bool) -> bool:
        return router_id in self.states and router_id not in self.dead

    def remove(self, router_id: str) -> None:
        self.removed.append(router_id)
        self.states.pop(router_id, None)
        self.leftovers.discard(router_id)

    def known_routers(self) -> set[str]:
        return set(self.states) | self.leftovers


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _agent(server: FakeL3Server, devices: MemoryDevices, clock: Clock | None = None,
           **config: Any) -> L3Agent:
    settings = {"host": "net1", "state_dir": Path("/nonexistent/l3"),
                "metadata_proxy_socket": Path("/nonexistent/metadata_proxy"),
                "periodic_interval": 5.0, **config}
    agent = L3Agent(L3AgentConfig(**settings), server, devices,  # type: ignore[arg-type]
                    clock=clock or Clock())
    agent.retry_interval = 0
    return agent


def _gw_router(server: FakeL3Server) -> dict[str, Any]:
    ext = subnet("203.0.113.0/24")
    gw = router_port(ext, "203.0.113.2", owner="network:router_gateway")
    return server.add(router([router_port(subnet("10.0.0.0/24"), "10.0.0.1")], gw))


def test_first_sync_applies_every_router_and_reports_floating_ips() -> None:
    server, devices = FakeL3Server(), MemoryDevices()
    r1 = _gw_router(server)
    fip = floating_ip(r1, "203.0.113.10", "10.0.0.5")
    r2 = server.add(router([router_port(subnet("10.1.0.0/24"), "10.1.0.1")]))
    agent = _agent(server, devices)
    agent.run_until_idle()
    assert sorted(devices.applies) == sorted([r1["id"], r2["id"]])
    assert server.reports == [(r1["id"], {fip["id"]: "ACTIVE"})]
    assert [c for c, _ in server.calls[:2]] == ["get_router_ids", "sync_routers"]
    report = agent.state_report()
    assert report["agent_type"] == "L3 agent" and report["binary"] == "neutron-l3-agent"
    assert report["topic"] == "l3_agent" and report["availability_zone"] == "nova"
    assert {k: report["configurations"][k] for k in (
        "routers", "ex_gw_ports", "interfaces", "floating_ips", "agent_mode")} == {
        "routers": 2, "ex_gw_ports": 1, "interfaces": 2, "floating_ips": 1,
        "agent_mode": "legacy"}


def test_updates_to_one_router_coalesce_into_one_fetch_and_one_apply() -> None:
    server, devices = FakeL3Server(), MemoryDevices()
    r1 = _gw_router(server)
    agent = _agent(server, devices)
    agent.run_until_idle()
    server.calls.clear()
    devices.applies.clear()

    floating_ip(r1, "203.0.113.10", "10.0.0.5")
    for _ in range(5):
        agent.notify("routers_changed", router_ids=[r1["id"]])
    agent.run_until_idle()
    assert [c for c in server.calls if c[0] == "sync_routers"] == [
        ("sync_routers", [r1["id"]])]
    assert devices.applies == [r1["id"]]
    # nothing changed: fetched again, never re-applied, no status to report
    server.calls.clear()
    agent.notify("routers_changed", router_ids=[r1["id"]])
    agent.run_until_idle()
    assert devices.applies == [r1["id"]]
    assert [c[0] for c in server.calls] == ["sync_routers"]


def test_deleted_unscheduled_and_admin_down_routers_are_removed() -> None:
    server, devices = FakeL3Server(), MemoryDevices()
    r1, r2, r3 = _gw_router(server), _gw_router(server), _gw_router(server)
    agent = _agent(server, devices)
    agent.run_until_idle()

    del server.routers[r1["id"]]
    agent.notify("router_gone", router_id=r1["id"])
    r2["admin_state_up"] = False
    agent.notify("routers_changed", router_ids=[r2["id"]])
    del server.routers[r3["id"]]  # unscheduled: sync_routers no longer lists it
    agent.notify("routers_changed", router_ids=[r3["id"]])
    agent.run_until_idle()
    assert sorted(devices.removed) == sorted([r1["id"], r2["id"], r3["id"]])
    assert agent.applied == {}


def test_restart_removes_what_is_no_longer_hosted_and_keeps_the_rest() -> None:
    server = FakeL3Server()
    r1 = _gw_router(server)
    devices = MemoryDevices(leftovers={r1["id"], "old-router"})
    agent = _agent(server, devices)
    agent.run_until_idle()
    assert devices.removed == ["old-router"]
    assert devices.applies == [r1["id"]]


def test_internal_only_routers_can_be_refused() -> None:
    server, devices = FakeL3Server(), MemoryDevices()
    r1 = _gw_router(server)
    server.add(router([router_port(subnet("10.1.0.0/24"), "10.1.0.1")]))
    agent = _agent(server, devices, handle_internal_only_routers=False)
    agent.run_until_idle()
    assert devices.applies == [r1["id"]]


def test_a_failing_router_reports_error_and_is_retried_alone() -> None:
    server, devices, clock = FakeL3Server(), MemoryDevices(), Clock()
    r1, r2 = _gw_router(server), _gw_router(server)
    fip = floating_ip(r1, "203.0.113.10", "10.0.0.5")
    devices.failing.add(r1["id"])
    agent = _agent(server, devices, clock)
    agent.run_until_idle()
    assert devices.applies == [r2["id"]]
    assert server.statuses == {fip["id"]: "ERROR"}

    devices.failing.clear()
    agent.run_once(agent._idle_events())  # not yet due
    assert devices.applies == [r2["id"]]
    clock.now = 6.0
    agent.run_once(agent._idle_events())
    assert devices.applies == [r2["id"], r1["id"]]
    assert server.statuses == {fip["id"]: "ACTIVE"}


def test_rpc_errors_resync_and_pending_statuses_are_sent_later() -> None:
    server, devices = FakeL3Server(), MemoryDevices()
    r1 = _gw_router(server)
    agent = _agent(server, devices)
    agent.run_until_idle()
    fip = floating_ip(r1, "203.0.113.10", "10.0.0.5")
    server.fail = True
    agent.notify("routers_changed", router_ids=[r1["id"]])
    assert agent.run_once(agent._drain(0)) is False
    server.fail = False
    server.calls.clear()
    agent.run_until_idle()
    assert [c[0] for c in server.calls][:2] == ["get_router_ids", "sync_routers"]
    assert server.statuses == {fip["id"]: "ACTIVE"}


def test_a_dead_metadata_proxy_is_restarted() -> None:
    server, devices = FakeL3Server(), MemoryDevices()
    r1 = _gw_router(server)
    agent = _agent(server, devices)
    agent.run_until_idle()
    devices.dead.add(r1["id"])
    agent.run_once(agent._idle_events())
    assert devices.applies == [r1["id"], r1["id"]]


def test_disassociated_floating_ip_is_not_reported_again() -> None:
    server, devices = FakeL3Server(), MemoryDevices()
    r1 = _gw_router(server)
    fip = floating_ip(r1, "203.0.113.10", "10.0.0.5")
    agent = _agent(server, devices)
    agent.run_until_idle()
    fip["fixed_ip_address"] = None
    fip["port_id"] = None
    agent.notify("routers_changed", router_ids=[r1["id"]])
    agent.run_until_idle()
    assert server.reports == [(r1["id"], {fip["id"]: "ACTIVE"}),
                              (r1["id"], {fip["id"]: "DOWN"})]
    assert devices.states[r1["id"]].floating_ips == ()


def test_a_router_deleted_while_failing_is_still_removed() -> None:
    server, devices = FakeL3Server(), MemoryDevices()
    r1 = _gw_router(server)
    devices.failing.add(r1["id"])
    agent = _agent(server, devices)
    agent.run_until_idle()
    del server.routers[r1["id"]]
    agent.notify("router_gone", router_id=r1["id"])
    agent.run_until_idle()
    assert devices.removed == [r1["id"]]


def test_a_router_the_agent_cannot_read_is_left_alone_and_retried() -> None:
    server, devices, clock = FakeL3Server(), MemoryDevices(), Clock()
    r1, r2 = _gw_router(server), _gw_router(server)
    agent = _agent(server, devices, clock)
    agent.run_until_idle()
    good = dict(r1["gw_port"])
    r1["gw_port"].pop("mac_address")
    agent.resync("test")
    agent.notify("routers_changed", router_ids=[r1["id"], r2["id"]])
    agent.run_until_idle()
    assert devices.removed == [] and r1["id"] in devices.states
    r1["gw_port"] = good
    r1["routes"] = [{"destination": "10.9.0.0/24", "nexthop": "10.0.0.9"}]
    clock.now = 6.0
    agent.run_once(agent._idle_events())
    assert devices.states[r1["id"]].routes == {("10.9.0.0/24", "10.0.0.9")}
