"""A check as an R4 CoverageEligibilityResponse (SPEC §9.3 "Out"), decision by decision."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.coverageeligibilityresponse import CoverageEligibilityResponse

from service.decision import Outcome, Reason
from service.documents import check_document
from service.facts import SnapshotSet
from service.fhir.codes import (
    CHECK_ID_SYSTEM,
    DECISION_REASON_URL,
    DECISION_URL,
    IDENTITY_MATCH_URL,
    NIK_SYSTEM,
    REASON_SYSTEM,
)
from service.fhir.response import eligibility_response
from service.messages import DECISION_MESSAGES, EMERGENCY_NOTICE, REASON_MESSAGES, dispute_message
from service.records import CheckEntry

CHECK_ID = "Z539-33N3-HQFY"
SENT = {"identifier": {"system": NIK_SYSTEM, "value": "6402014101900001"}}
READ = {"display": "6402**********01"}
JAMKESDA = {"display": "Jamkesda Kabupaten Kutai Kartanegara"}


def document(
    decision: Outcome,
    reasons: tuple[Reason, ...] = (),
    coverage: dict[str, Any] | None = None,
    service_type: str = "outpatient",
    name_match: str = "NOT_PROVIDED",
) -> dict[str, Any]:
    """The /v1 answer of a recorded check, built by the service's own ``check_document``."""
    entry = CheckEntry(
        decided_at=datetime(2026, 11, 28, 1, 14, 3, tzinfo=UTC),
        nik_hash="0" * 64,
        nik_masked="6402**********01",
        facility_code="1040001",
        client_id=1,
        operator_id="rina",
        channel="fhir",
        service_date=date(2026, 11, 28),
        service_type=service_type,
        external_ref="REG-0042",
        name_match=name_match,
        birth_date_match="NOT_PROVIDED",
        decision=decision.value,
        reasons=[reason.value for reason in reasons],
        coverage=coverage,
        errors=None,
        policy_version="kukar-2025.1",
        population_snapshot_id=1,
        jamkesda_snapshot_id=2,
        jkn_snapshot_id=None,
        latency_ms=1.5,
        check_id=CHECK_ID,
    )
    return check_document(entry, SnapshotSet(None, None, None), ZoneInfo("Asia/Makassar"))


ELIGIBLE_UNTIL = document(
    Outcome.ELIGIBLE, coverage={"scheme": "JAMKESDA", "class": "II", "valid_until": "2026-12-31"}
)
ELIGIBLE_OPEN = document(
    Outcome.ELIGIBLE, coverage={"scheme": "JAMKESDA", "class": "III", "valid_until": None}
)
JKN = document(Outcome.COVERED_BY_JKN, (Reason.JKN_ACTIVE,))
NOT_ELIGIBLE = document(
    Outcome.NOT_ELIGIBLE,
    (Reason.NOT_RESIDENT, Reason.JAMKESDA_NOT_ENROLLED),
)
TOO_SHORT = document(Outcome.NOT_ELIGIBLE, (Reason.RESIDENCY_TOO_SHORT, Reason.JAMKESDA_INACTIVE))
UNDETERMINED = document(Outcome.UNDETERMINED, (Reason.DATA_UNAVAILABLE,))
EMERGENCY = document(Outcome.NOT_ELIGIBLE, (Reason.NIK_NOT_FOUND,), service_type="emergency")

# Each decision with what SPEC §9.3 says of it: insurer, outcome and insurance[0].
CASES = [
    pytest.param(
        ELIGIBLE_UNTIL,
        "Pemerintah Kabupaten Kutai Kartanegara",
        "complete",
        {"coverage": JAMKESDA, "inforce": True, "benefitPeriod": {"end": "2026-12-31"}},
        id="eligible-until",
    ),
    pytest.param(
        ELIGIBLE_OPEN,
        "Pemerintah Kabupaten Kutai Kartanegara",
        "complete",
        {"coverage": JAMKESDA, "inforce": True},
        id="eligible-open-ended",
    ),
    pytest.param(
        JKN,
        "BPJS Kesehatan",
        "complete",
        {"coverage": {"display": "JKN"}, "inforce": True},
        id="covered-by-jkn",
    ),
    pytest.param(
        NOT_ELIGIBLE,
        "Pemerintah Kabupaten Kutai Kartanegara",
        "complete",
        {"coverage": JAMKESDA, "inforce": False},
        id="not-eligible",
    ),
    pytest.param(
        TOO_SHORT,
        "Pemerintah Kabupaten Kutai Kartanegara",
        "complete",
        {"coverage": JAMKESDA, "inforce": False},
        id="not-eligible-other-reasons",
    ),
    pytest.param(
        UNDETERMINED, "Pemerintah Kabupaten Kutai Kartanegara", "error", None, id="undetermined"
    ),
    pytest.param(
        EMERGENCY,
        "Pemerintah Kabupaten Kutai Kartanegara",
        "complete",
        {"coverage": JAMKESDA, "inforce": False},
        id="emergency-not-found",
    ),
]
DOCUMENTS = [case.values[0] for case in CASES]


def valid_r4(resource: dict[str, Any]) -> None:
    """The resource is valid R4 and fhir.resources reads back exactly what was written."""
    model = CoverageEligibilityResponse.model_validate(resource)
    assert model.model_dump(mode="json", exclude_none=True) == resource


@pytest.mark.parametrize("patient", [SENT, READ], ids=["submit", "read"])
@pytest.mark.parametrize("checked", DOCUMENTS)
def test_every_answer_is_valid_r4(checked: dict[str, Any], patient: dict[str, Any]) -> None:
    valid_r4(eligibility_response(checked, patient))


