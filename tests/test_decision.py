"""The eligibility decision of SPEC §4: every reason, their order, and unknown facts."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date, timedelta

import pytest

from service.decision import Decision, Facts, Membership, Outcome, Person, Reason, decide
from service.policy import Policy, load_policy

SERVICE_DATE = date(2026, 3, 3)
POLICY = Policy(
    version="test-1",
    regency_codes=("64.02",),
    min_residency_days=90,
    newborn_exempt=True,
    require_jamkesda_membership=True,
    default_class="III",
    timezone="Asia/Makassar",
)
RESIDENT = Person(
    name="Siti Nur'aini",
    birth_date=date(1990, 8, 15),
    village_code="6402012001",
    domiciled_since=date(2010, 1, 1),
    status="HIDUP",
)
MEMBER = Membership(status="AKTIF", start=date(2025, 1, 1), end=date(2026, 12, 31), kelas="II")
NOT_RESIDENT = (Reason.NOT_RESIDENT,)
TOO_SHORT = (Reason.RESIDENCY_TOO_SHORT,)
NOT_ENROLLED = (Reason.JAMKESDA_NOT_ENROLLED,)
INACTIVE = (Reason.JAMKESDA_INACTIVE,)


def facts(
    *,
    population_known: bool = True,
    person: Person | None = RESIDENT,
    jamkesda_known: bool = True,
    membership: Membership | None = MEMBER,
    jkn_known: bool = True,
    jkn_active: bool = False,
) -> Facts:
    """What the sources say: by default a long-standing Kukar resident with active Jamkesda."""
    return Facts(
        population_known=population_known,
        person=person,
        jamkesda_known=jamkesda_known,
        membership=membership,
        jkn_known=jkn_known,
        jkn_active=jkn_active,
    )


def denied(*reasons: Reason) -> Decision:
    return Decision(Outcome.NOT_ELIGIBLE, reasons)


UNDETERMINED = Decision(Outcome.UNDETERMINED, (Reason.DATA_UNAVAILABLE,))
COVERED_BY_JKN = Decision(Outcome.COVERED_BY_JKN, (Reason.JKN_ACTIVE,))


def eligible(kelas: str = "II", valid_until: str | None = "2026-12-31") -> Decision:
    return Decision(
        Outcome.ELIGIBLE,
        (),
        {"scheme": "JAMKESDA", "class": kelas, "valid_until": valid_until},
    )


def test_long_standing_resident_with_active_jamkesda_is_eligible() -> None:
    decision = decide(facts(), POLICY, SERVICE_DATE)
    assert decision == eligible()
    assert decision.eligible is True


def test_bundled_policy_decides_like_the_same_values_built_by_hand() -> None:
    bundled = load_policy()
    assert decide(facts(), bundled, SERVICE_DATE) == eligible()
    assert decide(facts(membership=None), bundled, SERVICE_DATE) == denied(
        Reason.JAMKESDA_NOT_ENROLLED
    )


# Step 1: deceased.


def test_deceased_person_is_not_eligible() -> None:
    decision = decide(facts(person=replace(RESIDENT, status="MATI")), POLICY, SERVICE_DATE)
    assert decision == denied(Reason.DECEASED)
    assert decision.eligible is False
    assert decision.coverage is None


def test_deceased_beats_active_jkn() -> None:
    decision = decide(
        facts(person=replace(RESIDENT, status="MATI"), jkn_active=True), POLICY, SERVICE_DATE
    )
    assert decision == denied(Reason.DECEASED)


def test_deceased_is_the_only_reason_even_when_other_conditions_fail() -> None:
    dead_elsewhere = replace(RESIDENT, status="MATI", village_code="6472012001")
    decision = decide(facts(person=dead_elsewhere, membership=None), POLICY, SERVICE_DATE)
    assert decision == denied(Reason.DECEASED)


def test_deceased_is_known_without_a_jamkesda_list() -> None:
    decision = decide(
        facts(person=replace(RESIDENT, status="MATI"), jamkesda_known=False, membership=None),
        POLICY,
        SERVICE_DATE,
    )
    assert decision == denied(Reason.DECEASED)


# Step 2: JKN.


def test_active_jkn_is_covered_by_jkn() -> None:
    decision = decide(facts(jkn_active=True), POLICY, SERVICE_DATE)
    assert decision == COVERED_BY_JKN
    assert decision.eligible is True
    assert decision.coverage is None


def test_active_jkn_beats_nik_not_found() -> None:
    assert decide(facts(person=None, jkn_active=True), POLICY, SERVICE_DATE) == COVERED_BY_JKN


@pytest.mark.parametrize(
    "someone",
    [
        replace(RESIDENT, status="PINDAH"),
        replace(RESIDENT, village_code="6472012001"),
        replace(RESIDENT, domiciled_since=SERVICE_DATE),
    ],
)
def test_active_jkn_beats_residency_failures(someone: Person) -> None:
    assert decide(facts(person=someone, jkn_active=True), POLICY, SERVICE_DATE) == COVERED_BY_JKN


@pytest.mark.parametrize("membership", [None, replace(MEMBER, status="NONAKTIF")])
def test_active_jkn_beats_membership_failures(membership: Membership | None) -> None:
    decision = decide(facts(membership=membership, jkn_active=True), POLICY, SERVICE_DATE)
    assert decision == COVERED_BY_JKN


def test_active_jkn_is_enough_without_a_jamkesda_list() -> None:
    decision = decide(
        facts(jamkesda_known=False, membership=None, jkn_active=True), POLICY, SERVICE_DATE
    )
    assert decision == COVERED_BY_JKN


def test_inactive_jkn_falls_through_to_the_jamkesda_rules() -> None:
    assert decide(facts(jkn_active=False), POLICY, SERVICE_DATE) == eligible()
    assert decide(facts(person=None), POLICY, SERVICE_DATE) == denied(Reason.NIK_NOT_FOUND)


@pytest.mark.parametrize(
    ("someone", "expected"),
    [
        (RESIDENT, eligible()),
        (None, denied(Reason.NIK_NOT_FOUND)),
        (replace(RESIDENT, status="PINDAH"), denied(Reason.NOT_RESIDENT)),
    ],
)
def test_without_a_jkn_list_step_two_is_skipped(someone: Person | None, expected: Decision) -> None:
    decision = decide(facts(person=someone, jkn_known=False, jkn_active=True), POLICY, SERVICE_DATE)
    assert decision == expected


# Step 3: not found.


def test_nik_missing_from_the_population_snapshot_is_not_found() -> None:
    decision = decide(facts(person=None, membership=None), POLICY, SERVICE_DATE)
    assert decision == denied(Reason.NIK_NOT_FOUND)
    assert decision.coverage is None


def test_nik_not_found_is_known_without_a_jamkesda_list() -> None:
    decision = decide(
        facts(person=None, jamkesda_known=False, membership=None), POLICY, SERVICE_DATE
    )
    assert decision == denied(Reason.NIK_NOT_FOUND)


def test_nik_not_found_even_with_a_jamkesda_membership() -> None:
    assert decide(facts(person=None), POLICY, SERVICE_DATE) == denied(Reason.NIK_NOT_FOUND)


# Step 4: residency.


def test_moved_out_resident_is_not_resident() -> None:
    decision = decide(facts(person=replace(RESIDENT, status="PINDAH")), POLICY, SERVICE_DATE)
    assert decision == denied(Reason.NOT_RESIDENT)


@pytest.mark.parametrize("village_code", ["6472012001", "64.72.01.2001", "6501012001", ""])
def test_domicile_outside_the_regency_is_not_resident(village_code: str) -> None:
    decision = decide(
        facts(person=replace(RESIDENT, village_code=village_code)), POLICY, SERVICE_DATE
    )
    assert decision == denied(Reason.NOT_RESIDENT)


@pytest.mark.parametrize("village_code", ["6402012001", "64.02.01.2001", "6402202005"])
def test_domicile_inside_the_regency_is_resident(village_code: str) -> None:
    decision = decide(
        facts(person=replace(RESIDENT, village_code=village_code)), POLICY, SERVICE_DATE
    )
    assert decision == eligible()


def test_residency_comes_from_the_domicile_never_the_nik() -> None:
    """Nothing the decision reads carries a NIK, so a Kukar NIK cannot make a resident."""
    assert not any("nik" in field.name.lower() for field in fields(Facts))
    assert not any("nik" in field.name.lower() for field in fields(Person))
    # Someone whose NIK was issued in Kukar (6402…) but who now lives in Samarinda.
    moved = replace(RESIDENT, village_code="6472012001")
    assert decide(facts(person=moved), POLICY, SERVICE_DATE) == denied(Reason.NOT_RESIDENT)


@pytest.mark.parametrize(
    ("days_before", "expected"),
    [
        (3650, eligible()),
        (91, eligible()),
        (90, eligible()),
        (89, denied(Reason.RESIDENCY_TOO_SHORT)),
        (1, denied(Reason.RESIDENCY_TOO_SHORT)),
        (0, denied(Reason.RESIDENCY_TOO_SHORT)),
        (-1, denied(Reason.RESIDENCY_TOO_SHORT)),  # moved in after the service date
    ],
)
def test_residency_needs_min_residency_days_before_the_service_date(
    days_before: int, expected: Decision
) -> None:
    since = SERVICE_DATE - timedelta(days=days_before)
    decision = decide(facts(person=replace(RESIDENT, domiciled_since=since)), POLICY, SERVICE_DATE)
    assert decision == expected


def test_min_residency_days_comes_from_the_policy() -> None:
    since = replace(RESIDENT, domiciled_since=SERVICE_DATE - timedelta(days=100))
    assert (
        decide(facts(person=since), replace(POLICY, min_residency_days=100), SERVICE_DATE)
        == eligible()
    )
    assert decide(
        facts(person=since), replace(POLICY, min_residency_days=101), SERVICE_DATE
    ) == denied(Reason.RESIDENCY_TOO_SHORT)


def test_zero_min_residency_days_accepts_someone_who_arrived_today() -> None:
    arrived = replace(RESIDENT, domiciled_since=SERVICE_DATE)
    assert (
        decide(facts(person=arrived), replace(POLICY, min_residency_days=0), SERVICE_DATE)
        == eligible()
    )


def test_resident_without_a_domicile_date_cannot_show_the_minimum_stay() -> None:
    decision = decide(facts(person=replace(RESIDENT, domiciled_since=None)), POLICY, SERVICE_DATE)
    assert decision == denied(Reason.RESIDENCY_TOO_SHORT)


def test_residency_too_short_is_not_added_to_not_resident() -> None:
    for someone in (
        replace(RESIDENT, status="PINDAH", domiciled_since=SERVICE_DATE),
        replace(RESIDENT, village_code="6472012001", domiciled_since=SERVICE_DATE),
        replace(RESIDENT, village_code="6472012001", domiciled_since=None),
    ):
        decision = decide(facts(person=someone), POLICY, SERVICE_DATE)
        assert decision == denied(Reason.NOT_RESIDENT)


def newborn(days_old: int, domiciled_days_after_birth: int = 0) -> Person:
    born = SERVICE_DATE - timedelta(days=days_old)
    return replace(
        RESIDENT, birth_date=born, domiciled_since=born + timedelta(days=domiciled_days_after_birth)
    )


@pytest.mark.parametrize("days_old", [0, 10, 89])
def test_person_domiciled_since_birth_is_exempt_when_newborn_exempt(days_old: int) -> None:
    decision = decide(facts(person=newborn(days_old)), POLICY, SERVICE_DATE)
    assert decision == eligible()


@pytest.mark.parametrize("days_old", [0, 10, 89])
def test_person_domiciled_since_birth_is_too_short_without_the_exemption(days_old: int) -> None:
    decision = decide(
        facts(person=newborn(days_old)), replace(POLICY, newborn_exempt=False), SERVICE_DATE
    )
    assert decision == denied(Reason.RESIDENCY_TOO_SHORT)


def test_baby_domiciled_a_day_after_birth_is_not_exempt() -> None:
    decision = decide(facts(person=newborn(10, 1)), POLICY, SERVICE_DATE)
    assert decision == denied(Reason.RESIDENCY_TOO_SHORT)


def test_newborn_exemption_does_not_make_a_non_resident_resident() -> None:
    baby = replace(newborn(10), village_code="6472012001")
    assert decide(facts(person=baby), POLICY, SERVICE_DATE) == denied(Reason.NOT_RESIDENT)


# Step 4: membership.


def test_resident_without_a_membership_record_is_not_enrolled() -> None:
    decision = decide(facts(membership=None), POLICY, SERVICE_DATE)
    assert decision == denied(Reason.JAMKESDA_NOT_ENROLLED)


def test_nonaktif_membership_is_inactive() -> None:
    decision = decide(facts(membership=replace(MEMBER, status="NONAKTIF")), POLICY, SERVICE_DATE)
    assert decision == denied(Reason.JAMKESDA_INACTIVE)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (SERVICE_DATE, date(2026, 12, 31), eligible()),
        (date(2025, 1, 1), SERVICE_DATE, eligible(valid_until=SERVICE_DATE.isoformat())),
        (SERVICE_DATE, SERVICE_DATE, eligible(valid_until=SERVICE_DATE.isoformat())),
        (SERVICE_DATE + timedelta(days=1), date(2026, 12, 31), denied(Reason.JAMKESDA_INACTIVE)),
        (date(2025, 1, 1), SERVICE_DATE - timedelta(days=1), denied(Reason.JAMKESDA_INACTIVE)),
    ],
)
def test_membership_period_includes_its_first_and_last_day(
    start: date, end: date, expected: Decision
) -> None:
    decision = decide(facts(membership=replace(MEMBER, start=start, end=end)), POLICY, SERVICE_DATE)
    assert decision == expected


def test_open_ended_membership_has_no_valid_until() -> None:
    open_ended = replace(MEMBER, end=None)
    for service_date in (SERVICE_DATE, date(2099, 12, 31)):
        decision = decide(facts(membership=open_ended), POLICY, service_date)
        assert decision == eligible(valid_until=None)


def test_open_ended_membership_has_not_started_before_its_start() -> None:
    decision = decide(facts(membership=replace(MEMBER, end=None)), POLICY, date(2024, 12, 31))
    assert decision == denied(Reason.JAMKESDA_INACTIVE)


@pytest.mark.parametrize("kelas", [None, ""])
def test_membership_without_a_class_gets_the_default_class(kelas: str | None) -> None:
    decision = decide(facts(membership=replace(MEMBER, kelas=kelas)), POLICY, SERVICE_DATE)
    assert decision == eligible(kelas="III")
    decision = decide(
        facts(membership=replace(MEMBER, kelas=kelas)),
        replace(POLICY, default_class="I"),
        SERVICE_DATE,
    )
    assert decision == eligible(kelas="I")


def test_membership_class_overrides_the_default() -> None:
    decision = decide(facts(membership=replace(MEMBER, kelas="I")), POLICY, SERVICE_DATE)
    assert decision == eligible(kelas="I")


# Step 4: every failing condition, in order.


def test_not_resident_and_not_enrolled_are_listed_together_in_that_order() -> None:
    decision = decide(
        facts(person=replace(RESIDENT, status="PINDAH"), membership=None), POLICY, SERVICE_DATE
    )
    assert decision == denied(Reason.NOT_RESIDENT, Reason.JAMKESDA_NOT_ENROLLED)


def test_too_short_and_inactive_are_listed_together_in_that_order() -> None:
    decision = decide(
        facts(
            person=replace(RESIDENT, domiciled_since=SERVICE_DATE),
            membership=replace(MEMBER, status="NONAKTIF"),
        ),
        POLICY,
        SERVICE_DATE,
    )
    assert decision == denied(Reason.RESIDENCY_TOO_SHORT, Reason.JAMKESDA_INACTIVE)


def test_outside_domicile_and_expired_membership_are_listed_together() -> None:
    decision = decide(
        facts(
            person=replace(RESIDENT, village_code="6472012001"),
            membership=replace(MEMBER, end=SERVICE_DATE - timedelta(days=1)),
        ),
        POLICY,
        SERVICE_DATE,
    )
    assert decision == denied(Reason.NOT_RESIDENT, Reason.JAMKESDA_INACTIVE)


# Membership not required.


@pytest.mark.parametrize(
    ("jamkesda_known", "membership", "expected"),
    [
        (True, None, eligible(kelas="III", valid_until=None)),
        (False, None, eligible(kelas="III", valid_until=None)),
        (True, replace(MEMBER, status="NONAKTIF"), eligible()),
        (
            True,
            replace(MEMBER, end=SERVICE_DATE - timedelta(days=1)),
            eligible(valid_until="2026-03-02"),
        ),
    ],
)
def test_membership_is_ignored_when_not_required(
    jamkesda_known: bool, membership: Membership | None, expected: Decision
) -> None:
    decision = decide(
        facts(jamkesda_known=jamkesda_known, membership=membership),
        replace(POLICY, require_jamkesda_membership=False),
        SERVICE_DATE,
    )
    assert decision == expected


def test_residency_still_counts_when_membership_is_not_required() -> None:
    decision = decide(
        facts(person=replace(RESIDENT, status="PINDAH"), membership=None),
        replace(POLICY, require_jamkesda_membership=False),
        SERVICE_DATE,
    )
    assert decision == denied(Reason.NOT_RESIDENT)


# Step 5: unknown facts never become a denial.


@pytest.mark.parametrize(
    "someone",
    [RESIDENT, None, replace(RESIDENT, status="PINDAH"), replace(RESIDENT, status="MATI")],
)
def test_no_population_snapshot_is_undetermined(someone: Person | None) -> None:
    decision = decide(
        facts(population_known=False, person=someone, membership=None), POLICY, SERVICE_DATE
    )
    assert decision == UNDETERMINED
    assert decision.eligible is False
    assert decision.coverage is None


def test_no_population_and_no_jamkesda_list_is_undetermined() -> None:
    decision = decide(
        facts(population_known=False, person=None, jamkesda_known=False, membership=None),
        POLICY,
        SERVICE_DATE,
    )
    assert decision == UNDETERMINED


def test_required_membership_without_a_jamkesda_list_is_undetermined() -> None:
    decision = decide(facts(jamkesda_known=False, membership=None), POLICY, SERVICE_DATE)
    assert decision == UNDETERMINED


def test_newborn_without_a_jamkesda_list_is_undetermined() -> None:
    decision = decide(
        facts(person=newborn(5), jamkesda_known=False, membership=None), POLICY, SERVICE_DATE
    )
    assert decision == UNDETERMINED


@pytest.mark.parametrize(
    ("someone", "reasons"),
    [
        (replace(RESIDENT, status="PINDAH"), NOT_RESIDENT),
        (replace(RESIDENT, village_code="6472012001"), NOT_RESIDENT),
        (replace(RESIDENT, domiciled_since=SERVICE_DATE), TOO_SHORT),
    ],
)
def test_known_failure_denies_even_without_a_jamkesda_list(
    someone: Person, reasons: tuple[Reason, ...]
) -> None:
    """The missing list adds no membership reason: only what is known is cited."""
    decision = decide(
        facts(person=someone, jamkesda_known=False, membership=None), POLICY, SERVICE_DATE
    )
    assert decision == denied(*reasons)


def test_membership_facts_are_not_read_when_the_jamkesda_list_is_unknown() -> None:
    """A membership row without a known list is not evidence either way."""
    decision = decide(facts(jamkesda_known=False), POLICY, SERVICE_DATE)
    assert decision == UNDETERMINED


# The outcome's shape.


@pytest.mark.parametrize(
    ("outcome", "is_eligible"),
    [
        (Outcome.ELIGIBLE, True),
        (Outcome.COVERED_BY_JKN, True),
        (Outcome.NOT_ELIGIBLE, False),
        (Outcome.UNDETERMINED, False),
        (Outcome.INVALID_REQUEST, False),
    ],
)
def test_eligible_is_true_exactly_for_eligible_and_covered_by_jkn(
    outcome: Outcome, is_eligible: bool
) -> None:
    assert Decision(outcome, ()).eligible is is_eligible


def test_reason_codes_are_the_specs_in_evaluation_order() -> None:
    assert [reason.value for reason in Reason] == [
        "DECEASED",
        "JKN_ACTIVE",
        "NIK_NOT_FOUND",
        "NOT_RESIDENT",
        "RESIDENCY_TOO_SHORT",
        "JAMKESDA_NOT_ENROLLED",
        "JAMKESDA_INACTIVE",
        "DATA_UNAVAILABLE",
    ]


def test_outcome_codes_are_the_specs() -> None:
    assert [outcome.value for outcome in Outcome] == [
        "ELIGIBLE",
        "COVERED_BY_JKN",
        "NOT_ELIGIBLE",
        "UNDETERMINED",
        "INVALID_REQUEST",
    ]


def test_every_reason_code_is_reachable() -> None:
    reached = {
        reason
        for case in (
            facts(person=replace(RESIDENT, status="MATI")),
            facts(jkn_active=True),
            facts(person=None),
            facts(person=replace(RESIDENT, status="PINDAH"), membership=None),
            facts(
                person=replace(RESIDENT, domiciled_since=SERVICE_DATE),
                membership=replace(MEMBER, status="X"),
            ),
            facts(population_known=False),
        )
        for reason in decide(case, POLICY, SERVICE_DATE).reasons
    }
    assert reached == set(Reason)
