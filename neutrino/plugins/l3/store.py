"""Routers and floating IPs in the database: API dicts in batches, listings, lookups.

Loaders take a batch of ids and issue one query per table for the whole batch (routers:
their rows, then one UNION ALL of everything else). A create's dict is built from the
values it wrote (``new_router``, ``with_gateway``, ``new_floatingip``), equal to what the
loaders read back. A router's dict is Neutron's (``external_gateway_info``, ``routes``,
``distributed`` …); ``gw_port_id`` is kept out of it and given separately to the journal.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Any

import netaddr
from sqlalchemy import (
    and_,
    bindparam,
    exists,
    literal,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from neutrino.apidef import availability_zone as az
from neutrino.apidef import l3
from neutrino.db.models import (
    Agent,
    FloatingIP,
    IPAllocation,
    Port,
    PortForwarding,
    Router,
    RouterExtraAttributes,
    RouterL3AgentBinding,
    RouterPort,
    RouterRoute,
    Subnet,
    Tag,
)
from neutrino.db.query import Listing
from neutrino.db.resources import timestamp

_CHUNK = 500


def chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def locked(session: Session, query: Any) -> Any:
    """``query`` FOR UPDATE (SQLite: writers are serial already)."""
    return query.with_for_update() if _locks(session) else query


def _locks(session: Session) -> bool:
    return session.get_bind().dialect.name != "sqlite"


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


def load_routers(session: Session, ids: Sequence[str], with_gw_port: bool = False,
                 rows: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Routers in ``ids`` order; ``gw_port_id`` added when asked (the journal's copy).

    ``rows``: router rows the caller has read already (locked), by id; not read again.
    Two queries a batch: the rows, then everything else (``_details``).
    """
    rows = dict(rows or {})
    for chunk in chunks([i for i in ids if i not in rows]):
        rows.update((r.id, r) for r in session.execute(
            select(Router).where(Router.id.in_(chunk))).scalars())
    found = [i for i in ids if i in rows]
    routes: dict[str, list[dict[str, str]]] = defaultdict(list)
    tags: dict[str, list[str]] = defaultdict(list)
    hints: dict[str, list[str]] = {}
    zones: dict[str, set[str]] = defaultdict(set)
    gw_nets: dict[str, str] = {}
    gw_ips: dict[str, list[dict[str, str]]] = defaultdict(list)
    for start in range(0, len(found), _DETAILS_CHUNK):
        batch = found[start:start + _DETAILS_CHUNK]
        gw_ports = [rows[i].gw_port_id for i in batch if rows[i].gw_port_id]
        for kind, owner, a, b, c in session.execute(
                _details(bool(gw_ports)), {"router_ids": batch, "gw_port_ids": gw_ports}):
            if kind == "r":
                routes[owner].append({"destination": a, "nexthop": b})
            elif kind == "t":
                tags[owner].append(a)
            elif kind == "h":
                hints[owner] = az.hints_from_db(a)
            elif kind == "z":
                if a:
                    zones[owner].add(a)
            else:
                gw_nets[owner] = a
                if b is not None:
                    gw_ips[owner].append({"subnet_id": b, "ip_address": c})
    routers = []
    for i in found:
        row = rows[i]
        router = _router_dict(row, routes.get(i, []), tags.get(i, []),
                              gw_nets.get(row.gw_port_id), gw_ips.get(row.gw_port_id, []))
        router.update(availability_zone_hints=hints.get(i, []),
                      availability_zones=sorted(zones.get(i, ())))
        if with_gw_port:
            router["gw_port_id"] = row.gw_port_id
        routers.append(router)
    return routers


# Routers a ``_details`` query covers: each of its five parts binds their ids.
_DETAILS_CHUNK = 150


