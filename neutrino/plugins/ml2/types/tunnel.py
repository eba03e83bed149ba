"""Tunnel types: gre, vxlan and geneve, each with its id ranges and overhead."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.db.models import GeneveAllocation, GreAllocation, VxlanAllocation
from neutrino.plugins.ml2 import driver_api as api
from neutrino.plugins.ml2.types.helpers import (
    Claim,
    allocate_from_ranges,
    claim_lowest,
    parse_ranges,
    release_query,
    require,
    try_insert,
)

IP_HEADER = {4: 20, 6: 40}


class TunnelTypeDriver(api.TypeDriver):
    """A type whose segments are tunnel keys from configured ranges."""

    has_ranges = True
    network_type: ClassVar[str]
    model: ClassVar[Any]
    column_name: ClassVar[str]
    max_id: ClassVar[int]
    config_group: ClassVar[str]
    config_option: ClassVar[str]

    def get_type(self) -> str:
        return self.network_type

    @property
    def column(self) -> Any:
        return getattr(self.model, self.column_name)

    def initialize(self) -> None:
        group = getattr(self.conf, self.config_group)
        self.ranges = parse_ranges(getattr(group, self.config_option), 1, self.max_id,
                                   f"[{self.config_group}] {self.config_option}")

    def is_partial_segment(self, segment: api.Segment) -> bool:
        return segment.get(api.SEGMENTATION_ID) is None

    def validate_provider_segment(self, segment: api.Segment) -> None:
        require(not segment.get(api.PHYSICAL_NETWORK),
                f"provider:physical_network specified for {self.network_type} network")
        segid = segment.get(api.SEGMENTATION_ID)
        if segid is not None:
            require(isinstance(segid, int) and 1 <= segid <= self.max_id,
                    f"segmentation_id out of range (1 through {self.max_id})")

    def _segment(self, segid: int | None) -> api.Segment:
        return {api.NETWORK_TYPE: self.network_type, api.PHYSICAL_NETWORK: None,
                api.SEGMENTATION_ID: segid}

    def reserve_provider_segment(self, session: Session, segment: api.Segment) -> api.Segment:
        segid = segment.get(api.SEGMENTATION_ID)
        if segid is None:
            allocated = self.allocate_tenant_segment(session, None)
            if allocated is None:
                raise exc.NoNetworkAvailable()
            return allocated
        if not try_insert(session, self.model, {self.column_name: segid}):
            raise exc.TunnelIdInUse(tunnel_id=segid)
        return self._segment(segid)

    def configured_ranges(self) -> list[tuple[str | None, int, int]]:
        return [(None, first, last) for first, last in self.ranges]

    def _ranges(self, session: Session, project_id: str | None) -> list[tuple[int, int]]:
        if self.range_source is None:
            return self.ranges
        return [(first, last) for _, first, last in
                self.range_source(session, self.network_type, project_id)]

    def allocate_tenant_segment(self, session: Session,
                                project_id: str | None = None) -> api.Segment | None:
        segid = allocate_from_ranges(session, self.model, self.column,
                                     self._ranges(session, project_id))
        return None if segid is None else self._segment(segid)

    def tenant_claim(self, session: Session, project_id: str) -> Claim | None:
        ranges = self._ranges(session, project_id)
        if not ranges:
            return None
        first, last = ranges[0]
        return claim_lowest(session.get_bind().dialect.name, self.model, self.column,
                            first, last, self._segment(None))

    def release_segment(self, session: Session, segment: api.Segment) -> None:
        session.connection().execute(*self.release_query(segment))

    def release_query(self, segment: api.Segment) -> tuple[Any, dict[str, Any]]:
        return release_query(self.model, **{self.column_name: segment[api.SEGMENTATION_ID]})

    def overhead(self) -> int:
        raise NotImplementedError

    def get_mtu(self, physical_network: str | None = None) -> int:
        base = self.conf.ml2.path_mtu or self.conf.global_physnet_mtu
        return base - self.overhead() - IP_HEADER[self.conf.ml2.overlay_ip_version]


class GreTypeDriver(TunnelTypeDriver):
    network_type = "gre"
    model = GreAllocation
    column_name = "gre_id"
    max_id = 2**32 - 1
    config_group = "ml2_type_gre"
    config_option = "tunnel_id_ranges"

    def overhead(self) -> int:
        return 22


class VxlanTypeDriver(TunnelTypeDriver):
    network_type = "vxlan"
    model = VxlanAllocation
    column_name = "vxlan_vni"
    max_id = 2**24 - 1
    config_group = "ml2_type_vxlan"
    config_option = "vni_ranges"

    def overhead(self) -> int:
        return 30


class GeneveTypeDriver(TunnelTypeDriver):
    network_type = "geneve"
    model = GeneveAllocation
    column_name = "geneve_vni"
    max_id = 2**24 - 1
    config_group = "ml2_type_geneve"
    config_option = "vni_ranges"

    def overhead(self) -> int:
        return int(self.conf.ml2_type_geneve.max_header_size)
