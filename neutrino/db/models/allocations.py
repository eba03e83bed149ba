"""Segment allocations of the type drivers.

A row exists only while its segment is allocated: ranges of millions of VNIs need
no pre-populated table, and the primary key makes a double allocation impossible.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.base import Base


class FlatAllocation(Base):
    __tablename__ = "ml2_flat_allocations"

    physical_network: Mapped[str] = mapped_column(String(64), primary_key=True)


class VlanAllocation(Base):
    __tablename__ = "ml2_vlan_allocations"

    physical_network: Mapped[str] = mapped_column(String(64), primary_key=True)
    vlan_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class GreAllocation(Base):
    __tablename__ = "ml2_gre_allocations"

    gre_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class VxlanAllocation(Base):
    __tablename__ = "ml2_vxlan_allocations"

    vxlan_vni: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class GeneveAllocation(Base):
    __tablename__ = "ml2_geneve_allocations"

    geneve_vni: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
