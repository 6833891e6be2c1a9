"""web page sessions, saved console searches, and the access log's client address

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 04:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_web_sessions_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_sessions_token_hash'))
    )
    op.create_table('web_searches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token', sa.String(length=43), nullable=False),
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('form', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['web_sessions.id'], name=op.f('fk_web_searches_session_id_web_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_searches')),
    sa.UniqueConstraint('token', name=op.f('uq_web_searches_token'))
    )
    # A new nullable column: on SQLite a plain ADD COLUMN, no rebuild of the table.
    op.add_column('access_log', sa.Column('address', sa.String(length=64), nullable=True))
    op.create_index('ix_access_log_address_at', 'access_log', ['address', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_access_log_address_at', table_name='access_log')
    op.drop_column('access_log', 'address')
    op.drop_table('web_searches')
    op.drop_table('web_sessions')
