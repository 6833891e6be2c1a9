"""Validate a body as an R4 ``CoverageEligibilityRequest`` with fhir.resources (R4B models)."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from typing import Any

# The R4B models: for CoverageEligibilityRequest they are R4's. The package's default
# modules are R5 and must never be used here.
from fhir.resources.R4B import fhirtypes
from fhir.resources.R4B.coverageeligibilityrequest import CoverageEligibilityRequest
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from service.fhir.issues import ROOT, InvalidFhirRequest, Issue

# Integrators read these: Indonesian, saying what to fix, never echoing the value sent.
REQUIRED = ("required", "Elemen ini wajib diisi.")
UNKNOWN = (
    "structure",
    "Elemen ini tidak dikenal dalam FHIR R4 untuk resource ini: hapus atau perbaiki namanya.",
)
OBJECT = ("structure", "Elemen ini harus berupa objek JSON.")
LIST = ("structure", "Elemen ini harus berupa daftar (array JSON).")
TEXT = ("value", "Elemen ini harus berupa teks yang tidak kosong.")
BOOLEAN = ("value", "Elemen ini harus bernilai true atau false.")
NUMBER = ("value", "Elemen ini harus berupa angka.")
DATE = ("value", "Tanggal harus berformat FHIR: YYYY, YYYY-MM atau YYYY-MM-DD.")
DATE_TIME = (
    "value",
    "Waktu harus berformat FHIR dateTime, misalnya 2026-11-28 atau 2026-11-28T09:14:03+08:00.",
)
RESOURCE_TYPE = ("structure", f"resourceType harus {ROOT}.")
NOT_AN_OBJECT = ("structure", f"Isi permintaan harus berupa resource {ROOT} FHIR R4 (objek JSON).")
UNKNOWN_RESOURCE = ("structure", "Jenis resource ini tidak ada di FHIR R4.")
FORMAT = ("value", "Nilai elemen ini tidak sesuai format FHIR R4.")
STRUCTURE = ("structure", "Elemen ini tidak sesuai struktur FHIR R4.")
NULL = ("structure", "FHIR JSON tidak membolehkan null: hapus elemen ini atau isi nilainya.")

# pydantic's error types, grouped by what the caller has to fix.
_BY_TYPE: dict[str, tuple[str, str]] = {
    "missing": REQUIRED,
    "model_field_validation.missing": REQUIRED,
    "extra_forbidden": UNKNOWN,
    "fhir-validation-wrong-resource-type": RESOURCE_TYPE,
    "model_type": OBJECT,
    "model_attributes_type": OBJECT,
    "dict_type": OBJECT,
    # fhir.resources parses a string given for an object as JSON text, and says so.
    "json_invalid": OBJECT,
    "json_type": OBJECT,
    "list_type": LIST,
    "string_type": TEXT,
    "string_pattern_mismatch": TEXT,
    "string_too_short": TEXT,
    "bool_type": BOOLEAN,
    "bool_parsing": BOOLEAN,
    "model_validation_format": STRUCTURE,
}
_BY_PREFIX = (
    ("datetime_", DATE_TIME),
    ("date_", DATE),
    ("int_", NUMBER),
    ("float_", NUMBER),
    ("decimal_", NUMBER),
)
# A resource type as FHIR spells them; nothing else can name a contained resource.
_RESOURCE_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")


def validate_r4(body: dict[str, Any]) -> None:
    """Raise ``InvalidFhirRequest`` unless ``body`` is a valid R4 CoverageEligibilityRequest."""
    if body.get("resourceType") != ROOT:
        code, diagnostics = REQUIRED if "resourceType" not in body else RESOURCE_TYPE
        raise InvalidFhirRequest([Issue(code, f"{ROOT}.resourceType", diagnostics)])
    issues = _null_member_issues(body) or _contained_type_issues(body)
    if not issues:
        try:
            CoverageEligibilityRequest.model_validate(_without_checked_dates(body))
        except ValidationError as error:
            issues = validation_issues(error)
        except (KeyError, TypeError):
            # fhir.resources raises these instead of a ValidationError for some malformed
            # contained resources; whatever the cause, the body is not valid R4.
            issues = [Issue(STRUCTURE[0], ROOT, STRUCTURE[1])]
    if issues:
        raise InvalidFhirRequest(issues)


def fhirpath(location: Iterable[int | str], root: str = ROOT) -> str:
    """A pydantic error location as FHIRPath: ``('purpose', 0)`` → ``…purpose[0]``."""
    path = root
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "resource_type":
            path += ".resourceType"
        elif part != "root":
            # fhir.resources reports a contained element of the wrong kind at "root".
            path += f".{part}"
    return path


def validation_issues(error: ValidationError) -> list[Issue]:
    """Every fault pydantic found, one issue each, in its order and without repeats."""
    issues: list[Issue] = []
    for detail in error.errors(include_input=False, include_url=False):
        code, diagnostics = _kind(detail)
        issue = Issue(code, fhirpath(detail["loc"]), diagnostics)
        if issue not in issues:
            issues.append(issue)
    return issues


def _kind(error: ErrorDetails) -> tuple[str, str]:
    """The IssueType code and diagnostics for one of pydantic's error types."""
    kind = error["type"]
    if kind in _BY_TYPE:
        return _BY_TYPE[kind]
    for prefix, found in _BY_PREFIX:
        if kind.startswith(prefix):
            return found
    return FORMAT


