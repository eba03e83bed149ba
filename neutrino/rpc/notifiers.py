"""Server → agent notifications: casts on Neutron's ``q-agent-notifier-*`` topics.

Where the receiving hosts are known the cast goes directly to ``<topic>.<host>``
(one message per host that needs it); only notices that concern every agent
(``tunnel_update``, ``tunnel_delete``, ``network_delete``) are fanout. Casts are
fire-and-forget: a failure is logged and counted, never raised to the API caller
(the agent's resync repairs what a lost notice left behind).

``L2popNotifier.batch()`` merges, per host, consecutive messages of the same
kind produced inside the block (one ``update_device_list`` of 20 ports on one
network becomes one message per peer host, not 20).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

import oslo_messaging

from neutrino.rpc import topics

LOG = logging.getLogger(__name__)

Fdb = dict[str, Any]

# Retries of the connection to the broker for one cast: bounded, so that an API
# request never hangs on a broker outage (agents resync after one).
CAST_RETRY = 3


class Caster:
    """Casts on one transport, with per-topic clients and a count of what was sent."""

    def __init__(self, transport: oslo_messaging.Transport) -> None:
        self.transport = transport
        self._clients: dict[str, oslo_messaging.RPCClient] = {}
        self._lock = threading.Lock()
        self.sent: collections.Counter[tuple[str, str]] = collections.Counter()
        self.failed = 0

    def _client(self, topic: str) -> oslo_messaging.RPCClient:
        with self._lock:
            if topic not in self._clients:
                target = oslo_messaging.Target(topic=topic,
                                               version=topics.AGENT_NOTIFIER_VERSION)
                self._clients[topic] = oslo_messaging.get_rpc_client(self.transport, target)
            return self._clients[topic]

    def cast(self, topic: str, method: str, host: str | None = None, **kwargs: Any) -> None:
        """Cast ``method`` to ``host`` on ``topic``, or to every agent when host is None."""
        client = self._client(topic)
        prepared = client.prepare(server=host, retry=CAST_RETRY) if host \
            else client.prepare(fanout=True, retry=CAST_RETRY)
        try:
            prepared.cast({}, method, **kwargs)
        except Exception:
            self.failed += 1
            LOG.exception("cast of %s on %s to %s failed", method, topic, host or "all")
            return
        self.sent[(topic, method)] += 1


class AgentNotifier:
    """port_update / port_delete / network_delete / tunnel_update / tunnel_delete."""

    def __init__(self, caster: Caster) -> None:
        self.caster = caster

    def port_update(self, port: dict[str, Any], segment: dict[str, Any] | None,
                    hosts: list[str]) -> None:
        """Tell the agents on ``hosts`` (the port's binding hosts) that it changed."""
        segment = segment or {}
        for host in sorted(set(h for h in hosts if h)):
            self.caster.cast(topics.PORT_UPDATE, "port_update", host=host, port=port,
                             network_type=segment.get("network_type"),
                             segmentation_id=segment.get("segmentation_id"),
                             physical_network=segment.get("physical_network"))

    def port_delete(self, port_id: str, hosts: list[str]) -> None:
        for host in sorted(set(h for h in hosts if h)):
            self.caster.cast(topics.PORT_DELETE, "port_delete", host=host, port_id=port_id)

    def network_delete(self, network_id: str, hosts: list[str] | None = None) -> None:
        """To ``hosts`` when known, else fanout (a deleted network has no ports left)."""
        if hosts is None:
            self.caster.cast(topics.NETWORK_DELETE, "network_delete", network_id=network_id)
            return
        for host in sorted(set(h for h in hosts if h)):
            self.caster.cast(topics.NETWORK_DELETE, "network_delete", host=host,
                             network_id=network_id)

    def tunnel_update(self, tunnel_ip: str, tunnel_type: str) -> None:
        self.caster.cast(topics.TUNNEL_UPDATE, "tunnel_update", tunnel_ip=tunnel_ip,
                         tunnel_type=tunnel_type)

    def tunnel_delete(self, tunnel_ip: str, tunnel_type: str) -> None:
        self.caster.cast(topics.TUNNEL_DELETE, "tunnel_delete", tunnel_ip=tunnel_ip,
                         tunnel_type=tunnel_type)


# --- l2pop ----------------------------------------------------------------------------

def _merge_entries(into: list[list[str]], more: list[list[str]]) -> None:
    for entry in more:
        if list(entry) not in into:
            into.append(list(entry))


def merge_fdb(into: Fdb, more: Fdb) -> None:
    """Merge one fdb message body into another of the same kind, in place."""
    if "chg_ip" in more:
        for net_id, by_ip in more["chg_ip"].items():
            target = into.setdefault("chg_ip", {}).setdefault(net_id, {})
            for ip, change in by_ip.items():
                slot = target.setdefault(ip, {})
                for key in ("before", "after"):
                    if key in change:
                        _merge_entries(slot.setdefault(key, []), change[key])
        return
    for net_id, body in more.items():
        target = into.setdefault(net_id, {"segment_id": body["segment_id"],
                                          "network_type": body["network_type"], "ports": {}})
        for ip, entries in body["ports"].items():
            _merge_entries(target["ports"].setdefault(ip, []), entries)


class L2popNotifier:
    """``add_fdb_entries`` / ``remove_fdb_entries`` / ``update_fdb_entries``, per host."""

    def __init__(self, caster: Caster) -> None:
        self.caster = caster
        self._local = threading.local()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Hold this thread's messages until the block ends, merged per host and kind."""
        if getattr(self._local, "pending", None) is not None:
            yield  # nested: the outer batch sends
            return
        self._local.pending = []
        try:
            yield
        finally:
            pending, self._local.pending = self._local.pending, None
            for host, method, fdb in pending:
                self._send(host, method, fdb)

    def _queue(self, host: str, method: str, fdb: Fdb) -> None:
        pending = getattr(self._local, "pending", None)
        if pending is None:
            self._send(host, method, fdb)
            return
        # Merge only into this host's latest message, so per-host order is kept.
        for index in range(len(pending) - 1, -1, -1):
            if pending[index][0] == host:
                if pending[index][1] == method:
                    merge_fdb(pending[index][2], fdb)
                    return
                break
        merged: Fdb = {}
        merge_fdb(merged, fdb)
        pending.append((host, method, merged))

    def _send(self, host: str, method: str, fdb: Fdb) -> None:
        self.caster.cast(topics.L2POPULATION_UPDATE, method, host=host, fdb_entries=fdb)

    def add_fdb_entries(self, fdb: Fdb, host: str) -> None:
        self._queue(host, "add_fdb_entries", fdb)

    def remove_fdb_entries(self, fdb: Fdb, host: str) -> None:
        self._queue(host, "remove_fdb_entries", fdb)

    def update_fdb_entries(self, fdb: Fdb, host: str) -> None:
        self._queue(host, "update_fdb_entries", fdb)
