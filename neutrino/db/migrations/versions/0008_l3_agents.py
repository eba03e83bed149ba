"""L3 agent bindings of routers and the routers' availability zone hints

Revision ID: 0008_l3_agents
Revises: 0007_merge
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008_l3_agents'
down_revision = '0007_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'router_l3_agent_bindings',
        sa.Column('router_id', sa.String(length=36), nullable=False),
        sa.Column('l3_agent_id', sa.String(length=36), nullable=False),
        sa.Column('binding_index', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['l3_agent_id'], ['agents.id'],
            name=op.f('fk_router_l3_agent_bindings_l3_agent_id_agents'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(
            ['router_id'], ['routers.id'],
            name=op.f('fk_router_l3_agent_bindings_router_id_routers'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('router_id', 'l3_agent_id',
                                name=op.f('pk_router_l3_agent_bindings')),
        sa.UniqueConstraint('router_id', 'binding_index',
                            name=op.f('uq_router_l3_agent_bindings_router_id_binding_index')),
    )
    op.create_index(op.f('ix_router_l3_agent_bindings_l3_agent_id'),
                    'router_l3_agent_bindings', ['l3_agent_id'], unique=False)
    op.create_table(
        'router_extra_attributes',
        sa.Column('router_id', sa.String(length=36), nullable=False),
        sa.Column('availability_zone_hints', sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ['router_id'], ['routers.id'],
            name=op.f('fk_router_extra_attributes_router_id_routers'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('router_id', name=op.f('pk_router_extra_attributes')),
    )


def downgrade() -> None:
    op.drop_table('router_extra_attributes')
    op.drop_index(op.f('ix_router_l3_agent_bindings_l3_agent_id'),
                  table_name='router_l3_agent_bindings')
    op.drop_table('router_l3_agent_bindings')
