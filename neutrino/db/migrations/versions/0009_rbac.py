"""RBAC policies of networks and security groups; shared networks become wildcard policies

Revision ID: 0009_rbac
Revises: 0007_merge
Create Date: 2026-12-01
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic import op

revision = '0009_rbac'
down_revision = '0007_merge'
branch_labels = None
depends_on = None

_TABLES = (('networkrbacs', 'networks'), ('securitygrouprbacs', 'securitygroups'))


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


def _share_existing_networks() -> None:
    """Every network shared before RBAC existed gets its wildcard policy."""
    conn = op.get_bind()
    networks = sa.table('networks', sa.column('id', sa.String), sa.column('project_id', sa.String),
                        sa.column('shared', sa.Boolean), sa.column('router_external', sa.Boolean))
    policies = sa.table('networkrbacs', *(sa.column(c) for c in (
        'id', 'project_id', 'target_project', 'action', 'object_id', 'created_at',
        'updated_at', 'revision_number')))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    rows = []
    for net_id, project, shared, external in conn.execute(sa.select(
            networks.c.id, networks.c.project_id, networks.c.shared,
            networks.c.router_external)):
        for action, wanted in (('access_as_shared', shared), ('access_as_external', external)):
            if wanted:
                rows.append({'id': str(uuid.uuid4()), 'project_id': project,
                             'target_project': '*', 'action': action, 'object_id': net_id,
                             'created_at': now, 'updated_at': now, 'revision_number': 0})
    if rows:
        conn.execute(policies.insert(), rows)


def upgrade() -> None:
    for table, objects in _TABLES:
        _create(table, objects)
    _share_existing_networks()


def downgrade() -> None:
    for table, _ in reversed(_TABLES):
        op.drop_table(table)
