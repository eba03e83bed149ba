"""Load networks, subnets and ports as API dicts, a batch of ids at a time.

Each loader issues one query per table for the whole batch (never one per row),
which is what keeps a list of thousands of ports fast.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
from collections import defaultdict
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    String,
    any_,
    bindparam,
    exists,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from neutrino.db.models import (
    AllowedAddressPair,
    DefaultExternalNetwork,
    DnsNameserver,
    ExtraDhcpOpt,
    IPAllocation,
    IPAllocationPool,
    Network,
    NetworkSegment,
    Port,
    PortBinding,
    SecurityGroupPortBinding,
    Subnet,
    SubnetRoute,
    Tag,
)
from neutrino.db.query import IN_CHUNK, Listing, in_chunks


# Rows made in the same second share their timestamps (a port's created_at and
# updated_at, a bulk's ports): a list of 2,000 ports formats a few hundred, not 4,000.
@functools.lru_cache(maxsize=4096)
def timestamp(value: dt.datetime | None) -> str | None:
    """Neutron's ``2026-11-21T12:00:00Z`` (isoformat is several times faster than strftime)."""
    if value is None:
        return None
    if value.microsecond:
        value = value.replace(microsecond=0)
    return value.isoformat() + "Z"


def keyed_rows(session: Session, query_for: Any, ids: Sequence[str]) -> list[Any]:
    """Rows of ``query_for(match)`` where ``match(column)`` restricts column to ``ids``.

    Plain rows on the session's connection: the ORM execution layer costs more than
    the query itself for these keyed selects. A large page (``PageIds``) is matched
    by the query that selected it; otherwise PostgreSQL gets the ids as one array
    parameter (``= ANY(…)``) and other backends as IN lists: thousands of separate
    parameters cost more to render and parse than the query takes to run.
    """
    conn = session.connection()
    if not ids:
        return []
    page_query = getattr(ids, "query", None)
    if page_query is not None and len(ids) > IN_CHUNK:
        # A derived table, not the page query itself: MariaDB refuses LIMIT in IN (…).
        page = page_query.subquery()
        among = select(page.c[0])
        return list(conn.execute(query_for(lambda col: col.in_(among))).all())
    if conn.dialect.name == "postgresql":
        param = bindparam("ids", value=list(ids), type_=ARRAY(String))
        return list(conn.execute(query_for(lambda col: col == any_(param))).all())
    rows: list[Any] = []
    for chunk in in_chunks(ids):
        rows.extend(conn.execute(query_for(lambda col, c=chunk: col.in_(c))).all())
    return rows


def _standard(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "description": row.description,
            "project_id": row.project_id, "tenant_id": row.project_id,
            "created_at": timestamp(row.created_at), "updated_at": timestamp(row.updated_at),
            "revision_number": row.revision_number}


def load_tags(session: Session, ids: Sequence[str]) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = defaultdict(list)
    for rid, tag in keyed_rows(session, lambda c: select(Tag.resource_id, Tag.tag).where(
            c(Tag.resource_id)).order_by(Tag.tag), ids):
        tags[rid].append(tag)
    return tags


# --- networks ----------------------------------------------------------------------

def segment_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "network_type": row.network_type,
            "physical_network": row.physical_network, "segmentation_id": row.segmentation_id}


