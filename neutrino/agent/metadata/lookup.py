"""Which port asked: (source IP, network or router) → the port, through a TTL cache.

A booting guest's cloud-init sends dozens of requests within a second; the cache (one
entry per (IP, network/router), single-flight so concurrent misses share one call) makes
that one ``get_ports`` on the server per instance. Time is passed in (``clock``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from neutrino.agent.metadata.server_api import MetadataPluginApi

# Ports whose device_id is a router on the networks it routes (Neutron's constants).
ROUTER_INTERFACE_OWNERS = ("network:router_interface",
                           "network:router_interface_distributed",
                           "network:ha_router_replicated_interface")


@dataclass(frozen=True)
class Instance:
    """What Nova needs to know about the asking port."""

    instance_id: str  # the port's device_id
    project_id: str


class TtlCache:
    """Values computed by a loader, kept ``ttl`` seconds; one load per key at a time."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 100_000) -> None:
        self.ttl = ttl
        self._clock = clock
        self._max = max_entries
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        if self.ttl <= 0:
            return loader()
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # a second asker waits for the first one's answer
            found = self._fresh(key)
            if found is not None:
                return found[1]
            value = loader()
            self._store(key, value)
            return value

    def _fresh(self, key: Hashable) -> tuple[float, Any] | None:
        with self._guard:
            entry = self._values.get(key)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry

    def _store(self, key: Hashable, value: Any) -> None:
        now = self._clock()
        with self._guard:
            if len(self._values) >= self._max:  # bounded: drop what has expired
                for stale in [k for k, (t, _v) in self._values.items() if t <= now]:
                    self._values.pop(stale, None)
                    self._locks.pop(stale, None)
            self._values[key] = (now + self.ttl, value)


def port_filters(ip_address: str, networks: list[str]) -> dict[str, Any]:
    """Neutron's ``get_ports`` filters for the port holding ``ip_address`` on ``networks``."""
    return {"network_id": list(networks), "fixed_ips": {"ip_address": [ip_address]}}


def router_filters(router_id: str) -> dict[str, Any]:
    """The interfaces of ``router_id`` (their networks are where its guests live)."""
    return {"device_id": [router_id], "device_owner": list(ROUTER_INTERFACE_OWNERS)}


class PortLookup:
    """Finds the instance behind a request, asking the server at most once per TTL."""

    def __init__(self, plugin_rpc: MetadataPluginApi, cache: TtlCache) -> None:
        self.plugin_rpc = plugin_rpc
        self.cache = cache

    def instance(self, ip_address: str, network_id: str | None = None,
                 router_id: str | None = None) -> Instance | None:
        """The instance of the one port with ``ip_address`` on the network/router's networks."""
        if network_id:
            networks = [network_id]
        elif router_id:
            networks = self.cache.get(("router", router_id),
                                      lambda: self._router_networks(router_id))
        else:
            raise ValueError("either network_id or router_id is needed")
        if not networks:
            return None
        key = ("port", ip_address, tuple(networks))
        found: Instance | None = self.cache.get(key, lambda: self._instance(ip_address,
                                                                            networks))
        return found

    def _router_networks(self, router_id: str) -> list[str]:
        ports = self.plugin_rpc.get_ports(router_filters(router_id))
        return sorted({p["network_id"] for p in ports})

    def _instance(self, ip_address: str, networks: list[str]) -> Instance | None:
        ports = self.plugin_rpc.get_ports(port_filters(ip_address, networks))
        if len(ports) != 1:  # none, or ambiguous: Nova must not get a guess
            return None
        return _instance_of(ports[0])


def _instance_of(port: dict[str, Any]) -> Instance:
    project = port.get("project_id") or port.get("tenant_id") or ""
    return Instance(instance_id=port.get("device_id") or "", project_id=project)
