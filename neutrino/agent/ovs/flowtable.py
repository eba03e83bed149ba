"""The OpenFlow flow as a hashable value: ovs-ofctl rendering, dump parsing and table diffs.

A :class:`Flow` renders to exactly what ``ovs-ofctl -O OpenFlow13 dump-flows --no-stats``
prints for it (see the golden files under ``tests/unit/agent/golden``), so the flows read
back from a switch compare equal to the flows computed for it. Pure code: no I/O.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from neutrino.agent.ovs.pipeline import Pipeline, PipelineError

# The order in which ovs-ofctl prints match fields (protocol shorthand first); matches are
# kept in this order so rendering equals the switch's own dump.
PROTOCOLS = ("ip", "ipv6", "icmp", "icmp6", "tcp", "tcp6", "udp", "udp6", "sctp", "sctp6",
             "arp", "rarp")
# Conjunction and conntrack fields are printed before the protocol shorthand.
PRE_PROTOCOL = ("conj_id", "ct_state", "ct_zone", "ct_mark")
MATCH_ORDER = (
    *(f"reg{i}" for i in range(16)),
    "tun_id", "metadata", "in_port", "vlan_tci", "dl_vlan", "dl_vlan_pcp", "dl_src", "dl_dst",
    "dl_type", "arp_spa", "arp_tpa", "arp_op", "arp_sha", "arp_tha", "nw_src", "nw_dst",
    "ipv6_src", "ipv6_dst", "nw_proto", "nw_tos", "tp_src", "tp_dst", "icmp_type", "icmp_code",
    "nd_target", "nd_sll", "nd_tll",
)
_RANK = {name: i for i, name in enumerate(MATCH_ORDER)}
# Flow fields that dump-flows prints besides the match (with or without --no-stats).
_FLOW_ATTRS = frozenset({
    "duration", "n_packets", "n_bytes", "idle_age", "hard_age", "idle_timeout",
    "hard_timeout", "importance", "send_flow_rem", "reset_counts", "no_packet_counts",
    "no_byte_counts", "check_overlap", "out_port", "out_group",
})

OFPVID_PRESENT = 0x1000


class FlowParseError(ValueError):
    """A dump-flows line could not be read."""


@functools.lru_cache(maxsize=1 << 16)
def _match_rank(field: str) -> tuple[int, int, str]:
    name = field.split("=", 1)[0]
    if name in PRE_PROTOCOL:
        return (0, PRE_PROTOCOL.index(name), field)
    if "=" not in field and name in PROTOCOLS:
        return (1, PROTOCOLS.index(name), field)
    return (2, _RANK.get(name, len(MATCH_ORDER)), field)


def canonical_match(fields: Iterable[str]) -> tuple[str, ...]:
    """Put match fields in ovs-ofctl's printing order (duplicates removed)."""
    return _canonical(fields if isinstance(fields, tuple) else tuple(fields))


# An agent recomputes every flow on each change and most matches recur unchanged
# (thousands of firewall member flows): ordering each one anew dominated the compute.
@functools.lru_cache(maxsize=1 << 17)
def _canonical(fields: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(fields), key=_match_rank))


@dataclass(frozen=True, order=True)
class Flow:
    """One OpenFlow flow entry. Identity on a switch is :attr:`key`; the rest is its content.

    ``match`` holds ``"field=value"`` items and protocol shorthands (``"arp"``) in canonical
    order; ``actions`` holds the comma-separated actions in execution order.
    """

    table_id: int
    priority: int
    match: tuple[str, ...]
    actions: tuple[str, ...]
    cookie: int = 0
    table: str = ""

    @property
    def key(self) -> tuple[int, int, tuple[str, ...]]:
        """(table, priority, match): what the switch treats as the same flow."""
        return (self.table_id, self.priority, self.match)

    def to_dump(self) -> str:
        """The line ``ovs-ofctl dump-flows --no-stats`` prints for this flow (no indent)."""
        head = []
        if self.cookie:
            head.append(f"cookie={self.cookie:#x}")
        if self.table_id:
            head.append(f"table={self.table_id}")
        head.append(",".join((f"priority={self.priority}", *self.match)))
        return f"{', '.join(head)} actions={','.join(self.actions) or 'drop'}"

    def to_ofctl(self) -> str:
        """This flow in ``ovs-ofctl add-flow`` syntax."""
        fields = (f"table={self.table_id}", f"priority={self.priority}",
                  f"cookie={self.cookie:#x}", *self.match)
        return f"{','.join(fields)},actions={','.join(self.actions) or 'drop'}"

    def to_ofctl_strict_match(self) -> str:
        """Table, priority, cookie (exact) and match, for ``delete_strict``."""
        fields = (f"table={self.table_id}", f"priority={self.priority}",
                  f"cookie={self.cookie:#x}/-1", *self.match)
        return ",".join(fields)


