"""The L3 agent's device adapter: makes a ``RouterState`` true on the host, or undoes it.

Every step compares with what the host holds and changes only the difference, so an
agent restart (no memory of a previous state) cuts no traffic: an existing namespace and
device are kept (same ifindex), addresses and routes are diffed, never flushed, the
iptables tables are rewritten only when the installed rules differ, and a live metadata
proxy is left running. Order matters for a floating IP: rules and address first, then
the gratuitous ARP; on removal the address and rules go, then its conntrack entries are
deleted so established flows cannot keep using the old translation.

Slow helpers run beside the sync: ``arping`` is started in the background (its three
announcements take seconds) and reaped by a daemon thread.

A device plugged anew cannot carry a frame until the host's OVS agent binds its port
(``wiring``): announcing its addresses earlier would be lost, so they are announced when
the port's tag appears, and whatever the router tried to resolve through it meanwhile is
forgotten (INCOMPLETE and FAILED neighbours deleted) so that the next packet asks again
at once. Because the OVS agent sets the tag a moment before its flows for the port are
in place, the device's ARP retransmission interval is also kept short from its plugging
until ``wired_grace`` seconds after it is wired, then given back its own default:
a request lost in that moment is repeated within ``UNWIRED_RETRANS_MS``, not a second;
for the same reason the announcement is repeated a few times within that first second
(``WIRED_BURST_S``).
Without a watcher (no OVSDB connection given) a new device is announced at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from neutrino.agent.l3 import ip
from neutrino.agent.l3.iptables import NamespaceIptables
from neutrino.agent.l3.state import (
    INTERNAL_DEV_PREFIX,
    RouterState,
    is_router_device,
    namespace_name,
    router_id_of,
)
from neutrino.agent.l3.wiring import WiringWatcher
from neutrino.agent.linux import ip_lib
from neutrino.agent.metadata.process import MetadataProxyProcess, proxy_command

LOG = logging.getLogger(__name__)

ARPING = "arping"
CONNTRACK = "conntrack"
# a router forwards; removing a primary address keeps the secondaries of its subnet
ROUTER_SYSCTLS = (("net.ipv4.ip_forward", "1"), ("net.ipv6.conf.all.forwarding", "1"),
                  ("net.ipv4.conf.all.promote_secondaries", "1"))
UNWIRED_RETRANS_MS = 100  # ARP retransmission on a device until it is surely wired
WIRED_GRACE_S = 3.0
# Extra single announcements, seconds after the port is wired: the tag comes before the
# OVS agents' flows for the port (its own, then the l2population ones of the other hosts,
# whose ARP responders answer the router's own requests, so a VM holding the previous
# MAC of the address learns the new one only from an announcement). arping's interval is
# whole seconds; these fill the first one.
WIRED_BURST_S = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.55, 0.75)

Notify = Callable[[str, dict[str, object]], None]


class InterfaceDriver(Protocol):
    def plug_device(self, name: str, port_id: str, mac: str, namespace: str, mtu: int,
                    link: ip.Link | None) -> bool: ...

    def unplug(self, name: str, namespace: str | None) -> None: ...

    def plugged_names(self) -> set[str]: ...


@dataclass
class Outcome:
    """What applying one router changed on the host (empty lists: nothing)."""

    namespace_created: bool = False
    plugged: list[str] = field(default_factory=list)
    unplugged: list[str] = field(default_factory=list)
    addresses_added: list[str] = field(default_factory=list)
    addresses_removed: list[str] = field(default_factory=list)
    routes_changed: bool = False
    tables_written: list[str] = field(default_factory=list)
    proxy_started: bool = False
    announced: list[str] = field(default_factory=list)
    conntrack_flushed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any((self.namespace_created, self.plugged, self.unplugged,
                    self.addresses_added, self.addresses_removed, self.routes_changed,
                    self.tables_written, self.proxy_started))


class RouterDevices:
    """Namespaces, devices, routes, NAT and metadata proxies of the routers in ``state_dir``.

    ``state_dir/<router id>`` exists for every router this agent has set up (it holds the
    metadata proxy's pid file); it tells this agent's namespaces from those of another
    agent sharing ``/run/netns`` (agents in test hosts on one machine).
    """

    def __init__(self, driver: InterfaceDriver, state_dir: Path,
                 metadata_socket: Path | None = None, metadata_port: int = 9697,
                 arp_count: int = 3, wiring: WiringWatcher | None = None,
                 notify: Notify | None = None, wired_grace: float = WIRED_GRACE_S) -> None:
        self.driver = driver
        self.state_dir = state_dir
        self.metadata_socket = metadata_socket
        self.metadata_port = metadata_port
        self.arp_count = arp_count
        self.wiring = wiring
        self.notify = notify  # told ("device_wired", ...) from the watcher's thread
        self.wired_grace = wired_grace

    # apply -----------------------------------------------------------------------------------

    def apply(self, state: RouterState, previous: RouterState | None) -> Outcome:
        """Converge one router; what changed."""
        outcome = Outcome()
        (self.state_dir / state.router_id).mkdir(parents=True, exist_ok=True)
        ns = state.namespace
        if not ip.enterable(ns):
            ip_lib.delete_namespace(ns)  # a name left without its namespace, if any
            ip_lib.ensure_namespace(ns)
            outcome.namespace_created = True
            self._proxy(state.router_id).stop()  # one left serving in the lost namespace
        for key, value in ROUTER_SYSCTLS:
            ip.ensure_sysctl(key, value, ns)
        removed_fips = self._apply_devices(state, outcome)
        self._apply_routes(state, outcome)
        outcome.tables_written = NamespaceIptables(ns).apply(state.tables)
        outcome.proxy_started = self._apply_proxy(state)
        moved = {fip for fip, fixed in (previous.floating_ips if previous else ())
                 if (fip, fixed) not in state.floating_ips}
        flush = sorted(removed_fips | moved)
        for address in flush:
            self._flush_conntrack(ns, address)
        outcome.conntrack_flushed = flush
        added = {a.split("/")[0] for a in outcome.addresses_added}
        announce = sorted(added & state.announced)
        # a gateway device plugged just now is announced once its port is wired
        if state.gateway_device and self.arp_count and not (
                self.wiring and state.gateway_device in outcome.plugged):
            for address in announce:
                self._announce(ns, state.gateway_device, address)
            outcome.announced += announce
        return outcome

    def _new_device(self, ns: str, name: str) -> list[str]:
        """Announce ``name``'s addresses now (no watcher), or once its port is wired."""
        if self.wiring is None:
            if not name.startswith(INTERNAL_DEV_PREFIX) or not self.arp_count:
                return []  # the gateway's addresses went with the gateway device's
            addresses = self._ipv4_addresses(ns, name)
            for address in addresses:
                self._announce(ns, name, address)
            return addresses
        key = ip.neigh_retrans_key(name)
        try:
            default = ip.read_sysctl(key, ns)  # a new device's: the namespace default
            ip_lib.set_sysctl(key, UNWIRED_RETRANS_MS, ns)
        except ip_lib.IpError as exc:  # resolution is then slower, never wrong
            LOG.warning("%s: %s", ns, exc)
            default = None
        self.wiring.watch(name, lambda device, wired: self._wired(ns, device, wired, default))
        return []

    def _wired(self, ns: str, name: str, wired: bool, retrans_ms: str | None) -> None:
        """On the watcher's thread: ``name`` can carry frames (or the wait ended)."""
        if not ip.enterable(ns):
            return
        flushed = ip.flush_unresolved_neighbours(name, ns)
        addresses = self._ipv4_addresses(ns, name) if self.arp_count else []
        for address in addresses:
            self._announce(ns, name, address)
        LOG.debug("%s: %s %s; announced %s, forgot neighbours %s", ns, name,
                  "wired" if wired else "not wired in time", addresses, flushed)
        if self.notify is not None:
            self.notify("device_wired", {"namespace": ns, "device": name, "wired": wired,
                                         "announced": addresses, "flushed": flushed})
        waited = 0.0
        for offset in (o for o in WIRED_BURST_S if addresses and o < self.wired_grace):
            time.sleep(offset - waited)
            waited = offset
            for address in addresses:
                self._announce(ns, name, address, count=1)
        time.sleep(max(0.0, self.wired_grace - waited))
        if retrans_ms is not None and ip.enterable(ns) and name in ip.links(ns):
            ip_lib.set_sysctl(ip.neigh_retrans_key(name), retrans_ms, ns)

    @staticmethod
    def _ipv4_addresses(ns: str, name: str) -> list[str]:
        return sorted(a.split("/")[0] for a in ip_lib.get_addresses(name, ns) if ":" not in a)

    def _apply_devices(self, state: RouterState, outcome: Outcome) -> set[str]:
        """Plug, address and unplug devices; the IPv4 addresses taken off the gateway."""
        ns = state.namespace
        present = ip.links(ns)
        removed_gateway_ips: set[str] = set()
        for device in state.devices:
            if self.driver.plug_device(device.name, device.port_id, device.mac, ns,
                                       device.mtu, present.get(device.name)):
                outcome.plugged.append(device.name)
            added, removed = ip.sync_addresses(device.name, device.addresses, ns)
            outcome.addresses_added += sorted(added)
            outcome.addresses_removed += sorted(removed)
            if device.name in outcome.plugged:  # watched from now: the rest takes a while
                outcome.announced += self._new_device(ns, device.name)
            if device.name == state.gateway_device:
                removed_gateway_ips |= {r.split("/")[0] for r in removed if ":" not in r}
        wanted = {device.name for device in state.devices}
        for name in sorted(n for n in present if is_router_device(n) and n not in wanted):
            if name.startswith("qg-"):
                removed_gateway_ips |= {a.split("/")[0]
                                        for a in ip_lib.get_addresses(name, ns)
                                        if ":" not in a}
            self.driver.unplug(name, ns)
            outcome.unplugged.append(name)
        return removed_gateway_ips

    def _apply_routes(self, state: RouterState, outcome: Outcome) -> None:
        ns = state.namespace
        gateways = dict(state.default_gateways)
        for version in (4, 6):
            before = ip_lib.get_default_gateway(ns, version)
            gateway = gateways.get(version)
            if before != gateway:
                ip_lib.set_default_gateway(gateway, state.gateway_device or "", ns, version)
                outcome.routes_changed = True
        added, removed = ip.sync_routes(state.routes, ns)
        outcome.routes_changed |= bool(added or removed)

    def _apply_proxy(self, state: RouterState) -> bool:
        proxy = self._proxy(state.router_id)
        if not (state.metadata and self.metadata_socket):
            proxy.stop()
            return False
        return proxy.ensure(proxy_command(self.metadata_socket, proxy.pid_file,
                                          router_id=state.router_id, bind_address="0.0.0.0",
                                          port=self.metadata_port))

    # helpers run in the namespace ------------------------------------------------------------

    def _announce(self, ns: str, device: str, address: str, count: int = 0) -> None:
        """Gratuitous ARP for ``address`` in the background (``arping -U``), ``count``
        times (default ``arp_count``) a second apart."""
        argv = ["ip", "netns", "exec", ns, ARPING, "-U", "-I", device, "-c",
                str(count or self.arp_count), address]
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        except OSError as exc:  # arping missing: the address still works, later learnt
            LOG.warning("%s: gratuitous ARP for %s not sent: %s", ns, address, exc)
            return
        threading.Thread(target=proc.wait, name=f"arping-{address}", daemon=True).start()

    @staticmethod
    def _flush_conntrack(ns: str, address: str) -> None:
        """Delete the connections to and from (reply direction) ``address``."""
        for option in ("-d", "-q"):
            proc = subprocess.run(["ip", "netns", "exec", ns, CONNTRACK, "-D", option,
                                   address], capture_output=True, text=True, check=False)
            # conntrack exits 1 when no entry matched: nothing to delete is fine
            if proc.returncode not in (0, 1):
                LOG.warning("%s: conntrack -D %s %s failed: %s", ns, option, address,
                            proc.stderr.strip())

    # liveness and removal --------------------------------------------------------------------

    def alive(self, router_id: str, metadata: bool) -> bool:
        """The namespace exists (and its metadata proxy runs, when it has one)."""
        if not ip.enterable(namespace_name(router_id)):
            return False
        if metadata and self.metadata_socket:
            return self._proxy(router_id).alive()
        return True

    def remove(self, router_id: str) -> None:
        """Stop the proxy, unplug the devices, delete the namespace and the state directory."""
        ns = namespace_name(router_id)
        self._proxy(router_id).stop()
        if ip.enterable(ns):
            for name in sorted(n for n in ip.links(ns) if is_router_device(n)):
                self.driver.unplug(name, ns)
        ip_lib.delete_namespace(ns)
        shutil.rmtree(self.state_dir / router_id, ignore_errors=True)

    def known_routers(self) -> set[str]:
        """Routers set up on this host, by this run or an earlier one.

        Those with a state directory, and every ``qrouter-`` namespace holding a device
        that is a port of this agent's bridge (a namespace left without its directory).
        A namespace whose devices belong to another OVS is another agent's: ``/run/netns``
        is shared by every agent of a machine running test hosts in namespaces.
        """
        mine: set[str] = set()
        with contextlib.suppress(FileNotFoundError):
            mine = {name for name in os.listdir(self.state_dir)
                    if (self.state_dir / name).is_dir()}
        plugged = self.driver.plugged_names()
        for namespace in ip_lib.list_namespaces():
            router_id = router_id_of(namespace)
            if router_id is None or router_id in mine:
                continue
            with contextlib.suppress(OSError, ip_lib.IpError):
                if plugged & set(ip.links(namespace)):
                    mine.add(router_id)
        return mine

    def _proxy(self, router_id: str) -> MetadataProxyProcess:
        return MetadataProxyProcess(namespace_name(router_id),
                                    self.state_dir / router_id / "metadata_proxy.pid")
