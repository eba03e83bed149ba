"""Surviving restarts: agent cookies, the OVS canary, and the warm-up of a new agent run.

An agent restart: the new run stamps its flows with a new cookie; the previous run's
flows stay until the new ones are in place and the l2pop FDB of its tunnelled networks
has arrived (or ``stale_flow_grace`` passed), so existing traffic is never cut. An
ovs-vswitchd restart is found by the canary table (every flow gone) and the bridges and
flows are rebuilt without restarting the agent; while OVS is dead nothing is touched and
no heartbeat claims the agent is fine.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from neutrino.agent.ovs.bridge import BridgeError, OvsStatus, check_canary
from neutrino.agent.ovs.config import AgentConfig
from neutrino.agent.ovs.pipeline import TUNNEL_TYPES
from neutrino.agent.ovs.state import AgentState
from neutrino.agent.ovs.topology import Bridges, TunnelPorts
from neutrino.agent.ovs.vlans import LocalVlanManager

LOG = logging.getLogger(__name__)

# Every cookie of this agent carries this mark in its top 16 bits, so a restarted agent can
# tell its previous run's flows from those of other owners (cookie 0 = learnt flows).
COOKIE_MARK = 0x4E55
COOKIE_MARK_SHIFT = 48


def new_cookie() -> int:
    """A fresh cookie for one agent run: the agent mark plus 48 random bits."""
    return (COOKIE_MARK << COOKIE_MARK_SHIFT) | (secrets.randbits(COOKIE_MARK_SHIFT) or 1)


def is_agent_cookie(cookie: int) -> bool:
    """True for cookies of any run of this agent."""
    return cookie >> COOKIE_MARK_SHIFT == COOKIE_MARK


def check_canary_of(bridges: Bridges | None) -> OvsStatus:
    """The canary verdict for ``bridges`` (NORMAL before the bridges exist)."""
    return OvsStatus.NORMAL if bridges is None else check_canary(bridges.int_br)


class OvsRecovery:
    """OvsAgent's part that watches OVS and takes over from a previous agent run."""

    host: str
    config: AgentConfig
    cookie: int
    bridges: Bridges | None
    tunnels: TunnelPorts
    vlans: LocalVlanManager
    _clock: Callable[[], float]
    _resync: bool
    _refresh_flows: bool
    _first_sync: bool
    _warm_until: float | None
    _fdb_seen: set[str]
    _tags: dict[str, int | None]
    _last_state: AgentState | None
    _ovs_status: OvsStatus
    _inline_canary: bool
    _next_canary: float

    _stop: threading.Event

    if TYPE_CHECKING:  # provided by OvsAgent and DeviceAgent
        def setup(self) -> None: ...
        def notify(self, kind: str, **payload: Any) -> None: ...
        def _emit(self, event: str, payload: dict[str, Any]) -> None: ...
        def _sync_dataplane(self) -> None: ...

    # the canary ------------------------------------------------------------------------------

    def _canary_loop(self) -> None:
        """Check the canary table every ``polling_interval`` on its own thread.

        The check runs ovs-ofctl (milliseconds); on the worker's thread it would delay any
        VIF or l2pop news that came in meanwhile. The verdict is queued like other news.
        """
        while not self._stop.wait(self.config.polling_interval):
            self.notify("ovs_status", status=check_canary_of(self.bridges))

    def _idle_events(self) -> list[tuple[str, dict[str, Any]]]:
        # simulated agents check in the worker when idle: hundreds of canary threads
        # would cost more than the in-memory checks
        if not self._inline_canary or self._clock() < self._next_canary:
            return []
        self._next_canary = self._clock() + self.config.polling_interval
        return [("ovs_status", {"status": check_canary_of(self.bridges)})]

    def check_ovs(self) -> OvsStatus:
        """The canary check, done now; on RESTARTED rebuild bridges and resync."""
        if self.bridges is None:
            return self._ovs_status
        return self._on_ovs_status(check_canary(self.bridges.int_br))

    def _on_ovs_status(self, status: OvsStatus) -> OvsStatus:
        """Act on a canary verdict (no agent restart needed)."""
        if status == OvsStatus.RESTARTED and not self._first_sync:
            LOG.warning("%s: OVS is restarted. Resetting bridges and recovering ports",
                        self.host)
            self._recover_ovs()
        elif status == OvsStatus.DEAD and self._ovs_status != OvsStatus.DEAD:
            LOG.error("%s: OVS is dead; not reporting state until it is back", self.host)
        elif status != OvsStatus.DEAD and self._ovs_status == OvsStatus.DEAD:
            self._recover_ovs()
        self._ovs_status = status
        return status

    def _ready(self) -> bool:
        return self._ovs_status != OvsStatus.DEAD

    def _can_report(self) -> bool:
        return self._ovs_status != OvsStatus.DEAD

    def _recover_ovs(self) -> None:
        try:
            self.setup()
            if self.bridges is not None and self.bridges.tun_br is not None:
                self.tunnels.add_missing(self.bridges.tun_br, set(self.tunnels.ports),
                                         refresh=True)
        except BridgeError as exc:
            LOG.warning("%s: bridge set-up after OVS restart failed: %s", self.host, exc)
        if self.bridges is not None:
            for bridge in self.bridges.all().values():
                bridge.forget_flows()  # the restart took every flow with it
        self._last_state = None
        self._refresh_flows = True
        self._tags.clear()
        self._resync = True
        self._emit("ovs_restarted", {})

    # taking over from a previous run --------------------------------------------------------

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
        LOG.info("%s: initial sync done; %d stale flows removed", self.host, removed)
        self._sync_dataplane()