@functools.cache
def _details(with_gateways: bool) -> Any:
    """One UNION ALL query for what a router's dict needs besides its row, as rows of
    (kind, owner, a, b, c), ordered as the API lists them: extra routes ``r`` (router,
    destination, nexthop), tags ``t`` (router, tag), zone hints ``h`` (router, hints),
    hosting agents' zones ``z`` (router, zone), gateway ports ``g`` (port, network,
    subnet, IP address; subnet and address NULL for a port without any).

    Parameters ``router_ids`` and ``gw_port_ids``. Built once: building a statement
    this size costs more than running it."""
    router_ids: Any = bindparam("router_ids", expanding=True)

    def part(kind: str, owner: Any, a: Any, b: Any = None, c: Any = None) -> Any:
        return select(literal_column(f"'{kind}'").label("kind"), owner.label("owner"),
                      a.label("a"), (null() if b is None else b).label("b"),
                      (null() if c is None else c).label("c"))

    parts = [
        part("r", RouterRoute.router_id, RouterRoute.destination, RouterRoute.nexthop)
        .where(RouterRoute.router_id.in_(router_ids)),
        part("t", Tag.resource_id, Tag.tag).where(Tag.resource_id.in_(router_ids)),
        part("h", RouterExtraAttributes.router_id,
             RouterExtraAttributes.availability_zone_hints).where(
            RouterExtraAttributes.router_id.in_(router_ids)),
        part("z", RouterL3AgentBinding.router_id, Agent.availability_zone).join(
            Agent, Agent.id == RouterL3AgentBinding.l3_agent_id).where(
            RouterL3AgentBinding.router_id.in_(router_ids))]
    if with_gateways:
        parts.append(part("g", Port.id, Port.network_id, IPAllocation.subnet_id,
                          IPAllocation.ip_address).outerjoin(
            IPAllocation, IPAllocation.port_id == Port.id).where(
            Port.id.in_(bindparam("gw_port_ids", expanding=True))))
    details = union_all(*parts).subquery("details")
    return select(details).order_by(details.c.kind, details.c.owner, details.c.a,
                                    details.c.b, details.c.c)


def new_router(values: dict[str, Any], hints: list[str]) -> dict[str, Any]:
    """The dict of a router just inserted with ``values``, as ``load_routers`` would
    read it back (no routes, tags, gateway or hosting agent yet), ``gw_port_id`` too."""
    router = _router_dict(SimpleNamespace(**values), [], [], None, [])
    router.update(availability_zone_hints=list(hints), availability_zones=[],
                  gw_port_id=values["gw_port_id"])
    return router


def with_gateway(router: dict[str, Any], port: dict[str, Any], enable_snat: bool,
                 revision: int, now: Any) -> dict[str, Any]:
    """``router`` once ``port`` (a core port dict) became its gateway in a ``_bump``."""
    ips = sorted(({"subnet_id": ip["subnet_id"], "ip_address": ip["ip_address"]}
                  for ip in port["fixed_ips"]),
                 key=lambda ip: (ip["subnet_id"], ip["ip_address"]))  # as _details orders
    return {**router, "updated_at": timestamp(now), "revision_number": revision,
            "external_gateway_info": {"network_id": port["network_id"],
                                      "enable_snat": enable_snat,
                                      "external_fixed_ips": ips},
            "gw_port_id": port["id"]}


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


def router_row_hosted(session: Session, router_id: str) -> tuple[Any, bool] | None:
    """The router's row, locked, and whether an L3 agent hosts it; None if no router."""
    found = session.execute(_row_hosted(_locks(session)), {"router_id": router_id}).first()
    return None if found is None else (found[0], bool(found[1]))


@functools.cache
def _row_hosted(lock: bool) -> Any:
    router_id: Any = bindparam("router_id")
    query = select(Router, exists().where(
        RouterL3AgentBinding.router_id == router_id).label("hosted")).where(
        Router.id == router_id)
    return query.with_for_update() if lock else query


def router_row_in_use(session: Session, router_id: str) -> tuple[Any, bool, bool] | None:
    """The router's row, locked, with what keeps it from being deleted: (row, has
    interfaces, has floating IPs), in one query; None if there is no such router."""
    found = session.execute(_row_in_use(_locks(session)), {"router_id": router_id}).first()
    return None if found is None else (found[0], bool(found[1]), bool(found[2]))


@functools.cache
def _row_in_use(lock: bool) -> Any:
    router_id: Any = bindparam("router_id")
    query = select(Router, exists().where(
        RouterPort.router_id == router_id,
        RouterPort.port_type == l3.DEVICE_OWNER_ROUTER_INTF).label("interfaces"),
        exists().where(FloatingIP.router_id == router_id).label("fips")).where(
        Router.id == router_id)
    return query.with_for_update() if lock else query


def router_of_port(session: Session, port_id: str) -> tuple[str, str] | None:
    """(router id, port type) of a router's port, or None."""
    row = session.execute(select(RouterPort.router_id, RouterPort.port_type).where(
        RouterPort.port_id == port_id)).first()
    return (row[0], row[1]) if row is not None else None


