"""Segments in the database: API dicts in batches, listing, the next segment index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neutrino.db.models import NetworkSegment
from neutrino.db.query import Listing
from neutrino.db.resources import load_tags, timestamp


def segment_dict(row: Any, tags: list[str]) -> dict[str, Any]:
    return {"id": row.id, "network_id": row.network_id, "name": row.name,
            "description": row.description, "network_type": row.network_type,
            "physical_network": row.physical_network,
            "segmentation_id": row.segmentation_id, "tags": tags,
            "created_at": timestamp(row.created_at), "updated_at": timestamp(row.updated_at),
            "revision_number": row.revision_number}


def segment_row(session: Session, segment_id: str, lock: bool = False) -> Any:
    query = select(NetworkSegment).where(NetworkSegment.id == segment_id)
    if lock and session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return session.execute(query).scalar()


def load_segments(session: Session, ids: Sequence[str]) -> list[dict[str, Any]]:
    rows = {r.id: r for r in session.execute(select(NetworkSegment).where(
        NetworkSegment.id.in_(list(ids)))).scalars()} if ids else {}
    tags = load_tags(session, list(rows))
    return [segment_dict(rows[i], tags.get(i, [])) for i in ids if i in rows]


def next_index(session: Session, network_id: str) -> int:
    top = session.execute(select(func.max(NetworkSegment.segment_index)).where(
        NetworkSegment.network_id == network_id)).scalar()
    return 0 if top is None else int(top) + 1


def segment_listing() -> Listing:
    m = NetworkSegment
    return Listing(m, {
        "id": m.id, "network_id": m.network_id, "name": m.name,
        "description": m.description, "network_type": m.network_type,
        "physical_network": m.physical_network, "segmentation_id": m.segmentation_id,
        "created_at": m.created_at, "updated_at": m.updated_at,
        "revision_number": m.revision_number})
