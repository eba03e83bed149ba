"""A port's security groups: bound in the port's own transaction, shown on its dict.

Subscribed to the core plugin's ``port`` precommit events, so ML2 never imports
this plugin. As in Neutron: a port created without ``security_groups`` gets its
project's ``default`` group, except trusted ports (``device_owner`` ``network:…``:
router and DHCP ports), which get none; every requested group must belong to the
port's project (404 ``SecurityGroupNotFound``); a port without port security can
have no groups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from neutrino.apidef import securitygroup as sg
from neutrino.apidef.attributes import ATTR_NOT_SPECIFIED
from neutrino.context import Context
from neutrino.db.models import SecurityGroupPortBinding
from neutrino.plugins.events import Events
from neutrino.plugins.securitygroups import store

EnsureDefault = Callable[[Session, str], str]


def is_trusted(port: dict[str, Any]) -> bool:
    """Ports Neutron never filters: those of network devices (router, DHCP …)."""
    return str(port.get("device_owner") or "").startswith("network:")


def _requested(request: dict[str, Any] | None) -> Any:
    if request is None:
        return ATTR_NOT_SPECIFIED
    return request.get("security_groups", ATTR_NOT_SPECIFIED)


def _checked(session: Session, port: dict[str, Any], wanted: list[str]) -> list[str]:
    """``wanted`` if every group belongs to the port's project or is shared with it
    (RBAC), else 404."""
    found = store.visible_groups(session, wanted, port["project_id"], shared=True)
    missing = [g for g in wanted if g not in found]
    if missing:
        raise sg.SecurityGroupNotFound(id=", ".join(missing))
    return sorted(set(wanted))


class PortGroups:
    """The port callbacks and extender; ``ensure_default(session, project)`` gives
    the project's default group (created if missing)."""

    def __init__(self, ensure_default: EnsureDefault) -> None:
        self.ensure_default = ensure_default

    def extend(self, session: Session, ports: list[dict[str, Any]]) -> None:
        groups = store.port_groups(session, [p["id"] for p in ports])
        for port in ports:
            port["security_groups"] = groups.get(port["id"], [])

    def on_create(self, resource: str, event: str, ctx: Context, current: dict[str, Any],
                  original: dict[str, Any] | None, session: Session,
                  request: dict[str, Any] | None = None, **details: Any) -> None:
        wanted = _requested(request)
        if is_trusted(current):
            groups: list[str] = []
        elif not current["port_security_enabled"]:
            if wanted is not ATTR_NOT_SPECIFIED and wanted:
                raise sg.PortSecurityAndIPRequiredForSecurityGroups()
            groups = []
        elif wanted is ATTR_NOT_SPECIFIED:
            groups = [self.ensure_default(session, current["project_id"])]
        else:
            groups = _checked(session, current, wanted)
        store.set_port_groups(session, current["id"], groups, replace=False)
        current["security_groups"] = groups

    def on_update(self, resource: str, event: str, ctx: Context, current: dict[str, Any],
                  original: dict[str, Any] | None, session: Session,
                  request: dict[str, Any] | None = None, **details: Any) -> None:
        before = store.port_groups(session, [current["id"]]).get(current["id"], [])
        wanted = _requested(request)
        groups = before
        if wanted is not ATTR_NOT_SPECIFIED and not is_trusted(current):
            groups = _checked(session, current, wanted)
        if groups and not current["port_security_enabled"]:
            if wanted is not ATTR_NOT_SPECIFIED and wanted:
                raise sg.PortSecurityAndIPRequiredForSecurityGroups()
            raise sg.PortSecurityPortHasSecurityGroup()
        if groups != before:
            store.set_port_groups(session, current["id"], groups)
        current["security_groups"] = groups

    def on_network_create(self, resource: str, event: str, ctx: Context,
                          current: dict[str, Any], original: dict[str, Any] | None,
                          session: Session, **details: Any) -> None:
        """A project's first network makes its default group, as in Neutron."""
        if current.get("project_id"):
            self.ensure_default(session, current["project_id"])

    @staticmethod
    def on_delete(resource: str, event: str, ctx: Context, current: dict[str, Any],
                  original: dict[str, Any] | None, session: Session, **details: Any) -> None:
        session.execute(delete(SecurityGroupPortBinding).where(
            SecurityGroupPortBinding.port_id == current["id"]))


def register(events: Events, ensure_default: EnsureDefault) -> PortGroups:
    """Subscribe the port callbacks and the ``security_groups`` extender."""
    groups = PortGroups(ensure_default)
    events.register_extender("port", groups.extend)
    events.subscribe("port", "precommit_create", groups.on_create)
    events.subscribe("port", "precommit_update", groups.on_update)
    events.subscribe("port", "precommit_delete", groups.on_delete)
    events.subscribe("network", "precommit_create", groups.on_network_create)
    return groups
