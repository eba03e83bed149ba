"""The L3 agent: routers in, one ``qrouter-<id>`` namespace with devices, routes and NAT out.

:class:`L3Agent` is the device-agent skeleton (``agent.common.device_agent``: ordered event
queue, one worker thread, heartbeat, resync on start, after RPC errors and on 'revived')
plus the L3 agent's own steps. Each round: a full sync lists the routers scheduled here
(``get_router_ids``) and fetches them (``sync_routers``) when asked; routers the server
announced changed are fetched again, all of them in one ``sync_routers`` call however
many casts named them (updates coalesce per router); then each changed router's desired
state (``state.desired``) is applied by the device adapter (``devices``), a few routers
in parallel, and the floating IPs whose status changed are reported with
``update_floatingip_statuses``.

On start nothing is known, so every router is applied against what the host holds: what
is already right is left alone (see ``devices``); namespaces of routers no longer hosted
here are removed with their devices. A router that fails is retried
``periodic_interval`` later (only it) and its floating IPs are reported ERROR; a
metadata proxy found dead is started again.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from neutrino.agent.common.device_agent import DeviceAgent, Event, Phase, StateReporter
from neutrino.agent.l3.config import L3AgentConfig
from neutrino.agent.l3.devices import Outcome
from neutrino.agent.l3.model import Router, router_from_dict
from neutrino.agent.l3.server_api import AGENT_BINARY_L3, L3_AGENT_TOPIC, L3PluginApi
from neutrino.agent.l3.state import FIP_ERROR, RouterState, desired, fip_statuses
from neutrino.common.constants import AGENT_TYPE_L3

LOG = logging.getLogger(__name__)

Applied = tuple[Router, RouterState]
Result = tuple[str, Applied | None, Exception | None]


class Devices(Protocol):
    """What the agent needs of its device adapter (``devices.RouterDevices``)."""

    def apply(self, state: RouterState, previous: RouterState | None) -> Outcome: ...

    def alive(self, router_id: str, metadata: bool) -> bool: ...

    def remove(self, router_id: str) -> None: ...

    def known_routers(self) -> set[str]: ...


class L3Agent(DeviceAgent):
    """One host's L3 agent (legacy routers) over a server API and a device adapter."""

    agent_name = "l3-agent"

    def __init__(self, config: L3AgentConfig, plugin_rpc: L3PluginApi, devices: Devices,
                 state_rpc: StateReporter | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(config.host, state_rpc, report_interval=config.report_interval,
                         idle_interval=config.check_interval,
                         retry_interval=min(config.periodic_interval, 5.0), clock=clock)
        self.config = config
        self.plugin_rpc = plugin_rpc
        self.devices = devices
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max(1, config.sync_workers), thread_name_prefix=f"l3-sync-{config.host}")
        self.routers: dict[str, Router] = {}  # hosted here, as the server last said
        self.applied: dict[str, Applied] = {}  # what the host holds, per router
        self._dirty: set[str] = set()  # to fetch from the server
        self._changed: set[str] = set()  # to apply on the host
        self._stale: set[str] = set()  # set up here earlier, maybe no longer hosted
        self._fip_reports: dict[str, dict[str, str]] = {}  # router -> {fip: status}
        self._failed: dict[str, float] = {}  # router -> when to retry it

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._pool.shutdown(wait=timeout > 0)

    # one round -------------------------------------------------------------------------------

    def _phases(self) -> Sequence[Phase]:
        return (("sync", self._sync_all), ("fetch", self._fetch), ("apply", self._apply),
                ("statuses", self._report_statuses))

    def _has_work(self) -> bool:
        return bool(self._dirty or self._changed or self._fip_reports)

    def _hosted(self, router: Router) -> bool:
        """Neutron's agent drops admin-down routers, and gateway-less ones when told to."""
        return router.admin_state_up and (router.gw_port is not None
                                          or self.config.handle_internal_only_routers)

    def _sync_all(self) -> None:
        """Every router scheduled here; those set up here before and no longer hosted go."""
        if not self._resync:
            return
        ids = list(self.plugin_rpc.get_router_ids())
        found, malformed = self._parse(self.plugin_rpc.sync_routers(router_ids=ids)
                                       if ids else [])
        # a router the agent cannot read stays as it is on the host until it can
        self.routers = {i: r for i, r in found.items() if self._hosted(r)} | {
            i: self.routers[i] for i in malformed if i in self.routers}
        self._stale = self.devices.known_routers() - malformed
        self._changed |= (set(self.routers) | set(self.applied) | self._stale) - malformed
        self._dirty.clear()  # everything announced so far was just fetched
        self._resync = False

    def _fetch(self) -> None:
        ids = sorted(self._dirty)
        if not ids:
            return
        found, malformed = self._parse(self.plugin_rpc.sync_routers(router_ids=ids))
        for router_id in ids:
            if router_id in malformed:
                continue
            router = found.get(router_id)
            if router is not None and self._hosted(router):
                self.routers[router_id] = router
            else:
                self.routers.pop(router_id, None)
        self._dirty.difference_update(ids)
        self._changed.update(set(ids) - malformed)

    def _parse(self, bodies: Iterable[dict[str, Any]]) -> tuple[dict[str, Router], set[str]]:
        """The routers of a ``sync_routers`` answer, and the ids of those that could not be
        read (logged, retried ``periodic_interval`` later)."""
        found: dict[str, Router] = {}
        malformed: set[str] = set()
        for body in bodies:
            try:
                router = router_from_dict(body)
            except (KeyError, TypeError, ValueError) as exc:
                router_id = str(body.get("id")) if isinstance(body, dict) else "?"
                LOG.error("%s: router %s cannot be read (%r); retried later", self.host,
                          router_id, exc)
                malformed.add(router_id)
                self._failed[router_id] = self._clock() + self.config.periodic_interval
                continue
            found[router.id] = router
        return found, malformed

    def _apply(self) -> None:
        ids = sorted(self._changed)
        if not ids:
            return
        self._changed.clear()
        for router_id, applied, error in self._pool.map(self._apply_one, ids):
            if error is not None:
                self._router_failed(router_id, error)
                continue
            self._record(router_id, applied)

    def _router_failed(self, router_id: str, error: Exception) -> None:
        LOG.warning("%s: router %s failed (%s); retried in %.0fs", self.host, router_id,
                    error, self.config.periodic_interval)
        self._failed[router_id] = self._clock() + self.config.periodic_interval
        self.applied.pop(router_id, None)  # what the host holds is unknown now
        self._stale.add(router_id)  # half set up: removed if it goes before a retry
        router = self.routers.get(router_id)
        if router is not None:
            errors = {f.id: FIP_ERROR for f in router.floating_ips if f.status != FIP_ERROR}
            if errors:
                self._fip_reports.setdefault(router_id, {}).update(errors)

    def _record(self, router_id: str, applied: Applied | None) -> None:
        self.applied.pop(router_id, None)
        self._stale.discard(router_id)
        if applied is None:
            self._fip_reports.pop(router_id, None)
            return
        self.applied[router_id] = applied
        router = applied[0]
        server_says = {f.id: f.status for f in router.floating_ips}
        changed = {fip: status for fip, status in fip_statuses(router).items()
                   if status != server_says.get(fip)}
        if changed:
            self._fip_reports.setdefault(router_id, {}).update(changed)

    def _report_statuses(self) -> None:
        for router_id in sorted(self._fip_reports):
            statuses = self._fip_reports[router_id]
            self.plugin_rpc.update_floatingip_statuses(router_id, dict(statuses))
            del self._fip_reports[router_id]
            self._emit("fip_statuses", {"router_id": router_id, "statuses": statuses})

    # one router (on the sync threads; only reads the agent's state) --------------------------

    def _apply_one(self, router_id: str) -> Result:
        router = self.routers.get(router_id)
        try:
            if router is None:
                if router_id in self.applied or router_id in self._stale:
                    self.devices.remove(router_id)
                    self._emit("router_removed", {"router_id": router_id})
                return router_id, None, None
            state = desired(router, self.config.settings)
            previous = self.applied.get(router_id)
            if previous is not None and previous[1] == state \
                    and self.devices.alive(router_id, state.metadata):
                return router_id, (router, state), None
            outcome = self.devices.apply(state, previous[1] if previous else None)
            self._emit("router_applied", {"router_id": router_id, "outcome": outcome})
            return router_id, (router, state), None
        except Exception as exc:  # RPC or device error: this router only
            return router_id, None, exc

    # events (worker thread) ------------------------------------------------------------------

    def _on_routers_changed(self, router_ids: Iterable[str]) -> None:
        self._dirty.update(router_ids)

    def _on_router_gone(self, router_id: str) -> None:
        self.routers.pop(router_id, None)
        self._dirty.discard(router_id)
        self._failed.pop(router_id, None)
        self._changed.add(router_id)

    def _on_retry_routers(self, router_ids: Iterable[str]) -> None:
        self._dirty.update(router_ids)

    def _on_proxy_died(self, router_id: str) -> None:
        LOG.warning("%s: metadata proxy of router %s died; restarting it", self.host,
                    router_id)
        self.applied.pop(router_id, None)
        self._changed.add(router_id)

    def _idle_events(self) -> list[Event]:
        """Routers due for a retry, and routers whose namespace or proxy is gone."""
        now = self._clock()
        due = [r for r, when in self._failed.items() if when <= now]
        for router_id in due:
            del self._failed[router_id]
        events: list[Event] = [("retry_routers", {"router_ids": due})] if due else []
        events += [("proxy_died", {"router_id": r}) for r, (_, state) in self.applied.items()
                   if not self.devices.alive(r, state.metadata)]
        return events

    # heartbeat -------------------------------------------------------------------------------

    def state_report(self) -> dict[str, Any]:
        routers = [router for router, _ in self.applied.values()]
        report: dict[str, Any] = {
            "binary": AGENT_BINARY_L3, "host": self.host, "topic": L3_AGENT_TOPIC,
            "agent_type": AGENT_TYPE_L3, "start_flag": self._start_flag,
            "availability_zone": self.config.availability_zone,
            "configurations": {
                "agent_mode": self.config.agent_mode,
                "interface_driver": self.config.interface_driver,
                "routers": len(routers),
                "ex_gw_ports": sum(1 for r in routers if r.gw_port is not None),
                "interfaces": sum(len(r.interfaces) for r in routers),
                "floating_ips": sum(len(state.floating_ips)
                                    for _, state in self.applied.values()),
                "handle_internal_only_routers": self.config.handle_internal_only_routers,
                "router_auto_schedule": True,
                "log_agent_heartbeats": self.config.log_agent_heartbeats,
            },
        }
        if not self._start_flag:
            report.pop("start_flag")
        return report
