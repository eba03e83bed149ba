"""L3 benchmarks (issue 10 item 6): API rates, data-plane convergence, L3 agent resync.

``python bench/l3.py [--quick] [--backend mariadb|postgresql] [--parts api,rig]`` from the
repo root prints one JSON object.

``api``: a real ``neutrino-server`` (one process, ``service_plugins = router``, noauth) on
a fresh MariaDB or PostgreSQL database and one client (``http.client``, one keep-alive
connection, requests one after another): routers created with an external gateway,
floating IPs created already associated (``port_id`` given; the ports, their network,
the router and its interface made beforehand, untimed), then those routers deleted
(each with its gateway), per second and p50/p95 of each request. Real Neutron 29 on
this machine kind (one API worker, MariaDB, Keystone, no agents) made 3.9 routers/s,
3.35 floating IPs/s and deleted 6.8 routers/s; the target is 20× each.

``rig``: the e2e rig (``tests/e2e/conftest.py``: the API server in this process on
SQLite, RabbitMQ) with a network node (``neutrino-l3-agent`` and an OVS agent with
``public:br-ex``), a compute host and an "outside" namespace on the external flat
network. Milliseconds (p50/p95 over 20 rounds, pings every 10 ms) from a floating IP's
association to the first packet through it and from its disassociation to the last
one (a router with a gateway), from ``add_router_interface`` to the first routed packet
(a second router, without gateway); then the seconds an L3 agent takes to resync
50/100/200 routers (gateway, one interface, one floating IP each) after a restart, and
how many router namespaces that resync made anew (none should be).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api import StdlibClient  # noqa: E402
from bench.report import log, percentiles_ms  # noqa: E402
from tests.fixtures.servers import (  # noqa: E402
    free_port,
    make_database,
    server_process,
    write_config,
)

NEUTRON = {"routers_with_gateway_per_s": 3.9, "router_create_p50_ms": 234,
           "floatingips_associated_per_s": 3.35, "floatingip_create_p50_ms": 280,
           "router_deletes_per_s": 6.8,
           "fip_association_to_first_packet_s": [1.3, 3.7],
           "add_router_interface_to_first_routed_packet_s": [5.0, 7.0],
           "disassociation_to_last_packet_s": [3.5, 10.0]}
TARGET_SPEEDUP = 20
EXTERNAL_CIDR = "100.64.0.0/16"  # API part only: addresses in the database, no traffic
TENANT_CIDR = "10.20.0.0/16"


# --- api: one client against a real server -------------------------------------------------

def _timed(call: Callable[[int], Any], count: int) -> tuple[list[Any], dict[str, Any]]:
    """``call(i)`` for i < count, one after another: (results, rate and latencies)."""
    results, latencies = [], []
    start = time.perf_counter()
    for index in range(count):
        t0 = time.perf_counter()
        results.append(call(index))
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    return results, {"count": count, "per_s": round(count / elapsed, 2),
                     "ms": percentiles_ms(latencies),
                     "mean_ms": round(statistics.fmean(latencies) * 1000, 1)}


def _ok(response: Any, what: str) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(f"{what}: HTTP {response.status_code}: {response._data[:500]!r}")
    return response.json() if response._data else None


def _external_network(http: Any) -> str:
    net = _ok(http.post("/v2.0/networks", json={"network": {
        "name": "public", "router:external": True, "provider:network_type": "flat",
        "provider:physical_network": "public"}}), "external network")["network"]
    _ok(http.post("/v2.0/subnets", json={"subnet": {
        "network_id": net["id"], "cidr": EXTERNAL_CIDR, "ip_version": 4,
        "enable_dhcp": False}}), "external subnet")
    return str(net["id"])


def _routers(http: Any, public: str, count: int) -> tuple[list[str], dict[str, Any]]:
    def create(index: int) -> str:
        router = _ok(http.post("/v2.0/routers", json={"router": {
            "name": f"bench-{index}", "external_gateway_info": {"network_id": public}}}),
            "router create")["router"]
        gateway = router["external_gateway_info"]
        if not gateway or not gateway["external_fixed_ips"]:
            raise RuntimeError(f"router without its gateway address: {router}")
        return str(router["id"])

    return _timed(create, count)


def _associated_fips(http: Any, public: str, count: int) -> dict[str, Any]:
    """Floating IPs created with ``port_id``: each must come back with the router."""
    net = _ok(http.post("/v2.0/networks", json={"network": {"name": "bench-tenant"}}),
              "tenant network")["network"]
    subnet = _ok(http.post("/v2.0/subnets", json={"subnet": {
        "network_id": net["id"], "cidr": TENANT_CIDR, "ip_version": 4,
        "enable_dhcp": False}}), "tenant subnet")["subnet"]
    router = _ok(http.post("/v2.0/routers", json={"router": {
        "name": "bench-fips", "external_gateway_info": {"network_id": public}}}),
        "router")["router"]
    _ok(http.put(f"/v2.0/routers/{router['id']}/add_router_interface",
                 json={"subnet_id": subnet["id"]}), "add_router_interface")
    ports = []
    while len(ports) < count:
        batch = min(100, count - len(ports))
        ports += _ok(http.post("/v2.0/ports", json={"ports": [
            {"network_id": net["id"], "device_owner": "compute:nova"}] * batch}),
            "ports")["ports"]

    def create(index: int) -> dict[str, Any]:
        fip = _ok(http.post("/v2.0/floatingips", json={"floatingip": {
            "floating_network_id": public, "port_id": ports[index]["id"]}}),
            "floating IP create")["floatingip"]
        if fip["router_id"] != router["id"] or not fip["fixed_ip_address"]:
            raise RuntimeError(f"floating IP not associated through the router: {fip}")
        return dict(fip)

    _fips, rate = _timed(create, count)
    return rate


def _router_deletes(http: Any, routers: list[str]) -> dict[str, Any]:
    def delete(index: int) -> None:
        response = http.delete(f"/v2.0/routers/{routers[index]}")
        if response.status_code != 204:
            raise RuntimeError(f"router delete: HTTP {response.status_code}")

    _done, rate = _timed(delete, len(routers))
    left = _ok(http.get("/v2.0/ports?device_owner=network:router_gateway&fields=id"),
               "gateway ports")["ports"]
    rate["gateway_ports_left"] = len(left) - 1  # the floating IPs' router keeps its own
    return rate


def _server_config(path: Path, url: str, port: int, workers: int) -> Path:
    return write_config(path, {
        "DEFAULT": {"auth_strategy": "noauth", "bind_host": "127.0.0.1", "bind_port": port,
                    "api_workers": workers, "service_plugins": "router"},
        "database": {"connection": url},
        # unlimited, as the reference run's admin: the count per project is not measured
        "quotas": {"quota_router": -1, "quota_floatingip": -1, "quota_port": -1,
                   "quota_network": -1, "quota_subnet": -1},
        "ml2": {"type_drivers": "flat,vxlan", "tenant_network_types": "vxlan",
                "mechanism_drivers": "openvswitch,l2population"},
        "ml2_type_flat": {"flat_networks": "public"},
        "ml2_type_vxlan": {"vni_ranges": "1:100000"}})


def measure_api(backend: str, routers: int, fips: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        port = free_port()
        with make_database(backend, tmpdir) as url:
            conf = _server_config(tmpdir / "neutron.conf", url, port, workers)
            with server_process([conf], port, tmpdir / "server.log"), \
                    StdlibClient(f"http://127.0.0.1:{port}") as http:
                public = _external_network(http)
                made, created = _routers(http, public, routers)
                log(f"{backend}: routers with a gateway {created}")
                associated = _associated_fips(http, public, fips)
                log(f"{backend}: associated floating IPs {associated}")
                deleted = _router_deletes(http, made)
                log(f"{backend}: router deletes {deleted}")
    measured = {"routers_with_gateway": created, "floatingips_associated": associated,
                "router_deletes": deleted}
    reference = {"routers_with_gateway": NEUTRON["routers_with_gateway_per_s"],
                 "floatingips_associated": NEUTRON["floatingips_associated_per_s"],
                 "router_deletes": NEUTRON["router_deletes_per_s"]}
    speedup = {k: round(measured[k]["per_s"] / reference[k], 1) for k in reference}
    return {"backend": backend, "api_workers": workers, **measured,
            "neutron_29_per_s": reference, "speedup_vs_neutron": speedup,
            "target_speedup": TARGET_SPEEDUP,
            "meets_target": all(s >= TARGET_SPEEDUP for s in speedup.values()),
            "setup": "neutrino-server as a child process (noauth, service_plugins=router, "
                     "quotas unlimited), one stdlib keep-alive client, requests serial; "
                     "Neutron's figures had Keystone tokens"}


# --- rig: packets through a real L3 agent ------------------------------------------------

ROUND_TIMEOUT_S = 30.0  # a change that takes longer than this to reach packets is a failure
QUIET_S = 0.5  # no reply for this long (50 pings) after a removal: the path is cut
SYNC_TIMEOUT_S = 900.0
OUTSIDE_CIDR = "198.18.0.1/16"  # the benchmarking range, inside the rig's namespaces only
OUTSIDE_IP = OUTSIDE_CIDR.split("/")[0]
ITERATION = re.compile(r"iteration \d+ took ([\d.]+) ms")
SERVER = {"DEFAULT": {"service_plugins": ["agents", "router"]},
          "ml2_type_flat": {"flat_networks": ["physnet1", "public"]},
          "quotas": {"quota_router": -1, "quota_floatingip": -1, "quota_port": -1,
                     "quota_network": -1, "quota_subnet": -1}}


def _added_then_removed(pinger: Any, add: Callable[[], Any],
                        remove: Callable[[], Any]) -> dict[str, float]:
    """``add`` while ``pinger`` runs (nothing may answer before), time its first reply;
    ``remove``, time the last reply before ``QUIET_S`` of silence."""
    from tests.fixtures import hosts

    time.sleep(0.3)  # the pinger runs before the clock starts
    if pinger.replies:
        raise RuntimeError("an answer came before the change that opens the path")
    added = time.time()
    add()
    hosts.wait_for(lambda: pinger.first_reply_after(added) is not None,
                   timeout=ROUND_TIMEOUT_S, interval=0.005, what="the first reply")
    first = pinger.first_reply_after(added)
    assert first is not None
    removed = time.time()
    remove()
    hosts.wait_for(lambda: time.time() - max(pinger.replies) > QUIET_S,
                   timeout=ROUND_TIMEOUT_S, interval=0.05, what="the replies to stop")
    return {"first_s": first - added, "last_after_remove_s": max(0.0, max(pinger.replies)
                                                                  - removed)}


def _rounds(rounds: int, src: Any, dst_ip: str, add: Callable[[], Any],
            remove: Callable[[], Any],
            prepare: Callable[[], Any] = lambda: None) -> list[dict[str, float]]:
    """``rounds`` of ``_added_then_removed``, each after ``prepare()``, pinging ``dst_ip``
    from ``src``; a fresh ping must fail after each removal."""
    from bench.sg_first_packet import Pinger

    results = []
    for index in range(rounds):
        prepare()
        pinger = Pinger(src.netns, dst_ip)
        try:
            results.append(_added_then_removed(pinger, add, remove))
        finally:
            pinger.stop()
        if src.ping(dst_ip, count=1, timeout_s=1):
            raise RuntimeError(f"{dst_ip} still answers a new ping after the removal")
        log(f"round {index + 1}/{rounds}: {results[-1]}")
    return results


def _vm(rig: Any, where: Any, net: dict[str, Any], subnet: dict[str, Any]) -> Any:
    from tests.fixtures import hosts

    port = rig.api("POST", "ports", {"port": {
        "network_id": net["id"], "binding:host_id": where.name,
        "device_owner": "compute:nova", "device_id": str(uuid.uuid4())}})["port"]
    address = port["fixed_ips"][0]["ip_address"]
    vm = hosts.create_vm(rig.cleanup, where.host, port["id"], port["mac_address"],
                         f"{address}/{subnet['cidr'].split('/')[1]}")
    vm.exec("ip", "route", "add", "default", "via", subnet["gateway_ip"])
    return port, vm


def _tenant(rig: Any, cidr: str) -> tuple[dict[str, Any], dict[str, Any]]:
    net = rig.api("POST", "networks", {"network": {
        "name": "bench-l3", "provider:network_type": "vxlan"}})["network"]
    subnet = rig.api("POST", "subnets", {"subnet": {
        "network_id": net["id"], "ip_version": 4, "cidr": cidr,
        "enable_dhcp": False}})["subnet"]
    return net, subnet


def _fip_rounds(rig: Any, l3: Any, outside: Any, public: str,
                rounds: int) -> list[dict[str, float]]:
    """A floating IP associated with a VM's port and disassociated again, the outside
    host pinging it all along."""
    router = rig.api("POST", "routers", {"router": {
        "name": "bench-fip", "external_gateway_info": {"network_id": public}}})["router"]
    l3.routers.add(router["id"])
    net, subnet = _tenant(rig, "10.120.1.0/24")
    rig.api("PUT", f"routers/{router['id']}/add_router_interface",
            {"subnet_id": subnet["id"]})
    port, vm = _vm(rig, rig.hosts[1], net, subnet)
    rig.wait_active(vm.port_id, timeout=60)
    rig.wait_ping(vm, OUTSIDE_IP, timeout=60)  # SNAT works: the router is up
    fip = rig.api("POST", "floatingips", {"floatingip": {
        "floating_network_id": public}})["floatingip"]
    path = f"floatingips/{fip['id']}"

    def associate() -> None:
        rig.api("PUT", path, {"floatingip": {"port_id": port["id"]}})

    def disassociate() -> None:
        rig.api("PUT", path, {"floatingip": {"port_id": None}})

    log("floating IP association / disassociation")
    return _rounds(rounds, outside, fip["floating_ip_address"], associate, disassociate)


def _interface_rounds(rig: Any, l3: Any, rounds: int) -> list[dict[str, float]]:
    """A subnet added to a router (no gateway: no default route, no SNAT on the way)
    and removed again, a VM on the router's other subnet pinging a VM on it."""
    router = rig.api("POST", "routers", {"router": {"name": "bench-interface"}})["router"]
    l3.routers.add(router["id"])
    path = f"routers/{router['id']}"
    net_a, subnet_a = _tenant(rig, "10.121.1.0/24")
    net_b, subnet_b = _tenant(rig, "10.121.2.0/24")
    rig.api("PUT", f"{path}/add_router_interface", {"subnet_id": subnet_a["id"]})
    _port_a, vm_a = _vm(rig, rig.hosts[1], net_a, subnet_a)
    _port_b, vm_b = _vm(rig, rig.hosts[1], net_b, subnet_b)
    rig.wait_active(vm_a.port_id, vm_b.port_id, timeout=60)
    rig.wait_ping(vm_a, subnet_a["gateway_ip"], timeout=60)  # the router is up

    def add() -> None:
        rig.api("PUT", f"{path}/add_router_interface", {"subnet_id": subnet_b["id"]})

    def remove() -> None:
        rig.api("PUT", f"{path}/remove_router_interface", {"subnet_id": subnet_b["id"]})

    # each add makes a new port (a new MAC for the same gateway IP): vm_b's neighbour
    # cache is left as it is, the agent's gratuitous ARP must correct it
    log("add_router_interface / remove_router_interface")
    return _rounds(rounds, vm_a, vm_b.ip, add, remove)