def make_flow(pipeline: Pipeline, table_name: str, band: str, match: Iterable[str],
              actions: Iterable[str], cookie: int, goto: str | None = None) -> Flow:
    """Build a flow in ``table_name`` at priority ``band``, ending with ``goto`` when given.

    :raises PipelineError: unknown table or band, or ``goto`` is not an allowed next table.
    """
    table = pipeline.table(table_name)
    tail: tuple[str, ...] = ()
    if goto is not None:
        table.check_next(goto)
        tail = (f"goto_table:{pipeline.table(goto).number}",)
    return Flow(table_id=table.number, priority=table.priority(band),
                match=canonical_match(match), actions=(*actions, *tail) or ("drop",),
                cookie=cookie, table=table.name)


def split_actions(text: str) -> tuple[str, ...]:
    """Split an action list at top-level commas (``learn(...)``/``resubmit(,N)`` stay whole)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current.append(char)
    parts.append("".join(current))
    return tuple(p for p in parts if p)


def _table_name(pipeline: Pipeline | None, number: int) -> str:
    if pipeline is None:
        return ""
    try:
        return pipeline.by_number(number).name
    except PipelineError:
        return f"TABLE_{number}"


def parse_dump_line(line: str, pipeline: Pipeline | None = None) -> Flow:
    """Read one line of ``ovs-ofctl dump-flows`` (stats or not) back into a :class:`Flow`."""
    head, sep, actions = line.strip().partition(" actions=")
    if not sep:
        raise FlowParseError(f"no actions in {line!r}")
    cookie, table_id, priority, match = 0, 0, 32768, []
    for item in head.replace(", ", ",").split(","):
        name, _, value = item.partition("=")
        if name == "cookie":
            cookie = int(value, 16)
        elif name == "table":
            table_id = int(value)
        elif name == "priority":
            priority = int(value)
        elif name not in _FLOW_ATTRS and item:
            match.append(item)
    return Flow(table_id=table_id, priority=priority, match=canonical_match(match),
                actions=split_actions(actions), cookie=cookie,
                table=_table_name(pipeline, table_id))


def parse_dump(text: str, pipeline: Pipeline | None = None) -> frozenset[Flow]:
    """Read a whole ``dump-flows`` output (reply headers and blank lines are skipped)."""
    return frozenset(parse_dump_line(line, pipeline) for line in text.splitlines()
                     if " actions=" in line)


def render_dump(flows: Iterable[Flow]) -> str:
    """Flows as dump lines, in a deterministic order (table, priority desc, match)."""
    ordered = sorted(flows, key=lambda f: (f.table_id, -f.priority, f.match, f.actions))
    return "".join(f"{flow.to_dump()}\n" for flow in ordered)


@dataclass(frozen=True)
class FlowDiff:
    """What turns one flow table into another: ``add`` (new or changed), then ``delete``."""

    add: tuple[Flow, ...] = ()
    delete: tuple[Flow, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.add and not self.delete

    def bundle(self) -> str:
        """An ``ovs-ofctl --bundle add-flows`` script: additions first, then deletions."""
        lines = [f"add {flow.to_ofctl()}" for flow in self.add]
        lines += [f"delete_strict {flow.to_ofctl_strict_match()}" for flow in self.delete]
        return "".join(f"{line}\n" for line in lines)


def diff_flows(desired: Iterable[Flow], actual: Iterable[Flow]) -> FlowDiff:
    """The changes that make ``actual`` equal ``desired``.

    An ``add`` of a flow whose key already exists replaces it in place, so a changed flow is
    never deleted and re-added (no window where its traffic is dropped).
    """
    want = {flow.key: flow for flow in desired}
    have = {flow.key: flow for flow in actual}
    add = sorted(f for k, f in want.items() if have.get(k) != f)
    delete = sorted(f for k, f in have.items() if k not in want)
    return FlowDiff(add=tuple(add), delete=tuple(delete))


def apply_diff(actual: Iterable[Flow], diff: FlowDiff) -> frozenset[Flow]:
    """The table after ``diff``, as a switch would hold it (pure; for in-memory bridges)."""
    table = {flow.key: flow for flow in actual}
    for flow in diff.add:
        table[flow.key] = flow
    for flow in diff.delete:
        table.pop(flow.key, None)
    return frozenset(table.values())


def dedupe(flows: Iterable[Flow]) -> Iterator[Flow]:
    """One flow per key: the smallest by value, so conflicting inputs resolve the same way."""
    best: dict[tuple[int, int, tuple[str, ...]], Flow] = {}
    for flow in flows:
        if flow.key not in best or flow < best[flow.key]:
            best[flow.key] = flow
    return iter(best.values())


# Value formatting shared by flows.py -----------------------------------------------------

def mac(value: str) -> str:
    """A MAC as ovs-ofctl prints it (lower case)."""
    return value.lower()


def ip(value: str) -> str:
    """An address or CIDR as ovs-ofctl prints it: host bits cleared, /32 and /128 dropped."""
    network = ipaddress.ip_network(value, strict=False)
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def vlan_vid(vid: int) -> str:
    """``set_field`` of a VLAN id with the OFPVID_PRESENT bit, as OpenFlow 1.3 prints it."""
    return f"set_field:{vid | OFPVID_PRESENT}->vlan_vid"


def tun_id(segmentation_id: int) -> str:
    return f"tun_id={segmentation_id:#x}"


def set_tun_id(segmentation_id: int) -> str:
    return f"set_field:{segmentation_id:#x}->tun_id"
