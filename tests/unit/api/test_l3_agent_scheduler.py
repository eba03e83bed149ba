"""L3 agent scheduling through the API: ``l3_agent_scheduler`` and ``router_availability_zone``.

Agents are recorded as their heartbeats would record them. Routers get an L3 agent
when created (``router_auto_schedule``), least routers first, only alive, admin-up
agents in legacy or dvr_snat mode, inside their availability zone hints; by hand
with ``POST /v2.0/agents/{id}/l3-routers`` and Neutron's 404/409s; admin only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from neutrino.common import constants as const
from neutrino.conf import ConfigError, make_conf
from neutrino.db import agents as agents_db
from neutrino.db.base import utcnow
from neutrino.plugins.l3.plugin import Plugin
from tests.fixtures.servers import ApiServer
from tests.unit.api.conftest import ServerFactory
from tests.unit.api.helpers import assert_error, ids, network, ok, subnet

L3 = {"DEFAULT": {"service_plugins": ["router"]}}


@pytest.fixture
def server(make_server: ServerFactory) -> ApiServer:
    return make_server(L3)


@pytest.fixture
def manual(make_server: ServerFactory) -> ApiServer:
    """No automatic scheduling: routers are placed by hand."""
    return make_server({"DEFAULT": {**L3["DEFAULT"], "router_auto_schedule": False}})


def heartbeat(server: ApiServer, host: str, agent_type: str = const.AGENT_TYPE_L3,
              zone: str = "nova", age: int = 0, **configurations: Any) -> str:
    """Record an agent's report ``age`` seconds ago; its id."""
    db = server.plugin.db
    when = utcnow() - dt.timedelta(seconds=age)
    state = {"agent_type": agent_type, "host": host, "binary": "neutron-l3-agent",
             "topic": "l3_agent", "availability_zone": zone,
             "configurations": {"agent_mode": "legacy", **configurations}}
    with db.transaction() as session:
        agents_db.record_heartbeat(session, state, when, 75)
    with db.reader() as session:
        row = agents_db.get_by_type_and_host(session, agent_type, host)
        assert row is not None
        return row.id


def l3_plugin(server: ApiServer) -> Plugin:
    return next(p for p in server.server.service_plugins if isinstance(p, Plugin))


def router(http: Any, **attrs: Any) -> dict[str, Any]:
    return dict(ok(http.post("/v2.0/routers", json={"router": {"name": "r", **attrs}}),
                   201)["router"])


def agent_routers(http: Any, agent_id: str) -> list[dict[str, Any]]:
    return list(ok(http.get(f"/v2.0/agents/{agent_id}/l3-routers"))["routers"])


def router_agents(http: Any, router_id: str) -> list[dict[str, Any]]:
    return list(ok(http.get(f"/v2.0/routers/{router_id}/l3-agents"))["agents"])


def test_extensions_are_listed(server: ApiServer) -> None:
    with server.http() as http:
        aliases = {e["alias"] for e in ok(http.get("/v2.0/extensions"))["extensions"]}
        assert {"l3_agent_scheduler", "router_availability_zone"} <= aliases
        assert ok(http.get("/v2.0/extensions/l3_agent_scheduler"))


def test_routers_go_to_the_agent_with_fewest_routers(server: ApiServer) -> None:
    a, b = heartbeat(server, "net-a"), heartbeat(server, "net-b")
    with server.http() as http:
        first, second, third = (router(http, name=n) for n in ("1", "2", "3"))
        assert ids(router_agents(http, first["id"])) == [a]
        assert ids(router_agents(http, second["id"])) == [b]  # a has one already
        assert ids(router_agents(http, third["id"])) == [a]  # a tie: host order
        assert sorted(ids(agent_routers(http, a))) == sorted([first["id"], third["id"]])
        assert ids(agent_routers(http, b)) == [second["id"]]
        [shown] = router_agents(http, first["id"])
        assert shown["agent_type"] == "L3 agent" and shown["alive"] is True
        assert shown["host"] == "net-a"


