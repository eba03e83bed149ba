"""The OVS agent's OpenFlow pipelines (br-int, br-tun, physical bridges) as data.

Table numbers and names follow Neutron (``neutron_lib/plugins/ml2/ovs_constants.py``) so a
Neutron engineer reading ``ovs-ofctl dump-flows`` finds the tables where they expect them.
Flows refer to tables and priorities by name; :meth:`Pipeline.table` and
:meth:`Table.priority` are the only places that turn names into numbers.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


class BridgeRole(enum.Enum):
    """Which kind of bridge a pipeline belongs to."""

    INTEGRATION = "br-int"
    TUNNEL = "br-tun"
    PHYSICAL = "br-phys"


class PipelineError(ValueError):
    """A flow names a table, a priority band or a next table the pipeline does not allow."""


@dataclass(frozen=True)
class Table:
    """One OpenFlow table: its name, number, owning module, exits and priority bands."""

    name: str
    number: int
    owner: str
    next_tables: frozenset[str] = frozenset()
    priorities: Mapping[str, int] = field(default_factory=dict, hash=False, compare=False)
    description: str = ""

    def priority(self, band: str) -> int:
        """The priority of the named band; :class:`PipelineError` if the band is unknown."""
        try:
            return self.priorities[band]
        except KeyError:
            raise PipelineError(f"table {self.name} has no priority band {band!r}") from None

    def check_next(self, name: str) -> None:
        """Raise :class:`PipelineError` unless this table may continue into ``name``."""
        if name not in self.next_tables:
            raise PipelineError(f"table {self.name} may not go to {name}")


class Pipeline:
    """The ordered set of tables of one bridge role, addressable by name or number."""

    def __init__(self, role: BridgeRole, tables: Iterable[Table]) -> None:
        self.role = role
        ordered = sorted(tables, key=lambda t: t.number)
        self._by_name = MappingProxyType({t.name: t for t in ordered})
        self._by_number = MappingProxyType({t.number: t for t in ordered})
        self._validate()

    def _validate(self) -> None:
        if len(self._by_name) != len(self._by_number):
            raise PipelineError(f"{self.role.value}: duplicate table names or numbers")
        for table in self._by_name.values():
            unknown = table.next_tables - self._by_name.keys()
            if unknown:
                raise PipelineError(f"{table.name} names unknown next tables {sorted(unknown)}")

    def table(self, name: str) -> Table:
        """The table called ``name``; :class:`PipelineError` if there is none."""
        try:
            return self._by_name[name]
        except KeyError:
            raise PipelineError(f"{self.role.value} has no table {name}") from None

    def by_number(self, number: int) -> Table:
        """The table with OpenFlow id ``number``; :class:`PipelineError` if there is none."""
        try:
            return self._by_number[number]
        except KeyError:
            raise PipelineError(f"{self.role.value} has no table {number}") from None

    @property
    def tables(self) -> tuple[Table, ...]:
        return tuple(self._by_name.values())

    def __iter__(self) -> Iterator[Table]:
        return iter(self.tables)


def _t(name: str, number: int, owner: str, next_tables: Iterable[str] = (),
       description: str = "", **priorities: int) -> Table:
    return Table(name=name, number=number, owner=owner, next_tables=frozenset(next_tables),
                 priorities=MappingProxyType(dict(priorities)), description=description)


FLOWS = "neutrino.agent.ovs.flows"
RESERVED = "reserved"

# br-int ---------------------------------------------------------------------------------
LOCAL_SWITCHING = "LOCAL_SWITCHING"
CANARY_TABLE = "CANARY_TABLE"
ARP_SPOOF_TABLE = "ARP_SPOOF_TABLE"
MAC_SPOOF_TABLE = "MAC_SPOOF_TABLE"
PACKET_RATE_LIMIT = "PACKET_RATE_LIMIT"
BANDWIDTH_RATE_LIMIT = "BANDWIDTH_RATE_LIMIT"
TRANSIENT_TABLE = "TRANSIENT_TABLE"
TRANSIENT_EGRESS_TABLE = "TRANSIENT_EGRESS_TABLE"
BASE_EGRESS = "BASE_EGRESS"
RULES_EGRESS = "RULES_EGRESS"
ACCEPT_OR_INGRESS = "ACCEPT_OR_INGRESS"
BASE_INGRESS = "BASE_INGRESS"
RULES_INGRESS = "RULES_INGRESS"
ACCEPTED_EGRESS_TRAFFIC = "ACCEPTED_EGRESS_TRAFFIC"
DROPPED_TRAFFIC = "DROPPED_TRAFFIC"
ACCEPTED_EGRESS_TRAFFIC_NORMAL = "ACCEPTED_EGRESS_TRAFFIC_NORMAL"
FIREWALL = "neutrino.agent.ovs.firewall"
# RULES_EGRESS and RULES_INGRESS share their bands: ``conj`` (remote groups) sits just above
# ``rule`` so a conjunction's flows never share a priority+match with a plain rule's.
_RULES_BANDS = {"drop": 100, "established": 90, "conj": 71, "rule": 70, "cut": 40,
                "default": 0}

BR_INT = Pipeline(BridgeRole.INTEGRATION, [
    _t(LOCAL_SWITCHING, 0, FLOWS, [ARP_SPOOF_TABLE, MAC_SPOOF_TABLE, TRANSIENT_TABLE],
       "entry: dead VLAN drop, physnet VLAN translation, spoofing redirects, default on",
       default=0, drop_port=2, physnet_vlan=3, spoof_mac=9, spoof_arp=10, dead_vlan=65535),
    _t(CANARY_TABLE, 23, FLOWS, (), "one drop flow; empty after an ovs-vswitchd restart",
       canary=0),
    _t(ARP_SPOOF_TABLE, 24, FLOWS, [MAC_SPOOF_TABLE],
       "ARP (spa) and IPv6 NA (nd_target) must carry an address of the port",
       default=0, allowed=2),
    _t(MAC_SPOOF_TABLE, 25, FLOWS, [TRANSIENT_TABLE],
       "source MAC, and source IP per MAC, must belong to the port",
       default=0, allowed_mac=1, drop_ip=2, allowed_ip=3, dhcp_client=4),
    _t(PACKET_RATE_LIMIT, 58, RESERVED, (), "QoS packet rate meters (not used yet)"),
    _t(BANDWIDTH_RATE_LIMIT, 59, RESERVED, (), "QoS bandwidth meters (not used yet)"),
    _t(TRANSIENT_TABLE, 60, FLOWS, [BASE_EGRESS, BASE_INGRESS, ACCEPT_OR_INGRESS],
       "NORMAL: the MAC-learning switch on local VLANs; with the firewall on, a filtered "
       "port's traffic (reg5=ofport, reg6=local VLAN) to BASE_EGRESS/BASE_INGRESS",
       normal=1, fw_ingress=90, fw_egress=100, fw_unfiltered=100),
    _t(TRANSIENT_EGRESS_TABLE, 62, RESERVED, (), "egress NORMAL (not used)"),
    _t(BASE_EGRESS, 71, FIREWALL,
       [RULES_EGRESS, ACCEPT_OR_INGRESS, ACCEPTED_EGRESS_TRAFFIC_NORMAL, DROPPED_TRAFFIC],
       "ARP/ND/DHCP client pass, DHCP server and RA from a VM drop, own IP to conntrack",
       default=0, drop_port=10, ip=65, drop_server=70, dhcp=80, arp=95, icmp6=95),
    _t(RULES_EGRESS, 72, FIREWALL, [ACCEPT_OR_INGRESS, DROPPED_TRAFFIC],
       "egress security-group rules; replies of accepted connections (ct_mark=0)",
       **_RULES_BANDS),
    _t(ACCEPT_OR_INGRESS, 73, FIREWALL, [BASE_INGRESS, ACCEPTED_EGRESS_TRAFFIC],
       "to a filtered local port: its ingress; else commit a new connection and accept",
       default=0, commit=90, to_local_port=100),
    _t(BASE_INGRESS, 81, FIREWALL, [RULES_INGRESS, DROPPED_TRAFFIC],
       "ARP/ND/RA/DHCP replies to the port pass, IP to conntrack",
       default=0, drop_port=50, ip=90, dhcp=95, icmp6=95, arp=100),
    _t(RULES_INGRESS, 82, FIREWALL, [DROPPED_TRAFFIC],
       "ingress security-group rules; accepted traffic is output to reg5",
       **_RULES_BANDS),
    _t(ACCEPTED_EGRESS_TRAFFIC, 91, FIREWALL, [ACCEPTED_EGRESS_TRAFFIC_NORMAL],
       "accepted egress traffic", default=0),
    _t(DROPPED_TRAFFIC, 93, FIREWALL, (), "everything the firewall refuses ends here",
       default=0),
    _t(ACCEPTED_EGRESS_TRAFFIC_NORMAL, 94, FIREWALL, (), "accepted egress: NORMAL",
       default=0),
])

# br-tun ---------------------------------------------------------------------------------
PATCH_LV_TO_TUN = "PATCH_LV_TO_TUN"
GRE_TUN_TO_LV = "GRE_TUN_TO_LV"
VXLAN_TUN_TO_LV = "VXLAN_TUN_TO_LV"
GENEVE_TUN_TO_LV = "GENEVE_TUN_TO_LV"
LEARN_FROM_TUN = "LEARN_FROM_TUN"
UCAST_TO_TUN = "UCAST_TO_TUN"
ARP_RESPONDER = "ARP_RESPONDER"
FLOOD_TO_TUN = "FLOOD_TO_TUN"

TUN_TABLE = MappingProxyType({
    "gre": GRE_TUN_TO_LV,
    "vxlan": VXLAN_TUN_TO_LV,
    "geneve": GENEVE_TUN_TO_LV,
})
TUNNEL_TYPES = frozenset(TUN_TABLE)

BR_TUN = Pipeline(BridgeRole.TUNNEL, [
    _t(LOCAL_SWITCHING, 0, FLOWS, [PATCH_LV_TO_TUN, *TUN_TABLE.values()],
       "dispatch: from patch-int to 2, from a tunnel port to its type's table",
       default=0, in_port=1),
    _t(PATCH_LV_TO_TUN, 2, FLOWS, [ARP_RESPONDER, UCAST_TO_TUN, FLOOD_TO_TUN],
       "traffic from br-int: ARP broadcast, unicast, multicast/broadcast",
       by_dst=0, arp_bcast=1),
    *(_t(name, number, FLOWS, [LEARN_FROM_TUN], "tun_id -> local VLAN", default=0, segment=1)
      for name, number in ((GRE_TUN_TO_LV, 3), (VXLAN_TUN_TO_LV, 4), (GENEVE_TUN_TO_LV, 6))),
    _t(LEARN_FROM_TUN, 10, FLOWS, (), "learn() the sender into UCAST_TO_TUN, then to br-int",
       learn=1),
    _t(UCAST_TO_TUN, 20, FLOWS, [FLOOD_TO_TUN],
       "known unicast to its tunnel; learnt (1) and l2pop (2) entries",
       default=0, learned=1, l2pop=2),
    _t(ARP_RESPONDER, 21, FLOWS, [FLOOD_TO_TUN], "answer ARP requests from l2pop entries",
       default=0, responder=1),
    _t(FLOOD_TO_TUN, 22, FLOWS, (), "flood a local VLAN to its tunnel ports",
       default=0, flood=1),
])

# physical bridges (br-<physnet>) -------------------------------------------------------
BR_PHYS = Pipeline(BridgeRole.PHYSICAL, [
    _t(LOCAL_SWITCHING, 0, FLOWS, (),
       "local VLAN -> provider VLAN (or untagged for flat) towards the wire, else NORMAL",
       normal=0, drop_port=2, provision=4),
])

PIPELINES = MappingProxyType({p.role: p for p in (BR_INT, BR_TUN, BR_PHYS)})

# Learnt flows carry hard_timeout=300 like Neutron's (br_tun.py), so a VM that moved
# stops being sent to its old host within five minutes even without l2pop.
LEARN_HARD_TIMEOUT = 300
DEAD_VLAN_TAG = 4095
