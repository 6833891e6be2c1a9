"""Refusing a FHIR request with 400 (SPEC §9.3): each broken rule names its element."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from service.fhir.codes import INVALID_FHIR_RESOURCE, NIK_SYSTEM, PROBLEM_SYSTEM
from service.fhir.issues import InvalidFhirRequest
from service.fhir.outcome import invalid_request_outcome
from service.fhir.request import read_eligibility_request
from tests.test_fhir_request import NIK, ROOT, contained, logical, service_type, without


@pytest.mark.parametrize(
    ("body", "code", "expression"),
    [
        pytest.param(
            logical(resourceType="Patient"),
            "structure",
            f"{ROOT}.resourceType",
            id="other-resource-type",
        ),
        pytest.param(
            without(logical(), "resourceType"),
            "required",
            f"{ROOT}.resourceType",
            id="no-resource-type",
        ),
        pytest.param(without(logical(), "patient"), "required", f"{ROOT}.patient", id="no-patient"),
        pytest.param(without(logical(), "status"), "required", f"{ROOT}.status", id="no-status"),
        pytest.param(without(logical(), "created"), "required", f"{ROOT}.created", id="no-created"),
        pytest.param(without(logical(), "insurer"), "required", f"{ROOT}.insurer", id="no-insurer"),
        pytest.param(without(logical(), "purpose"), "required", f"{ROOT}.purpose", id="no-purpose"),
        pytest.param(
            logical(purpose=["benefits"]),
            "business-rule",
            f"{ROOT}.purpose",
            id="purpose-without-validation",
        ),
        pytest.param(
            logical(purpose="validation"), "structure", f"{ROOT}.purpose", id="purpose-not-a-list"
        ),
        pytest.param(
            logical(purpose=[5]), "value", f"{ROOT}.purpose[0]", id="purpose-item-not-text"
        ),
        pytest.param(logical(foo=1), "structure", f"{ROOT}.foo", id="unknown-element"),
        pytest.param(
            logical(insurer={"display": "x", "zz": 1}),
            "structure",
            f"{ROOT}.insurer.zz",
            id="unknown-nested-element",
        ),
        pytest.param(logical(status="draft"), "value", f"{ROOT}.status", id="status-not-active"),
        pytest.param(logical(status=True), "value", f"{ROOT}.status", id="status-not-text"),
        pytest.param(logical(created="2026-02-30"), "value", f"{ROOT}.created", id="bad-created"),
        pytest.param(
            logical(servicedDate=20261128),
            "value",
            f"{ROOT}.servicedDate",
            id="service-date-not-text",
        ),
        pytest.param(
            logical(servicedPeriod={"start": "2026-11-01", "end": "2026-11-05"}),
            "not-supported",
            f"{ROOT}.servicedPeriod",
            id="serviced-period",
        ),
        pytest.param(
            logical(patient={"identifier": {"system": "https://rs.example/mrn", "value": NIK}}),
            "business-rule",
            f"{ROOT}.patient.identifier.system",
            id="other-identifier-system",
        ),
        pytest.param(
            logical(patient={"identifier": {"value": NIK}}),
            "business-rule",
            f"{ROOT}.patient.identifier.system",
            id="identifier-without-system",
        ),
        pytest.param(
            logical(patient={"display": "Siti"}),
            "required",
            f"{ROOT}.patient.identifier",
            id="patient-by-name-only",
        ),
        pytest.param(
            logical(patient={"identifier": {"system": NIK_SYSTEM}}),
            "required",
            f"{ROOT}.patient.identifier.value",
            id="nik-without-value",
        ),
        pytest.param(
            logical(patient={"identifier": {"system": NIK_SYSTEM, "value": 6402014101900001}}),
            "value",
            f"{ROOT}.patient.identifier.value",
            id="nik-a-number",
        ),
        pytest.param(
            logical(patient={"identifier": {"system": NIK_SYSTEM, "value": ""}}),
            "value",
            f"{ROOT}.patient.identifier.value",
            id="nik-empty",
        ),
        pytest.param(
            contained(identifier=[{"system": "https://rs.example/mrn", "value": "RM-1"}]),
            "required",
            f"{ROOT}.contained[0].identifier",
            id="contained-patient-without-nik",
        ),
        pytest.param(
            without(contained(), "contained")
            | {"contained": [{"resourceType": "Patient", "id": "q"}]},
            "not-found",
            f"{ROOT}.patient.reference",
            id="dangling-reference",
        ),
        pytest.param(
            without(contained(), "contained"),
            "not-found",
            f"{ROOT}.patient.reference",
            id="nothing-contained",
        ),
        pytest.param(
            logical(
                patient={"reference": "#p"}, contained=[{"resourceType": "Practitioner", "id": "p"}]
            ),
            "invalid",
            f"{ROOT}.patient.reference",
            id="reference-to-a-practitioner",
        ),
        pytest.param(
            logical(patient={"reference": "Patient/123"}),
            "not-supported",
            f"{ROOT}.patient.reference",
            id="reference-to-another-server",
        ),
        pytest.param(
            contained()
            | {
                "patient": {
                    "reference": "#p",
                    "identifier": {"system": NIK_SYSTEM, "value": "6402014101900002"},
                }
            },
            "business-rule",
            f"{ROOT}.patient.identifier",
            id="two-different-niks",
        ),
        pytest.param(
            contained(unknownThing=1),
            "structure",
            f"{ROOT}.contained[0].unknownThing",
            id="unknown-patient-element",
        ),
        pytest.param(
            contained(birthDate=19900101),
            "value",
            f"{ROOT}.contained[0].birthDate",
            id="birth-date-not-text",
        ),
        pytest.param(
            logical(contained=[{"resourceType": "ActorDefinition", "id": "a"}]),
            "structure",
            f"{ROOT}.contained[0].resourceType",
            id="contained-r5-only-resource",
        ),
        pytest.param(
            logical(contained=[{"resourceType": 5}]),
            "structure",
            f"{ROOT}.contained[0].resourceType",
            id="contained-resource-type-a-number",
        ),
        pytest.param(
            logical(contained=[{"id": "p"}]),
            "required",
            f"{ROOT}.contained[0].resourceType",
            id="contained-untyped",
        ),
        pytest.param(
            logical(extension=[service_type("emergency"), service_type("outpatient")]),
            "business-rule",
            f"{ROOT}.extension",
            id="two-service-types",
        ),
        pytest.param(
            logical(extension=[service_type(valueString="emergency")]),
            "required",
            f"{ROOT}.extension[0].valueCode",
            id="service-type-not-a-code",
        ),
        pytest.param(
            logical(modifierExtension=[{"url": "https://rs.example/x", "valueBoolean": True}]),
            "extension",
            f"{ROOT}.modifierExtension",
            id="modifier-extension",
        ),
        # pydantic stops checking required elements once one has failed: a malformed date
        # that is passed on to the /v1 schema must not hide a missing status.
        pytest.param(
            without(logical(servicedDate="2026-02-30"), "status"),
            "required",
            f"{ROOT}.status",
            id="bad-date-does-not-hide-missing-status",
        ),
    ],
)
def test_unacceptable_request_is_a_400_naming_the_element(
    body: dict[str, Any], code: str, expression: str
) -> None:
    with pytest.raises(InvalidFhirRequest) as raised:
        read_eligibility_request(body)
    issues = raised.value.issues
    assert (code, expression) in [(issue.code, issue.expression) for issue in issues]
    assert all(issue.diagnostics for issue in issues)
    assert NIK not in " ".join(issue.diagnostics for issue in issues)
    outcome = invalid_request_outcome(raised.value)
    OperationOutcome.model_validate(outcome)
    assert [issue["expression"] for issue in outcome["issue"]] == [[i.expression] for i in issues]
    assert {issue["details"]["coding"][0]["code"] for issue in outcome["issue"]} == {
        INVALID_FHIR_RESOURCE
    }
    assert outcome["issue"][0]["details"]["coding"][0]["system"] == PROBLEM_SYSTEM


@pytest.mark.parametrize("body", ["CoverageEligibilityRequest", [logical()], None, 5, True])
def test_a_body_that_is_not_an_object_is_a_400(body: Any) -> None:
    with pytest.raises(InvalidFhirRequest) as raised:
        read_eligibility_request(body)
    assert [(i.code, i.expression) for i in raised.value.issues] == [("structure", ROOT)]


def test_every_fault_is_reported_at_once() -> None:
    body = logical(status="cancelled", purpose=["benefits"], patient={"reference": "#nobody"})
    with pytest.raises(InvalidFhirRequest) as raised:
        read_eligibility_request(body)
    assert [issue.expression for issue in raised.value.issues] == [
        f"{ROOT}.status",
        f"{ROOT}.purpose",
        f"{ROOT}.patient.reference",
    ]
