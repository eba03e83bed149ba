"""Journal rows of routers, router interfaces and floating IPs, and their full sync.

Rows carry Neutron's dicts. A router's row adds ``gw_port_id`` (networking-odl's
router dict has it), so a router update that sets a gateway waits for the gateway
port's create. A router interface is its own object, ``router_interface`` (URL
collection ``router-interfaces``), keyed by the interface's port id: ``{id (the
port), router_id, port_id, subnet_id, subnet_ids, network_id, project_id}`` —
a separate object rather than a router update, so the controller learns exactly
which interface came or went and the interface's create waits for its router,
subnets and port, while the router's delete waits for its interfaces' deletes.
A floating IP waits for its network, port and router (``dependencies``).

The interface's port itself is journaled by ML2 like any port (``device_owner``
``network:router_interface``, ``device_id`` the router), ahead of the interface.
A port delete that releases floating IPs records their updates after the port's
delete (ML2 journals the port before the L3 plugin hears of it); the updates no
longer name the port, so nothing waits on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.db.models.journal import CREATE, DELETE, UPDATE
from neutrino.journal import full_sync
from neutrino.journal.dependencies import Entry
from neutrino.journal.journal import record

ROUTER = "router"
ROUTER_INTERFACE = "router_interface"
FLOATINGIP = "floatingip"

Loader = Callable[[Session, Sequence[str]], list[dict[str, Any]]]


def router_data(router: dict[str, Any], gw_port_id: str | None) -> dict[str, Any]:
    return {**router, "gw_port_id": gw_port_id}


def interface_data(info: dict[str, Any]) -> dict[str, Any]:
    """The API's answer ``{id: router, port_id …}`` as the journal's object (id: port)."""
    data = {k: v for k, v in info.items() if k != "id"}
    return {"id": info["port_id"], "router_id": info["id"], **data}


def record_router(session: Session, operation: str, router: dict[str, Any],
                  gw_port_id: str | None = None) -> int:
    data = router_data(router, gw_port_id)
    return record(session, [Entry(ROUTER, data["id"], operation, data)])[0]


def record_router_interface(session: Session, operation: str, info: dict[str, Any]) -> int:
    data = interface_data(info)
    return record(session, [Entry(ROUTER_INTERFACE, data["id"], operation, data)])[0]


def record_floatingip(session: Session, operation: str, fip: dict[str, Any]) -> int:
    return record(session, [Entry(FLOATINGIP, fip["id"], operation, dict(fip))])[0]


def _recorder(resource: str, operation: str) -> Callable[..., None]:
    """An events callback that journals ``operation`` of ``resource`` in its session."""
    def on_event(resource_: str, event: str, ctx: Any, current: dict[str, Any],
                 original: dict[str, Any] | None = None, *, session: Session,
                 **details: Any) -> None:
        if resource == ROUTER:
            record_router(session, operation, current, details.get("gw_port_id"))
        elif resource == ROUTER_INTERFACE:
            record_router_interface(session, operation, current)
        else:
            record_floatingip(session, operation, current)
    return on_event


OPERATIONS: dict[str, tuple[str, ...]] = {
    ROUTER: (CREATE, UPDATE, DELETE),
    # Interfaces are added and removed, never changed.
    ROUTER_INTERFACE: (CREATE, DELETE),
    FLOATINGIP: (CREATE, UPDATE, DELETE),
}


def subscribe(events: Any, wake: Callable[..., None]) -> None:
    """Journal the L3 plugin's ``precommit_*`` events; ``wake`` the workers on ``after_*``."""
    for resource, operations in OPERATIONS.items():
        for operation in operations:
            events.subscribe(resource, f"precommit_{operation}", _recorder(resource, operation))
            events.subscribe(resource, f"after_{operation}", wake)


def _ids_of(model: Any) -> Callable[[Session], list[str]]:
    def all_ids(session: Session) -> list[str]:
        return list(session.execute(select(model.id).order_by(model.created_at, model.id))
                    .scalars())
    return all_ids


def register_full_sync(router_model: Any, load_routers: Callable[..., list[dict[str, Any]]],
                       fip_model: Any, load_fips: Loader, interface_ids: Callable[..., Any],
                       load_interfaces: Loader) -> None:
    """Have full sync re-record routers (before ports: networking-odl's order), then
    router interfaces and floating IPs (after ports). Registering again changes nothing.
    """
    def routers(session: Session, ids: Sequence[str]) -> list[dict[str, Any]]:
        return load_routers(session, ids, with_gw_port=True)

    sources = [(ROUTER, full_sync.ResourceSource(ROUTER, _ids_of(router_model), routers),
                "port"),
               (ROUTER_INTERFACE, full_sync.ResourceSource(
                   ROUTER_INTERFACE, interface_ids, load_interfaces), None),
               (FLOATINGIP, full_sync.ResourceSource(FLOATINGIP, _ids_of(fip_model),
                                                     load_fips), None)]
    for object_type, source, before in sources:
        if full_sync.source_for(object_type) is None:
            full_sync.register(source, before=before)
