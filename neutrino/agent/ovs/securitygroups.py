"""Security groups, agent side: keeps ``firewall`` (a ``FirewallState``) in step with the server.

With the firewall on, ports bound in a round have their security-group info fetched in
that same round, one ``security_group_info_for_devices`` call per batch of bound ports,
before the data plane step: a port is never wired without its firewall. The server's
casts (``security_groups_rule_updated`` / ``_member_updated`` / ``_provider_updated``)
only mark the local ports they affect; the "firewall" phase refetches them, one call per
``processing_step`` ports, and merges the replies (``firewall.merge_info``). Unbound ports
are forgotten (``firewall.forget_ports``, which also drops groups nobody uses) and a full
resync rebuilds the state from fresh replies. With the firewall off (``noop`` driver or
``enable_security_group = False``) ``firewall`` stays None, nothing is fetched and
br-int's TRANSIENT table stays NORMAL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from neutrino.agent.ovs.binding import BoundPort, chunks
from neutrino.agent.ovs.config import AgentConfig
from neutrino.agent.ovs.firewall import FirewallState, forget_ports, merge_info
from neutrino.agent.ovs.server_api import PluginApi

LOG = logging.getLogger(__name__)

_NO_INFO: dict[str, Any] = {"devices": {}, "security_groups": {}, "sg_member_ips": {}}


def ports_in_groups(state: FirewallState, groups: Iterable[str]) -> set[str]:
    """The ports of ``state`` that belong to any of ``groups``."""
    wanted = set(groups)
    return {port for port, own in state.port_groups.items() if wanted.intersection(own)}


def groups_referring_to(state: FirewallState, remote_groups: Iterable[str]) -> set[str]:
    """The groups with a rule whose ``remote_group_id`` is one of ``remote_groups``."""
    wanted = set(remote_groups)
    return {sg_id for sg_id, group in state.groups.items()
            if any(rule.remote_group_id in wanted for rule in group.rules)}


class SecurityGroupHandling:
    """OvsAgent's part that keeps the security-group model of its ports."""

    host: str
    config: AgentConfig
    plugin_rpc: PluginApi
    bound: dict[str, BoundPort]
    firewall: FirewallState | None
    _sg_stale: set[str]  # bound ports to refetch in the "firewall" phase
    _sg_fetched: set[str]  # ports fetched this round (not fetched twice)
    _sg_rebuild: FirewallState | None  # during a full resync: the state being rebuilt

    def _reset_security_groups(self) -> None:
        self.firewall = self._empty_firewall() if self.config.firewall_enabled else None
        self._sg_stale = set()
        self._sg_fetched = set()
        self._sg_rebuild = None

    def _empty_firewall(self) -> FirewallState:
        return FirewallState(permitted_ethertypes=self.config.permitted_ethertypes)

    def _rebuild_security_groups(self) -> None:
        """At a full resync: start from nothing; every bound port is fetched again."""
        if self.firewall is not None:
            self._sg_rebuild = self._empty_firewall()
            self._sg_stale.update(self.bound)
            self._sg_fetched.clear()  # what a failed round fetched is fetched again

    # hooks of the binding part ---------------------------------------------------------------

    def _ports_bound(self, port_ids: list[str]) -> None:
        """Fetch the security groups of ports just bound (one call for the batch)."""
        if self.firewall is not None and port_ids:
            self._fetch_security_groups(port_ids)

    def _ports_unbound(self, port_ids: list[str]) -> None:
        if self.firewall is None:
            return
        self._sg_stale.difference_update(port_ids)
        if any(p in self.firewall.port_groups for p in port_ids):
            self.firewall = forget_ports(self.firewall, port_ids)
        if self._sg_rebuild is not None:
            self._sg_rebuild = forget_ports(self._sg_rebuild, port_ids)

    # the server's casts ----------------------------------------------------------------------

    def _on_security_groups_rule_updated(self, security_groups: list[str] | None = None
                                         ) -> None:
        if self.firewall is not None:
            self._mark_stale(ports_in_groups(self.firewall, security_groups or ()))

    def _on_security_groups_member_updated(self, security_groups: list[str] | None = None
                                           ) -> None:
        if self.firewall is not None:
            referring = groups_referring_to(self.firewall, security_groups or ())
            self._mark_stale(ports_in_groups(self.firewall, referring))

    def _on_security_groups_provider_updated(self, devices_to_update: list[str] | None = None
                                             ) -> None:
        if self.firewall is not None:
            self._mark_stale(self.bound if devices_to_update is None else devices_to_update)

    def _mark_stale(self, port_ids: Iterable[str]) -> None:
        self._sg_stale.update(p for p in port_ids if p in self.bound)

    # the "firewall" phase ----------------------------------------------------------------------

    def _refresh_security_groups(self) -> None:
        """Refetch the ports the casts (or a resync) marked; finish a rebuild."""
        if self.firewall is None:
            return
        wanted = sorted(p for p in self._sg_stale
                        if p in self.bound and p not in self._sg_fetched)
        for chunk in chunks(wanted, self.config.processing_step):
            self._fetch_security_groups(chunk)
        if self._sg_rebuild is not None:
            self.firewall, self._sg_rebuild = self._sg_rebuild, None
        self._sg_stale.clear()
        self._sg_fetched.clear()

    def _fetch_security_groups(self, port_ids: list[str]) -> None:
        info = self.plugin_rpc.security_group_info_for_devices(devices=port_ids) or _NO_INFO
        assert self.firewall is not None
        if self._sg_rebuild is not None:
            self._sg_rebuild = merge_info(self._sg_rebuild, info)
        else:
            self.firewall = merge_info(self.firewall, info)
        self._sg_fetched.update(port_ids)
        LOG.debug("%s: security groups of %d ports fetched", self.host, len(port_ids))