def measure_packets(rig: Any, l3: Any, outside: Any, public: str,
                    rounds: int) -> dict[str, Any]:
    """Floating IP association/disassociation and add_router_interface, by pings."""
    fips = _fip_rounds(rig, l3, outside, public, rounds)
    interfaces = _interface_rounds(rig, l3, rounds)
    return {
        "rounds": rounds,
        "fip_association_to_first_packet_ms": percentiles_ms([r["first_s"] for r in fips]),
        "disassociation_to_last_packet_ms": percentiles_ms(
            [r["last_after_remove_s"] for r in fips]),
        "add_router_interface_to_first_routed_packet_ms": percentiles_ms(
            [r["first_s"] for r in interfaces]),
        "remove_router_interface_to_last_routed_packet_ms": percentiles_ms(
            [r["last_after_remove_s"] for r in interfaces]),
        "neutron_29_s": {k: NEUTRON[k] for k in (
            "fip_association_to_first_packet_s",
            "add_router_interface_to_first_routed_packet_s",
            "disassociation_to_last_packet_s")},
        "target_ms": 250,
        "note": "no VM's neighbour cache is touched: each add_router_interface makes a "
                "new port (new MAC, same gateway IP), which the agent announces once the "
                "OVS agent has wired it",
        "clock": "from before the API request to ping's receive stamp of the first echo "
                 "reply (or of the last one before 0.5 s of silence); pings every 10 ms: "
                 "from the outside host to the floating IP; from a VM to a VM of another "
                 "subnet (both on the compute host) through the router on the network node",
        "agent_problems": _problems(l3.agent.log),
    }


