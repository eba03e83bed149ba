"""networks' availability zone hints; the default security group rule template

Revision ID: 0012_az_defaults
Revises: 0007_merge
Create Date: 2026-12-01
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic import op

revision = '0012_az_defaults'
down_revision = '0007_merge'
branch_labels = None
depends_on = None

_EGRESS = "Legacy default SG rule for egress traffic"
_INGRESS = "Legacy default SG rule for ingress traffic"


def _seed() -> list[dict[str, object]]:
    """Neutron's four rules: egress anywhere in every group, ingress from the group
    itself in a project's default group only (IPv4 and IPv6 each)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    rows: list[dict[str, object]] = []
    for ethertype in ("IPv4", "IPv6"):
        rows.append({"direction": "egress", "ethertype": ethertype, "remote_group_id": None,
                     "used_in_default_sg": True, "used_in_non_default_sg": True,
                     "description": _EGRESS})
        rows.append({"direction": "ingress", "ethertype": ethertype,
                     "remote_group_id": "PARENT", "used_in_default_sg": True,
                     "used_in_non_default_sg": False, "description": _INGRESS})
    return [{"id": str(uuid.uuid4()), "protocol": None, "port_range_min": None,
             "port_range_max": None, "remote_ip_prefix": None,
             "remote_address_group_id": None, "created_at": now, **r} for r in rows]


def upgrade() -> None:
    op.add_column('networks', sa.Column('availability_zone_hints', sa.String(length=255),
                                        nullable=True))
    table = op.create_table(
        'securitygroupdefaultrules',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('direction', sa.String(length=16), nullable=False),
        sa.Column('ethertype', sa.String(length=40), nullable=False),
        sa.Column('protocol', sa.String(length=40), nullable=True),
        sa.Column('port_range_min', sa.Integer(), nullable=True),
        sa.Column('port_range_max', sa.Integer(), nullable=True),
        sa.Column('remote_ip_prefix', sa.String(length=255), nullable=True),
        sa.Column('remote_group_id', sa.String(length=36), nullable=True),
        sa.Column('remote_address_group_id', sa.String(length=36), nullable=True),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.Column('used_in_default_sg', sa.Boolean(), nullable=False),
        sa.Column('used_in_non_default_sg', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_securitygroupdefaultrules')),
    )
    op.bulk_insert(table, _seed())


def downgrade() -> None:
    op.drop_table('securitygroupdefaultrules')
    with op.batch_alter_table('networks') as batch:
        batch.drop_column('availability_zone_hints')
