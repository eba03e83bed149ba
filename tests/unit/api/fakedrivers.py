"""Mechanism drivers for tests, loaded by ``module:Class`` path.

``FailingDriver`` fails the hook a resource asks for by its name: a network named
``fail-create_network_precommit`` makes that precommit raise. ``BindingDriver``
binds ports on hosts whose name starts with ``bindable`` to the first segment.
"""

from __future__ import annotations

from typing import Any

from neutrino.plugins.ml2 import driver_api as api


class DriverFailure(Exception):
    """An unexpected error inside a driver (not a NeutronException)."""


def _fail_if_named(method: str) -> Any:
    def hook(self: FailingDriver, context: Any) -> None:
        if context.current.get("name") == f"fail-{method}":
            raise DriverFailure(method)
    hook.__name__ = method
    return hook


class FailingDriver(api.MechanismDriver):
    """Raises in the hook named by the resource's name; does nothing otherwise."""


for _resource in ("network", "subnet", "port"):
    for _op in ("create", "update", "delete"):
        for _phase in ("precommit", "postcommit"):
            _name = f"{_op}_{_resource}_{_phase}"
            setattr(FailingDriver, _name, _fail_if_named(_name))


class BindingDriver(api.MechanismDriver):
    """Binds ports on ``bindable*`` hosts to the network's first segment."""

    VIF_TYPE = "ovs"
    VIF_DETAILS = {"port_filter": True, "connectivity": "l2"}

    def bind_port(self, context: api.PortContext) -> None:
        if not context.host.startswith("bindable") or not context.segments_to_bind:
            return
        segment = context.segments_to_bind[0]
        context.set_binding(segment[api.ID], self.VIF_TYPE, dict(self.VIF_DETAILS))
