"""``GET /fhir/R4/metadata``: what the FHIR door offers, as an R4 ``CapabilityStatement``."""

from __future__ import annotations

from typing import Any

from service.fhir.codes import FHIR_JSON, REGENCY_INSURER, SUBMIT_OPERATION

# The statement changes only with the door it describes: change this date with it.
PUBLISHED = "2026-12-06"

SECURITY = (
    "Setiap permintaan membawa kunci API klien berperan integration: "
    "'Authorization: Bearer <kunci>'. Kunci dibuat oleh operator Dinas Kesehatan "
    "(jamkesda clients create) dan terikat pada satu fasilitas. Tanpa kunci yang sah: 401; "
    "peran lain: 403."
)


def capability_statement() -> dict[str, Any]:
    """The operation ``$submit``, the read of its answers, and how to authenticate."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": PUBLISHED,
        "publisher": REGENCY_INSURER,
        "name": "JamkesdaKukarEligibility",
        "title": "Pemeriksaan kepesertaan Jamkesda Kabupaten Kutai Kartanegara",
        "kind": "instance",
        "implementation": {
            "description": (
                "Layanan pemeriksaan kepesertaan Jamkesda dengan NIK (KTP) untuk puskesmas "
                "dan rumah sakit Kabupaten Kutai Kartanegara."
            )
        },
        "fhirVersion": "4.0.1",
        "format": ["json", FHIR_JSON],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    # FHIR's restful-security-service codes (OAuth, SMART-on-FHIR, Basic, …)
                    # have none for a plain bearer API key, so the service is named in text.
                    "service": [{"text": "API key (HTTP Bearer)"}],
                    "description": SECURITY,
                },
                "resource": [
                    {
                        "type": "CoverageEligibilityRequest",
                        "operation": [{"name": "submit", "definition": SUBMIT_OPERATION}],
                    },
                    {
                        "type": "CoverageEligibilityResponse",
                        "interaction": [{"code": "read"}],
                    },
                ],
            }
        ],
    }
