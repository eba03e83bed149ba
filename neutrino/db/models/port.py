"""Ports, their IP allocations, bindings, address pairs and extra DHCP options.

``ipallocations`` has (ip_address, subnet_id) as its primary key: that key, not a
lock, is what guarantees that no IP is ever handed out twice, on every backend and
across any number of server processes.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.base import UUID_LEN, Base, StandardAttrs

IP_LEN = 64
MAC_LEN = 32


class Port(StandardAttrs, Base):
    __tablename__ = "ports"
    __table_args__ = (UniqueConstraint("network_id", "mac_address"),)

    network_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("networks.id"), index=True)
    mac_address: Mapped[str] = mapped_column(String(MAC_LEN))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # ``deferred`` while a port of a routed network waits for a host (0011_segments).
    ip_allocation: Mapped[str | None] = mapped_column(String(16), nullable=True)


class IPAllocation(Base):
    __tablename__ = "ipallocations"

    ip_address: Mapped[str] = mapped_column(String(IP_LEN), primary_key=True)
    subnet_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(UUID_LEN), index=True)
    port_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("ports.id", ondelete="CASCADE"), index=True)


class PortBinding(Base):
    __tablename__ = "ml2_port_bindings"

    port_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), default="", index=True)
    vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    vif_details: Mapped[str] = mapped_column(Text, default="{}")
    profile: Mapped[str] = mapped_column(Text, default="{}")
    segment_id: Mapped[str | None] = mapped_column(String(UUID_LEN), nullable=True)


class AllowedAddressPair(Base):
    __tablename__ = "allowedaddresspairs"

    port_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    mac_address: Mapped[str] = mapped_column(String(MAC_LEN), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(IP_LEN), primary_key=True)


class ExtraDhcpOpt(Base):
    __tablename__ = "extradhcpopts"
    __table_args__ = (UniqueConstraint("port_id", "opt_name", "ip_version"),)

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    port_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    opt_name: Mapped[str] = mapped_column(String(64))
    opt_value: Mapped[str] = mapped_column(String(255))
    ip_version: Mapped[int] = mapped_column(Integer, default=4)