def test_only_alive_admin_up_legacy_or_dvr_snat_agents_are_chosen(
        server: ApiServer) -> None:
    heartbeat(server, "dead", age=3600)
    heartbeat(server, "dvr", agent_mode="dvr")
    heartbeat(server, "dhcp", agent_type=const.AGENT_TYPE_DHCP)
    down = heartbeat(server, "drained")
    with server.http() as http:
        ok(http.put(f"/v2.0/agents/{down}", json={"agent": {"admin_state_up": False}}))
        lonely = router(http)
        assert router_agents(http, lonely["id"]) == []
        snat = heartbeat(server, "snat", agent_mode="dvr_snat")
        # An unhosted router is scheduled by its next change.
        ok(http.put(f"/v2.0/routers/{lonely['id']}", json={"router": {"name": "x"}}))
        assert ids(router_agents(http, lonely["id"])) == [snat]


def test_no_scheduling_without_router_auto_schedule(manual: ApiServer) -> None:
    heartbeat(manual, "net-a")
    with manual.http() as http:
        made = router(http)
        assert router_agents(http, made["id"]) == []
        assert l3_plugin(manual).auto_schedule("net-a") == []


def test_add_and_remove_by_hand(manual: ApiServer) -> None:
    a, b = heartbeat(manual, "net-a"), heartbeat(manual, "net-b")
    with manual.http() as http:
        made = router(http)
        url = f"/v2.0/agents/{a}/l3-routers"
        resp = http.post(url, json={"router_id": made["id"]})
        assert resp.status_code == 201 and resp.json() is None
        assert ids(router_agents(http, made["id"])) == [a]
        assert ids(agent_routers(http, a)) == [made["id"]]
        # The same agent again: nothing to do, as Neutron.
        assert http.post(url, json={"router_id": made["id"]}).status_code == 201
        error = assert_error(http.post(f"/v2.0/agents/{b}/l3-routers",
                                       json={"router_id": made["id"]}),
                             409, "RouterHostedByL3Agent")
        assert a in error["message"]
        assert http.delete(f"{url}/{made['id']}").status_code == 204
        assert router_agents(http, made["id"]) == []
        assert_error(http.delete(f"{url}/{made['id']}"), 409, "RouterNotHostedByL3Agent")
        assert http.post(f"/v2.0/agents/{b}/l3-routers",
                         json={"router_id": made["id"]}).status_code == 201
        assert ids(router_agents(http, made["id"])) == [b]


def test_refusals(manual: ApiServer) -> None:
    l3 = heartbeat(manual, "net-a")
    dhcp = heartbeat(manual, "net-a", agent_type=const.AGENT_TYPE_DHCP)
    dvr = heartbeat(manual, "compute-1", agent_mode="dvr")
    with manual.http() as http:
        made = router(http)
        body = {"router_id": made["id"]}
        assert_error(http.post(f"/v2.0/agents/{dhcp}/l3-routers", json=body), 404,
                     "InvalidL3Agent")
        assert_error(http.post(f"/v2.0/agents/{dvr}/l3-routers", json=body), 409,
                     "DVRL3CannotAssignToDvrAgent")
        assert_error(http.post("/v2.0/agents/no-such-agent/l3-routers", json=body), 404)
        assert_error(http.post(f"/v2.0/agents/{l3}/l3-routers",
                               json={"router_id": "no-such-router"}), 404, "RouterNotFound")
        assert_error(http.post(f"/v2.0/agents/{l3}/l3-routers", json={}), 400)
        assert_error(http.post(f"/v2.0/agents/{l3}/l3-routers", json=[1]), 400)
        assert_error(http.get("/v2.0/routers/no-such-router/l3-agents"), 404)
        ok(http.put(f"/v2.0/agents/{l3}", json={"agent": {"admin_state_up": False}}))
        assert_error(http.post(f"/v2.0/agents/{l3}/l3-routers", json=body), 404,
                     "InvalidL3Agent")
        assert router_agents(http, made["id"]) == []


