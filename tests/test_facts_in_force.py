"""All the facts of a check in one statement: the same answer as snapshot by snapshot."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from service.facts import (
    SnapshotRef,
    facts_in_force,
    load_facts,
    snapshots_by_id,
    snapshots_in_force,
)
from tests.factories import TODAY, add_jkn, add_membership, add_person, add_snapshot

NIK = "6402014101900001"


def test_nothing_imported_yet_is_known_to_be_unknown(session: Session) -> None:
    facts, snapshots = facts_in_force(session, NIK)
    assert snapshots.ids == {"population": None, "jamkesda": None, "jkn": None}
    assert not facts.population_known
    assert not facts.jamkesda_known
    assert not facts.jkn_known
    assert facts.person is None
    assert facts.membership is None
    assert not facts.jkn_active


def test_the_three_sources_are_read_with_their_snapshots(session: Session) -> None:
    population = add_snapshot(session, "population", TODAY - timedelta(days=3))
    jamkesda = add_snapshot(session, "jamkesda", TODAY - timedelta(days=2))
    jkn = add_snapshot(session, "jkn", TODAY - timedelta(days=1))
    add_person(session, population, NIK, name="Siti Aminah", domiciled_since=date(2001, 2, 3))
    add_membership(session, jamkesda, NIK, kelas="II", end_date=TODAY)
    add_jkn(session, jkn, NIK, status="TIDAK AKTIF")
    session.flush()
    facts, snapshots = facts_in_force(session, NIK)
    assert snapshots.population == SnapshotRef(population.id, population.as_of)
    assert snapshots.jamkesda == SnapshotRef(jamkesda.id, jamkesda.as_of)
    assert snapshots.jkn == SnapshotRef(jkn.id, jkn.as_of)
    assert facts == load_facts(session, NIK, snapshots_in_force(session))
    assert facts.person is not None
    assert facts.person.name == "Siti Aminah"
    assert facts.person.domiciled_since == date(2001, 2, 3)
    assert facts.membership is not None
    assert facts.membership.kelas == "II"
    assert facts.membership.end == TODAY
    assert facts.jkn_known
    assert not facts.jkn_active


def test_an_active_jkn_row_is_active(session: Session) -> None:
    add_jkn(session, add_snapshot(session, "jkn"), NIK)
    session.flush()
    facts, _snapshots = facts_in_force(session, NIK)
    assert facts.jkn_active
    assert not facts.population_known


def test_an_import_dated_before_the_one_in_force_is_not_read(session: Session) -> None:
    in_force = add_snapshot(session, "population", TODAY)
    add_person(session, in_force, NIK, status="HIDUP")
    older = add_snapshot(session, "population", TODAY - timedelta(days=9), came_into_force=False)
    add_person(session, older, NIK, status="MATI")
    session.flush()
    facts, snapshots = facts_in_force(session, NIK)
    assert snapshots.population == SnapshotRef(in_force.id, in_force.as_of)
    assert facts.person is not None
    assert facts.person.status == "HIDUP"


def test_a_row_changed_by_the_newer_snapshot_is_read_in_its_new_version(
    session: Session,
) -> None:
    old = add_snapshot(session, "population", TODAY - timedelta(days=10))
    row = add_person(session, old, NIK, status="HIDUP")
    new = add_snapshot(session, "population", TODAY)
    session.flush()
    row.valid_to = new.id
    add_person(session, new, NIK, status="PINDAH")
    session.flush()
    now, snapshots = facts_in_force(session, NIK)
    then = load_facts(session, NIK, snapshots_by_id(session, [old.id]))
    assert snapshots.population == SnapshotRef(new.id, new.as_of)
    assert now.person is not None
    assert now.person.status == "PINDAH"
    assert then.person is not None
    assert then.person.status == "HIDUP"


def test_a_person_removed_by_the_newer_snapshot_is_not_found(session: Session) -> None:
    old = add_snapshot(session, "population", TODAY - timedelta(days=10))
    row = add_person(session, old, NIK)
    new = add_snapshot(session, "population", TODAY)
    session.flush()
    row.valid_to = new.id
    session.flush()
    facts, _snapshots = facts_in_force(session, NIK)
    assert facts.population_known
    assert facts.person is None


def test_another_nik_is_not_read(session: Session) -> None:
    population = add_snapshot(session, "population")
    add_person(session, population, "6402014101900002")
    session.flush()
    facts, _snapshots = facts_in_force(session, NIK)
    assert facts.population_known
    assert facts.person is None
