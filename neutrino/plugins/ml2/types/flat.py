"""The flat type: one untagged network per physical network."""

from __future__ import annotations

from sqlalchemy.orm import Session

from neutrino import exceptions as exc
from neutrino.db.models import FlatAllocation
from neutrino.plugins.ml2 import driver_api as api
from neutrino.plugins.ml2.types.helpers import (
    physnet_mtus,
    release_allocation,
    require,
    try_insert,
)


class FlatTypeDriver(api.TypeDriver):
    def get_type(self) -> str:
        return "flat"

    def initialize(self) -> None:
        names = [n.strip() for n in self.conf.ml2_type_flat.flat_networks if n.strip()]
        self.any_physnet = "*" in names
        self.physnets = set(names) - {"*"}

    def is_partial_segment(self, segment: api.Segment) -> bool:
        return False

    def validate_provider_segment(self, segment: api.Segment) -> None:
        physnet = segment.get(api.PHYSICAL_NETWORK)
        require(bool(physnet), "physical_network required for flat provider network")
        require(self.any_physnet or physnet in self.physnets,
                f"physical_network '{physnet}' unknown for flat provider network")
        require(segment.get(api.SEGMENTATION_ID) is None,
                "segmentation_id prohibited for flat provider network")

    def reserve_provider_segment(self, session: Session, segment: api.Segment) -> api.Segment:
        physnet = segment[api.PHYSICAL_NETWORK]
        if not try_insert(session, FlatAllocation, {"physical_network": physnet}):
            raise exc.FlatNetworkInUse(physical_network=physnet)
        return {api.NETWORK_TYPE: "flat", api.PHYSICAL_NETWORK: physnet,
                api.SEGMENTATION_ID: None}

    def allocate_tenant_segment(self, session: Session,
                                project_id: str | None = None) -> api.Segment | None:
        return None  # flat networks are provider networks only, as in Neutron

    def release_segment(self, session: Session, segment: api.Segment) -> None:
        release_allocation(session, FlatAllocation,
                           physical_network=segment[api.PHYSICAL_NETWORK])

    def get_mtu(self, physical_network: str | None = None) -> int:
        return physnet_mtus(self.conf).get(physical_network or "",
                                           self.conf.global_physnet_mtu)
