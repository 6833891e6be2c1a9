"""Check records for the console's overview pages: two facilities, two WITA days.

Today's checks are made through the real API (``POST /v1/checks`` with desk keys). A
check cannot be made through the API on another day, so yesterday's one record is
written as the check use-case writes one, with its ``decided_at`` a day back
(``tests.audit_records.add_record``).
"""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from service import clock
from service.clients import create_client
from tests.audit_records import add_record, client_of, post_check
from tests.conftest import RESIDENT
from tests.factories import add_facility

# A facility and a client named to break out of HTML, of a script, and of an attribute.
HOSTILE = "<script>window.__x=1</script>\"'"
HOSTILE_FACILITY = "6402999"
DECEASED = "6402010101800002"
MOVED_OUT = "6402010101800003"
LIVES_ELSEWHERE = "6402010101800004"
# Every plain NIK the records were made with: no page may show one.
NIKS = (RESIDENT, DECEASED, MOVED_OUT, LIVES_ELSEWHERE)


def hostile_desk(session: Session) -> str:
    """A desk key of a client named ``HOSTILE`` at a facility named ``HOSTILE``."""
    add_facility(session, HOSTILE_FACILITY, HOSTILE)
    _client, key = create_client(session, HOSTILE, "desk", HOSTILE_FACILITY)
    session.commit()
    return key


def make_records(
    http: FlaskClient, session: Session, keys: dict[str, str], hostile_key: str
) -> None:
    """The records the overview tests count (``registry`` holds the people).

    Puskesmas Loa Janan: today one ELIGIBLE, one NOT_ELIGIBLE and one INVALID_REQUEST,
    yesterday one NOT_ELIGIBLE. The hostile facility: today one NOT_ELIGIBLE.
    """
    made = [
        post_check(http, keys["desk"], nik=RESIDENT),
        post_check(http, keys["desk"], nik=MOVED_OUT),
        post_check(http, keys["desk"], nik="6402 0141 01"),
        post_check(http, hostile_key, nik=DECEASED),
    ]
    decisions = [answer.get("decision", answer.get("code")) for answer in made]
    assert decisions == ["ELIGIBLE", "NOT_ELIGIBLE", "INVALID_NIK", "NOT_ELIGIBLE"]
    add_record(
        session,
        client_of(session, keys["desk"]),
        nik=LIVES_ELSEWHERE,
        decision="NOT_ELIGIBLE",
        reasons=["NOT_RESIDENT"],
        decided_at=clock.now() - timedelta(days=1),
    )
