"""one head again after the L3 and quota branches

Revision ID: 0007_merge
Revises: 0005_l3, 0006_quotas
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = '0007_merge'
down_revision = ('0005_l3', '0006_quotas')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
