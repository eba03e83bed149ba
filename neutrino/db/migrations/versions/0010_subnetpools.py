"""subnet pools and their prefixes, address scopes, default pools, the default external
network and auto-allocated topologies

Revision ID: 0010_subnetpools
Revises: 0007_merge
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_subnetpools'
down_revision = '0007_merge'
branch_labels = None
depends_on = None


def _standard() -> list[sa.Column]:
    return [
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('revision_number', sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        'address_scopes',
        sa.Column('shared', sa.Boolean(), nullable=False),
        sa.Column('ip_version', sa.Integer(), nullable=False),
        *_standard(),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_address_scopes')),
    )
    op.create_index(op.f('ix_address_scopes_project_id'), 'address_scopes', ['project_id'],
                    unique=False)
    op.create_table(
        'subnetpools',
        sa.Column('ip_version', sa.Integer(), nullable=False),
        sa.Column('default_prefixlen', sa.Integer(), nullable=False),
        sa.Column('min_prefixlen', sa.Integer(), nullable=False),
        sa.Column('max_prefixlen', sa.Integer(), nullable=False),
        sa.Column('shared', sa.Boolean(), nullable=False),
        sa.Column('is_default', sa.Boolean(), nullable=False),
        sa.Column('default_quota', sa.Integer(), nullable=True),
        sa.Column('address_scope_id', sa.String(length=36), nullable=True),
        *_standard(),
        sa.ForeignKeyConstraint(['address_scope_id'], ['address_scopes.id'],
                                name=op.f('fk_subnetpools_address_scope_id_address_scopes')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subnetpools')),
    )
    op.create_index(op.f('ix_subnetpools_address_scope_id'), 'subnetpools',
                    ['address_scope_id'], unique=False)
    op.create_index(op.f('ix_subnetpools_project_id'), 'subnetpools', ['project_id'],
                    unique=False)
    op.create_table(
        'subnetpoolprefixes',
        sa.Column('subnetpool_id', sa.String(length=36), nullable=False),
        sa.Column('cidr', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['subnetpool_id'], ['subnetpools.id'],
                                name=op.f('fk_subnetpoolprefixes_subnetpool_id_subnetpools'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('subnetpool_id', 'cidr', name=op.f('pk_subnetpoolprefixes')),
    )
    op.create_table(
        'default_subnetpools',
        sa.Column('ip_version', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('subnetpool_id', sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(['subnetpool_id'], ['subnetpools.id'],
                                name=op.f('fk_default_subnetpools_subnetpool_id_subnetpools'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ip_version', name=op.f('pk_default_subnetpools')),
        sa.UniqueConstraint('subnetpool_id', name=op.f('uq_default_subnetpools_subnetpool_id')),
    )
    op.create_table(
        'default_external_networks',
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('network_id', sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(['network_id'], ['networks.id'],
                                name=op.f('fk_default_external_networks_network_id_networks'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('scope', name=op.f('pk_default_external_networks')),
        sa.UniqueConstraint('network_id',
                            name=op.f('uq_default_external_networks_network_id')),
    )
    op.create_table(
        'auto_allocated_topologies',
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('network_id', sa.String(length=36), nullable=False),
        sa.Column('router_id', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(['network_id'], ['networks.id'],
                                name=op.f('fk_auto_allocated_topologies_network_id_networks'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['router_id'], ['routers.id'],
                                name=op.f('fk_auto_allocated_topologies_router_id_routers'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('project_id', name=op.f('pk_auto_allocated_topologies')),
        sa.UniqueConstraint('network_id',
                            name=op.f('uq_auto_allocated_topologies_network_id')),
    )


def downgrade() -> None:
    op.drop_table('auto_allocated_topologies')
    op.drop_table('default_external_networks')
    op.drop_table('default_subnetpools')
    op.drop_table('subnetpoolprefixes')
    op.drop_index(op.f('ix_subnetpools_project_id'), table_name='subnetpools')
    op.drop_index(op.f('ix_subnetpools_address_scope_id'), table_name='subnetpools')
    op.drop_table('subnetpools')
    op.drop_index(op.f('ix_address_scopes_project_id'), table_name='address_scopes')
    op.drop_table('address_scopes')
