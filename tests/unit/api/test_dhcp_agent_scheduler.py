"""The ``dhcp_agent_scheduler`` API: an agent's networks, a network's agents (admin only).

Agents are recorded as their heartbeats would record them; networks get DHCP agents
by scheduling (a DHCP-enabled subnet) or by hand (POST), as in Neutron.
"""

from __future__ import annotations

from typing import Any

import pytest

from neutrino.common import constants as const
from neutrino.db import agents as agents_db
from neutrino.db.base import utcnow
from tests.fixtures.servers import ApiServer
from tests.unit.api.conftest import ServerFactory
from tests.unit.api.helpers import assert_error, ids, network, ok, subnet


@pytest.fixture
def server(make_server: ServerFactory) -> ApiServer:
    return make_server({"DEFAULT": {"dhcp_agents_per_network": 1}})


def heartbeat(server: ApiServer, host: str, agent_type: str = const.AGENT_TYPE_DHCP) -> str:
    db = server.plugin.db
    with db.transaction() as session:
        agents_db.record_heartbeat(session, {"agent_type": agent_type, "host": host,
                                             "binary": "neutron-dhcp-agent",
                                             "topic": "dhcp_agent"}, utcnow(), 75)
    with db.reader() as session:
        row = agents_db.get_by_type_and_host(session, agent_type, host)
        assert row is not None
        return row.id


def agent_networks(http: Any, agent_id: str) -> list[dict[str, Any]]:
    return list(ok(http.get(f"/v2.0/agents/{agent_id}/dhcp-networks"))["networks"])


def network_agents(http: Any, net_id: str) -> list[dict[str, Any]]:
    return list(ok(http.get(f"/v2.0/networks/{net_id}/dhcp-agents"))["agents"])


def test_extension_is_listed(server: ApiServer) -> None:
    with server.http() as http:
        aliases = {e["alias"] for e in ok(http.get("/v2.0/extensions"))["extensions"]}
        assert "dhcp_agent_scheduler" in aliases
        assert ok(http.get("/v2.0/extensions/dhcp_agent_scheduler"))


def test_scheduled_network_shows_on_both_sides(server: ApiServer) -> None:
    agent_id = heartbeat(server, "net-1")
    with server.http() as http:
        net = network(http, name="a")
        assert agent_networks(http, agent_id) == []
        subnet(http, net["id"], "10.0.0.0/24")
        assert ids(agent_networks(http, agent_id)) == [net["id"]]
        [agent] = network_agents(http, net["id"])
        assert agent["id"] == agent_id and agent["agent_type"] == "DHCP agent"
        assert agent["alive"] is True


def test_add_and_remove_by_hand(server: ApiServer) -> None:
    first, second = heartbeat(server, "net-1"), heartbeat(server, "net-2")
    with server.http() as http:
        net = network(http, name="a")
        subnet(http, net["id"], "10.0.0.0/24")
        [scheduled] = ids(network_agents(http, net["id"]))
        other = second if scheduled == first else first
        resp = http.post(f"/v2.0/agents/{other}/dhcp-networks", json={"network_id": net["id"]})
        assert resp.status_code == 201 and resp.json() is None
        assert sorted(ids(network_agents(http, net["id"]))) == sorted([first, second])
        assert_error(http.post(f"/v2.0/agents/{other}/dhcp-networks",
                               json={"network_id": net["id"]}), 409)
        assert http.delete(f"/v2.0/agents/{other}/dhcp-networks/{net['id']}"
                           ).status_code == 204
        assert ids(network_agents(http, net["id"])) == [scheduled]
        assert_error(http.delete(f"/v2.0/agents/{other}/dhcp-networks/{net['id']}"), 409)
        assert agent_networks(http, other) == []


def test_refusals(server: ApiServer) -> None:
    ovs = heartbeat(server, "compute-1", const.AGENT_TYPE_OVS)
    dhcp = heartbeat(server, "net-1")
    with server.http() as http:
        net = network(http, name="a")
        assert_error(http.post(f"/v2.0/agents/{ovs}/dhcp-networks",
                               json={"network_id": net["id"]}), 404)
        assert_error(http.post(f"/v2.0/agents/{dhcp}/dhcp-networks",
                               json={"network_id": "no-such-network"}), 404)
        assert_error(http.post("/v2.0/agents/no-such-agent/dhcp-networks",
                               json={"network_id": net["id"]}), 404)
    with server.http(project="p1") as http:
        assert_error(http.get(f"/v2.0/agents/{dhcp}/dhcp-networks"), 404)
        assert_error(http.post(f"/v2.0/agents/{dhcp}/dhcp-networks",
                               json={"network_id": net["id"]}), 404)


def test_network_delete_removes_bindings(server: ApiServer) -> None:
    agent_id = heartbeat(server, "net-1")
    with server.http() as http:
        net = network(http, name="a")
        subnet(http, net["id"], "10.0.0.0/24")
        assert ids(agent_networks(http, agent_id)) == [net["id"]]
        assert http.delete(f"/v2.0/networks/{net['id']}").status_code == 204
        assert agent_networks(http, agent_id) == []


def test_openstacksdk_drives_it(server: ApiServer) -> None:
    agent_id = heartbeat(server, "net-1")
    conn = server.sdk()
    net = conn.network.create_network(name="sdk")
    conn.network.add_dhcp_agent_to_network(agent_id, net)
    assert [n.id for n in conn.network.dhcp_agent_hosting_networks(agent_id)] == [net.id]
    assert [a.id for a in conn.network.network_hosting_dhcp_agents(net)] == [agent_id]
    conn.network.remove_dhcp_agent_from_network(agent_id, net)
    assert list(conn.network.network_hosting_dhcp_agents(net)) == []


def test_a_project_may_not_list_its_own_networks_agents(server: ApiServer) -> None:
    """``get_dhcp-agents`` is admin only: the owner gets 403, not an empty list (Neutron)."""
    heartbeat(server, "net-1")
    with server.http(project="p1") as http:
        net = network(http, name="mine")
        subnet(http, net["id"], "10.7.0.0/24")
        assert_error(http.get(f"/v2.0/networks/{net['id']}/dhcp-agents"), 403,
                     "PolicyNotAuthorized")
        assert_error(http.get("/v2.0/networks/no-such-network/dhcp-agents"), 404)
    with server.http() as http:
        assert [a["host"] for a in network_agents(http, net["id"])] == ["net-1"]
