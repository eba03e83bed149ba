"""Routers and floating IPs in the database: API dicts in batches, listings, lookups.

Loaders take a batch of ids and issue one query per table for the whole batch.
A router's dict is Neutron's (``external_gateway_info``, ``routes``, ``distributed``
…); ``gw_port_id`` is kept out of it and given separately to the journal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import netaddr
from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from neutrino.apidef import l3
from neutrino.db.models import (
    FloatingIP,
    IPAllocation,
    Port,
    PortForwarding,
    Router,
    RouterPort,
    RouterRoute,
    Subnet,
    Tag,
)
from neutrino.db.query import Listing
from neutrino.db.resources import timestamp
from neutrino.plugins.l3 import agentstore

_CHUNK = 500


def chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def locked(session: Session, query: Any) -> Any:
    """``query`` FOR UPDATE (SQLite: writers are serial already)."""
    if session.get_bind().dialect.name != "sqlite":
        return query.with_for_update()
    return query


def _standard(row: Any) -> dict[str, Any]:
    return {"project_id": row.project_id, "tenant_id": row.project_id,
            "created_at": timestamp(row.created_at), "updated_at": timestamp(row.updated_at),
            "revision_number": row.revision_number, "description": row.description}


def tags_of(session: Session, ids: Sequence[str]) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = defaultdict(list)
    for chunk in chunks(list(ids)):
        for rid, tag in session.execute(select(Tag.resource_id, Tag.tag).where(
                Tag.resource_id.in_(chunk)).order_by(Tag.tag)):
            tags[rid].append(tag)
    return tags


def port_ips(session: Session, port_ids: Sequence[str]) -> dict[str, list[dict[str, str]]]:
    """Each port's fixed IPs, ``[{subnet_id, ip_address}]``."""
    ips: dict[str, list[dict[str, str]]] = defaultdict(list)
    for chunk in chunks(list(port_ids)):
        for pid, sid, ip in session.execute(select(
                IPAllocation.port_id, IPAllocation.subnet_id, IPAllocation.ip_address).where(
                IPAllocation.port_id.in_(chunk)).order_by(IPAllocation.subnet_id)):
            ips[pid].append({"subnet_id": sid, "ip_address": ip})
    return ips


# --- routers -------------------------------------------------------------------------

def router_row(session: Session, router_id: str, lock: bool = False) -> Any:
    query = select(Router).where(Router.id == router_id)
    return session.execute(locked(session, query) if lock else query).scalar()


def load_routers(session: Session, ids: Sequence[str],
                 with_gw_port: bool = False) -> list[dict[str, Any]]:
    """Routers in ``ids`` order; ``gw_port_id`` added when asked (the journal's copy)."""
    rows: dict[str, Any] = {}
    for chunk in chunks(list(ids)):
        rows.update((r.id, r) for r in session.execute(
            select(Router).where(Router.id.in_(chunk))).scalars())
    found = [i for i in ids if i in rows]
    routes: dict[str, list[dict[str, str]]] = defaultdict(list)
    for chunk in chunks(found):
        for rid, dest, hop in session.execute(select(
                RouterRoute.router_id, RouterRoute.destination, RouterRoute.nexthop).where(
                RouterRoute.router_id.in_(chunk)).order_by(RouterRoute.destination,
                                                            RouterRoute.nexthop)):
            routes[rid].append({"destination": dest, "nexthop": hop})
    gw_ports = [rows[i].gw_port_id for i in found if rows[i].gw_port_id]
    gw_ips = port_ips(session, gw_ports)
    gw_nets = dict(session.execute(select(Port.id, Port.network_id).where(
        Port.id.in_(gw_ports))).all()) if gw_ports else {}
    tags = tags_of(session, found)
    hints, zones = agentstore.hints_of(session, found), agentstore.zones_of(session, found)
    routers = []
    for i in found:
        row = rows[i]
        router = _router_dict(row, routes.get(i, []), tags.get(i, []),
                              gw_nets.get(row.gw_port_id), gw_ips.get(row.gw_port_id, []))
        router.update(availability_zone_hints=hints.get(i, []),
                      availability_zones=zones.get(i, []))
        if with_gw_port:
            router["gw_port_id"] = row.gw_port_id
        routers.append(router)
    return routers