def _problems(log_path: Path, keep: int = 5) -> dict[str, Any]:
    """The L3 agent's WARNING and ERROR lines so far: how many, and the first few."""
    lines = [line for line in log_path.read_text(errors="replace").splitlines()
             if (" WARNING " in line or " ERROR " in line) and " amqp " not in line]
    return {"count": len(lines), "first": [line[:300] for line in lines[:keep]]}


def _build_routers(rig: Any, l3: Any, public: str, first: int, count: int) -> None:
    """``count`` routers: gateway, an interface on a subnet of their own and a floating
    IP associated with an (unplugged) port there."""
    nets = rig.api("POST", "networks", {"networks": [
        {"name": f"bench-resync-{first + i}", "provider:network_type": "vxlan"}
        for i in range(count)]})["networks"]
    subnets = rig.api("POST", "subnets", {"subnets": [
        {"network_id": net["id"], "ip_version": 4, "enable_dhcp": False,
         "cidr": f"10.{130 + (first + i) // 250}.{(first + i) % 250}.0/24"}
        for i, net in enumerate(nets)]})["subnets"]
    routers = rig.api("POST", "routers", {"routers": [
        {"name": f"bench-resync-{first + i}", "external_gateway_info": {"network_id": public}}
        for i in range(count)]})["routers"]
    l3.routers.update(r["id"] for r in routers)
    for router, subnet in zip(routers, subnets, strict=True):
        rig.api("PUT", f"routers/{router['id']}/add_router_interface",
                {"subnet_id": subnet["id"]})
    ports = rig.api("POST", "ports", {"ports": [
        {"network_id": net["id"], "device_owner": "compute:nova"} for net in nets]})["ports"]
    rig.api("POST", "floatingips", {"floatingips": [
        {"floating_network_id": public, "port_id": port["id"]} for port in ports]})


