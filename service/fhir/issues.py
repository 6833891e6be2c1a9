"""Why a FHIR request is refused with 400, and what a request read so far holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ROOT = "CoverageEligibilityRequest"


@dataclass(frozen=True)
class Issue:
    """One fault: a FHIR IssueType ``code``, the element's FHIRPath and what to fix."""

    code: str
    expression: str
    diagnostics: str


class InvalidFhirRequest(Exception):
    """The body is not an acceptable ``CoverageEligibilityRequest`` (SPEC §9.3: 400)."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        super().__init__("invalid FHIR request")
        self.issues = tuple(issues)


@dataclass
class Reading:
    """The ``/v1`` fields taken so far and the faults found, while one request is read."""

    fields: dict[str, str] = field(default_factory=dict)
    expressions: dict[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    def take(self, name: str, value: Any, expression: str) -> None:
        """Keep a field as the caller wrote it; the ``/v1`` schema judges its value."""
        if isinstance(value, str):
            self.fields[name] = value
            self.expressions[name] = expression

    def refuse(self, code: str, expression: str, diagnostics: str) -> None:
        """Note a fault that makes the request a 400."""
        self.issues.append(Issue(code, expression, diagnostics))
