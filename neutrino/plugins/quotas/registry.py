"""Which resources have a quota: one ``track`` call per resource, from any plugin.

The registry belongs to a core plugin's ``Events`` (several servers can live in one
process, each with its own plugins). A plugin that owns a counted resource calls
``track(core_plugin.events, "router", Router)`` whenever it is loaded, before or
after the quotas plugin: the enforcer subscribes to the resource's
``precommit_create`` as soon as both are there. The quota's name is the event's
resource name, and its configured default is ``[quotas] quota_<name>``.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable
from typing import Any

from neutrino.plugins.events import Events

Exempt = Callable[[dict[str, Any]], bool]
Listener = Callable[["Tracked"], None]


def projectless(item: dict[str, Any]) -> bool:
    """The system's own resources (a router's gateway port) belong to no project."""
    return not item.get("project_id")


@dataclasses.dataclass(frozen=True)
class Tracked:
    """A resource with a quota: its rows (``model.project_id`` counts them) and the
    creates that are never refused (``exempt(item)``: made by the system, as Neutron
    checks quotas only on API requests), though their rows still count."""

    name: str
    model: Any
    exempt: Exempt = projectless


@dataclasses.dataclass
class _Registry:
    resources: dict[str, Tracked] = dataclasses.field(default_factory=dict)
    listeners: list[Listener] = dataclasses.field(default_factory=list)
    enforcer: Any = None


_REGISTRIES: weakref.WeakKeyDictionary[Events, _Registry] = weakref.WeakKeyDictionary()


def _registry(events: Events) -> _Registry:
    return _REGISTRIES.setdefault(events, _Registry())


def track(events: Events, name: str, model: Any, exempt: Exempt | None = None) -> None:
    """Give resource ``name`` (rows of ``model``) a quota on this core plugin's events."""
    registry = _registry(events)
    tracked = Tracked(name, model, exempt or projectless)
    if name in registry.resources:
        return  # tracked already (a second server over the same events)
    registry.resources[name] = tracked
    for listener in registry.listeners:
        listener(tracked)


def listen(events: Events, listener: Listener) -> None:
    """Call ``listener(tracked)`` for every resource tracked now and later."""
    registry = _registry(events)
    registry.listeners.append(listener)
    for tracked in list(registry.resources.values()):
        listener(tracked)


def tracked(events: Events) -> dict[str, Tracked]:
    """The resources with a quota, by name."""
    return dict(_registry(events).resources)


def set_enforcer(events: Events, enforcer: Any) -> None:
    """Record the quotas plugin's enforcer (quotas on) for ``enforcer(events)``."""
    _registry(events).enforcer = enforcer


def enforcer(events: Events) -> Any:
    """The ``enforcement.Enforcer`` checking creates on these events; None: quotas off.

    A creator may fold the enforcer's lock into its insert (``Enforcer.lock_query``).
    """
    return _registry(events).enforcer
