"""The whole system on one machine: server + RabbitMQ + namespaced hosts running real agents.

One rig per module (building it costs seconds): an in-process API server with its RPC
service on a private RabbitMQ virtual host, three hosts (namespaces with their own OVS)
joined by a switched underlay for tunnels and by a fabric for ``physnet1``, and on each a
``neutrino-ovs-agent`` subprocess reaching RabbitMQ through a TCP relay.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures import hosts
from tests.fixtures.servers import ApiServer, make_database, start_api_server, write_config

REPO = Path(__file__).resolve().parents[2]
AGENT_BIN = Path(sys.executable).with_name("neutrino-ovs-agent")
RABBIT = ("127.0.0.1", 5672)
PHYSNET = "physnet1"
PHYS_BRIDGE = "br-physnet1"


def _rabbit_up() -> bool:
    try:
        with socket.create_connection(RABBIT, timeout=1):
            return True
    except OSError:
        return False


def _skip_reason() -> str | None:
    ok, why = hosts.can_run_hosts()
    if not ok:
        return why
    if not _rabbit_up():
        return "RabbitMQ is not listening on 127.0.0.1:5672"
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is needed to make a private virtual host"
    return None


def rabbit_vhost(cleanup: hosts.Cleanup) -> str:
    """A private RabbitMQ virtual host, so parallel runs never consume each other's RPC."""
    vhost = f"neutrino-e2e-{uuid.uuid4().hex[:8]}"
    hosts.run(["rabbitmqctl", "-q", "add_vhost", vhost])
    cleanup.add(hosts.run, ["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)
    hosts.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"])
    return vhost


@dataclass
class AgentHost:
    """A host with its OVS, tunnel IP and agent process."""

    host: hosts.OvsHost
    tunnel_ip: str
    name: str
    config: Path
    log: Path
    proc: subprocess.Popen[Any] | None = None
    relay: subprocess.Popen[str] | None = None

    def start_agent(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.host.netns, str(AGENT_BIN),
                 "--config-file", str(self.config)],
                stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                env={**os.environ, **self.host.env})

    def stop_agent(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def cut_broker(self, cleanup: hosts.Cleanup) -> None:
        """Drop every connection of this host to RabbitMQ (what a broker restart does
        to its clients), then let it reconnect."""
        assert self.relay is not None
        hosts.stop_relay(self.relay)
        self.relay = hosts.start_relay(cleanup, self.host.netns, RABBIT[1])

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


# A private /run/netns: the agent's qdhcp namespaces are its host's own, as on a machine
# of its own, so two DHCP agents of one rig may serve the same network. The tmpfs lives in
# a mount namespace made for the agent alone (``unshare``), so nothing it names there is
# ever seen in, or left behind in, this machine's /run/netns.
_OWN_NETNS_DIR = 'mount -t tmpfs tmpfs /run/netns && exec "$@"'


def enter_host(netns: str) -> list[str]:
    """The argv prefix running a command in host ``netns``'s network namespace only.

    Not ``ip netns exec``: that also gives the command a mount namespace of its own, so
    the namespaces it names under /run/netns would be mounted for it alone and leave
    empty files in this machine's /run/netns (see ``tests.fixtures.hosts.add_netns``).
    """
    return ["nsenter", f"--net={hosts.NETNS_DIR}/{netns}", "--"]


@dataclass
class ServiceAgent:
    """A DHCP or metadata agent process (``python -m <module>``) on a rig host."""

    host: AgentHost
    module: str
    config: Path
    state: Path  # its state_path: dnsmasq and proxy pid files under dhcp/<network>/
    log: Path
    own_netns_dir: bool = False
    proc: subprocess.Popen[Any] | None = None

    def start(self) -> None:
        argv = [sys.executable, "-m", self.module, "--config-file", str(self.config)]
        if self.own_netns_dir:
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    _OWN_NETNS_DIR, "agent", *argv]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([*enter_host(self.host.host.netns), *argv],
                                         stdout=out, stderr=subprocess.STDOUT, cwd=REPO)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the agent (SIGKILL: as if its host died), then the processes it left."""
        if self.proc is not None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        for pid_file in self.state.glob("dhcp/*/*pid"):
            _kill_pid_file(pid_file)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def _kill_pid_file(pid_file: Path) -> None:
    with contextlib.suppress(OSError, ValueError):  # gone already
        os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)


def start_dhcp_agent(rig: Rig, where: AgentHost, *, metadata_socket: Path | None = None,
                     extra: Mapping[str, dict[str, Any]] | None = None) -> ServiceAgent:
    """A ``neutrino-dhcp-agent`` on ``where``, plugging into its br-int (isolated metadata
    served through ``metadata_socket`` when given); stopped on the rig's clean-up."""
    state = _state_dir(rig)
    isolated = metadata_socket is not None
    config = write_config(state / "dhcp_agent.ini", _merged({
        "DEFAULT": {"host": where.name, "debug": "true", "state_path": str(state),
                    "transport_url": f"rabbit://guest:guest@127.0.0.1:5672/{rig.vhost}",
                    "rpc_response_timeout": 20, "resync_interval": 1,
                    "enable_isolated_metadata": str(isolated).lower(),
                    "metadata_proxy_socket": str(metadata_socket or state / "none")},
        "ovs": {"ovsdb_connection": where.host.db},
        "agent": {"report_interval": 2}}, extra))
    agent = ServiceAgent(where, "neutrino.cmd.dhcp_agent", config, state,
                         state / "dhcp-agent.log", own_netns_dir=True)
    agent.start()
    rig.cleanup.add(agent.stop)
    return agent


def start_metadata_agent(rig: Rig, where: AgentHost, nova_port: int,
                         secret: str) -> tuple[ServiceAgent, Path]:
    """A ``neutrino-metadata-agent`` on ``where`` asking the Nova metadata API on this
    machine's 127.0.0.1:``nova_port`` (relayed into the host); (agent, its socket)."""
    state = _state_dir(rig)
    socket_path = state / "metadata_proxy"
    hosts.start_relay(rig.cleanup, where.host.netns, nova_port)
    config = write_config(state / "metadata_agent.ini", {
        "DEFAULT": {"host": where.name, "debug": "true", "state_path": str(state),
                    "transport_url": f"rabbit://guest:guest@127.0.0.1:5672/{rig.vhost}",
                    "rpc_response_timeout": 20, "metadata_proxy_socket": str(socket_path),
                    "nova_metadata_host": "127.0.0.1", "nova_metadata_port": nova_port,
                    "metadata_proxy_shared_secret": secret},
        "agent": {"report_interval": 2}})
    agent = ServiceAgent(where, "neutrino.cmd.metadata_agent", config, state,
                         state / "metadata-agent.log")
    agent.start()
    rig.cleanup.add(agent.stop)
    return agent, socket_path


def _state_dir(rig: Rig) -> Path:
    # dnsmasq reads its files as nobody: no 0700 pytest directory on the way to them
    state = Path(tempfile.mkdtemp(prefix="neutrino-e2e-"))
    state.chmod(0o755)
    rig.cleanup.add(shutil.rmtree, state, True)
    return state


def wait_agent_alive(rig: Rig, agent_type: str, host: str, timeout: float = 60) -> None:
    """Until ``/v2.0/agents`` shows the ``agent_type`` agent of ``host`` alive."""
    def alive() -> bool:
        return any(a["alive"] for a in rig.api("GET", "agents")["agents"]
                   if a["agent_type"] == agent_type and a["host"] == host)

    hosts.wait_for(alive, timeout=timeout, interval=0.2, what=f"{agent_type} on {host}")


@dataclass
class Rig:
    """Server, hosts and helpers for the tests."""

    server: ApiServer
    hosts: list[AgentHost]
    cleanup: hosts.Cleanup
    http: Any = None
    vms: list[hosts.Vm] = field(default_factory=list)
    vhost: str = ""
    network_ids: set[str] = field(default_factory=set)  # made through ``api``

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, f"/v2.0/{path}", json=body)
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        result = response.json() if response.content else None
        if method == "POST" and path == "networks" and result:
            made = result.get("networks") or [result.get("network") or {}]
            self.network_ids.update(n["id"] for n in made if "id" in n)
        return result

    def network(self, network_type: str, cidr: str, **provider: Any) -> tuple[str, str]:
        """(network id, subnet id) of a new network of ``network_type`` with one subnet."""
        body = {"name": f"e2e-{network_type}", "provider:network_type": network_type,
                **{f"provider:{k}": v for k, v in provider.items()}}
        net = self.api("POST", "networks", {"network": body})["network"]
        subnet = self.api("POST", "subnets", {"subnet": {
            "network_id": net["id"], "ip_version": 4, "cidr": cidr,
            "enable_dhcp": False}})["subnet"]
        return net["id"], subnet["id"]

    def vm(self, where: AgentHost, network_id: str, subnet_id: str,
           ip: str | None = None) -> tuple[dict[str, Any], hosts.Vm]:
        """A port bound to ``where`` and a VM namespace plugged with its MAC and fixed IP."""
        body: dict[str, Any] = {"network_id": network_id, "binding:host_id": where.name,
                                "device_owner": "compute:nova"}
        if ip:
            body["fixed_ips"] = [{"subnet_id": subnet_id, "ip_address": ip}]
        port = self.api("POST", "ports", {"port": body})["port"]
        subnet = self.api("GET", f"subnets/{subnet_id}")["subnet"]
        prefix = subnet["cidr"].split("/")[1]
        address = port["fixed_ips"][0]["ip_address"]
        vm = hosts.create_vm(self.cleanup, where.host, port["id"], port["mac_address"],
                             f"{address}/{prefix}")
        self.vms.append(vm)
        return port, vm

    def port_status(self, port_id: str) -> str:
        return str(self.api("GET", f"ports/{port_id}")["port"]["status"])

    def wait_active(self, *port_ids: str, timeout: float = 30) -> None:
        hosts.wait_for(lambda: all(self.port_status(p) == "ACTIVE" for p in port_ids),
                       timeout=timeout, interval=0.1, what=f"ports {port_ids} ACTIVE")

    def wait_ping(self, vm: hosts.Vm, ip: str, timeout: float = 30) -> None:
        hosts.wait_for(lambda: vm.ping(ip, count=1, timeout_s=1), timeout=timeout,
                       interval=0.2, what=f"{vm.ip} -> {ip} ping")


