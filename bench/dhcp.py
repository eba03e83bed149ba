"""DHCP benchmarks (issue 9 item 7): plug-to-lease, agent resync, plug-to-Nova-event.

``python bench/dhcp.py [--quick]`` from the repo root prints one JSON object.

Real hosts: the e2e rig (``tests/e2e/conftest.py``) with two namespaced hosts: host 0 is
the network node (``neutrino-dhcp-agent``), host 1 the compute node. The in-process
server runs the ``nova_notifier`` service plugin pointed at a stub Nova HTTP server in
this process, through keystoneauth's ``none`` auth plugin and ``endpoint_override`` (no
Keystone).

1. Each port is created on a VXLAN network with a DHCP subnet, its VM namespace made
   unplugged; the clock starts as the tap is plugged into br-int as Nova would, and
   busybox ``udhcpc`` starts at once, DISCOVERing every second (``-T 1``); the clock
   stops when udhcpc's script runs with the lease. udhcpc's own "sending discover" lines
   ("broadcasting discover") say how many DISCOVERs were needed.
3. The same plugs, to the stub's receipt of that port's ``network-vif-plugged``.
2. ``bench/dhcp_memory.py``: the agent over in-memory devices for 100/300/1,000
   networks; then the real agent (namespaces, taps on OVS, dnsmasq) on a smaller count:
   first sync on an empty host, then the resync of a restarted agent (dnsmasq kept).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import dhcp_memory  # noqa: E402
from bench.report import log, percentiles_ms  # noqa: E402

LEASE_TIMEOUT_S = 30  # udhcpc -t: DISCOVERs one second apart before a port counts as failed
EVENT_TIMEOUT_S = 60.0
SYNC_TIMEOUT_S = 180.0
NEUTRON = {"plug_to_lease_s": 2.1, "boot_500_vms_avg_s": {"neutron": 80.7, "ovn": 23.5}}
# busybox runs this with the lease in its environment; it stamps when the lease arrived
SCRIPT = """#!/bin/sh
[ "$1" = bound ] || exit 0
echo "$(date +%s.%N) $ip" > "$OUT"
"""
ITERATION = re.compile(r"iteration \d+ took ([\d.]+) ms \(sync")


class TempDirs:
    """What ``running_rig`` asks of pytest's ``tmp_path_factory``: fresh directories."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def mktemp(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.base))


# --- a stub Nova -------------------------------------------------------------------------