def _router_dict(row: Any, routes: list[dict[str, str]], tags: list[str],
                 gw_network: str | None, gw_ips: list[dict[str, str]]) -> dict[str, Any]:
    gateway = None
    if gw_network is not None:
        gateway = {"network_id": gw_network, "enable_snat": row.enable_snat,
                   "external_fixed_ips": gw_ips}
    return {"id": row.id, "name": row.name, **_standard(row),
            "admin_state_up": row.admin_state_up, "status": row.status,
            "external_gateway_info": gateway, "routes": routes,
            # Legacy routers only: no DVR, no HA, no flavors (zones: load_routers).
            "distributed": False, "ha": False, "availability_zone_hints": [],
            "availability_zones": [], "flavor_id": None, "tags": tags}


def router_listing() -> Listing:
    columns = {name: getattr(Router, name) for name in (
        "id", "name", "description", "project_id", "created_at", "updated_at",
        "revision_number", "status", "admin_state_up")}
    columns["tenant_id"] = Router.project_id
    return Listing(Router, columns, {
        # Every router is legacy: a filter on these matches all or nothing.
        "distributed": _constant_filter(False), "ha": _constant_filter(False),
        "flavor_id": _constant_filter(None)})


def _constant_filter(value: Any) -> Any:
    from sqlalchemy import false, true

    def clause(values: list[Any]) -> Any:
        wanted = {str(v).lower() for v in values}
        return true() if str(value).lower() in wanted or (value is None and "" in wanted) \
            else false()
    return clause


def interface_ports(session: Session, router_id: str) -> list[str]:
    """Ids of the router's interface ports (not its gateway)."""
    return list(session.execute(select(RouterPort.port_id).where(
        RouterPort.router_id == router_id,
        RouterPort.port_type == l3.DEVICE_OWNER_ROUTER_INTF).order_by(
        RouterPort.port_id)).scalars())


def interface_subnets(session: Session, router_id: str) -> list[dict[str, Any]]:
    """The subnets the router's interfaces are on: ``{id, cidr, port_id, ip_address}``."""
    rows = session.execute(select(Subnet.id, Subnet.cidr, IPAllocation.port_id,
                                  IPAllocation.ip_address).join(
        IPAllocation, IPAllocation.subnet_id == Subnet.id).join(
        RouterPort, and_(RouterPort.port_id == IPAllocation.port_id,
                         RouterPort.router_id == router_id))).all()
    return [{"id": r[0], "cidr": r[1], "port_id": r[2], "ip_address": r[3]}
            for r in sorted(rows)]


def router_of_port(session: Session, port_id: str) -> tuple[str, str] | None:
    """(router id, port type) of a router's port, or None."""
    row = session.execute(select(RouterPort.router_id, RouterPort.port_type).where(
        RouterPort.port_id == port_id)).first()
    return (row[0], row[1]) if row is not None else None


def router_for_subnet(session: Session, subnet_id: str, external_net: str) -> str | None:
    """A router with an interface on ``subnet_id`` and its gateway on ``external_net``."""
    gw = aliased(Port)
    return session.execute(select(Router.id).join(
        RouterPort, and_(RouterPort.router_id == Router.id,
                         RouterPort.port_type == l3.DEVICE_OWNER_ROUTER_INTF)).join(
        IPAllocation, and_(IPAllocation.port_id == RouterPort.port_id,
                           IPAllocation.subnet_id == subnet_id)).join(
        gw, gw.id == Router.gw_port_id).where(gw.network_id == external_net).order_by(
        Router.created_at, Router.id).limit(1)).scalar()


def cidrs_overlap(a: str, b: str) -> bool:
    first, second = netaddr.IPNetwork(a), netaddr.IPNetwork(b)
    return first.version == second.version and (first in second or second in first)


# --- floating IPs --------------------------------------------------------------------

def fip_row(session: Session, fip_id: str, lock: bool = False) -> Any:
    query = select(FloatingIP).where(FloatingIP.id == fip_id)
    return session.execute(locked(session, query) if lock else query).scalar()


