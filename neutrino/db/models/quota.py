"""Per-project quota limits (Neutron's ``quotas`` table), each row also the lock of its
(project, resource).

A row with a ``limit`` overrides the configured default. A row whose ``limit`` is
NULL holds no override: it exists only so that creates of that resource in that
project can lock it (``SELECT … FOR UPDATE``) and so count and check one at a time.
``DELETE /v2.0/quotas/{project_id}`` clears the limits and keeps the lock rows.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.base import PROJECT_ID_LEN, UUID_LEN, Base


class Quota(Base):
    """A project's limit of one resource, or (``limit`` NULL) only its lock row."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource"),)

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_ID_LEN))
    resource: Mapped[str] = mapped_column(String(255))
    limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