def _null_member_issues(body: dict[str, Any]) -> list[Issue]:
    """Members whose value is JSON null, which FHIR's JSON format never allows.

    fhir.resources reads a null member as an absent one, so ``"patient": null`` passed
    as valid R4 and then broke the reading of the patient (a 500), and ``"insurer": null``
    was accepted for a required element. Walked without recursion: a body nested as deep
    as the JSON parser allows must not exhaust the stack here.
    """
    issues = []
    # Breadth first: the faults nearest the root come first, each level in document order.
    pending: deque[tuple[tuple[int | str, ...], Any]] = deque([((), body)])
    while pending:
        location, value = pending.popleft()
        if isinstance(value, dict):
            for name, member in value.items():
                if member is None:
                    issues.append(Issue(NULL[0], fhirpath((*location, name)), NULL[1]))
                else:
                    pending.append(((*location, name), member))
        elif isinstance(value, list):
            # Inside an array null has a use (a primitive whose extension sits alongside).
            pending.extend(((*location, index), item) for index, item in enumerate(value))
    return issues


def _contained_type_issues(body: dict[str, Any]) -> list[Issue]:
    """Contained resources that fhir.resources cannot look up: it crashes or accepts them."""
    contained = body.get("contained")
    if not isinstance(contained, list):
        return []
    issues = []
    for index, resource in enumerate(contained):
        if not isinstance(resource, dict):
            continue
        kind = resource.get("resourceType")
        expression = f"{ROOT}.contained[{index}].resourceType"
        if kind is None:
            issues.append(Issue(REQUIRED[0], expression, REQUIRED[1]))
        elif not (
            isinstance(kind, str)
            and _RESOURCE_TYPE_NAME.fullmatch(kind)
            and hasattr(fhirtypes, f"{kind}Type")
        ):
            issues.append(Issue(UNKNOWN_RESOURCE[0], expression, UNKNOWN_RESOURCE[1]))
    return issues


def _without_checked_dates(body: dict[str, Any]) -> dict[str, Any]:
    """A copy without ``servicedDate`` and the patient's ``birthDate`` when they are text.

    A malformed date there (``2026-02-30``, ``2026-12``) is the ``/v1`` schema's to report
    as 422, and that attempt is recorded (SPEC §9.3). Leaving them out of the R4 validation,
    rather than dropping pydantic's errors about them afterwards, keeps every other fault
    visible: pydantic skips its check of required elements once an element has failed.
    """
    resource = dict(body)
    if isinstance(resource.get("servicedDate"), str):
        del resource["servicedDate"]
    index = contained_patient_index(body)
    if index is not None and isinstance(body["contained"][index].get("birthDate"), str):
        contained = list(body["contained"])
        contained[index] = {k: v for k, v in contained[index].items() if k != "birthDate"}
        resource["contained"] = contained
    return resource


def contained_patient_index(body: dict[str, Any]) -> int | None:
    """The index of the contained Patient that ``patient.reference`` (``#id``) names."""
    patient, contained = body.get("patient"), body.get("contained")
    reference = patient.get("reference") if isinstance(patient, dict) else None
    if not (isinstance(reference, str) and reference.startswith("#")):
        return None
    if not isinstance(contained, list):
        return None
    for index, resource in enumerate(contained):
        if (
            isinstance(resource, dict)
            and resource.get("resourceType") == "Patient"
            and resource.get("id") == reference[1:]
        ):
            return index
    return None
