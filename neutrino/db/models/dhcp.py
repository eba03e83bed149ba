"""Which DHCP agents serve which networks, and ports' pending provisioning blocks.

``networkdhcpagentbindings`` is Neutron's table: a network scheduled to an agent.
``binding_index`` numbers a network's agents 1..N; its unique key with the network
is what keeps two servers scheduling at once from giving a network more agents
than ``dhcp_agents_per_network`` (the loser's insert fails and it looks again).

``provisioningblocks`` holds, per port, the entities (``L2``, ``DHCP``) that still
have to report it ready before it may go ACTIVE (Neutron keys it by the standard
attribute id; the port id serves the same purpose here).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neutrino.db.base import UUID_LEN, Base


class NetworkDhcpAgentBinding(Base):
    """A network served by a DHCP agent."""

    __tablename__ = "networkdhcpagentbindings"
    __table_args__ = (UniqueConstraint("network_id", "binding_index"),)

    network_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    dhcp_agent_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True,
        index=True)
    binding_index: Mapped[int] = mapped_column(Integer, default=1)


class ProvisioningBlock(Base):
    """An entity that has yet to report a port ready."""

    __tablename__ = "provisioningblocks"

    port_id: Mapped[str] = mapped_column(
        String(UUID_LEN), ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    entity: Mapped[str] = mapped_column(String(255), primary_key=True)
