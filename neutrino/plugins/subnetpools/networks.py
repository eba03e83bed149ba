"""What pools, scopes and auto-allocation add to networks.

``is_default`` (Neutron's ``auto-allocated-topology`` attribute): the default
external network, admin's to set, one at a time (the key of
``default_external_networks`` holds it; a second is 409
``DefaultExternalNetworkExists``); a network that stops being external stops being
the default. ``ipv4_address_scope``/``ipv6_address_scope``: the scope of the pools
the network's subnets come from. Both through ``core_plugin.events``: ML2 passes the
request to its network precommit events and runs the dict extenders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.apidef import auto_allocated_topology as aat
from neutrino.context import Context
from neutrino.db.base import table_of
from neutrino.db.models import DefaultExternalNetwork, Subnet, SubnetPool
from neutrino.plugins.events import Events

_CHUNK = 500


def default_external_network(session: Session) -> str | None:
    return session.execute(select(DefaultExternalNetwork.network_id)).scalar()


def _scopes(session: Session, ids: Sequence[str]) -> dict[tuple[str, int], str]:
    found: dict[tuple[str, int], str] = {}
    for i in range(0, len(ids), _CHUNK):
        rows = session.execute(select(
            Subnet.network_id, SubnetPool.ip_version, SubnetPool.address_scope_id
        ).join(SubnetPool, SubnetPool.id == Subnet.subnetpool_id).where(
            Subnet.network_id.in_(list(ids[i:i + _CHUNK])),
            SubnetPool.address_scope_id.is_not(None)))
        for net_id, version, scope_id in rows:
            found[(net_id, version)] = str(scope_id)
    return found


def extend(session: Session, nets: list[dict[str, Any]]) -> None:
    default = default_external_network(session)
    scopes = _scopes(session, [n["id"] for n in nets])
    for net in nets:
        net["is_default"] = net["id"] == default
        net["ipv4_address_scope"] = scopes.get((net["id"], 4))
        net["ipv6_address_scope"] = scopes.get((net["id"], 6))


def _make_default(session: Session, net_id: str) -> None:
    current = default_external_network(session)
    if current == net_id:
        return
    if current is not None:
        raise aat.DefaultExternalNetworkExists(net_id=current)
    try:
        with session.begin_nested():
            session.connection().execute(insert(table_of(DefaultExternalNetwork)),
                                         {"scope": "default", "network_id": net_id})
    except IntegrityError:
        raise aat.DefaultExternalNetworkExists(
            net_id=default_external_network(session) or "") from None


def _drop_default(session: Session, net_id: str) -> None:
    session.execute(delete(DefaultExternalNetwork).where(
        DefaultExternalNetwork.network_id == net_id))


def on_network(resource: str, event: str, ctx: Context, current: dict[str, Any],
               original: dict[str, Any] | None = None, *, session: Session,
               request: dict[str, Any] | None = None, **details: Any) -> None:
    """Keep ``default_external_networks`` as the request and ``router:external`` say."""
    wanted = (request or {}).get("is_default")
    external = bool(current.get("router:external"))
    if wanted is True and external:
        _make_default(session, current["id"])
    elif original is not None and (wanted is False or not external):
        _drop_default(session, current["id"])
    if original is None:  # a create: its dict is built from values, not extended
        current.update(is_default=wanted is True and external, ipv4_address_scope=None,
                       ipv6_address_scope=None)
    else:
        current["is_default"] = default_external_network(session) == current["id"]


def register(events: Events) -> None:
    events.register_extender("network", extend)
    events.subscribe("network", "precommit_create", on_network)
    events.subscribe("network", "precommit_update", on_network)
