"""The Open vSwitch agent: events in, desired flows out, devices reported up and down.

One worker thread owns all state. Everything else only queues news for it: the OVSDB VIF
monitor (:meth:`OvsAgent.vif_changed`), the server's casts (``AgentNotifications`` ->
:meth:`OvsAgent.notify`), the canary thread (the OVS status) and the heartbeat thread
('revived' asks for a full resync). Each
loop iteration applies the queued news to the model, fetches device details for new or
changed VIFs, assigns local VLANs, computes every bridge's flows (``flows.compute_flows``)
and syncs them (additions before deletions), creates tunnel ports before flows use them
and deletes them after, then reports devices up/down so the server marks ports ACTIVE/DOWN.

Restarts: a new agent run uses a new cookie; the previous run's flows stay until its own
are in place and the l2pop FDB of its networks has arrived (or a grace period passed), so
existing traffic is never cut. An ovs-vswitchd restart is found by the canary table and
everything is rebuilt without restarting the agent. Flows are diffed against what the
agent last pushed (it owns its cookie); the switch is read back only on a resync or after
such a restart, so a port-up costs one OpenFlow bundle on the bridge that changed.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from neutrino.agent.ovs import flows
from neutrino.agent.ovs.bridge import BridgeError, OvsStatus, VifPort, check_canary
from neutrino.agent.ovs.monitor import VifChange
from neutrino.agent.ovs.pipeline import DEAD_VLAN_TAG, TUNNEL_TYPES
from neutrino.agent.ovs.server_api import (
    AGENT_BINARY_OVS,
    AGENT_REVIVED,
    AGENT_TYPE_OVS,
    PluginApi,
    StateReportApi,
)
from neutrino.agent.ovs.state import (
    FLAT,
    VLAN,
    AddressPair,
    AgentState,
    FdbTable,
    LocalPort,
    add_fdb_entries,
    remove_fdb_entries,
    remove_network,
    update_fdb_entries,
)
from neutrino.agent.ovs.topology import (
    BridgeFactory,
    Bridges,
    TopologyConfig,
    TunnelPorts,
    plan_tunnels,
    setup_bridges,
)
from neutrino.agent.ovs.vlans import LocalVlanManager

LOG = logging.getLogger(__name__)

# Every cookie of this agent carries this mark in its top 16 bits, so a restarted agent can
# tell its previous run's flows from those of other owners (cookie 0 = learnt flows).
COOKIE_MARK = 0x4E55
COOKIE_MARK_SHIFT = 48

Listener = Callable[[str, dict[str, Any]], None]


def check_canary_of(bridges: Bridges | None) -> OvsStatus:
    """The canary verdict for ``bridges`` (NORMAL before the bridges exist)."""
    return OvsStatus.NORMAL if bridges is None else check_canary(bridges.int_br)


def new_cookie() -> int:
    """A fresh cookie for one agent run: the agent mark plus 48 random bits."""
    return (COOKIE_MARK << COOKIE_MARK_SHIFT) | (secrets.randbits(COOKIE_MARK_SHIFT) or 1)


def is_agent_cookie(cookie: int) -> bool:
    """True for cookies of any run of this agent."""
    return cookie >> COOKIE_MARK_SHIFT == COOKIE_MARK


@dataclass(frozen=True)
class AgentConfig:
    """Everything the agent reads from its configuration files."""

    host: str
    topology: TopologyConfig = field(default_factory=TopologyConfig)
    l2_population: bool = False
    arp_responder: bool = False
    datapath_type: str = "system"
    report_interval: float = 30.0
    polling_interval: float = 2.0
    processing_step: int = 20
    stale_flow_grace: float = 10.0
    retry_interval: float = 1.0

    @property
    def arp_responder_enabled(self) -> bool:
        # as in Neutron: the responder only knows addresses through l2pop
        return self.arp_responder and self.l2_population

    @classmethod
    def from_conf(cls, conf: Any) -> AgentConfig:
        """Build from an oslo.config object made by ``neutrino.conf.agent``."""
        from neutrino.conf.agent import parse_bridge_mappings

        topology = TopologyConfig(
            integration_bridge=conf.ovs.integration_bridge,
            tunnel_bridge=conf.ovs.tunnel_bridge,
            int_peer_patch_port=conf.ovs.int_peer_patch_port,
            tun_peer_patch_port=conf.ovs.tun_peer_patch_port,
            local_ip=conf.ovs.local_ip, tunnel_types=tuple(conf.agent.tunnel_types),
            bridge_mappings=parse_bridge_mappings(conf.ovs.bridge_mappings),
            vxlan_udp_port=conf.agent.vxlan_udp_port)
        return cls(host=conf.host, topology=topology,
                   l2_population=conf.agent.l2_population,
                   arp_responder=conf.agent.arp_responder,
                   datapath_type=conf.ovs.datapath_type,
                   report_interval=conf.agent.report_interval,
                   polling_interval=float(conf.agent.polling_interval),
                   processing_step=getattr(conf, "rpc_resources_processing_step", 20))


@dataclass(frozen=True)
class BoundPort:
    """A VIF the agent wired: its network and the LocalPort the flows are computed from."""

    network_id: str
    port: LocalPort
    vif_name: str


def _fixed_ips(details: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(ip["ip_address"]) for ip in details.get("fixed_ips") or ())


def _address_pairs(details: Mapping[str, Any]) -> tuple[AddressPair, ...]:
    return tuple(AddressPair(str(pair["ip_address"]), pair.get("mac_address"))
                 for pair in details.get("allowed_address_pairs") or ())


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class OvsAgent:
    """One OVS agent; the same code drives real OVS and in-memory (simulated) bridges."""

    def __init__(self, config: AgentConfig, bridge_factory: BridgeFactory,
                 plugin_rpc: PluginApi, state_rpc: StateReportApi | None = None,
                 cookie: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.agent_id = f"ovs-agent-{config.host}"
        self.cookie = cookie if cookie is not None else new_cookie()
        self.plugin_rpc = plugin_rpc
        self.state_rpc = state_rpc
        self._factory = bridge_factory
        self._clock = clock
        self._queue: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._inline_canary = False
        self.listeners: list[Listener] = []
        self.bridges: Bridges | None = None
        self._reset_model()

    def _reset_model(self) -> None:
        self.vlans = LocalVlanManager()
        self.vifs: dict[str, VifPort] = {}
        self.bound: dict[str, BoundPort] = {}
        self.dead: set[str] = set()
        self.fdb: FdbTable = {}
        self.endpoints: set[tuple[str, str]] = set()
        self.tunnels = TunnelPorts(self.config.topology)
        self._tags: dict[str, int | None] = {}
        self._pending: set[str] = set()
        self._gone: set[str] = set()
        self._up: set[str] = set()
        self._down: set[str] = set()
        self._fdb_seen: set[str] = set()
        self._resync = True
        self._refresh_flows = True  # read the switch on the next sync (else: last pushed)
        self._first_sync = True
        self._refresh_tunnels = True
        self._warm_until: float | None = None  # previous run's flows kept until then
        self._last_state: AgentState | None = None
        self._ovs_status = OvsStatus.NORMAL
        self._start_flag = True
        self._report_failed = False
        self.iterations = 0

    # public entry points (any thread) --------------------------------------------------------

    def vif_changed(self, change: VifChange, vif: VifPort) -> None:
        """VifMonitor callback: queue a VIF change for the loop."""
        self.notify("vif", change=change, vif=vif)

    def notify(self, kind: str, **payload: Any) -> None:
        """Queue news (a server cast, a resync request) for the loop."""
        self._queue.put((kind, payload))

    def resync(self, reason: str = "requested") -> None:
        self.notify("resync", reason=reason)

    # lifecycle -------------------------------------------------------------------------------

    def setup(self) -> None:
        """Create bridges and patch ports and adopt the previous run's tunnel ports."""
        self.bridges = setup_bridges(self.config.topology, self._factory, self.bridges)
        if self.bridges.tun_br is not None:
            self.tunnels.adopt(self.bridges.tun_br)

    def start(self, heartbeat: bool = True, canary_thread: bool = True) -> None:
        """Set up the bridges and start the loop (and heartbeat, canary) threads.

        Without ``canary_thread`` the loop itself checks the canary when it is idle (for
        simulated agents: hundreds of threads cost more than in-memory checks).
        """
        self.setup()
        self._inline_canary = not canary_thread
        self._spawn(self._loop, "ovs-agent-loop")
        if canary_thread:
            self._spawn(self._canary_loop, "ovs-agent-canary")
        if heartbeat and self.state_rpc is not None:
            self._spawn(self._heartbeat_loop, "ovs-agent-heartbeat")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=f"{name}-{self.config.host}",
                                  daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the threads (flows and ports stay: traffic keeps flowing).

        ``timeout=0`` only signals them, so many agents can be stopped together and then
        joined by a second call.
        """
        self._stop.set()
        self._queue.put(("stop", {}))
        for thread in self._threads:
            thread.join(timeout)
        self._threads = [thread for thread in self._threads if thread.is_alive()]

    def wait(self) -> None:
        """Block until :meth:`stop` is called (from a signal handler, say)."""
        while not self._stop.wait(1.0):
            pass

    # the loop --------------------------------------------------------------------------------

    def _loop(self) -> None:
        next_check = self._clock() + self.config.polling_interval
        while not self._stop.is_set():
            events = self._drain(self.config.polling_interval)
            if self._inline_canary and not events and self._clock() >= next_check:
                events = [("ovs_status", {"status": check_canary_of(self.bridges)})]
                next_check = self._clock() + self.config.polling_interval
            self.run_once(events)

    def _canary_loop(self) -> None:
        """Check the canary table every ``polling_interval`` on its own thread.

        The check runs ovs-ofctl (milliseconds); on the loop's thread it would delay any
        VIF or l2pop news that came in meanwhile. The verdict is queued like other news.
        """
        while not self._stop.wait(self.config.polling_interval):
            self.notify("ovs_status", status=check_canary_of(self.bridges))

    def _drain(self, timeout: float) -> list[tuple[str, dict[str, Any]]]:
        try:
            events = [self._queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                return events

    def run_once(self, events: Iterable[tuple[str, dict[str, Any]]] = ()) -> bool:
        """Apply ``events`` and converge; False when it must be retried (RPC or OVS error)."""
        for kind, payload in events:
            self._apply_event(kind, payload)
        if self._ovs_status == OvsStatus.DEAD:
            return False
        try:
            self._converge()
        except Exception as exc:  # RPC and OVS errors alike: resync everything next time
            LOG.warning("%s: iteration failed (%s); full resync", self.config.host, exc)
            self._resync = True
            self._last_state = None
            self._stop.wait(self.config.retry_interval)
            if not self._stop.is_set():
                self.notify("retry")
            return False
        self.iterations += 1
        return True

    def run_until_idle(self, max_rounds: int = 100) -> None:
        """Drain the queue and converge until nothing is left (tests, simulations)."""
        for _ in range(max_rounds):
            events = self._drain(0) if not self._queue.empty() else []
            self.run_once(events)
            if self._queue.empty() and not self._pending and not self._resync:
                return

    def _converge(self) -> None:
        phases: list[tuple[str, float]] = []
        started = last = self._clock()
        for name, phase in (("resync", self._prepare_resync if self._resync else None),
                            ("details", self._bind_pending), ("unbind", self._unbind_gone),
                            ("dataplane", self._sync_dataplane),
                            ("report", self._report_devices),
                            ("warmup", self._finish_warmup)):
            if phase is None:
                continue
            phase()
            now = self._clock()
            phases.append((name, now - last))
            last = now
        if last - started >= 0.001:  # like Neutron's "rpc_loop - iteration ... Elapsed"
            LOG.debug("%s: iteration %d took %.1f ms (%s)", self.config.host, self.iterations,
                      (last - started) * 1000,
                      ", ".join(f"{n} {d * 1000:.1f}" for n, d in phases if d >= 0.0005))

    # events ----------------------------------------------------------------------------------

    def _apply_event(self, kind: str, payload: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            LOG.debug("ignoring %s", kind)
            return
        handler(**payload)

    def _on_stop(self) -> None:
        return None

    def _on_retry(self) -> None:
        return None

    def _on_resync(self, reason: str = "") -> None:
        LOG.info("%s: full resync (%s)", self.config.host, reason)
        self._resync = True

    def _on_vif(self, change: VifChange, vif: VifPort) -> None:
        if change == VifChange.DELETED:
            if self.vifs.get(vif.port_id, vif).name == vif.name:
                self.vifs.pop(vif.port_id, None)
                self._pending.discard(vif.port_id)
                self._gone.add(vif.port_id)
            return
        previous = self.vifs.get(vif.port_id)
        self.vifs[vif.port_id] = vif
        if vif.ofport is not None and previous != vif:
            self._pending.add(vif.port_id)

    def _on_port_update(self, port_id: str | None) -> None:
        if port_id and port_id in self.vifs:
            self._pending.add(port_id)

    def _on_port_delete(self, port_id: str | None) -> None:
        if port_id and (port_id in self.bound or port_id in self.vifs):
            self._unbind(port_id)
            self._pending.discard(port_id)
            vif = self.vifs.get(port_id)
            if vif is not None:
                self._dead_vlan(port_id, vif.name)

    def _on_network_update(self, network_id: str | None) -> None:
        self._pending.update(p for p, b in self.bound.items() if b.network_id == network_id)

    def _on_network_delete(self, network_id: str | None) -> None:
        self._on_network_update(network_id)

    def _on_tunnel_update(self, tunnel_ip: str | None, tunnel_type: str | None) -> None:
        if tunnel_ip and tunnel_type and tunnel_ip != self.config.topology.local_ip:
            self.endpoints.add((tunnel_type, tunnel_ip))

    def _on_tunnel_delete(self, tunnel_ip: str | None, tunnel_type: str | None) -> None:
        self.endpoints.discard((tunnel_type or "", tunnel_ip or ""))

    def _local_entries(self, fdb_entries: Mapping[str, Any]) -> dict[str, Any]:
        # like Neutron's fdb_add: only networks with a local VLAN here matter
        return {net: value for net, value in fdb_entries.items()
                if net != "chg_ip" and self.vlans.get(net) is not None}

    def _on_add_fdb_entries(self, fdb_entries: Mapping[str, Any]) -> None:
        local = self._local_entries(fdb_entries)
        self.fdb = add_fdb_entries(self.fdb, local, self.config.topology.local_ip)
        self._fdb_seen.update(local)
        self._emit("add_fdb_entries", {"networks": sorted(local), "fdb_entries": local})

    def _on_remove_fdb_entries(self, fdb_entries: Mapping[str, Any]) -> None:
        local = self._local_entries(fdb_entries)
        self.fdb = remove_fdb_entries(self.fdb, local, self.config.topology.local_ip)
        self._emit("remove_fdb_entries", {"networks": sorted(local), "fdb_entries": local})

    def _on_update_fdb_entries(self, fdb_entries: Mapping[str, Any]) -> None:
        changes = self._local_entries(fdb_entries.get("chg_ip") or {})
        self.fdb = update_fdb_entries(self.fdb, {"chg_ip": changes},
                                      self.config.topology.local_ip)
        self._emit("update_fdb_entries", {"networks": sorted(changes)})

    def _emit(self, event: str, payload: dict[str, Any]) -> None:
        for listener in self.listeners:
            try:
                listener(event, payload)
            except Exception:  # an observer must never break the agent
                LOG.exception("listener failed on %s", event)

    # OVS health ------------------------------------------------------------------------------

    def check_ovs(self) -> OvsStatus:
        """The canary check, done now; on RESTARTED rebuild bridges and resync."""
        if self.bridges is None:
            return self._ovs_status
        return self._on_ovs_status(check_canary(self.bridges.int_br))

    def _on_ovs_status(self, status: OvsStatus) -> OvsStatus:
        """Act on a canary verdict (no agent restart needed)."""
        if status == OvsStatus.RESTARTED and not self._first_sync:
            LOG.warning("%s: OVS is restarted. Resetting bridges and recovering ports",
                        self.config.host)
            self._recover_ovs()
        elif status == OvsStatus.DEAD and self._ovs_status != OvsStatus.DEAD:
            LOG.error("%s: OVS is dead; not reporting state until it is back",
                      self.config.host)
        elif status != OvsStatus.DEAD and self._ovs_status == OvsStatus.DEAD:
            self._recover_ovs()
        self._ovs_status = status
        return status

    def _recover_ovs(self) -> None:
        try:
            self.setup()
            if self.bridges is not None and self.bridges.tun_br is not None:
                self.tunnels.add_missing(self.bridges.tun_br, set(self.tunnels.ports),
                                         refresh=True)
        except BridgeError as exc:
            LOG.warning("%s: bridge set-up after OVS restart failed: %s", self.config.host,
                        exc)
        if self.bridges is not None:
            for bridge in self.bridges.all().values():
                bridge.forget_flows()  # the restart took every flow with it
        self._last_state = None
        self._refresh_flows = True
        self._tags.clear()
        self._resync = True
        self._emit("ovs_restarted", {})

    # resync ----------------------------------------------------------------------------------

    def _prepare_resync(self) -> None:
        """Refetch every VIF, re-register tunnel endpoints, ask for the full FDB again."""
        if self.bridges is None:
            self.setup()
        self._pending.update(p for p, v in self.vifs.items() if v.ofport is not None)
        self._gone.update(p for p in self.bound if p not in self.vifs)
        self._tunnel_sync()
        self._report_unplugged()
        self._refresh_tunnels = True
        self._refresh_flows = True
        self._last_state = None
        self._resync = False

    def _tunnel_sync(self) -> None:
        topology = self.config.topology
        if not topology.tunnelling:
            return
        for tunnel_type in topology.tunnel_types:
            reply = self.plugin_rpc.tunnel_sync(tunnel_ip=str(topology.local_ip),
                                                tunnel_type=tunnel_type,
                                                host=self.config.host) or {}
            for tunnel in reply.get("tunnels") or ():
                self._on_tunnel_update(tunnel.get("ip_address"), tunnel_type)

    def _report_unplugged(self) -> None:
        """Ports the server believes bound here whose VIF is gone (unplugged while down)."""
        try:
            ports = self.plugin_rpc.get_ports_by_vnic_type_and_host(
                vnic_type="normal", host=self.config.host) or []
        except NotImplementedError:
            return
        for port in ports:
            port_id = port.get("id")
            if port_id and port_id not in self.vifs and port.get("status") != "DOWN":
                self._down.add(port_id)

    # binding ---------------------------------------------------------------------------------

    def _bind_pending(self) -> None:
        devices = sorted(p for p in self._pending
                         if p in self.vifs and self.vifs[p].ofport is not None)
        self._pending.intersection_update(devices)
        for chunk in _chunks(devices, self.config.processing_step):
            reply = self.plugin_rpc.get_devices_details_list_and_failed_devices(
                devices=chunk, agent_id=self.agent_id, host=self.config.host) or {}
            for details in reply.get("devices") or ():
                self._bind(details)
                self._pending.discard(details.get("device"))
            failed = set(reply.get("failed_devices") or ())
            if failed:  # still pending: retried on the next iteration
                LOG.warning("%s: details failed for %s", self.config.host, sorted(failed))

    def _can_serve(self, details: Mapping[str, Any]) -> bool:
        network_type = details.get("network_type")
        if network_type in TUNNEL_TYPES:
            return (network_type in self.config.topology.tunnel_types
                    and self.config.topology.tunnelling)
        if network_type in (VLAN, FLAT):
            return details.get("physical_network") in self.config.topology.bridge_mappings
        return network_type == "local"

    def _bind(self, details: Mapping[str, Any]) -> None:
        port_id = str(details.get("device"))
        vif = self.vifs.get(port_id)
        if vif is None or vif.ofport is None:
            return
        if "network_id" not in details or not self._can_serve(details):
            LOG.info("%s: port %s not bound here (or unsupported); dead VLAN",
                     self.config.host, port_id)
            self._unbind(port_id)
            self._dead_vlan(port_id, vif.name)
            return
        lvid = self._local_vlan(details, vif)
        if not details.get("admin_state_up", True):
            self._unbind(port_id)
            self._dead_vlan(port_id, vif.name)
            self._down.add(port_id)
            return
        previous = self.bound.get(port_id)
        self.bound[port_id] = BoundPort(str(details["network_id"]), LocalPort(
            port_id=port_id, ofport=vif.ofport,
            mac_address=str(details.get("mac_address") or vif.mac_address),
            lvid=lvid, fixed_ips=_fixed_ips(details),
            allowed_address_pairs=_address_pairs(details),
            port_security_enabled=bool(details.get("port_security_enabled", True))),
            vif.name)
        if previous is not None and previous.network_id != details["network_id"]:
            self._release_if_unused(previous.network_id)
        self.dead.discard(port_id)
        self._set_tag(vif.name, lvid)
        self._up.add(port_id)
        self._down.discard(port_id)

    def _local_vlan(self, details: Mapping[str, Any], vif: VifPort) -> int:
        network_id = str(details["network_id"])
        if self.vlans.get(network_id) is None:
            self._reuse_tag(network_id, vif)
        segmentation_id = details.get("segmentation_id")
        vlan = self.vlans.ensure(network_id, str(details["network_type"]),
                                 int(segmentation_id) if segmentation_id is not None else None,
                                 details.get("physical_network"))
        return vlan.lvid

    def _reuse_tag(self, network_id: str, vif: VifPort) -> None:
        """Keep the local VLAN a previous run gave this VIF, so its old flows keep working."""
        if self.bridges is None:
            return
        tag = self.bridges.int_br.get_port_tag(vif.name)
        if tag is not None:
            self.vlans.reserve(network_id, tag)  # refuses a taken or out-of-range id

    def _set_tag(self, vif_name: str, tag: int) -> None:
        if self._tags.get(vif_name) != tag and self.bridges is not None:
            self.bridges.int_br.set_port_tag(vif_name, tag)
            self._tags[vif_name] = tag

    def _dead_vlan(self, port_id: str, vif_name: str) -> None:
        self.dead.add(port_id)
        self._up.discard(port_id)
        try:
            self._set_tag(vif_name, DEAD_VLAN_TAG)
        except BridgeError:  # the port may be going away at the same time
            LOG.debug("could not set dead VLAN on %s", vif_name)

    def _unbind(self, port_id: str) -> None:
        gone = self.bound.pop(port_id, None)
        self._up.discard(port_id)
        if gone is not None:
            self._release_if_unused(gone.network_id)

    def _release_if_unused(self, network_id: str) -> None:
        if any(b.network_id == network_id for b in self.bound.values()):
            return
        self.vlans.release(network_id)
        self.fdb = remove_network(self.fdb, network_id)
        self._fdb_seen.discard(network_id)

    def _unbind_gone(self) -> None:
        if not self._gone:
            return
        for port_id in sorted(self._gone):
            was_bound = port_id in self.bound or port_id in self.dead
            self._unbind(port_id)
            self.dead.discard(port_id)
            if was_bound:
                self._down.add(port_id)
        names = {v.name for v in self.vifs.values()}
        self._tags = {name: tag for name, tag in self._tags.items() if name in names}
        self._gone.clear()

    # data plane ------------------------------------------------------------------------------

    def _wanted_tunnels(self) -> frozenset[tuple[str, str]]:
        topology = self.config.topology
        return plan_tunnels(topology.local_ip, topology.tunnel_types, self.vlans.all,
                            self.fdb, self.endpoints, self.config.l2_population)

    def agent_state(self, tunnels_in_use: frozenset[tuple[str, str]] | None = None
                    ) -> AgentState:
        """The flows' input, from the current model (only ``tunnels_in_use`` if given)."""
        assert self.bridges is not None
        tunnels = tuple(t for t in self.tunnels.current if tunnels_in_use is None
                        or (t.tunnel_type, t.remote_ip) in tunnels_in_use)
        return AgentState(
            cookie=self.cookie, local_ip=self.config.topology.local_ip,
            arp_responder=self.config.arp_responder_enabled,
            l2_population=self.config.l2_population,
            patch_int_ofport=self.bridges.patch_int_ofport,
            patch_tun_ofport=self.bridges.patch_tun_ofport,
            local_vlans=self.vlans.all,
            ports=tuple(self.bound[p].port for p in sorted(self.bound)),
            fdb=self.fdb, tunnels=tunnels,
            bridge_mappings=self.bridges.mappings)

    def _sync_dataplane(self) -> None:
        """Tunnel ports first, then flows; unneeded tunnel ports last (after the warm-up)."""
        bridges = self.bridges
        assert bridges is not None
        wanted = self._wanted_tunnels()
        deleting = bridges.tun_br is not None and self._warm_until is None \
            and not self._first_sync
        if bridges.tun_br is not None:
            self.tunnels.add_missing(bridges.tun_br, wanted)
        state = self.agent_state(wanted if deleting else None)
        if state != self._last_state:
            desired = flows.compute_flows(state, bridges.int_br.name,
                                          bridges.tun_br.name if bridges.tun_br else "br-tun")
            for name, bridge in bridges.all().items():
                bridge.sync_flows(desired.get(name, frozenset()), self.cookie,
                                  refresh=self._refresh_flows)
            self._refresh_flows = False
            self._last_state = state
            self._emit("flows_synced", {"state": state})
        if deleting and bridges.tun_br is not None:
            for name in self.tunnels.delete_unwanted(bridges.tun_br, wanted):
                LOG.info("%s: deleted tunnel port %s", self.config.host, name)
                self._emit("tunnel_deleted", {"name": name})

    def _report_devices(self) -> None:
        up, down = sorted(self._up), sorted(self._down)
        refresh = self._refresh_tunnels
        if not up and not down:
            return  # refresh_tunnels rides on the next report with devices
        reply = self.plugin_rpc.update_device_list(
            devices_up=up, devices_down=down, agent_id=self.agent_id,
            host=self.config.host, refresh_tunnels=refresh) or {}
        failed_up = set(reply.get("failed_devices_up") or ())
        failed_down = set(reply.get("failed_devices_down") or ())
        self._up.difference_update(set(up) - failed_up)
        self._down.difference_update(set(down) - failed_down)
        if failed_up or failed_down:  # retried on the next iteration
            LOG.warning("%s: reporting devices failed: up %s down %s", self.config.host,
                        sorted(failed_up), sorted(failed_down))
        else:
            self._refresh_tunnels = False
        self._emit("devices_reported", {"up": up, "down": down})

    def _finish_warmup(self) -> None:
        """Drop the previous run's flows and tunnels once ours (and the FDB) are in place."""
        now = self._clock()
        if self._first_sync:
            self._first_sync = False
            self._warm_until = now + self.config.stale_flow_grace
        if self._warm_until is None:
            return
        waiting = {n for n, v in self.vlans.all.items()
                   if v.network_type in TUNNEL_TYPES and n not in self._fdb_seen}
        if self.config.l2_population and waiting and now < self._warm_until:
            return  # the loop comes back every polling_interval
        self._warm_until = None
        assert self.bridges is not None
        removed = sum(br.delete_stale_flows(self.cookie, is_agent_cookie)
                      for br in self.bridges.all().values())
        LOG.info("%s: initial sync done; %d stale flows removed", self.config.host, removed)
        self._sync_dataplane()

    # heartbeat -------------------------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        while not self._stop.is_set():
            self.report_state()
            self._stop.wait(self.config.report_interval)

    def state_report(self) -> dict[str, Any]:
        """The ``agent_state`` dict of a heartbeat (neutron-facts §2.4)."""
        topology = self.config.topology
        report: dict[str, Any] = {
            "binary": AGENT_BINARY_OVS, "host": self.config.host, "topic": "N/A",
            "agent_type": AGENT_TYPE_OVS, "start_flag": self._start_flag,
            "configurations": {
                "bridge_mappings": dict(topology.bridge_mappings),
                "tunnel_types": list(topology.tunnel_types),
                "tunneling_ip": topology.local_ip or "",
                "l2_population": self.config.l2_population,
                "arp_responder_enabled": self.config.arp_responder_enabled,
                "enable_distributed_routing": False,
                "devices": len(self.bound),
                "datapath_type": self.config.datapath_type,
                "ovs_hybrid_plug": False,
                "integration_bridge": topology.integration_bridge,
                "tunnel_bridge": topology.tunnel_bridge,
                "extensions": [],
            },
        }
        if not self._start_flag:
            report.pop("start_flag")
        return report

    def report_state(self) -> str | None:
        """Send one heartbeat (skipped while OVS is dead); 'revived' triggers a resync."""
        if self.state_rpc is None or self._ovs_status == OvsStatus.DEAD:
            return None
        try:
            result = self.state_rpc.report_state(agent_state=self.state_report(),
                                                 use_call=True)
        except Exception as exc:  # the broker or server may be down; keep beating
            LOG.warning("%s: report_state failed: %s", self.config.host, exc)
            self._report_failed = True
            return None
        self._start_flag = False
        if result == AGENT_REVIVED or self._report_failed:
            self.resync("revived" if result == AGENT_REVIVED else "server reachable again")
        self._report_failed = False
        return str(result) if result is not None else None
