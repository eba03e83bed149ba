"""one head again after the L3 agent, RBAC, subnet pool, segment and zone branches

Revision ID: 0013_merge
Revises: 0008_l3_agents, 0009_rbac, 0010_subnetpools, 0011_segments, 0012_az_defaults
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = '0013_merge'
down_revision = ('0008_l3_agents', '0009_rbac', '0010_subnetpools', '0011_segments',
                 '0012_az_defaults')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
