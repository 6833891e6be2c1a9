"""Facts as of a snapshot or a moment, read back from the snapshot history."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from service import clock
from service.facts import load_facts, snapshots_by_id, snapshots_in_force
from tests.factories import TODAY, add_person, add_snapshot

NIK = "6402014101900001"


def test_the_newest_snapshot_that_came_into_force_is_in_force(session: Session) -> None:
    first = add_snapshot(session, "population", TODAY - timedelta(days=10))
    second = add_snapshot(session, "population", TODAY - timedelta(days=2))
    add_snapshot(session, "population", TODAY - timedelta(days=5), came_into_force=False)
    assert snapshots_in_force(session).population == second
    assert snapshots_in_force(session).jamkesda is None
    assert first.id < second.id


def test_snapshots_in_force_at_a_past_moment_ignore_later_imports(session: Session) -> None:
    first = add_snapshot(session, "population", TODAY - timedelta(days=10))
    between = clock.now()
    later = add_snapshot(session, "population", TODAY)
    later.imported_at = between + timedelta(seconds=1)
    session.flush()
    assert snapshots_in_force(session, at=between).population == first
    assert snapshots_in_force(session).population == later
    assert snapshots_in_force(session, at=between - timedelta(days=1)).population is None


def test_facts_of_an_older_snapshot_are_its_own_rows(session: Session) -> None:
    old = add_snapshot(session, "population", TODAY - timedelta(days=10))
    row = add_person(session, old, NIK, village_code="6402012001")
    new = add_snapshot(session, "population", TODAY)
    session.flush()
    row.valid_to = new.id
    add_person(session, new, NIK, status="PINDAH", village_code="6472010001")
    session.flush()
    then = load_facts(session, NIK, snapshots_by_id(session, [old.id]))
    now = load_facts(session, NIK, snapshots_in_force(session))
    assert then.person is not None
    assert then.person.status == "HIDUP"
    assert now.person is not None
    assert now.person.status == "PINDAH"
    assert not then.jamkesda_known
