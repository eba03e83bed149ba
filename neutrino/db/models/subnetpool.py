"""Subnet pools with their prefixes, address scopes, and the defaults auto-allocation uses.

Uniqueness the API promises is held by keys, so that concurrent requests cannot
break it: one default pool per IP version (``default_subnetpools.ip_version``), one
default external network (``default_external_networks.scope``), one auto-allocated
topology per project (``auto_allocated_topologies.project_id``).
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.base import PROJECT_ID_LEN, UUID_LEN, Base, StandardAttrs

CIDR_LEN = 64


class AddressScope(StandardAttrs, Base):
    __tablename__ = "address_scopes"

    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    ip_version: Mapped[int] = mapped_column(Integer)


class SubnetPool(StandardAttrs, Base):
    __tablename__ = "subnetpools"

    ip_version: Mapped[int] = mapped_column(Integer)
    default_prefixlen: Mapped[int] = mapped_column(Integer)
    min_prefixlen: Mapped[int] = mapped_column(Integer)
    max_prefixlen: Mapped[int] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    default_quota: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A scope in use cannot be deleted (the plugin answers 409 before the key would).
    address_scope_id: Mapped[str | None] = mapped_column(
        String(UUID_LEN), ForeignKey("address_scopes.id"), nullable=True, index=True)


class SubnetPoolPrefix(Base):
    __tablename__ = "subnetpoolprefixes"

    subnetpool_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("subnetpools.id", ondelete="CASCADE"),
        primary_key=True)
    cidr: Mapped[str] = mapped_column(String(CIDR_LEN), primary_key=True)


class DefaultSubnetPool(Base):
    """The default pool of an IP version: the key allows one."""

    __tablename__ = "default_subnetpools"

    ip_version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    subnetpool_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("subnetpools.id", ondelete="CASCADE"), unique=True)


class DefaultExternalNetwork(Base):
    """The default external network (``is_default``): the key allows one."""

    __tablename__ = "default_external_networks"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True, default="default")
    network_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("networks.id", ondelete="CASCADE"), unique=True)


class AutoAllocatedTopology(Base):
    """A project's auto-allocated network and router."""

    __tablename__ = "auto_allocated_topologies"

    project_id: Mapped[str] = mapped_column(String(PROJECT_ID_LEN), primary_key=True)
    network_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("networks.id", ondelete="CASCADE"), unique=True)
    router_id: Mapped[str | None] = mapped_column(
        String(UUID_LEN), ForeignKey("routers.id", ondelete="SET NULL"), nullable=True)