def load_segments(session: Session, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    segments: dict[str, list[dict[str, Any]]] = defaultdict(list)
    query = lambda c: select(NetworkSegment).where(  # noqa: E731
        c(NetworkSegment.network_id)).order_by(NetworkSegment.segment_index)
    for row in keyed_rows(session, query, ids):
        segments[row.network_id].append(segment_dict(row))
    return segments


def load_network(session: Session, net_id: str, brief: bool = False
                 ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """One network and its segments (with ids), for drivers that need both.

    ``brief`` leaves out ``subnets`` and ``tags`` (two queries fewer), for port
    operations, whose drivers need the network's segments, not its subnets.
    """
    conn = session.connection()
    rows = conn.execute(_NETWORK_ROWS, {"net_id": net_id}).all()
    if not rows:
        return None, []
    net, segments = _one_network(rows)
    if not brief:
        net.update(subnets=list(conn.execute(_NETWORK_SUBNET_IDS, {"net_id": net_id}).scalars()),
                   tags=list(conn.execute(_TAGS_OF, {"id": net_id}).scalars()))
    _add_provider(net, segments)
    return net, segments


def lock_network_for_delete(session: Session, net_id: str
                            ) -> tuple[dict[str, Any] | None, list[dict[str, Any]],
                                       list[tuple[str, str]]]:
    """Lock the network's row and read what deleting it needs, in two statements.

    The network with its segments (its row locked, except on SQLite whose writers
    are serial), then its subnets, tags and ports together: (network or None,
    segments, [(port id, device_owner)]).
    """
    conn = session.connection()
    rows = conn.execute(_LOCKED_NETWORK_ROWS.get(conn.dialect.name, _NETWORK_ROWS),
                        {"net_id": net_id}).all()
    if not rows:
        return None, [], []
    net, segments = _one_network(rows)
    subnets: list[tuple[Any, str]] = []
    tags: list[str] = []
    ports: list[tuple[str, str]] = []
    for kind, value, created_at, owner in conn.execute(_NETWORK_CHILDREN, {"net_id": net_id}):
        if kind == "s":
            subnets.append((created_at, value))
        elif kind == "t":
            tags.append(value)
        else:
            ports.append((value, owner))
    net.update(subnets=[sid for _, sid in sorted(subnets)], tags=sorted(tags))
    _add_provider(net, segments)
    return net, segments, ports


def load_networks(session: Session, ids: Sequence[str]) -> list[dict[str, Any]]:
    return _load_networks(session, ids)[0]


_SEGMENT_COLUMNS = (NetworkSegment.id.label("segment_id"), NetworkSegment.network_type,
                    NetworkSegment.physical_network, NetworkSegment.segmentation_id)


def _segment_of(row: Any) -> dict[str, Any]:
    return {"id": row.segment_id, "network_type": row.network_type,
            "physical_network": row.physical_network, "segmentation_id": row.segmentation_id}


def _network_dict(row: Any) -> dict[str, Any]:
    """The network's own attributes (no subnets, tags or provider ones yet)."""
    net = _standard(row)
    net.update({"admin_state_up": row.admin_state_up, "status": row.status,
                "shared": row.shared, "router:external": row.router_external,
                "mtu": row.mtu, "port_security_enabled": row.port_security_enabled})
    return net


def _one_network(rows: Sequence[Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The network's own attributes and its segments, from its ``_NETWORK_ROWS``."""
    return _network_dict(rows[0]), [_segment_of(r) for r in rows if r.segment_id is not None]


def _network_query(match: Any) -> Any:
    return select(*Network.__table__.c, *_SEGMENT_COLUMNS).outerjoin(
        NetworkSegment, NetworkSegment.network_id == Network.id).where(
        match(Network.id)).order_by(NetworkSegment.segment_index)


# Built once: a statement object made per call costs more to build and key for the
# compiled cache than the query takes to run.
_NETWORK_ROWS = _network_query(lambda col: col == bindparam("net_id"))
# PostgreSQL locks the network alone (segments are the nullable side of the join);
# MariaDB has no FOR UPDATE OF; SQLite's writers are serial already.
_LOCKED_NETWORK_ROWS = {
    "postgresql": _NETWORK_ROWS.with_for_update(of=Network.__table__),
    "mysql": _NETWORK_ROWS.with_for_update(),
}
_NETWORK_SUBNET_IDS = select(Subnet.id).where(
    Subnet.network_id == bindparam("net_id")).order_by(Subnet.created_at, Subnet.id)
_TAGS_OF = select(Tag.tag).where(Tag.resource_id == bindparam("id")).order_by(Tag.tag)
_NETWORK_CHILDREN: Any = union_all(
    select(literal("s").label("kind"), Subnet.id.label("value"),
           Subnet.created_at.label("created_at"), null().label("owner")
           ).where(Subnet.network_id == bindparam("net_id")),
    select(literal("t"), Tag.tag, null(), null()).where(Tag.resource_id == bindparam("net_id")),
    select(literal("p"), Port.id, null(), Port.device_owner
           ).where(Port.network_id == bindparam("net_id")))


def _network_rows(session: Session, ids: Sequence[str]
                  ) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Networks by id and their segments in order, from one outer join."""
    rows: dict[str, Any] = {}
    segments: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in keyed_rows(session, _network_query, ids):
        rows[row.id] = row
        if row.segment_id is not None:
            segments[row.id].append(_segment_of(row))
    return rows, segments


def _load_networks(session: Session, ids: Sequence[str], brief: bool = False
                   ) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    rows, segments = _network_rows(session, ids)
    subnets: dict[str, list[str]] = defaultdict(list)
    if not brief:
        for net_id, sub_id in keyed_rows(session, lambda c: select(
                Subnet.network_id, Subnet.id).where(c(Subnet.network_id)).order_by(
                Subnet.created_at, Subnet.id), ids):
            subnets[net_id].append(sub_id)
    tags = load_tags(session, ids) if not brief else {}
    result = []
    for nid in ids:
        row = rows.get(nid)
        if row is None:
            continue
        net = _network_dict(row)
        if not brief:
            net.update(subnets=subnets.get(nid, []), tags=tags.get(nid, []))
        _add_provider(net, segments.get(nid, []))
        result.append(net)
    return result, segments


def network_from_values(values: dict[str, Any], segment_rows: list[dict[str, Any]]
                        ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A new network's API dict and segments from the values just written for it."""
    net = _network_dict(SimpleNamespace(**values))
    # What the subnetpools plugin's extender shows, known for a new network without a
    # query (its precommit_create callback sets ``is_default`` when asked for).
    net.update(subnets=[], tags=[], is_default=False, ipv4_address_scope=None,
               ipv6_address_scope=None)
    segments = [segment_dict(SimpleNamespace(**r)) for r in segment_rows]
    _add_provider(net, segments)
    return net, segments


# Every port create reads it: built once.
_SUBNETS_FOR_IPAM = select(
    Subnet.id, Subnet.network_id, Subnet.cidr, Subnet.ip_version, Subnet.gateway_ip,
    Subnet.ipv6_address_mode, Subnet.ipv6_ra_mode, Subnet.revision_number,
    Subnet.segment_id
).where(Subnet.network_id == bindparam("network_id")).order_by(Subnet.created_at, Subnet.id)


def subnets_for_ipam(session: Session, network_id: str) -> list[dict[str, Any]]:
    """The network's subnets with just what address allocation needs, oldest first."""
    rows = session.connection().execute(_SUBNETS_FOR_IPAM, {"network_id": network_id}).all()
    return [dict(r._mapping) for r in rows]


def _add_provider(net: dict[str, Any], segments: list[dict[str, Any]]) -> None:
    """One segment shows as provider:*; several as the multi-provider ``segments``."""
    if len(segments) == 1:
        seg = segments[0]
        net["provider:network_type"] = seg["network_type"]
        net["provider:physical_network"] = seg["physical_network"]
        net["provider:segmentation_id"] = seg["segmentation_id"]
    elif segments:
        net["segments"] = [{f"provider:{k}": s[k] for k in
                            ("network_type", "physical_network", "segmentation_id")}
                           for s in segments]


def network_listing() -> Listing:
    def provider(column: Any) -> Any:
        return lambda values: exists().where(
            NetworkSegment.network_id == Network.id, column.in_(values))

    def subnets(values: list[Any]) -> Any:
        return exists().where(Subnet.network_id == Network.id, Subnet.id.in_(values))

    def is_default(values: list[Any]) -> Any:
        default = exists().where(DefaultExternalNetwork.network_id == Network.id)
        wanted = {bool(v) for v in values}
        return or_(default, ~default) if len(wanted) > 1 else (
            default if True in wanted else ~default)

    cols = _std_columns(Network)
    cols.update({"admin_state_up": Network.admin_state_up, "status": Network.status,
                 "shared": Network.shared, "router:external": Network.router_external,
                 "mtu": Network.mtu, "port_security_enabled": Network.port_security_enabled})
    return Listing(Network, cols, {
        "provider:network_type": provider(NetworkSegment.network_type),
        "provider:physical_network": provider(NetworkSegment.physical_network),
        "provider:segmentation_id": provider(NetworkSegment.segmentation_id),
        "subnets": subnets,
        "is_default": is_default,
    })


def _std_columns(model: Any) -> dict[str, Any]:
    return {"id": model.id, "name": model.name, "description": model.description,
            "project_id": model.project_id, "tenant_id": model.project_id,
            "created_at": model.created_at, "updated_at": model.updated_at,
            "revision_number": model.revision_number}


# --- subnets -----------------------------------------------------------------------

def load_subnets(session: Session, ids: Sequence[str]) -> list[dict[str, Any]]:
    rows = {r.id: r for r in keyed_rows(
        session, lambda c: select(Subnet).where(c(Subnet.id)), ids)}
    pools: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for sid, first, last in keyed_rows(session, lambda c: select(
            IPAllocationPool.subnet_id, IPAllocationPool.first_ip, IPAllocationPool.last_ip
    ).where(c(IPAllocationPool.subnet_id)), ids):
        pools[sid].append((first, last))
    dns: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for sid, address, order in keyed_rows(session, lambda c: select(
            DnsNameserver.subnet_id, DnsNameserver.address, DnsNameserver.order
    ).where(c(DnsNameserver.subnet_id)), ids):
        dns[sid].append((order, address))
    routes: dict[str, list[dict[str, str]]] = defaultdict(list)
    for sid, dest, nexthop in keyed_rows(session, lambda c: select(
            SubnetRoute.subnet_id, SubnetRoute.destination, SubnetRoute.nexthop
    ).where(c(SubnetRoute.subnet_id)), ids):
        routes[sid].append({"destination": dest, "nexthop": nexthop})
    tags = load_tags(session, ids)
    result = []
    for sid in ids:
        row = rows.get(sid)
        if row is None:
            continue
        sub = _standard(row)
        sub.update({
            "network_id": row.network_id, "ip_version": row.ip_version, "cidr": row.cidr,
            "gateway_ip": row.gateway_ip, "enable_dhcp": row.enable_dhcp,
            "ipv6_ra_mode": row.ipv6_ra_mode, "ipv6_address_mode": row.ipv6_address_mode,
            "subnetpool_id": row.subnetpool_id, "segment_id": row.segment_id,
            "allocation_pools": [{"start": a, "end": b} for a, b in
                                 _sorted_pools(pools.get(sid, []))],
            "dns_nameservers": [a for _, a in sorted(dns.get(sid, []))],
            "host_routes": routes.get(sid, []), "tags": tags.get(sid, []),
        })
        result.append(sub)
    return result


def _sorted_pools(pools: list[tuple[str, str]]) -> list[tuple[str, str]]:
    import netaddr
    return sorted(pools, key=lambda p: int(netaddr.IPAddress(p[0])))


def subnet_listing() -> Listing:
    cols = _std_columns(Subnet)
    cols.update({"network_id": Subnet.network_id, "ip_version": Subnet.ip_version,
                 "cidr": Subnet.cidr, "gateway_ip": Subnet.gateway_ip,
                 "enable_dhcp": Subnet.enable_dhcp, "ipv6_ra_mode": Subnet.ipv6_ra_mode,
                 "ipv6_address_mode": Subnet.ipv6_address_mode,
                 "subnetpool_id": Subnet.subnetpool_id, "segment_id": Subnet.segment_id})

    def dns(values: list[Any]) -> Any:
        return exists().where(DnsNameserver.subnet_id == Subnet.id,
                              DnsNameserver.address.in_(values))

    return Listing(Subnet, cols, {"dns_nameservers": dns})


# --- ports -------------------------------------------------------------------------

# A port's columns and its binding's (outer-joined: every port should have one,
# but a missing binding reads as unbound), in the order ``_port_dict`` unpacks them.
_PORT_KEYS = ("id", "name", "description", "project_id", "created_at", "updated_at",
              "revision_number", "network_id", "mac_address", "admin_state_up", "status",
              "device_id", "device_owner", "port_security_enabled")
_BINDING_KEYS = ("host", "vnic_type", "vif_type", "vif_details", "profile")
_UNBOUND = ("", "normal", "unbound", "{}", "{}")


def _port_query(match: Any) -> Any:
    return select(*[Port.__table__.c[k] for k in _PORT_KEYS],
                  *[PortBinding.__table__.c[k] for k in _BINDING_KEYS]).outerjoin(
        PortBinding, PortBinding.port_id == Port.id).where(match(Port.id))


def load_ports(session: Session, ids: Sequence[str]) -> list[dict[str, Any]]:
    rows = {r[0]: r for r in keyed_rows(session, _port_query, ids)}
    ips: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for pid, sid, ip in keyed_rows(session, lambda c: select(
            IPAllocation.port_id, IPAllocation.subnet_id, IPAllocation.ip_address
    ).where(c(IPAllocation.port_id)), ids):
        ips[pid].append((sid, ip))
    pairs: dict[str, list[dict[str, str]]] = defaultdict(list)
    for pid, mac, ip in keyed_rows(session, lambda c: select(
            AllowedAddressPair.port_id, AllowedAddressPair.mac_address,
            AllowedAddressPair.ip_address).where(c(AllowedAddressPair.port_id)), ids):
        pairs[pid].append({"ip_address": ip, "mac_address": mac})
    opts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for pid, name, value, version in keyed_rows(session, lambda c: select(
            ExtraDhcpOpt.port_id, ExtraDhcpOpt.opt_name, ExtraDhcpOpt.opt_value,
            ExtraDhcpOpt.ip_version).where(c(ExtraDhcpOpt.port_id)), ids):
        opts[pid].append({"opt_name": name, "opt_value": value, "ip_version": version})
    tags = load_tags(session, ids)
    return [_port_dict(rows[pid], ips.get(pid, []), pairs.get(pid, []),
                       opts.get(pid, []), tags.get(pid, []))
            for pid in ids if pid in rows]


def port_from_values(row: dict[str, Any], ips: list[tuple[str, str]],
                     binding: dict[str, Any], pairs: list[dict[str, str]],
                     opts: list[dict[str, Any]], tags: list[str]) -> dict[str, Any]:
    """The API dict of a port from the values just written for it (no read back)."""
    values = (*[row[k] for k in _PORT_KEYS], *[binding[k] for k in _BINDING_KEYS])
    return _port_dict(values, ips, pairs, opts, sorted(tags))


def _port_dict(values: Sequence[Any], ips: list[tuple[str, str]],
               pairs: list[dict[str, str]], opts: list[dict[str, Any]],
               tags: list[str]) -> dict[str, Any]:
    """A port's API dict from its values in ``_PORT_KEYS + _BINDING_KEYS`` order.

    Unpacked by position, helpers inlined: a list builds thousands of these, and
    named access on rows or a call per attribute costs more than the rest of the work.
    """
    (pid, name, description, project, created, updated, revision, network_id, mac,
     admin_state_up, status, device_id, device_owner, port_security,
     host, vnic_type, vif_type, vif_details, profile) = values
    if vnic_type is None:  # no binding row: unbound
        host, vnic_type, vif_type, vif_details, profile = _UNBOUND
    if len(ips) > 1:
        ips = sorted(ips, key=_ip_sort_key)
    return {
        "id": pid, "name": name, "description": description, "project_id": project,
        "tenant_id": project, "created_at": timestamp(created),
        "updated_at": timestamp(updated), "revision_number": revision,
        "network_id": network_id, "mac_address": mac, "admin_state_up": admin_state_up,
        "status": status, "device_id": device_id, "device_owner": device_owner,
        "port_security_enabled": port_security,
        "fixed_ips": [{"subnet_id": s, "ip_address": ip} for s, ip in ips],
        "security_groups": [],
        "binding:host_id": host, "binding:vnic_type": vnic_type,
        "binding:vif_type": vif_type,
        "binding:vif_details": {} if vif_details == "{}" else orjson.loads(vif_details),
        "binding:profile": {} if profile == "{}" else orjson.loads(profile),
        "allowed_address_pairs": pairs, "extra_dhcp_opts": opts, "tags": tags,
    }


def _ip_sort_key(item: tuple[str, str]) -> tuple[int, int]:
    address = ipaddress.ip_address(item[1])
    return address.version, int(address)


def port_listing() -> Listing:
    cols = _std_columns(Port)
    cols.update({"network_id": Port.network_id, "mac_address": Port.mac_address,
                 "admin_state_up": Port.admin_state_up, "status": Port.status,
                 "device_id": Port.device_id, "device_owner": Port.device_owner,
                 "port_security_enabled": Port.port_security_enabled})

    def binding(column: Any) -> Any:
        return lambda values: exists().where(PortBinding.port_id == Port.id,
                                             column.in_(values))

    return Listing(Port, cols, {
        "fixed_ips": fixed_ips_filter,
        "binding:host_id": binding(PortBinding.host),
        "binding:vnic_type": binding(PortBinding.vnic_type),
        "binding:vif_type": binding(PortBinding.vif_type),
        "security_groups": lambda values: exists().where(
            SecurityGroupPortBinding.port_id == Port.id,
            SecurityGroupPortBinding.security_group_id.in_(values)),
    })


def fixed_ips_filter(values: list[Any]) -> Any:
    """``fixed_ips=ip_address=X`` / ``subnet_id=Y`` (Neutron's form), OR'ed."""
    from sqlalchemy import or_
    clauses = []
    for value in values:
        key, _, wanted = str(value).partition("=")
        column = {"ip_address": IPAllocation.ip_address,
                  "subnet_id": IPAllocation.subnet_id}.get(key)
        if column is None:
            from neutrino import exceptions as exc
            raise exc.InvalidInput(error_message=f"Invalid fixed_ips filter '{value}'")
        clauses.append(exists().where(IPAllocation.port_id == Port.id, column == wanted))
    return or_(*clauses)