def _agent_config(path: Path, vhost: str, name: str, host: hosts.OvsHost,
                  tunnel_ip: str, extra: Mapping[str, dict[str, Any]] | None = None) -> Path:
    return write_config(path, {
        "DEFAULT": {"host": name, "debug": "true",
                    "transport_url": f"rabbit://guest:guest@127.0.0.1:5672/{vhost}",
                    "rpc_response_timeout": 20},
        "ovs": {"local_ip": tunnel_ip, "datapath_type": "netdev",
                "ovsdb_connection": host.db, "bridge_mappings": f"{PHYSNET}:{PHYS_BRIDGE}"},
        "agent": {"tunnel_types": "vxlan,gre", "l2_population": "true",
                  "arp_responder": "true", "report_interval": 2, "polling_interval": 1},
        **(extra or {}),
    })


def _server(db_url: str, vhost: str,
            extra: Mapping[str, dict[str, Any]] | None = None) -> ApiServer:
    from neutrino.rpc import service

    server = start_api_server(_merged({
        "DEFAULT": {"auth_strategy": "noauth", "service_plugins": ["agents"],
                    "transport_url": f"rabbit://guest:guest@127.0.0.1:5672/{vhost}",
                    "host": "e2e-server", "rpc_workers": 1},
        "database": {"connection": db_url},
        "ml2": {"type_drivers": ["flat", "vlan", "gre", "vxlan"],
                "tenant_network_types": ["vxlan"],
                "mechanism_drivers": ["openvswitch", "l2population"]},
        "ml2_type_vlan": {"network_vlan_ranges": [f"{PHYSNET}:100:199"]},
        "ml2_type_flat": {"flat_networks": [PHYSNET]},
        "ml2_type_vxlan": {"vni_ranges": ["1001:2000"]},
        "ml2_type_gre": {"tunnel_id_ranges": ["1:1000"]},
    }, extra))
    service.attach(server.server)
    return server


