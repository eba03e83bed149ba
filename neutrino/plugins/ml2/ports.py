"""ML2 ports: MAC and fixed IPs, address pairs, DHCP options, binding, status."""

from __future__ import annotations

import random
import uuid
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import segment as seg
from neutrino.apidef.attributes import ATTR_NOT_SPECIFIED
from neutrino.common import constants as const
from neutrino.context import Context
from neutrino.db import ipam, provisioning, resources
from neutrino.db.api import RetryRequest
from neutrino.db.base import table_of, utcnow
from neutrino.db.models import (
    AllowedAddressPair,
    ExtraDhcpOpt,
    Network,
    Port,
    PortBinding,
    Tag,
)
from neutrino.db.query import Page
from neutrino.plugins.ml2 import driver_api as api
from neutrino.plugins.ml2 import routed
from neutrino.plugins.ml2.base import Ml2Base, check_write, specified
from neutrino.plugins.ml2.subnets import ROUTER_OWNERS

# A status change: (the port as it is now, its status before).
Changed = tuple[dict[str, Any], str]

# Statements of the hot paths, built once.
_INSERT_PORT = insert(table_of(Port))
_INSERT_BINDING = insert(table_of(PortBinding))
_PORT_COLUMNS = ("id", "network_id", "project_id", "name", "description", "mac_address",
                 "admin_state_up", "status", "device_id", "device_owner",
                 "port_security_enabled", "created_at", "updated_at", "revision_number")
_BINDING_COLUMNS = ("host", "vnic_type", "vif_type", "vif_details", "profile")


def _port_with_binding() -> Any:
    """PostgreSQL: the port's row and its binding's in one statement (one round trip
    fewer per port); the binding references the row the CTE inserts."""
    ports, bindings = table_of(Port), table_of(PortBinding)
    new = insert(ports).values({c: bindparam(c, type_=ports.c[c].type)
                                for c in _PORT_COLUMNS}).returning(ports.c.id).cte("new_port")
    return insert(bindings).from_select(
        ["port_id", *_BINDING_COLUMNS],
        select(new.c.id, *(bindparam(c, type_=bindings.c[c].type) for c in _BINDING_COLUMNS)))


_INSERT_PORT_WITH_BINDING = _port_with_binding()


class AddressPairAndPortSecurityRequired(exc.Conflict):
    message = ("Port Security must be enabled in order to have allowed address pairs "
               "on a port.")


def generate_mac(base_mac: str) -> str:
    """A random MAC under ``base_mac``'s fixed prefix (its non-zero leading octets)."""
    base = base_mac.split(":")
    fixed = 4 if base[3] != "00" else 3
    octets = base[:fixed] + [f"{random.randint(0, 255):02x}" for _ in range(6 - fixed)]
    return ":".join(octets)


