"""Floating IPs: allocation on the external network, association with a fixed IP.

The floating IP's own port (``network:floatingip``, ``device_id`` = the floating
IP, no project) is made first through the core plugin, then the floating IP row
in its own transaction (undoing the port if that fails). Association works out the
router: the one whose gateway is on the floating network and which has an
interface on the fixed IP's subnet. Events: ``floatingip`` ``precommit_<op>``
(``session=``) and ``after_<op>``.
"""

from __future__ import annotations

import uuid
from typing import Any

import netaddr
from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import l3
from neutrino.context import Context
from neutrino.db.base import table_of, utcnow
from neutrino.db.models import FloatingIP, PortForwarding, Tag
from neutrino.db.query import Page
from neutrino.db.rbac import external_for
from neutrino.db.resources import load_subnets, subnets_for_ipam
from neutrino.plugins.l3 import store
from neutrino.plugins.l3.base import L3Base, all_or_undo, bad_request, check_write
from neutrino.plugins.tags import TagChange, current_tags, store_tags

FLOATINGIP = "floatingip"
# (fixed port id, fixed IP, router id): what an association sets.
Association = tuple[str | None, str | None, str | None]
NONE: Association = (None, None, None)


def _v4_ips(port: dict[str, Any]) -> list[dict[str, str]]:
    return [ip for ip in port["fixed_ips"] if netaddr.IPAddress(ip["ip_address"]).version == 4]


