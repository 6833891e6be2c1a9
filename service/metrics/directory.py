"""The private folder in which the workers of ``jamkesda serve`` keep their counts.

``prometheus_client`` decides when it is first imported whether values live in the
process or in files of ``PROMETHEUS_MULTIPROC_DIR``; so ``jamkesda serve`` makes the
folder and sets the variable before gunicorn starts and before anything imports
``prometheus_client`` (the families are made in each worker, on first use), and removes
the folder when the server exits. Nothing here imports ``prometheus_client`` at import
time either.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from service.metrics.exposition import MULTIPROCESS_DIR


class ImportedTooEarly(RuntimeError):
    """``prometheus_client`` was imported before the server's folder was set."""


@contextmanager
def multiprocess_directory() -> Iterator[Path]:
    """A fresh folder (mode 0700) named by ``PROMETHEUS_MULTIPROC_DIR`` until the server exits.

    The variable is always set to a folder of this server's own, even if the environment
    already named one: counts left in a folder by an earlier run or by another server
    would be added to this server's (its counters would start high, or count another
    server's checks), and only a folder this server made itself can be removed at exit
    without destroying someone else's files.
    """
    if "prometheus_client" in sys.modules:
        # Values would then live in each process and a scrape would see one worker's.
        raise ImportedTooEarly(
            "prometheus_client was imported before jamkesda serve set PROMETHEUS_MULTIPROC_DIR"
        )
    folder = Path(tempfile.mkdtemp(prefix="jamkesda-metrics-"))
    inherited = os.environ.get(MULTIPROCESS_DIR)
    os.environ[MULTIPROCESS_DIR] = str(folder)
    try:
        yield folder
    finally:
        # gunicorn has stopped its workers by now (on SIGTERM and SIGINT as well: it
        # leaves its main loop through SystemExit), so no process writes here any more.
        shutil.rmtree(folder, ignore_errors=True)
        if inherited is None:
            os.environ.pop(MULTIPROCESS_DIR, None)
        else:
            os.environ[MULTIPROCESS_DIR] = inherited


def forget_worker(pid: int) -> None:
    """gunicorn's ``child_exit``: drop the live gauges of a worker that exited.

    Its counters and histograms stay in the folder and are still added up, so that a
    total never goes down when a worker is replaced.
    """
    if not os.environ.get(MULTIPROCESS_DIR):
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
