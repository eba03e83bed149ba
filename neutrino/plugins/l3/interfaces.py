"""Router interfaces: ``add_router_interface`` and ``remove_router_interface``.

An interface is a core port (``network:router_interface``, ``device_id`` = the
router) plus its ``routerports`` row. By subnet, the plugin makes the port with
the subnet's gateway IP; by port, it takes over the caller's port. The port is
made or taken first, then the router's transaction checks again (a concurrent
interface on an overlapping subnet) and records it; a failure there undoes the
port. Events: ``router_interface`` ``precommit_create``/``precommit_delete`` (the
interface info, ``session=``) and ``after_create``/``after_delete``.
"""

from __future__ import annotations

from typing import Any

import netaddr
from sqlalchemy import delete, exists, insert, select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import l3
from neutrino.context import Context
from neutrino.db.base import table_of
from neutrino.db.models import FloatingIP, IPAllocation, RouterPort, RouterRoute, Subnet
from neutrino.db.resources import load_ports, load_subnets
from neutrino.plugins.l3 import store
from neutrino.plugins.l3.base import L3Base, bad_request, internal_context

INTERFACE = "router_interface"


def interface_info(router: Any, port: dict[str, Any]) -> dict[str, Any]:
    """Neutron's answer to an interface change (and the journal's interface object)."""
    subnets = [ip["subnet_id"] for ip in port["fixed_ips"]]
    return {"id": router.id, "tenant_id": router.project_id, "project_id": router.project_id,
            "port_id": port["id"], "subnet_id": subnets[0] if subnets else None,
            "subnet_ids": subnets, "network_id": port["network_id"]}


def _one_of(body: dict[str, Any]) -> tuple[str | None, str | None]:
    port_id, subnet_id = body.get("port_id"), body.get("subnet_id")
    if port_id and subnet_id:
        raise bad_request("router", "Cannot specify both subnet-id and port-id")
    if not port_id and not subnet_id:
        raise bad_request("router", "Either subnet_id or port_id must be specified")
    for value in (port_id, subnet_id):
        if value is not None and not isinstance(value, str):
            raise bad_request("router", f"Invalid id {value!r}")
    return port_id, subnet_id


