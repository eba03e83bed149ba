"""Routers, their ports and extra routes, floating IPs and their port forwardings.

Neutron's tables and the constraints that make races safe: a port belongs to at
most one router (``routerports.port_id`` is the key), a fixed IP carries at most
one floating IP per external network, and a floating IP forwards an external
port of a protocol once.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.base import DESC_LEN, PROJECT_ID_LEN, UUID_LEN, Base, StandardAttrs

IP_LEN = 64


class Router(StandardAttrs, Base):
    __tablename__ = "routers"

    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    # No foreign key: the gateway port is made in its own transaction after the
    # router (as in Neutron), and the L3 plugin refuses its deletion while set.
    gw_port_id: Mapped[str | None] = mapped_column(String(UUID_LEN), nullable=True)
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)


class RouterPort(Base):
    """A port of a router: an interface (``network:router_interface``) or its gateway."""

    __tablename__ = "routerports"

    router_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("routers.id", ondelete="CASCADE"), index=True)
    port_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    port_type: Mapped[str] = mapped_column(String(255))


class RouterRoute(Base):
    """An extra route of a router (Neutron's ``extraroute``)."""

    __tablename__ = "routerroutes"

    router_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    destination: Mapped[str] = mapped_column(String(IP_LEN), primary_key=True)
    nexthop: Mapped[str] = mapped_column(String(IP_LEN), primary_key=True)


class FloatingIP(StandardAttrs, Base):
    __tablename__ = "floatingips"
    # Named here: the conventional name is past MariaDB's 64 characters.
    __table_args__ = (UniqueConstraint("floating_network_id", "fixed_port_id",
                                       "fixed_ip_address", name="uq_floatingips_fixed_ip"),)

    floating_ip_address: Mapped[str] = mapped_column(String(IP_LEN))
    floating_network_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("networks.id"), index=True)
    # The floating IP's own port: deleting it (with its network) takes the FIP along.
    floating_port_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("ports.id", ondelete="CASCADE"), unique=True)
    fixed_port_id: Mapped[str | None] = mapped_column(
        String(UUID_LEN), ForeignKey("ports.id"), nullable=True, index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(IP_LEN), nullable=True)
    router_id: Mapped[str | None] = mapped_column(
        String(UUID_LEN), ForeignKey("routers.id"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")


class PortForwarding(Base):
    __tablename__ = "portforwardings"
    __table_args__ = (
        UniqueConstraint("floatingip_id", "external_port", "protocol",
                         name="uq_portforwardings_external"),
        UniqueConstraint("internal_port_id", "internal_ip_address", "internal_port",
                         "protocol", name="uq_portforwardings_internal"),
    )

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_ID_LEN), default="")
    floatingip_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("floatingips.id", ondelete="CASCADE"), index=True)
    internal_port_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    internal_ip_address: Mapped[str] = mapped_column(String(IP_LEN))
    internal_port: Mapped[int] = mapped_column(Integer)
    external_port: Mapped[int] = mapped_column(Integer)
    protocol: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(DESC_LEN), default="")