class PortMixin(Ml2Base):
    """create/update/delete/get/list ports, plus the agent-facing status update."""

    def _load_ports(self, session: Session, ids: Any) -> list[dict[str, Any]]:
        """Ports as API dicts, with what service plugins add (``security_groups``)."""
        ports = resources.load_ports(session, ids)
        self.events.extend("port", session, ports)
        return ports

    # --- fixed IPs -------------------------------------------------------------------

    def _allocate_ips(self, session: Session, port_id: str, net_id: str, mac: str,
                      owner: str, requested: Any,
                      keep: set[tuple[str, str]] | None = None,
                      host: str | None = None) -> list[tuple[str, str]]:
        """Allocate the requested (or default) addresses; return the new (subnet, ip)s.

        On a routed network the default addresses come from the segment ``host``
        reaches; without a host the allocation is deferred (none now).
        """
        subnets = resources.subnets_for_ipam(session, net_id)
        by_id = {s["id"]: s for s in subnets}
        if not specified(requested):
            if routed.is_routed(subnets):
                if not host:
                    routed.set_ip_allocation(session, port_id, seg.IP_ALLOCATION_DEFERRED)
                    return []
                subnets = routed.subnets_for_host(session, subnets, host, net_id)
            return self._allocate_default(session, port_id, subnets, mac, owner)
        allocated = self._allocate_requested(session, port_id, net_id, mac, owner,
                                             requested, keep, subnets, by_id)
        # A DHCP port serves every segment's subnet of the network it is on.
        if routed.is_routed(subnets) and owner != "network:dhcp":
            routed.check_fixed_ips(session, subnets, {s for s, _ in allocated} | {
                s for s, _ in keep or ()}, host, port_id)
        return allocated

    def _allocate_requested(self, session: Session, port_id: str, net_id: str, mac: str,
                            owner: str, requested: Any, keep: set[tuple[str, str]] | None,
                            subnets: list[dict[str, Any]],
                            by_id: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
        allocated = []
        for entry in requested:
            subnet, ip = self._resolve_fixed_ip(entry, by_id, subnets, net_id)
            if keep is not None and ip and (subnet["id"], ip) in keep:
                continue
            if ipam.is_slaac(subnet) and owner not in ROUTER_OWNERS:
                if ip and ip != ipam.slaac_address(subnet, mac):
                    raise exc.InvalidInput(error_message=(
                        f"IPv6 address {ip} cannot be directly assigned to a port on subnet "
                        f"{subnet['id']} as the subnet is configured for automatic "
                        "addresses"))
                ip = ipam.slaac_address(subnet, mac)
                if keep is not None and (subnet["id"], ip) in keep:
                    continue
            if ip:
                if ip == subnet["gateway_ip"] and owner not in ROUTER_OWNERS:
                    raise exc.IpAddressInUse(net_id=net_id, ip_address=ip)
                ip = ipam.allocate_specific(session, subnet, port_id, ip)
            else:
                ip = ipam.allocate_any(session, subnet, port_id)
            allocated.append((subnet["id"], ip))
        return allocated

    @staticmethod
    def _resolve_fixed_ip(entry: dict[str, Any], by_id: dict[str, dict[str, Any]],
                          subnets: list[dict[str, Any]],
                          net_id: str) -> tuple[dict[str, Any], str | None]:
        ip = entry.get("ip_address")
        if "subnet_id" in entry:
            subnet = by_id.get(entry["subnet_id"])
            if subnet is None:
                raise exc.InvalidInput(error_message=(
                    f"Failed to create port on network {net_id}, because fixed_ips "
                    f"included invalid subnet {entry['subnet_id']}"))
            if ip and not ipam.ip_in_subnet(ip, subnet):
                raise exc.InvalidIpForSubnet(ip_address=ip)
            return subnet, ip
        if not ip:
            raise exc.InvalidInput(error_message="IP allocation requires subnet_id or "
                                                 "ip_address")
        for subnet in subnets:
            if ipam.ip_in_subnet(ip, subnet):
                return subnet, ip
        raise exc.InvalidIpForNetwork(ip_address=ip)

    @staticmethod
    def _allocate_default(session: Session, port_id: str, subnets: list[dict[str, Any]],
                          mac: str, owner: str) -> list[tuple[str, str]]:
        """One IPv4, one stateful IPv6, and every SLAAC address — Neutron's default."""
        router = owner in ROUTER_OWNERS
        allocated = []
        for version in (4, 6):
            candidates = [s for s in subnets if s["ip_version"] == version
                          and (router or not ipam.is_slaac(s))]
            for subnet in candidates:
                try:
                    allocated.append((subnet["id"], ipam.allocate_any(session, subnet, port_id)))
                    break
                except exc.IpAddressGenerationFailure:
                    if subnet is candidates[-1]:
                        raise
        if not router:
            for subnet in subnets:
                if ipam.is_slaac(subnet):
                    allocated.append((subnet["id"], ipam.allocate_specific(
                        session, subnet, port_id, ipam.slaac_address(subnet, mac))))
        return allocated

    # --- children ----------------------------------------------------------------------

    @staticmethod
    def _store_pairs(session: Session, port_id: str, mac: str, pairs: list[Any],
                     replace: bool = True) -> list[dict[str, str]]:
        if replace:
            session.execute(delete(AllowedAddressPair).where(
                AllowedAddressPair.port_id == port_id))
        rows = {(p.get("mac_address") or mac, p["ip_address"]) for p in pairs}
        if rows:
            session.connection().execute(insert(table_of(AllowedAddressPair)), [
                {"port_id": port_id, "mac_address": m, "ip_address": ip} for m, ip in rows])
        return [{"ip_address": ip, "mac_address": m} for m, ip in rows]

    @staticmethod
    def _store_dhcp_opts(session: Session, port_id: str, opts: list[Any],
                         replace: bool = True) -> list[dict[str, Any]]:
        if replace:
            session.execute(delete(ExtraDhcpOpt).where(ExtraDhcpOpt.port_id == port_id))
        live = [{"opt_name": o["opt_name"], "opt_value": o["opt_value"],
                 "ip_version": o.get("ip_version", 4)}
                for o in opts if o.get("opt_value") is not None]
        if live:
            session.connection().execute(insert(table_of(ExtraDhcpOpt)), [
                {"id": str(uuid.uuid4()), "port_id": port_id, **o} for o in live])
        return live

    # --- binding -----------------------------------------------------------------------

    def _bind(self, session: Session, ctx: Context, port: dict[str, Any],
              network: dict[str, Any], segments: list[api.Segment],
              original: dict[str, Any] | None = None) -> None:
        """(Re)bind the port if it has a host: drivers' bind_port, or binding_failed."""
        host = port["binding:host_id"]
        if not host:
            values = {"vif_type": api.VIF_TYPE_UNBOUND, "vif_details": "{}",
                      "segment_id": None}
        else:
            mech_ctx = api.PortContext(self, ctx, session, port, network,
                                       self._segments_to_bind(session, port, segments),
                                       original)
            self.mechanism_manager.bind_port(mech_ctx)
            if mech_ctx.is_bound:
                values = {"vif_type": mech_ctx.vif_type,
                          "vif_details": orjson.dumps(mech_ctx.vif_details).decode(),
                          "segment_id": mech_ctx.bound_segment["id"]
                          if mech_ctx.bound_segment else None}
            else:
                values = {"vif_type": api.VIF_TYPE_BINDING_FAILED, "vif_details": "{}",
                          "segment_id": None}
        session.execute(update(PortBinding).where(PortBinding.port_id == port["id"])
                        .values(**values))

    @staticmethod
    def _segments_to_bind(session: Session, port: dict[str, Any],
                          segments: list[api.Segment]) -> list[api.Segment]:
        """On a routed network, the segment of the port's addresses; else all of them."""
        if len(segments) <= 1:
            return segments
        placed = routed.segments_of_subnets(session, [f["subnet_id"]
                                                      for f in port["fixed_ips"]])
        return [s for s in segments if s["id"] in placed] if placed else segments

    # --- create --------------------------------------------------------------------------

    def _create_port_tx(self, session: Session, ctx: Context,
                        body: dict[str, Any]) -> tuple[dict[str, Any], api.PortContext]:
        net_id = body["network_id"]
        network, segments = resources.load_network(session, net_id, brief=True)
        if network is None:
            raise exc.NetworkNotFound(net_id=net_id)
        port_id = str(uuid.uuid4())
        requested = body.get("port_security_enabled")
        security = bool(network["port_security_enabled"] if not specified(requested)
                        else requested)
        pairs = body.get("allowed_address_pairs")
        if specified(pairs) and pairs and not security:
            raise AddressPairAndPortSecurityRequired()
        profile = body.get("binding:profile")
        binding = {"port_id": port_id, "host": body.get("binding:host_id", ""),
                   "vnic_type": body.get("binding:vnic_type", "normal"),
                   "vif_type": api.VIF_TYPE_UNBOUND, "vif_details": "{}",
                   "profile": orjson.dumps(profile if specified(profile) and profile
                                           else {}).decode()}
        row = self._insert_port(session, ctx, network, body, security, binding)
        mac = row["mac_address"]
        ips = self._allocate_ips(session, port_id, net_id, mac, row["device_owner"],
                                 body.get("fixed_ips"), host=body.get("binding:host_id"))
        stored_pairs = (self._store_pairs(session, port_id, mac, pairs, replace=False)
                        if specified(pairs) and pairs else [])
        opts = (self._store_dhcp_opts(session, port_id, body["extra_dhcp_opts"], replace=False)
                if body.get("extra_dhcp_opts") else [])
        tags = body.get("tags")
        tags = list(dict.fromkeys(tags)) if specified(tags) and tags else []
        self.set_tags(session, "ports", port_id, tags)
        # Built from what was just written: reading it back would double the queries.
        port = resources.port_from_values(row, ips, binding, stored_pairs, opts, tags)
        self.events.publish("port", "precommit_create", ctx, port, session=session,
                            request=body)
        if port["binding:host_id"]:
            self._bind(session, ctx, port, network, segments)
            port = self._load_ports(session, [port_id])[0]
        mech_ctx = api.PortContext(self, ctx, session, port, network, segments)
        self.mechanism_manager.precommit("create_port", mech_ctx)
        return port, mech_ctx

    def _insert_port(self, session: Session, ctx: Context, network: dict[str, Any],
                     body: dict[str, Any], security: bool,
                     binding: dict[str, Any]) -> dict[str, Any]:
        """Insert the port row with a unique MAC, and its binding; return the row's
        values."""
        mac = body.get("mac_address")
        given = specified(mac)
        if given and session.execute(select(exists().where(
                Port.network_id == network["id"], Port.mac_address == mac))).scalar():
            raise exc.MacAddressInUse(net_id=network["id"], mac=mac)
        now = utcnow()
        values = {
            "id": binding["port_id"], "network_id": network["id"],
            "project_id": self.project_of(ctx, body),
            "name": body.get("name", ""), "description": body.get("description", ""),
            "mac_address": mac if given else generate_mac(self.conf.base_mac),
            "admin_state_up": body.get("admin_state_up", True), "status": "DOWN",
            "device_id": body.get("device_id", ""),
            "device_owner": body.get("device_owner", ""),
            "port_security_enabled": security, "created_at": now, "updated_at": now,
            "revision_number": 0}
        conn = session.connection()
        try:
            if conn.dialect.name == "postgresql":
                conn.execute(_INSERT_PORT_WITH_BINDING, {**values, **binding})
            else:
                conn.execute(_INSERT_PORT, values)
                conn.execute(_INSERT_BINDING, binding)
        except IntegrityError:
            # A concurrent request took this MAC after our check, a random MAC
            # collided, or the network went away: run the whole request again, and
            # its checks answer (409, 404) or a new random MAC succeeds.
            raise RetryRequest() from None
        return values

    def create_port(self, ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        return self.create_port_bulk(ctx, [body])[0]

    def create_port_bulk(self, ctx: Context,
                         bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        def in_tx(session: Session) -> tuple[list[dict[str, Any]], list[Any]]:
            made = [self._create_port_tx(session, ctx, b) for b in bodies]
            return [p for p, _ in made], [c for _, c in made]

        ports = self.run("create_port", in_tx, undo=self.undo_as_admin(self.delete_port))
        for port in ports:
            self.events.publish("port", "after_create", ctx, port)
        return ports

    # --- update --------------------------------------------------------------------------

    def update_port(self, ctx: Context, port_id: str, body: dict[str, Any]) -> dict[str, Any]:
        holder: dict[str, Any] = {}

        def in_tx(session: Session) -> tuple[dict[str, Any], list[Any]]:
            row = self.row_or_404(session, Port, port_id,
                                  lambda: exc.PortNotFound(port_id=port_id))
            original = self._load_ports(session, [port_id])[0]
            check_write(ctx, "port", original)
            holder["original"] = original
            network, segments = resources.load_network(session, row.network_id)
            assert network is not None  # ports.network_id is a foreign key
            was_bound_to = (self._bound_segment(session, port_id, segments)
                            if "binding:host_id" in body else None)
            self._apply_port_update(session, row, original, body)
            port = self._load_ports(session, [port_id])[0]
            self.events.publish("port", "precommit_update", ctx, port, original,
                                session=session, request=body)
            if any(k in body for k in ("binding:host_id", "binding:vnic_type",
                                       "binding:profile")):
                self._bind(session, ctx, port, network, segments, original)
                port = self._load_ports(session, [port_id])[0]
            mech_ctx = api.PortContext(self, ctx, session, port, network, segments, original)
            mech_ctx.original_bound_segment = was_bound_to
            self.mechanism_manager.precommit("update_port", mech_ctx)
            return port, [mech_ctx]

        port = self.run("update_port", in_tx)
        self.events.publish("port", "after_update", ctx, port, holder.get("original"))
        return port

    def _apply_port_update(self, session: Session, row: Any, original: dict[str, Any],
                           body: dict[str, Any]) -> None:
        mac = body.get("mac_address", row.mac_address)
        security = body.get("port_security_enabled", row.port_security_enabled)
        pairs = body.get("allowed_address_pairs", original["allowed_address_pairs"])
        if pairs and not security:
            raise AddressPairAndPortSecurityRequired()
        columns = ("name", "description", "admin_state_up", "device_id", "device_owner",
                   "port_security_enabled", "mac_address")
        values = {k: body[k] for k in columns if k in body}
        try:
            with session.begin_nested():
                self.bump(session, Port, row.id, values)
        except IntegrityError:
            raise exc.MacAddressInUse(net_id=row.network_id, mac=mac) from None
        if "fixed_ips" in body:
            self._update_fixed_ips(session, row, mac, original, body)
        elif body.get("binding:host_id"):
            self._place_on_host(session, row, mac, original, body["binding:host_id"])
        if "allowed_address_pairs" in body:
            self._store_pairs(session, row.id, mac, body["allowed_address_pairs"] or [])
        if "extra_dhcp_opts" in body:
            self._merge_dhcp_opts(session, row.id, original, body["extra_dhcp_opts"])
        binding = {"binding:host_id": "host", "binding:vnic_type": "vnic_type"}
        bvalues = {col: body[attr] for attr, col in binding.items() if attr in body}
        if "binding:profile" in body:
            bvalues["profile"] = orjson.dumps(body["binding:profile"] or {}).decode()
        if bvalues:
            session.execute(update(PortBinding).where(PortBinding.port_id == row.id)
                            .values(**bvalues))

    def _update_fixed_ips(self, session: Session, row: Any, mac: str,
                          original: dict[str, Any], body: dict[str, Any]) -> None:
        current = {(f["subnet_id"], f["ip_address"]) for f in original["fixed_ips"]}
        wanted = set()
        for entry in body["fixed_ips"]:
            if entry.get("ip_address") and entry.get("subnet_id"):
                wanted.add((entry["subnet_id"], entry["ip_address"]))
            elif entry.get("ip_address"):
                wanted.update(c for c in current if c[1] == entry["ip_address"])
        subnet_only = {e["subnet_id"] for e in body["fixed_ips"]
                       if e.get("subnet_id") and not e.get("ip_address")}
        # A subnet named without an address keeps the address the port has there.
        wanted.update(c for c in current if c[0] in subnet_only)
        keep = current & wanted
        ipam.release(session, row.id, keep)
        requests = [e for e in body["fixed_ips"]
                    if not (e.get("subnet_id") in subnet_only and not e.get("ip_address")
                            and any(c[0] == e["subnet_id"] for c in keep))]
        self._allocate_ips(session, row.id, row.network_id, mac,
                           body.get("device_owner", row.device_owner), requests, keep,
                           host=body.get("binding:host_id", original["binding:host_id"]))

    def _place_on_host(self, session: Session, row: Any, mac: str, original: dict[str, Any],
                       host: str) -> None:
        """A routed network's port gets a host: its deferred addresses now, from the
        host's segment; addresses it has must be on a segment the host reaches."""
        if row.ip_allocation == seg.IP_ALLOCATION_DEFERRED:
            self._allocate_ips(session, row.id, row.network_id, mac, row.device_owner,
                               ATTR_NOT_SPECIFIED, host=host)
            routed.set_ip_allocation(session, row.id, seg.IP_ALLOCATION_IMMEDIATE)
            return
        subnet_ids = {f["subnet_id"] for f in original["fixed_ips"]}
        if routed.segments_of_subnets(session, subnet_ids):
            routed.check_fixed_ips(session, resources.subnets_for_ipam(session, row.network_id),
                                   subnet_ids, host, row.id)

    def _merge_dhcp_opts(self, session: Session, port_id: str, original: dict[str, Any],
                         updates: list[Any]) -> None:
        """Neutron merges options by name; a None value removes one."""
        merged = {(o["opt_name"], o["ip_version"]): o for o in original["extra_dhcp_opts"]}
        for opt in updates:
            merged[(opt["opt_name"], opt.get("ip_version", 4))] = opt
        self._store_dhcp_opts(session, port_id, list(merged.values()))

    @staticmethod
    def _bound_segment(session: Session, port_id: str,
                       segments: list[api.Segment]) -> api.Segment | None:
        """The segment the port's binding holds now (before a change removes it).

        A network of one segment needs no query: a bound port can only be bound to it.
        """
        if len(segments) <= 1:
            return segments[0] if segments else None
        segment_id = session.execute(select(PortBinding.segment_id).where(
            PortBinding.port_id == port_id)).scalar()
        return next((s for s in segments if s[api.ID] == segment_id), None)

    # --- delete ---------------------------------------------------------------------------

    def _delete_port_tx(self, session: Session, ctx: Context, port_id: str,
                        network: dict[str, Any] | None = None,
                        segments: list[api.Segment] | None = None) -> api.PortContext:
        """Delete the port in ``session``; ``network`` and its ``segments`` when the
        caller (a network delete) has them already."""
        ports = self._load_ports(session, [port_id])
        if not ports:
            raise exc.PortNotFound(port_id=port_id)
        port = ports[0]
        check_write(ctx, "port", port)
        if network is None or segments is None:
            network, segments = resources.load_network(session, port["network_id"])
            assert network is not None  # ports.network_id is a foreign key
        mech_ctx = api.PortContext(self, ctx, session, port, network, segments)
        mech_ctx.original_bound_segment = self._bound_segment(session, port_id, segments)
        self.mechanism_manager.precommit("delete_port", mech_ctx)
        self.events.publish("port", "precommit_delete", ctx, port, session=session)
        # Its fixed IPs, address pairs, DHCP options and binding go with the row (ON
        # DELETE CASCADE): deleting them one table at a time cost four more statements.
        session.execute(delete(Tag).where(Tag.resource_id == port_id))
        session.execute(delete(Port).where(Port.id == port_id))
        return mech_ctx

    def delete_port(self, ctx: Context, port_id: str) -> None:
        def in_tx(session: Session) -> tuple[dict[str, Any], list[Any]]:
            mech_ctx = self._delete_port_tx(session, ctx, port_id)
            return mech_ctx.current, [mech_ctx]

        port = self.run("delete_port", in_tx)
        self.events.publish("port", "after_delete", ctx, port)

    # --- reads ------------------------------------------------------------------------------

    def get_port(self, ctx: Context, port_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            ports = self._load_ports(session, [port_id])
        if not ports:
            raise exc.PortNotFound(port_id=port_id)
        return ports[0]

    def get_ports(self, ctx: Context, filters: dict[str, list[Any]],
                  page: Page | None = None) -> list[dict[str, Any]]:
        scope = None
        if not ctx.is_admin:
            project = ctx.project_id or ""
            scope = or_(Port.project_id == project, exists().where(
                Network.id == Port.network_id, Network.project_id == project))
        with self.db.reader() as session:
            ids = resources.port_listing().select_ids(session, filters, scope, page or Page())
            return self._load_ports(session, ids)

    def update_port_status(self, ctx: Context, port_id: str, status: str) -> bool:
        """Set a port's status (agents report devices up/down); False if unchanged or gone.

        As in Neutron, a status change is a port update for the mechanism drivers
        (precommit in the transaction, postcommit after it), so an SDN controller
        hears of it too. The after_update event carries ``original=None``: the RPC
        layer tells status changes apart from API updates by that.

        ACTIVE is the L2 agent's half of the port's provisioning: while another
        entity (a DHCP agent) still blocks the port it goes to BUILD instead, and
        that entity's ``provisioning_complete`` makes it ACTIVE (False is returned).
        """
        def in_tx(session: Session) -> tuple[Changed | None, list[Any]]:
            row = session.execute(select(Port.network_id, Port.status,
                                         provisioning.pending(Port.id)).where(
                Port.id == port_id)).first()
            if row is None:
                return None, []
            wanted = status
            if status == const.PORT_STATUS_ACTIVE and row.pending and \
                    provisioning.complete(session, port_id, provisioning.L2_AGENT_ENTITY)[1]:
                wanted = const.PORT_STATUS_BUILD
            return self._status_tx(session, ctx, port_id, row, wanted)

        return self._publish_status(ctx, port_id, self.run("update_port", in_tx), status)

    def provisioning_complete(self, ctx: Context, port_id: str, entity: str) -> bool:
        """``entity`` reports the port ready; True if that made it ACTIVE.

        Only a port that was waiting for ``entity`` and whose L2 agent has already
        reported it (BUILD, held back by the block) goes ACTIVE here.
        """
        def in_tx(session: Session) -> tuple[Changed | None, list[Any]]:
            had, remaining = provisioning.complete(session, port_id, entity)
            if not had or remaining:
                return None, []
            row = session.execute(select(Port.network_id, Port.status).where(
                Port.id == port_id)).first()
            if row is None or row.status != const.PORT_STATUS_BUILD:
                return None, []
            return self._status_tx(session, ctx, port_id, row, const.PORT_STATUS_ACTIVE)

        return self._publish_status(ctx, port_id, self.run("update_port", in_tx),
                                    const.PORT_STATUS_ACTIVE)

    def _status_tx(self, session: Session, ctx: Context, port_id: str, row: Any,
                   status: str) -> tuple[Changed | None, list[Any]]:
        """Set ``status`` in ``session``; ((port, previous status), driver contexts)."""
        if row.status == status:
            return None, []
        original = self._load_ports(session, [port_id])[0]
        self.bump(session, Port, port_id, {"status": status})
        # Read back what the bump wrote: a concurrent update may have moved the
        # revision since ``original`` was read, so original + 1 could be stale.
        bumped = session.execute(select(Port.revision_number, Port.updated_at).where(
            Port.id == port_id)).one()
        port = {**original, "status": status, "revision_number": bumped.revision_number,
                "updated_at": resources.timestamp(bumped.updated_at)}
        network, segments = resources.load_network(session, row.network_id)
        mech_ctx = api.PortContext(self, ctx, session, port, network or {}, segments,
                                   original)
        self.mechanism_manager.precommit("update_port", mech_ctx)
        return (port, row.status), [mech_ctx]

    def _publish_status(self, ctx: Context, port_id: str, changed: Changed | None,
                        wanted: str) -> bool:
        """Announce a status change (``previous_status``: what it was, for Nova's events)."""
        if changed is None:
            return False
        port, previous = changed
        self.events.publish("port", "after_update", ctx, self.get_port(ctx, port_id), None,
                            previous_status=previous)
        return bool(port["status"] == wanted)
