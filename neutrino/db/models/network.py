"""Networks and their segments (the network_type/physical_network/segmentation_id)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.base import DESC_LEN, NAME_LEN, UUID_LEN, Base, StandardAttrs, utcnow


class Network(StandardAttrs, Base):
    __tablename__ = "networks"

    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    router_external: Mapped[bool] = mapped_column(Boolean, default=False)
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The hints as Neutron keeps them: a JSON list in one string (``["az1", "az2"]``).
    availability_zone_hints: Mapped[str | None] = mapped_column(String(255), nullable=True)


class NetworkSegment(Base):
    __tablename__ = "networksegments"
    __table_args__ = (UniqueConstraint("network_id", "segment_index"),)

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    network_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    network_type: Mapped[str] = mapped_column(String(32))
    physical_network: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # BIGINT: GRE keys go up to 2**32-1, beyond a signed 32-bit INTEGER.
    segmentation_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    segment_index: Mapped[int] = mapped_column(Integer, default=0)
    is_dynamic: Mapped[bool] = mapped_column(Boolean, default=False)
    # The segment extension's standard attributes (0011_segments). Segments made before
    # it have no timestamps: SQLite cannot add a NOT NULL column with a clock default.
    name: Mapped[str | None] = mapped_column(String(NAME_LEN), nullable=True)
    description: Mapped[str] = mapped_column(String(DESC_LEN), default="")
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True,
                                                           default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True,
                                                           default=utcnow)
    revision_number: Mapped[int] = mapped_column(BigInteger, default=0)