def _all_built(rig: Any, host: str, count: int) -> bool:
    report = next(a for a in rig.api("GET", "agents?agent_type=L3 agent")["agents"]
                  if a["host"] == host)
    active = rig.api("GET", "floatingips?status=ACTIVE&fields=id")["floatingips"]
    return bool(report["configurations"].get("routers", 0) >= count
                and len(active) >= count)


def _timed_restart(l3: Any) -> dict[str, float]:
    """Restart the agent: seconds to its first round (the full resync) in its log."""
    from tests.fixtures import hosts

    l3.agent.stop()
    offset = l3.agent.log.stat().st_size
    started = time.monotonic()
    l3.agent.start()
    found: list[float] = []

    def synced() -> bool:
        with open(l3.agent.log, errors="replace") as text:
            text.seek(offset)
            match = ITERATION.search(text.read())
        if match:
            found.append(float(match.group(1)))
        return bool(match)

    try:
        hosts.wait_for(synced, timeout=SYNC_TIMEOUT_S, interval=0.05, what="the resync")
    except TimeoutError:
        raise RuntimeError(f"no resync round (exit code {l3.agent.proc.poll()}): "
                           f"{l3.agent.log_tail(1500)}") from None
    return {"wall_s_from_process_start": round(time.monotonic() - started, 2),
            "agent_round_s": round(found[-1] / 1000, 3)}


