"""The all-in-one serves DHCP: ``neutrino run`` with its OVS, DHCP and metadata agents.

The real command runs inside a namespaced host (its OVS, its qdhcp namespaces, its
dnsmasq), as on a single-node cloud; the test reaches its API over a veth, the host's
management link. A VM plugged as Nova would gets its address from the all-in-one's
dnsmasq, and ``/v2.0/agents`` lists the three agents.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures import hosts
from tests.fixtures.servers import write_config

pytestmark = [
    pytest.mark.functional,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces and OVS"),
    pytest.mark.skipif(not (shutil.which("dnsmasq") and shutil.which("busybox")),
                       reason="needs dnsmasq and busybox"),
]

MGMT_OUTSIDE, MGMT_INSIDE = "198.18.61.1", "198.18.61.2"
API = f"http://{MGMT_INSIDE}:9696"


def _management_link(cleanup: hosts.Cleanup, host: hosts.OvsHost) -> None:
    outside, inside = hosts.rand_name("ma"), hosts.rand_name("mb")
    hosts.run(["ip", "link", "add", outside, "type", "veth", "peer", "name", inside])
    cleanup.add(hosts.run, ["ip", "link", "del", outside], check=False)
    hosts.run(["ip", "link", "set", inside, "netns", host.netns])
    hosts.run(["ip", "addr", "add", f"{MGMT_OUTSIDE}/30", "dev", outside])
    hosts.run(["ip", "link", "set", outside, "up"])
    host.exec("ip", "addr", "add", f"{MGMT_INSIDE}/30", "dev", inside)
    host.exec("ip", "link", "set", inside, "up")


def _config(state: Path, host: hosts.OvsHost) -> Path:
    return write_config(state / "neutrino.conf", {
        "DEFAULT": {"auth_strategy": "noauth", "bind_host": MGMT_INSIDE, "bind_port": 9696,
                    "transport_url": "fake://", "host": "aio", "state_path": str(state),
                    "debug": "true"},
        "database": {"connection": f"sqlite:///{state}/neutrino.sqlite"},
        "ml2": {"mechanism_drivers": "openvswitch,l2population",
                "tenant_network_types": "vxlan"},
        "ml2_type_vxlan": {"vni_ranges": "1:1000"},
        "ovs": {"ovsdb_connection": host.db, "datapath_type": "netdev",
                "local_ip": "127.0.0.1"},
        "agent": {"tunnel_types": "vxlan", "l2_population": "true", "report_interval": 2},
        "securitygroup": {"firewall_driver": "openvswitch"},
    })


@pytest.fixture
def aio() -> Iterator[tuple[hosts.OvsHost, httpx.Client, hosts.Cleanup, Path]]:
    with hosts.Cleanup() as cleanup:
        host = hosts.create_host(cleanup)
        _management_link(cleanup, host)
        state = Path(tempfile.mkdtemp(prefix="neutrino-aio-"))
        state.chmod(0o755)  # dnsmasq reads its files as nobody
        cleanup.add(shutil.rmtree, state, True)
        cleanup.add(_delete_qdhcp_namespaces, state)
        cleanup.add(_kill_left_processes, state)
        log = open(state / "neutrino.log", "wb")  # noqa: SIM115 - closed on clean-up
        cleanup.add(log.close)
        # the network namespace only (see ``hosts.add_netns``): its qdhcp namespaces are
        # this machine's, deleted on clean-up, no empty file left in /run/netns
        proc = subprocess.Popen(
            ["nsenter", f"--net={hosts.NETNS_DIR}/{host.netns}", "--", sys.executable,
             "-m", "neutrino.cmd.neutrino", "run", "--config-file", str(_config(state, host))],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **host.env})
        cleanup.add(_stop, proc)
        http = httpx.Client(base_url=API, timeout=10)
        cleanup.add(http.close)
        try:
            hosts.wait_for(lambda: _answers(http), timeout=30, what="the all-in-one's API")
        except TimeoutError:
            pytest.fail((state / "neutrino.log").read_text(errors="replace")[-3000:])
        yield host, http, cleanup, state / "neutrino.log"


def _answers(http: httpx.Client) -> bool:
    try:
        return http.get("/v2.0/networks").status_code == 200
    except httpx.TransportError:
        return False


def _stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _kill_left_processes(state: Path) -> None:
    # dnsmasq and the metadata proxies outlive the agent, as they do in Neutron
    for pid_file in state.glob("dhcp/*/*pid"):
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)


def _delete_qdhcp_namespaces(state: Path) -> None:
    # the DHCP agent keeps its namespaces when it stops, as Neutron's does
    for network in state.glob("dhcp/*"):
        name = f"qdhcp-{network.name}"
        if os.path.lexists(hosts.NETNS_DIR / name):
            hosts.run(["ip", "netns", "del", name], check=False)


def _alive_agents(http: httpx.Client) -> set[str]:
    return {a["agent_type"] for a in http.get("/v2.0/agents").json()["agents"]
            if a["alive"] and a["host"] == "aio"}


def test_all_in_one_runs_the_dhcp_and_metadata_agents_and_leases(aio: Any) -> None:
    host, http, cleanup, log = aio
    hosts.wait_for(lambda: _alive_agents(http) == {
        "Open vSwitch agent", "DHCP agent", "Metadata agent"}, timeout=30,
        what="the three agents alive")
    net = http.post("/v2.0/networks", json={"network": {"name": "aio"}}).json()["network"]
    http.post("/v2.0/subnets", json={"subnet": {
        "network_id": net["id"], "cidr": "10.61.0.0/24", "ip_version": 4}}).raise_for_status()
    resp = http.post("/v2.0/ports", json={"port": {
        "network_id": net["id"], "binding:host_id": "aio", "device_owner": "compute:nova"}})
    assert resp.status_code == 201, resp.text
    port = resp.json()["port"]
    agents = http.get(f"/v2.0/networks/{net['id']}/dhcp-agents").json()["agents"]
    assert [a["host"] for a in agents] == ["aio"]

    address = port["fixed_ips"][0]["ip_address"]
    vm = hosts.create_vm(cleanup, host, port["id"], port["mac_address"], f"{address}/24")
    # ACTIVE: the OVS agent wired it and the DHCP agent has it in its host file
    try:
        hosts.wait_for(lambda: http.get(f"/v2.0/ports/{port['id']}").json()["port"]["status"]
                       == "ACTIVE", timeout=30, what="the port ACTIVE")
    except TimeoutError:
        pytest.fail("port not ACTIVE: " + log.read_text(errors="replace")[-4000:])
    lease = hosts.dhcp_lease(vm)
    assert lease is not None, "the all-in-one's dnsmasq did not answer"
    assert lease["ip"] == address
    assert lease["router"] == "10.61.0.1"