class NovaEvents:
    """What the stub Nova received: (receive time, event) per event."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def plugged_at(self, port_id: str) -> float | None:
        with self.lock:
            return next((t for t, e in self.seen if e.get("tag") == port_id
                         and e.get("name") == "network-vif-plugged"), None)


@contextmanager
def nova_stub() -> Iterator[tuple[str, NovaEvents]]:
    """An HTTP server taking ``os-server-external-events`` POSTs; (its URL, what it got)."""
    events = NovaEvents()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
            received = time.time()
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with events.lock:
                events.seen += [(received, e) for e in body["events"]]
            answer = json.dumps({"events": [{**e, "code": 200, "status": "completed"}
                                            for e in body["events"]]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v2.1", events
    finally:
        server.shutdown()
        server.server_close()


def server_options(nova_url: str) -> dict[str, dict[str, Any]]:
    return {"DEFAULT": {"service_plugins": ["agents", "nova_notifier"]},
            "nova": {"auth_type": "none", "endpoint_override": nova_url}}


# --- 1 and 3: plug a VM, time the lease and Nova's event ---------------------------------

def _udhcpc(vm: Any, out: Path, script: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["ip", "netns", "exec", vm.netns, "env", f"OUT={out}", "busybox", "udhcpc",
         "-i", "eth0", "-n", "-q", "-f", "-t", str(LEASE_TIMEOUT_S), "-T", "1",
         "-s", str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def one_plug(rig: Any, compute: Any, net: str, prefix: str, nova: NovaEvents,
             workdir: Path) -> dict[str, Any]:
    """Create a port, plug its VM, run udhcpc at once; times from the plug."""
    from tests.fixtures import hosts

    port = rig.api("POST", "ports", {"port": {
        "network_id": net, "binding:host_id": compute.name, "device_owner": "compute:nova",
        "device_id": str(uuid.uuid4())}})["port"]
    address = port["fixed_ips"][0]["ip_address"]
    vm = hosts.create_vm(rig.cleanup, compute.host, port["id"], port["mac_address"],
                         f"{address}/{prefix}", plug=False)
    vm.exec("ip", "addr", "flush", "dev", "eth0")
    out, script = workdir / f"lease-{port['id']}", workdir / "script.sh"
    plugged = time.time()
    hosts.plug_vm(vm)
    client = _udhcpc(vm, out, script)
    output, _ = client.communicate(timeout=LEASE_TIMEOUT_S + 15)
    discovers = sum("discover" in line for line in output.splitlines())
    if not out.exists():
        raise RuntimeError(f"no lease for {address} after {discovers} DISCOVERs: {output}")
    stamp, leased_ip = out.read_text().split()
    if leased_ip != address:
        raise RuntimeError(f"leased {leased_ip}, the port has {address}")
    hosts.wait_for(lambda: nova.plugged_at(port["id"]) is not None, timeout=EVENT_TIMEOUT_S,
                   interval=0.01, what=f"network-vif-plugged for {port['id']}")
    event = nova.plugged_at(port["id"])
    assert event is not None
    return {"lease_s": float(stamp) - plugged, "discovers": discovers,
            "vif_plugged_s": event - plugged}


def measure_plugs(rig: Any, compute: Any, nova: NovaEvents, count: int) -> dict[str, Any]:
    net, subnet = rig.network("vxlan", "10.95.0.0/24")
    rig.api("PUT", f"subnets/{subnet}", {"subnet": {"enable_dhcp": True}})
    _wait_served(rig, [net])
    workdir = Path(tempfile.mkdtemp(prefix="bench-udhcpc-"))
    rig.cleanup.add(shutil.rmtree, workdir, True)
    (workdir / "script.sh").write_text(SCRIPT)
    (workdir / "script.sh").chmod(0o755)
    # the host's first port also builds its tunnel to the network node: shown apart
    first = one_plug(rig, compute, net, "24", nova, workdir)
    log(f"first port on the compute host: {first}")
    rounds = []
    for index in range(count):
        rounds.append(one_plug(rig, compute, net, "24", nova, workdir))
        log(f"port {index + 1}/{count}: {rounds[-1]}")
    discovers = [r["discovers"] for r in rounds]
    return {
        "plug_to_lease": {
            "ports": count, "ms": percentiles_ms([r["lease_s"] for r in rounds]),
            "discovers_per_lease": {str(n): discovers.count(n) for n in sorted(set(discovers))},
            "first_discover_answered": discovers.count(1),
            "first_port_on_host": {"lease_ms": round(first["lease_s"] * 1000, 1),
                                   "discovers": first["discovers"]},
            "neutron_29_s": NEUTRON["plug_to_lease_s"],
            "clock": "from before `ovs-vsctl add-port` of the VM's tap (iface-id, "
                     "attached-mac, iface-status=active) to udhcpc's bound script; udhcpc "
                     "started right after the plug with -T 1 (a DISCOVER a second)"},
        "plug_to_network_vif_plugged": {
            "ports": count, "ms": percentiles_ms([r["vif_plugged_s"] for r in rounds]),
            "first_port_on_host_ms": round(first["vif_plugged_s"] * 1000, 1),
            "nova": "stub HTTP server in the bench process; the server's nova_notifier "
                    "plugin with auth_type=none and endpoint_override (no Keystone), "
                    "send_events_interval "
                    "at its default (2 s)",
            "neutron_boot_500_vms_avg_s": NEUTRON["boot_500_vms_avg_s"]},
    }


# --- 2: the real agent's sync and resync ---------------------------------------------------

def _dhcp_hosted(rig: Any, net: str) -> bool:
    ports = rig.api("GET", f"ports?network_id={net}&device_owner=network:dhcp")["ports"]
    return any(p["status"] == "ACTIVE" for p in ports)


def _wait_served(rig: Any, nets: list[str]) -> None:
    from tests.fixtures import hosts

    hosts.wait_for(lambda: all(_dhcp_hosted(rig, n) for n in nets), timeout=SYNC_TIMEOUT_S,
                   interval=0.2, what="DHCP ports ACTIVE")


def _dnsmasq_running(agent: Any, nets: list[str]) -> bool:
    for net in nets:
        pid_file = agent.state / "dhcp" / net / "pid"
        try:
            os.kill(int(pid_file.read_text().strip()), 0)
        except (OSError, ValueError):
            return False
    return True


def _timed_start(agent: Any, nets: list[str]) -> dict[str, float]:
    """Start the agent; seconds to its first full-sync round and to every dnsmasq up."""
    from tests.fixtures import hosts

    offset = agent.log.stat().st_size if agent.log.exists() else 0
    started = time.monotonic()
    agent.start()
    found: list[float] = []

    def synced() -> bool:
        with open(agent.log, errors="replace") as text:
            text.seek(offset)
            match = ITERATION.search(text.read())
        if match:
            found.append(float(match.group(1)))
        return bool(match) and _dnsmasq_running(agent, nets)

    try:
        hosts.wait_for(synced, timeout=SYNC_TIMEOUT_S, interval=0.05, what="the sync")
    except TimeoutError:
        raise RuntimeError(f"no sync of {len(nets)} networks (agent exit code "
                           f"{agent.proc.poll()}): {agent.log_tail(1500)}") from None
    return {"wall_s_from_process_start": round(time.monotonic() - started, 2),
            "agent_round_s": round(found[-1] / 1000, 3)}


def measure_real_resync(rig: Any, agent: Any, count: int) -> dict[str, Any]:
    nets = []
    for index in range(count):
        net, subnet = rig.network("vxlan", f"10.96.{index}.0/24")
        rig.api("PUT", f"subnets/{subnet}", {"subnet": {"enable_dhcp": True}})
        nets.append(net)
    _wait_served(rig, nets)
    log(f"{count} networks served; cold start")
    # an empty host: the agent and its dnsmasqs gone, namespaces and files deleted
    agent.stop()
    _delete_namespaces(nets)
    for interface in (agent.state / "dhcp").glob("*/interface"):
        agent.host.host.vsctl("--if-exists", "del-port", interface.read_text().strip())
    shutil.rmtree(agent.state / "dhcp", ignore_errors=True)
    first = _timed_start(agent, nets)
    log(f"first sync: {first}; restarting the agent (dnsmasq kept)")
    pids = {n: (agent.state / "dhcp" / n / "pid").read_text() for n in nets}
    agent.proc.send_signal(signal.SIGTERM)
    agent.proc.wait(15)
    agent.proc = None
    resync = _timed_start(agent, nets)
    restarted = sum(pids[n] != (agent.state / "dhcp" / n / "pid").read_text() for n in nets)
    return {"networks": count, "first_sync": first, "resync_after_restart": resync,
            "dnsmasq_restarted_by_resync": restarted,
            "setup": "neutrino-dhcp-agent on a namespaced host: a namespace, an OVS "
                     "internal port on br-int (userspace datapath) and a dnsmasq per "
                     "network; wall time includes the Python process start"}


def _delete_namespaces(nets: list[str]) -> None:
    from neutrino.agent.dhcp.state import namespace_name

    for net in nets:
        subprocess.run(["ip", "netns", "delete", namespace_name(net)], check=False,
                       capture_output=True)


# --- the whole run -------------------------------------------------------------------------

def _dhcp_agent(rig: Any, where: Any) -> Any:
    """A DHCP agent whose namespaces are in this machine's /run/netns (so a restarted agent
    finds its predecessor's, as on a real host), deleted on clean-up."""
    from tests.e2e import conftest as e2e

    agent = e2e.start_dhcp_agent(rig, where)
    agent.stop()  # the helper gives it a private /run/netns, gone with its process
    agent.own_netns_dir = False
    agent.start()
    rig.cleanup.add(_stop_and_clean, rig, agent)
    e2e.wait_agent_alive(rig, "DHCP agent", where.name)
    return agent


