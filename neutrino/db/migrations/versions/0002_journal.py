"""SDN journal: rows, dependency links, attempt history, maintenance lock row

Revision ID: 0002_journal
Revises: 0001_initial
Create Date: 2026-11-22
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0002_journal'
down_revision = '0001_initial'
branch_labels = None
depends_on = None

DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'sdn_journal',
        sa.Column('seqnum', BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column('object_type', sa.String(length=36), nullable=False),
        sa.Column('object_uuid', sa.String(length=36), nullable=False),
        sa.Column('operation', sa.String(length=36), nullable=False),
        sa.Column('data', sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"),
                  nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('retry_count', sa.Integer(), nullable=False),
        sa.Column('created_at', DATETIME, nullable=False),
        sa.Column('last_retried', DATETIME, nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint('seqnum', name=op.f('pk_sdn_journal')),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_sdn_journal_state_seqnum', 'sdn_journal', ['state', 'seqnum'])
    op.create_index('ix_sdn_journal_operation_state', 'sdn_journal', ['operation', 'state'])
    op.create_index(op.f('ix_sdn_journal_object_uuid'), 'sdn_journal', ['object_uuid'])
    op.create_table(
        'sdn_journal_deps',
        sa.Column('dependent', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('depends_on', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('dependent', 'depends_on', name=op.f('pk_sdn_journal_deps')),
    )
    op.create_table(
        'sdn_journal_attempts',
        sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column('seqnum', sa.BigInteger(), nullable=False),
        sa.Column('at', DATETIME, nullable=False),
        sa.Column('event', sa.String(length=32), nullable=False),
        sa.Column('detail', sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sdn_journal_attempts')),
    )
    op.create_index(op.f('ix_sdn_journal_attempts_seqnum'), 'sdn_journal_attempts',
                    ['seqnum'])
    tasks = op.create_table(
        'sdn_journal_tasks',
        sa.Column('task', sa.String(length=70), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('owner', sa.String(length=255), nullable=True),
        sa.Column('processing_operation', sa.String(length=70), nullable=True),
        sa.Column('lock_updated', DATETIME, nullable=False),
        sa.Column('last_run', DATETIME, nullable=True),
        sa.PrimaryKeyConstraint('task', name=op.f('pk_sdn_journal_tasks')),
    )
    op.bulk_insert(tasks, [{'task': 'maintenance', 'state': 'pending',
                            'lock_updated': dt.datetime(1970, 1, 1)}])


def downgrade() -> None:
    op.drop_table('sdn_journal_tasks')
    op.drop_index(op.f('ix_sdn_journal_attempts_seqnum'), table_name='sdn_journal_attempts')
    op.drop_table('sdn_journal_attempts')
    op.drop_table('sdn_journal_deps')
    op.drop_index(op.f('ix_sdn_journal_object_uuid'), table_name='sdn_journal')
    op.drop_index('ix_sdn_journal_operation_state', table_name='sdn_journal')
    op.drop_index('ix_sdn_journal_state_seqnum', table_name='sdn_journal')
    op.drop_table('sdn_journal')
