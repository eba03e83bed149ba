"""The availability zone service plugin (ML2 brings it, as Neutron's ML2 serves it).

* ``GET /v2.0/availability_zones`` (``availability_zone``): the zones of the DHCP and
  L3 agents, with filters on ``name``, ``resource`` and ``state``.
* Networks (``network_availability_zone``): hints given on create are checked against
  the DHCP agents' zones in the network's own transaction (404 and nothing created
  when no DHCP agent reports one); every network dict gets its hints and the zones of
  the DHCP agents hosting it, one query per batch of networks.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.apidef import availability_zone as az
from neutrino.context import Context
from neutrino.db.base import utcnow
from neutrino.db.models import Agent, Network, NetworkDhcpAgentBinding
from neutrino.db.query import Page
from neutrino.plugins import availability_zones as zones_db
from neutrino.plugins.base import ServicePlugin
from neutrino.plugins.readonly import ReadOnlyCollection

_CHUNK = 500


def network_zones(session: Session, ids: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    """network id → (its hints, the zones of the DHCP agents hosting it)."""
    found: dict[str, tuple[list[str], list[str]]] = {}
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        hints: dict[str, str | None] = {}
        agent_zones: dict[str, set[str]] = defaultdict(set)
        for net_id, stored, zone in session.execute(select(
                Network.id, Network.availability_zone_hints, Agent.availability_zone
        ).outerjoin(NetworkDhcpAgentBinding, NetworkDhcpAgentBinding.network_id == Network.id
                    ).outerjoin(Agent, Agent.id == NetworkDhcpAgentBinding.dhcp_agent_id
                                ).where(Network.id.in_(chunk))):
            hints[net_id] = stored
            if zone:
                agent_zones[net_id].add(zone)
        for net_id, stored in hints.items():
            found[net_id] = (az.hints_from_db(stored), sorted(agent_zones.get(net_id, ())))
    return found


class Plugin(ReadOnlyCollection, ServicePlugin):
    """``service_plugins = availability_zones``."""

    resources = [az.AVAILABILITY_ZONES]
    supported_extension_aliases = [az.ALIAS, az.NETWORK_ALIAS]
    policy_rules = az.POLICY_RULES
    read_only = ("availability_zones", "availability_zone")

    def __init__(self, conf: Any, db: Any, core_plugin: Any) -> None:
        super().__init__(conf, db, core_plugin)
        events = core_plugin.events
        events.subscribe("network", "precommit_create", self._check_network_hints)
        events.register_extender("network", self._extend_networks)

    def _check_network_hints(self, resource: str, event: str, ctx: Context,
                             current: dict[str, Any], original: dict[str, Any] | None,
                             session: Session | None = None, **details: Any) -> None:
        if session is not None:
            zones_db.validate_hints(session, az.RESOURCE_NETWORK,
                                    current.get(az.AZ_HINTS) or [])

    @staticmethod
    def _extend_networks(session: Session, nets: list[dict[str, Any]]) -> None:
        found = network_zones(session, [n["id"] for n in nets])
        for net in nets:
            hints, zones = found.get(net["id"], ([], []))
            net[az.AZ_HINTS] = hints
            net["availability_zones"] = zones

    def get_availability_zones(self, ctx: Context, filters: dict[str, list[Any]],
                               page: Page | None = None) -> list[dict[str, Any]]:
        with self.db.reader() as session:
            every = zones_db.zones(session, utcnow(), self.conf.agent_down_time)
        return [z for z in every if all(z[k] in values for k, values in filters.items())]

    def get_availability_zone(self, ctx: Context, name: str) -> dict[str, Any]:
        """A zone by name (its network side first: a name may be both kinds')."""
        for zone in self.get_availability_zones(ctx, {"name": [name]}):
            return zone
        raise az.AvailabilityZoneNotFound(availability_zone=name)
