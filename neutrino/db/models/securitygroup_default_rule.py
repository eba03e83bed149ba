"""The template that new security groups take their rules from (Neutron 2023.2+).

``securitygroupdefaultrules`` holds one row per template rule, as Neutron's table of
that name: a project's ``default`` group gets the rows with ``used_in_default_sg``,
every other new group those with ``used_in_non_default_sg``. ``remote_group_id`` may
be the word ``PARENT`` (the group being made), so it is no foreign key.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.base import DESC_LEN, UUID_LEN, Base, utcnow


class SecurityGroupDefaultRule(Base):
    """One rule of the template."""

    __tablename__ = "securitygroupdefaultrules"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(40))
    protocol: Mapped[str | None] = mapped_column(String(40), nullable=True)
    port_range_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    port_range_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(255), nullable=True)
    remote_group_id: Mapped[str | None] = mapped_column(String(UUID_LEN), nullable=True)
    remote_address_group_id: Mapped[str | None] = mapped_column(String(UUID_LEN),
                                                                nullable=True)
    description: Mapped[str] = mapped_column(String(DESC_LEN), default="")
    used_in_default_sg: Mapped[bool] = mapped_column(Boolean, default=False)
    used_in_non_default_sg: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
