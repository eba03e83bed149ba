"""security groups, rules, per-project default groups, port bindings

Revision ID: 0003_security_groups
Revises: 0001_initial
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_security_groups'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'securitygroups',
        sa.Column('stateful', sa.Boolean(), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('revision_number', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_securitygroups')),
    )
    op.create_index(op.f('ix_securitygroups_project_id'), 'securitygroups', ['project_id'],
                    unique=False)
    op.create_table(
        'default_security_group',
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('security_group_id', sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ['security_group_id'], ['securitygroups.id'],
            name=op.f('fk_default_security_group_security_group_id_securitygroups'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('project_id', name=op.f('pk_default_security_group')),
        sa.UniqueConstraint('security_group_id',
                            name=op.f('uq_default_security_group_security_group_id')),
    )
    op.create_table(
        'securitygrouprules',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('security_group_id', sa.String(length=36), nullable=False),
        sa.Column('remote_group_id', sa.String(length=36), nullable=True),
        sa.Column('direction', sa.String(length=16), nullable=False),
        sa.Column('ethertype', sa.String(length=40), nullable=False),
        sa.Column('protocol', sa.String(length=40), nullable=True),
        sa.Column('port_range_min', sa.Integer(), nullable=True),
        sa.Column('port_range_max', sa.Integer(), nullable=True),
        sa.Column('remote_ip_prefix', sa.String(length=255), nullable=True),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('revision_number', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ['remote_group_id'], ['securitygroups.id'],
            name=op.f('fk_securitygrouprules_remote_group_id_securitygroups'),
            ondelete='CASCADE'),
        sa.ForeignKeyConstraint(
            ['security_group_id'], ['securitygroups.id'],
            name=op.f('fk_securitygrouprules_security_group_id_securitygroups'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_securitygrouprules')),
    )
    for column in ('project_id', 'remote_group_id', 'security_group_id'):
        op.create_index(op.f(f'ix_securitygrouprules_{column}'), 'securitygrouprules',
                        [column], unique=False)
    op.create_table(
        'securitygroupportbindings',
        sa.Column('port_id', sa.String(length=36), nullable=False),
        sa.Column('security_group_id', sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ['port_id'], ['ports.id'],
            name=op.f('fk_securitygroupportbindings_port_id_ports'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(
            ['security_group_id'], ['securitygroups.id'],
            name=op.f('fk_securitygroupportbindings_security_group_id_securitygroups')),
        sa.PrimaryKeyConstraint('port_id', 'security_group_id',
                                name=op.f('pk_securitygroupportbindings')),
    )
    op.create_index(op.f('ix_securitygroupportbindings_security_group_id'),
                    'securitygroupportbindings', ['security_group_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_securitygroupportbindings_security_group_id'),
                  table_name='securitygroupportbindings')
    op.drop_table('securitygroupportbindings')
    for column in ('security_group_id', 'remote_group_id', 'project_id'):
        op.drop_index(op.f(f'ix_securitygrouprules_{column}'), table_name='securitygrouprules')
    op.drop_table('securitygrouprules')
    op.drop_table('default_security_group')
    op.drop_index(op.f('ix_securitygroups_project_id'), table_name='securitygroups')
    op.drop_table('securitygroups')