def _stop_and_clean(rig: Any, agent: Any) -> None:
    """Stop the agent and its dnsmasqs, then delete every qdhcp namespace it made."""
    agent.stop()
    nets = {p.name for p in (agent.state / "dhcp").glob("*")}
    try:
        nets |= {n["id"] for n in rig.api("GET", "networks")["networks"]}
    finally:
        _delete_namespaces(sorted(nets))


def run_rig(plugs: int, real_networks: int) -> dict[str, Any]:
    from tests.e2e import conftest as e2e

    reason = e2e._skip_reason()
    if reason:
        return {"skipped": reason}
    import pytest

    base = Path(tempfile.mkdtemp(prefix="neutrino-bench-dhcp-"))
    try:
        with nova_stub() as (nova_url, nova), \
                e2e.running_rig(cast(Any, TempDirs(base)), host_count=2,
                                server_extra=server_options(nova_url)) as rig:
            agent = _dhcp_agent(rig, rig.hosts[0])
            result = measure_plugs(rig, rig.hosts[1], nova, plugs)
            result["real_agent_resync"] = measure_real_resync(rig, agent, real_networks)
            return result
    except pytest.fail.Exception as exc:  # the rig's own "agents did not report"
        raise RuntimeError(str(exc)) from None
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer ports and networks")
    args = parser.parse_args()
    plugs, counts, real = (5, (100, 300), 5) if args.quick else (20, (100, 300, 1000), 20)
    memory = []
    for count in counts:
        memory.append(dhcp_memory.measure(count))
        log(f"in-memory sync of {count} networks: {memory[-1]}")
    result: dict[str, Any] = {"memory_agent_resync": {"runs": memory,
                                                      "growth": dhcp_memory.growth(memory)}}
    result.update(run_rig(plugs, real))
    result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
