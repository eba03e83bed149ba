"""Security groups as a pure compiler: :class:`FirewallState` + local ports -> br-int flows.

Follows Neutron's native OVS firewall (neutron-facts-services §1): TRANSIENT_TABLE classifies
a VM's traffic (reg5 = its ofport, reg6 = its local VLAN, which is also the conntrack zone),
BASE_EGRESS/BASE_INGRESS let the infrastructure protocols through and send IP to conntrack,
RULES_EGRESS/RULES_INGRESS hold one accept per rule (remote groups through conjunctive
matches), ACCEPT_OR_INGRESS commits new egress connections or hands traffic to a local
port's ingress. Nothing here touches OVS (faucet ``valve_acl.py`` style).

Choices where Neutron leaves room:
- a port is stateful if any of its groups is stateful (a stateless group's rules then
  accept through conntrack like the others); a port whose groups are not known yet is a
  stateful port without rules: only ARP, ND and DHCP pass.
- a removed rule cuts its connections: an established packet no rule accepts gets
  ``ct_mark=1`` committed and is dropped, and marked connections are dropped both ways.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from neutrino.agent.ovs import pipeline as p
from neutrino.agent.ovs.flowtable import Flow, ip, mac, make_flow

if TYPE_CHECKING:
    from neutrino.agent.ovs.state import LocalPort

INGRESS = "ingress"
EGRESS = "egress"
IPV4 = "IPv4"
IPV6 = "IPv6"
ETHERTYPES = (IPV4, IPV6)

# IP protocol numbers of the names the API accepts (neutron-lib's IP_PROTOCOL_MAP).
PROTOCOL_NUMBERS = MappingProxyType({
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1,
    "icmpv6": 58, "igmp": 2, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44,
    "ipv6-icmp": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89,
    "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
})
TCP, UDP, ICMP, ICMPV6, SCTP = 6, 17, 1, 58, 132
PORTED = frozenset({TCP, UDP, SCTP})
# ovs-ofctl's shorthand per (ethertype, protocol); other protocols are ``ip,nw_proto=N``.
SHORTHAND = MappingProxyType({
    (IPV4, TCP): "tcp", (IPV6, TCP): "tcp6", (IPV4, UDP): "udp", (IPV6, UDP): "udp6",
    (IPV4, SCTP): "sctp", (IPV6, SCTP): "sctp6", (IPV4, ICMP): "icmp", (IPV6, ICMPV6): "icmp6",
})
ETH = MappingProxyType({IPV4: "ip", IPV6: "ipv6"})

# ct_state as ovs-ofctl prints it (flags in bit order: new est rel rpl inv trk).
CT_NEW = "ct_state=+new-est"
CT_EST = "ct_state=+est-rel-rpl"
CT_REPLY = "ct_state=+est-rel+rpl"
CT_RELATED = "ct_state=-new-est+rel-inv"
CT_INVALID = "ct_state=+inv+trk"
CT_TRACKED = "ct_state=+trk"
CT_EST_ANY = "ct_state=+est+trk"
CT_MARK_OK = "ct_mark=0"
CT_MARK_CUT = "ct_mark=0x1"
ZONE = "zone=NXM_NX_REG6[0..15]"
COMMIT = f"ct(commit,{ZONE})"
CUT = f"ct(commit,{ZONE},exec(set_field:{CT_MARK_CUT[8:]}->ct_mark))"
OUTPUT_REG5 = "output:NXM_NX_REG5[]"

DHCP_CLIENT = (("udp", "tp_src=68", "tp_dst=67"), ("udp6", "tp_src=546", "tp_dst=547"))
DHCP_SERVER = (("udp", "tp_src=67", "tp_dst=68"), ("udp6", "tp_src=547", "tp_dst=546"))
# MLD (130-132, 143), router solicitation (133), neighbour solicitation/advertisement.
ND_EGRESS = (130, 131, 132, 133, 135, 136, 143)
ND_INGRESS = (130, 131, 132, 134, 135, 136, 143)  # router advertisements only inbound
ROUTER_ADVERTISEMENT = 134

# Conjunction variants: which ct_state a rule's second dimension matches.
NEW, EST, STATELESS = "new", "est", "stateless"
VARIANT_CT = MappingProxyType({NEW: (CT_NEW,), EST: (CT_EST,), STATELESS: ()})
CONJ_ID_SPACE = 1 << 32


# Model --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SecurityGroupRule:
    """One rule; ``protocol`` is an IP protocol number (None = any)."""

    direction: str
    ethertype: str
    protocol: int | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None


@dataclass(frozen=True)
class SecurityGroup:
    """A security group as the agent needs it: statefulness and rules."""

    id: str
    stateful: bool = True
    rules: tuple[SecurityGroupRule, ...] = ()


Members = Mapping[str, frozenset[str]]
"""ethertype ("IPv4"/"IPv6") -> member addresses (normalised, CIDRs allowed)."""


@dataclass(frozen=True)
class FirewallState:
    """Everything the firewall flows depend on besides the local ports themselves."""

    port_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    groups: Mapping[str, SecurityGroup] = field(default_factory=dict)
    members: Mapping[str, Members] = field(default_factory=dict)
    # ``[securitygroup] permitted_ethertypes``: non-IP ethertypes every filtered port
    # may send and receive (0x4008 for InfiniBand …), as Neutron's OVS firewall.
    permitted_ethertypes: tuple[int, ...] = ()


def normalise_protocol(protocol: str | int | None, ethertype: str) -> int | None:
    """The IP protocol number of an API ``protocol`` (name or number); None for any.

    ``icmp`` (or 1) on an IPv6 rule means ICMPv6, as in Neutron.
    """
    if protocol is None or str(protocol).lower() in ("", "any"):
        return None
    name = str(protocol).lower()
    number = int(name) if name.isdigit() else PROTOCOL_NUMBERS[name]
    if ethertype == IPV6 and number == ICMP:
        return ICMPV6
    return number


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def rule_from_dict(raw: Mapping[str, Any]) -> SecurityGroupRule:
    """A rule from its RPC form (the API's fields; protocol as a name or number string)."""
    ethertype = raw.get("ethertype") or IPV4
    prefix = raw.get("remote_ip_prefix")
    return SecurityGroupRule(
        direction=raw["direction"], ethertype=ethertype,
        protocol=normalise_protocol(raw.get("protocol"), ethertype),
        port_range_min=_int_or_none(raw.get("port_range_min")),
        port_range_max=_int_or_none(raw.get("port_range_max")),
        remote_ip_prefix=ip(prefix) if prefix else None,
        remote_group_id=raw.get("remote_group_id"))


def _rule_order(rule: SecurityGroupRule) -> tuple[str, ...]:
    """Rules sort by their fields; None before any value (a group's rules are a set)."""
    return tuple("" if v is None else f"{v:>5}" if isinstance(v, int) else f"{v}"
                 for v in dataclasses.astuple(rule))


def _group(sg_id: str, raw: Mapping[str, Any]) -> SecurityGroup:
    rules = sorted({rule_from_dict(rule) for rule in raw.get("rules", ())}, key=_rule_order)
    return SecurityGroup(sg_id, bool(raw.get("stateful", True)), tuple(rules))


def _members(raw: Mapping[str, Iterable[str]]) -> Members:
    return MappingProxyType({ethertype: frozenset(ip(a) for a in raw.get(ethertype, ()))
                             for ethertype in ETHERTYPES})


def firewall_state(info: Mapping[str, Any]) -> FirewallState:
    """The state described by one ``security_group_info_for_devices`` reply."""
    return merge_info(FirewallState(), info)


def merge_info(state: FirewallState, info: Mapping[str, Any]) -> FirewallState:
    """``state`` updated by a newer reply: what the reply names replaces what ``state`` had.

    Groups and member lists no port needs any more are dropped.
    """
    port_groups = {**state.port_groups, **{
        port_id: tuple(sorted(device.get("security_groups", ())))
        for port_id, device in info.get("devices", {}).items()}}
    groups = {**state.groups, **{sg_id: _group(sg_id, raw)
                                 for sg_id, raw in info.get("security_groups", {}).items()}}
    members = {**state.members, **{sg_id: _members(raw)
                                   for sg_id, raw in info.get("sg_member_ips", {}).items()}}
    return _prune(port_groups, groups, members, state.permitted_ethertypes)


def forget_ports(state: FirewallState, port_ids: Iterable[str]) -> FirewallState:
    """``state`` without ``port_ids``, and without the groups/members only they used."""
    gone = set(port_ids)
    kept = {port: sgs for port, sgs in state.port_groups.items() if port not in gone}
    return _prune(kept, state.groups, state.members, state.permitted_ethertypes)


def _prune(port_groups: Mapping[str, tuple[str, ...]], groups: Mapping[str, SecurityGroup],
           members: Mapping[str, Members], ethertypes: tuple[int, ...]) -> FirewallState:
    used = {sg for sgs in port_groups.values() for sg in sgs}
    kept_groups = {sg: group for sg, group in groups.items() if sg in used}
    remotes = {rule.remote_group_id for group in kept_groups.values() for rule in group.rules}
    return FirewallState(
        port_groups=MappingProxyType(dict(sorted(port_groups.items()))),
        groups=MappingProxyType(dict(sorted(kept_groups.items()))),
        members=MappingProxyType({sg: m for sg, m in sorted(members.items()) if sg in remotes}),
        permitted_ethertypes=ethertypes)


# Rule -> match pieces --------------------------------------------------------------------

def port_range_masks(low: int, high: int) -> tuple[tuple[int, int], ...]:
    """The fewest (value, mask) pairs whose union is exactly ``low..high`` (16-bit ports)."""
    if not 0 <= low <= high <= 0xFFFF:
        raise ValueError(f"bad port range {low}-{high}")
    pairs = []
    while low <= high:
        size = low & -low if low else 1 << 16
        while size > high - low + 1:
            size >>= 1
        pairs.append((low, 0xFFFF & ~(size - 1)))
        low += size
    return tuple(pairs)


def _tp_dst(value: int, mask: int) -> tuple[str, ...]:
    if mask == 0:
        return ()
    if mask == 0xFFFF:
        return (f"tp_dst={value}",)
    return (f"tp_dst={value:#x}/{mask:#x}",)


def protocol_match(ethertype: str, protocol: int | None) -> tuple[str, ...]:
    """The ethertype/protocol part of a match, in ovs-ofctl's shorthand where it has one."""
    if protocol is None:
        return (ETH[ethertype],)
    short = SHORTHAND.get((ethertype, protocol))
    return (short,) if short else (ETH[ethertype], f"nw_proto={protocol}")


def _layer4(rule: SecurityGroupRule) -> tuple[tuple[str, ...], ...]:
    """Alternatives for the port (TCP/UDP/SCTP) or type/code (ICMP) part of ``rule``."""
    low, high = rule.port_range_min, rule.port_range_max
    if rule.protocol in PORTED and low is not None:
        return tuple(_tp_dst(v, m) for v, m in port_range_masks(low, high or low))
    if rule.protocol in (ICMP, ICMPV6) and low is not None:
        code = () if high is None else (f"icmp_code={high}",)
        return ((f"icmp_type={low}", *code),)
    return ((),)


def _remote_prefix(rule: SecurityGroupRule) -> tuple[str, ...]:
    if rule.remote_ip_prefix is None:
        return ()
    if ipaddress.ip_network(rule.remote_ip_prefix).prefixlen == 0:
        return ()
    side = "src" if rule.direction == INGRESS else "dst"
    field_name = f"nw_{side}" if rule.ethertype == IPV4 else f"ipv6_{side}"
    return (f"{field_name}={rule.remote_ip_prefix}",)


def rule_matches(rule: SecurityGroupRule) -> tuple[tuple[str, ...], ...]:
    """Every match one rule needs (several for a port range), without port or ct_state."""
    head = (*protocol_match(rule.ethertype, rule.protocol), *_remote_prefix(rule))
    return tuple((*head, *tail) for tail in _layer4(rule))


def member_match(direction: str, ethertype: str, address: str) -> tuple[str, ...]:
    """Match of a remote-group member: the peer is the source inbound, the destination out."""
    side = "src" if direction == INGRESS else "dst"
    field_name = f"nw_{side}" if ethertype == IPV4 else f"ipv6_{side}"
    return (ETH[ethertype], f"{field_name}={address}")


# Conjunction ids ----------------------------------------------------------------------------

ConjKey = tuple[str, str, str, str, str]
"""(port's group, remote group, direction, ethertype, variant)."""


def _conj_hash(key: ConjKey) -> int:
    digest = hashlib.sha256("\0".join(key).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def conj_ids(keys: Iterable[ConjKey]) -> Mapping[ConjKey, int]:
    """A stable conj_id per key: its hash, probing upwards on a collision (sorted order).

    A key keeps its id while it exists, whatever else is added or removed, unless it
    collided; so a resync, or a change elsewhere, rewrites no conjunction flow.
    """
    ids: dict[ConjKey, int] = {}
    used: set[int] = set()
    for key in sorted(set(keys)):
        conj_id = _conj_hash(key)
        while conj_id in used:
            conj_id = (conj_id + 1) % CONJ_ID_SPACE
        used.add(conj_id)
        ids[key] = conj_id
    return MappingProxyType(ids)


def merge_conjunctions(flows: Iterable[Flow]) -> list[Flow]:
    """One flow per key for flows made only of ``conjunction`` actions (actions united).

    OVS holds one flow per table+priority+match: a member address shared by two remote
    groups must carry both groups' conjunctions, or one group would lose it.
    """
    merged: dict[tuple[int, int, tuple[str, ...]], tuple[Flow, set[str]]] = {}
    result = []
    for flow in flows:
        if all(action.startswith("conjunction(") for action in flow.actions):
            merged.setdefault(flow.key, (flow, set()))[1].update(flow.actions)
        else:
            result.append(flow)
    for flow, actions in merged.values():
        ordered = tuple(sorted(actions, key=_conjunction_order))
        result.append(dataclasses.replace(flow, actions=ordered))
    return result


def _conjunction_order(action: str) -> tuple[int, str]:
    return (int(action[len("conjunction("):].split(",")[0]), action)


# Compiler -----------------------------------------------------------------------------------

PairsOf = Callable[["LocalPort"], Sequence[tuple[str, str]]]
"""(mac, address) pairs a port may send from (``flows.allowed_pairs``)."""


@dataclass(frozen=True)
class FilteredPort:
    """A port under the firewall with its groups resolved."""

    port: LocalPort
    groups: tuple[SecurityGroup, ...]
    stateful: bool

    @property
    def variants(self) -> tuple[str, ...]:
        return (NEW, EST) if self.stateful else (STATELESS,)


def filtered_ports(ports: Iterable[LocalPort], fw: FirewallState) -> tuple[FilteredPort, ...]:
    """The ports the firewall applies to (port security on, a valid ofport), by ofport."""
    result = []
    for port in sorted(ports, key=lambda port: port.ofport):
        if port.port_security_enabled and port.ofport > 0:
            sg_ids = fw.port_groups.get(port.port_id, ())
            groups = tuple(fw.groups[sg] for sg in sg_ids if sg in fw.groups)
            stateful = not groups or any(group.stateful for group in groups)
            result.append(FilteredPort(port, groups, stateful))
    return tuple(result)


def _flow(cookie: int, table: str) -> Callable[..., Flow]:
    def flow(band: str, match: Iterable[str] = (), actions: Iterable[str] = (),
             goto: str | None = None) -> Flow:
        return make_flow(p.BR_INT, table, band, match, actions, cookie, goto)
    return flow


def _ct_to(source: str, target: str) -> str:
    """``ct()`` recirculating into ``target`` in the port's network zone."""
    p.BR_INT.table(source).check_next(target)
    return f"ct(table={p.BR_INT.table(target).number},{ZONE})"


def _regs(port: LocalPort) -> tuple[str, str]:
    return (f"set_field:{port.ofport:#x}->reg5", f"set_field:{port.lvid:#x}->reg6")


def _reg5(port: LocalPort) -> str:
    return f"reg5={port.ofport:#x}"


def _macs(port: LocalPort) -> list[str]:
    pair_macs = {mac(pair.mac_address) for pair in port.allowed_address_pairs
                 if pair.mac_address}
    return sorted({mac(port.mac_address)} | pair_macs)


def firewall_flows(cookie: int, ports: Iterable[LocalPort], fw: FirewallState,
                   pairs_of: PairsOf) -> list[Flow]:
    """Every br-int flow of the firewall for ``ports`` (TRANSIENT_TABLE and 71-94)."""
    ports = tuple(sorted(ports, key=lambda port: port.ofport))
    filtered = filtered_ports(ports, fw)
    used = sorted(set(_conj_keys(filtered, fw)))
    ids = conj_ids(key for _, key in used)
    flows = [*_defaults(cookie)]
    for port in ports:
        if not port.port_security_enabled and port.ofport > 0:
            # unfiltered itself, but what it sends to a filtered local port is checked
            flows.append(_flow(cookie, p.TRANSIENT_TABLE)(
                "fw_unfiltered", [f"in_port={port.ofport}"], _regs(port),
                goto=p.ACCEPT_OR_INGRESS))
    for fport in filtered:
        flows += _classify(cookie, fport.port)
        flows += _base_egress(cookie, fport, pairs_of(fport.port), fw.permitted_ethertypes)
        flows += _base_ingress(cookie, fport, fw.permitted_ethertypes)
        flows += _rule_flows(cookie, fport, ids)
    flows += _member_flows(cookie, used, ids, fw)
    flows += _conj_id_flows(cookie, ids)
    return merge_conjunctions(flows)


def _defaults(cookie: int) -> Iterator[Flow]:
    for table in (p.RULES_EGRESS, p.RULES_INGRESS):
        flow = _flow(cookie, table)
        accept = _accept(table, EST)
        yield flow("drop", [CT_INVALID], goto=p.DROPPED_TRAFFIC)
        yield flow("drop", [CT_TRACKED, CT_MARK_CUT], goto=p.DROPPED_TRAFFIC)
        for eth in ETH.values():
            yield flow("established", [CT_REPLY, CT_MARK_OK, eth], accept)
            yield flow("established", [CT_RELATED, CT_MARK_OK, eth], accept)
            # an established packet no rule accepts any more: cut its connection
            yield flow("cut", [CT_EST_ANY, eth], [CUT], goto=p.DROPPED_TRAFFIC)
        yield flow("default", goto=p.DROPPED_TRAFFIC)
    yield _flow(cookie, p.BASE_EGRESS)("default", goto=p.DROPPED_TRAFFIC)
    yield _flow(cookie, p.BASE_INGRESS)("default", goto=p.DROPPED_TRAFFIC)
    for eth in ETH.values():
        yield _flow(cookie, p.ACCEPT_OR_INGRESS)("commit", [CT_NEW, eth], [COMMIT],
                                                  goto=p.ACCEPTED_EGRESS_TRAFFIC)
    yield _flow(cookie, p.ACCEPT_OR_INGRESS)("default", goto=p.ACCEPTED_EGRESS_TRAFFIC)
    yield _flow(cookie, p.ACCEPTED_EGRESS_TRAFFIC)("default",
                                                   goto=p.ACCEPTED_EGRESS_TRAFFIC_NORMAL)
    yield _flow(cookie, p.ACCEPTED_EGRESS_TRAFFIC_NORMAL)("default", (), ["NORMAL"])
    yield _flow(cookie, p.DROPPED_TRAFFIC)("default", (), ["drop"])


def _accept(table: str, variant: str) -> tuple[str, ...]:
    """What an accepted packet does next: on to ACCEPT_OR_INGRESS, or out to the port."""
    if table == p.RULES_EGRESS:
        p.BR_INT.table(table).check_next(p.ACCEPT_OR_INGRESS)
        return (f"goto_table:{p.BR_INT.table(p.ACCEPT_OR_INGRESS).number}",)
    # a new inbound connection is committed here; an outbound one in ACCEPT_OR_INGRESS
    return (COMMIT, OUTPUT_REG5) if variant == NEW else (OUTPUT_REG5,)


def _classify(cookie: int, port: LocalPort) -> Iterator[Flow]:
    """TRANSIENT_TABLE and ACCEPT_OR_INGRESS entries of one port: from it, and to it."""
    transient = _flow(cookie, p.TRANSIENT_TABLE)
    yield transient("fw_egress", [f"in_port={port.ofport}"], _regs(port),
                    goto=p.BASE_EGRESS)
    for port_mac in _macs(port):
        # from a tunnel or physnet: tagged with the local VLAN
        yield transient("fw_ingress", [f"dl_vlan={port.lvid}", f"dl_dst={port_mac}"],
                        [*_regs(port), "pop_vlan"], goto=p.BASE_INGRESS)
        # from another local port, after its egress pipeline
        yield _flow(cookie, p.ACCEPT_OR_INGRESS)(
            "to_local_port", [f"reg6={port.lvid:#x}", f"dl_dst={port_mac}"],
            [_regs(port)[0]], goto=p.BASE_INGRESS)


def _base_egress(cookie: int, fport: FilteredPort, pairs: Sequence[tuple[str, str]],
                 ethertypes: Sequence[int] = ()) -> Iterator[Flow]:
    """ARP/ND/DHCP client out; DHCP server and RA from a VM dropped; own IP to the rules."""
    flow, reg5 = _flow(cookie, p.BASE_EGRESS), _reg5(fport.port)
    yield flow("arp", ["arp", reg5], goto=p.ACCEPTED_EGRESS_TRAFFIC_NORMAL)
    for ethertype in ethertypes:
        yield flow("arp", [f"dl_type={ethertype:#06x}", reg5],
                   goto=p.ACCEPTED_EGRESS_TRAFFIC_NORMAL)
    for icmp_type in ND_EGRESS:
        yield flow("icmp6", ["icmp6", reg5, f"icmp_type={icmp_type}"],
                   goto=p.ACCEPTED_EGRESS_TRAFFIC_NORMAL)
    for match in DHCP_CLIENT:
        yield flow("dhcp", [*match, reg5], goto=p.ACCEPT_OR_INGRESS)
    for proto, src, _ in DHCP_SERVER:
        yield flow("drop_server", [proto, reg5, src], goto=p.DROPPED_TRAFFIC)
    yield flow("drop_server", ["icmp6", reg5, f"icmp_type={ROUTER_ADVERTISEMENT}"],
               goto=p.DROPPED_TRAFFIC)
    for port_mac, address in pairs:
        eth = IPV4 if ipaddress.ip_network(address).version == 4 else IPV6
        src = "nw_src" if eth == IPV4 else "ipv6_src"
        yield _to_rules(flow, "ip", [ETH[eth], reg5, f"dl_src={port_mac}", f"{src}={address}"],
                        fport.stateful, p.BASE_EGRESS, p.RULES_EGRESS)
    yield flow("drop_port", [reg5], goto=p.DROPPED_TRAFFIC)


def _to_rules(flow: Callable[..., Flow], band: str, match: Sequence[str], stateful: bool,
              source: str, target: str) -> Flow:
    if stateful:
        return flow(band, match, [_ct_to(source, target)])
    return flow(band, match, goto=target)


def _base_ingress(cookie: int, fport: FilteredPort,
                  ethertypes: Sequence[int] = ()) -> Iterator[Flow]:
    """ARP, ND/RA and DHCP replies to the port pass; its IP traffic goes to the rules."""
    flow, reg5 = _flow(cookie, p.BASE_INGRESS), _reg5(fport.port)
    output = f"output:{fport.port.ofport}"
    yield flow("arp", ["arp", reg5], [output])
    for ethertype in ethertypes:
        yield flow("arp", [f"dl_type={ethertype:#06x}", reg5], [output])
    for icmp_type in ND_INGRESS:
        yield flow("icmp6", ["icmp6", reg5, f"icmp_type={icmp_type}"], [output])
    for match in DHCP_SERVER:
        yield flow("dhcp", [*match, reg5], [output])
    for eth in ETH.values():
        yield _to_rules(flow, "ip", [eth, reg5], fport.stateful, p.BASE_INGRESS,
                        p.RULES_INGRESS)
    yield flow("drop_port", [reg5], goto=p.DROPPED_TRAFFIC)


def _rules_table(direction: str) -> str:
    return p.RULES_INGRESS if direction == INGRESS else p.RULES_EGRESS


def _rule_flows(cookie: int, fport: FilteredPort,
                ids: Mapping[ConjKey, int]) -> Iterator[Flow]:
    """One accept per rule, match alternative and ct variant; remote groups as dimension 2."""
    reg5 = _reg5(fport.port)
    for group in fport.groups:
        for rule in group.rules:
            table = _rules_table(rule.direction)
            flow = _flow(cookie, table)
            for variant in fport.variants:
                key = (group.id, rule.remote_group_id or "", rule.direction, rule.ethertype,
                       variant)
                if rule.remote_group_id is None:
                    actions = _accept(table, variant)
                elif key in ids:
                    actions = (f"conjunction({ids[key]},2/2)",)
                else:
                    continue  # a remote group without members accepts nothing
                band = "rule" if rule.remote_group_id is None else "conj"
                for match in rule_matches(rule):
                    yield flow(band, [reg5, *VARIANT_CT[variant], *match], actions)


def _conj_keys(filtered: Sequence[FilteredPort],
               fw: FirewallState) -> Iterator[tuple[int, ConjKey]]:
    """(local VLAN, key) of every conjunction whose remote group has members."""
    for fport in filtered:
        for group in fport.groups:
            for rule in group.rules:
                remote = rule.remote_group_id
                if remote is None or not fw.members.get(remote, {}).get(rule.ethertype):
                    continue
                for variant in fport.variants:
                    yield fport.port.lvid, (group.id, remote, rule.direction,
                                            rule.ethertype, variant)


def _member_flows(cookie: int, used: Sequence[tuple[int, ConjKey]],
                  ids: Mapping[ConjKey, int], fw: FirewallState) -> Iterator[Flow]:
    """Dimension 1: each remote member address once per network (merged across ids later)."""
    for lvid, key in used:
        _, remote, direction, ethertype, _ = key
        flow = _flow(cookie, _rules_table(direction))
        for address in sorted(fw.members[remote][ethertype]):
            match = [f"reg6={lvid:#x}", *member_match(direction, ethertype, address)]
            yield flow("conj", match, [f"conjunction({ids[key]},1/2)"])


def _conj_id_flows(cookie: int, ids: Mapping[ConjKey, int]) -> Iterator[Flow]:
    """What a completed conjunction does: accept as the rule's variant says."""
    for key, conj_id in sorted(ids.items()):
        table = _rules_table(key[2])
        yield _flow(cookie, table)("conj", [f"conj_id={conj_id}", ETH[key[3]]],
                                   _accept(table, key[4]))
