"""Who is checked: the NIK from ``patient``, itself or through a contained Patient (SPEC §9.3)."""

from __future__ import annotations

from typing import Any

from service.fhir.codes import NIK_SYSTEM
from service.fhir.issues import ROOT, Reading

PATIENT = f"{ROOT}.patient"
NO_NIK = (
    f"Pasien harus disebut dengan NIK pada KTP: identifier dengan system {NIK_SYSTEM} "
    "dan value 16 angka."
)


def read_patient(body: dict[str, Any], reading: Reading) -> dict[str, Any] | None:
    """Take the NIK (and a contained Patient's name and birth date); return the reference to echo.

    ``body`` is valid R4 already. None when the patient cannot be read: the faults are
    in ``reading``.
    """
    patient: dict[str, Any] = body["patient"]
    reference, identifier = patient.get("reference"), patient.get("identifier")
    if reference is not None:
        return _read_contained(body, reference, identifier, reading)
    if identifier is None:
        reading.refuse("required", f"{PATIENT}.identifier", NO_NIK)
        return None
    return _read_nik(identifier, f"{PATIENT}.identifier", reading)


def _read_nik(identifier: dict[str, Any], path: str, reading: Reading) -> dict[str, Any] | None:
    """The NIK in an identifier of the NIK system, kept as the caller wrote it."""
    if identifier.get("system") != NIK_SYSTEM:
        reading.refuse("business-rule", f"{path}.system", NO_NIK)
        return None
    nik = identifier.get("value")
    if nik is None:
        reading.refuse("required", f"{path}.value", NO_NIK)
        return None
    # A NIK of the wrong shape is passed on: the /v1 schema refuses it with 422, recorded.
    reading.take("nik", nik, f"{path}.value")
    return {"identifier": {"system": NIK_SYSTEM, "value": nik}}


def _read_contained(
    body: dict[str, Any], reference: str, identifier: Any, reading: Reading
) -> dict[str, Any] | None:
    """The contained Patient that ``#id`` names: its NIK, name and birth date."""
    if not reference.startswith("#"):
        # Resolving another server's Patient would need a call out, and its NIK could differ.
        reading.refuse(
            "not-supported",
            f"{PATIENT}.reference",
            "Rujukan pasien hanya boleh '#id' ke Patient di contained; atau kirim identifier NIK "
            "tanpa reference.",
        )
        return None
    contained = body.get("contained") or []
    index = next(
        (i for i, resource in enumerate(contained) if resource.get("id") == reference[1:]), None
    )
    if index is None:
        reading.refuse(
            "not-found", f"{PATIENT}.reference", "Tidak ada resource di contained dengan id ini."
        )
        return None
    resource, path = contained[index], f"{ROOT}.contained[{index}]"
    if resource.get("resourceType") != "Patient":
        reading.refuse("invalid", f"{PATIENT}.reference", "Rujukan pasien harus menunjuk Patient.")
        return None
    if resource.get("modifierExtension"):
        reading.refuse(
            "extension",
            f"{path}.modifierExtension",
            "modifierExtension tidak dikenal layanan ini: hapus elemen ini.",
        )
    identifiers = resource.get("identifier") or []
    position = next(
        (i for i, ident in enumerate(identifiers) if ident.get("system") == NIK_SYSTEM), None
    )
    if position is None:
        reading.refuse("required", f"{path}.identifier", NO_NIK)
        return None
    echo = _read_nik(identifiers[position], f"{path}.identifier[{position}]", reading)
    sent = echo["identifier"] if echo else None
    if sent and identifier is not None and _nik_of(identifier) != _nik_of(sent):
        # Two different people in one request: deciding for either could be wrong.
        reading.refuse(
            "business-rule",
            f"{PATIENT}.identifier",
            "patient.identifier berbeda dengan NIK pada Patient di contained.",
        )
    _read_identity(resource, path, reading)
    return echo


def _nik_of(identifier: dict[str, Any]) -> tuple[Any, Any]:
    """What makes two identifiers name the same person: their system and value."""
    return identifier.get("system"), identifier.get("value")


def _read_identity(resource: dict[str, Any], path: str, reading: Reading) -> None:
    """The name and birth date the registry is compared with (never revealed)."""
    names = resource.get("name") or []
    if names:
        name = names[0]
        if name.get("text") is not None:
            reading.take("patient_name", name["text"], f"{path}.name[0].text")
        else:
            parts = [*(name.get("given") or []), name.get("family")]
            words = [part for part in parts if isinstance(part, str)]
            if words:
                reading.take("patient_name", " ".join(words), f"{path}.name[0]")
    reading.take("birth_date", resource.get("birthDate"), f"{path}.birthDate")
