"""What every ``jamkesda`` command shares: exit codes, failing with a message, a unit of work."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click
from sqlalchemy.orm import Session

from service import config
from service.db import make_engine

EXIT_BAD_DATA = 1
EXIT_USAGE = 2


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session on ``DATABASE_URL`` committed when the block ends without error."""
    engine = make_engine(config.database_url())
    try:
        with Session(engine) as session, session.begin():
            yield session
    finally:
        engine.dispose()


def fail(message: str, code: int) -> NoReturn:
    """Print ``message`` to standard error and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)
