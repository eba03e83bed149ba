"""Network segment ranges: the tenant segmentation-id pools, in the database.

The configured ranges are rows too (``default``), written at start-up, so every
server worker allocates from the same ranges and a change made through the API
applies to the next network whichever worker creates it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.base import Base, StandardAttrs


class NetworkSegmentRange(StandardAttrs, Base):
    __tablename__ = "network_segment_ranges"

    default: Mapped[bool] = mapped_column(Boolean, default=False)
    shared: Mapped[bool] = mapped_column(Boolean, default=True)
    network_type: Mapped[str] = mapped_column(String(32), index=True)
    physical_network: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # BIGINT: GRE keys go up to 2**32-1.
    minimum: Mapped[int] = mapped_column(BigInteger)
    maximum: Mapped[int] = mapped_column(BigInteger)
