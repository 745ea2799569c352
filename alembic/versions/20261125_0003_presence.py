"""presence: one row per open WebSocket, cluster-wide

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 02:34:45.005152
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # UNLOGGED: presence describes this moment; after a crash the table is empty, as it should be.
    op.create_table('presence',
    sa.Column('connection_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.String(length=32), nullable=False),
    sa.Column('backend_pid', sa.Integer(), nullable=False),
    sa.Column('backend_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('viewing_file_id', sa.Integer(), nullable=True),
    sa.Column('connected_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_presence_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['viewing_file_id'], ['files.id'], name=op.f('fk_presence_viewing_file_id_files'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('connection_id', name=op.f('pk_presence')),
    prefixes=['UNLOGGED']
    )
    op.create_index('ix_presence_user_id', 'presence', ['user_id'], unique=False)
    op.create_index('ix_presence_worker_id', 'presence', ['worker_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_presence_worker_id', table_name='presence')
    op.drop_index('ix_presence_user_id', table_name='presence')
    op.drop_table('presence')
