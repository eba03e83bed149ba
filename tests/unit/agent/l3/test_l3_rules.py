"""The pure half of the L3 agent: router dict -> desired devices, routes and iptables rules,
and the diff of those rules against what ``iptables-save`` shows."""

from __future__ import annotations

import dataclasses

from neutrino.agent.l3.iptables import parse_save, restore_script, rule_count
from neutrino.agent.l3.model import router_from_dict
from neutrino.agent.l3.state import Settings, desired, fip_statuses
from tests.unit.agent.l3.fake_l3_server import floating_ip, router, router_port, subnet

EXT = subnet("203.0.113.0/24")
NET_A = subnet("10.0.0.0/24")
NET_B = subnet("10.1.0.0/24")


def _router() -> dict:
    gw = router_port(EXT, "203.0.113.2", owner="network:router_gateway", mtu=1500)
    body = router([router_port(NET_A, "10.0.0.1"), router_port(NET_B, "10.1.0.1")], gw)
    body["routes"] = [{"destination": "10.9.0.0/24", "nexthop": "10.0.0.5"}]
    return body


def _tables(body: dict, settings: Settings = Settings()) -> dict:
    return desired(router_from_dict(body), settings).tables


def test_devices_addresses_and_routes() -> None:
    body = _router()
    state = desired(router_from_dict(body), Settings())
    gw = body["gw_port"]
    qr = ["qr-" + p["id"][:11] for p in sorted(body["_interfaces"], key=lambda p: p["id"])]
    assert [d.name for d in state.devices] == [*qr, "qg-" + gw["id"][:11]]
    assert state.namespace == f"qrouter-{body['id']}"
    by_name = {d.name: d for d in state.devices}
    assert by_name[state.gateway_device].addresses == {"203.0.113.2/24"}
    assert by_name[state.gateway_device].mtu == 1500
    assert by_name[state.gateway_device].mac == gw["mac_address"]
    assert {a for d in state.devices[:2] for a in d.addresses} == {"10.0.0.1/24",
                                                                    "10.1.0.1/24"}
    assert state.default_gateways == ((4, "203.0.113.1"),)
    assert state.routes == {("10.9.0.0/24", "10.0.0.5")}


def test_gateway_snat_and_metadata_rules() -> None:
    body = _router()
    qg = "qg-" + body["gw_port"]["id"][:11]
    nat = _tables(body)["nat"]
    assert nat["PREROUTING"] == ("-j neutron-l3-agent-PREROUTING",)
    assert nat["POSTROUTING"] == ("-j neutron-l3-agent-POSTROUTING",
                                  "-j neutron-postrouting-bottom")
    assert nat["neutron-l3-agent-PREROUTING"] == (
        "-d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT "
        "--to-ports 9697",)
    assert nat["neutron-l3-agent-POSTROUTING"] == (
        f"! -o {qg} -m conntrack ! --ctstate DNAT -j ACCEPT",)
    assert nat["neutron-l3-agent-snat"] == (
        "-j neutron-l3-agent-float-snat",
        f"-o {qg} -j SNAT --to-source 203.0.113.2",
        "-m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT -j SNAT "
        "--to-source 203.0.113.2")
    mangle = _tables(body)["mangle"]
    assert mangle["neutron-l3-agent-mark"] == (f"-i {qg} -j MARK --set-xmark 0x2/0xffff",)
    assert _tables(body)["filter"]["neutron-l3-agent-INPUT"] == (
        "-m mark --mark 0x1/0xffff -j ACCEPT", "-p tcp -m tcp --dport 9697 -j DROP")


def test_enable_snat_false_keeps_floating_ips_but_no_gateway_snat() -> None:
    body = _router()
    body["enable_snat"] = False
    floating_ip(body, "203.0.113.10", "10.0.0.5")
    nat = _tables(body)["nat"]
    assert nat["neutron-l3-agent-snat"] == ("-j neutron-l3-agent-float-snat",)
    assert nat["neutron-l3-agent-float-snat"] == (
        "-s 10.0.0.5/32 -j SNAT --to-source 203.0.113.10",)


