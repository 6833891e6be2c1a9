"""The families read from the database at each scrape: import runs and rows, the ledger.

Imports run in a command-line process of their own and the ledger is sequenced by another,
so no server process sees them happen: what the database holds is the truth, and each
scrape reads it with a few short statements on a connection of its own. A database that
cannot answer must not make ``/metrics`` fail (the families of the workers still matter
most then): the scrape gives ``jamkesda_metrics_database_up 0`` instead of these families.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from models import CheckRecord, LedgerCheckpoint, LedgerEntry, LedgerQueue, Snapshot
from service import clock
from service.imports.sources import SOURCE_NAMES

if TYPE_CHECKING:
    from prometheus_client import Metric

logger = logging.getLogger(__name__)
# A scrape gives up on a statement after this long (PostgreSQL): a sick database must not
# hold a worker's thread for long, and Prometheus gives up on a scrape after 10 s.
STATEMENT_TIMEOUT_MS = 2000
# The kinds of row change an import reports, as its history table keeps them.
ROW_CHANGES = ("added", "changed", "removed", "unchanged")


@dataclass(frozen=True)
class ImportHistory:
    """The import runs of one source that came into force (or only into history)."""

    source: str
    in_force: bool
    runs: int
    rows_read: int
    changes: dict[str, int]
    last_imported_at: datetime | None


@dataclass(frozen=True)
class LedgerState:
    """How far the ledger has come: its leaves, what waits for it, its last checkpoint."""

    leaves: int
    unsequenced: int
    oldest_unsequenced_at: datetime | None
    last_checkpoint_at: datetime | None


def read_imports(connection: Connection) -> list[ImportHistory]:
    """The import history by source and outcome (one row a run: a small table)."""
    changes = [func.coalesce(func.sum(getattr(Snapshot, name)), 0) for name in ROW_CHANGES]
    rows = connection.execute(
        select(
            Snapshot.source,
            Snapshot.came_into_force,
            func.count(),
            func.coalesce(func.sum(Snapshot.rows), 0),
            *changes,
            func.max(Snapshot.imported_at),
        ).group_by(Snapshot.source, Snapshot.came_into_force)
    ).all()
    return [
        ImportHistory(
            source=row[0],
            in_force=bool(row[1]),
            runs=int(row[2]),
            rows_read=int(row[3]),
            changes={name: int(value) for name, value in zip(ROW_CHANGES, row[4:8], strict=True)},
            last_imported_at=row[8],
        )
        # Only the known sources become label values, whatever a table might hold.
        for row in rows
        if row[0] in SOURCE_NAMES
    ]


def read_ledger(connection: Connection) -> LedgerState:
    """The ledger's size and backlog, each read through an index (never a count of leaves)."""
    last_leaf = connection.scalar(select(func.max(LedgerEntry.leaf_index)))
    queued, oldest_id = connection.execute(
        select(func.count(), func.min(LedgerQueue.record_id)).select_from(LedgerQueue)
    ).one()
    oldest_at = None
    if oldest_id is not None:
        oldest_at = connection.scalar(
            select(CheckRecord.decided_at).where(CheckRecord.id == oldest_id)
        )
    last_checkpoint_at = connection.scalar(
        select(LedgerCheckpoint.signed_at).order_by(LedgerCheckpoint.tree_size.desc()).limit(1)
    )
    return LedgerState(
        leaves=0 if last_leaf is None else int(last_leaf) + 1,
        unsequenced=int(queued),
        oldest_unsequenced_at=oldest_at,
        last_checkpoint_at=last_checkpoint_at,
    )


class DatabaseCollector:
    """A ``prometheus_client`` collector of the database's families, read at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        """The families, or only ``jamkesda_metrics_database_up 0`` if the database fails."""
        from prometheus_client.core import GaugeMetricFamily

        try:
            with self.engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
                    )
                imports = read_imports(connection)
                ledger = read_ledger(connection)
                # Nothing was written: the transaction ends without a commit.
                connection.rollback()
        except SQLAlchemyError as error:
            logger.warning("metrics: the database did not answer (%s)", type(error).__name__)
            yield GaugeMetricFamily("jamkesda_metrics_database_up", _UP_HELP, value=0)
            return
        yield GaugeMetricFamily("jamkesda_metrics_database_up", _UP_HELP, value=1)
        yield from import_families(imports)
        yield from ledger_families(ledger, clock.now())


_UP_HELP = "1 if this scrape could read the database's families (imports, ledger), else 0."


def import_families(history: Sequence[ImportHistory]) -> Iterator[Metric]:
    """The import runs, their rows and row changes by source, and each source's newest run."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    runs = CounterMetricFamily(
        "jamkesda_import_runs",
        "Imports stored, by source and outcome (in_force, or history: dated before the "
        "snapshot in force).",
        labels=["source", "outcome"],
    )
    rows = CounterMetricFamily(
        "jamkesda_import_rows", "Rows read from the files of stored imports.", labels=["source"]
    )
    changes = CounterMetricFamily(
        "jamkesda_import_row_changes",
        "What stored imports did to the registry's rows: added, changed, removed, unchanged.",
        labels=["source", "change"],
    )
    newest = GaugeMetricFamily(
        "jamkesda_import_last_run_timestamp_seconds",
        "When the newest stored import of each source ran (Unix time).",
        labels=["source"],
    )
    read: dict[str, int] = {}
    changed: dict[tuple[str, str], int] = {}
    last: dict[str, datetime] = {}
    for item in history:
        runs.add_metric([item.source, "in_force" if item.in_force else "history"], item.runs)
        read[item.source] = read.get(item.source, 0) + item.rows_read
        for name, number in item.changes.items():
            changed[item.source, name] = changed.get((item.source, name), 0) + number
        if item.last_imported_at is not None:
            instant = clock.aware(item.last_imported_at)
            last[item.source] = max(last.get(item.source, instant), instant)
    for source, number in sorted(read.items()):
        rows.add_metric([source], number)
    for (source, name), number in sorted(changed.items()):
        changes.add_metric([source, name], number)
    for source, instant in sorted(last.items()):
        newest.add_metric([source], instant.timestamp())
    yield from (runs, rows, changes, newest)


def ledger_families(ledger: LedgerState, now: datetime) -> Iterator[Metric]:
    """The ledger's leaves, its unsequenced records and their wait, its checkpoint's age."""
    from prometheus_client.core import GaugeMetricFamily

    yield GaugeMetricFamily(
        "jamkesda_ledger_leaves",
        "Records sequenced into the ledger (its tree size).",
        value=ledger.leaves,
    )
    yield GaugeMetricFamily(
        "jamkesda_ledger_unsequenced_records",
        "Records committed and not yet sequenced into the ledger.",
        value=ledger.unsequenced,
    )
    lag = 0.0
    if ledger.oldest_unsequenced_at is not None:
        lag = max(0.0, (now - clock.aware(ledger.oldest_unsequenced_at)).total_seconds())
    yield GaugeMetricFamily(
        "jamkesda_ledger_sequencing_lag_seconds",
        "Age of the oldest record not yet sequenced into the ledger (0: none waits).",
        value=lag,
    )
    if ledger.last_checkpoint_at is not None:
        age = max(0.0, (now - clock.aware(ledger.last_checkpoint_at)).total_seconds())
        yield GaugeMetricFamily(
            "jamkesda_ledger_checkpoint_age_seconds",
            "Age of the newest signed checkpoint (absent: none signed yet).",
            value=age,
        )
