"""Which journal rows a new row must wait for — pure, computed when the row is written.

Follows networking-odl's ``dependency_validations`` (neutron-facts §1.4): only
pending and processing rows count; a create or update waits for every such row
of the resources it references (a subnet for its network, a port for its
network and subnets …); an update also waits for earlier creates/updates of the
same resource; a delete waits for earlier creates/updates of the same resource
and for the pending deletes of its children. A security group's delete waits for
every pending row of the rules and ports that name it, whatever the operation: a
rule or port still on its way to the controller would otherwise point at a group
the controller no longer has. Failed rows block nothing.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from neutrino.db.models.journal import CREATE, DELETE, UPDATE

Data = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Entry:
    """A change to record: what, which one, how, and the resource as the API shows it."""

    object_type: str
    object_uuid: str
    operation: str
    data: Data | None

    @functools.cached_property
    def refs(self) -> frozenset[str]:
        """``references`` of this entry's data, worked out once (a batch asks several times)."""
        return references(self.object_type, self.data)


@dataclasses.dataclass(frozen=True)
class Row:
    """A pending or processing journal row, as far as dependencies care."""

    seqnum: int
    object_type: str
    object_uuid: str
    operation: str
    references: frozenset[str]


def _field(name: str) -> Callable[[Data], list[str]]:
    return lambda data: [data[name]] if isinstance(data.get(name), str) and data[name] else []


def _fixed_ip_subnets(data: Data) -> list[str]:
    return [ip["subnet_id"] for ip in data.get("fixed_ips") or []
            if isinstance(ip, dict) and ip.get("subnet_id")]


def _router_of_port(data: Data) -> list[str]:
    owner = data.get("device_owner") or ""
    return _field("device_id")(data) if owner.startswith("network:router") else []


def _gateway_network(data: Data) -> list[str]:
    gateway = data.get("external_gateway_info")
    return _field("network_id")(gateway) if isinstance(gateway, dict) else []


def _security_groups(data: Data) -> list[str]:
    return [g for g in data.get("security_groups") or [] if isinstance(g, str)]


# object_type -> extractors of the ids of resources it refers to.
REFERENCES: dict[str, tuple[Callable[[Data], list[str]], ...]] = {
    "network": (_field("qos_policy_id"),),
    "subnet": (_field("network_id"),),
    "port": (_field("network_id"), _fixed_ip_subnets, _field("qos_policy_id"),
             _router_of_port, _security_groups),
    "router": (_field("gw_port_id"), _gateway_network),
    "floatingip": (_field("floating_network_id"), _field("port_id"), _field("router_id")),
    # A router interface (journal/l3.py): its router, port, subnets and network.
    "router_interface": (_field("router_id"), _field("port_id"), _field("network_id"),
                         lambda data: [s for s in data.get("subnet_ids") or []
                                       if isinstance(s, str)]),
    "security_group_rule": (_field("security_group_id"), _field("remote_group_id")),
    "trunk": (_field("port_id"),),
}

# Types whose id is the id of a resource they refer to: a router interface is named
# by its port, and still waits for that port (and a port's delete for it).
NAMED_BY_REFERENCE = frozenset({"router_interface"})

# A delete of the key type waits for pending deletes of these types that refer to it.
DELETE_CHILDREN: dict[str, tuple[str, ...]] = {
    "network": ("subnet", "port", "router", "floatingip"),
    "subnet": ("port", "router_interface"),
    "router": ("port", "floatingip", "router_interface"),
    "port": ("floatingip", "trunk", "router_interface"),
    "security_group": ("security_group_rule", "port"),
    "qos_policy": ("port", "network"),
}


# A delete of the key type waits for pending rows of any operation of these types
# whose data refers to it (its rules, and the ports using it).
DELETE_REFERRERS: dict[str, tuple[str, ...]] = {
    "security_group": ("security_group_rule", "port"),
}


def waits_for_children(entry: Entry) -> bool:
    """True when ``entry`` is a delete that waits for rows of other resources."""
    return entry.operation == DELETE and (entry.object_type in DELETE_CHILDREN
                                          or entry.object_type in DELETE_REFERRERS)


def references(object_type: str, data: Data | None) -> frozenset[str]:
    """Ids of the resources that a resource of ``object_type`` with ``data`` refers to."""
    if not data:
        return frozenset()
    found: set[str] = set()
    for extract in REFERENCES.get(object_type, ()):
        found.update(extract(data))
    if object_type not in NAMED_BY_REFERENCE:
        found.discard(data.get("id", ""))
    return frozenset(found)


def lookup_ids(entry: Entry) -> frozenset[str]:
    """Object uuids whose pending rows may be parents of ``entry``."""
    if entry.operation == DELETE:
        return frozenset({entry.object_uuid})
    return entry.refs | {entry.object_uuid}


def _same_object_parent(entry: Entry, row: Row) -> bool:
    return (entry.operation in (UPDATE, DELETE) and row.object_uuid == entry.object_uuid
            and row.operation in (CREATE, UPDATE))


def _child_delete_parent(entry: Entry, row: Row) -> bool:
    return (entry.operation == DELETE and row.operation == DELETE
            and row.object_type in DELETE_CHILDREN.get(entry.object_type, ())
            and entry.object_uuid in row.references)


def _referrer_parent(entry: Entry, row: Row) -> bool:
    return (entry.operation == DELETE
            and row.object_type in DELETE_REFERRERS.get(entry.object_type, ())
            and entry.object_uuid in row.references)


def _referenced_parent(entry: Entry, refs: frozenset[str], row: Row) -> bool:
    return entry.operation in (CREATE, UPDATE) and row.object_uuid in refs


def parents(entry: Entry, rows: Iterable[Row]) -> list[int]:
    """Seqnums of the pending/processing ``rows`` that ``entry`` must wait for."""
    return sorted({row.seqnum for row in rows
                   if _same_object_parent(entry, row) or _child_delete_parent(entry, row)
                   or _referrer_parent(entry, row)
                   or _referenced_parent(entry, entry.refs, row)})


class RowIndex:
    """Pending/processing rows by object uuid, growing as a batch is recorded."""

    def __init__(self, rows: Iterable[Row] = ()) -> None:
        self._by_uuid: dict[str, list[Row]] = defaultdict(list)
        # Rows that refer to other resources: where a delete finds its children.
        self._referring: list[Row] = []
        for row in rows:
            self.add(row)

    def add(self, row: Row) -> None:
        self._by_uuid[row.object_uuid].append(row)
        if row.references:
            self._referring.append(row)

    def parents(self, entry: Entry) -> list[int]:
        rows = [r for uuid in lookup_ids(entry) for r in self._by_uuid.get(uuid, ())]
        if waits_for_children(entry):
            rows.extend(self._referring)
        return parents(entry, rows)
