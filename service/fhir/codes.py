"""The systems, URLs and display texts of the FHIR door, in one place (SPEC §9.3)."""

from __future__ import annotations

# The content type of FHIR answers; requests may also come as application/json.
FHIR_JSON = "application/fhir+json"

# The national NIK identifier system (SATUSEHAT), as the caller sends it.
NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"

# The service's own systems and definitions, under the regency's domain.
CHECK_ID_SYSTEM = "https://jamkesda.kukarkab.go.id/fhir/sid/check-id"
REASON_SYSTEM = "https://jamkesda.kukarkab.go.id/fhir/CodeSystem/reason"
PROBLEM_SYSTEM = "https://jamkesda.kukarkab.go.id/fhir/CodeSystem/problem"
SERVICE_TYPE_URL = "https://jamkesda.kukarkab.go.id/fhir/StructureDefinition/service-type"
DECISION_URL = "https://jamkesda.kukarkab.go.id/fhir/StructureDefinition/decision"
DECISION_REASON_URL = "https://jamkesda.kukarkab.go.id/fhir/StructureDefinition/decision-reason"
IDENTITY_MATCH_URL = "https://jamkesda.kukarkab.go.id/fhir/StructureDefinition/identity-match"
CHECK_ID_URL = "https://jamkesda.kukarkab.go.id/fhir/StructureDefinition/check-id"

# The standard operation a CoverageEligibilityRequest is submitted with.
SUBMIT_OPERATION = "http://hl7.org/fhir/OperationDefinition/CoverageEligibilityRequest-submit"

# Who pays, as the answer names the insurer and the coverage.
REGENCY_INSURER = "Pemerintah Kabupaten Kutai Kartanegara"
JKN_INSURER = "BPJS Kesehatan"
JAMKESDA_COVERAGE = "Jamkesda Kabupaten Kutai Kartanegara"
JKN_COVERAGE = "JKN"

# The stable code of a 400: the body is not an acceptable CoverageEligibilityRequest.
INVALID_FHIR_RESOURCE = "INVALID_FHIR_RESOURCE"
