"""Milliseconds from plugging a VIF on a real OVS host until its port is ACTIVE and pingable.

Two namespaced hosts with their own OVS and ``neutrino-ovs-agent`` (over RabbitMQ), an
in-process server; a VM on host A stays up; for each of N ports a VM is plugged on host B
the way Nova does and the clock runs until the API says ACTIVE and A's VM gets a reply.
Prints JSON (p50/p95). Needs root, OVS, RabbitMQ. ``python bench/convergence.py [N]``
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e import conftest as e2e  # noqa: E402
from tests.fixtures import hosts  # noqa: E402
from tests.fixtures.servers import make_database  # noqa: E402


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _build(cleanup: hosts.Cleanup, base: Path, db_url: str) -> e2e.Rig:
    vhost = e2e.rabbit_vhost(cleanup)
    server = e2e._server(db_url, vhost)
    cleanup.add(server.stop)
    cleanup.add(e2e._detach, server)
    ovs_hosts = [hosts.create_host(cleanup, base) for _ in range(2)]
    ips = hosts.create_switched_underlay(cleanup, ovs_hosts)
    agents = []
    for index, (host, ip) in enumerate(zip(ovs_hosts, ips, strict=True)):
        host.add_bridge(e2e.PHYS_BRIDGE)
        hosts.start_relay(cleanup, host.netns, e2e.RABBIT[1])
        name = f"bench-host-{index}"
        agent = e2e.AgentHost(host, ip, name, e2e._agent_config(
            base / f"{name}.ini", vhost, name, host, ip), base / f"{name}.log")
        agent.start_agent()
        cleanup.add(agent.stop_agent)
        agents.append(agent)
    http = server.http()
    cleanup.add(http.close)
    rig = e2e.Rig(server=server, hosts=agents, cleanup=cleanup, http=http)
    hosts.wait_for(lambda: e2e._agents_alive(rig), timeout=60, what="agents alive")
    return rig


def measure(rig: e2e.Rig, count: int) -> dict[str, object]:
    a, b = rig.hosts
    net, subnet = rig.network("vxlan", "10.50.0.0/22")
    port_a, vm_a = rig.vm(a, net, subnet)
    rig.wait_active(port_a["id"])
    active_ms, ping_ms = [], []
    for _ in range(count):
        body = {"network_id": net, "binding:host_id": b.name, "device_owner": "compute:nova"}
        port = rig.api("POST", "ports", {"port": body})["port"]
        address = port["fixed_ips"][0]["ip_address"]
        vm = hosts.create_vm(rig.cleanup, b.host, port["id"], port["mac_address"],
                             f"{address}/22", plug=False)
        start = time.monotonic()
        hosts.plug_vm(vm)
        hosts.wait_for(lambda p=port["id"]: rig.port_status(p) == "ACTIVE", timeout=30,
                       interval=0.01, what="ACTIVE")
        active_ms.append((time.monotonic() - start) * 1000)
        hosts.wait_for(lambda vm=vm: vm_a.ping(vm.ip, count=1, timeout_s=1), timeout=30,
                       interval=0.01, what="ping")
        ping_ms.append((time.monotonic() - start) * 1000)
    return {
        "benchmark": "convergence", "ports": count,
        "active_ms": {"p50": round(statistics.median(active_ms), 1),
                      "p95": round(_percentile(active_ms, 0.95), 1)},
        "active_and_ping_ms": {"p50": round(statistics.median(ping_ms), 1),
                               "p95": round(_percentile(ping_ms, 0.95), 1)},
        "neutron_polling_interval_ms": 2000,
    }


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    reason = e2e._skip_reason()
    if reason:
        raise SystemExit(f"cannot run: {reason}")
    base = Path(tempfile.mkdtemp(prefix="neutrino-bench-"))
    with hosts.Cleanup() as cleanup, make_database("sqlite", base) as db_url:
        rig = _build(cleanup, base, db_url)
        result = measure(rig, count)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