class InterfaceMixin(L3Base):
    """Member actions of ``routers`` that attach and detach subnets."""

    # --- checks ----------------------------------------------------------------------

    @staticmethod
    def _visible_subnet(session: Session, ctx: Context, subnet_id: str) -> dict[str, Any]:
        subnets = load_subnets(session, [subnet_id])
        if not subnets or not (ctx.is_admin or subnets[0]["project_id"] == ctx.project_id):
            raise exc.SubnetNotFound(subnet_id=subnet_id)
        return subnets[0]

    @staticmethod
    def _check_fits(session: Session, router_id: str, subnet_ids: list[str],
                    skip_port: str | None = None) -> None:
        """400 if a subnet is on the router already or overlaps one that is."""
        existing = [s for s in store.interface_subnets(session, router_id)
                    if s["port_id"] != skip_port]
        for subnet in load_subnets(session, subnet_ids):
            for other in existing:
                if other["id"] == subnet["id"]:
                    raise bad_request("router", f"Router already has a port on subnet "
                                                f"{subnet['id']}")
                if store.cidrs_overlap(other["cidr"], subnet["cidr"]):
                    raise bad_request("router", (
                        f"Cidr {subnet['cidr']} of subnet {subnet['id']} overlaps with cidr "
                        f"{other['cidr']} of subnet {other['id']}"))

    # --- add -------------------------------------------------------------------------

    def add_router_interface(self, ctx: Context, router_id: str,
                             body: dict[str, Any]) -> dict[str, Any]:
        port_id, subnet_id = _one_of(body)
        if subnet_id:
            port = self._port_for_subnet(ctx, router_id, subnet_id)
        else:
            assert port_id is not None
            port = self._take_port(ctx, router_id, port_id)
        try:
            info = self._write(lambda s: self._attach(s, ctx, router_id, port))
        except Exception:
            if subnet_id:
                self._undo_port(port["id"])
            else:  # the caller's port is given back
                self.core_plugin.update_port(internal_context(), port["id"],
                                             {"device_owner": "", "device_id": ""})
            raise
        self.events.publish(INTERFACE, "after_create", ctx, info)
        return dict(info)

    def _port_for_subnet(self, ctx: Context, router_id: str,
                         subnet_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            router = store.router_row(session, router_id)
            if router is None:
                raise l3.RouterNotFound(router_id=router_id)
            project = router.project_id
            subnet = self._visible_subnet(session, ctx, subnet_id)
            if not subnet["gateway_ip"]:
                raise bad_request("router", "Subnet for router interface must have a "
                                            "gateway IP")
            self._check_fits(session, router_id, [subnet_id])
        return self._make_port({
            "network_id": subnet["network_id"], "project_id": project, "tenant_id": project,
            "device_owner": l3.DEVICE_OWNER_ROUTER_INTF,
            "device_id": router_id,
            "fixed_ips": [{"subnet_id": subnet_id, "ip_address": subnet["gateway_ip"]}]})

    def _take_port(self, ctx: Context, router_id: str, port_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            if store.router_row(session, router_id) is None:
                raise l3.RouterNotFound(router_id=router_id)
            ports = load_ports(session, [port_id])
            if not ports or not (ctx.is_admin or ports[0]["project_id"] == ctx.project_id):
                raise exc.PortNotFound(port_id=port_id)
            port = ports[0]
            if port["device_id"] or port["device_owner"]:
                raise l3.PortInUse(port_id=port_id, net_id=port["network_id"],
                                   device_id=port["device_id"] or port["device_owner"])
            subnets = [ip["subnet_id"] for ip in port["fixed_ips"]]
            if not subnets:
                raise bad_request("router", "Router port must have at least one fixed IP")
            v4 = [s for s in load_subnets(session, subnets) if s["ip_version"] == 4]
            if len(v4) > 1:
                raise bad_request("router", "Cannot have multiple IPv4 subnets on router port")
            self._check_fits(session, router_id, subnets)
        return dict(self.core_plugin.update_port(internal_context(), port_id, {
            "device_owner": l3.DEVICE_OWNER_ROUTER_INTF, "device_id": router_id}))

    def _attach(self, session: Session, ctx: Context, router_id: str,
                port: dict[str, Any]) -> dict[str, Any]:
        router = store.router_row(session, router_id, lock=True)
        if router is None:
            raise l3.RouterNotFound(router_id=router_id)
        self._check_fits(session, router_id, [ip["subnet_id"] for ip in port["fixed_ips"]],
                         skip_port=port["id"])
        session.connection().execute(insert(table_of(RouterPort)), {
            "router_id": router_id, "port_id": port["id"],
            "port_type": l3.DEVICE_OWNER_ROUTER_INTF})
        self._bump(session, router_id)
        info = interface_info(router, port)
        self.events.publish(INTERFACE, "precommit_create", ctx, info, session=session)
        return info

    # --- remove ----------------------------------------------------------------------

    def remove_router_interface(self, ctx: Context, router_id: str,
                                body: dict[str, Any]) -> dict[str, Any]:
        port_id, subnet_id = body.get("port_id"), body.get("subnet_id")
        if not port_id and not subnet_id:
            raise bad_request("router", "Either subnet_id or port_id must be specified")
        info, port, rest = self._write(
            lambda s: self._detach(s, ctx, router_id, port_id, subnet_id))
        if rest:
            # The port stays, on its other subnets, still the router's.
            self.core_plugin.update_port(internal_context(), port["id"], {"fixed_ips": [
                ip for ip in port["fixed_ips"] if ip["subnet_id"] in rest]})
        else:
            self._drop_port(port["id"])
        self.events.publish(INTERFACE, "after_delete", ctx, info)
        return dict(info)

    def _detach(self, session: Session, ctx: Context, router_id: str, port_id: str | None,
                subnet_id: str | None) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        router = store.router_row(session, router_id, lock=True)
        if router is None:
            raise l3.RouterNotFound(router_id=router_id)
        port = self._interface_port(session, router_id, port_id, subnet_id)
        subnets = [ip["subnet_id"] for ip in port["fixed_ips"]]
        leaving = [subnet_id] if subnet_id else subnets
        for sid in leaving:
            self._check_unused(session, router_id, sid)
        rest = [s for s in subnets if s not in leaving]
        if not rest:
            session.execute(delete(RouterPort).where(RouterPort.port_id == port["id"]))
        self._bump(session, router_id)
        info = interface_info(router, {**port, "fixed_ips": [
            ip for ip in port["fixed_ips"] if ip["subnet_id"] in leaving]})
        self.events.publish(INTERFACE, "precommit_delete", ctx, info, session=session)
        return info, port, rest

    @staticmethod
    def _interface_port(session: Session, router_id: str, port_id: str | None,
                        subnet_id: str | None) -> dict[str, Any]:
        if port_id:
            owner = store.router_of_port(session, port_id)
            if owner != (router_id, l3.DEVICE_OWNER_ROUTER_INTF):
                raise l3.RouterInterfaceNotFound(router_id=router_id, port_id=port_id)
            port = load_ports(session, [port_id])[0]
            if subnet_id and subnet_id not in [ip["subnet_id"] for ip in port["fixed_ips"]]:
                raise l3.RouterInterfaceNotFoundForSubnet(router_id=router_id,
                                                          subnet_id=subnet_id)
            return port
        found = [s for s in store.interface_subnets(session, router_id) if s["id"] == subnet_id]
        if not found:
            raise l3.RouterInterfaceNotFoundForSubnet(router_id=router_id, subnet_id=subnet_id)
        return load_ports(session, [found[0]["port_id"]])[0]

    @staticmethod
    def _check_unused(session: Session, router_id: str, subnet_id: str) -> None:
        """409 if a floating IP or an extra route of the router needs the subnet."""
        if session.execute(select(exists().where(
                FloatingIP.router_id == router_id,
                IPAllocation.port_id == FloatingIP.fixed_port_id,
                IPAllocation.ip_address == FloatingIP.fixed_ip_address,
                IPAllocation.subnet_id == subnet_id))).scalar():
            raise l3.RouterInterfaceInUseByFloatingIP(router_id=router_id, subnet_id=subnet_id)
        cidr = session.execute(select(Subnet.cidr).where(Subnet.id == subnet_id)).scalar()
        hops = session.execute(select(RouterRoute.nexthop).where(
            RouterRoute.router_id == router_id)).scalars()
        if cidr and any(netaddr.IPAddress(h) in netaddr.IPNetwork(cidr) for h in hops):
            raise l3.RouterInterfaceInUseByRoute(router_id=router_id, subnet_id=subnet_id)

