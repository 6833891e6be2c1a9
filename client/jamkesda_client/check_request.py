"""What a check asks: the NIK and the optional fields of ``POST /v1/checks``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Union

DateLike = Union[date, str]


def json_date(value: DateLike | None) -> str | None:
    """A date as the API writes it (``YYYY-MM-DD``); a string is sent as given."""
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class CheckRequest:
    """One check: the NIK as typed from the KTP and the visit's optional fields.

    ``service_date`` defaults to today in WITA on the service; ``service_type`` to
    ``outpatient``. A field left None is not sent.
    """

    nik: str
    service_date: DateLike | None = None
    service_type: str | None = None
    operator_id: str | None = None
    patient_name: str | None = None
    birth_date: DateLike | None = None
    external_ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The request body, without the fields left None."""
        body: dict[str, Any] = {
            "nik": self.nik,
            "service_date": json_date(self.service_date),
            "service_type": self.service_type,
            "operator_id": self.operator_id,
            "patient_name": self.patient_name,
            "birth_date": json_date(self.birth_date),
            "external_ref": self.external_ref,
        }
        return {name: value for name, value in body.items() if value is not None}


def item_json(item: CheckRequest | Mapping[str, Any]) -> dict[str, Any]:
    """A batch item as JSON: a ``CheckRequest``, or a dict of the same fields."""
    if isinstance(item, CheckRequest):
        return item.to_json()
    # A dict is sent as given, its dates written as the API reads them, so that a field
    # this library does not know yet still reaches the service (which judges it).
    return {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in item.items()
        if value is not None
    }
