"""The callback registry that the core plugin and the service plugins share.

One ``Events`` instance lives on the core plugin (``core_plugin.events``); service
plugins subscribe to it and publish on it. An event is ``<phase>_<operation>`` on a
resource (``port``, ``network``, ``security_group`` …), with Neutron's phases:

- ``before_<op>``: before the transaction. A callback refuses the change by raising a
  ``NeutronException`` (a router-interface port refusing a plain ``DELETE /ports``);
  the error reaches the API caller as it is.
- ``precommit_<op>``: inside the transaction, with ``session=`` the change's session.
  A callback writes what must commit or roll back with the change (a journal row, a
  port's security-group bindings) or refuses it by raising; the whole transaction is
  rolled back and retried or reported like any error of the change itself.
- ``after_<op>``: after the commit (and the mechanism drivers' postcommits). For
  notifiers and observers: a failure is logged, never reported to the caller, since
  the change has already happened.

Dict extenders let a service plugin add attributes to another plugin's resources (the
``security_groups`` of a port) in batches: ``extend(resource, session, items)`` calls
every extender once per batch, so a list of 2,000 ports costs one query per extender.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from neutrino.context import Context

LOG = logging.getLogger(__name__)

BEFORE = "before"
PRECOMMIT = "precommit"
AFTER = "after"
PHASES = (BEFORE, PRECOMMIT, AFTER)

# callback(resource, event, ctx, current, original, **details)
Callback = Callable[..., None]
# extender(session, items): adds attributes to each item (a dict) in place
Extender = Callable[[Session, list[dict[str, Any]]], None]


def phase_of(event: str) -> str:
    """``before_delete`` -> ``before``; ValueError for a name without a known phase."""
    phase = event.split("_", 1)[0]
    if phase not in PHASES or "_" not in event:
        raise ValueError(f"event {event!r} is not <before|precommit|after>_<operation>")
    return phase


class Events:
    """Subscribers per (resource, event), and dict extenders per resource."""

    def __init__(self) -> None:
        self._subscribers: dict[tuple[str, str], list[Callback]] = defaultdict(list)
        self._extenders: dict[str, list[Extender]] = defaultdict(list)

    def subscribe(self, resource: str, event: str, callback: Callback) -> None:
        """Call ``callback(resource, event, ctx, current, original, **details)`` on it."""
        phase_of(event)
        self._subscribers[(resource, event)].append(callback)

    def publish(self, resource: str, event: str, ctx: Context, current: dict[str, Any],
                original: dict[str, Any] | None = None, **details: Any) -> None:
        """Run the subscribers in subscription order.

        ``before_``/``precommit_`` callbacks' errors propagate (they refuse the
        change); ``after_`` callbacks' errors are logged and the rest still run.
        ``details`` are facts of the change that are not attributes of the resource
        (``session`` for precommit; ``port_hosts``: the hosts of the ports a network
        delete took along).
        """
        callbacks = self._subscribers.get((resource, event))
        if not callbacks:
            return
        swallow = phase_of(event) == AFTER
        for callback in callbacks:
            if not swallow:
                callback(resource, event, ctx, current, original, **details)
                continue
            try:
                callback(resource, event, ctx, current, original, **details)
            except Exception:
                LOG.exception("%s %s callback %s failed", resource, event, callback)

    def register_extender(self, resource: str, extender: Extender) -> None:
        """Have ``extender(session, items)`` add attributes to every ``resource`` dict."""
        self._extenders[resource].append(extender)

    def extend(self, resource: str, session: Session, items: list[dict[str, Any]]) -> None:
        """Apply the extenders of ``resource`` to ``items`` (in place), one call each."""
        if items:
            for extender in self._extenders.get(resource, ()):
                extender(session, items)
