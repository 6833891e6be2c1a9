"""Reading a FHIR CoverageEligibilityRequest (SPEC §9.3 "In"): fields, patient, 422s passed on."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from service.api.schemas import InvalidCheckRequest, parse_check_request
from service.fhir.codes import NIK_SYSTEM, SERVICE_TYPE_URL
from service.fhir.request import read_eligibility_request
from service.fhir.validation import fhirpath

NIK = "6402014101900001"
TODAY = date(2026, 11, 28)
ROOT = "CoverageEligibilityRequest"


def logical(**elements: Any) -> dict[str, Any]:
    """A minimal valid request naming the patient by a NIK identifier."""
    body: dict[str, Any] = {
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "purpose": ["validation"],
        "patient": {"identifier": {"system": NIK_SYSTEM, "value": NIK}},
        "created": "2026-11-28T09:14:00+08:00",
        "insurer": {"display": "Jamkesda Kukar"},
    }
    body.update(elements)
    return body


def contained(**patient: Any) -> dict[str, Any]:
    """A valid request whose patient is ``#p``, a contained Patient carrying the NIK."""
    resource = {
        "resourceType": "Patient",
        "id": "p",
        "identifier": [{"system": NIK_SYSTEM, "value": NIK}],
        "name": [{"text": "Siti Nur'aini"}],
        "birthDate": "1990-01-01",
    }
    resource.update(patient)
    return logical(patient={"reference": "#p"}, contained=[resource])


def without(body: dict[str, Any], element: str) -> dict[str, Any]:
    """The body without one top-level element."""
    return {key: value for key, value in body.items() if key != element}


def service_type(code: str | None = None, **value: Any) -> dict[str, Any]:
    """The service-type extension."""
    return {"url": SERVICE_TYPE_URL, **({"valueCode": code} if code else value)}


def test_logical_reference_gives_the_check_fields() -> None:
    body = logical(
        servicedDate="2026-11-27",
        identifier=[{"system": "https://simrs.example/visit", "value": "REG-0042"}],
        enterer={"identifier": {"value": "rina"}},
        extension=[service_type("emergency")],
    )
    request = read_eligibility_request(body)
    assert request.fields == {
        "nik": NIK,
        "service_date": "2026-11-27",
        "external_ref": "REG-0042",
        "operator_id": "rina",
        "service_type": "emergency",
    }
    assert request.patient == {"identifier": {"system": NIK_SYSTEM, "value": NIK}}
    assert request.expressions == {
        "nik": f"{ROOT}.patient.identifier.value",
        "service_date": f"{ROOT}.servicedDate",
        "external_ref": f"{ROOT}.identifier[0].value",
        "operator_id": f"{ROOT}.enterer.identifier.value",
        "service_type": f"{ROOT}.extension[0].valueCode",
    }
    check = parse_check_request(request.fields, TODAY)
    assert (check.nik, check.service_date, check.service_type) == (
        NIK,
        date(2026, 11, 27),
        "emergency",
    )
    assert (check.operator_id, check.external_ref) == ("rina", "REG-0042")


def test_absent_date_and_service_type_take_the_v1_defaults() -> None:
    request = read_eligibility_request(logical())
    assert request.fields == {"nik": NIK}
    check = parse_check_request(request.fields, TODAY)
    assert (check.service_date, check.service_type) == (TODAY, "outpatient")


def test_the_nik_is_echoed_as_sent_and_normalised_by_the_check() -> None:
    typed = "6402 0141 0190 0001"
    request = read_eligibility_request(
        logical(patient={"identifier": {"system": NIK_SYSTEM, "value": typed}})
    )
    assert request.patient == {"identifier": {"system": NIK_SYSTEM, "value": typed}}
    assert parse_check_request(request.fields, TODAY).nik == NIK


def test_contained_patient_gives_nik_name_and_birth_date() -> None:
    request = read_eligibility_request(contained())
    assert request.fields == {
        "nik": NIK,
        "patient_name": "Siti Nur'aini",
        "birth_date": "1990-01-01",
    }
    assert request.expressions == {
        "nik": f"{ROOT}.contained[0].identifier[0].value",
        "patient_name": f"{ROOT}.contained[0].name[0].text",
        "birth_date": f"{ROOT}.contained[0].birthDate",
    }
    assert request.patient == {"identifier": {"system": NIK_SYSTEM, "value": NIK}}
    check = parse_check_request(request.fields, TODAY)
    assert (check.patient_name, check.birth_date) == ("Siti Nur'aini", date(1990, 1, 1))


@pytest.mark.parametrize(
    ("name", "expected", "expression"),
    [
        ({"text": "Siti Nur'aini", "family": "X"}, "Siti Nur'aini", "name[0].text"),
        (
            {"given": ["Siti", "Nur'aini"], "family": "Rahmawati"},
            "Siti Nur'aini Rahmawati",
            "name[0]",
        ),
        ({"given": ["Sukarti"]}, "Sukarti", "name[0]"),
        ({"family": "Sukarti"}, "Sukarti", "name[0]"),
    ],
)
def test_contained_patient_name_is_text_or_given_and_family(
    name: dict[str, Any], expected: str, expression: str
) -> None:
    request = read_eligibility_request(contained(name=[name]))
    assert request.fields["patient_name"] == expected
    assert request.expressions["patient_name"] == f"{ROOT}.contained[0].{expression}"


