"""ML2 subnets: CIDR and gateway checks, pools, DNS, routes, IPv6 modes, overlap."""

from __future__ import annotations

import uuid
from typing import Any

import netaddr
from sqlalchemy import delete, exists, insert, or_, select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import ipam, resources
from neutrino.db.base import table_of
from neutrino.db.models import (
    DnsNameserver,
    IPAllocation,
    Network,
    NetworkRBAC,
    Port,
    Subnet,
    SubnetRoute,
    Tag,
)
from neutrino.db.query import Page
from neutrino.db.rbac import ACCESS_SHARED, granted_clause
from neutrino.plugins.ml2 import driver_api as api
from neutrino.plugins.ml2 import routed
from neutrino.plugins.ml2.base import (
    Ml2Base,
    check_write,
    lock_row,
    specified,
)

ROUTER_OWNERS = ("network:router_interface", "network:router_interface_distributed",
                 "network:ha_router_replicated_interface", "network:router_gateway")


def _invalid(msg: str) -> exc.InvalidInput:
    return exc.InvalidInput(error_message=msg)


def check_ipv6_modes(body: dict[str, Any]) -> None:
    ra, addr = body.get("ipv6_ra_mode"), body.get("ipv6_address_mode")
    if body["ip_version"] == 4 and (ra or addr):
        raise _invalid("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp "
                       "is set to False or ip_version is 4")
    if ra and addr and ra != addr:
        raise _invalid(f"ipv6_ra_mode set to '{ra}' with ipv6_address_mode set to "
                       f"'{addr}' is not valid. If both attributes are set, they must be "
                       "the same value")


def check_gateway(cidr: str, gateway: str | None) -> None:
    """The gateway's version must match; inside the subnet it cannot be the network
    or (IPv4) broadcast address. A gateway outside the subnet is allowed, as in
    Neutron: nothing tells us the subnet it lives on, so there is nothing to check.
    """
    if gateway is None:
        return
    net = netaddr.IPNetwork(cidr)
    ip = netaddr.IPAddress(gateway)
    if ip.version != net.version:
        raise _invalid(f"Gateway IP version inconsistent with subnet's IP version "
                       f"{net.version}")
    if ip in net and net.version == 4 and net.prefixlen < 31 \
            and int(ip) in (net.first, net.last):
        raise _invalid("Gateway is not valid on subnet")


