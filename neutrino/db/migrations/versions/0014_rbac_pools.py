"""RBAC policies of subnet pools and address scopes; shared ones become wildcard policies

Revision ID: 0014_rbac_pools
Revises: 0013_merge
Create Date: 2026-12-01
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic import op

revision = '0014_rbac_pools'
down_revision = '0013_merge'
branch_labels = None
depends_on = None

_TABLES = (('subnetpoolrbacs', 'subnetpools'), ('addressscoperbacs', 'address_scopes'))


def _create(table: str, objects: str) -> None:
    op.create_table(
        table,
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('target_project', sa.String(length=255), nullable=False),
        sa.Column('action', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('revision_number', sa.BigInteger(), nullable=False),
        sa.Column('object_id', sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(['object_id'], [f'{objects}.id'],
                                name=op.f(f'fk_{table}_object_id_{objects}'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}')),
        sa.UniqueConstraint('target_project', 'object_id', 'action',
                            name=op.f(f'uq_{table}_target_object_action')),
    )
    for column in ('object_id', 'project_id', 'target_project'):
        op.create_index(op.f(f'ix_{table}_{column}'), table, [column], unique=False)


def _share_existing(table: str, objects: str) -> None:
    """Every pool or scope shared before RBAC covered them gets its wildcard policy,
    owned by the object's project (as Neutron's own migration does)."""
    conn = op.get_bind()
    source = sa.table(objects, sa.column('id', sa.String), sa.column('project_id', sa.String),
                      sa.column('shared', sa.Boolean))
    policies = sa.table(table, *(sa.column(c) for c in (
        'id', 'project_id', 'target_project', 'action', 'object_id', 'created_at',
        'updated_at', 'revision_number')))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    rows = [{'id': str(uuid.uuid4()), 'project_id': project, 'target_project': '*',
             'action': 'access_as_shared', 'object_id': object_id, 'created_at': now,
             'updated_at': now, 'revision_number': 0}
            for object_id, project in conn.execute(sa.select(
                source.c.id, source.c.project_id).where(source.c.shared == sa.true()))]
    if rows:
        conn.execute(policies.insert(), rows)


def upgrade() -> None:
    for table, objects in _TABLES:
        _create(table, objects)
        _share_existing(table, objects)


def downgrade() -> None:
    for table, _ in reversed(_TABLES):
        op.drop_table(table)
