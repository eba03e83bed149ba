"""The local type: a network that never leaves its host; no segmentation."""

from __future__ import annotations

from sqlalchemy.orm import Session

from neutrino.plugins.ml2 import driver_api as api
from neutrino.plugins.ml2.types.helpers import require


class LocalTypeDriver(api.TypeDriver):
    def get_type(self) -> str:
        return "local"

    def is_partial_segment(self, segment: api.Segment) -> bool:
        return False

    def validate_provider_segment(self, segment: api.Segment) -> None:
        require(not segment.get(api.PHYSICAL_NETWORK),
                "physical_network prohibited for local provider network")
        require(segment.get(api.SEGMENTATION_ID) is None,
                "segmentation_id prohibited for local provider network")

    def reserve_provider_segment(self, session: Session, segment: api.Segment) -> api.Segment:
        return {api.NETWORK_TYPE: "local", api.PHYSICAL_NETWORK: None,
                api.SEGMENTATION_ID: None}

    def allocate_tenant_segment(self, session: Session,
                                project_id: str | None = None) -> api.Segment | None:
        return self.reserve_provider_segment(session, {})

    def release_segment(self, session: Session, segment: api.Segment) -> None:
        return None
