"""The client library against the real service: ``jamkesda serve`` on the test database."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import FrozenInstanceError
from datetime import timedelta
from pathlib import Path

import pytest
from jamkesda_client import (
    AuthenticationError,
    BatchProblem,
    CheckRequest,
    CheckResult,
    Client,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import AccessRecord
from service.check_ids import new_check_id
from tests.client_served import (
    MOVED_OUT,
    NOT_A_NIK,
    RESIDENT,
    RESIDENT_BIRTH_DATE,
    VALID_UNTIL,
    Served,
    operator_id,
    served_registry,
)
from tests.conftest import TEST_LEDGER_SIGNER
from tests.factories import TODAY


@pytest.fixture(scope="module")
def served(
    migrated_engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """One running service for this module's tests."""
    with served_registry(migrated_engine, database_url, tmp_path_factory.mktemp("served")) as s:
        yield s


@pytest.fixture
def desk(served: Served) -> Iterator[Client]:
    """A client with the puskesmas' desk key."""
    with Client(served.url, served.keys["desk"], timeout=10) as client:
        yield client


@pytest.fixture
def auditor(served: Served) -> Iterator[Client]:
    """A client with an auditor key."""
    with Client(served.url, served.keys["auditor"], timeout=10) as client:
        yield client


def test_an_eligible_resident_gets_a_covered_result(desk: Client) -> None:
    result = desk.check(RESIDENT, operator_id=operator_id())
    assert result.decision == "ELIGIBLE"
    assert result.eligible is True
    assert result.reasons == ()
    assert result.coverage is not None
    assert (result.coverage.scheme, result.coverage.class_) == ("JAMKESDA", "II")
    assert result.coverage.valid_until == VALID_UNTIL
    assert result.nik_masked == "6402**********01"
    assert result.decided_at.utcoffset() == timedelta(hours=8)
    assert result.data_as_of.population == TODAY - timedelta(days=3)
    assert result.data_as_of.jamkesda == TODAY - timedelta(days=1)
    assert result.data_as_of.jkn is None
    assert result.dispute is None
    assert result.policy_version == "kukar-2025.1"
    assert result.raw["check_id"] == result.check_id
    assert result.replayed is False


def test_a_moved_out_resident_is_not_eligible_with_reasons_and_a_dispute(desk: Client) -> None:
    result = desk.check(MOVED_OUT)
    assert result.decision == "NOT_ELIGIBLE"
    assert result.eligible is False
    assert [reason.code for reason in result.reasons] == ["NOT_RESIDENT"]
    assert "Kutai Kartanegara" in result.reasons[0].message
    assert result.coverage is None
    assert result.dispute is not None
    assert result.dispute.reference == result.check_id
    assert result.check_id in result.dispute.message


def test_the_optional_fields_reach_the_service_as_it_reads_them(
    desk: Client, auditor: Client
) -> None:
    yesterday = TODAY - timedelta(days=1)
    result = desk.check(
        RESIDENT,
        service_date=yesterday,
        service_type="emergency",
        operator_id="rina",
        patient_name="Someone Else",
        birth_date=RESIDENT_BIRTH_DATE,
        external_ref="REG-0042",
    )
    assert result.emergency_notice
    assert result.identity_match is not None
    assert (result.identity_match.name, result.identity_match.birth_date) == ("MISMATCH", "MATCH")
    record = auditor.audit_record(result.check_id)
    assert record["operator_id"] == "rina"
    assert record["request"]["service_date"] == yesterday.isoformat()
    assert record["request"]["service_type"] == "emergency"
    assert record["request"]["external_ref"] == "REG-0042"


def test_get_check_reads_the_same_check_again(desk: Client) -> None:
    made = desk.check(MOVED_OUT)
    assert desk.get_check(made.check_id.lower()) == made


def test_get_check_of_an_unknown_reference_raises_not_found(desk: Client) -> None:
    with pytest.raises(NotFoundError) as raised:
        desk.get_check(new_check_id())
    assert raised.value.code == "CHECK_NOT_FOUND"


def test_an_invalid_nik_raises_with_its_code_and_the_recorded_reference(
    desk: Client, auditor: Client
) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        desk.check(NOT_A_NIK)
    error = raised.value
    assert (error.status, error.code) == (422, "INVALID_NIK")
    assert "nik" in error.errors
    assert error.check_id is not None
    assert auditor.audit_record(error.check_id)["decision"] == "INVALID_REQUEST"


def test_an_unknown_key_raises_authentication_error(served: Served) -> None:
    with Client(served.url, "not-a-key") as client, pytest.raises(AuthenticationError) as raised:
        client.check(RESIDENT)
    assert (raised.value.status, raised.value.code) == (401, "UNAUTHENTICATED")


def test_an_auditor_key_may_not_check(auditor: Client) -> None:
    with pytest.raises(ForbiddenError) as raised:
        auditor.check(RESIDENT)
    assert raised.value.code == "FORBIDDEN"