def test_admin_only(server: ApiServer) -> None:
    agent = heartbeat(server, "net-a")
    with server.http(project="p1") as http:
        own = router(http)
        assert_error(http.get(f"/v2.0/agents/{agent}/l3-routers"), 404)
        assert_error(http.post(f"/v2.0/agents/{agent}/l3-routers",
                               json={"router_id": own["id"]}), 404)
        assert_error(http.delete(f"/v2.0/agents/{agent}/l3-routers/{own['id']}"), 404)
        # The router is the member's own; listing its agents is refused (Neutron's 403).
        assert_error(http.get(f"/v2.0/routers/{own['id']}/l3-agents"), 403,
                     "PolicyNotAuthorized")
    with server.http() as admin:
        assert ids(router_agents(admin, own["id"])) == [agent]


def test_router_delete_removes_its_binding(server: ApiServer) -> None:
    agent = heartbeat(server, "net-a")
    with server.http() as http:
        made = router(http)
        assert ids(agent_routers(http, agent)) == [made["id"]]
        assert http.delete(f"/v2.0/routers/{made['id']}").status_code == 204
        assert agent_routers(http, agent) == []


def test_availability_zone_hints_steer_and_zones_show_the_hosts(server: ApiServer) -> None:
    heartbeat(server, "net-a", zone="az1")
    b = heartbeat(server, "net-b", zone="az2")
    with server.http() as http:
        hinted = router(http, availability_zone_hints=["az2"])
        assert hinted["availability_zone_hints"] == ["az2"]
        assert ids(router_agents(http, hinted["id"])) == [b]
        shown = ok(http.get(f"/v2.0/routers/{hinted['id']}"))["router"]
        assert shown["availability_zone_hints"] == ["az2"]
        assert shown["availability_zones"] == ["az2"]
        free = router(http)
        assert free["availability_zone_hints"] == []
        listed = {r["id"]: r for r in ok(http.get("/v2.0/routers"))["routers"]}
        assert listed[free["id"]]["availability_zones"] == ["az1"]  # a has fewer routers
        error = assert_error(http.post("/v2.0/routers", json={"router": {
            "availability_zone_hints": ["az2", "nowhere"]}}), 404, "AvailabilityZoneNotFound")
        assert "nowhere" in error["message"]
        assert_error(http.put(f"/v2.0/routers/{hinted['id']}", json={"router": {
            "availability_zone_hints": ["az1"]}}), 400)
        assert_error(http.post("/v2.0/routers", json={"router": {
            "availability_zone_hints": [1]}}), 400)
        assert_error(http.post("/v2.0/routers", json={"router": {
            "availability_zone_hints": ["az1", "az1"]}}), 400)
        assert_error(http.post("/v2.0/routers", json={"router": {
            "availability_zone_hints": ["z" * 200, "y" * 100]}}), 400)
        names = {r["name"] for r in ok(http.get("/v2.0/routers"))["routers"]}
        assert names == {"r"}  # the refused creates left nothing behind


def test_hinted_router_waits_for_an_agent_in_its_zone(server: ApiServer) -> None:
    heartbeat(server, "net-b", zone="az2", age=3600)  # the zone exists, its agent is dead
    heartbeat(server, "net-a", zone="az1")
    with server.http() as http:
        hinted = router(http, availability_zone_hints=["az2"])
        assert router_agents(http, hinted["id"]) == []
        assert hinted["availability_zones"] == []
        b = heartbeat(server, "net-b", zone="az2")
        ext = network(http, **{"router:external": True})
        subnet(http, ext["id"], "172.24.4.0/24")
        ok(http.put(f"/v2.0/routers/{hinted['id']}", json={"router": {
            "external_gateway_info": {"network_id": ext["id"]}}}))
        assert ids(router_agents(http, hinted["id"])) == [b]


