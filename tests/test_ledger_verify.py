"""``jamkesda ledger verify``: every way of tampering with the stored log is found and named."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.orm import Session

from models import CheckRecord, LedgerCheckpoint, LedgerEntry, LedgerHash, LedgerQueue
from service.cli import main
from service.ledger.leaf import encode_leaf
from service.ledger.merkle import leaf_hash, stored_hash_count, stored_hash_index, stored_hashes
from service.ledger.note import generate_signer_key, parse_signer_key, verifier_key
from service.ledger.sequencer import signed_checkpoint
from tests.audit_records import client_of
from tests.ledger_records import add_records, check_id_of, sequence_all, without_foreign_keys

ROUNDS = (4, 4, 4)


@pytest.fixture
def log(engine: Engine, session: Session, keys: dict[str, str]) -> list[int]:
    """Twelve records in the log, with a checkpoint at 4, 8 and 12 leaves; their ids."""
    desk = client_of(session, keys["desk"])
    ids: list[int] = []
    for count in ROUNDS:
        ids += add_records(session, desk, count, first=len(ids))
        sequence_all(engine)
    return ids


def verify(env: dict[str, str], *args: str) -> Result:
    """Run ``jamkesda ledger verify`` in the test environment."""
    return CliRunner().invoke(main, ["ledger", "verify", *args], env=env, catch_exceptions=False)


def findings(result: Result) -> list[str]:
    """The lines naming what is wrong, after checking that verify failed with exit 1."""
    assert result.exit_code == 1, result.output
    assert "the ledger does not verify" in result.stderr
    return result.stdout.splitlines()


def test_an_untouched_log_verifies_with_a_one_line_summary(
    env: dict[str, str], log: list[int]
) -> None:
    result = verify(env)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "ledger verified: 12 leaves, 3 checkpoints, 0 records queued: no problems found\n"
    )


def test_an_empty_log_verifies(env: dict[str, str], engine: Engine) -> None:
    result = verify(env)
    assert result.exit_code == 0, result.output
    assert "0 leaves, 0 checkpoints" in result.stdout


def test_a_changed_decision_is_found_at_its_leaf(
    env: dict[str, str], engine: Engine, session: Session, log: list[int]
) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(CheckRecord).where(CheckRecord.id == log[5]).values(decision="NOT_ELIGIBLE")
        )
    assert findings(verify(env)) == [
        f"leaf 5 (check {check_id_of(session, log[5])}): the record differs from the one "
        "sequenced: it was changed since"
    ]


def test_a_deleted_record_is_found_with_or_without_its_ledger_entry(
    env: dict[str, str], engine: Engine, log: list[int]
) -> None:
    with without_foreign_keys(engine) as connection:
        connection.execute(delete(CheckRecord).where(CheckRecord.id == log[2]))
    assert findings(verify(env)) == [f"leaf 2 (record id {log[2]}): its check record was deleted"]
    with engine.begin() as connection:
        connection.execute(delete(LedgerEntry).where(LedgerEntry.record_id == log[2]))
    assert findings(verify(env)) == ["leaf 2: missing: no ledger entry has this index"]


def test_a_record_deleted_before_it_was_sequenced_is_found(
    env: dict[str, str], engine: Engine, session: Session, keys: dict[str, str], log: list[int]
) -> None:
    [waiting] = add_records(session, client_of(session, keys["desk"]), 1, first=50)
    with engine.begin() as connection:
        connection.execute(delete(CheckRecord).where(CheckRecord.id == waiting))
    assert findings(verify(env)) == [
        f"queued record id {waiting}: the record was deleted before sequencing"
    ]


def test_two_swapped_records_are_both_found(
    env: dict[str, str], engine: Engine, session: Session, log: list[int]
) -> None:
    first, second = log[3], log[9]
    references = check_id_of(session, first), check_id_of(session, second)
    columns = [column for column in CheckRecord.__table__.c if column.key != "id"]
    with engine.begin() as connection:
        rows = {
            row.id: {column.key: row._mapping[column.key] for column in columns}
            for row in connection.execute(
                select(CheckRecord.id, *columns).where(CheckRecord.id.in_([first, second]))
            )
        }
        # The reference is unique: move one out of the way first.
        connection.execute(
            update(CheckRecord).where(CheckRecord.id == first).values(check_id="SWAP")
        )
        connection.execute(
            update(CheckRecord).where(CheckRecord.id == second).values(**rows[first])
        )
        connection.execute(
            update(CheckRecord).where(CheckRecord.id == first).values(**rows[second])
        )
    changed = "the record differs from the one sequenced: it was changed since"
    assert findings(verify(env)) == [
        f"leaf 3 (check {references[1]}): {changed}",
        f"leaf 9 (check {references[0]}): {changed}",
    ]


def test_a_truncated_tail_is_found_by_the_checkpoints_that_covered_it(
    env: dict[str, str], engine: Engine, log: list[int]
) -> None:
    with engine.begin() as connection:
        connection.execute(delete(LedgerEntry).where(LedgerEntry.leaf_index >= 9))
        connection.execute(delete(LedgerHash).where(LedgerHash.position >= stored_hash_count(9)))
        connection.execute(delete(CheckRecord).where(CheckRecord.id.in_(log[9:])))
        biggest = connection.scalar(
            select(LedgerCheckpoint.id).where(LedgerCheckpoint.tree_size == 12)
        )
    assert findings(verify(env)) == [
        f"checkpoint of size 12 (id {biggest}): the log has only 9 leaves: leaves it covered "
        "were removed"
    ]


def test_checkpoints_signed_again_with_another_key_are_each_found(
    env: dict[str, str], engine: Engine, log: list[int]
) -> None:
    forger = parse_signer_key(generate_signer_key(parse_signer_key(env["LEDGER_SIGNING_KEY"]).name))
    with engine.begin() as connection:
        stored = connection.execute(
            select(LedgerCheckpoint.id, LedgerCheckpoint.tree_size, LedgerCheckpoint.root_hash)
        ).all()
        for id_, size, root in stored:
            connection.execute(
                update(LedgerCheckpoint)
                .where(LedgerCheckpoint.id == id_)
                .values(note=signed_checkpoint(forger, size, bytes(root)))
            )
    lines = findings(verify(env))
    assert len(lines) == 3
    for (id_, size, _root), line in zip(sorted(stored, key=lambda row: row[1]), lines, strict=True):
        assert line.startswith(f"checkpoint of size {size} (id {id_}): not signed by ")


def test_a_record_rewritten_with_its_leaf_and_hashes_is_found_by_the_signed_roots(
    env: dict[str, str], engine: Engine, log: list[int]
) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(CheckRecord).where(CheckRecord.id == log[6]).values(decision="NOT_ELIGIBLE")
        )
        rewrite_ledger(connection, log)
        sizes = dict(
            connection.execute(select(LedgerCheckpoint.tree_size, LedgerCheckpoint.id)).all()
        )
    assert findings(verify(env)) == [
        f"checkpoint of size 8 (id {sizes[8]}): the root recomputed from the records differs "
        "from the signed one: leaves from 4 to 7 changed with their hashes",
        "and 1 more: later checkpoints whose root differs for the same reason",
    ]


def test_a_changed_stored_hash_is_found(
    env: dict[str, str], engine: Engine, log: list[int]
) -> None:
    position = stored_hash_index(1, 2)
    with engine.begin() as connection:
        connection.execute(
            update(LedgerHash).where(LedgerHash.position == position).values(hash=bytes(32))
        )
    assert findings(verify(env)) == [
        f"stored hash {position} (leaf 5): missing or wrong: proofs built from it do not verify"
    ]


def test_a_record_that_bypassed_the_queue_is_found(
    env: dict[str, str], engine: Engine, session: Session, keys: dict[str, str], log: list[int]
) -> None:
    [sneaked] = add_records(session, client_of(session, keys["desk"]), 1, first=60)
    with engine.begin() as connection:
        connection.execute(delete(LedgerQueue).where(LedgerQueue.record_id == sneaked))
    assert findings(verify(env)) == [
        f"record id {sneaked} (check {check_id_of(session, sneaked)}): neither in the log nor "
        "queued for it"
    ]


def test_another_verifier_key_rejects_every_checkpoint_and_a_malformed_one_is_bad_usage(
    env: dict[str, str], log: list[int]
) -> None:
    other = verifier_key(parse_signer_key(generate_signer_key("elsewhere.example/log")))
    assert len(findings(verify(env, "--key", other))) == 3 * 2
    result = verify(env, "--key", "not-a-key")
    assert result.exit_code == 2


def rewrite_ledger(connection: Connection, ids: Sequence[int]) -> None:
    """Re-encode every leaf and recompute every stored hash, as a forger without the key would."""
    records = {row.id: row._mapping for row in connection.execute(select(CheckRecord))}
    known: dict[int, bytes] = {}

    def read(positions: Sequence[int]) -> list[bytes]:
        return [known[position] for position in positions]

    for index, record_id in enumerate(ids):
        hash_ = leaf_hash(encode_leaf(records[record_id]))
        connection.execute(
            update(LedgerEntry).where(LedgerEntry.leaf_index == index).values(leaf_hash=hash_)
        )
        for offset, value in enumerate(stored_hashes(index, hash_, read)):
            position = stored_hash_index(0, index) + offset
            known[position] = value
            connection.execute(
                update(LedgerHash).where(LedgerHash.position == position).values(hash=value)
            )