def test_a_repeated_idempotency_key_returns_the_first_record(desk: Client, auditor: Client) -> None:
    operator, key = operator_id(), uuid.uuid4().hex
    first = desk.check(RESIDENT, operator_id=operator, idempotency_key=key)
    again = desk.check(RESIDENT, operator_id=operator, idempotency_key=key)
    assert again.check_id == first.check_id
    assert again.decided_at == first.decided_at
    assert (first.replayed, again.replayed) == (False, True)
    assert len(list(auditor.audit_checks(operator=operator))) == 1


def test_a_batch_answers_every_item_in_order(served: Served, auditor: Client) -> None:
    operator = operator_id()
    with Client(served.url, served.keys["integration"]) as hospital:
        batch = hospital.check_batch(
            [
                {"nik": RESIDENT, "service_date": TODAY, "operator_id": operator},
                CheckRequest(MOVED_OUT, operator_id=operator),
                {"nik": NOT_A_NIK, "operator_id": operator},
            ]
        )
    assert batch.batch_id
    first, second, third = batch.results
    assert isinstance(first, CheckResult)
    assert first.decision == "ELIGIBLE"
    assert isinstance(second, CheckResult)
    assert second.decision == "NOT_ELIGIBLE"
    assert isinstance(third, BatchProblem)
    assert (third.index, third.status, third.code) == (2, 422, "INVALID_NIK")
    assert third.check_id is not None
    recorded = {record["check_id"] for record in auditor.audit_checks(batch=batch.batch_id)}
    assert recorded == {first.check_id, second.check_id, third.check_id}


def test_audit_checks_iterates_over_every_page(
    desk: Client, auditor: Client, migrated_engine: Engine
) -> None:
    operator = operator_id()
    made = [desk.check(RESIDENT, operator_id=operator).check_id for _ in range(5)]
    records = list(auditor.audit_checks(operator=operator, limit=2))
    # Newest first, each record once.
    assert [record["check_id"] for record in records] == made[::-1]
    with Session(migrated_engine) as session:
        listings = session.scalars(
            select(AccessRecord).where(
                AccessRecord.path == "/v1/audit/checks",
                AccessRecord.query.contains(operator),
            )
        ).all()
    assert len(listings) == 3  # pages of 2, 2 and 1


def test_the_from_filter_is_sent_under_its_api_name(desk: Client, auditor: Client) -> None:
    operator = operator_id()
    desk.check(RESIDENT, operator_id=operator)
    tomorrow = TODAY + timedelta(days=1)
    assert len(list(auditor.audit_checks(operator=operator, from_=TODAY))) == 1
    assert len(list(auditor.audit_checks(operator=operator, since=TODAY.isoformat()))) == 1
    assert list(auditor.audit_checks(operator=operator, since=tomorrow)) == []


def test_an_unknown_filter_raises_invalid_filter(auditor: Client) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        list(auditor.audit_checks(colour="blue"))
    assert raised.value.code == "INVALID_FILTER"
    assert "colour" in raised.value.errors


def test_replay_re_derives_the_recorded_decision(desk: Client, auditor: Client) -> None:
    made = desk.check(MOVED_OUT)
    replay = auditor.replay(made.check_id)
    assert replay.same_as_recorded is True
    assert replay.recorded.decision == "NOT_ELIGIBLE"
    assert [reason.code for reason in replay.as_of_then.reasons] == ["NOT_RESIDENT"]
    assert replay.as_of_now.decision == "NOT_ELIGIBLE"


def test_stats_count_the_checks_by_decision(desk: Client, auditor: Client) -> None:
    operator = operator_id()
    for nik in (RESIDENT, RESIDENT, MOVED_OUT):
        desk.check(nik, operator_id=operator)
    rows = auditor.stats(group_by=["decision"], operator=operator)
    counts = {row["decision"]: row["count"] for row in rows}
    assert counts == {"ELIGIBLE": 2, "NOT_ELIGIBLE": 1}


def test_export_csv_writes_every_matching_record_with_masked_niks(
    desk: Client, auditor: Client, tmp_path: Path
) -> None:
    operator = operator_id()
    made = {desk.check(nik, operator_id=operator).check_id for nik in (RESIDENT, MOVED_OUT)}
    target = tmp_path / "checks.csv"
    assert auditor.export_csv(target, operator=operator) == target
    text = target.read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["check_id"] for row in rows} == made
    assert {row["nik_masked"] for row in rows} == {"6402**********01", "6402**********03"}
    assert RESIDENT not in text
    assert [path.name for path in tmp_path.iterdir()] == ["checks.csv"]


def test_checkpoint_is_the_ledgers_signed_note(auditor: Client) -> None:
    text = auditor.checkpoint()
    origin, size, _root = text.split("\n", 3)[:3]
    assert origin == TEST_LEDGER_SIGNER.name
    assert int(size) >= 0
    assert f"\n— {TEST_LEDGER_SIGNER.name} " in text


def test_a_desk_key_may_not_read_the_audit_log(desk: Client) -> None:
    with pytest.raises(ForbiddenError):
        list(desk.audit_checks())


def test_a_result_cannot_be_changed_after_the_fact(desk: Client) -> None:
    made = desk.check(MOVED_OUT)
    with pytest.raises(FrozenInstanceError):
        made.decision = "ELIGIBLE"  # type: ignore[misc]
