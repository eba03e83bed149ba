"""agents and tunnel endpoints

Revision ID: 0003_agents
Revises: 0001_initial
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_agents'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'agents',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('agent_type', sa.String(length=255), nullable=False),
        sa.Column('binary', sa.String(length=255), nullable=False),
        sa.Column('topic', sa.String(length=255), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('availability_zone', sa.String(length=255), nullable=True),
        sa.Column('admin_state_up', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('heartbeat_timestamp', sa.DateTime(), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=True),
        sa.Column('configurations', sa.Text(), nullable=False),
        sa.Column('resource_versions', sa.Text(), nullable=True),
        sa.Column('load', sa.Integer(), nullable=False),
        sa.Column('resources_synced', sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
        sa.UniqueConstraint('agent_type', 'host', name=op.f('uq_agents_agent_type_host')),
    )
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agents_host'), ['host'], unique=False)
    op.create_table(
        'ml2_gre_endpoints',
        sa.Column('ip_address', sa.String(length=64), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint('ip_address', name=op.f('pk_ml2_gre_endpoints')),
        sa.UniqueConstraint('host', name=op.f('uq_ml2_gre_endpoints_host')),
    )
    op.create_table(
        'ml2_vxlan_endpoints',
        sa.Column('ip_address', sa.String(length=64), nullable=False),
        sa.Column('udp_port', sa.Integer(), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint('ip_address', name=op.f('pk_ml2_vxlan_endpoints')),
        sa.UniqueConstraint('host', name=op.f('uq_ml2_vxlan_endpoints_host')),
    )
    op.create_table(
        'ml2_geneve_endpoints',
        sa.Column('ip_address', sa.String(length=64), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint('ip_address', name=op.f('pk_ml2_geneve_endpoints')),
        sa.UniqueConstraint('host', name=op.f('uq_ml2_geneve_endpoints_host')),
    )


def downgrade() -> None:
    op.drop_table('ml2_geneve_endpoints')
    op.drop_table('ml2_vxlan_endpoints')
    op.drop_table('ml2_gre_endpoints')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agents_host'))
    op.drop_table('agents')
