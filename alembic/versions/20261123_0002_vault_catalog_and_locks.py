"""vault catalog (files, file_versions) and locks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:45:46.768029
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0002"
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('path_key', sa.String(length=1024), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('blob_sha', sa.String(length=64), nullable=False),
    sa.Column('head_commit', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_by', sa.Integer(), nullable=True),
    sa.Column('cooldown_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cooldown_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['cooldown_user_id'], ['users.id'], name=op.f('fk_files_cooldown_user_id_users')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_files_created_by_users')),
    sa.ForeignKeyConstraint(['deleted_by'], ['users.id'], name=op.f('fk_files_deleted_by_users')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_files_updated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_files'))
    )
    op.create_index('ix_files_path_id', 'files', ['path', 'id'], unique=False)
    op.create_index('ix_files_size_id', 'files', ['size', 'id'], unique=False)
    op.create_index('ix_files_updated_at_id', 'files', ['updated_at', 'id'], unique=False)
    op.create_index('uq_files_live_path_key', 'files', ['path_key'], unique=True, postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_table('file_versions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('commit_sha', sa.String(length=64), nullable=False),
    sa.Column('blob_sha', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author_name', sa.String(length=64), nullable=False),
    sa.Column('message', sa.String(length=4000), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_file_versions_author_id_users')),
    sa.ForeignKeyConstraint(['file_id'], ['files.id'], name=op.f('fk_file_versions_file_id_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_file_versions')),
    sa.UniqueConstraint('file_id', 'version', name='uq_file_versions_file_id_version')
    )
    op.create_index('ix_file_versions_commit_sha', 'file_versions', ['commit_sha'], unique=False)
    op.create_table('locks',
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('message', sa.String(length=1000), server_default='', nullable=False),
    sa.Column('acquired_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['file_id'], ['files.id'], name=op.f('fk_locks_file_id_files')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_locks_user_id_users')),
    sa.PrimaryKeyConstraint('file_id', name=op.f('pk_locks'))
    )
    op.create_index('ix_locks_expires_at', 'locks', ['expires_at'], unique=False)
    op.create_index('ix_locks_user_id', 'locks', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_locks_user_id', table_name='locks')
    op.drop_index('ix_locks_expires_at', table_name='locks')
    op.drop_table('locks')
    op.drop_index('ix_file_versions_commit_sha', table_name='file_versions')
    op.drop_table('file_versions')
    op.drop_index('uq_files_live_path_key', table_name='files', postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_index('ix_files_updated_at_id', table_name='files')
    op.drop_index('ix_files_size_id', table_name='files')
    op.drop_index('ix_files_path_id', table_name='files')
    op.drop_table('files')
