"""The netlink reads and diffs a router needs beyond ``agent.linux.ip_lib``.

Links with their MAC/MTU/state, address and route synchronisation that report what they
changed (the agent announces new addresses and flushes conntrack of removed ones), and
sysctl reads. All through pyroute2 on one socket inside the namespace
(``ip_lib.namespace``), each idempotent: applying the same wish twice changes nothing.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from neutrino.agent.linux import ip_lib

LOG = logging.getLogger(__name__)

IFF_UP = 0x1
NUD_INCOMPLETE = 0x01
NUD_FAILED = 0x20
MAIN_TABLE = 254
RTPROT_KERNEL = 2


@dataclass(frozen=True)
class Link:
    index: int
    mac: str
    mtu: int
    up: bool


def enterable(ns: str) -> bool:
    """Namespace ``ns`` exists and can be entered.

    Its name under /run/netns may outlive it as a plain file: a namespace made by a
    process in another mount namespace (an agent started by ``ip netns exec``) is
    mounted there only.
    """
    if not ip_lib.namespace_exists(ns):
        return False
    try:
        with ip_lib._entered(ns):
            return True
    except OSError:
        return False


def links(ns: str) -> dict[str, Link]:
    """Every link of namespace ``ns`` by name."""
    with ip_lib.namespace(ns) as ip:
        return {msg.get_attr("IFLA_IFNAME"): Link(
            index=msg["index"], mac=str(msg.get_attr("IFLA_ADDRESS") or "").lower(),
            mtu=int(msg.get_attr("IFLA_MTU") or 0), up=bool(msg["flags"] & IFF_UP))
            for msg in ip.get_links()}


def sync_addresses(ifname: str, cidrs: Iterable[str], ns: str
                   ) -> tuple[set[str], set[str]]:
    """Make ``cidrs`` the addresses of ``ifname``; (added, removed), both ``ip/prefixlen``.

    Only the difference is touched: an address that stays is never removed and re-added,
    so connections through it are not disturbed.
    """
    wanted = {str(ipaddress.ip_interface(c)) for c in cidrs}
    with ip_lib.namespace(ns) as ip:
        index = ip_lib.link_index(ip, ifname)
        if index is None:
            raise ip_lib.IpError(f"no link {ifname} in namespace {ns}")
        current = ip_lib._addresses(ip, index)
        for cidr in sorted(current - wanted):
            address, prefixlen = cidr.split("/")
            ip_lib._ignore_gone(ip.addr, "del", index=index, address=address,
                                prefixlen=int(prefixlen))
        for cidr in sorted(wanted - current):
            address, prefixlen = cidr.split("/")
            ip.addr("add", index=index, address=address, prefixlen=int(prefixlen))
    return wanted - current, current - wanted


def flush_unresolved_neighbours(ifname: str, ns: str) -> list[str]:
    """Delete the INCOMPLETE and FAILED IPv4/IPv6 neighbour entries of ``ifname``; their
    addresses.

    The next packet to such a neighbour then starts a new resolution at once instead of
    waiting for the kernel's next retransmission (or for the entry to expire).
    """
    flushed = []
    with ip_lib.namespace(ns) as ip:
        index = ip_lib.link_index(ip, ifname)
        if index is None:
            return []
        for entry in ip.get_neighbours(ifindex=index):
            if not entry["state"] & (NUD_INCOMPLETE | NUD_FAILED):
                continue
            dst = entry.get_attr("NDA_DST")
            ip_lib._ignore_gone(ip.neigh, "del", dst=dst, ifindex=index,
                                family=entry["family"])
            flushed.append(str(dst))
    return sorted(flushed)


def neigh_retrans_key(ifname: str) -> str:
    """The sysctl of ``ifname``'s IPv4 ARP retransmission interval (milliseconds)."""
    return f"net.ipv4.neigh.{ifname}.retrans_time_ms"


def _gateway_routes(ip: IPRoute) -> set[tuple[str, str]]:
    found = set()
    for family in (2, 10):
        for route in ip.get_routes(family=family, table=MAIN_TABLE):
            gateway = route.get_attr("RTA_GATEWAY")
            if route["dst_len"] == 0 or not gateway or route["proto"] == RTPROT_KERNEL:
                continue
            found.add((f"{route.get_attr('RTA_DST')}/{route['dst_len']}", str(gateway)))
    return found


def sync_routes(routes: Iterable[tuple[str, str]], ns: str) -> tuple[set[tuple[str, str]],
                                                                      set[tuple[str, str]]]:
    """Make ``routes`` ((destination cidr, nexthop)) the namespace's routes through a
    nexthop (default routes aside); (added, removed).

    A route whose nexthop is not on any connected subnet is refused by the kernel; it is
    logged and left out (as Neutron does), never failing the whole router.
    """
    wanted = {(str(ipaddress.ip_network(d, strict=False)), str(ipaddress.ip_address(n)))
              for d, n in routes}
    added: set[tuple[str, str]] = set()
    with ip_lib.namespace(ns) as ip:
        current = _gateway_routes(ip)
        for destination, nexthop in sorted(current - wanted):
            ip_lib._ignore_gone(ip.route, "del", dst=destination, gateway=nexthop,
                                family=_family(destination))
        for destination, nexthop in sorted(wanted - current):
            try:
                ip.route("replace", dst=destination, gateway=nexthop,
                         family=_family(destination))
            except NetlinkError as exc:
                LOG.warning("%s: route %s via %s refused: %s", ns, destination, nexthop, exc)
                continue
            added.add((destination, nexthop))
    return added, current - wanted


def _family(cidr: str) -> int:
    return 10 if ":" in cidr else 2


def read_sysctl(key: str, ns: str) -> str | None:
    """The value of ``net.…`` sysctl ``key`` inside ``ns`` (None if it does not exist).

    As ``ip_lib.set_sysctl``: /proc/sys/net shows the namespace of the thread that opens
    it, so a short-lived thread enters ``ns`` first.
    """
    path = Path("/proc/sys") / key.replace(".", "/")
    result: list[str | None] = [None]
    errors: list[BaseException] = []

    def read() -> None:
        try:
            netns.setns(ns)
            result[0] = path.read_text().strip()
        except FileNotFoundError:
            result[0] = None
        except BaseException as exc:  # reported to the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=read, name=f"sysctl-read-{ns}")
    thread.start()
    thread.join()
    if errors:
        raise ip_lib.IpError(f"reading sysctl {key} in {ns}: {errors[0]}")
    return result[0]


def ensure_sysctl(key: str, value: str, ns: str) -> bool:
    """Set ``key`` to ``value`` in ``ns`` unless it holds it; True if written."""
    if read_sysctl(key, ns) == value:
        return False
    ip_lib.set_sysctl(key, value, ns)
    return True