class SubnetMixin(Ml2Base):
    """create/update/delete/get/list subnets."""

    def _check_lists(self, body: dict[str, Any], version: int) -> None:
        dns = body.get("dns_nameservers") or []
        if len(dns) > self.conf.max_dns_nameservers:
            raise _invalid(f"Number of DNS nameservers exceeds the limit "
                           f"{self.conf.max_dns_nameservers}")
        routes = body.get("host_routes") or []
        if len(routes) > self.conf.max_subnet_host_routes:
            raise _invalid(f"Number of host routes exceeds the limit "
                           f"{self.conf.max_subnet_host_routes}")
        for route in routes:
            dest = netaddr.IPNetwork(route["destination"])
            hop = netaddr.IPAddress(route["nexthop"])
            if dest.version != version or hop.version != version:
                raise _invalid(f"Host route {route} does not match the subnet's IP version")

    def _check_overlap(self, session: Session, network_id: str, cidr: str) -> None:
        new = netaddr.IPNetwork(cidr)
        for other in session.execute(select(Subnet.cidr).where(
                Subnet.network_id == network_id)).scalars():
            if new in netaddr.IPNetwork(other) or netaddr.IPNetwork(other) in new:
                raise _invalid(f"Requested subnet with cidr: {cidr} for network: "
                               f"{network_id} overlaps with another subnet")

    def _store_lists(self, session: Session, subnet_id: str, body: dict[str, Any]) -> None:
        if "dns_nameservers" in body:
            session.execute(delete(DnsNameserver).where(DnsNameserver.subnet_id == subnet_id))
            if body["dns_nameservers"]:
                session.connection().execute(insert(table_of(DnsNameserver)), [
                    {"subnet_id": subnet_id, "address": a, "order": i}
                    for i, a in enumerate(body["dns_nameservers"])])
        if "host_routes" in body:
            session.execute(delete(SubnetRoute).where(SubnetRoute.subnet_id == subnet_id))
            if body["host_routes"]:
                session.connection().execute(insert(table_of(SubnetRoute)), [
                    {"subnet_id": subnet_id, "destination": str(netaddr.IPNetwork(
                        r["destination"]).cidr), "nexthop": r["nexthop"]}
                    for r in body["host_routes"]])

    def _create_subnet_tx(self, session: Session, ctx: Context,
                          body: dict[str, Any]) -> tuple[dict[str, Any], api.SubnetContext]:
        net_id = body["network_id"]
        network = resources.load_networks(session, [net_id])
        if not network:
            raise exc.NetworkNotFound(net_id=net_id)
        # Lock the network row before the pool allocation and the overlap check, so
        # that two concurrent creates on one network cannot both pass them.
        lock_row(session, Network, net_id)
        # The subnetpools plugin fills in ``cidr`` and ``subnetpool_id`` (from a pool).
        body = {**body}
        self.events.publish("subnet", "precommit_allocate", ctx, body, session=session)
        if not specified(body.get("cidr")):
            raise exc.BadRequest(resource="subnets", msg="a subnetpool must be specified in "
                                                         "the absence of a cidr")
        cidr = str(netaddr.IPNetwork(body["cidr"]).cidr)
        version = body["ip_version"]
        if netaddr.IPNetwork(cidr).version != version:
            raise _invalid(f"Cidr {cidr} does not match the subnet's ip_version {version}")
        check_ipv6_modes(body)
        self._check_lists(body, version)
        self._check_overlap(session, net_id, cidr)
        routed.check_subnet_segment(session, net_id, body.get("segment_id"))
        gateway = body.get("gateway_ip")
        gateway = ipam.default_gateway(cidr) if not specified(gateway) else gateway
        check_gateway(cidr, gateway)
        pools = body.get("allocation_pools")
        if specified(pools) and pools is not None:
            ipam.validate_pools(cidr, pools, gateway)
        else:
            pools = ipam.default_pools(cidr, gateway)
        subnet_id = str(uuid.uuid4())
        session.connection().execute(insert(table_of(Subnet)), {
            "id": subnet_id, "network_id": net_id, "project_id": self.project_of(ctx, body),
            "name": body.get("name", ""), "description": body.get("description", ""),
            "ip_version": version, "cidr": cidr, "gateway_ip": gateway,
            "enable_dhcp": body.get("enable_dhcp", True),
            "ipv6_ra_mode": body.get("ipv6_ra_mode"),
            "ipv6_address_mode": body.get("ipv6_address_mode"),
            "subnetpool_id": body.get("subnetpool_id"),
            "segment_id": body.get("segment_id")})
        ipam.store_pools(session, subnet_id, pools)
        self._store_lists(session, subnet_id, body)
        self.bump(session, Network, net_id)
        subnet = resources.load_subnets(session, [subnet_id])[0]
        if ipam.is_slaac(subnet):
            self._add_slaac_to_ports(session, subnet)
        mech_ctx = api.SubnetContext(self, ctx, session, subnet, network[0])
        self.mechanism_manager.precommit("create_subnet", mech_ctx)
        self.events.publish("subnet", "precommit_create", ctx, subnet, session=session)
        return subnet, mech_ctx

    def _add_slaac_to_ports(self, session: Session, subnet: dict[str, Any]) -> None:
        """Existing ports get their address on a new auto-address subnet, as Neutron does."""
        for port_id, mac in session.execute(select(Port.id, Port.mac_address).where(
                Port.network_id == subnet["network_id"],
                Port.device_owner.not_in(ROUTER_OWNERS))).all():
            ipam.allocate_specific(session, subnet, port_id, ipam.slaac_address(subnet, mac))

    def create_subnet(self, ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        return self.create_subnet_bulk(ctx, [body])[0]

    def create_subnet_bulk(self, ctx: Context,
                           bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        def in_tx(session: Session) -> tuple[list[dict[str, Any]], list[Any]]:
            made = [self._create_subnet_tx(session, ctx, b) for b in bodies]
            return [s for s, _ in made], [c for _, c in made]

        subnets = self.run("create_subnet", in_tx,
                           undo=self.undo_as_admin(self.delete_subnet))
        for subnet in subnets:
            self.events.publish("subnet", "after_create", ctx, subnet)
        return subnets

    def update_subnet(self, ctx: Context, subnet_id: str,
                      body: dict[str, Any]) -> dict[str, Any]:
        holder: dict[str, Any] = {}

        def in_tx(session: Session) -> tuple[dict[str, Any], list[Any]]:
            row = self.row_or_404(session, Subnet, subnet_id,
                                  lambda: exc.SubnetNotFound(subnet_id=subnet_id))
            original = resources.load_subnets(session, [subnet_id])[0]
            check_write(ctx, "subnet", original)
            holder["original"] = original
            self._apply_subnet_update(session, row, original, body)
            subnet = resources.load_subnets(session, [subnet_id])[0]
            network = resources.load_networks(session, [row.network_id])[0]
            mech_ctx = api.SubnetContext(self, ctx, session, subnet, network, original)
            self.mechanism_manager.precommit("update_subnet", mech_ctx)
            return subnet, [mech_ctx]

        subnet = self.run("update_subnet", in_tx)
        self.events.publish("subnet", "after_update", ctx, subnet, holder.get("original"))
        return subnet

    def _apply_subnet_update(self, session: Session, row: Any, original: dict[str, Any],
                             body: dict[str, Any]) -> None:
        self._check_lists(body, row.ip_version)
        gateway = body.get("gateway_ip", row.gateway_ip)
        check_gateway(row.cidr, gateway)
        pools = body.get("allocation_pools")
        if specified(pools) and pools is not None:
            ipam.validate_pools(row.cidr, pools, gateway)
            ipam.store_pools(session, row.id, pools)
        elif "gateway_ip" in body:
            ipam.validate_pools(row.cidr, original["allocation_pools"], gateway)
        self._store_lists(session, row.id, body)
        values: dict[str, Any] = {k: body[k] for k in ("name", "description",
                                                        "enable_dhcp", "gateway_ip")
                  if k in body}
        self.bump(session, Subnet, row.id, values)

    def _delete_subnet_tx(self, session: Session, ctx: Context, subnet_id: str,
                          network: dict[str, Any] | None = None) -> api.SubnetContext:
        subnets = resources.load_subnets(session, [subnet_id])
        if not subnets:
            raise exc.SubnetNotFound(subnet_id=subnet_id)
        subnet = subnets[0]
        check_write(ctx, "subnet", subnet)
        # The allocators' lock: a port created concurrently either committed its
        # address before we look (409 below) or waits for this delete.
        ipam.lock_subnet(session, subnet_id)
        if not ipam.is_slaac(subnet):
            in_use = session.execute(select(exists().where(
                IPAllocation.subnet_id == subnet_id, IPAllocation.port_id == Port.id,
                Port.device_owner != "network:dhcp"))).scalar()
            if in_use:
                raise exc.SubnetInUse(subnet_id=subnet_id, reason=(
                    "One or more ports have an IP allocation from this subnet"))
        if network is None:
            network = resources.load_networks(session, [subnet["network_id"]])[0]
        mech_ctx = api.SubnetContext(self, ctx, session, subnet, network)
        self.mechanism_manager.precommit("delete_subnet", mech_ctx)
        session.execute(delete(IPAllocation).where(IPAllocation.subnet_id == subnet_id))
        session.execute(delete(Tag).where(Tag.resource_id == subnet_id))
        session.execute(delete(Subnet).where(Subnet.id == subnet_id))
        self.bump(session, Network, subnet["network_id"])
        return mech_ctx

    def delete_subnet(self, ctx: Context, subnet_id: str) -> None:
        def in_tx(session: Session) -> tuple[dict[str, Any], list[Any]]:
            mech_ctx = self._delete_subnet_tx(session, ctx, subnet_id)
            return mech_ctx.current, [mech_ctx]

        subnet = self.run("delete_subnet", in_tx)
        self.events.publish("subnet", "after_delete", ctx, subnet)

    def get_subnet(self, ctx: Context, subnet_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            subnets = resources.load_subnets(session, [subnet_id])
        if not subnets:
            raise exc.SubnetNotFound(subnet_id=subnet_id)
        return subnets[0]

    def get_subnets(self, ctx: Context, filters: dict[str, list[Any]],
                    page: Page | None = None) -> list[dict[str, Any]]:
        scope = None
        if not ctx.is_admin:
            project = ctx.project_id or ""
            # Subnets of networks an RBAC policy shares with the project, or with all.
            scope = or_(Subnet.project_id == project, granted_clause(
                NetworkRBAC, Subnet.network_id, project, ACCESS_SHARED))
        with self.db.reader() as session:
            ids = resources.subnet_listing().select_ids(session, filters, scope, page or Page())
            return resources.load_subnets(session, ids)
