"""Network segment ranges in the database: API dicts, listings, defaults, usage.

``used`` and ``available`` are worked out when a range is read: the ids of the
range that networks' segments hold (with each network's project) and the ids of the
range that no allocation row holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neutrino.db.base import utcnow
from neutrino.db.models import (
    GeneveAllocation,
    GreAllocation,
    Network,
    NetworkSegment,
    NetworkSegmentRange,
    Tag,
    VlanAllocation,
    VxlanAllocation,
)
from neutrino.db.query import Listing
from neutrino.db.resources import load_tags, timestamp
from neutrino.plugins.ml2.types.helpers import try_insert

# network_type -> the allocation column of its type driver.
_ALLOCATED = {"vlan": VlanAllocation.vlan_id, "vxlan": VxlanAllocation.vxlan_vni,
              "gre": GreAllocation.gre_id, "geneve": GeneveAllocation.geneve_vni}
# Default ranges have ids derived from what they are, so that every server worker
# starting at once writes the same rows.
_DEFAULT_NAMESPACE = uuid.UUID("6d0f1e4c-8f53-4a55-9a0b-6f1f8e0b5a11")


def _physnet_match(column: Any, physnet: str | None) -> Any:
    return column.is_(None) if physnet is None else column == physnet


def in_range(network_type: str, physnet: str | None, first: int, last: int) -> Any:
    """The WHERE of the segments of this type (and physnet) whose id is in [first, last]."""
    return (NetworkSegment.network_type == network_type,
            _physnet_match(NetworkSegment.physical_network, physnet),
            NetworkSegment.segmentation_id >= first, NetworkSegment.segmentation_id <= last)


def used(session: Session, row: Any) -> dict[str, str]:
    """{segmentation id: project of its network} for the range's ids in use."""
    found = session.execute(select(NetworkSegment.segmentation_id, Network.project_id).join(
        Network, Network.id == NetworkSegment.network_id).where(
        *in_range(row.network_type, row.physical_network, row.minimum, row.maximum)).order_by(
        NetworkSegment.segmentation_id)).all()
    return {str(segid): project for segid, project in found}


def available(session: Session, row: Any) -> list[int]:
    """The range's ids that no allocation row holds."""
    column = _ALLOCATED[row.network_type]
    query = select(column).where(column >= row.minimum, column <= row.maximum)
    if row.network_type == "vlan":
        query = query.where(VlanAllocation.physical_network == row.physical_network)
    taken = set(session.execute(query).scalars())
    return [i for i in range(row.minimum, row.maximum + 1) if i not in taken]


def range_dict(session: Session, row: Any, tags: list[str]) -> dict[str, Any]:
    project = None if row.shared else row.project_id
    return {"id": row.id, "name": row.name, "description": row.description,
            "project_id": project, "tenant_id": project, "default": row.default,
            "shared": row.shared, "network_type": row.network_type,
            "physical_network": row.physical_network, "minimum": row.minimum,
            "maximum": row.maximum, "used": used(session, row),
            "available": available(session, row), "tags": tags,
            "created_at": timestamp(row.created_at), "updated_at": timestamp(row.updated_at),
            "revision_number": row.revision_number}


def range_row(session: Session, range_id: str, lock: bool = False) -> Any:
    query = select(NetworkSegmentRange).where(NetworkSegmentRange.id == range_id)
    if lock and session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return session.execute(query).scalar()


def load_ranges(session: Session, ids: Sequence[str]) -> list[dict[str, Any]]:
    rows = {r.id: r for r in session.execute(select(NetworkSegmentRange).where(
        NetworkSegmentRange.id.in_(list(ids)))).scalars()} if ids else {}
    tags = load_tags(session, list(rows))
    return [range_dict(session, rows[i], tags.get(i, [])) for i in ids if i in rows]


def ranges_of_type(session: Session, network_type: str, lock: bool = False) -> list[Any]:
    query = select(NetworkSegmentRange).where(NetworkSegmentRange.network_type == network_type)
    if lock and session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return list(session.execute(query).scalars())


def segment_ids_in(session: Session, network_type: str, physnet: str | None,
                   first: int, last: int) -> list[int]:
    return [int(i) for i in session.execute(select(NetworkSegment.segmentation_id).where(
        *in_range(network_type, physnet, first, last))).scalars() if i is not None]


def insert_range(session: Session, values: dict[str, Any]) -> str:
    now = utcnow()
    row = {"id": values.get("id") or str(uuid.uuid4()), "name": values.get("name") or "",
           "description": values.get("description") or "",
           "project_id": values.get("project_id") or "", "default": False,
           "shared": values["shared"], "network_type": values["network_type"],
           "physical_network": values.get("physical_network"),
           "minimum": values["minimum"], "maximum": values["maximum"],
           "created_at": now, "updated_at": now, "revision_number": 0}
    row.update({k: values[k] for k in ("default",) if k in values})
    try_insert(session, NetworkSegmentRange, row)
    return str(row["id"])


def delete_range(session: Session, range_id: str) -> None:
    session.execute(delete(Tag).where(Tag.resource_id == range_id))
    session.execute(delete(NetworkSegmentRange).where(NetworkSegmentRange.id == range_id))


def sync_defaults(session: Session, configured: dict[str, list[tuple[str | None, int, int]]]
                  ) -> None:
    """Make the default rows the configured ranges: the stale ones go, missing ones come."""
    wanted = {}
    for network_type, ranges in configured.items():
        for physnet, first, last in ranges:
            key = f"{network_type}:{physnet or ''}:{first}:{last}"
            wanted[str(uuid.uuid5(_DEFAULT_NAMESPACE, key))] = (network_type, physnet,
                                                                 first, last)
    existing = set(session.execute(select(NetworkSegmentRange.id).where(
        NetworkSegmentRange.default.is_(True))).scalars())
    for stale in sorted(existing - set(wanted)):
        delete_range(session, stale)
    for range_id in sorted(set(wanted) - existing):
        network_type, physnet, first, last = wanted[range_id]
        insert_range(session, {"id": range_id, "shared": True, "default": True,
                               "network_type": network_type, "physical_network": physnet,
                               "minimum": first, "maximum": last})


def range_listing() -> Listing:
    m = NetworkSegmentRange
    return Listing(m, {
        "id": m.id, "name": m.name, "description": m.description,
        "project_id": m.project_id, "tenant_id": m.project_id, "created_at": m.created_at,
        "updated_at": m.updated_at, "revision_number": m.revision_number,
        "default": m.default, "shared": m.shared, "network_type": m.network_type,
        "physical_network": m.physical_network, "minimum": m.minimum, "maximum": m.maximum})
