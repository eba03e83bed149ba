"""Subnets with their allocation pools, DNS name servers and host routes."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.base import UUID_LEN, Base, StandardAttrs

IP_LEN = 64
CIDR_LEN = 64


class Subnet(StandardAttrs, Base):
    __tablename__ = "subnets"

    network_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("networks.id"), index=True)
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(String(CIDR_LEN))
    gateway_ip: Mapped[str | None] = mapped_column(String(IP_LEN), nullable=True)
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    subnetpool_id: Mapped[str | None] = mapped_column(String(UUID_LEN), nullable=True)
    segment_id: Mapped[str | None] = mapped_column(String(UUID_LEN), nullable=True)


class IPAllocationPool(Base):
    __tablename__ = "ipallocationpools"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    subnet_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("subnets.id", ondelete="CASCADE"), index=True)
    first_ip: Mapped[str] = mapped_column(String(IP_LEN))
    last_ip: Mapped[str] = mapped_column(String(IP_LEN))


class DnsNameserver(Base):
    __tablename__ = "dnsnameservers"

    subnet_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str] = mapped_column(String(128), primary_key=True)
    order: Mapped[int] = mapped_column(Integer, default=0)


class SubnetRoute(Base):
    __tablename__ = "subnetroutes"

    subnet_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True)
    destination: Mapped[str] = mapped_column(String(CIDR_LEN), primary_key=True)
    nexthop: Mapped[str] = mapped_column(String(IP_LEN), primary_key=True)
