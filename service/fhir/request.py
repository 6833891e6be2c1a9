"""Read a FHIR R4 ``CoverageEligibilityRequest`` into the fields of a ``/v1`` check (SPEC §9.3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.fhir.codes import SERVICE_TYPE_URL
from service.fhir.issues import ROOT, InvalidFhirRequest, Issue, Reading
from service.fhir.patient import read_patient
from service.fhir.validation import NOT_AN_OBJECT, validate_r4


@dataclass(frozen=True)
class EligibilityRequest:
    """A request read: the ``/v1`` fields, the patient to echo, and where each field came from.

    ``fields`` is the body for ``parse_check_request``, each value as the caller wrote it;
    ``patient`` is the NIK identifier reference the answer to ``$submit`` carries; and
    ``expressions`` maps each field name to the FHIRPath of its element, for a 422.
    """

    fields: dict[str, str]
    patient: dict[str, Any]
    expressions: dict[str, str]


def read_eligibility_request(body: Any) -> EligibilityRequest:
    """Validate ``body`` as R4 and by the rules of SPEC §9.3; raise ``InvalidFhirRequest``."""
    if not isinstance(body, dict):
        raise InvalidFhirRequest([Issue(NOT_AN_OBJECT[0], ROOT, NOT_AN_OBJECT[1])])
    validate_r4(body)
    reading = Reading()
    _check_question(body, reading)
    patient = read_patient(body, reading)
    _read_visit(body, reading)
    if reading.issues or patient is None:
        raise InvalidFhirRequest(reading.issues)
    return EligibilityRequest(reading.fields, patient, reading.expressions)


def _check_question(body: dict[str, Any], reading: Reading) -> None:
    """The service answers one question, whether the patient is covered (``validation``)."""
    if body["status"] != "active":
        reading.refuse("value", f"{ROOT}.status", "status harus 'active'.")
    if "validation" not in (body.get("purpose") or []):
        reading.refuse(
            "business-rule",
            f"{ROOT}.purpose",
            "purpose harus memuat 'validation': layanan ini hanya memeriksa kepesertaan.",
        )
    if body.get("modifierExtension"):
        # FHIR forbids acting on a resource whose modifier extensions are not understood.
        reading.refuse(
            "extension",
            f"{ROOT}.modifierExtension",
            "modifierExtension tidak dikenal layanan ini: hapus elemen ini.",
        )


def _read_visit(body: dict[str, Any], reading: Reading) -> None:
    """The service date, the caller's reference, the clerk and the service type."""
    if body.get("servicedPeriod") is not None:
        # A period has no single date to decide for, and guessing one could misstate coverage.
        reading.refuse(
            "not-supported",
            f"{ROOT}.servicedPeriod",
            "Gunakan servicedDate (satu tanggal layanan); servicedPeriod tidak didukung.",
        )
    # An absent date or service type stays absent, so that the /v1 defaults apply.
    reading.take("service_date", body.get("servicedDate"), f"{ROOT}.servicedDate")
    identifiers = body.get("identifier") or []
    if identifiers:
        reading.take("external_ref", identifiers[0].get("value"), f"{ROOT}.identifier[0].value")
    enterer = (body.get("enterer") or {}).get("identifier") or {}
    reading.take("operator_id", enterer.get("value"), f"{ROOT}.enterer.identifier.value")
    _read_service_type(body.get("extension") or [], reading)


def _read_service_type(extensions: list[dict[str, Any]], reading: Reading) -> None:
    """The service type from its extension; its code is judged by the ``/v1`` schema (422)."""
    found = [i for i, extension in enumerate(extensions) if extension["url"] == SERVICE_TYPE_URL]
    if len(found) > 1:
        # Two service types could disagree on emergency, whose notice must not be lost.
        reading.refuse(
            "business-rule", f"{ROOT}.extension", "Ekstensi service-type hanya boleh ada satu."
        )
        return
    if found:
        expression = f"{ROOT}.extension[{found[0]}].valueCode"
        service_type = extensions[found[0]].get("valueCode")
        if service_type is None:
            reading.refuse(
                "required",
                expression,
                "Isi jenis layanan sebagai valueCode: outpatient, inpatient atau emergency.",
            )
        reading.take("service_type", service_type, expression)
