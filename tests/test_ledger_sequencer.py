"""Sequencing: every committed record becomes one leaf, in order, whatever the commit order."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from models import CheckRecord, Client, LedgerEntry
from service.ledger import store
from service.ledger.leaf import encode_leaf
from service.ledger.merkle import (
    HashReader,
    leaf_hash,
    root_hash,
    stored_hash_index,
    stored_hashes,
    tree_hash,
)
from service.ledger.sequencer import sequence
from tests.audit_records import UNKNOWN, client_of, post_check
from tests.ledger_records import (
    add_records,
    log_order,
    queued,
    record_values,
    sequence_all,
    stored_hash_table,
)


@pytest.fixture
def desk(session: Session, keys: dict[str, str]) -> Client:
    """The desk client the records are made by."""
    return client_of(session, keys["desk"])


def sequence_in_batches(engine: Engine, limit: int) -> list[int]:
    """Run ``sequence`` in its own transactions until the queue is empty; each batch's size."""
    sizes: list[int] = []
    while True:
        with Session(engine) as session, session.begin():
            appended = sequence(session, limit)
        if not appended:
            return sizes
        sizes.append(appended)


def test_every_record_a_check_writes_is_queued_by_the_database(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    made = post_check(http, keys["desk"], nik=UNKNOWN)
    refused = post_check(http, keys["desk"], nik="1234")
    assert refused["code"] == "INVALID_NIK"
    ids = session.scalars(select(CheckRecord.id).order_by(CheckRecord.id)).all()
    assert len(ids) == 2
    assert queued(session) == list(ids)
    assert made["check_id"] != refused["check_id"]


def test_sequencing_appends_each_queued_record_once_in_id_order(
    engine: Engine, session: Session, desk: Client
) -> None:
    ids = add_records(session, desk, 25)
    assert sequence_in_batches(engine, limit=10) == [10, 10, 5]
    assert log_order(session) == sorted(ids)
    assert queued(session) == []
    entries = session.scalars(select(LedgerEntry).order_by(LedgerEntry.leaf_index)).all()
    assert [entry.leaf_index for entry in entries] == list(range(25))
    for entry in entries:
        record = session.get_one(CheckRecord, entry.record_id)
        assert entry.leaf_hash == leaf_hash(encode_leaf(record))


def test_records_queued_after_others_were_sequenced_are_appended_not_skipped(
    engine: Engine, session: Session, desk: Client
) -> None:
    # Ids as two transactions would get them when the one with the lower id commits later.
    session.execute(insert(CheckRecord), [{"id": 1010, **record_values(desk, 1)}])
    session.commit()
    sequence_all(engine)
    session.execute(insert(CheckRecord), [{"id": 1005, **record_values(desk, 2)}])
    session.commit()
    sequence_all(engine)
    assert log_order(session) == [1010, 1005]
    assert queued(session) == []


def test_a_record_committed_after_a_later_id_is_sequenced_after_it(
    engine: Engine, session: Session, desk: Client
) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: ids always commit in order")
    with engine.connect() as slow, engine.connect() as fast:
        slow.execute(insert(CheckRecord), [record_values(desk, 1)])
        fast.execute(insert(CheckRecord), [record_values(desk, 2)])
        fast.commit()
        sequence_all(engine)
        [first] = log_order(session)
        slow.commit()
    sequence_all(engine)
    second = log_order(session)[1]
    assert second < first
    assert queued(session) == []


def test_stored_hashes_are_those_of_the_whole_tree_however_it_was_batched(
    engine: Engine, session: Session, desk: Client
) -> None:
    add_records(session, desk, 37)
    sequence_in_batches(engine, limit=5)
    leaves = list(session.scalars(select(LedgerEntry.leaf_hash).order_by(LedgerEntry.leaf_index)))
    expected: dict[int, bytes] = {}

    def read(positions: Sequence[int]) -> list[bytes]:
        return [expected[position] for position in positions]

    for index, leaf in enumerate(leaves):
        for offset, value in enumerate(stored_hashes(index, leaf, read)):
            expected[stored_hash_index(0, index) + offset] = value
    assert stored_hash_table(session) == expected
    reader = store.hash_reader(session)
    for size in range(1, 38):
        assert tree_hash(size, reader) == root_hash(leaves[:size])


def test_a_batch_reads_only_the_logarithmic_frontier_of_the_tree(
    engine: Engine, session: Session, desk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_records(session, desk, 100)
    reads: list[int] = []
    real = store.hash_reader

    def counting(database: Session) -> HashReader:
        read = real(database)

        def counted(positions: Sequence[int]) -> Sequence[bytes]:
            reads.append(len(positions))
            return read(positions)

        return counted

    monkeypatch.setattr(store, "hash_reader", counting)
    batches = sequence_in_batches(engine, limit=7)
    # At most one read per batch (none for the first), of one hash per complete subtree.
    assert len(reads) <= len(batches) - 1
    assert max(reads) <= (100).bit_length()


def test_concurrent_sequencers_never_assign_a_record_twice(
    engine: Engine, session: Session, desk: Client
) -> None:
    errors: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            while not done.is_set():
                sequence_in_batches(engine, limit=3)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    ids = []
    for round_ in range(10):
        ids += add_records(session, desk, 5, first=round_ * 5)
    done.set()
    for thread in threads:
        thread.join(60)
    sequence_all(engine)
    assert errors == []
    order = log_order(session)
    assert sorted(order) == sorted(ids)
    assert len(set(order)) == len(order)


def test_a_sequencer_that_finds_the_lock_taken_does_nothing(
    engine: Engine, session: Session, desk: Client
) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("on SQLite the second sequencer waits for the write lock instead")
    ids = add_records(session, desk, 3)
    with Session(engine) as first, first.begin():
        assert sequence(first, limit=1) == 1
        with Session(engine) as second, second.begin():
            assert sequence(second) == 0
    assert log_order(session) == ids[:1]
    assert queued(session) == ids[1:]
