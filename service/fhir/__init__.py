"""FHIR R4 door (SPEC §9.3): pure mappings between FHIR resources and the ``/v1`` check.

``request`` reads a ``CoverageEligibilityRequest`` into the fields of a ``/v1`` check,
``response`` renders a check as a ``CoverageEligibilityResponse``, ``outcome`` renders an
error as an ``OperationOutcome``, and ``capability`` describes the door. Nothing here
touches Flask or the database: the views call these functions around the check use-case.
"""
