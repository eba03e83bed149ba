"""RBAC policies: one table per object type, as Neutron keeps them.

A row grants ``target_project`` (a project id, or ``*`` for every project) an
``action`` (``access_as_shared``, ``access_as_external``) on one object. The object's
foreign key deletes its policies with it. ``RBACColumns`` is the shape every type's
table shares, so a new type (QoS policies, as subnet pools and address scopes did) adds
a model of two lines and registers it with the RBAC plugin.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from neutrino.db.base import PROJECT_ID_LEN, UUID_LEN, Base, utcnow

WILDCARD = "*"
ACCESS_SHARED = "access_as_shared"
ACCESS_EXTERNAL = "access_as_external"


class RBACColumns:
    """Columns of every RBAC table; ``object_table`` names the table of its objects."""

    __tablename__: str
    object_table: str

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_ID_LEN), index=True, default="")
    target_project: Mapped[str] = mapped_column(String(PROJECT_ID_LEN), index=True)
    action: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revision_number: Mapped[int] = mapped_column(BigInteger, default=0)

    @declared_attr
    def object_id(cls) -> Mapped[str]:  # noqa: N805 - SQLAlchemy's declared_attr form
        return mapped_column(String(UUID_LEN),
                             ForeignKey(f"{cls.object_table}.id", ondelete="CASCADE"),
                             index=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[UniqueConstraint]:  # noqa: N805
        # One policy per (object, action, target): a duplicate is Neutron's 409.
        return (UniqueConstraint("target_project", "object_id", "action",
                                 name=f"uq_{cls.__tablename__}_target_object_action"),)


class NetworkRBAC(RBACColumns, Base):
    __tablename__ = "networkrbacs"
    object_table = "networks"


class SecurityGroupRBAC(RBACColumns, Base):
    __tablename__ = "securitygrouprbacs"
    object_table = "securitygroups"


class SubnetPoolRBAC(RBACColumns, Base):
    __tablename__ = "subnetpoolrbacs"
    object_table = "subnetpools"


class AddressScopeRBAC(RBACColumns, Base):
    __tablename__ = "addressscoperbacs"
    object_table = "address_scopes"
