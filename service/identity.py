"""Compare optional identity fields with the registry without revealing it (pure)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum

from service.decision import Person


class Match(StrEnum):
    """The answer for one identity field."""

    MATCH = "MATCH"
    MISMATCH = "MISMATCH"
    NOT_PROVIDED = "NOT_PROVIDED"


_NOT_LETTERS = re.compile(r"[\W_]+")


def comparable_name(name: str) -> str:
    """A name with case, spacing and punctuation removed ("Siti  Nur'aini" == "SITI NURAINI")."""
    return _NOT_LETTERS.sub("", unicodedata.normalize("NFKC", name).casefold())


def match_name(given: str | None, person: Person | None) -> Match:
    """MATCH or MISMATCH for a given name; MISMATCH too when no registry row exists."""
    if given is None:
        return Match.NOT_PROVIDED
    if person is not None and comparable_name(given) == comparable_name(person.name):
        return Match.MATCH
    return Match.MISMATCH


def match_birth_date(given: date | None, person: Person | None) -> Match:
    """MATCH only when the date equals the registry's exactly."""
    if given is None:
        return Match.NOT_PROVIDED
    if person is not None and given == person.birth_date:
        return Match.MATCH
    return Match.MISMATCH
