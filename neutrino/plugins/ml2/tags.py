"""ML2 tag changes: an update of the network, subnet or port, drivers and events included.

Implements ``update_tags`` of ``neutrino.plugins.tags``: the mechanism drivers see
``update_<member>_precommit/postcommit`` with the new tags and the bumped revision
(so the SDN controller's journal records the update), and the ``precommit_update``
and ``after_update`` events fire, as for a ``PUT`` of the resource itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.context import Context
from neutrino.db import resources
from neutrino.db.models import Network, Port, Subnet
from neutrino.plugins.ml2 import driver_api as api
from neutrino.plugins.ml2.base import Ml2Base
from neutrino.plugins.tags import TagChange, store_tags

_MODELS = {"networks": Network, "subnets": Subnet, "ports": Port}
_LOADERS = {"networks": resources.load_networks, "subnets": resources.load_subnets,
            "ports": resources.load_ports}
_NOT_FOUND = {"networks": lambda rid: exc.NetworkNotFound(net_id=rid),
              "subnets": lambda rid: exc.SubnetNotFound(subnet_id=rid),
              "ports": lambda rid: exc.PortNotFound(port_id=rid)}


class TagMixin(Ml2Base):
    """``update_tags`` for ML2's collections."""

    def update_tags(self, ctx: Context, collection: str, resource_id: str,
                    change: TagChange) -> list[str]:
        member = collection[:-1]
        holder: dict[str, Any] = {}

        def in_tx(session: Session) -> tuple[dict[str, Any], list[Any]]:
            original = self._load_one(session, collection, resource_id)
            holder["original"] = original
            store_tags(session, collection, resource_id, original["tags"],
                       change.apply(original["tags"]))
            self.bump(session, _MODELS[collection], resource_id)
            current = self._load_one(session, collection, resource_id)
            mech_ctx = self._driver_context(session, ctx, collection, current, original)
            self.mechanism_manager.precommit(f"update_{member}", mech_ctx)
            self.events.publish(member, "precommit_update", ctx, current, original,
                                session=session)
            return current, [mech_ctx]

        current = self.run(f"update_{member}", in_tx)
        self.events.publish(member, "after_update", ctx, current, holder.get("original"))
        return list(current["tags"])

    def _load_one(self, session: Session, collection: str, resource_id: str
                  ) -> dict[str, Any]:
        """The resource as the API shows it, with what service plugins add to it."""
        items = _LOADERS[collection](session, [resource_id])
        if not items:
            raise _NOT_FOUND[collection](resource_id)
        self.events.extend(collection[:-1], session, items)
        return items[0]

    def _driver_context(self, session: Session, ctx: Context, collection: str,
                        current: dict[str, Any], original: dict[str, Any]) -> Any:
        """The mechanism driver context of an update of ``current``."""
        if collection == "subnets":
            parent = resources.load_networks(session, [current["network_id"]])[0]
            return api.SubnetContext(self, ctx, session, current, parent, original)
        net_id = current["id"] if collection == "networks" else current["network_id"]
        network, segments = resources.load_network(session, net_id)
        if collection == "networks":
            return api.NetworkContext(self, ctx, session, current, original, segments)
        return api.PortContext(self, ctx, session, current, network or {}, segments,
                               original)
