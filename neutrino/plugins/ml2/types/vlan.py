"""The vlan type: 802.1Q networks on physical networks, ranges from network_vlan_ranges."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.db.models import VlanAllocation
from neutrino.plugins.ml2 import driver_api as api
from neutrino.plugins.ml2.types.helpers import (
    allocate_from_ranges,
    parse_ranges,
    physnet_mtus,
    release_query,
    require,
    try_insert,
)

MIN_VLAN, MAX_VLAN = 1, 4094


def parse_vlan_ranges(entries: list[str]) -> dict[str, list[tuple[int, int]]]:
    """``physnet`` or ``physnet:min:max`` entries → physnet → ranges (maybe empty)."""
    result: dict[str, list[tuple[int, int]]] = {}
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        physnet, _, rng = entry.partition(":")
        ranges = result.setdefault(physnet, [])
        if rng:
            ranges.extend(parse_ranges([rng], MIN_VLAN, MAX_VLAN,
                                       "[ml2_type_vlan] network_vlan_ranges"))
    return result


class VlanTypeDriver(api.TypeDriver):
    has_ranges = True

    def get_type(self) -> str:
        return "vlan"

    def initialize(self) -> None:
        self.ranges = parse_vlan_ranges(self.conf.ml2_type_vlan.network_vlan_ranges)

    def is_partial_segment(self, segment: api.Segment) -> bool:
        return segment.get(api.SEGMENTATION_ID) is None

    def validate_provider_segment(self, segment: api.Segment) -> None:
        physnet = segment.get(api.PHYSICAL_NETWORK)
        segid = segment.get(api.SEGMENTATION_ID)
        if not physnet:
            require(segid is None and any(self.ranges.values()),
                    "physical_network required for VLAN provider network")
            return
        require(physnet in self.ranges,
                f"physical_network '{physnet}' unknown for VLAN provider network")
        if segid is not None:
            require(isinstance(segid, int) and MIN_VLAN <= segid <= MAX_VLAN,
                    f"segmentation_id out of range ({MIN_VLAN} through {MAX_VLAN})")

    def reserve_provider_segment(self, session: Session, segment: api.Segment) -> api.Segment:
        physnet = segment.get(api.PHYSICAL_NETWORK)
        segid = segment.get(api.SEGMENTATION_ID)
        if not physnet:
            allocated = self.allocate_tenant_segment(session, None)
            if allocated is None:
                raise exc.NoNetworkAvailable()
            return allocated
        if segid is None:
            allocated = self._allocate(session, self._ranges(session, None, physnet))
            if allocated is None:
                raise exc.NoNetworkAvailable()
            return allocated
        elif not try_insert(session, VlanAllocation,
                            {"physical_network": physnet, "vlan_id": segid}):
            raise exc.VlanIdInUse(vlan_id=segid, physical_network=physnet)
        return {api.NETWORK_TYPE: "vlan", api.PHYSICAL_NETWORK: physnet,
                api.SEGMENTATION_ID: segid}

    def configured_ranges(self) -> list[tuple[str | None, int, int]]:
        return [(physnet, first, last) for physnet, ranges in self.ranges.items()
                for first, last in ranges]

    def _ranges(self, session: Session, project_id: str | None,
                physnet: str | None = None) -> list[tuple[str | None, int, int]]:
        found = (self.configured_ranges() if self.range_source is None
                 else self.range_source(session, "vlan", project_id))
        return [r for r in found if physnet is None or r[0] == physnet]

    @staticmethod
    def _allocate(session: Session,
                  ranges: list[tuple[str | None, int, int]]) -> api.Segment | None:
        for physnet, first, last in ranges:
            vlan = allocate_from_ranges(session, VlanAllocation, VlanAllocation.vlan_id,
                                        [(first, last)], {"physical_network": physnet})
            if vlan is not None:
                return {api.NETWORK_TYPE: "vlan", api.PHYSICAL_NETWORK: physnet,
                        api.SEGMENTATION_ID: vlan}
        return None

    def allocate_tenant_segment(self, session: Session,
                                project_id: str | None = None) -> api.Segment | None:
        return self._allocate(session, self._ranges(session, project_id))

    def release_segment(self, session: Session, segment: api.Segment) -> None:
        session.connection().execute(*self.release_query(segment))

    def release_query(self, segment: api.Segment) -> tuple[Any, dict[str, Any]]:
        return release_query(VlanAllocation, physical_network=segment[api.PHYSICAL_NETWORK],
                             vlan_id=segment[api.SEGMENTATION_ID])

    def get_mtu(self, physical_network: str | None = None) -> int:
        return physnet_mtus(self.conf).get(physical_network or "",
                                           self.conf.global_physnet_mtu)