def test_failover_moves_routers_of_dead_agents(server: ApiServer) -> None:
    a = heartbeat(server, "net-a")
    with server.http() as http:
        made = router(http)
        assert ids(router_agents(http, made["id"])) == [a]
        plugin = l3_plugin(server)
        later = utcnow() + dt.timedelta(seconds=3600)
        assert plugin.reschedule_dead_agents(utcnow()) == {}
        # Nobody else alive: the router stays where it is.
        assert plugin.reschedule_dead_agents(later) == {}
        heartbeat(server, "net-b", age=-3600)  # alive at ``later``
        heartbeat(server, "net-c", age=-3600, agent_mode="dvr")  # cannot take it
        assert plugin.reschedule_dead_agents(later) == {made["id"]: "net-b"}
        [moved] = router_agents(http, made["id"])
        assert moved["host"] == "net-b"
        assert plugin.reschedule_dead_agents(later) == {}  # converged


def test_agent_asking_takes_unhosted_routers(server: ApiServer) -> None:
    with server.http() as http:
        first = router(http)  # no L3 agent yet
        hinted_zone = heartbeat(server, "net-z", zone="az9", router_auto_schedule=True)
        ok(http.put(f"/v2.0/agents/{hinted_zone}", json={"agent": {"admin_state_up": False}}))
        hinted = router(http, availability_zone_hints=["az9"])
        a = heartbeat(server, "net-a")
        plugin = l3_plugin(server)
        assert plugin.auto_schedule("net-a") == [first["id"]]  # not the az9 router
        assert plugin.router_ids_on_host("net-a") == [first["id"]]
        assert plugin.auto_schedule("net-a") == []
        assert plugin.router_ids_on_host("net-z") == []  # admin down: no services
        assert ids(router_agents(http, first["id"])) == [a]
        assert router_agents(http, hinted["id"]) == []


def test_openstacksdk_drives_it(manual: ApiServer) -> None:
    agent_id = heartbeat(manual, "net-a")
    conn = manual.sdk()
    made = conn.network.create_router(name="sdk")
    agent = conn.network.get_agent(agent_id)
    conn.network.add_router_to_agent(agent, made)
    assert [r.id for r in conn.network.agent_hosted_routers(agent)] == [made.id]
    assert [a.id for a in conn.network.routers_hosting_l3_agents(made)] == [agent_id]
    conn.network.remove_router_from_agent(agent, made)
    assert list(conn.network.routers_hosting_l3_agents(made)) == []


def test_scheduler_options_take_neutron_values(tmp_path: Any) -> None:
    conf = make_conf([])
    assert conf.router_scheduler_driver.endswith("LeastRoutersScheduler")
    assert conf.router_auto_schedule is True
    assert conf.allow_automatic_l3agent_failover is False
    path = tmp_path / "neutron.conf"
    path.write_text("[DEFAULT]\nrouter_scheduler_driver = "
                    "neutron.scheduler.l3_agent_scheduler.ChanceScheduler\n")
    assert make_conf(["--config-file", str(path)]).router_scheduler_driver.endswith(
        "ChanceScheduler")
    path.write_text("[DEFAULT]\nrouter_scheduler_driver = my.Scheduler\n")
    with pytest.raises(ConfigError, match="router_scheduler_driver"):
        make_conf(["--config-file", str(path)])


def test_default_availability_zones_become_a_routers_hints(
        make_server: ServerFactory) -> None:
    server = make_server({"DEFAULT": {**L3["DEFAULT"], "default_availability_zones": ["az2"]}})
    heartbeat(server, "net-a", zone="az1")
    b = heartbeat(server, "net-b", zone="az2")
    with server.http() as http:
        for _ in range(2):  # least routers would have put the second one on net-a
            made = router(http)
            assert made["availability_zone_hints"] == ["az2"]
            assert ids(router_agents(http, made["id"])) == [b]


def test_chance_scheduler_spreads_over_the_candidates(make_server: ServerFactory) -> None:
    server = make_server({"DEFAULT": {
        **L3["DEFAULT"],
        "router_scheduler_driver": "neutron.scheduler.l3_agent_scheduler.ChanceScheduler"}})
    a, b = heartbeat(server, "net-a"), heartbeat(server, "net-b")
    heartbeat(server, "dead", age=3600)
    with server.http() as http:
        hosts = set()
        for _ in range(40):  # both agents get some: 2 ** -39 that one gets none
            [agent] = router_agents(http, router(http)["id"])
            hosts.add(agent["id"])
    assert hosts == {a, b}