def router_for_subnet(session: Session, subnet_id: str, external_net: str) -> str | None:
    """A router with an interface on ``subnet_id`` and its gateway on ``external_net``."""
    return session.execute(_router_for_subnet(subnet_id, external_net)).scalar()


def _router_for_subnet(subnet_id: Any, external_net: Any) -> Any:
    gw = aliased(Port)
    return select(Router.id).join(
        RouterPort, and_(RouterPort.router_id == Router.id,
                         RouterPort.port_type == l3.DEVICE_OWNER_ROUTER_INTF)).join(
        IPAllocation, and_(IPAllocation.port_id == RouterPort.port_id,
                           IPAllocation.subnet_id == subnet_id)).join(
        gw, gw.id == Router.gw_port_id).where(gw.network_id == external_net).order_by(
        Router.created_at, Router.id).limit(1)


def association_target(session: Session, subnet_id: str, external_net: str, port_id: str,
                       ip: str, fip_id: str | None) -> tuple[str | None, Any]:
    """Where a floating IP on ``external_net`` associated with (``port_id``, ``ip``) goes,
    in one query: the router ``router_for_subnet`` finds (or None), and another floating
    IP already on that fixed IP (a row with ``id``, ``floating_ip_address`` and
    ``floating_network_id``; or None)."""
    rows = session.execute(_association_target(bool(fip_id)), {
        "subnet_id": subnet_id, "external_net": external_net, "port_id": port_id,
        "ip": ip, "fip_id": fip_id}).all()
    other = next((r for r in rows if r.id is not None), None)
    return rows[0].router_id, other


@functools.cache
def _association_target(has_id: bool) -> Any:
    others = and_(FloatingIP.fixed_port_id == bindparam("port_id"),
                  FloatingIP.fixed_ip_address == bindparam("ip"))
    if has_id:
        others = and_(others, FloatingIP.id != bindparam("fip_id"))
    # One row even without another floating IP: the join hangs off a constant row.
    anchor = select(literal(1).label("one")).subquery("anchor")
    return select(
        _router_for_subnet(bindparam("subnet_id"), bindparam("external_net"))
        .scalar_subquery().label("router_id"),
        FloatingIP.id, FloatingIP.floating_ip_address, FloatingIP.floating_network_id,
    ).select_from(anchor).outerjoin(FloatingIP, others)


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


def fips_of_port(session: Session, port_id: str) -> list[str]:
    """Ids of the floating IPs associated with ``port_id`` (asked on every port delete)."""
    return list(session.execute(_fips_of_port(), {"port_id": port_id}).scalars())


@functools.cache
def _fips_of_port() -> Any:
    return select(FloatingIP.id).where(FloatingIP.fixed_port_id == bindparam("port_id"))


def association_port(session: Session, port_id: str) -> dict[str, Any] | None:
    """What a floating IP association needs of a port, in one query: ``id``,
    ``project_id``, ``network_id``, ``fixed_ips`` and ``details`` (``port_details``)."""
    rows = session.execute(_association_port(), {"port_id": port_id}).all()
    if not rows:
        return None
    return {"id": rows[0].id, "project_id": rows[0].project_id,
            "network_id": rows[0].network_id, "details": _port_details(rows[0]),
            "fixed_ips": [{"subnet_id": r.subnet_id, "ip_address": r.ip_address}
                          for r in rows if r.subnet_id is not None]}


@functools.cache
def _association_port() -> Any:
    return select(
        Port.id, Port.project_id, Port.name, Port.network_id, Port.mac_address,
        Port.admin_state_up, Port.status, Port.device_id, Port.device_owner,
        IPAllocation.subnet_id, IPAllocation.ip_address).outerjoin(
        IPAllocation, IPAllocation.port_id == Port.id).where(
        Port.id == bindparam("port_id")).order_by(
        IPAllocation.subnet_id, IPAllocation.ip_address)


def new_floatingip(values: dict[str, Any], details: dict[str, Any] | None) -> dict[str, Any]:
    """The dict of a floating IP just inserted with ``values`` (no forwardings, no tags)
    as ``load_floatingips`` would read it back; ``details``: its port's."""
    return _fip_dict(SimpleNamespace(**values), details, [], [])


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
