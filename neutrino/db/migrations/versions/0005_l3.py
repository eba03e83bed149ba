"""routers, router ports, extra routes, floating IPs, port forwardings

Revision ID: 0005_l3
Revises: 0004_dhcp
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_l3'
down_revision = '0004_dhcp'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'routers',
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('admin_state_up', sa.Boolean(), nullable=False),
        sa.Column('gw_port_id', sa.String(length=36), nullable=True),
        sa.Column('enable_snat', sa.Boolean(), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('revision_number', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_routers')),
    )
    op.create_index(op.f('ix_routers_project_id'), 'routers', ['project_id'], unique=False)
    op.create_table(
        'routerroutes',
        sa.Column('router_id', sa.String(length=36), nullable=False),
        sa.Column('destination', sa.String(length=64), nullable=False),
        sa.Column('nexthop', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ['router_id'],
            ['routers.id'],
            name=op.f('fk_routerroutes_router_id_routers'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint(
            'router_id', 'destination', 'nexthop', name=op.f('pk_routerroutes')
        ),
    )
    op.create_table(
        'floatingips',
        sa.Column('floating_ip_address', sa.String(length=64), nullable=False),
        sa.Column('floating_network_id', sa.String(length=36), nullable=False),
        sa.Column('floating_port_id', sa.String(length=36), nullable=False),
        sa.Column('fixed_port_id', sa.String(length=36), nullable=True),
        sa.Column('fixed_ip_address', sa.String(length=64), nullable=True),
        sa.Column('router_id', sa.String(length=36), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('revision_number', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ['fixed_port_id'], ['ports.id'], name=op.f('fk_floatingips_fixed_port_id_ports')
        ),
        sa.ForeignKeyConstraint(
            ['floating_network_id'],
            ['networks.id'],
            name=op.f('fk_floatingips_floating_network_id_networks'),
        ),
        sa.ForeignKeyConstraint(
            ['floating_port_id'],
            ['ports.id'],
            name=op.f('fk_floatingips_floating_port_id_ports'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['router_id'], ['routers.id'], name=op.f('fk_floatingips_router_id_routers')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_floatingips')),
        sa.UniqueConstraint(
            'floating_network_id',
            'fixed_port_id',
            'fixed_ip_address',
            name='uq_floatingips_fixed_ip',
        ),
        sa.UniqueConstraint('floating_port_id', name=op.f('uq_floatingips_floating_port_id')),
    )
    op.create_index(
        op.f('ix_floatingips_fixed_port_id'), 'floatingips', ['fixed_port_id'], unique=False
    )
    op.create_index(
        op.f('ix_floatingips_floating_network_id'),
        'floatingips',
        ['floating_network_id'],
        unique=False,
    )
    op.create_index(op.f('ix_floatingips_project_id'), 'floatingips', ['project_id'], unique=False)
    op.create_index(op.f('ix_floatingips_router_id'), 'floatingips', ['router_id'], unique=False)
    op.create_table(
        'routerports',
        sa.Column('router_id', sa.String(length=36), nullable=False),
        sa.Column('port_id', sa.String(length=36), nullable=False),
        sa.Column('port_type', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ['port_id'], ['ports.id'], name=op.f('fk_routerports_port_id_ports'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['router_id'],
            ['routers.id'],
            name=op.f('fk_routerports_router_id_routers'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('port_id', name=op.f('pk_routerports')),
    )
    op.create_index(op.f('ix_routerports_router_id'), 'routerports', ['router_id'], unique=False)
    op.create_table(
        'portforwardings',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('floatingip_id', sa.String(length=36), nullable=False),
        sa.Column('internal_port_id', sa.String(length=36), nullable=False),
        sa.Column('internal_ip_address', sa.String(length=64), nullable=False),
        sa.Column('internal_port', sa.Integer(), nullable=False),
        sa.Column('external_port', sa.Integer(), nullable=False),
        sa.Column('protocol', sa.String(length=40), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ['floatingip_id'],
            ['floatingips.id'],
            name=op.f('fk_portforwardings_floatingip_id_floatingips'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['internal_port_id'],
            ['ports.id'],
            name=op.f('fk_portforwardings_internal_port_id_ports'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_portforwardings')),
        sa.UniqueConstraint(
            'floatingip_id', 'external_port', 'protocol', name='uq_portforwardings_external'
        ),
        sa.UniqueConstraint(
            'internal_port_id',
            'internal_ip_address',
            'internal_port',
            'protocol',
            name='uq_portforwardings_internal',
        ),
    )
    op.create_index(
        op.f('ix_portforwardings_floatingip_id'), 'portforwardings', ['floatingip_id'], unique=False
    )
    op.create_index(
        op.f('ix_portforwardings_internal_port_id'),
        'portforwardings',
        ['internal_port_id'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_portforwardings_internal_port_id'), table_name='portforwardings')
    op.drop_index(op.f('ix_portforwardings_floatingip_id'), table_name='portforwardings')
    op.drop_table('portforwardings')
    op.drop_index(op.f('ix_routerports_router_id'), table_name='routerports')
    op.drop_table('routerports')
    op.drop_index(op.f('ix_floatingips_router_id'), table_name='floatingips')
    op.drop_index(op.f('ix_floatingips_project_id'), table_name='floatingips')
    op.drop_index(op.f('ix_floatingips_floating_network_id'), table_name='floatingips')
    op.drop_index(op.f('ix_floatingips_fixed_port_id'), table_name='floatingips')
    op.drop_table('floatingips')
    op.drop_table('routerroutes')
    op.drop_index(op.f('ix_routers_project_id'), table_name='routers')
    op.drop_table('routers')
