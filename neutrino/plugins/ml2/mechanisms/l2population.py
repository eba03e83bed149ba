"""The l2population mechanism driver: FDB entries only to the agents that need them.

Neutron's driver fans every incremental entry out to every agent. Here the
server knows which hosts have ACTIVE ports on the network, so:

* port ACTIVE on host H, H's first on the network (or the agent asked with
  ``refresh_tunnels``): the full FDB of the network (every peer's flooding entry
  and ports) is cast directly to H;
* the new port's entries (plus H's ``FLOODING_ENTRY`` when it is H's first port)
  are cast directly to each peer host — and to no one else;
* port DOWN or deleted: ``remove_fdb_entries`` to the peers (with the flooding
  entry when it was H's last port there); a fixed-IP change on an ACTIVE port:
  ``update_fdb_entries`` with ``chg_ip``.

Only tunnel segments are populated, and only towards agents whose
``tunnel_types`` (or ``l2pop_network_types``) include the segment's type. The
planning functions are pure (``plan_*``); the driver gathers the facts from the
database and hands the plan to the notifier. Status changes come from the RPC
callbacks (``port_up``/``port_down``); API changes from the postcommit hooks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from neutrino.common import constants as const
from neutrino.db import l2pop as l2pop_db
from neutrino.db import resources
from neutrino.db.base import utcnow
from neutrino.plugins.ml2 import driver_api as api

LOG = logging.getLogger(__name__)

Entry = list[str]
Message = tuple[str, str, dict[str, Any]]  # (host, method, fdb_entries)
FLOODING_ENTRY: Entry = list(const.FLOODING_ENTRY)


def port_entries(mac: str, ips: Iterable[str]) -> list[Entry]:
    """``[[mac, ip], …]`` for a port's fixed IPs (Neutron's PortInfo lists)."""
    return [[mac, ip] for ip in ips]


def _fdb(network_id: str, segment: dict[str, Any],
         ports: dict[str, list[Entry]]) -> dict[str, Any]:
    return {network_id: {"segment_id": segment["segmentation_id"],
                         "network_type": segment["network_type"], "ports": ports}}


def _peer_entries(peers: list[l2pop_db.ActivePort]) -> dict[str, list[Entry]]:
    by_host: dict[str, list[Entry]] = {}
    for port in peers:
        by_host.setdefault(port.host, []).extend(
            port_entries(port.mac_address, port.ip_addresses))
    return by_host


def plan_port_up(network_id: str, segment: dict[str, Any], host: str, entries: list[Entry],
                 others: list[l2pop_db.ActivePort], agents: dict[str, l2pop_db.L2Agent],
                 first: bool, refresh: bool) -> list[Message]:
    """Messages for a port of ``host`` going ACTIVE; ``others`` are peers' active ports."""
    network_type = segment["network_type"]
    own = agents.get(host)
    if own is None or not own.serves(network_type):
        return []
    peers = {h: e for h, e in _peer_entries(others).items()
             if h != host and h in agents and agents[h].serves(network_type)
             and agents[h].tunneling_ip != own.tunneling_ip}
    messages: list[Message] = []
    if (first or refresh) and peers:
        full = {agents[h].tunneling_ip or "": [FLOODING_ENTRY, *e] for h, e in peers.items()}
        messages.append((host, "add_fdb_entries", _fdb(network_id, segment, full)))
    new = ([FLOODING_ENTRY] if first else []) + entries
    if new:
        fdb = _fdb(network_id, segment, {own.tunneling_ip or "": new})
        messages.extend((h, "add_fdb_entries", fdb) for h in sorted(peers))
    return messages


def plan_port_down(network_id: str, segment: dict[str, Any], host: str,
                   entries: list[Entry], others: list[l2pop_db.ActivePort],
                   agents: dict[str, l2pop_db.L2Agent]) -> list[Message]:
    """Messages for a port of ``host`` that stopped being ACTIVE (down, deleted, moved)."""
    network_type = segment["network_type"]
    own = agents.get(host)
    if own is None or not own.serves(network_type):
        return []
    last = not any(p.host == host for p in others)
    gone = entries + ([FLOODING_ENTRY] if last else [])
    peers = sorted({p.host for p in others if p.host != host and p.host in agents
                    and agents[p.host].serves(network_type)
                    and agents[p.host].tunneling_ip != own.tunneling_ip})
    if not gone:
        return []
    fdb = _fdb(network_id, segment, {own.tunneling_ip or "": gone})
    return [(h, "remove_fdb_entries", fdb) for h in peers]


def plan_ip_change(network_id: str, segment: dict[str, Any], host: str, mac: str,
                   before: list[str], after: list[str], others: list[l2pop_db.ActivePort],
                   agents: dict[str, l2pop_db.L2Agent]) -> list[Message]:
    """``update_fdb_entries`` (``chg_ip``) for an ACTIVE port whose fixed IPs changed."""
    own = agents.get(host)
    if own is None or not own.serves(segment["network_type"]):
        return []
    removed = sorted(set(before) - set(after))
    added = sorted(set(after) - set(before))
    if not removed and not added:
        return []
    change: dict[str, list[Entry]] = {}
    if removed:
        change["before"] = port_entries(mac, removed)
    if added:
        change["after"] = port_entries(mac, added)
    fdb = {"chg_ip": {network_id: {own.tunneling_ip or "": change}}}
    peers = sorted({p.host for p in others if p.host != host and p.host in agents
                    and agents[p.host].serves(segment["network_type"])})
    return [(h, "update_fdb_entries", fdb) for h in peers]