def load_floatingips(session: Session, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Floating IPs in ``ids`` order, with ``port_details`` and ``port_forwardings``."""
    rows: dict[str, Any] = {}
    for chunk in chunks(list(ids)):
        rows.update((r.id, r) for r in session.execute(
            select(FloatingIP).where(FloatingIP.id.in_(chunk))).scalars())
    found = [i for i in ids if i in rows]
    ports = [rows[i].fixed_port_id for i in found if rows[i].fixed_port_id]
    details: dict[str, dict[str, Any]] = {}
    for chunk in chunks(ports):
        details.update((p.id, _port_details(p)) for p in session.execute(
            select(Port).where(Port.id.in_(chunk))).scalars())
    forwardings = forwardings_of(session, found)
    tags = tags_of(session, found)
    return [_fip_dict(rows[i], details.get(rows[i].fixed_port_id), forwardings.get(i, []),
                      tags.get(i, [])) for i in found]


def _port_details(port: Any) -> dict[str, Any]:
    return {"name": port.name, "network_id": port.network_id,
            "mac_address": port.mac_address, "admin_state_up": port.admin_state_up,
            "status": port.status, "device_id": port.device_id,
            "device_owner": port.device_owner}


def _fip_dict(row: Any, details: dict[str, Any] | None, forwardings: list[dict[str, Any]],
              tags: list[str]) -> dict[str, Any]:
    return {"id": row.id, "floating_ip_address": row.floating_ip_address,
            "floating_network_id": row.floating_network_id, "router_id": row.router_id,
            "port_id": row.fixed_port_id, "fixed_ip_address": row.fixed_ip_address,
            "status": row.status, **_standard(row), "port_details": details,
            "port_forwardings": [{k: pf[k] for k in (
                "id", "protocol", "internal_ip_address", "internal_port", "external_port",
                "internal_port_id", "description")} for pf in forwardings],
            "tags": tags}


def fip_listing() -> Listing:
    columns = {name: getattr(FloatingIP, name) for name in (
        "id", "description", "project_id", "created_at", "updated_at", "revision_number",
        "status", "floating_ip_address", "floating_network_id", "router_id",
        "fixed_ip_address")}
    columns["tenant_id"] = FloatingIP.project_id
    columns["port_id"] = FloatingIP.fixed_port_id
    return Listing(FloatingIP, columns)


def fips_on_fixed_ip(session: Session, port_id: str, ip: str) -> list[Any]:
    return list(session.execute(select(FloatingIP).where(
        FloatingIP.fixed_port_id == port_id, FloatingIP.fixed_ip_address == ip)).scalars())


# --- port forwardings ----------------------------------------------------------------

def pf_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "floatingip_id": row.floatingip_id,
            "internal_port_id": row.internal_port_id,
            "internal_ip_address": row.internal_ip_address,
            "internal_port": row.internal_port, "external_port": row.external_port,
            "protocol": row.protocol, "description": row.description,
            "project_id": row.project_id, "tenant_id": row.project_id}


def forwardings_of(session: Session, fip_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for chunk in chunks(list(fip_ids)):
        for row in session.execute(select(PortForwarding).where(
                PortForwarding.floatingip_id.in_(chunk)).order_by(
                PortForwarding.external_port, PortForwarding.protocol)).scalars():
            found[row.floatingip_id].append(pf_dict(row))
    return found


def pf_listing() -> Listing:
    columns = {name: getattr(PortForwarding, name) for name in (
        "id", "internal_port_id", "internal_ip_address", "internal_port", "external_port",
        "protocol", "description")}
    return Listing(PortForwarding, columns)


# --- router interfaces, as the journal records them -----------------------------------

def all_interface_ids(session: Session) -> list[str]:
    """Port ids of every router interface, oldest router first."""
    return list(session.execute(select(RouterPort.port_id).join(
        Router, Router.id == RouterPort.router_id).where(
        RouterPort.port_type == l3.DEVICE_OWNER_ROUTER_INTF).order_by(
        Router.created_at, RouterPort.port_id)).scalars())


def load_interfaces(session: Session, port_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Interfaces by port id: ``{router_id, port_id, subnet_id(s), network_id, …}``."""
    found = {}
    for chunk in chunks(list(port_ids)):
        for pid, rid, project, net in session.execute(select(
                RouterPort.port_id, Router.id, Router.project_id, Port.network_id).join(
                Router, Router.id == RouterPort.router_id).join(
                Port, Port.id == RouterPort.port_id).where(
                RouterPort.port_id.in_(chunk),
                RouterPort.port_type == l3.DEVICE_OWNER_ROUTER_INTF)):
            found[pid] = (rid, project, net)
    ips = port_ips(session, list(found))
    return [{"id": pid, "router_id": found[pid][0], "project_id": found[pid][1],
             "tenant_id": found[pid][1], "port_id": pid, "network_id": found[pid][2],
             "subnet_ids": [ip["subnet_id"] for ip in ips.get(pid, [])],
             "subnet_id": next((ip["subnet_id"] for ip in ips.get(pid, [])), None)}
            for pid in port_ids if pid in found]
