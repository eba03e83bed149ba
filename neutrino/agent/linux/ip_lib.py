"""Namespaces, links, addresses, routes and sysctls through pyroute2 (no ``ip`` shell-outs).

Every function is idempotent (create-if-missing, delete-if-present) and names its namespace
explicitly (``None`` is the agent's own). :func:`namespace` opens one netlink socket in a
namespace for a group of operations, since opening one costs tens of milliseconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

NETNS_DIR = Path("/run/netns")
_ENOENT = (2, 19)  # ENOENT, ENODEV: the object is already gone


class IpError(RuntimeError):
    """A netlink operation failed."""


# namespaces ----------------------------------------------------------------------------------

def list_namespaces() -> list[str]:
    """Every named namespace of the machine (the bind mounts under /run/netns)."""
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def namespace_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


# pyroute2 creates namespaces, and sockets inside them, in forked children: a fork in a
# process with many threads (an agent's RPC, heartbeat and sync threads) can hang in the
# child on a lock another thread held. Network namespaces are per thread, so a thread can
# enter one itself (setns), or make one (unshare) and bind it, with no fork at all.
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def _entered(name: str) -> Iterator[None]:
    """Run the block with the calling thread inside namespace ``name``, then come back."""
    target = os.open(NETNS_DIR / name, os.O_RDONLY)
    try:
        original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(original)
        finally:
            os.close(original)
    finally:
        os.close(target)


def _create_namespace(name: str) -> None:
    """``ip netns add``, done by a short-lived thread: unshare, then bind it by name."""
    errors: list[BaseException] = []

    def make() -> None:
        try:
            if _libc.unshare(_CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"unshare: {os.strerror(err)}")
            # the thread's own namespace file, bound at /run/netns/<name>; the thread
            # then ends, and the bind mount keeps the namespace alive
            netns.attach(name, f"{os.getpid()}/task/{threading.get_native_id()}")
        except BaseException as exc:  # reported to the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=make, name=f"netns-add-{name}")
    thread.start()
    thread.join()
    if errors:
        raise IpError(f"creating namespace {name}: {errors[0]}")


def ensure_namespace(name: str) -> None:
    """Create namespace ``name`` with loopback up, unless it exists."""
    if not namespace_exists(name):
        _create_namespace(name)
    with namespace(name) as ip:
        ip.link("set", index=1, state="up")


def delete_namespace(name: str) -> None:
    """Delete namespace ``name`` if present (its links go with it)."""
    if namespace_exists(name):
        netns.remove(name)


@contextlib.contextmanager
def namespace(name: str | None) -> Iterator[IPRoute]:
    """A netlink socket inside ``name`` (the current namespace when None)."""
    if not name:
        ip = IPRoute()
        try:
            yield ip
        finally:
            ip.close()
        return
    # pyroute2 opens its socket lazily, per thread: the block runs in this thread, inside
    # the namespace, so every socket it opens belongs there.
    with _entered(name):
        ip = IPRoute()
        try:
            yield ip
        finally:
            ip.close()


# links ---------------------------------------------------------------------------------------

def link_index(ip: IPRoute, ifname: str) -> int | None:
    found = ip.link_lookup(ifname=ifname)
    return found[0] if found else None


def link_exists(ifname: str, ns: str | None = None) -> bool:
    with namespace(ns) as ip:
        return link_index(ip, ifname) is not None


def move_link(ifname: str, target_ns: str, source_ns: str | None = None) -> bool:
    """Move ``ifname`` from ``source_ns`` into ``target_ns``; False if it is not in the source."""
    with namespace(source_ns) as ip:
        index = link_index(ip, ifname)
        if index is None:
            return False
        ip.link("set", index=index, net_ns_fd=target_ns)
    return True


def set_link(ifname: str, ns: str | None = None, *, mac: str | None = None,
             mtu: int | None = None, up: bool = True) -> None:
    """Set the MAC and MTU of ``ifname`` (when given) and bring it up (or down)."""
    with namespace(ns) as ip:
        index = _require(ip, ifname, ns)
        changes: dict[str, Any] = {}
        if mac:
            changes["address"] = mac
        if mtu:
            changes["mtu"] = mtu
        if changes:
            ip.link("set", index=index, **changes)
        ip.link("set", index=index, state="up" if up else "down")


def delete_link(ifname: str, ns: str | None = None) -> None:
    """Delete ``ifname`` if present."""
    with namespace(ns) as ip:
        index = link_index(ip, ifname)
        if index is not None:
            _ignore_gone(ip.link, "del", index=index)


def add_veth(name: str, peer: str, ns: str | None = None, peer_ns: str | None = None) -> None:
    """A veth pair ``name``/``peer``; ``peer`` moved to ``peer_ns``. Kept if ``name`` exists."""
    with namespace(ns) as ip:
        if link_index(ip, name) is None:
            ip.link("add", ifname=name, kind="veth", peer=peer)
    if peer_ns and peer_ns != ns:
        move_link(peer, peer_ns, ns)


def _require(ip: IPRoute, ifname: str, ns: str | None) -> int:
    index = link_index(ip, ifname)
    if index is None:
        raise IpError(f"no link {ifname} in namespace {ns or '(root)'}")
    return index


def _ignore_gone(fn: Any, *args: Any, **kwargs: Any) -> None:
    try:
        fn(*args, **kwargs)
    except NetlinkError as exc:
        if exc.code not in _ENOENT:
            raise


# addresses -----------------------------------------------------------------------------------

def get_addresses(ifname: str, ns: str | None = None) -> set[str]:
    """The addresses of ``ifname`` as ``ip/prefixlen`` (link-local IPv6 left out)."""
    with namespace(ns) as ip:
        return _addresses(ip, _require(ip, ifname, ns))


def _addresses(ip: IPRoute, index: int) -> set[str]:
    found = set()
    for msg in ip.get_addr(index=index):
        address = msg.get_attr("IFA_ADDRESS")
        parsed = ipaddress.ip_address(address)
        # only IPv6's fe80:: are the kernel's; IPv4 169.254.169.254 (metadata) is ours
        if not (parsed.version == 6 and parsed.is_link_local):
            found.add(f"{address}/{msg['prefixlen']}")
    return found


def sync_addresses(ifname: str, cidrs: Iterable[str], ns: str | None = None) -> bool:
    """Make ``cidrs`` (``ip/prefixlen``) the addresses of ``ifname``; True if any changed."""
    wanted = {str(ipaddress.ip_interface(c)) for c in cidrs}
    with namespace(ns) as ip:
        index = _require(ip, ifname, ns)
        current = _addresses(ip, index)
        for cidr in sorted(current - wanted):
            address, prefixlen = cidr.split("/")
            _ignore_gone(ip.addr, "del", index=index, address=address,
                         prefixlen=int(prefixlen))
        for cidr in sorted(wanted - current):
            address, prefixlen = cidr.split("/")
            ip.addr("add", index=index, address=address, prefixlen=int(prefixlen))
    return current != wanted


# routes --------------------------------------------------------------------------------------

def get_default_gateway(ns: str | None = None, version: int = 4) -> str | None:
    """The gateway of the default route, or None."""
    family = 2 if version == 4 else 10
    with namespace(ns) as ip:
        for route in ip.get_routes(family=family, table=254):
            if route["dst_len"] == 0 and route.get_attr("RTA_GATEWAY"):
                return str(route.get_attr("RTA_GATEWAY"))
    return None


def set_default_gateway(gateway: str | None, ifname: str, ns: str | None = None,
                        version: int = 4) -> None:
    """Point the default route at ``gateway`` through ``ifname`` (remove it for None)."""
    current = get_default_gateway(ns, version)
    if current == gateway:
        return
    family = 2 if version == 4 else 10
    any_dst = "0.0.0.0/0" if version == 4 else "::/0"
    with namespace(ns) as ip:
        if current is not None:
            _ignore_gone(ip.route, "del", dst=any_dst, family=family)
        if gateway is not None:
            ip.route("replace", dst=any_dst, gateway=gateway,
                     oif=_require(ip, ifname, ns), family=family)


# sysctls -------------------------------------------------------------------------------------

def set_sysctl(key: str, value: str | int, ns: str | None = None) -> None:
    """Write ``net.…`` sysctl ``key`` inside ``ns``.

    /proc/sys/net shows the namespace of the thread that opens it, so the write happens on a
    short-lived thread that first enters ``ns`` (setns changes only the calling thread).
    """
    path = Path("/proc/sys") / key.replace(".", "/")
    errors: list[BaseException] = []

    def write() -> None:
        try:
            if ns:
                netns.setns(ns)
            path.write_text(f"{value}\n")
        except BaseException as exc:  # reported to the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=write, name=f"sysctl-{ns}")
    thread.start()
    thread.join()
    if errors:
        raise IpError(f"sysctl {key}={value} in {ns or '(root)'}: {errors[0]}")
