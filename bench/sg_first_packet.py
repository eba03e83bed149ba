"""Part (d) of ``bench/security_groups.py``: a rule's POST to the first ping reply through it.

Real hosts: the e2e rig (``tests/e2e/conftest.py``: the API server with its RPC service
on a private RabbitMQ virtual host, two namespaced hosts with their own OVS in the
userspace datapath, ``neutrino-ovs-agent`` processes with ``[securitygroup]
firewall_driver = openvswitch``) and two VMs on a VXLAN network, one per host. The target
VM's group has no ingress rule; the peer pings it every 10 ms while the benchmark POSTs
an ICMP ingress rule to the target's group, and the clock stops at the first echo reply
(ping's own receive timestamp). Then the rule is deleted, still pinging, until the replies
stop (the established ICMP flow is cut too) and a fresh ping fails, so every round starts
closed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, cast

from bench.report import percentiles_ms

FIREWALL = {"securitygroup": {"firewall_driver": "openvswitch"}}
PING_INTERVAL_S = 0.01
ROUND_TIMEOUT_S = 30.0  # a rule that takes longer than this to open a path is a failure
QUIET_S = 0.5  # no reply for this long (50 pings) after the DELETE: the path is closed
REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from")
NEUTRON_S = (0.2, 1.9)  # Neutron 29 on real hosts, POST to first packet through (issue 8)


class TempDirs:
    """What ``running_rig`` asks of pytest's ``tmp_path_factory``: fresh directories."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def mktemp(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.base))


class Pinger:
    """``ping -D`` from a VM every ``PING_INTERVAL_S``; keeps the time of every reply.

    The times are ping's own receive stamps (wall clock), so a slow reader of its output
    adds nothing to what is measured.
    """

    def __init__(self, netns: str, ip: str) -> None:
        self.replies: list[float] = []
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, "ping", "-D", "-n", "-i", str(PING_INTERVAL_S),
             ip], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            match = REPLY.match(line)
            if match:
                self.replies.append(float(match.group(1)))

    def first_reply_after(self, since: float) -> float | None:
        return next((t for t in list(self.replies) if t >= since), None)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)


def _vm(rig: Any, where: Any, net: str, subnet: str, group: str) -> Any:
    """A port in ``group`` bound to ``where`` and its VM namespace, plugged as Nova does."""
    from tests.fixtures import hosts

    port = rig.api("POST", "ports", {"port": {
        "network_id": net, "binding:host_id": where.name, "device_owner": "compute:nova",
        "security_groups": [group]}})["port"]
    prefix = rig.api("GET", f"subnets/{subnet}")["subnet"]["cidr"].split("/")[1]
    address = port["fixed_ips"][0]["ip_address"]
    return hosts.create_vm(rig.cleanup, where.host, port["id"], port["mac_address"],
                           f"{address}/{prefix}")


def _group(rig: Any, name: str, *rules: dict[str, Any]) -> str:
    group = str(rig.api("POST", "security-groups",
                        {"security_group": {"name": name}})["security_group"]["id"])
    for body in rules:
        _rule(rig, group, body)
    return group


def _rule(rig: Any, group: str, body: dict[str, Any]) -> str:
    return str(rig.api("POST", "security-group-rules", {"security_group_rule": {
        "security_group_id": group, "direction": "ingress", "ethertype": "IPv4",
        **body}})["security_group_rule"]["id"])


def one_round(rig: Any, target_group: str, peer: Any, target_ip: str) -> dict[str, float]:
    """POST the ICMP rule while ``peer`` pings; time the first reply; delete the rule, time
    the last reply, and check with a fresh ping that the path is closed again."""
    from tests.fixtures import hosts

    pinger = Pinger(peer.netns, target_ip)
    try:
        time.sleep(0.3)  # the pinger runs (and its ARP is answered) before the clock starts
        if pinger.replies:
            raise RuntimeError("the target answered before its rule existed")
        posted = time.time()
        rule = _rule(rig, target_group, {"protocol": "icmp"})
        post_s = time.time() - posted
        hosts.wait_for(lambda: pinger.first_reply_after(posted) is not None,
                       timeout=ROUND_TIMEOUT_S, interval=0.005, what="the first ping reply")
        first = pinger.first_reply_after(posted)
        assert first is not None
        deleted = time.time()
        rig.api("DELETE", f"security-group-rules/{rule}")
        hosts.wait_for(lambda: time.time() - max(pinger.replies) > QUIET_S,
                       timeout=ROUND_TIMEOUT_S, interval=0.05, what="the replies to stop")
        last = max(pinger.replies)
    finally:
        pinger.stop()
    if peer.ping(target_ip, count=1, timeout_s=1):
        raise RuntimeError("a new ping still passes after the rule was deleted")
    return {"post_s": post_s, "first_reply_s": first - posted,
            "last_reply_after_delete_s": max(0.0, last - deleted)}


def _measure(rig: Any, rounds: int) -> dict[str, Any]:
    from tests.fixtures import hosts

    target_host, peer_host = rig.hosts
    net, subnet = rig.network("vxlan", "10.92.0.0/24")
    target_group = _group(rig, "bench-target")  # no ingress rule: closed
    peer_group = _group(rig, "bench-peer", {"protocol": "icmp"})
    target = _vm(rig, target_host, net, subnet, target_group)
    peer = _vm(rig, peer_host, net, subnet, peer_group)
    rig.wait_active(target.port_id, peer.port_id)
    # the path carries packets (target -> peer and its replies) before "closed" means much
    hosts.wait_for(lambda: target.ping(peer.ip, count=1, timeout_s=1), timeout=60,
                   interval=0.2, what="target -> peer ping")
    if peer.ping(target.ip, count=2, timeout_s=1):
        raise RuntimeError("the target answers pings without an ingress rule")
    results = [one_round(rig, target_group, peer, target.ip) for _ in range(rounds)]
    return {
        "rules": rounds,
        "post_to_first_ping_reply_ms": percentiles_ms([r["first_reply_s"] for r in results]),
        "api_post_returned_ms": percentiles_ms([r["post_s"] for r in results]),
        "delete_to_last_ping_reply_ms": percentiles_ms(
            [r["last_reply_after_delete_s"] for r in results]),
        "ping_interval_ms": PING_INTERVAL_S * 1000,
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "setup": "2 namespaced hosts (OVS userspace datapath, VXLAN), neutrino-ovs-agent "
                 "processes with the openvswitch firewall, RabbitMQ; the API server in "
                 "the bench process",
        "clock": "from before the POST of an ICMP ingress rule to ping's receive stamp of "
                 "the first echo reply (pings every 10 ms from the other host's VM)",
        "neutron_s": list(NEUTRON_S),
    }


def measure_first_packet(rounds: int) -> dict[str, Any]:
    """(d): build the rig, run ``rounds`` rounds, tear everything down."""
    from tests.e2e import conftest as e2e

    reason = e2e._skip_reason()
    if reason:
        return {"skipped": reason}
    import pytest

    base = Path(tempfile.mkdtemp(prefix="neutrino-sg-first-packet-"))
    try:
        with e2e.running_rig(cast(Any, TempDirs(base)), host_count=2, agent_extra=FIREWALL,
                             project=uuid.uuid4().hex) as rig:
            return _measure(rig, rounds)
    except pytest.fail.Exception as exc:  # the rig's own "agents did not report"
        raise RuntimeError(str(exc)) from None
    finally:
        shutil.rmtree(base, ignore_errors=True)