def _namespace_inodes(router_ids: set[str]) -> dict[str, int]:
    """The inode of each router's ``qrouter-`` namespace: a new one is a rebuilt router."""
    inodes = {}
    for router_id in router_ids:
        with contextlib.suppress(OSError):
            inodes[router_id] = os.stat(f"/run/netns/qrouter-{router_id}").st_ino
    return inodes


def measure_resync(rig: Any, l3: Any, public: str, counts: list[int]) -> dict[str, Any]:
    from tests.fixtures import hosts

    runs, have = [], 0
    for count in counts:
        built = time.monotonic()
        _build_routers(rig, l3, public, have, count - have)
        have = count
        hosts.wait_for(lambda c=count: _all_built(rig, l3.agent.host.name, c),
                       timeout=SYNC_TIMEOUT_S, interval=1.0, what=f"{count} routers built")
        log(f"{count} routers built in {time.monotonic() - built:.1f} s; restarting")
        before = _namespace_inodes(l3.routers)
        run: dict[str, Any] = {"routers": count, **_timed_restart(l3)}
        after = _namespace_inodes(l3.routers)
        run["namespaces_recreated"] = sum(after.get(r) != inode for r, inode in before.items())
        runs.append(run)
        log(f"resync: {run}")
    first, last = runs[0], runs[-1]
    return {"runs": runs,
            "growth": {"routers_x": round(last["routers"] / first["routers"], 2),
                       "round_x": round(last["agent_round_s"]
                                        / max(first["agent_round_s"], 1e-6), 2),
                       "ms_per_router_at_most": round(
                           1000 * last["agent_round_s"] / last["routers"], 2)},
            "setup": "(plus the 2 routers of the packet rounds) each router: a gateway on "
                     "the flat external network, one interface on "
                     "a VXLAN subnet of its own, one floating IP associated with a port "
                     "there; the agent restarted with SIGTERM, its namespaces kept "
                     "(namespaces_recreated: how many the resync made anew); "
                     "agent_round_s is its first round (the full resync) as it logs it",
            "neutron": "a full L3 agent sync 'can take over an hour on a heavily loaded "
                       "system' (l3-agent-responsiveness spec)"}


