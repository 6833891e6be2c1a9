"""Alembic environment: the models' metadata and the connection given by ``service.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from models import Base

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    """Run the migrations on a connection; SQLite needs batch mode to alter tables."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations with `jamkesda db upgrade`, which supplies the connection.")
run_migrations(connection)
