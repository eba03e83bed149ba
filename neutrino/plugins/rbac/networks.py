"""A network's ``shared`` and ``router:external`` as wildcard RBAC policies.

Subscribed to the core plugin's ``network`` precommit events, so the policies are
written (or refused) in the network's own transaction: ``shared: true`` makes the
wildcard ``access_as_shared`` policy and ``shared: false`` removes it (409 while a
project that only it lets in still has ports there); ``router:external: true`` makes
the wildcard ``access_as_external`` policy and ``false`` removes every
``access_as_external`` policy (409 while routers or floating IPs use the network).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import rbac as rbac_api
from neutrino.context import Context
from neutrino.db.rbac import ACCESS_EXTERNAL, ACCESS_SHARED, WILDCARD
from neutrino.plugins.events import Events
from neutrino.plugins.rbac import store
from neutrino.plugins.rbac.registry import Losing
from neutrino.plugins.rbac.types import NETWORK, network_in_use


def _wildcard(session: Session, net: dict[str, Any], action: str) -> None:
    if not store.exists_policy(session, NETWORK, net["id"], action, WILDCARD):
        store.insert_policy(session, NETWORK, {
            "project_id": net["project_id"], "target_tenant": WILDCARD, "action": action,
            "object_id": net["id"]})


def on_create(resource: str, event: str, ctx: Context, current: dict[str, Any],
              original: dict[str, Any] | None, session: Session, **details: Any) -> None:
    if current.get("shared"):
        _wildcard(session, current, ACCESS_SHARED)
    if current.get("router:external"):
        _wildcard(session, current, ACCESS_EXTERNAL)


def on_update(resource: str, event: str, ctx: Context, current: dict[str, Any],
              original: dict[str, Any] | None, session: Session,
              rbac_sync: bool = False, **details: Any) -> None:
    if rbac_sync or original is None:
        return  # the change came from a policy: the policies are already right
    if current["shared"] != original["shared"]:
        if current["shared"]:
            _wildcard(session, current, ACCESS_SHARED)
        else:
            _unshare(session, current)
    if current["router:external"] != original["router:external"]:
        if current["router:external"]:
            _wildcard(session, current, ACCESS_EXTERNAL)
        else:
            _make_internal(session, current)


def _unshare(session: Session, net: dict[str, Any]) -> None:
    losing = store.losing(session, NETWORK, net["project_id"], net["id"], ACCESS_SHARED,
                          WILDCARD, skip=_wildcard_id(session, net["id"], ACCESS_SHARED))
    if losing is not None and network_in_use(session, net["id"], ACCESS_SHARED, losing):
        raise exc.InvalidSharedSetting(network=net["name"] or net["id"])
    store.remove_all(session, NETWORK, net["id"], ACCESS_SHARED, WILDCARD)


def _make_internal(session: Session, net: dict[str, Any]) -> None:
    # As Neutron: no project's router or floating IP may stay on it, not even the owner's.
    details = network_in_use(session, net["id"], ACCESS_EXTERNAL, Losing())
    if details:
        raise rbac_api.ExternalNetworkInUse(net_id=net["id"])
    store.remove_all(session, NETWORK, net["id"], ACCESS_EXTERNAL)


def _wildcard_id(session: Session, net_id: str, action: str) -> str | None:
    model = NETWORK.rbac_model
    found: str | None = session.execute(select(model.id).where(
        model.object_id == net_id, model.action == action,
        model.target_project == WILDCARD)).scalar()
    return found


def register(events: Events) -> None:
    events.subscribe("network", "precommit_create", on_create)
    events.subscribe("network", "precommit_update", on_update)