def _merged(base: dict[str, dict[str, Any]],
            extra: Mapping[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """``base`` with ``extra``'s options set over it, section by section."""
    merged = {section: dict(opts) for section, opts in base.items()}
    for section, opts in (extra or {}).items():
        merged.setdefault(section, {}).update(opts)
    return merged


def _agents_alive(rig: Rig) -> bool:
    agents = rig.api("GET", "agents")["agents"]
    alive = {a["host"] for a in agents if a["alive"] and a["agent_type"] == "Open vSwitch agent"}
    return all(h.name in alive for h in rig.hosts)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(tmp_path_factory) as built:
        yield built


@contextmanager
def running_rig(tmp_path_factory: pytest.TempPathFactory, *, host_count: int = 3,
                agent_extra: Mapping[str, dict[str, Any]] | None = None,
                project: str | None = None,
                server_extra: Mapping[str, dict[str, Any]] | None = None) -> Iterator[Rig]:
    """Build a rig (skip the test when this machine cannot): ``agent_extra`` adds sections
    to every agent's config file, ``project`` makes ``rig.api`` an admin of that project
    (no project: the noauth admin), ``server_extra`` sets server options."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("e2e")
    network_ids: set[str] = set()
    with hosts.Cleanup() as cleanup, make_database("sqlite", base) as db_url:
        cleanup.add(assert_no_qdhcp_left, network_ids)  # runs last: after every agent
        vhost = rabbit_vhost(cleanup)
        server = _server(db_url, vhost, server_extra)
        cleanup.add(server.stop)
        cleanup.add(_detach, server)
        ovs_hosts = [hosts.create_host(cleanup, base) for _ in range(host_count)]
        ips = hosts.create_switched_underlay(cleanup, ovs_hosts)
        fabric = hosts.create_fabric(cleanup)
        agent_hosts = []
        for index, (host, ip) in enumerate(zip(ovs_hosts, ips, strict=True)):
            fabric.attach(cleanup, host, PHYS_BRIDGE)
            relay = hosts.start_relay(cleanup, host.netns, RABBIT[1])
            name = f"e2e-host-{index}"
            config = _agent_config(base / f"{name}.ini", vhost, name, host, ip, agent_extra)
            agent = AgentHost(host, ip, name, config, base / f"{name}.log", relay=relay)
            agent.start_agent()
            cleanup.add(agent.stop_agent)
            agent_hosts.append(agent)
        http = server.http(project, "admin" if project else None)
        cleanup.add(http.close)
        rig = Rig(server=server, hosts=agent_hosts, cleanup=cleanup, http=http, vhost=vhost,
                  network_ids=network_ids)
        try:
            hosts.wait_for(lambda: _agents_alive(rig), timeout=60, what="agents alive")
        except TimeoutError:
            pytest.fail("agents did not report: " + agent_hosts[0].log_tail())
        yield rig


def assert_no_qdhcp_left(network_ids: set[str]) -> None:
    """No ``qdhcp-`` namespace (nor an empty file of one) of the rig's networks is left in
    this machine's /run/netns once the rig is torn down."""
    left = sorted(f"qdhcp-{n}" for n in network_ids
                  if os.path.lexists(hosts.NETNS_DIR / f"qdhcp-{n}"))
    assert not left, f"left in {hosts.NETNS_DIR}: {left}"


def _detach(server: ApiServer) -> None:
    from neutrino.rpc import service

    service.detach(server.server)


# --- L3: a network node with br-ex, an outside host, the L3 agent -----------------------------

L3_AGENT_BIN = Path(sys.executable).with_name("neutrino-l3-agent")
EXTERNAL_PHYSNET = "public"
EXTERNAL_BRIDGE = "br-ex"


def make_network_node(rig: Rig, where: AgentHost, outside_cidr: str,
                      outside_gateway: str | None = None) -> hosts.Vm:
    """Make ``where`` the network node: its OVS agent restarted with ``public:br-ex`` on
    top of ``physnet1``, and an "outside" namespace cabled to its br-ex with
    ``outside_cidr`` (a host on the external flat network, default route through
    ``outside_gateway`` when given). The server must list ``public`` in
    ``[ml2_type_flat] flat_networks``. Returns the outside host (a :class:`hosts.Vm`
    whose tap is a plain br-ex port, no iface-id: the network's uplink, not a VIF)."""
    where.stop_agent()
    where.host.add_bridge(EXTERNAL_BRIDGE)
    mappings = f"{PHYSNET}:{PHYS_BRIDGE},{EXTERNAL_PHYSNET}:{EXTERNAL_BRIDGE}"
    _agent_config(where.config, rig.vhost, where.name, where.host, where.tunnel_ip, {
        "ovs": {"local_ip": where.tunnel_ip, "datapath_type": "netdev",
                "ovsdb_connection": where.host.db, "bridge_mappings": mappings}})
    where.start_agent()
    outside = hosts.create_vm(rig.cleanup, where.host, "", _local_mac(), outside_cidr,
                              plug=False)
    where.host.vsctl("add-port", EXTERNAL_BRIDGE, outside.tap)
    if outside_gateway:
        outside.exec("ip", "route", "add", "default", "via", outside_gateway)
    outside.tx_offload_off()  # TCP through the userspace datapath needs it (hosts.py)

    def mapped() -> bool:  # the restarted agent's report, not the old one's
        return any(a["alive"] and EXTERNAL_PHYSNET in a["configurations"].get(
                       "bridge_mappings", {})
                   for a in rig.api("GET", "agents")["agents"]
                   if a["agent_type"] == "Open vSwitch agent" and a["host"] == where.name)

    hosts.wait_for(mapped, timeout=60, interval=0.2, what=f"{EXTERNAL_BRIDGE} on {where.name}")
    return outside


def _local_mac() -> str:
    octets = uuid.uuid4().bytes[:5]
    return "02:" + ":".join(f"{b:02x}" for b in octets)


@dataclass
class L3Agent:
    """A ``neutrino-l3-agent`` process on a rig host; its router namespaces are in this
    machine's ``/run/netns`` (as on a host of its own, they outlive an agent restart).

    It enters only the host's network namespace (``nsenter --net``): under ``ip netns
    exec`` it would get a mount namespace of its own, where the bind mounts naming its
    router namespaces would live and die with the process, so a restarted agent would
    find names without namespaces, which no real host does to its agent.
    """

    host: AgentHost
    config_files: tuple[Path, ...]
    state: Path
    log: Path
    proc: subprocess.Popen[Any] | None = None

    def start(self) -> None:
        argv = [str(L3_AGENT_BIN)]
        for path in self.config_files:
            argv += ["--config-file", str(path)]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([*enter_host(self.host.host.netns), *argv], stdout=out,
                                         stderr=subprocess.STDOUT, cwd=REPO)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the agent process only: what it built (namespaces, proxies) stays."""
        if self.proc is None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def remove_everything(self, router_ids: set[str]) -> None:
        """Stop the agent, kill the processes it left (pid files under its state path)
        and delete the ``qrouter-`` namespaces of ``router_ids``."""
        self.stop()
        for pid_file in self.state.rglob("*pid"):
            _kill_pid_file(pid_file)
        for router_id in router_ids:
            namespace = f"qrouter-{router_id}"
            if (Path("/run/netns") / namespace).exists():
                hosts.run(["ip", "netns", "del", namespace], check=False)


def start_l3_agent(rig: Rig, where: AgentHost, *, metadata_socket: Path | None = None,
                   router_ids: set[str] | None = None,
                   extra: Mapping[str, dict[str, Any]] | None = None) -> L3Agent:
    """``neutrino-l3-agent --config-file neutron.conf --config-file l3_agent.ini`` on
    ``where`` (the metadata redirect served through ``metadata_socket`` when given);
    stopped on the rig's clean-up, which also deletes the namespaces of the routers
    in ``router_ids`` (a set the caller fills) and of every router still listed."""
    state = _state_dir(rig)
    neutron_conf = write_config(state / "neutron.conf", {
        "DEFAULT": {"host": where.name, "debug": "true", "state_path": str(state),
                    "transport_url": f"rabbit://guest:guest@127.0.0.1:5672/{rig.vhost}",
                    "rpc_response_timeout": 20}})
    l3_ini = write_config(state / "l3_agent.ini", _merged({
        "DEFAULT": {"interface_driver": "openvswitch", "agent_mode": "legacy",
                    "metadata_proxy_socket": str(metadata_socket or state / "none"),
                    "enable_metadata_proxy": str(metadata_socket is not None).lower()},
        "ovs": {"ovsdb_connection": where.host.db},
        "agent": {"report_interval": 2}}, extra))
    agent = L3Agent(where, (neutron_conf, l3_ini), state, state / "l3-agent.log")
    agent.start()
    known = router_ids if router_ids is not None else set()
    rig.cleanup.add(lambda: agent.remove_everything(known | _router_ids(rig)))
    return agent


def _router_ids(rig: Rig) -> set[str]:
    try:
        response = rig.http.request("GET", "/v2.0/routers?fields=id")
    except httpx.HTTPError:  # the server is gone: the caller's set is all there is
        return set()
    if response.status_code != 200:  # no router plugin: no routers
        return set()
    return {r["id"] for r in response.json()["routers"]}