@pytest.mark.parametrize("patient", [SENT, READ], ids=["submit", "read"])
@pytest.mark.parametrize("checked", DOCUMENTS)
def test_the_answer_names_the_check_and_the_patient(
    checked: dict[str, Any], patient: dict[str, Any]
) -> None:
    resource = eligibility_response(checked, patient)
    reference = {"system": CHECK_ID_SYSTEM, "value": CHECK_ID}
    assert resource["resourceType"] == "CoverageEligibilityResponse"
    assert resource["id"] == CHECK_ID
    assert resource["identifier"] == [reference]
    assert resource["status"] == "active"
    assert resource["purpose"] == ["validation"]
    assert resource["patient"] == patient
    assert resource["created"] == "2026-11-28T09:14:03+08:00"
    assert resource["request"] == {"identifier": reference}


@pytest.mark.parametrize(("checked", "insurer", "outcome", "insurance"), CASES)
def test_insurer_outcome_and_insurance_follow_the_decision(
    checked: dict[str, Any], insurer: str, outcome: str, insurance: dict[str, Any] | None
) -> None:
    resource = eligibility_response(checked, SENT)
    assert resource["insurer"] == {"display": insurer}
    assert resource["outcome"] == outcome
    if insurance is None:
        assert "insurance" not in resource
    else:
        assert resource["insurance"] == [insurance]
        # A known mistake elsewhere: an insurance without inforce says nothing.
        assert isinstance(resource["insurance"][0]["inforce"], bool)


@pytest.mark.parametrize("checked", DOCUMENTS)
def test_no_item_is_ever_sent(checked: dict[str, Any]) -> None:
    # A known mistake elsewhere: items with both category and productOrService.
    resource = eligibility_response(checked, SENT)
    assert all("item" not in insurance for insurance in resource.get("insurance", []))


def test_undetermined_is_an_error_not_a_denial() -> None:
    resource = eligibility_response(UNDETERMINED, SENT)
    assert resource["outcome"] == "error"
    assert "insurance" not in resource
    assert resource["error"] == [
        {
            "code": {
                "coding": [
                    {
                        "system": REASON_SYSTEM,
                        "code": "DATA_UNAVAILABLE",
                        "display": REASON_MESSAGES[Reason.DATA_UNAVAILABLE],
                    }
                ]
            }
        }
    ]


@pytest.mark.parametrize("checked", [c for c in DOCUMENTS if c is not UNDETERMINED])
def test_a_decision_has_no_error(checked: dict[str, Any]) -> None:
    assert "error" not in eligibility_response(checked, SENT)


@pytest.mark.parametrize("checked", DOCUMENTS)
def test_decision_and_every_reason_in_order_are_extensions(checked: dict[str, Any]) -> None:
    extensions = eligibility_response(checked, SENT)["extension"]
    assert [e for e in extensions if e["url"] == DECISION_URL] == [
        {"url": DECISION_URL, "valueCode": checked["decision"]}
    ]
    assert [e["valueCoding"] for e in extensions if e["url"] == DECISION_REASON_URL] == [
        {"system": REASON_SYSTEM, "code": reason.value, "display": REASON_MESSAGES[reason]}
        for reason in map(Reason, (r["code"] for r in checked["reasons"]))
    ]


def test_reasons_keep_the_order_of_the_decision() -> None:
    extensions = eligibility_response(NOT_ELIGIBLE, SENT)["extension"]
    codes = [e["valueCoding"]["code"] for e in extensions if e["url"] == DECISION_REASON_URL]
    assert codes == ["NOT_RESIDENT", "JAMKESDA_NOT_ENROLLED"]


def test_identity_comparison_is_an_extension() -> None:
    checked = document(Outcome.ELIGIBLE, name_match="MISMATCH")
    extensions = eligibility_response(checked, SENT)["extension"]
    assert [e for e in extensions if e["url"] == IDENTITY_MATCH_URL] == [
        {
            "url": IDENTITY_MATCH_URL,
            "extension": [
                {"url": "name", "valueCode": "MISMATCH"},
                {"url": "birthDate", "valueCode": "NOT_PROVIDED"},
            ],
        }
    ]


@pytest.mark.parametrize("checked", DOCUMENTS)
def test_disposition_is_the_headline_then_the_reasons(checked: dict[str, Any]) -> None:
    disposition = eligibility_response(checked, SENT)["disposition"]
    headline = DECISION_MESSAGES[Outcome(checked["decision"])]
    messages = [reason["message"] for reason in checked["reasons"]]
    assert disposition.startswith(headline)
    positions = [disposition.index(message) for message in messages]
    assert positions == sorted(positions)
    dispute = dispute_message(CHECK_ID)
    assert (dispute in disposition) is (checked["decision"] != "ELIGIBLE")


def test_emergency_notice_follows_the_headline() -> None:
    disposition = eligibility_response(EMERGENCY, SENT)["disposition"]
    headline = DECISION_MESSAGES[Outcome.NOT_ELIGIBLE]
    assert disposition.startswith(f"{headline} {EMERGENCY_NOTICE} ")
    assert EMERGENCY_NOTICE not in eligibility_response(NOT_ELIGIBLE, SENT)["disposition"]


def test_a_refused_request_has_no_coverage_eligibility_response() -> None:
    refused = document(Outcome.INVALID_REQUEST)
    with pytest.raises(ValueError, match="INVALID_REQUEST"):
        eligibility_response(refused, READ)
