"""Port forwardings of floating IPs (``/v2.0/floatingips/{id}/port_forwardings``).

A floating IP either has a fixed port or forwardings, never both (Neutron's 409s);
an external port is forwarded once per protocol (400 as Neutron's duplicate entry).
The first forwarding sets the floating IP's ``router_id`` (the router that reaches
the internal port's subnet), the last one gone clears it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import l3
from neutrino.context import Context
from neutrino.db.base import table_of
from neutrino.db.models import FloatingIP, PortForwarding
from neutrino.db.query import Page
from neutrino.db.resources import load_ports
from neutrino.plugins.l3 import store
from neutrino.plugins.l3.base import L3Base, bad_request

_KEYS = ("internal_port_id", "internal_ip_address", "internal_port", "external_port",
         "protocol", "description")


def _duplicate(values: dict[str, Any]) -> exc.BadRequest:
    conflict = {k: values[k] for k in ("external_port", "protocol", "internal_port_id",
                                       "internal_ip_address", "internal_port")}
    return bad_request("port_forwarding", "A duplicate port forwarding entry with same "
                                          f"attributes already exists, conflicting values "
                                          f"are {conflict}")


class PortForwardingMixin(L3Base):
    """``create/get/update/delete_floatingip_port_forwarding`` and the listing."""

    def _pf(self, session: Session, pf_id: str, fip_id: str) -> dict[str, Any]:
        row = session.execute(select(PortForwarding).where(
            PortForwarding.id == pf_id, PortForwarding.floatingip_id == fip_id)).scalar()
        if row is None:
            raise l3.PortForwardingNotFound(id=pf_id)
        return store.pf_dict(row)

    def _pf_router(self, session: Session, fip: Any, values: dict[str, Any]) -> str:
        """The router for ``values``' internal socket; 400/404 as Neutron's."""
        ports = load_ports(session, [values["internal_port_id"]])
        if not ports:
            raise exc.PortNotFound(port_id=values["internal_port_id"])
        ip = next((i for i in ports[0]["fixed_ips"]
                   if i["ip_address"] == values["internal_ip_address"]), None)
        if ip is None:
            raise bad_request("port_forwarding", (
                f"The internal IP {values['internal_ip_address']} is not a fixed IP of "
                f"port {values['internal_port_id']}"))
        router_id = store.router_for_subnet(session, ip["subnet_id"], fip.floating_network_id)
        if router_id is None or (fip.router_id and fip.router_id != router_id):
            raise l3.ExternalGatewayForFloatingIPNotFound(
                external_network_id=fip.floating_network_id, subnet_id=ip["subnet_id"],
                port_id=values["internal_port_id"])
        return router_id

    def _locked_fip(self, session: Session, fip_id: str) -> Any:
        fip = store.fip_row(session, fip_id, lock=True)
        if fip is None:
            raise l3.FloatingIPNotFound(floatingip_id=fip_id)
        return fip

    def _save_pf(self, session: Session, fip: Any, values: dict[str, Any],
                 pf_id: str | None) -> None:
        router_id = self._pf_router(session, fip, values)
        try:
            with session.begin_nested():
                if pf_id is None:
                    session.connection().execute(insert(table_of(PortForwarding)), values)
                else:
                    session.execute(update(PortForwarding).where(
                        PortForwarding.id == pf_id).values(**values))
        except IntegrityError:
            raise _duplicate(values) from None
        if fip.router_id != router_id:
            session.execute(update(FloatingIP).where(FloatingIP.id == fip.id).values(
                router_id=router_id))

    def create_floatingip_port_forwarding(self, ctx: Context, fip_id: str,
                                          item: dict[str, Any]) -> dict[str, Any]:
        def in_tx(session: Session) -> dict[str, Any]:
            fip = self._locked_fip(session, fip_id)
            if fip.fixed_port_id:
                raise l3.PortHasBindingFloatingIP(
                    floating_ip_address=fip.floating_ip_address, fip_id=fip_id,
                    port_id=item["internal_port_id"], fixed_ip=item["internal_ip_address"])
            values = {"id": str(uuid.uuid4()), "floatingip_id": fip_id,
                      "project_id": fip.project_id, **{k: item.get(k, "") for k in _KEYS}}
            self._save_pf(session, fip, values, None)
            made = self._pf(session, values["id"], fip_id)
            self.events.publish("port_forwarding", "precommit_create", ctx, made,
                                session=session)
            return made

        made: dict[str, Any] = self._write(in_tx)
        self.events.publish("port_forwarding", "after_create", ctx, made)
        return made

    def update_floatingip_port_forwarding(self, ctx: Context, pf_id: str, fip_id: str,
                                          changes: dict[str, Any]) -> dict[str, Any]:
        def in_tx(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
            fip = self._locked_fip(session, fip_id)
            original = self._pf(session, pf_id, fip_id)
            values = {**{k: original[k] for k in _KEYS},
                      **{k: v for k, v in changes.items() if k in _KEYS}}
            self._save_pf(session, fip, values, pf_id)
            changed = self._pf(session, pf_id, fip_id)
            self.events.publish("port_forwarding", "precommit_update", ctx, changed,
                                original, session=session)
            return changed, original

        changed, original = self._write(in_tx)
        self.events.publish("port_forwarding", "after_update", ctx, changed, original)
        return changed

    def delete_floatingip_port_forwarding(self, ctx: Context, pf_id: str,
                                          fip_id: str) -> None:
        def in_tx(session: Session) -> dict[str, Any]:
            self._locked_fip(session, fip_id)
            pf = self._pf(session, pf_id, fip_id)
            self.events.publish("port_forwarding", "precommit_delete", ctx, pf,
                                session=session)
            session.execute(delete(PortForwarding).where(PortForwarding.id == pf_id))
            if not store.forwardings_of(session, [fip_id]):
                session.execute(update(FloatingIP).where(FloatingIP.id == fip_id).values(
                    router_id=None))
            return pf

        pf = self._write(in_tx)
        self.events.publish("port_forwarding", "after_delete", ctx, pf)

    def get_floatingip_port_forwarding(self, ctx: Context, pf_id: str,
                                       fip_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            return self._pf(session, pf_id, fip_id)

    def get_floatingip_port_forwardings(self, ctx: Context, fip_id: str,
                                        filters: dict[str, list[Any]],
                                        page: Page | None = None) -> list[dict[str, Any]]:
        with self.db.reader() as session:
            ids = store.pf_listing().select_ids(
                session, filters, PortForwarding.floatingip_id == fip_id, page or Page())
            rows = {r.id: r for r in session.execute(select(PortForwarding).where(
                PortForwarding.id.in_(list(ids)))).scalars()} if ids else {}
            return [store.pf_dict(rows[i]) for i in ids if i in rows]