def test_floating_ip_dnat_snat_and_address() -> None:
    body = _router()
    fip = floating_ip(body, "203.0.113.10", "10.0.0.5")
    floating_ip(body, "203.0.113.11", None)  # allocated, not associated: nothing
    router_model = router_from_dict(body)
    state = desired(router_model, Settings())
    nat = state.tables["nat"]
    dnat = "-d 203.0.113.10/32 -j DNAT --to-destination 10.0.0.5"
    assert dnat in nat["neutron-l3-agent-PREROUTING"]
    assert nat["neutron-l3-agent-OUTPUT"] == (dnat,)
    assert nat["neutron-l3-agent-float-snat"] == (
        "-s 10.0.0.5/32 -j SNAT --to-source 203.0.113.10",)
    gw = next(d for d in state.devices if d.name == state.gateway_device)
    assert gw.addresses == {"203.0.113.2/24", "203.0.113.10/32"}
    assert state.floating_ips == (("203.0.113.10", "10.0.0.5"),)
    assert state.announced == {"203.0.113.2", "203.0.113.10"}
    statuses = fip_statuses(router_model)
    assert statuses[fip["id"]] == "ACTIVE"
    assert sorted(statuses.values()) == ["ACTIVE", "DOWN"]


def test_port_forwarding_dnat() -> None:
    body = _router()
    body["_port_forwardings"] = [{
        "id": "pf1", "floatingip_id": "f1", "floating_ip_address": "203.0.113.20",
        "internal_ip_address": "10.1.0.7", "internal_port": 22, "external_port": 2222,
        "protocol": "tcp", "internal_port_id": "p"}]
    state = desired(router_from_dict(body), Settings())
    assert ("-d 203.0.113.20/32 -p tcp -m tcp --dport 2222 -j DNAT --to-destination "
            "10.1.0.7:22") in state.tables["nat"]["neutron-l3-agent-PREROUTING"]
    gw = next(d for d in state.devices if d.name == state.gateway_device)
    assert "203.0.113.20/32" in gw.addresses
    # announced like any floating IP: neighbours may still hold another router's MAC
    assert state.announced == {"203.0.113.2", "203.0.113.20"}


def test_router_without_gateway_has_no_nat_and_no_fips() -> None:
    body = router([router_port(NET_A, "10.0.0.1")])
    floating_ip(body, "203.0.113.10", "10.0.0.5")
    model = router_from_dict(body)
    state = desired(model, Settings(metadata=False))
    nat = state.tables["nat"]
    assert state.gateway_device is None and state.default_gateways == ()
    assert nat["neutron-l3-agent-PREROUTING"] == ()
    assert nat["neutron-l3-agent-snat"] == ("-j neutron-l3-agent-float-snat",)
    assert nat["neutron-l3-agent-float-snat"] == ()
    assert state.tables["filter"]["neutron-l3-agent-INPUT"] == ()
    assert list(fip_statuses(model).values()) == ["DOWN"]


def test_custom_marks_and_port() -> None:
    settings = Settings(metadata_port=8775, metadata_access_mark=0x10,
                        external_ingress_mark=0x20)
    tables = _tables(_router(), settings)
    assert "-m mark ! --mark 0x20/0xffff -m conntrack --ctstate DNAT -j SNAT " \
        "--to-source 203.0.113.2" in tables["nat"]["neutron-l3-agent-snat"]
    assert tables["filter"]["neutron-l3-agent-INPUT"] == (
        "-m mark --mark 0x10/0xffff -j ACCEPT", "-p tcp -m tcp --dport 8775 -j DROP")


def test_equal_routers_compile_to_equal_states() -> None:
    body = _router()
    floating_ip(body, "203.0.113.10", "10.0.0.5")
    shuffled = dict(body, _interfaces=list(reversed(body["_interfaces"])))
    assert desired(router_from_dict(body), Settings()) == \
        desired(router_from_dict(shuffled), Settings())


# iptables-save round trip and diff ---------------------------------------------------------

