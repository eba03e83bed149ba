"""The ``availability_zone`` and ``network_availability_zone`` extensions.

``GET /v2.0/availability_zones`` lists ``{name, resource, state}``: the zones DHCP
agents report (``resource: network``) and those L3 agents report (``router``),
``available`` while an alive, admin-up agent is in the zone. Networks take
``availability_zone_hints`` on create (kept as Neutron keeps them, a JSON list in
one 255-character column) and show the ``availability_zones`` of their DHCP agents.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from neutrino import exceptions as exc
from neutrino.apidef.attributes import Attr, Resource

ALIAS = "availability_zone"
NETWORK_ALIAS = "network_availability_zone"
AZ_HINTS = "availability_zone_hints"
AZ_HINTS_DB_LEN = 255
RESOURCE_NETWORK = "network"
RESOURCE_ROUTER = "router"
AVAILABLE = "available"
UNAVAILABLE = "unavailable"

POLICY_RULES: dict[str, str] = {"get_availability_zone": ""}


class AvailabilityZoneNotFound(exc.NotFound):
    message = "AvailabilityZone %(availability_zone)s could not be found."


def hints_to_db(hints: Iterable[str]) -> str | None:
    """The column value of a list of hints (None for none), as Neutron stores them."""
    hints = list(hints)
    return json.dumps(hints) if hints else None


def hints_from_db(value: str | None) -> list[str]:
    if not value:
        return []
    try:
        hints = json.loads(value)
    except ValueError:
        return []
    return [str(h) for h in hints] if isinstance(hints, list) else []


def effective_hints(given: Any, defaults: Iterable[str]) -> list[str]:
    """A new resource's hints: the given ones sorted, else ``default_availability_zones``
    (Neutron stores and shows the defaults as the resource's hints)."""
    hints = sorted(given) if isinstance(given, list) and given else []
    return hints or [d for d in defaults if d]


AVAILABILITY_ZONES = Resource("availability_zones", "availability_zone", {a.name: a for a in (
    Attr("name", is_filter=True),
    Attr("resource", is_filter=True),
    Attr("state", is_filter=True),
)}, allow_bulk=False, has_tags=False)
