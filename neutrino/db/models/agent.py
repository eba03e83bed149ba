"""Agents (fed by heartbeats) and tunnel endpoints (fed by tunnel_sync), as Neutron's tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.base import DESC_LEN, UUID_LEN, Base, utcnow


class Agent(Base):
    """One agent process (type × host); ``heartbeat_timestamp`` decides whether it is alive."""

    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("agent_type", "host"),)

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    agent_type: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255), index=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    heartbeat_timestamp: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    description: Mapped[str | None] = mapped_column(String(DESC_LEN), nullable=True)
    configurations: Mapped[str] = mapped_column(Text, default="{}")
    resource_versions: Mapped[str | None] = mapped_column(Text, nullable=True)
    load: Mapped[int] = mapped_column(Integer, default=0)
    resources_synced: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class GreEndpoint(Base):
    __tablename__ = "ml2_gre_endpoints"

    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True, unique=True)


class VxlanEndpoint(Base):
    __tablename__ = "ml2_vxlan_endpoints"

    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    udp_port: Mapped[int] = mapped_column(Integer, default=4789)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True, unique=True)


class GeneveEndpoint(Base):
    __tablename__ = "ml2_geneve_endpoints"

    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True, unique=True)


ENDPOINT_MODELS: dict[str, Any] = {
    "gre": GreEndpoint, "vxlan": VxlanEndpoint, "geneve": GeneveEndpoint}
