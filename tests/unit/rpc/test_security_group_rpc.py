"""Security groups over RPC: the agents' question and the server's targeted notices.

On the in-process bus with simulated agents: ``security_group_info_for_devices``
answers in the shared contract's shape (each remote group's members once), and
rule and membership changes reach exactly the hosts that have an affected port,
one message each.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import oslo_messaging
from sqlalchemy import insert

from neutrino.db.base import table_of, utcnow
from neutrino.db.models import IPAllocation, Port, SecurityGroupPortBinding
from neutrino.rpc import securitygroups as sg_rpc
from neutrino.rpc import topics
from tests.fixtures.sim_agents import RpcRig
from tests.unit.rpc.scenarios import make_network, wait_messages

RULE_UPDATED = "security_groups_rule_updated"
MEMBER_UPDATED = "security_groups_member_updated"


def ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else None


def group(http: httpx.Client, name: str) -> dict[str, Any]:
    return ok(http.post("/v2.0/security-groups", json={"security_group": {
        "name": name, "project_id": "proj"}}), 201)["security_group"]


def rule(http: httpx.Client, group_id: str, **attrs: Any) -> dict[str, Any]:
    return ok(http.post("/v2.0/security-group-rules", json={"security_group_rule": {
        "security_group_id": group_id, "direction": "ingress", "project_id": "proj",
        **attrs}}), 201)["security_group_rule"]


def port(http: httpx.Client, net: dict[str, Any], host: str, groups: list[str],
         **attrs: Any) -> dict[str, Any]:
    return ok(http.post("/v2.0/ports", json={"port": {
        "network_id": net["id"], "binding:host_id": host, "security_groups": groups,
        "project_id": "proj", **attrs}}), 201)["port"]


def ask(rig: RpcRig, devices: list[str], namespace: str | None = None,
        version: str = "1.0") -> dict[str, Any]:
    target = oslo_messaging.Target(topic=topics.PLUGIN, version=version, namespace=namespace)
    client = oslo_messaging.get_rpc_client(rig.transport, target)
    reply: dict[str, Any] = client.prepare(timeout=10).call(
        {}, "security_group_info_for_devices", devices=devices)
    return reply


def sent(rig: RpcRig, method: str) -> int:
    return rig.rpc.caster.sent[(sg_rpc.SECURITY_GROUP_UPDATE, method)]


def test_info_for_devices_answers_in_the_contracts_shape(rig: RpcRig) -> None:
    net = make_network(rig, project_id="proj")
    with rig.api.http() as http:
        web, db = group(http, "web"), group(http, "db")
        ssh = rule(http, db["id"], protocol="tcp", port_range_min=22, port_range_max=22,
                   remote_group_id=web["id"])
        member = port(http, net, "host-a", [web["id"]], allowed_address_pairs=[
            {"ip_address": "10.9.9.0/28"}])
        server = port(http, net, "host-b", [db["id"]])
        bare = port(http, net, "host-b", [], port_security_enabled=False)
    reply = ask(rig, [server["id"], bare["id"], "no-such-port"])
    json.dumps(reply)  # JSON-able, as it travels
    assert reply["devices"] == {
        server["id"]: {"security_groups": [db["id"]], "port_security_enabled": True},
        bare["id"]: {"security_groups": [], "port_security_enabled": False}}
    assert set(reply["security_groups"]) == {db["id"]}
    rules = reply["security_groups"][db["id"]]["rules"]
    assert reply["security_groups"][db["id"]]["stateful"] is True
    assert {"id": ssh["id"], "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
            "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": None,
            "remote_group_id": web["id"]} in rules
    assert len(rules) == 3  # and the two egress rules every group starts with
    assert reply["sg_member_ips"] == {web["id"]: {
        "IPv4": sorted([member["fixed_ips"][0]["ip_address"], "10.9.9.0/28"]), "IPv6": []}}
    # Neutron's agents ask in the ``secgroup`` namespace at version 1.3.
    assert ask(rig, [server["id"]], namespace="secgroup", version="1.3") == ask(
        rig, [server["id"]])


def _bulk_ports(session: Any, net_id: str, subnet_id: str, group_id: str,
                addresses: list[str], first_mac: int) -> list[str]:
    """Ports with one address each in ``group_id``, written directly (fast setup)."""
    now = utcnow()
    macs = [first_mac + i for i in range(len(addresses))]
    ids = [f"{group_id[:8]}-0000-4000-8000-{i:012d}" for i in range(len(addresses))]
    session.execute(insert(table_of(Port)), [{
        "id": pid, "project_id": "proj", "name": "", "description": "",
        "network_id": net_id, "mac_address": f"fa:16:3e:{macs[i] >> 16 & 255:02x}:"
        f"{macs[i] >> 8 & 255:02x}:{macs[i] & 255:02x}", "admin_state_up": True, "status": "DOWN",
        "device_id": "", "device_owner": "", "port_security_enabled": True,
        "created_at": now, "updated_at": now, "revision_number": 0}
        for i, pid in enumerate(ids)])
    session.execute(insert(table_of(IPAllocation)), [
        {"ip_address": ip, "subnet_id": subnet_id, "network_id": net_id, "port_id": pid}
        for pid, ip in zip(ids, addresses, strict=True)])
    session.execute(insert(table_of(SecurityGroupPortBinding)), [
        {"port_id": pid, "security_group_id": group_id} for pid in ids])
    return ids


def test_the_reply_holds_each_remote_member_once_not_once_per_port(rig: RpcRig) -> None:
    with rig.api.http() as http:
        net = ok(http.post("/v2.0/networks", json={"network": {"project_id": "proj"}}),
                 201)["network"]
        sub = ok(http.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": "10.128.0.0/16", "ip_version": 4}}),
            201)["subnet"]
        clients, members = group(http, "clients"), group(http, "members")
        rule(http, clients["id"], protocol="tcp", port_range_min=443, port_range_max=443,
             remote_group_id=members["id"])
    member_ips = [f"10.128.{i // 250}.{i % 250 + 2}" for i in range(2000)]
    client_ips = [f"10.128.100.{i + 2}" for i in range(200)]
    with rig.plugin.db.transaction() as session:
        _bulk_ports(session, net["id"], sub["id"], members["id"], member_ips, 0)
        asking = _bulk_ports(session, net["id"], sub["id"], clients["id"], client_ips, 5000)
    reply = ask(rig, asking)
    assert len(reply["devices"]) == 200
    assert set(reply["security_groups"]) == {clients["id"]}
    assert sorted(reply["sg_member_ips"][members["id"]]["IPv4"]) == sorted(member_ips)
    text = json.dumps(reply)
    for address in (member_ips[0], member_ips[999], member_ips[-1]):
        assert text.count(f'"{address}"') == 1
    # 2,000 addresses once plus 200 small device entries, not 200 × 2,000 addresses.
    assert len(text) < 200_000


def test_notices_go_once_to_exactly_the_hosts_with_affected_ports(rig: RpcRig) -> None:
    a, b, c = (rig.agent(h, ip) for h, ip in (("host-a", "192.0.2.1"),
                                              ("host-b", "192.0.2.2"),
                                              ("host-c", "192.0.2.3")))
    net = make_network(rig, project_id="proj")
    with rig.api.http() as http:
        web, db, other = group(http, "web"), group(http, "db"), group(http, "other")
        rule(http, db["id"], protocol="tcp", port_range_min=5432, port_range_max=5432,
             remote_group_id=web["id"])
        port(http, net, "host-a", [web["id"]])
        port(http, net, "host-b", [db["id"]])
        port(http, net, "host-c", [other["id"]])
        for agent in (a, b, c):
            agent.recorder.clear()

        # Rules of ``web`` change: only host-a has a port in it; one message per request.
        before = sent(rig, RULE_UPDATED)
        made = ok(http.post("/v2.0/security-group-rules", json={"security_group_rules": [
            {"security_group_id": web["id"], "direction": "ingress", "protocol": "tcp",
             "port_range_min": p, "port_range_max": p, "project_id": "proj"}
            for p in (80, 443, 8080)]}), 201)["security_group_rules"]
        assert sent(rig, RULE_UPDATED) == before + 1
        assert wait_messages(a, RULE_UPDATED, 1) == [{"security_groups": [web["id"]]}]

        # A new member of ``web`` (on host-c): the hosts of groups whose rules name
        # ``web`` as remote (``db`` on host-b) hear of it, and no one else.
        before = sent(rig, MEMBER_UPDATED)
        newcomer = port(http, net, "host-c", [web["id"]])
        assert sent(rig, MEMBER_UPDATED) == before + 1
        assert wait_messages(b, MEMBER_UPDATED, 1) == [{"security_groups": [web["id"]]}]

        # Its addresses change: again host-b only.
        ok(http.put(f"/v2.0/ports/{newcomer['id']}", json={"port": {
            "fixed_ips": [{"subnet_id": newcomer["fixed_ips"][0]["subnet_id"]}],
            "allowed_address_pairs": [{"ip_address": "10.1.0.200"}]}}))
        assert sent(rig, MEMBER_UPDATED) == before + 2
        wait_messages(b, MEMBER_UPDATED, 2)

        # A rename is nothing a firewall depends on.
        ok(http.put(f"/v2.0/ports/{newcomer['id']}", json={"port": {"name": "x"}}))
        ok(http.put(f"/v2.0/ports/{newcomer['id']}/tags", json={"tags": ["t"]}))
        assert sent(rig, MEMBER_UPDATED) == before + 2

        # It leaves ``web`` for ``other``: members of both changed; only db's host cares.
        ok(http.put(f"/v2.0/ports/{newcomer['id']}", json={"port": {
            "security_groups": [other["id"]]}}))
        assert sent(rig, MEMBER_UPDATED) == before + 3
        third = wait_messages(b, MEMBER_UPDATED, 3)[-1]
        assert third == {"security_groups": sorted([web["id"], other["id"]])}

        ok(http.delete(f"/v2.0/security-group-rules/{made[0]['id']}"), 204)
        wait_messages(a, RULE_UPDATED, 2)
        ok(http.delete(f"/v2.0/ports/{newcomer['id']}"), 204)
        assert sent(rig, MEMBER_UPDATED) == before + 3  # in ``other``: nobody references it

    assert a.recorder.of(MEMBER_UPDATED) == [] and c.recorder.of(MEMBER_UPDATED) == []
    assert b.recorder.of(RULE_UPDATED) == [] and c.recorder.of(RULE_UPDATED) == []
    assert len(a.recorder.of(RULE_UPDATED)) == 2 and len(b.recorder.of(MEMBER_UPDATED)) == 3


def test_notifier_casts_directly_to_each_host_once() -> None:
    casts: list[tuple[str, str, str | None, dict[str, Any]]] = []

    class Caster:
        def cast(self, topic: str, method: str, host: str | None = None,
                 **kwargs: Any) -> None:
            casts.append((topic, method, host, kwargs))

    notifier = sg_rpc.SecurityGroupAgentNotifier(Caster())
    notifier.security_groups_rule_updated(["h2", "", "h1", "h2"], ["g"])
    notifier.security_groups_member_updated([], ["g"])
    assert casts == [
        ("q-agent-notifier-security_group-update", RULE_UPDATED, "h1",
         {"security_groups": ["g"]}),
        ("q-agent-notifier-security_group-update", RULE_UPDATED, "h2",
         {"security_groups": ["g"]})]
