"""Check records for the audit tests: made through the API, or inserted at a chosen moment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import Client
from service import clock
from service.clients import resolve_key
from service.nik import mask, nik_hash
from service.records import CheckEntry, append_record
from tests.conftest import TEST_NIK_HASH_KEY, bearer
from tests.factories import add_membership, add_person, add_snapshot

RESIDENT = "6402014101900001"
MOVED_OUT = "6402014101900002"
UNKNOWN = "6402014101900003"


def client_of(session: Session, key: str) -> Client:
    """The client holding ``key``."""
    client = resolve_key(session, key)
    assert client is not None
    return client


def add_record(
    session: Session,
    client: Client,
    *,
    nik: str | None = RESIDENT,
    decision: str = "ELIGIBLE",
    reasons: list[str] | None = None,
    decided_at: datetime | None = None,
    **fields: Any,
) -> CheckEntry:
    """A record written as the check use-case writes one, decided at ``decided_at`` (UTC)."""
    values: dict[str, Any] = {
        "decided_at": (decided_at or clock.now()).astimezone(UTC),
        "nik_hash": nik_hash(TEST_NIK_HASH_KEY.encode(), nik) if nik else None,
        "nik_masked": mask(nik) if nik else None,
        "facility_code": client.facility_code,
        "client_id": client.id,
        "operator_id": None,
        "channel": "api",
        "service_date": clock.today(clock.now().tzinfo or UTC),
        "service_type": "outpatient",
        "external_ref": None,
        "name_match": "NOT_PROVIDED",
        "birth_date_match": "NOT_PROVIDED",
        "decision": decision,
        "reasons": reasons or [],
        "coverage": None,
        "errors": None,
        "policy_version": "kukar-2025.1",
        "population_snapshot_id": None,
        "jamkesda_snapshot_id": None,
        "jkn_snapshot_id": None,
        "latency_ms": 1.5,
        **fields,
    }
    record = append_record(session, CheckEntry(**values))
    session.commit()
    return record


def add_people(session: Session) -> None:
    """A resident member, a resident who moved out; UNKNOWN is in no registry."""
    population = add_snapshot(session, "population")
    jamkesda = add_snapshot(session, "jamkesda")
    add_person(session, population, RESIDENT)
    add_membership(session, jamkesda, RESIDENT)
    add_person(session, population, MOVED_OUT, status="PINDAH")
    add_membership(session, jamkesda, MOVED_OUT)
    session.commit()


def post_check(http: FlaskClient, key: str, **body: Any) -> Any:
    """``POST /v1/checks`` and its JSON answer (a 201 or a 422 problem)."""
    response = http.post("/v1/checks", json=body, headers=bearer(key))
    assert response.status_code in (201, 422), response.get_json()
    return response.get_json()