def _save(tables: dict) -> str:
    """What iptables-save prints for ``tables`` (own chains sorted after built-in ones)."""
    lines = ["# Generated by iptables-save v1.8.9 (nf_tables)"]
    for table, chains in sorted(tables.items()):
        lines.append(f"*{table}")
        builtin = [c for c in ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")]
        lines += [f":{c} ACCEPT [0:0]" for c in builtin]
        lines += [f":{c} - [0:0]" for c in sorted(chains) if c not in builtin]
        for chain_name in [*builtin, *sorted(c for c in chains if c not in builtin)]:
            lines += [f"[3:180] -A {chain_name} {r}" for r in chains.get(chain_name, ())]
        lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def test_parse_save_reads_back_what_was_compiled() -> None:
    body = _router()
    floating_ip(body, "203.0.113.10", "10.0.0.5")
    tables = _tables(body)
    parsed = parse_save(_save(tables))
    assert restore_script(tables, parsed) == ""
    assert rule_count(parsed) == rule_count(tables)


def test_foreign_rules_are_not_ours() -> None:
    text = ("*nat\n:PREROUTING ACCEPT [0:0]\n:other - [0:0]\n"
            "-A PREROUTING -j other\n-A PREROUTING -j neutron-l3-agent-PREROUTING\n"
            "-A other -j ACCEPT\nCOMMIT\n")
    assert parse_save(text) == {"nat": {"PREROUTING": ("-j neutron-l3-agent-PREROUTING",)}}


def test_restore_script_rewrites_only_the_chains_that_differ() -> None:
    body = _router()
    before = _tables(body)
    fip = floating_ip(body, "203.0.113.10", "10.0.0.5")
    after = _tables(body)
    script = restore_script(after, parse_save(_save(before)))
    assert script.splitlines() == [
        "*nat",
        ":neutron-l3-agent-OUTPUT - [0:0]",
        ":neutron-l3-agent-PREROUTING - [0:0]",
        ":neutron-l3-agent-float-snat - [0:0]",
        "-A neutron-l3-agent-OUTPUT -d 203.0.113.10/32 -j DNAT --to-destination 10.0.0.5",
        "-A neutron-l3-agent-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp "
        "--dport 80 -j REDIRECT --to-ports 9697",
        "-A neutron-l3-agent-PREROUTING -d 203.0.113.10/32 -j DNAT --to-destination "
        "10.0.0.5",
        "-A neutron-l3-agent-float-snat -s 10.0.0.5/32 -j SNAT --to-source 203.0.113.10",
        "COMMIT"]
    # and back: the floating IP's rules go, nothing else is touched
    body["_floatingips"].remove(fip)
    back = restore_script(_tables(body), parse_save(_save(after)))
    assert "*filter" not in back and "*mangle" not in back
    assert "203.0.113.10" not in back


def test_restore_script_moves_jumps_and_drops_stale_chains() -> None:
    current = {"nat": {"PREROUTING": ("-j neutron-old",), "neutron-old": ("-j ACCEPT",)}}
    desired_tables = {"nat": {"PREROUTING": ("-j neutron-l3-agent-PREROUTING",),
                              "neutron-l3-agent-PREROUTING": ()}}
    assert restore_script(desired_tables, current).splitlines() == [
        "*nat", ":neutron-l3-agent-PREROUTING - [0:0]", ":neutron-old - [0:0]",
        "-D PREROUTING -j neutron-old", "-I PREROUTING 1 -j neutron-l3-agent-PREROUTING",
        "-X neutron-old", "COMMIT"]


def test_fresh_namespace_gets_every_table() -> None:
    script = restore_script(_tables(_router()), {})
    assert [line for line in script.splitlines() if line.startswith("*")] == [
        "*filter", "*mangle", "*nat"]
    assert "-I PREROUTING 1 -j neutron-l3-agent-PREROUTING" in script


def test_router_dict_defaults() -> None:
    body = _router()
    del body["enable_snat"]
    body["external_gateway_info"]["enable_snat"] = False
    del body["gw_port"]["fixed_ips"][0]["prefixlen"]  # taken from the subnet instead
    model = router_from_dict(body)
    assert model.enable_snat is False
    assert model.gw_port is not None and model.gw_port.fixed_ips[0].prefixlen == 24
    assert dataclasses.replace(model, enable_snat=True) != model
