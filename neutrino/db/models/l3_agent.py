"""Which L3 agent hosts which router, and the routers' availability zone hints.

``router_l3_agent_bindings`` holds Neutron's ``routerl3agentbindings`` columns: a
router scheduled to an agent. A legacy router has one agent, so ``binding_index``
is always 1 and its unique key with the router is what keeps two servers
scheduling the same router at once from giving it two agents (the loser's insert
fails and it looks again).

``router_extra_attributes`` keeps, as Neutron's table of that name, what a router
has beyond the ``routers`` row: here its ``availability_zone_hints`` (set on create
only; a JSON list as Neutron keeps them, see ``apidef.availability_zone``).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.base import UUID_LEN, Base

AZ_HINTS_LEN = 255


class RouterL3AgentBinding(Base):
    """A router hosted by an L3 agent."""

    __tablename__ = "router_l3_agent_bindings"
    __table_args__ = (UniqueConstraint("router_id", "binding_index"),)

    router_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    l3_agent_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True,
        index=True)
    binding_index: Mapped[int] = mapped_column(Integer, default=1)


class RouterExtraAttributes(Base):
    """What a router carries beyond its ``routers`` row."""

    __tablename__ = "router_extra_attributes"

    router_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    availability_zone_hints: Mapped[str | None] = mapped_column(String(AZ_HINTS_LEN),
                                                                nullable=True)
