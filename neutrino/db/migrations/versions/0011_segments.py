"""segments' standard attributes and network segment ranges

Revision ID: 0011_segments
Revises: 0007_merge
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011_segments'
down_revision = '0007_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('networksegments', sa.Column('name', sa.String(length=255), nullable=True))
    op.add_column('networksegments', sa.Column('description', sa.String(length=255),
                                               nullable=False, server_default=''))
    op.add_column('networksegments', sa.Column('created_at', sa.DateTime(), nullable=True))
    op.add_column('networksegments', sa.Column('updated_at', sa.DateTime(), nullable=True))
    op.add_column('networksegments', sa.Column('revision_number', sa.BigInteger(),
                                               nullable=False, server_default='0'))
    op.add_column('ports', sa.Column('ip_allocation', sa.String(length=16), nullable=True))
    op.create_table(
        'network_segment_ranges',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('revision_number', sa.BigInteger(), nullable=False),
        sa.Column('default', sa.Boolean(), nullable=False),
        sa.Column('shared', sa.Boolean(), nullable=False),
        sa.Column('network_type', sa.String(length=32), nullable=False),
        sa.Column('physical_network', sa.String(length=64), nullable=True),
        sa.Column('minimum', sa.BigInteger(), nullable=False),
        sa.Column('maximum', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_network_segment_ranges')),
    )
    op.create_index(op.f('ix_network_segment_ranges_project_id'), 'network_segment_ranges',
                    ['project_id'])
    op.create_index(op.f('ix_network_segment_ranges_network_type'),
                    'network_segment_ranges', ['network_type'])


def downgrade() -> None:
    op.drop_index(op.f('ix_network_segment_ranges_network_type'),
                  table_name='network_segment_ranges')
    op.drop_index(op.f('ix_network_segment_ranges_project_id'),
                  table_name='network_segment_ranges')
    op.drop_table('network_segment_ranges')
    with op.batch_alter_table('ports') as batch_op:
        batch_op.drop_column('ip_allocation')
    with op.batch_alter_table('networksegments') as batch_op:
        for column in ('revision_number', 'updated_at', 'created_at', 'description',
                       'name'):
            batch_op.drop_column(column)
