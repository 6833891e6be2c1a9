"""The batch use-case: up to 100 checks decided and recorded in one unit of work (SPEC §9.2)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from models import Batch
from service import clock
from service.check_ids import new_batch_id
from service.checks import CheckContext, CheckRequest, decided_entry, refused_entry
from service.facts import SnapshotSet, facts_in_force_many
from service.records import MAX_DRAWS, CheckEntry, ReferencesExhausted, append_records

NO_SNAPSHOTS = SnapshotSet(population=None, jamkesda=None, jkn=None)


@dataclass(frozen=True)
class RefusedItem:
    """A batch item that cannot be decided: its body as sent and what is wrong with it."""

    body: Mapping[str, Any]
    errors: dict[str, Any]
    code: str


@dataclass(frozen=True)
class BatchResult:
    """A recorded batch: its reference, and each item's record in the order sent."""

    batch_id: str
    records: list[CheckEntry]
    snapshots: SnapshotSet


def check_batch(
    connection: Connection, context: CheckContext, items: Sequence[CheckRequest | RefusedItem]
) -> BatchResult:
    """Decide every valid item, record every item, in the caller's one transaction.

    The facts of all the batch's NIKs come in one statement and the records go out in one
    round trip, so a batch costs a few round trips, not two per item.
    A NIK sent twice is decided twice, each with its own record.
    """
    batch_id = _append_batch(connection, context.client.id, len(items))
    context = dataclasses.replace(context, batch_id=batch_id)
    niks = [item.nik for item in items if isinstance(item, CheckRequest)]
    facts, snapshots = facts_in_force_many(connection, niks) if niks else ({}, NO_SNAPSHOTS)
    entries = [
        decided_entry(context, item, facts[item.nik], snapshots)
        if isinstance(item, CheckRequest)
        else refused_entry(context, item.body, item.errors)
        for item in items
    ]
    return BatchResult(batch_id, append_records(connection, entries), snapshots)


def _append_batch(connection: Connection, client_id: int, items: int) -> str:
    """Insert the batch's row under a fresh reference no other batch has; the reference."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(Batch).on_conflict_do_nothing(index_elements=["batch_id"])
    for _draw in range(MAX_DRAWS):
        batch_id = new_batch_id()
        values = {"batch_id": batch_id, "client_id": client_id, "created_at": clock.now()}
        if connection.execute(statement.returning(Batch.id), {**values, "items": items}).first():
            return batch_id
    raise ReferencesExhausted(f"{MAX_DRAWS} drawn batch references were all taken")
