"""The Open vSwitch agent: events in, desired flows out, devices reported up and down.

:class:`OvsAgent` is the device-agent skeleton (``agent.common.device_agent``: ordered
event queue, one worker thread, heartbeat, resync on start and on 'revived') plus one part
per concern, each in its own module: port binding (``binding``), tunnel endpoints and the
l2pop FDB (``l2pop``), security groups (``securitygroups``), restarts of OVS and of the
agent (``recovery``) and what is reported to the server (``reporting``). This module only
puts them together and holds the data plane step: each round, after the news is applied
and new VIFs are bound, the model becomes an ``AgentState``, ``flows.compute_flows``
turns it into every bridge's flows and each bridge syncs them (additions before
deletions); tunnel ports are created before flows use them and deleted after.

Flows are diffed against what the agent last pushed (it owns its cookie); the switch is
read back only on a resync or after an OVS restart, so a port-up costs one OpenFlow
bundle on each bridge that changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from neutrino.agent.common.device_agent import DeviceAgent, Listener, Phase
from neutrino.agent.ovs import flows
from neutrino.agent.ovs.binding import BoundPort, PortBinding
from neutrino.agent.ovs.bridge import OvsStatus, VifPort
from neutrino.agent.ovs.config import AgentConfig
from neutrino.agent.ovs.l2pop import L2popHandling
from neutrino.agent.ovs.recovery import (
    COOKIE_MARK,
    COOKIE_MARK_SHIFT,
    OvsRecovery,
    check_canary_of,
    is_agent_cookie,
    new_cookie,
)
from neutrino.agent.ovs.reporting import DeviceReporting
from neutrino.agent.ovs.securitygroups import SecurityGroupHandling
from neutrino.agent.ovs.server_api import PluginApi, StateReportApi
from neutrino.agent.ovs.state import AgentState, FdbTable
from neutrino.agent.ovs.topology import BridgeFactory, Bridges, TunnelPorts, setup_bridges
from neutrino.agent.ovs.vlans import LocalVlanManager

LOG = logging.getLogger(__name__)

__all__ = ["COOKIE_MARK", "COOKIE_MARK_SHIFT", "AgentConfig", "BoundPort", "Listener",
           "OvsAgent", "check_canary_of", "is_agent_cookie", "new_cookie"]


class OvsAgent(PortBinding, L2popHandling, SecurityGroupHandling, OvsRecovery,
               DeviceReporting, DeviceAgent):
    """One OVS agent; the same code drives real OVS and in-memory (simulated) bridges."""

    agent_name = "ovs-agent"

    def __init__(self, config: AgentConfig, bridge_factory: BridgeFactory,
                 plugin_rpc: PluginApi, state_rpc: StateReportApi | None = None,
                 cookie: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(config.host, state_rpc, report_interval=config.report_interval,
                         idle_interval=config.polling_interval,
                         retry_interval=config.retry_interval, clock=clock)
        self.config = config
        self.agent_id = f"ovs-agent-{config.host}"
        self.cookie = cookie if cookie is not None else new_cookie()
        self.plugin_rpc = plugin_rpc
        self._factory = bridge_factory
        self._inline_canary = False
        self._next_canary = 0.0
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
        self._refresh_flows = True  # read the switch on the next sync (else: last pushed)
        self._first_sync = True
        self._refresh_tunnels = True
        self._warm_until: float | None = None  # previous run's flows kept until then
        self._last_state: AgentState | None = None
        self._ovs_status = OvsStatus.NORMAL
        self._reset_security_groups()

    # lifecycle -------------------------------------------------------------------------------

    def setup(self) -> None:
        """Create bridges and patch ports and adopt the previous run's tunnel ports."""
        self.bridges = setup_bridges(self.config.topology, self._factory, self.bridges)
        if self.bridges.tun_br is not None:
            self.tunnels.adopt(self.bridges.tun_br)

    def start(self, heartbeat: bool = True, canary_thread: bool = True) -> None:
        """Set up the bridges and start the worker (and heartbeat, canary) threads.

        Without ``canary_thread`` the worker itself checks the canary when it is idle (for
        simulated agents: hundreds of threads cost more than in-memory checks).
        """
        self.setup()
        self._inline_canary = not canary_thread
        self._next_canary = self._clock() + self.config.polling_interval
        super().start(heartbeat)
        if canary_thread:
            self._spawn(self._canary_loop, f"{self.agent_name}-canary")

    # one round -------------------------------------------------------------------------------

    def _phases(self) -> Sequence[Phase]:
        return (("resync", self._prepare_resync if self._resync else None),
                ("details", self._bind_pending), ("unbind", self._unbind_gone),
                ("firewall", self._refresh_security_groups),
                ("dataplane", self._sync_dataplane),
                ("report", self._report_devices),
                ("warmup", self._finish_warmup))

    def _has_work(self) -> bool:
        return bool(self._pending)

    def _round_failed(self) -> None:
        self._last_state = None

    def _prepare_resync(self) -> None:
        """Refetch every VIF, re-register tunnel endpoints, ask for the full FDB again."""
        if self.bridges is None:
            self.setup()
        self._pending.update(p for p, v in self.vifs.items() if v.ofport is not None)
        self._gone.update(p for p in self.bound if p not in self.vifs)
        self._rebuild_security_groups()
        self._tunnel_sync()
        self._report_unplugged()
        self._refresh_tunnels = True
        self._refresh_flows = True
        self._last_state = None
        self._resync = False

    # data plane ------------------------------------------------------------------------------

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
            bridge_mappings=self.bridges.mappings,
            firewall=self.firewall)

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
                LOG.info("%s: deleted tunnel port %s", self.host, name)
                self._emit("tunnel_deleted", {"name": name})
