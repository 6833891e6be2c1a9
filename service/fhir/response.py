"""A check as an R4 ``CoverageEligibilityResponse`` (SPEC §9.3), built from the ``/v1`` answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.decision import Outcome, Reason
from service.fhir.codes import (
    CHECK_ID_SYSTEM,
    DECISION_REASON_URL,
    DECISION_URL,
    IDENTITY_MATCH_URL,
    JAMKESDA_COVERAGE,
    JKN_COVERAGE,
    JKN_INSURER,
    REASON_SYSTEM,
    REGENCY_INSURER,
)
from service.messages import DECISION_MESSAGES, REASON_MESSAGES


def eligibility_response(document: Mapping[str, Any], patient: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to ``$submit`` and to a read, from ``check_document``'s dict.

    ``patient`` is the reference to show: the NIK identifier the caller sent to ``$submit``,
    or ``{"display": <masked NIK>}`` on a later read, since the plain NIK is not kept.
    Raises ``ValueError`` for a refused request (``INVALID_REQUEST``): it decided nothing.
    """
    decision = Outcome(document["decision"])
    if decision not in DECISION_MESSAGES:
        raise ValueError(f"{decision} decided nothing: it has no CoverageEligibilityResponse")
    check_id = document["check_id"]
    resource: dict[str, Any] = {
        "resourceType": "CoverageEligibilityResponse",
        "id": check_id,
        "extension": _extensions(document, decision),
        "identifier": [{"system": CHECK_ID_SYSTEM, "value": check_id}],
        "status": "active",
        "purpose": ["validation"],
        "patient": dict(patient),
        "created": document["decided_at"],
        # The request was not kept as a resource: the check reference names it.
        "request": {"identifier": {"system": CHECK_ID_SYSTEM, "value": check_id}},
        "outcome": "error" if decision is Outcome.UNDETERMINED else "complete",
        "disposition": disposition(document),
        "insurer": {
            "display": JKN_INSURER if decision is Outcome.COVERED_BY_JKN else REGENCY_INSURER
        },
    }
    if decision is Outcome.UNDETERMINED:
        # Nothing was decided, so nothing is said about insurance (never a denial).
        resource["error"] = [{"code": {"coding": [_reason_coding(Reason.DATA_UNAVAILABLE)]}}]
    else:
        resource["insurance"] = [_insurance(document, decision)]
    return resource


def disposition(document: Mapping[str, Any]) -> str:
    """What the clerk reads: the headline, the emergency notice, the reasons, how to object.

    The emergency notice comes straight after the headline: whatever the decision, the
    clerk must see first that an emergency patient is treated now (UU 17/2023).
    """
    parts = [DECISION_MESSAGES[Outcome(document["decision"])]]
    if document.get("emergency_notice"):
        parts.append(document["emergency_notice"])
    parts += [reason["message"] for reason in document["reasons"]]
    if document.get("dispute"):
        parts.append(document["dispute"]["message"])
    return " ".join(parts)


def _insurance(document: Mapping[str, Any], decision: Outcome) -> dict[str, Any]:
    """Whether the scheme asked about (Jamkesda) or JKN pays, and until when."""
    covered_by_jkn = decision is Outcome.COVERED_BY_JKN
    insurance: dict[str, Any] = {
        "coverage": {"display": JKN_COVERAGE if covered_by_jkn else JAMKESDA_COVERAGE},
        "inforce": decision in (Outcome.ELIGIBLE, Outcome.COVERED_BY_JKN),
    }
    valid_until = (document.get("coverage") or {}).get("valid_until")
    if valid_until:
        insurance["benefitPeriod"] = {"end": valid_until}
    return insurance


def _extensions(document: Mapping[str, Any], decision: Outcome) -> list[dict[str, Any]]:
    """The decision, every reason in order, and the identity comparison."""
    extensions: list[dict[str, Any]] = [{"url": DECISION_URL, "valueCode": decision.value}]
    extensions += [
        {
            "url": DECISION_REASON_URL,
            "valueCoding": {
                "system": REASON_SYSTEM,
                "code": reason["code"],
                "display": reason["message"],
            },
        }
        for reason in document["reasons"]
    ]
    identity = document.get("identity_match")
    if identity:
        extensions.append(
            {
                "url": IDENTITY_MATCH_URL,
                "extension": [
                    {"url": "name", "valueCode": identity["name"]},
                    {"url": "birthDate", "valueCode": identity["birth_date"]},
                ],
            }
        )
    return extensions


def _reason_coding(reason: Reason) -> dict[str, str]:
    """A reason code in the service's code system, displayed as the clerk's message."""
    return {"system": REASON_SYSTEM, "code": reason.value, "display": REASON_MESSAGES[reason]}