class FloatingIPMixin(L3Base):
    """The ``floatingips`` collection."""

    def _fip(self, session: Session, fip_id: str) -> dict[str, Any]:
        fips = store.load_floatingips(session, [fip_id])
        if not fips:
            raise l3.FloatingIPNotFound(floatingip_id=fip_id)
        return fips[0]

    # --- association -----------------------------------------------------------------

    def _association(self, session: Session, ctx: Context, fip: dict[str, Any],
                     port_id: str | None, fixed_ip: str | None) -> Association:
        """Where ``fip`` goes for a request of (port, fixed IP); errors as Neutron's."""
        return self._associate(session, ctx, fip, port_id, fixed_ip)[0]

    def _associate(self, session: Session, ctx: Context, fip: dict[str, Any],
                   port_id: str | None, fixed_ip: str | None
                   ) -> tuple[Association, dict[str, Any] | None]:
        """``_association``, and the ``port_details`` of the port (None without)."""
        if not port_id:
            return NONE, None
        port = store.association_port(session, port_id)
        if port is None:
            raise exc.PortNotFound(port_id=port_id)
        if not ctx.is_admin and port["project_id"] != fip["project_id"]:
            raise bad_request(FLOATINGIP, (
                f"Port {port_id} is associated with a different tenant than Floating IP "
                f"{fip.get('id')} and therefore cannot be bound."))
        chosen = self._fixed_ip_of(port, fixed_ip)
        router_id, other = store.association_target(
            session, chosen["subnet_id"], fip["floating_network_id"], port_id,
            chosen["ip_address"], fip.get("id"))
        if router_id is None:
            raise l3.ExternalGatewayForFloatingIPNotFound(
                external_network_id=fip["floating_network_id"],
                subnet_id=chosen["subnet_id"], port_id=port_id)
        if other is not None:
            raise l3.FloatingIPPortAlreadyAssociated(
                port_id=port_id, fip_id=other.id, fixed_ip=chosen["ip_address"],
                floating_ip_address=other.floating_ip_address,
                net_id=other.floating_network_id)
        return (port_id, chosen["ip_address"], router_id), port["details"]

    @staticmethod
    def _fixed_ip_of(port: dict[str, Any], fixed_ip: str | None) -> dict[str, str]:
        ips = _v4_ips(port)
        if fixed_ip:
            for ip in ips:
                if ip["ip_address"] == fixed_ip:
                    return ip
            raise bad_request(FLOATINGIP,
                              f"Port {port['id']} does not have fixed ip {fixed_ip}")
        if not ips:
            raise bad_request(FLOATINGIP, f"Cannot add floating IP to port {port['id']} that "
                                          "has no fixed IPv4 addresses")
        if len(ips) > 1:
            raise bad_request(FLOATINGIP, (
                f"Port {port['id']} has multiple fixed IPv4 addresses.  Must provide a "
                "specific IPv4 address when assigning a floating IP"))
        return ips[0]

    # --- create ----------------------------------------------------------------------

    def create_floatingip(self, ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        return self.create_floatingip_bulk(ctx, [body])[0]

    def create_floatingip_bulk(self, ctx: Context,
                               bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return all_or_undo(bodies, lambda body: self._create_fip(ctx, body),
                           lambda fip_id: self.delete_floatingip(ctx, fip_id))

    def _create_fip(self, ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        net_id = body["floating_network_id"]
        fip_id = str(uuid.uuid4())
        with self.db.reader() as session:
            subnets = self._external_subnets(session, net_id, body.get("subnet_id"),
                                             None if ctx.is_admin else body["project_id"])
            # Checked before anything is made, and again in the transaction.
            self._association(session, ctx, {"floating_network_id": net_id,
                                             "project_id": body["project_id"]},
                              body.get("port_id"), body.get("fixed_ip_address"))
        port = self._allocate(fip_id, net_id, subnets, body.get("floating_ip_address"))

        def in_tx(session: Session) -> dict[str, Any]:
            fip = {"id": fip_id, "floating_network_id": net_id,
                   "project_id": body["project_id"]}
            (fixed_port, fixed_ip, router_id), details = self._associate(
                session, ctx, fip, body.get("port_id"), body.get("fixed_ip_address"))
            now = utcnow()
            values = {
                "id": fip_id, "project_id": body["project_id"], "name": "",
                "description": body.get("description") or "",
                "floating_ip_address": port["fixed_ips"][0]["ip_address"],
                "floating_network_id": net_id, "floating_port_id": port["id"],
                "fixed_port_id": fixed_port, "fixed_ip_address": fixed_ip,
                "router_id": router_id, "status": "DOWN", "created_at": now,
                "updated_at": now, "revision_number": 0}
            session.connection().execute(insert(table_of(FloatingIP)), values)
            # Built from what was just written (and the port read with the association).
            made = store.new_floatingip(values, details)
            self.events.publish(FLOATINGIP, "precommit_create", ctx, made, session=session)
            return made

        try:
            made: dict[str, Any] = self._write_fip(in_tx, body)
        except Exception:
            self._undo_port(port["id"])
            raise
        self.events.publish(FLOATINGIP, "after_create", ctx, made)
        return made

    def _write_fip(self, in_tx: Any, body: dict[str, Any]) -> Any:
        """``_write``, a concurrent association of the same fixed IP as Neutron's 409."""
        try:
            return self._write(in_tx)
        except IntegrityError:
            # The unique key on (network, port, fixed IP) refused the second one.
            raise l3.FloatingIPPortAlreadyAssociated(
                port_id=body.get("port_id"), fip_id="", fixed_ip=body.get("fixed_ip_address"),
                floating_ip_address="", net_id=body.get("floating_network_id", "")) from None

    @staticmethod
    def _external_subnets(session: Session, net_id: str, subnet_id: str | None,
                          project: str | None) -> list[dict[str, Any]]:
        # External for this project: RBAC ``access_as_external`` (any project if None).
        external = external_for(session, net_id, project)
        if external is None:
            raise exc.NetworkNotFound(net_id=net_id)
        if not external:
            raise bad_request(FLOATINGIP, f"Network {net_id} is not a valid external network")
        subnets = [s for s in subnets_for_ipam(session, net_id) if s["ip_version"] == 4]
        if subnet_id:
            subnets = [s for s in subnets if s["id"] == subnet_id]
            if not subnets and not load_subnets(session, [subnet_id]):
                raise exc.SubnetNotFound(subnet_id=subnet_id)
        if not subnets:
            raise bad_request(FLOATINGIP, f"Network {net_id} does not contain any IPv4 "
                                          "subnet")
        return subnets

    def _allocate(self, fip_id: str, net_id: str, subnets: list[dict[str, Any]],
                  address: str | None) -> dict[str, Any]:
        """The floating IP's port, with ``address`` or the first free IPv4 address."""
        body = {"network_id": net_id, "device_owner": l3.DEVICE_OWNER_FLOATINGIP,
                "device_id": fip_id}
        if address:
            return self._make_port({**body, "fixed_ips": [{"ip_address": address}]})
        for subnet in subnets:
            try:
                return self._make_port({**body, "fixed_ips": [{"subnet_id": subnet["id"]}]})
            except exc.IpAddressGenerationFailure:
                if subnet is subnets[-1]:
                    raise
        raise AssertionError("no subnet")  # _external_subnets returns at least one

    # --- update ----------------------------------------------------------------------

    def update_floatingip(self, ctx: Context, fip_id: str,
                          changes: dict[str, Any]) -> dict[str, Any]:
        def in_tx(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
            row = store.fip_row(session, fip_id, lock=True)
            if row is None:
                raise l3.FloatingIPNotFound(floatingip_id=fip_id)
            original = self._fip(session, fip_id)
            check_write(ctx, FLOATINGIP, original)
            values: dict[str, Any] = {k: changes[k] for k in ("description",) if k in changes}
            if "port_id" in changes or "fixed_ip_address" in changes:
                port_id = changes.get("port_id", original["port_id"])
                if port_id and original["port_forwardings"]:
                    raise l3.FipInUseByPortForwarding(id=fip_id)
                fixed_port, fixed_ip, router_id = self._association(
                    session, ctx, original, port_id, changes.get("fixed_ip_address"))
                values.update(fixed_port_id=fixed_port, fixed_ip_address=fixed_ip,
                              router_id=router_id)
                if (fixed_port, fixed_ip, router_id) != (
                        original["port_id"], original["fixed_ip_address"],
                        original["router_id"]):
                    # Down until the (new) router's L3 agent reports it ACTIVE.
                    values["status"] = "DOWN"
            self._bump_fip(session, fip_id, **values)
            changed = self._fip(session, fip_id)
            self.events.publish(FLOATINGIP, "precommit_update", ctx, changed, original,
                                session=session)
            return changed, original

        changed, original = self._write_fip(in_tx, {"floating_network_id": "", **changes})
        self.events.publish(FLOATINGIP, "after_update", ctx, changed, original)
        return changed

    @staticmethod
    def _bump_fip(session: Session, fip_id: str, **values: Any) -> None:
        session.execute(update(FloatingIP).where(FloatingIP.id == fip_id).values(
            revision_number=FloatingIP.revision_number + 1, updated_at=utcnow(), **values))

    def disassociate_in(self, session: Session, ctx: Context,
                        port_id: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Detach every floating IP from ``port_id`` in ``session`` (the port is going).

        Returns (floating IP after, before) pairs; ``precommit_update`` is published
        for each, the caller publishes ``after_update`` once committed.
        """
        changed = []
        for fip_id in store.fips_of_port(session, port_id):
            original = self._fip(session, fip_id)
            self._bump_fip(session, fip_id, fixed_port_id=None, fixed_ip_address=None,
                           router_id=None, status="DOWN")
            fip = self._fip(session, fip_id)
            self.events.publish(FLOATINGIP, "precommit_update", ctx, fip, original,
                                session=session)
            changed.append((fip, original))
        return changed

    # --- delete ----------------------------------------------------------------------

    def delete_floatingip(self, ctx: Context, fip_id: str) -> None:
        def in_tx(session: Session) -> tuple[dict[str, Any], str]:
            row = store.fip_row(session, fip_id, lock=True)
            if row is None:
                raise l3.FloatingIPNotFound(floatingip_id=fip_id)
            fip = self._fip(session, fip_id)
            check_write(ctx, FLOATINGIP, fip)
            self.events.publish(FLOATINGIP, "precommit_delete", ctx, fip, session=session)
            session.execute(delete(PortForwarding).where(
                PortForwarding.floatingip_id == fip_id))
            session.execute(delete(Tag).where(Tag.resource_id == fip_id))
            session.execute(delete(FloatingIP).where(FloatingIP.id == fip_id))
            return fip, row.floating_port_id

        fip, port_id = self._write(in_tx)
        self._drop_port(port_id)
        self.events.publish(FLOATINGIP, "after_delete", ctx, fip)

    # --- reads -----------------------------------------------------------------------

    def get_floatingip(self, ctx: Context, fip_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            return self._fip(session, fip_id)

    def get_floatingips(self, ctx: Context, filters: dict[str, list[Any]],
                        page: Page | None = None) -> list[dict[str, Any]]:
        scope = None if ctx.is_admin else FloatingIP.project_id == (ctx.project_id or "")
        with self.db.reader() as session:
            ids = store.fip_listing().select_ids(session, filters, scope, page or Page())
            return store.load_floatingips(session, ids)

    def _update_fip_tags(self, ctx: Context, fip_id: str, change: TagChange) -> list[str]:
        def in_tx(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
            if store.fip_row(session, fip_id, lock=True) is None:
                raise l3.FloatingIPNotFound(floatingip_id=fip_id)
            original = self._fip(session, fip_id)
            before = current_tags(session, fip_id)
            store_tags(session, "floatingips", fip_id, before, change.apply(before))
            self._bump_fip(session, fip_id)
            changed = self._fip(session, fip_id)
            self.events.publish(FLOATINGIP, "precommit_update", ctx, changed, original,
                                session=session)
            return changed, original

        changed, original = self._write(in_tx)
        self.events.publish(FLOATINGIP, "after_update", ctx, changed, original)
        return list(changed["tags"])
