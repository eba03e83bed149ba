"""Routers: create, update (gateway, extra routes), delete, read; ``router`` events.

A router is created in its own transaction, then its gateway port (when
``external_gateway_info`` is given), then the router is updated to point at it —
the same steps as Neutron, and what the journal records (a router create, a port
create, a router update). Events: ``router`` ``precommit_<op>`` (with ``session=``
and ``gw_port_id=``) and ``after_<op>``.
"""

from __future__ import annotations

import uuid
from typing import Any

import netaddr
from sqlalchemy import delete, exists, insert, select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import availability_zone as az
from neutrino.apidef import l3
from neutrino.context import Context
from neutrino.db.base import table_of, utcnow
from neutrino.db.models import FloatingIP, Router, RouterPort, RouterRoute, Tag
from neutrino.db.query import Page
from neutrino.db.rbac import external_for
from neutrino.plugins.l3 import agentstore, store
from neutrino.plugins.l3.base import (
    L3Base,
    all_or_undo,
    bad_request,
    check_write,
    internal_context,
)
from neutrino.plugins.tags import TagChange, current_tags, store_tags

ROUTER = "router"


class RouterMixin(L3Base):
    """The ``routers`` collection and its ``add_extraroutes``/``remove_extraroutes``."""

    def _router(self, session: Session, router_id: str, row: Any = None) -> dict[str, Any]:
        """The router (``gw_port_id`` included); ``row``: its row, read already."""
        routers = store.load_routers(session, [router_id], with_gw_port=True,
                                     rows={router_id: row} if row is not None else None)
        if not routers:
            raise l3.RouterNotFound(router_id=router_id)
        return routers[0]

    def _current(self, session: Session, row: Any, hosted: bool,
                 known: dict[str, Any]) -> dict[str, Any]:
        """The router of ``row`` (just read, locked; ``hosted`` by an L3 agent or not):
        ``known``, its dict as this request made it, while the revision is the same —
        every change of its routes, tags, gateway or attributes moves the revision —
        with the zones of its agents read again (scheduling moves no revision); else
        read afresh."""
        if row.revision_number != known["revision_number"] \
                or row.gw_port_id != known["gw_port_id"]:
            return self._router(session, row.id, row)
        zones = agentstore.zones_of(session, [row.id]).get(row.id, []) if hosted else []
        return {**known, "availability_zones": zones}

    @staticmethod
    def _public(router: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in router.items() if k != "gw_port_id"}

    def _publish(self, event: str, ctx: Context, router: dict[str, Any],
                 original: dict[str, Any] | None = None, **details: Any) -> None:
        self.events.publish(ROUTER, event, ctx, self._public(router),
                            original and self._public(original),
                            gw_port_id=router.get("gw_port_id"), **details)

    # --- create --------------------------------------------------------------------

    def create_router(self, ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        return self.create_router_bulk(ctx, [body])[0]

    def create_router_bulk(self, ctx: Context,
                           bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(bodies) == 1:  # checked in its transaction: no read session before it
            return [self._create_one(ctx, bodies[0], check=True)]
        with self.db.reader() as session:
            for body in bodies:
                self._check_body(session, ctx, body)
        return all_or_undo(bodies, lambda body: self._create_one(ctx, body),
                           lambda router_id: self._remove_router(ctx, router_id))

    def _check_body(self, session: Session, ctx: Context, body: dict[str, Any]) -> None:
        """A create's zone hints exist and its gateway network is external for it."""
        agentstore.check_hints(session, body.get(az.AZ_HINTS) or [])
        if body.get("external_gateway_info"):
            self._check_external(session, body["external_gateway_info"]["network_id"],
                                 None if ctx.is_admin else body["project_id"])

    def _create_one(self, ctx: Context, body: dict[str, Any],
                    check: bool = False) -> dict[str, Any]:
        def in_tx(session: Session) -> dict[str, Any]:
            if check:  # before anything is written: a refusal rolls back nothing
                self._check_body(session, ctx, body)
            now = utcnow()
            values = {
                "id": str(uuid.uuid4()), "project_id": body["project_id"],
                "name": body.get("name") or "", "description": body.get("description") or "",
                "status": "ACTIVE", "admin_state_up": body.get("admin_state_up", True),
                "gw_port_id": None, "enable_snat": True, "created_at": now,
                "updated_at": now, "revision_number": 0}
            session.connection().execute(insert(table_of(Router)), values)
            # Neutron keeps default_availability_zones as the hints of a router without.
            hints = az.effective_hints(body.get(az.AZ_HINTS),
                                       getattr(self.conf, "default_availability_zones", []))
            agentstore.store_hints(session, values["id"], hints)
            # Built from what was just written: reading it back would only cost queries.
            router = store.new_router(values, hints)
            self._publish("precommit_create", ctx, router, session=session)
            return router

        router: dict[str, Any] = self._write(in_tx)
        self._publish("after_create", ctx, router)
        gateway = body.get("external_gateway_info")
        if gateway:
            try:
                # The network was found external for the project before the router was
                # made, and a new router has no gateway to clear or change.
                router = self._add_gateway(ctx, router, gateway)
            except Exception:
                self._remove_router(ctx, router["id"])
                raise
        return self._public(router)

    # --- gateway -------------------------------------------------------------------

    @staticmethod
    def _check_external(session: Session, net_id: str, project: str | None) -> None:
        """The network is external for ``project`` (RBAC ``access_as_external``; any
        project if None), else 404 or 400 as Neutron answers."""
        external = external_for(session, net_id, project)
        if external is None:
            raise exc.NetworkNotFound(net_id=net_id)
        if not external:
            raise bad_request("router", f"Network {net_id} is not an external network")

    def _set_gateway(self, ctx: Context, router_id: str,
                     gateway: dict[str, Any] | None) -> dict[str, Any]:
        """Make the router's gateway ``gateway`` (None: none); the router after."""
        with self.db.reader() as session:
            router = self._router(session, router_id)
            if gateway:
                self._check_external(session, gateway["network_id"],
                                     None if ctx.is_admin else router["project_id"])
        current = router["external_gateway_info"]
        if current and (not gateway or gateway["network_id"] != current["network_id"]):
            router = self._clear_gateway(ctx, router)
            current = None
        if not gateway:
            return router
        if current is None:
            return self._add_gateway(ctx, router, gateway)
        return self._change_gateway(ctx, router, gateway)

    def _clear_gateway(self, ctx: Context, router: dict[str, Any]) -> dict[str, Any]:
        net_id = router["external_gateway_info"]["network_id"]
        port_id = router["gw_port_id"]

        def in_tx(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
            store.router_row(session, router["id"], lock=True)
            original = self._router(session, router["id"])
            if session.execute(select(exists().where(
                    FloatingIP.router_id == router["id"],
                    FloatingIP.floating_network_id == net_id))).scalar():
                raise l3.RouterExternalGatewayInUseByFloatingIp(router_id=router["id"],
                                                                net_id=net_id)
            session.execute(delete(RouterPort).where(RouterPort.port_id == port_id))
            self._bump(session, router["id"], gw_port_id=None, enable_snat=True)
            changed = self._router(session, router["id"])
            self._publish("precommit_update", ctx, changed, original, session=session)
            return changed, original

        changed, original = self._write(in_tx)
        self._drop_port(port_id)
        self._publish("after_update", ctx, changed, original)
        return changed

    def _add_gateway(self, ctx: Context, router: dict[str, Any],
                     gateway: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"network_id": gateway["network_id"],
                                "device_owner": l3.DEVICE_OWNER_ROUTER_GW,
                                "device_id": router["id"]}
        if gateway.get("external_fixed_ips"):
            body["fixed_ips"] = gateway["external_fixed_ips"]
        port = self._make_port(body)
        snat = gateway.get("enable_snat", True)

        def in_tx(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
            found = store.router_row_hosted(session, router["id"])
            if found is None:
                raise l3.RouterNotFound(router_id=router["id"])
            row, hosted = found
            if row.gw_port_id:
                raise exc.Conflict(msg=f"Router {router['id']} got a gateway meanwhile")
            original = self._current(session, row, hosted, router)
            session.connection().execute(insert(table_of(RouterPort)), {
                "router_id": router["id"], "port_id": port["id"],
                "port_type": l3.DEVICE_OWNER_ROUTER_GW})
            now, revision = utcnow(), row.revision_number + 1  # before _bump updates row
            self._bump(session, router["id"], now, gw_port_id=port["id"], enable_snat=snat)
            changed = store.with_gateway(original, port, snat, revision, now)
            self._publish("precommit_update", ctx, changed, original, session=session)
            return changed, original

        try:
            changed, original = self._write(in_tx)
        except Exception:
            self._undo_port(port["id"])
            raise
        self._publish("after_update", ctx, changed, original)
        return changed

    def _change_gateway(self, ctx: Context, router: dict[str, Any],
                        gateway: dict[str, Any]) -> dict[str, Any]:
        """Same external network: new ``enable_snat`` or ``external_fixed_ips``."""
        wanted_ips = gateway.get("external_fixed_ips")
        current = router["external_gateway_info"]
        if wanted_ips and wanted_ips != current["external_fixed_ips"]:
            self.core_plugin.update_port(internal_context(), router["gw_port_id"],
                                         {"fixed_ips": wanted_ips})
        snat = gateway.get("enable_snat", current["enable_snat"])

        def in_tx(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
            store.router_row(session, router["id"], lock=True)
            original = self._router(session, router["id"])
            self._bump(session, router["id"], enable_snat=snat)
            changed = self._router(session, router["id"])
            self._publish("precommit_update", ctx, changed, original, session=session)
            return changed, original

        changed, original = self._write(in_tx)
        self._publish("after_update", ctx, changed, original)
        return changed

    # --- update --------------------------------------------------------------------

    def update_router(self, ctx: Context, router_id: str,
                      changes: dict[str, Any]) -> dict[str, Any]:
        plain = {k: v for k, v in changes.items() if k != "external_gateway_info"}
        if plain or "external_gateway_info" not in changes:
            self._update_plain(ctx, router_id, plain)
        else:
            with self.db.reader() as session:
                check_write(ctx, "router", self._public(self._router(session, router_id)))
        if "external_gateway_info" in changes:
            self._set_gateway(ctx, router_id, changes["external_gateway_info"])
        return self.get_router(ctx, router_id)

    def _update_plain(self, ctx: Context, router_id: str,
                      changes: dict[str, Any]) -> dict[str, Any]:
        def in_tx(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
            row = store.router_row(session, router_id, lock=True)
            if row is None:
                raise l3.RouterNotFound(router_id=router_id)
            original = self._router(session, router_id, row)
            check_write(ctx, "router", self._public(original))
            if "routes" in changes:
                self._store_routes(session, router_id, changes["routes"])
            self._bump(session, router_id, **{k: changes[k] for k in (
                "name", "description", "admin_state_up") if k in changes})
            changed = self._router(session, router_id)
            self._publish("precommit_update", ctx, changed, original, session=session)
            return changed, original

        changed, original = self._write(in_tx)
        self._publish("after_update", ctx, changed, original)
        return changed

    # --- extra routes --------------------------------------------------------------

    def _store_routes(self, session: Session, router_id: str,
                      routes: list[dict[str, str]]) -> None:
        routes = _normalized(routes)
        self._check_nexthops(session, router_id, routes)
        session.execute(delete(RouterRoute).where(RouterRoute.router_id == router_id))
        if routes:
            session.connection().execute(insert(table_of(RouterRoute)), [
                {"router_id": router_id, **r} for r in routes])

    @staticmethod
    def _check_nexthops(session: Session, router_id: str,
                        routes: list[dict[str, str]]) -> None:
        """Each nexthop is on a subnet of the router's ports, and not the router itself."""
        subnets = store.interface_subnets(session, router_id)
        own = {s["ip_address"] for s in subnets}
        for route in routes:
            hop = netaddr.IPAddress(route["nexthop"])
            if route["nexthop"] in own:
                raise l3.InvalidRoutes(routes=[route], reason="the nexthop is used by router")
            if not any(hop in netaddr.IPNetwork(s["cidr"]) for s in subnets):
                raise l3.InvalidRoutes(routes=[route],
                                       reason="the nexthop is not connected with router")

    def add_extraroutes(self, ctx: Context, router_id: str,
                        body: dict[str, Any]) -> dict[str, Any]:
        routes = _routes_of(body)
        return self._edit_routes(ctx, router_id, lambda have: have + [
            r for r in routes if r not in have])

    def remove_extraroutes(self, ctx: Context, router_id: str,
                           body: dict[str, Any]) -> dict[str, Any]:
        routes = _routes_of(body)
        return self._edit_routes(ctx, router_id, lambda have: [
            r for r in have if r not in routes])

    def _edit_routes(self, ctx: Context, router_id: str, edit: Any) -> dict[str, Any]:
        def in_tx(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
            if store.router_row(session, router_id, lock=True) is None:
                raise l3.RouterNotFound(router_id=router_id)
            original = self._router(session, router_id)
            self._store_routes(session, router_id, edit(_normalized(original["routes"])))
            self._bump(session, router_id)
            changed = self._router(session, router_id)
            self._publish("precommit_update", ctx, changed, original, session=session)
            return changed, original

        changed, original = self._write(in_tx)
        self._publish("after_update", ctx, changed, original)
        return {"router": self._public(changed)}

    # --- delete --------------------------------------------------------------------

    def delete_router(self, ctx: Context, router_id: str) -> None:
        self._remove_router(ctx, router_id, check=True)

    def _remove_router(self, ctx: Context, router_id: str, check: bool = False) -> None:
        def in_tx(session: Session) -> dict[str, Any]:
            found = store.router_row_in_use(session, router_id)
            if found is None:
                raise l3.RouterNotFound(router_id=router_id)
            row, interfaces, fips = found
            router = self._router(session, router_id, row)
            if check:
                check_write(ctx, "router", self._public(router))
            if interfaces:
                raise l3.RouterInUse(router_id=router_id)
            if fips:
                raise l3.RouterInUse(router_id=router_id,
                                     reason="still has associated floating IPs")
            self._publish("precommit_delete", ctx, router, session=session)
            if router["tags"]:  # tag changes lock the router row: none came meanwhile
                session.execute(delete(Tag).where(Tag.resource_id == router_id))
            session.execute(delete(Router).where(Router.id == router_id))
            return router

        router: dict[str, Any] = self._write(in_tx)
        if router["gw_port_id"]:
            self._drop_port(router["gw_port_id"])
        self._publish("after_delete", ctx, router)

    # --- reads ---------------------------------------------------------------------

    def get_router(self, ctx: Context, router_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            return self._public(self._router(session, router_id))

    def get_routers(self, ctx: Context, filters: dict[str, list[Any]],
                    page: Page | None = None) -> list[dict[str, Any]]:
        scope = None if ctx.is_admin else Router.project_id == (ctx.project_id or "")
        with self.db.reader() as session:
            ids = store.router_listing().select_ids(session, filters, scope, page or Page())
            return store.load_routers(session, ids)

    def _update_router_tags(self, ctx: Context, router_id: str,
                            change: TagChange) -> list[str]:
        def in_tx(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
            if store.router_row(session, router_id, lock=True) is None:
                raise l3.RouterNotFound(router_id=router_id)
            original = self._router(session, router_id)
            before = current_tags(session, router_id)
            store_tags(session, "routers", router_id, before, change.apply(before))
            self._bump(session, router_id)
            changed = self._router(session, router_id)
            self._publish("precommit_update", ctx, changed, original, session=session)
            return changed, original

        changed, original = self._write(in_tx)
        self._publish("after_update", ctx, changed, original)
        return list(changed["tags"])


def _routes_of(body: dict[str, Any]) -> list[dict[str, str]]:
    router = body.get("router")
    routes = router.get("routes") if isinstance(router, dict) else None
    if not isinstance(routes, list):
        raise exc.HTTPBadRequest(msg="Request body must be {\"router\": {\"routes\": [...]}}")
    msg = l3.ROUTE_LIST(routes)
    if msg:
        raise exc.InvalidInput(error_message=f"Invalid input for routes. Reason: {msg}.")
    return _normalized(routes)


def _normalized(routes: list[dict[str, str]]) -> list[dict[str, str]]:
    """Destinations as CIDRs (``10.0.0.1`` → ``10.0.0.1/32``), duplicates dropped."""
    seen: list[dict[str, str]] = []
    for route in routes:
        item = {"destination": str(netaddr.IPNetwork(route["destination"])),
                "nexthop": str(netaddr.IPAddress(route["nexthop"]))}
        if item not in seen:
            seen.append(item)
    return seen