def _ips(port: dict[str, Any]) -> list[str]:
    return [f["ip_address"] for f in port.get("fixed_ips", [])]


class L2populationMechanismDriver(api.MechanismDriver):
    """Sends FDB entries over a notifier given by ``attach`` (no-op until attached)."""

    def __init__(self, conf: Any) -> None:
        super().__init__(conf)
        self.db: Any = None
        self.notifier: Any = None
        self.plugin: Any = None

    def attach(self, plugin: Any, notifier: Any) -> None:
        """Give the driver the core plugin (for its database) and an L2popNotifier."""
        self.plugin = plugin
        self.db = plugin.db
        self.notifier = notifier

    # --- facts ---------------------------------------------------------------------------

    def _facts(self, port: dict[str, Any], hosts: Iterable[str] = (),
               segment: dict[str, Any] | None = None
               ) -> tuple[dict[str, Any] | None, list[l2pop_db.ActivePort],
                          dict[str, l2pop_db.L2Agent]]:
        """The port's segment (``segment`` if the caller knows it), its active peers
        on the network and the l2 agents of ``hosts`` and of those peers."""
        net_id = port["network_id"]
        with self.db.reader() as session:
            if segment is None:
                segment = l2pop_db.bound_segments(session, [port["id"]]).get(port["id"])
            if segment is None:
                segments = resources.load_segments(session, [net_id]).get(net_id, [])
                segment = segments[0] if len(segments) == 1 else None
            others = [p for p in l2pop_db.active_ports(session, net_id)
                      if p.port_id != port["id"]]
            agents = l2pop_db.l2_agents(session, {*hosts, *(p.host for p in others)},
                                        utcnow(), self.conf.agent_down_time)
        return segment, others, agents

    def _send(self, messages: list[Message]) -> None:
        for host, method, fdb in messages:
            getattr(self.notifier, method)(fdb, host)

    def _ready(self, port: dict[str, Any]) -> bool:
        return self.notifier is not None and bool(port.get("network_id"))

    # --- called by the RPC callbacks -----------------------------------------------------

    def port_up(self, port: dict[str, Any], host: str, refresh_tunnels: bool = False) -> None:
        """``port`` (on ``host``) is now ACTIVE, or its agent asked for a full refresh."""
        if not self._ready(port):
            return
        segment, others, agents = self._facts(port, [host])
        if segment is None or segment["network_type"] not in const.TUNNEL_NETWORK_TYPES:
            return
        first = not any(p.host == host for p in others)
        self._send(plan_port_up(port["network_id"], segment, host,
                                port_entries(port["mac_address"], _ips(port)),
                                others, agents, first, refresh_tunnels))

    def port_down(self, port: dict[str, Any], host: str,
                  segment: dict[str, Any] | None = None) -> None:
        """``port`` (on ``host``) stopped being ACTIVE: peers forget it.

        ``segment`` is the one it was bound to, when its binding is already gone or
        changed (a delete, a move to another host).
        """
        if not self._ready(port) or not host:
            return
        segment, others, agents = self._facts(port, [host], segment)
        if segment is None or segment["network_type"] not in const.TUNNEL_NETWORK_TYPES:
            return
        self._send(plan_port_down(port["network_id"], segment, host,
                                  port_entries(port["mac_address"], _ips(port)),
                                  others, agents))

    # --- mechanism driver hooks (API changes) --------------------------------------------

    def update_port_postcommit(self, context: api.PortContext) -> None:
        port, original = context.current, context.original
        if original is None or not self._ready(port):
            return
        if original.get("status") != const.PORT_STATUS_ACTIVE:
            return
        if context.original_host and context.original_host != context.host:
            self.port_down(original, context.original_host, context.original_bound_segment)
            if self.plugin is not None:
                # Not up anywhere until the new host's agent reports it: DOWN now lets
                # that report be a real DOWN → ACTIVE transition (and its port_up).
                self.plugin.update_port_status(context.plugin_context, port["id"],
                                               const.PORT_STATUS_DOWN)
            return
        if _ips(original) != _ips(port) and context.host:
            segment, others, agents = self._facts(port, [context.host])
            if segment is None or segment["network_type"] not in const.TUNNEL_NETWORK_TYPES:
                return
            self._send(plan_ip_change(port["network_id"], segment, context.host,
                                      port["mac_address"], _ips(original), _ips(port),
                                      others, agents))

    def delete_port_postcommit(self, context: api.PortContext) -> None:
        port = context.current
        if self._ready(port) and port.get("status") == const.PORT_STATUS_ACTIVE:
            self.port_down(port, context.host, context.original_bound_segment)
