"""The text of a scrape: the workers' families and the database's, in Prometheus's format.

Under ``jamkesda serve`` each worker keeps its counts in its own file of
``PROMETHEUS_MULTIPROC_DIR`` (``service.metrics.families``), and whichever worker answers
the scrape adds up the files of all of them, those of workers that have since exited
included, so that a total never goes down when a worker is replaced. Without that variable
(tests, ``flask run``) there is one process and its own registry is the whole truth.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from service.metrics.database import DatabaseCollector
from service.metrics.families import families

if TYPE_CHECKING:
    from prometheus_client import Metric

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# The classic text format (version 0.0.4), which every Prometheus reads; the families' names
# need none of the escaping a newer version could announce, so the text is the same.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Scrape:
    """One scrape's collector: the processes' families, then the database's."""

    def __init__(self, engine: Engine) -> None:
        self.database = DatabaseCollector(engine)

    def collect(self) -> Iterator[Metric]:
        if os.environ.get(MULTIPROCESS_DIR):
            from prometheus_client.multiprocess import MultiProcessCollector

            yield from MultiProcessCollector(None).collect()  # type: ignore[no-untyped-call]
        else:
            yield from families().registry.collect()
        yield from self.database.collect()


def scrape_text(engine: Engine) -> bytes:
    """The whole text of ``GET /metrics``."""
    from prometheus_client import generate_latest

    return generate_latest(_Scrape(engine))
