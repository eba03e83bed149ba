"""What the L3 plugin's parts share: transactions, If-Match, the router ports it makes.

A router's ports are ordinary core ports made through the core plugin, each in its
own transaction before (or after) the router's own change, as in Neutron: the
router's transaction never nests the core plugin's. The plugin deletes them with
``internal_context()``, which the port guard (``ports.py``) lets through.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef.attributes import PORTS, REQUIRED
from neutrino.context import Context, admin_context
from neutrino.db.base import utcnow
from neutrino.db.models import Router
from neutrino.plugins.base import ServicePlugin
from neutrino.plugins.events import Events

LOG = logging.getLogger(__name__)

# Set on the context of the plugin's own port deletes (Neutron's ``l3_port_check``).
INTERNAL = "l3_internal"


def internal_context() -> Context:
    ctx = admin_context()
    setattr(ctx, INTERNAL, True)
    return ctx


def is_internal(ctx: Context) -> bool:
    return bool(getattr(ctx, INTERNAL, False))


def check_revision(ctx: Context, current: int) -> None:
    """Honour ``If-Match: revision_number=N`` inside the writing transaction."""
    wanted = getattr(ctx, "if_match_revision", None)
    if wanted is not None and wanted != current:
        raise exc.RevisionNumberConstraintFailed(
            constraint=f"revision_number={wanted}", current=current)


def check_write(ctx: Context, member: str, item: dict[str, Any]) -> None:
    """The API caller's checks on ``item`` (read in the writing transaction), then
    If-Match.

    The plugin sets ``checks_write_guard``: for ``PUT``/``DELETE`` of a router or a
    floating IP the controller leaves ``ctx.write_guard`` = (member, id, check)
    instead of reading the resource first (a second read of it per request);
    ``check(item)`` raises NotFound when the caller may not see it and
    PolicyNotAuthorized when it may see but not change it. Only the resource the
    request names is checked.
    """
    guard = getattr(ctx, "write_guard", None)
    if guard is not None:
        if (guard[0], guard[1]) != (member, item["id"]):
            return
        guard[2](item)
    check_revision(ctx, item["revision_number"])


def all_or_undo(bodies: list[dict[str, Any]], make: Callable[[dict[str, Any]], dict[str, Any]],
                undo: Callable[[str], None]) -> list[dict[str, Any]]:
    """``make`` each body (each in its own transactions); on a failure ``undo`` the ones
    already made, by id, and re-raise: a bulk create is all or nothing."""
    made: list[dict[str, Any]] = []
    try:
        for body in bodies:
            made.append(make(body))
    except Exception:
        for item in made:
            undo(item["id"])
        raise
    return made


def bad_request(resource: str, msg: str) -> exc.BadRequest:
    return exc.BadRequest(resource=resource, msg=msg)


class L3Base(ServicePlugin):
    """Transactions, events and core-port helpers of the L3 plugin."""

    events: Events

    def _write(self, fn: Callable[[Session], Any]) -> Any:
        return self.db.write(fn)

    @staticmethod
    def _bump(session: Session, router_id: str, now: dt.datetime | None = None,
              **values: Any) -> None:
        """Apply ``values`` to the router, moving its revision and updated_at (to
        ``now`` when given: the caller builds the router's dict from it)."""
        session.execute(update(Router).where(Router.id == router_id).values(
            revision_number=Router.revision_number + 1, updated_at=now or utcnow(),
            **values))

    def _make_port(self, body: dict[str, Any]) -> dict[str, Any]:
        """A router-owned core port (no project unless given; admin up; no name)."""
        # Every attribute as the API would default it, as for a POST /ports.
        values = {name: attr.default for name, attr in PORTS.attrs.items()
                  if attr.allow_post and attr.default is not REQUIRED}
        values.update({"name": "", "admin_state_up": True, "project_id": "",
                       "tenant_id": "", **body})
        return dict(self.core_plugin.create_port_bulk(admin_context(), [values])[0])

    def _drop_port(self, port_id: str) -> None:
        """Delete a port the plugin made; gone already is fine."""
        with contextlib.suppress(exc.PortNotFound):
            self.core_plugin.delete_port(internal_context(), port_id)

    def _undo_port(self, port_id: str) -> None:
        """Delete a port made for a change that then failed (the error goes on)."""
        try:
            self._drop_port(port_id)
        except Exception:
            LOG.exception("could not delete port %s of a failed L3 change", port_id)