@dataclass
class L3Bench:
    agent: Any
    routers: set[str]


def run_rig(quick: bool) -> dict[str, Any]:
    from tests.e2e import conftest as e2e

    reason = e2e._skip_reason()
    if reason:
        return {"skipped": reason}
    import pytest

    from bench.sg_first_packet import TempDirs

    rounds, counts = (5, [10, 20]) if quick else (20, [50, 100, 200])
    base = Path(tempfile.mkdtemp(prefix="neutrino-bench-l3-"))
    try:
        with e2e.running_rig(cast(Any, TempDirs(base)), host_count=2,
                             server_extra=SERVER) as rig:
            node = rig.hosts[0]
            outside = e2e.make_network_node(rig, node, OUTSIDE_CIDR)
            public = rig.api("POST", "networks", {"network": {
                "name": "public", "router:external": True,
                "provider:network_type": "flat",
                "provider:physical_network": "public"}})["network"]["id"]
            rig.api("POST", "subnets", {"subnet": {
                "network_id": public, "ip_version": 4, "cidr": "198.18.0.0/16",
                "gateway_ip": OUTSIDE_IP, "enable_dhcp": False}})
            routers: set[str] = set()
            l3 = L3Bench(e2e.start_l3_agent(rig, node, router_ids=routers), routers)
            e2e.wait_agent_alive(rig, "L3 agent", node.name)
            result = {"packets": measure_packets(rig, l3, outside, public, rounds)}
            result["resync_after_restart"] = measure_resync(rig, l3, public, counts)
            return result
    except pytest.fail.Exception as exc:  # the rig's own "agents did not report"
        raise RuntimeError(str(exc)) from None
    finally:
        shutil.rmtree(base, ignore_errors=True)


# --- the whole run -----------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer routers and rounds")
    parser.add_argument("--backend", default="mariadb", choices=("mariadb", "postgresql"))
    parser.add_argument("--workers", type=int, default=0,
                        help="api_workers of the server (0: threads of one process)")
    parser.add_argument("--parts", default="api,rig", help="api, rig, or both")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    result: dict[str, Any] = {"benchmark": "l3", "neutron_29": NEUTRON}
    if "api" in parts:
        count = 50 if args.quick else 200
        result["api"] = measure_api(args.backend, count, count, args.workers)
    if "rig" in parts:
        result.update(run_rig(args.quick))
    result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
