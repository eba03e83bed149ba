"""L2 population at scale: 200 simulated hosts, 20 networks, a real server and RabbitMQ.

Every host runs the real OVS agent code on in-memory bridges (``agent/ovs/simulated.py``),
each with its own l2pop consumer (``<topic>.<host>`` and fanout queues, as a real agent),
all sending through one shared transport. Each network spans a slice of the hosts. For each measured
port-up event (a VIF plugged on one host), it counts the l2pop messages agents received and
the time until every agent hosting that network has the new entry, and compares with the
fanout Neutron sends (one copy per agent: N). Prints JSON.
``python bench/l2pop.py [hosts] [networks] [events] [sqlite|postgresql|mariadb]``
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neutrino.agent.ovs.simulated import (  # noqa: E402
    SimulatedFleet,
    SimulatedHost,
    fleet_transport,
)
from neutrino.rpc import topics  # noqa: E402
from tests.e2e import conftest as e2e  # noqa: E402
from tests.fixtures import hosts as fixtures  # noqa: E402
from tests.fixtures.servers import make_database  # noqa: E402

L2POP_EVENTS = ("add_fdb_entries", "remove_fdb_entries", "update_fdb_entries")


class Deliveries:
    """Counts l2pop deliveries and records when each host learnt each MAC."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.learnt: dict[tuple[str, str], float] = {}

    def listener(self, host: str) -> Any:
        def on_event(event: str, payload: dict[str, Any]) -> None:
            if event not in L2POP_EVENTS:
                return
            now = time.monotonic()
            with self.lock:
                self.count += 1
                if event != "add_fdb_entries":
                    return
                for body in payload["fdb_entries"].values():
                    for entries in body.get("ports", {}).values():
                        for mac, _ in entries:
                            self.learnt.setdefault((host, mac), now)
        return on_event


def _plug(rig: e2e.Rig, host: SimulatedHost, net: str) -> dict[str, Any]:
    body = {"network_id": net, "binding:host_id": host.name, "device_owner": "compute:nova"}
    port = rig.api("POST", "ports", {"port": body})["port"]
    host.plug(port["id"], port["mac_address"])
    return port


def _wait_active(rig: e2e.Rig, port_ids: list[str], timeout: float = 300) -> None:
    def done() -> bool:
        ports = rig.api("GET", "ports?fields=id&fields=status&status=ACTIVE")["ports"]
        return set(port_ids) <= {p["id"] for p in ports}
    fixtures.wait_for(done, timeout=timeout, interval=0.5, what="ports ACTIVE")


def _percentiles_ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered) * 1000, 1),
            "p95": round(ordered[int(round(0.95 * (len(ordered) - 1)))] * 1000, 1),
            "max": round(ordered[-1] * 1000, 1)}


def _start_fleet(cleanup: fixtures.Cleanup, rig: e2e.Rig, url: str,
                 n_hosts: int) -> tuple[SimulatedFleet, Deliveries]:
    transport = fleet_transport(url, pool_size=max(30, n_hosts))
    cleanup.add(transport.cleanup)
    fleet = SimulatedFleet(transport, n_hosts, consumer_topics=[topics.L2POPULATION_UPDATE])
    deliveries = Deliveries()
    for host in fleet.hosts:
        assert host.agent is not None
        host.agent.listeners.append(deliveries.listener(host.name))
    cleanup.add(fleet.stop)
    fleet.start()
    names = {h.name for h in fleet.hosts}
    fixtures.wait_for(lambda: names <= {a["host"] for a in rig.api("GET", "agents")[
        "agents"] if a["alive"]}, timeout=300, interval=1, what="agents alive")
    return fleet, deliveries


def run(n_hosts: int, n_networks: int, n_events: int, db: str = "sqlite") -> dict[str, Any]:
    """Build the rig, measure, print the JSON (before the slow part: tearing down)."""
    base = Path(tempfile.mkdtemp(prefix="neutrino-l2pop-"))
    with fixtures.Cleanup() as cleanup, make_database(db, base) as db_url:
        vhost = e2e.rabbit_vhost(cleanup)
        server = e2e._server(db_url, vhost)
        cleanup.add(server.stop)
        cleanup.add(e2e._detach, server)
        # hundreds of agents share the server's process: give the API time to answer
        http = httpx.Client(base_url=server.url, timeout=300)
        cleanup.add(http.close)
        rig = e2e.Rig(server=server, hosts=[], cleanup=cleanup, http=http)
        started = time.monotonic()
        fleet, deliveries = _start_fleet(cleanup, rig, server.server.conf.transport_url,
                                         n_hosts)
        start_s = time.monotonic() - started
        result = measure(rig, fleet, deliveries, n_networks, n_events)
        result["agents_start_s"] = round(start_s, 1)
        result["database"] = db
        print(json.dumps(result), flush=True)
        teardown = time.monotonic()
    print(json.dumps({"teardown_s": round(time.monotonic() - teardown, 1)}), file=sys.stderr)
    return result


def measure(rig: e2e.Rig, fleet: SimulatedFleet, deliveries: Deliveries,
            n_networks: int, n_events: int) -> dict[str, Any]:
    """Populate the networks, then time ``n_events`` port-ups one at a time."""
    n_hosts = len(fleet.hosts)
    networks = [rig.network("vxlan", f"10.{100 + i}.0.0/16")[0] for i in range(n_networks)]
    per_net = max(2, n_hosts // n_networks)
    members = {net: [fleet.hosts[(i * per_net + j) % n_hosts] for j in range(per_net)]
               for i, net in enumerate(networks)}
    started = time.monotonic()
    ports = [_plug(rig, host, net)["id"] for net, hs in members.items() for host in hs]
    _wait_active(rig, ports)
    populate_s = time.monotonic() - started
    time.sleep(2)
    per_event, latencies = [], []
    for k in range(n_events):
        net = networks[k % n_networks]
        host = members[net][k % per_net]
        relevant = {h.name for h in members[net]} - {host.name}
        before = deliveries.count
        t0 = time.monotonic()
        port = _plug(rig, host, net)
        mac = port["mac_address"]
        fixtures.wait_for(lambda mac=mac, relevant=relevant: all(
            (h, mac) in deliveries.learnt for h in relevant), timeout=60, interval=0.002,
            what="entry everywhere")
        latencies.append(max(deliveries.learnt[(h, mac)] for h in relevant) - t0)
        if latencies[-1] > 1.0:  # worth a look: say when it happened
            print(f"slow event {k}: {latencies[-1]:.2f}s at +{t0 - started:.1f}s",
                  file=sys.stderr)
        time.sleep(0.3)  # let stragglers (the full FDB to the host itself) arrive
        per_event.append(deliveries.count - before)
    return {
        "benchmark": "l2pop", "hosts": n_hosts, "networks": n_networks,
        "hosts_per_network": per_net, "ports_populated": len(ports),
        "populate_s": round(populate_s, 1), "events": n_events,
        "messages_per_port_up": {"ours_mean": round(statistics.mean(per_event), 2),
                                 "ours_max": max(per_event),
                                 "relevant_agents": per_net - 1,
                                 "neutron_fanout": n_hosts},
        "time_to_all_relevant_agents_ms": _percentiles_ms(latencies),
        "clock_starts": "API POST /ports, then the VIF plug on the host",
    }


def main() -> None:
    args = [int(a) for a in sys.argv[1:4]]
    n_hosts, n_networks, n_events = (args + [200, 20, 40][len(args):])[:3]
    run(n_hosts, n_networks, n_events, sys.argv[4] if len(sys.argv) > 4 else "sqlite")


if __name__ == "__main__":
    main()
