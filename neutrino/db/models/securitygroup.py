"""Security groups, their rules, the per-project default group and port bindings.

``default_security_group`` has the project as its primary key: that key, not a lock,
is what makes a project's ``default`` group exist once however many requests create
it at the same time (the loser of the race reads the winner's row).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.base import DESC_LEN, PROJECT_ID_LEN, UUID_LEN, Base, StandardAttrs, utcnow


class SecurityGroup(StandardAttrs, Base):
    __tablename__ = "securitygroups"

    stateful: Mapped[bool] = mapped_column(Boolean, default=True)


class SecurityGroupRule(Base):
    __tablename__ = "securitygrouprules"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_ID_LEN), index=True, default="")
    security_group_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("securitygroups.id", ondelete="CASCADE"), index=True)
    remote_group_id: Mapped[str | None] = mapped_column(
        String(UUID_LEN), ForeignKey("securitygroups.id", ondelete="CASCADE"),
        nullable=True, index=True)
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(40))
    protocol: Mapped[str | None] = mapped_column(String(40), nullable=True)
    port_range_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    port_range_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(255), nullable=True)
    description: Mapped[str] = mapped_column(String(DESC_LEN), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revision_number: Mapped[int] = mapped_column(BigInteger, default=0)


class DefaultSecurityGroup(Base):
    __tablename__ = "default_security_group"

    project_id: Mapped[str] = mapped_column(String(PROJECT_ID_LEN), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("securitygroups.id", ondelete="CASCADE"), unique=True)


class SecurityGroupPortBinding(Base):
    __tablename__ = "securitygroupportbindings"

    port_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("securitygroups.id"), primary_key=True, index=True)
