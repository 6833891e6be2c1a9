"""a client's own rate limit

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 07:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, also on SQLite (3.35+ drops a column in place): a batch operation
# would copy the clients table, and dropping the old copy breaks the foreign keys of the
# check records that point at it.
def upgrade() -> None:
    op.add_column('clients', sa.Column('rate_limit', sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column('clients', 'rate_limit')
