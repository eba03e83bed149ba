"""DHCP agent bindings and provisioning blocks; joins the branches into one head

Revision ID: 0004_dhcp
Revises: 0002_journal, 0003_agents, 0003_security_groups
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_dhcp'
down_revision = ('0002_journal', '0003_agents', '0003_security_groups')
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'networkdhcpagentbindings',
        sa.Column('network_id', sa.String(length=36), nullable=False),
        sa.Column('dhcp_agent_id', sa.String(length=36), nullable=False),
        sa.Column('binding_index', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['dhcp_agent_id'], ['agents.id'],
            name=op.f('fk_networkdhcpagentbindings_dhcp_agent_id_agents'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(
            ['network_id'], ['networks.id'],
            name=op.f('fk_networkdhcpagentbindings_network_id_networks'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('network_id', 'dhcp_agent_id',
                                name=op.f('pk_networkdhcpagentbindings')),
        sa.UniqueConstraint('network_id', 'binding_index',
                            name=op.f('uq_networkdhcpagentbindings_network_id_binding_index')),
    )
    with op.batch_alter_table('networkdhcpagentbindings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_networkdhcpagentbindings_dhcp_agent_id'),
                              ['dhcp_agent_id'], unique=False)
    op.create_table(
        'provisioningblocks',
        sa.Column('port_id', sa.String(length=36), nullable=False),
        sa.Column('entity', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ['port_id'], ['ports.id'],
            name=op.f('fk_provisioningblocks_port_id_ports'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('port_id', 'entity', name=op.f('pk_provisioningblocks')),
    )


def downgrade() -> None:
    op.drop_table('provisioningblocks')
    with op.batch_alter_table('networkdhcpagentbindings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_networkdhcpagentbindings_dhcp_agent_id'))
    op.drop_table('networkdhcpagentbindings')
