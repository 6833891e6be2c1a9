"""The ledger API (SPEC §5): an auditor verifies checkpoints, proofs and leaves on their own."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import Client
from service.ledger.merkle import (
    EMPTY_ROOT,
    InvalidProof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from service.ledger.note import Checkpoint, checkpoint_time, parse_checkpoint, verify_note
from service.ledger.store import MAX_ENTRIES
from tests.audit_records import client_of
from tests.conftest import TEST_LEDGER_SIGNER, bearer
from tests.ledger_records import add_records, check_id_of, sequence_all


@pytest.fixture
def desk(session: Session, keys: dict[str, str]) -> Client:
    """The desk client the records are made by."""
    return client_of(session, keys["desk"])


def get(http: FlaskClient, keys: dict[str, str], path: str, **query: Any) -> Any:
    """GET a ledger path as the auditor."""
    return http.get(path, headers=bearer(keys["auditor"]), query_string=query)


def signed_checkpoint(http: FlaskClient, keys: dict[str, str]) -> Checkpoint:
    """The latest checkpoint, its signature checked with the key the API publishes."""
    response = get(http, keys, "/v1/ledger/checkpoint")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    verifier = get(http, keys, "/v1/ledger/key").get_data(as_text=True)
    return parse_checkpoint(verify_note(response.get_data(), verifier))


def unb64(text: str) -> bytes:
    """Strict base64."""
    return base64.b64decode(text, validate=True)


def test_the_key_is_the_configured_signers_verifier_key_as_text(
    http: FlaskClient, keys: dict[str, str]
) -> None:
    response = get(http, keys, "/v1/ledger/key")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    name, key_hash, key = response.get_data(as_text=True).split("+", 2)
    assert name == TEST_LEDGER_SIGNER.name
    assert key_hash == TEST_LEDGER_SIGNER.key_hash.hex()
    assert unb64(key) == b"\x01" + TEST_LEDGER_SIGNER.public_key


def test_an_empty_log_has_a_signed_checkpoint_of_size_zero_once_the_sequencer_ran(
    http: FlaskClient, keys: dict[str, str], engine: Engine
) -> None:
    # The web app holds no signing key (SPEC §13): the sequencer signs the empty log's
    # checkpoint in its first round, and the API serves what it stored.
    before = get(http, keys, "/v1/ledger/checkpoint")
    assert before.status_code == 503
    assert before.get_json()["code"] == "CHECKPOINT_UNAVAILABLE"
    assert before.headers["Retry-After"] == "1"
    sequence_all(engine, checkpoint=False)
    checkpoint = signed_checkpoint(http, keys)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (
        TEST_LEDGER_SIGNER.name,
        0,
        EMPTY_ROOT,
    )
    assert checkpoint_time(checkpoint) is not None
    again = get(http, keys, "/v1/ledger/checkpoint").get_data()
    assert again == get(http, keys, "/v1/ledger/checkpoint").get_data()


def test_the_checkpoint_is_the_latest_signed_and_its_root_is_that_of_the_entries(
    http: FlaskClient, keys: dict[str, str], engine: Engine, session: Session, desk: Client
) -> None:
    add_records(session, desk, 13)
    sequence_all(engine)
    add_records(session, desk, 2, first=13)
    # Sequenced but not yet in a checkpoint: the API answers within the latest checkpoint.
    sequence_all(engine, checkpoint=False)
    checkpoint = signed_checkpoint(http, keys)
    assert checkpoint.size == 13
    body = get(http, keys, "/v1/ledger/entries", start=0, end=13).get_json()
    leaves = [unb64(entry) for entry in body["entries"]]
    assert len(leaves) == 13
    assert root_hash(leaf_hash(leaf) for leaf in leaves) == checkpoint.root


def test_every_record_has_an_inclusion_proof_to_the_checkpoints_root(
    http: FlaskClient, keys: dict[str, str], engine: Engine, session: Session, desk: Client
) -> None:
    ids = add_records(session, desk, 11)
    sequence_all(engine)
    checkpoint = signed_checkpoint(http, keys)
    entries = get(http, keys, "/v1/ledger/entries", start=0, end=11).get_json()["entries"]
    for index, record_id in enumerate(ids):
        for size in (index + 1, 11):
            response = get(
                http,
                keys,
                "/v1/ledger/proof/inclusion",
                check_id=check_id_of(session, record_id).lower(),
                tree_size=size,
            )
            assert response.status_code == 200, response.get_json()
            body = response.get_json()
            assert (body["leaf_index"], body["tree_size"]) == (index, size)
            assert unb64(body["leaf_hash"]) == leaf_hash(unb64(entries[index]))
            proof = [unb64(hash_) for hash_ in body["proof"]]
            root = (
                checkpoint.root
                if size == 11
                else root_hash(leaf_hash(unb64(entry)) for entry in entries[:size])
            )
            verify_inclusion(unb64(body["leaf_hash"]), index, size, proof, root)


def test_a_changed_record_no_longer_proves_against_the_signed_root(
    http: FlaskClient, keys: dict[str, str], engine: Engine, session: Session, desk: Client
) -> None:
    add_records(session, desk, 5)
    sequence_all(engine)
    checkpoint = signed_checkpoint(http, keys)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE check_records SET decision = 'NOT_ELIGIBLE'")
    entries = get(http, keys, "/v1/ledger/entries", start=0, end=5).get_json()["entries"]
    assert root_hash(leaf_hash(unb64(entry)) for entry in entries) != checkpoint.root


def test_consistency_proofs_link_every_pair_of_checkpoints(
    http: FlaskClient, keys: dict[str, str], engine: Engine, session: Session, desk: Client
) -> None:
    roots = {}
    for round_, count in enumerate((1, 3, 4, 9)):
        add_records(session, desk, count, first=round_ * 10)
        sequence_all(engine)
        checkpoint = signed_checkpoint(http, keys)
        roots[checkpoint.size] = checkpoint.root
    assert list(roots) == [1, 4, 8, 17]
    for first, first_root in roots.items():
        for second, second_root in roots.items():
            if first > second:
                continue
            response = get(http, keys, "/v1/ledger/proof/consistency", first=first, second=second)
            assert response.status_code == 200, response.get_json()
            body = response.get_json()
            assert (body["first"], body["second"]) == (first, second)
            proof = [unb64(hash_) for hash_ in body["proof"]]
            verify_consistency(first, second, proof, first_root, second_root)
    body = get(http, keys, "/v1/ledger/proof/consistency", first=4, second=17).get_json()
    with pytest.raises(InvalidProof):
        verify_consistency(4, 17, [unb64(h) for h in body["proof"]], roots[1], roots[17])


def test_entries_come_a_thousand_at_most_and_page_on_from_where_they_stop(
    http: FlaskClient, keys: dict[str, str], engine: Engine, session: Session, desk: Client
) -> None:
    add_records(session, desk, MAX_ENTRIES + 5)
    sequence_all(engine)
    checkpoint = signed_checkpoint(http, keys)
    leaves: list[bytes] = []
    while len(leaves) < checkpoint.size:
        query = {"start": len(leaves), "end": checkpoint.size}
        page = get(http, keys, "/v1/ledger/entries", **query).get_json()["entries"]
        assert 0 < len(page) <= MAX_ENTRIES
        leaves += [unb64(entry) for entry in page]
    assert len(leaves) == MAX_ENTRIES + 5
    assert root_hash(leaf_hash(leaf) for leaf in leaves) == checkpoint.root


def test_audit_records_carry_their_leaf_index_once_sequenced(
    http: FlaskClient, keys: dict[str, str], engine: Engine, session: Session, desk: Client
) -> None:
    ids = add_records(session, desk, 3)
    check_id = check_id_of(session, ids[1])
    assert get(http, keys, f"/v1/audit/checks/{check_id}").get_json()["ledger"] is None
    sequence_all(engine)
    assert get(http, keys, f"/v1/audit/checks/{check_id}").get_json()["ledger"] == {"leaf_index": 1}
    listing = get(http, keys, "/v1/audit/checks").get_json()["items"]
    by_reference = {item["check_id"]: item["ledger"] for item in listing}
    assert by_reference == {
        check_id_of(session, record_id): {"leaf_index": index}
        for index, record_id in enumerate(ids)
    }
