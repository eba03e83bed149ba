"""quota limits and per-(project, resource) lock rows

Revision ID: 0006_quotas
Revises: 0004_dhcp
Create Date: 2026-12-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_quotas'
down_revision = '0004_dhcp'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'quotas',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('resource', sa.String(length=255), nullable=False),
        sa.Column('limit', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_quotas')),
        sa.UniqueConstraint('project_id', 'resource',
                            name=op.f('uq_quotas_project_id_resource')),
    )


def downgrade() -> None:
    op.drop_table('quotas')
