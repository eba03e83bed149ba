"""The network segment range plugin: tenant id pools that change at run time.

At start the configured ranges (``network_vlan_ranges``, ``vni_ranges``,
``tunnel_id_ranges``) are written as ``default`` ranges, and the type drivers take
tenant ids from the ranges in the database from then on (``TypeManager.
set_range_source``): a range created, resized or deleted through the API applies to
the next network, whichever server worker creates it. Neutron's rules: default
ranges are read-only (400), ranges of one type and physical network do not overlap
(409), a range cannot shrink past an id in use nor be deleted while one is (409).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.apidef import network_segment_range as nsr
from neutrino.context import Context
from neutrino.db.base import utcnow
from neutrino.db.models import NetworkSegmentRange
from neutrino.db.query import Page
from neutrino.plugins.base import ServicePlugin
from neutrino.plugins.network_segment_range import pools, store
from neutrino.plugins.network_segment_range.policies import POLICY_RULES


def _check_revision(ctx: Context, current: int) -> None:
    wanted = getattr(ctx, "if_match_revision", None)
    if wanted is not None and wanted != current:
        raise exc.RevisionNumberConstraintFailed(
            constraint=f"revision_number={wanted}", current=current)


class Plugin(ServicePlugin):
    """``network_segment_ranges`` (``service_plugins = network_segment_range``)."""

    resources = [nsr.NETWORK_SEGMENT_RANGES]
    supported_extension_aliases = ["network-segment-range"]
    policy_rules = POLICY_RULES
    tag_models = {"network_segment_ranges": NetworkSegmentRange}

    def __init__(self, conf: Any, db: Any, core_plugin: Any) -> None:
        super().__init__(conf, db, core_plugin)
        self.type_manager = core_plugin.type_manager
        configured = {t: d.configured_ranges() for t, d in self.type_manager.drivers.items()
                      if d.has_ranges and t in nsr.RANGE_TYPES}
        self._write(lambda s: store.sync_defaults(s, configured))
        self.type_manager.set_range_source(self.tenant_ranges)

    def stop(self) -> None:
        self.type_manager.set_range_source(None)

    # --- the type drivers' pools -----------------------------------------------------

    @staticmethod
    def tenant_ranges(session: Session, network_type: str,
                      project_id: str | None) -> list[pools.PoolRange]:
        """The ranges a network of ``project_id`` takes ids from, in order."""
        return pools.ordered(store.ranges_of_type(session, network_type), project_id)

    # --- helpers ---------------------------------------------------------------------

    def _write(self, fn: Callable[[Session], Any]) -> Any:
        return self.db.write(fn)

    def _range(self, session: Session, range_id: str) -> dict[str, Any]:
        found = store.load_ranges(session, [range_id])
        if not found:
            raise nsr.NetworkSegmentRangeNotFound(range_id=range_id)
        return found[0]

    def _validate(self, values: dict[str, Any]) -> None:
        network_type = values["network_type"]
        if network_type not in nsr.RANGE_TYPES or network_type not in self.type_manager.drivers:
            raise nsr.NetworkSegmentRangeNetTypeNotSupported(type=network_type)
        if network_type == "vlan" and not values.get("physical_network"):
            raise exc.InvalidInput(error_message="physical_network is required for a vlan "
                                   "network segment range")
        first, last, top = values["minimum"], values["maximum"], nsr.MAX_IDS[network_type]
        if not 1 <= first <= last <= top:
            raise exc.InvalidInput(error_message=(
                f"Invalid network segment range {first}:{last} for {network_type}: the "
                f"minimum must not exceed the maximum, both within 1 through {top}"))

    @staticmethod
    def _check_overlap(session: Session, values: dict[str, Any],
                       self_id: str | None = None) -> None:
        """Neutron's rule: API-made ranges of one type (and physnet) may not overlap."""
        # The rows of the type stay locked: two overlapping creates cannot both pass.
        rows = store.ranges_of_type(session, values["network_type"], lock=True)
        clash = [r.id for r in rows if not r.default and r.id != self_id
                 and r.physical_network == values.get("physical_network")
                 and values["minimum"] <= r.maximum and values["maximum"] >= r.minimum]
        if clash:
            raise nsr.NetworkSegmentRangeOverlaps(range_id=", ".join(sorted(clash)))

    # --- the API ---------------------------------------------------------------------

    def create_network_segment_range(self, ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        return self.create_network_segment_range_bulk(ctx, [body])[0]

    def create_network_segment_range_bulk(self, ctx: Context, bodies: list[dict[str, Any]]
                                          ) -> list[dict[str, Any]]:
        for body in bodies:
            if body["network_type"] != "vlan":
                body["physical_network"] = None
            if body["shared"]:
                body["project_id"] = ""  # a shared range belongs to no project
            self._validate(body)

        def in_tx(session: Session) -> list[dict[str, Any]]:
            ids = []
            for body in bodies:
                self._check_overlap(session, body)
                ids.append(store.insert_range(session, body))
            return store.load_ranges(session, ids)

        made: list[dict[str, Any]] = self._write(in_tx)
        return made

    def get_network_segment_range(self, ctx: Context, range_id: str) -> dict[str, Any]:
        with self.db.reader() as session:
            return self._range(session, range_id)

    def get_network_segment_ranges(self, ctx: Context, filters: dict[str, list[Any]],
                                   page: Page | None = None) -> list[dict[str, Any]]:
        with self.db.reader() as session:
            ids = store.range_listing().select_ids(session, filters, None, page or Page())
            return store.load_ranges(session, ids)

    def update_network_segment_range(self, ctx: Context, range_id: str,
                                     changes: dict[str, Any]) -> dict[str, Any]:
        def in_tx(session: Session) -> dict[str, Any]:
            row = store.range_row(session, range_id, lock=True)
            if row is None:
                raise nsr.NetworkSegmentRangeNotFound(range_id=range_id)
            _check_revision(ctx, row.revision_number)
            if row.default:
                raise nsr.NetworkSegmentRangeDefaultReadOnly(range_id=range_id)
            values: dict[str, Any] = {k: changes[k] for k in (
                "name", "description", "minimum", "maximum") if k in changes}
            if "minimum" in values or "maximum" in values:
                self._resize(session, row, values)
            session.execute(update(NetworkSegmentRange).where(
                NetworkSegmentRange.id == range_id).values(
                revision_number=NetworkSegmentRange.revision_number + 1,
                updated_at=utcnow(), **values))
            return self._range(session, range_id)

        updated: dict[str, Any] = self._write(in_tx)
        return updated

    def _resize(self, session: Session, row: Any, values: dict[str, Any]) -> None:
        wanted = {"network_type": row.network_type, "physical_network": row.physical_network,
                  "minimum": values.get("minimum", row.minimum),
                  "maximum": values.get("maximum", row.maximum)}
        self._validate(wanted)
        self._check_overlap(session, wanted, row.id)
        held = store.segment_ids_in(session, row.network_type, row.physical_network,
                                    row.minimum, row.maximum)
        if any(not wanted["minimum"] <= i <= wanted["maximum"] for i in held):
            raise nsr.NetworkSegmentRangeReferencedByProject(range_id=row.id)

    def delete_network_segment_range(self, ctx: Context, range_id: str) -> None:
        def in_tx(session: Session) -> None:
            row = store.range_row(session, range_id, lock=True)
            if row is None:
                raise nsr.NetworkSegmentRangeNotFound(range_id=range_id)
            _check_revision(ctx, row.revision_number)
            if row.default:
                raise nsr.NetworkSegmentRangeDefaultReadOnly(range_id=range_id)
            if store.segment_ids_in(session, row.network_type, row.physical_network,
                                    row.minimum, row.maximum):
                raise nsr.NetworkSegmentRangeReferencedByProject(range_id=range_id)
            store.delete_range(session, range_id)

        self._write(in_tx)