def test_the_nik_identifier_is_found_among_others_and_patient_identifier_may_repeat_it() -> None:
    body = contained(
        identifier=[
            {"system": "https://rs.example/mrn", "value": "RM-1"},
            {"system": NIK_SYSTEM, "value": NIK},
        ]
    )
    body["patient"]["identifier"] = {"system": NIK_SYSTEM, "value": NIK}
    request = read_eligibility_request(body)
    assert request.expressions["nik"] == f"{ROOT}.contained[0].identifier[1].value"


def test_nothing_personal_is_kept_beyond_the_fields() -> None:
    body = contained(
        gender="female",
        address=[{"text": "Jl. Mawar 7, Tenggarong"}],
        telecom=[{"system": "phone", "value": "081234567890"}],
    )
    request = read_eligibility_request(body)
    kept = repr(request)
    assert "Mawar" not in kept
    assert "081234567890" not in kept
    assert "female" not in kept


def test_reading_does_not_change_the_body() -> None:
    body = contained(birthDate="2026-02-30")
    before = copy.deepcopy(body)
    read_eligibility_request(body)
    assert body == before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param(
            logical(patient={"identifier": {"system": NIK_SYSTEM, "value": "12345"}}),
            {"nik": f"{ROOT}.patient.identifier.value"},
            id="nik-not-16-digits",
        ),
        pytest.param(
            logical(patient={"identifier": {"system": NIK_SYSTEM, "value": "6402019901900001"}}),
            {"nik": f"{ROOT}.patient.identifier.value"},
            id="nik-with-impossible-birth-day",
        ),
        pytest.param(
            contained(identifier=[{"system": NIK_SYSTEM, "value": "64020141019000"}]),
            {"nik": f"{ROOT}.contained[0].identifier[0].value"},
            id="contained-nik-too-short",
        ),
        pytest.param(
            logical(servicedDate="2026-02-30"),
            {"service_date": f"{ROOT}.servicedDate"},
            id="service-date-not-in-calendar",
        ),
        pytest.param(
            logical(servicedDate="2026-11"),
            {"service_date": f"{ROOT}.servicedDate"},
            id="service-date-partial",
        ),
        pytest.param(
            logical(servicedDate="2026-11-28T10:00:00+08:00"),
            {"service_date": f"{ROOT}.servicedDate"},
            id="service-date-with-time",
        ),
        pytest.param(
            logical(servicedDate="2026-12-25"),
            {"service_date": f"{ROOT}.servicedDate"},
            id="service-date-in-the-future",
        ),
        pytest.param(
            contained(birthDate="1990-02-30"),
            {"birth_date": f"{ROOT}.contained[0].birthDate"},
            id="birth-date-not-in-calendar",
        ),
        pytest.param(
            contained(birthDate="1990-12"),
            {"birth_date": f"{ROOT}.contained[0].birthDate"},
            id="birth-date-partial",
        ),
        pytest.param(
            logical(extension=[service_type("surgery")]),
            {"service_type": f"{ROOT}.extension[0].valueCode"},
            id="unknown-service-type",
        ),
        pytest.param(
            logical(enterer={"identifier": {"value": "r" * 65}}),
            {"operator_id": f"{ROOT}.enterer.identifier.value"},
            id="operator-too-long",
        ),
        pytest.param(
            logical(
                patient={"identifier": {"system": NIK_SYSTEM, "value": "0000"}},
                servicedDate="2026-02-30",
            ),
            {"nik": f"{ROOT}.patient.identifier.value", "service_date": f"{ROOT}.servicedDate"},
            id="bad-nik-and-bad-date",
        ),
    ],
)
def test_bad_nik_or_date_passes_on_to_the_check_for_a_recorded_422(
    body: dict[str, Any], errors: dict[str, str]
) -> None:
    request = read_eligibility_request(body)
    with pytest.raises(InvalidCheckRequest) as raised:
        parse_check_request(request.fields, TODAY)
    assert set(raised.value.errors) == set(errors)
    assert {field: request.expressions[field] for field in raised.value.errors} == errors
    assert raised.value.code == ("INVALID_NIK" if "nik" in errors else "INVALID_REQUEST")


@pytest.mark.parametrize(
    ("location", "expression"),
    [
        ((), ROOT),
        (("purpose", 0), f"{ROOT}.purpose[0]"),
        (("resource_type",), f"{ROOT}.resourceType"),
        (("contained", 0, "name", 0, "given"), f"{ROOT}.contained[0].name[0].given"),
        (("contained", 2, "root"), f"{ROOT}.contained[2]"),
    ],
)
def test_pydantic_locations_become_fhirpath(
    location: tuple[int | str, ...], expression: str
) -> None:
    assert fhirpath(location) == expression
