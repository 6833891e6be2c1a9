"""The audit benchmark's data: millions of check records written straight into PostgreSQL.

Nothing goes through HTTP. A fresh database is migrated and gets the 37 synthetic facilities
(``jamkesda import facilities``), a desk client per facility, an integration client per
hospital and an auditor (through the models), and a population, Jamkesda and JKN snapshot
for every week of the period. The NIKs are those of the synthetic registry
(``service.synthetic``), each with the decision the real policy gives that person (a few
percent are treated as not in the registry); their keyed hashes use the key the server gets.
They are copied into a temporary table, and the records are made by a few set-based
``INSERT … SELECT`` statements over ``generate_series``, one per block of days.

The records are appended in time order: ids increase with ``decided_at``, most checks
fall in opening hours, weekends are quieter, volume grows over the period, hospitals are
busier than puskesmas, some people are checked far more often than others, about 3 % of
the records are refused requests (``INVALID_REQUEST``) and 0.5 % met a data outage
(``UNDETERMINED``). Every ``check_id`` is a valid reference (check character included),
derived from the id by a bijection, so references are unique and look random.

The secondary indexes are dropped during the load and built again afterwards from their
own definitions, and foreign keys are not checked row by row during the load (the values
are valid by construction); the result is the schema of the migrations with the data in
it, vacuumed and analysed as autovacuum would leave it, and checkpointed.
"""

from __future__ import annotations

import csv
import json
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.orm import Session

from bench.common import jamkesda
from models import Snapshot
from service import clock
from service.check_ids import ALPHABET, PAYLOAD_LENGTH
from service.clients import create_client
from service.db import make_engine
from service.decision import Decision, Facts, Membership, Person, decide
from service.nik import mask, nik_hash
from service.policy import Policy, load_policy
from service.synthetic import FACILITIES, WITA, FacilityEntry, write_dataset

# Distinct NIKs in the records: the size of the synthetic registry.
NIKS = int(os.environ.get("BENCH_AUDIT_NIKS", "807000"))
YEARS = 3
SEED = 2026
# Hospitals take about 30 % of the checks between them; the 32 puskesmas share the rest.
HOSPITAL_WEIGHTS = (12.0, 7.0, 5.0, 4.0, 2.0)
HOSPITAL_SHARE_OF_INTEGRATION = 0.6  # checks sent by the hospital's own system
FACILITY_SLOTS = 1000
# One person in twenty is a frequent patient; a fifth of the checks are theirs.
FREQUENT_EVERY = 20
FREQUENT_SHARE = 0.2
NOT_IN_REGISTRY_SHARE = 0.03
INVALID_SHARE = 0.03
OUTAGE_SHARE = 0.005
DAYS_PER_CHUNK = 90
# The id is spread over the 55 bits of a reference by an odd multiplier (a bijection modulo
# 2^55). The product stays within a BIGINT while ids stay below 2^24.
ID_MULTIPLIER = 181_019_573_049
MAX_RECORDS = 2**24
# Within a WITA day: 4 % of checks before 07:00, 90 % in opening hours, 6 % after 16:00.
DAY_SHAPE = ((0.0, 0), (0.04, 7 * 3600), (0.94, 16 * 3600), (1.0, 24 * 3600))
CLERKS = ("rina", "budi", "sari", "andi", "dewi", "agus", "nur", "joko")
INVALID_ERRORS = (
    {"nik": ["NIK harus terdiri dari 16 angka."]},
    {"nik": ["Tanggal lahir pada NIK tidak valid."]},
    {"service_date": ["Tanggal layanan tidak boleh di masa depan."]},
)


@dataclass(frozen=True)
class AuditData:
    """What was loaded: sizes, period, the auditor's key, and NIKs to search for."""

    records: int
    niks: list[str]  # by index; the records' NIKs are drawn from these
    first_day: date  # the first WITA day with records
    today: date
    facilities: tuple[FacilityEntry, ...]
    auditor_key: str
    seconds: dict[str, float]
    decisions: dict[str, int]  # NIKs by the decision they get


def _check_id_sql(x: str) -> str:
    """SQL text of the reference whose 55 payload bits are the BIGINT expression ``x``.

    The same characters and Luhn mod 32 check character as ``service.check_ids``.
    """
    values = [f"(({x} >> {5 * i}) & 31)" for i in range(PAYLOAD_LENGTH)]
    # The check character weighs the last payload character by 2, the one before by 1, ...
    terms = [
        f"((2 * {v}) / 32 + mod(2 * {v}, 32))" if (PAYLOAD_LENGTH - 1 - i) % 2 == 0 else v
        for i, v in enumerate(values)
    ]
    check = f"mod(32 - mod({' + '.join(terms)}, 32), 32)"
    chars = [f"substr('{ALPHABET}', ({v})::int + 1, 1)" for v in [*values, check]]
    groups = [" || ".join(chars[i : i + 4]) for i in range(0, len(chars), 4)]
    return " || '-' || ".join(f"({group})" for group in groups)


def _seconds_of_day(fraction: float) -> float:
    """Seconds after WITA midnight of the check at ``fraction`` of a day's checks."""
    for (f0, s0), (f1, s1) in pairwise(DAY_SHAPE):
        if fraction < f1:
            return s0 + (fraction - f0) / (f1 - f0) * (s1 - s0)
    return float(DAY_SHAPE[-1][1])


def _fraction_of_day(seconds: float) -> float:
    """The inverse of ``_seconds_of_day``: the share of a day's checks made by then."""
    for (f0, s0), (f1, s1) in pairwise(DAY_SHAPE):
        if seconds < s1:
            return f0 + (seconds - s0) / (s1 - s0) * (f1 - f0)
    return 1.0


def _day_sql() -> str:
    """SQL of the seconds after midnight for the fraction ``f`` of a day's checks."""
    pieces = [
        f"WHEN f < {f1} THEN {s0} + (f - {f0}) / {f1 - f0} * {s1 - s0}"
        for (f0, s0), (f1, s1) in pairwise(DAY_SHAPE)
    ]
    return f"CASE {' '.join(pieces)} ELSE {DAY_SHAPE[-1][1]} END"


@dataclass(frozen=True)
class _Day:
    day: date
    first_id: int
    count: int
    fraction_end: float  # the share of the day that has passed (1 except today)


def _day_plan(records: int, first_day: date, now: datetime) -> list[_Day]:
    """How many records each WITA day gets: quieter weekends, volume growing over time."""
    local_now = now.astimezone(WITA)
    today = local_now.date()
    midnight = datetime.combine(today, clock_time.min, tzinfo=WITA)
    today_fraction = _fraction_of_day((local_now - midnight).total_seconds())
    days = [first_day + timedelta(days=n) for n in range((today - first_day).days + 1)]
    weekday_weight = (1.0, 1.0, 1.0, 1.0, 0.9, 0.55, 0.25)
    weights = [
        weekday_weight[day.weekday()] * (0.85 + 0.3 * n / len(days)) for n, day in enumerate(days)
    ]
    weights[-1] *= today_fraction
    total = sum(weights)
    exact = [records * w / total for w in weights]
    counts = [int(value) for value in exact]
    # Largest remainders: the counts add up to exactly ``records``.
    by_remainder = sorted(range(len(days)), key=lambda n: exact[n] - counts[n], reverse=True)
    for n in by_remainder[: records - sum(counts)]:
        counts[n] += 1
    plan, next_id = [], 1
    for n, day in enumerate(days):
        plan.append(_Day(day, next_id, counts[n], today_fraction if day == today else 1.0))
        next_id += counts[n]
    return plan


def _facility_slots(rng: random.Random) -> list[int]:
    """FACILITY_SLOTS facility numbers (1-based), each as often as its share of checks."""
    hospitals = [n for n, f in enumerate(FACILITIES, start=1) if f.kind == "RUMAH_SAKIT"]
    puskesmas = [n for n, f in enumerate(FACILITIES, start=1) if f.kind != "RUMAH_SAKIT"]
    weights = dict(zip(hospitals, HOSPITAL_WEIGHTS, strict=True))
    spread = [rng.uniform(1.0, 3.5) for _ in puskesmas]
    rest = 100.0 - sum(HOSPITAL_WEIGHTS)
    weights.update({n: rest * w / sum(spread) for n, w in zip(puskesmas, spread, strict=True)})
    slots: list[int] = []
    for number, weight in sorted(weights.items()):
        slots += [number] * round(FACILITY_SLOTS * weight / 100)
    return (slots + [puskesmas[0]] * FACILITY_SLOTS)[:FACILITY_SLOTS]


def _registry_decisions(
    folder: Path, policy: Policy, today: date, rng: random.Random
) -> tuple[list[str], list[Decision]]:
    """The registry's NIKs and the decision the policy gives each today."""
    dataset = write_dataset(folder, NIKS, seed=SEED, today=today)
    jkn_active: set[str] = set()
    with dataset.files["jkn"].open(encoding="utf-8", newline="") as file:
        jkn_active = {row["NIK"] for row in csv.DictReader(file) if row["STATUS"] == "AKTIF"}
    memberships: dict[str, Membership] = {}
    with dataset.files["jamkesda"].open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            memberships[row["NIK"]] = Membership(
                status=row["STATUS"],
                start=date.fromisoformat(row["TGL_MULAI"]),
                end=date.fromisoformat(row["TGL_AKHIR"]) if row["TGL_AKHIR"] else None,
                kelas=row["KELAS"] or None,
            )
    niks, decisions = [], []
    with dataset.files["population"].open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            nik = row["NIK"]
            person = Person(
                name=row["NAMA_LGKP"],
                birth_date=date.fromisoformat(row["TGL_LHR"]),
                village_code=row["KODE_WILAYAH"],
                domiciled_since=(
                    date.fromisoformat(row["TGL_DOMISILI"]) if row["TGL_DOMISILI"] else None
                ),
                status=row["STATUS"],
            )
            # A few of the people checked are in no registry at all.
            known = rng.random() >= NOT_IN_REGISTRY_SHARE
            facts = Facts(
                population_known=True,
                person=person if known else None,
                jamkesda_known=True,
                membership=memberships.get(nik) if known else None,
                jkn_known=True,
                jkn_active=known and nik in jkn_active,
            )
            niks.append(nik)
            decisions.append(decide(facts, policy, today))
    return niks, decisions


def _copy_niks(
    connection: psycopg.Connection[Any], niks: list[str], decisions: list[Decision], key: bytes
) -> None:
    """Copy every NIK's hash, mask and decision into the temporary table ``bench_niks``."""
    connection.execute(
        "CREATE TEMPORARY TABLE bench_niks (idx integer NOT NULL, nik_hash text NOT NULL,"
        " nik_masked text NOT NULL, decision text NOT NULL, reasons text NOT NULL,"
        " coverage text)"
    )
    with connection.cursor() as cursor, cursor.copy("COPY bench_niks FROM STDIN") as copy:
        for index, (nik, decision) in enumerate(zip(niks, decisions, strict=True)):
            reasons = json.dumps([reason.value for reason in decision.reasons])
            coverage = json.dumps(decision.coverage) if decision.coverage else None
            copy.write_row(
                (index, nik_hash(key, nik), mask(nik), decision.outcome.value, reasons, coverage)
            )
    connection.execute("ALTER TABLE bench_niks ADD PRIMARY KEY (idx)")
    connection.execute("ANALYZE bench_niks")


def _snapshots(database_url: str, first_day: date, today: date) -> dict[str, list[int]]:
    """A population, Jamkesda and JKN snapshot for every week; their ids by source and week."""
    engine = make_engine(database_url)
    ids: dict[str, list[int]] = {}
    try:
        with Session(engine) as session, session.begin():
            for source in ("population", "jamkesda", "jkn"):
                rows = []
                as_of = first_day
                while as_of <= today:
                    imported = datetime.combine(as_of, clock_time.min, tzinfo=WITA)
                    rows.append(
                        Snapshot(
                            source=source,
                            as_of=as_of,
                            imported_at=imported.astimezone(UTC),
                            filename=f"{source}-{as_of.isoformat()}.csv",
                            sha256=f"{source}-{as_of.isoformat()}".ljust(64, "0"),
                            rows=807_000,
                            added=0,
                            changed=0,
                            removed=0,
                            unchanged=807_000,
                            came_into_force=True,
                        )
                    )
                    as_of += timedelta(days=7)
                session.add_all(rows)
                session.flush()
                ids[source] = [row.id for row in rows]
    finally:
        engine.dispose()
    return ids


def _clients(database_url: str) -> tuple[dict[str, int], dict[str, int], str]:
    """A desk client per facility, an integration client per hospital, and an auditor's key."""
    engine = make_engine(database_url)
    desks, integrations = {}, {}
    try:
        with Session(engine) as session, session.begin():
            for facility in FACILITIES:
                desk, _ = create_client(session, f"Desk {facility.name}", "desk", facility.code)
                desks[facility.code] = desk.id
                if facility.kind == "RUMAH_SAKIT":
                    integration, _ = create_client(
                        session, f"SIMRS {facility.name}", "integration", facility.code
                    )
                    integrations[facility.code] = integration.id
            _, auditor_key = create_client(session, "Inspektorat Kukar (bench)", "auditor", None)
    finally:
        engine.dispose()
    return desks, integrations, auditor_key


def _days_table(
    connection: psycopg.Connection[Any], plan: list[_Day], snapshots: dict[str, list[int]]
) -> None:
    """The temporary table ``bench_days``: each day's first id, count and snapshots."""
    connection.execute(
        "CREATE TEMPORARY TABLE bench_days (n integer PRIMARY KEY, day_start timestamptz,"
        " first_id bigint, count integer, fraction_end float8, population integer,"
        " jamkesda integer, jkn integer)"
    )
    with connection.cursor() as cursor, cursor.copy("COPY bench_days FROM STDIN") as copy:
        for n, day in enumerate(plan):
            week = n // 7
            start = datetime.combine(day.day, clock_time.min, tzinfo=WITA)
            copy.write_row(
                (n, start, day.first_id, day.count, day.fraction_end,
                 snapshots["population"][week], snapshots["jamkesda"][week],
                 snapshots["jkn"][week])
            )  # fmt: skip


_INSERT = """
INSERT INTO check_records (
    id, check_id, decided_at, nik_hash, nik_masked, facility_code, client_id, operator_id,
    channel, service_date, service_type, external_ref, name_match, birth_date_match,
    decision, reasons, coverage, errors, policy_version, population_snapshot_id,
    jamkesda_snapshot_id, jkn_snapshot_id, latency_ms)
SELECT
    r.id,
    {check_id},
    r.at,
    CASE WHEN NOT r.invalid THEN n.nik_hash
         WHEN r.u_nik < 0.25 THEN NULL
         ELSE encode(sha256(convert_to('invalid ' || r.id, 'UTF8')), 'hex') END,
    CASE WHEN NOT r.invalid THEN n.nik_masked
         WHEN r.u_nik < 0.25 THEN NULL
         ELSE left(n.nik_masked, 4) || repeat('*', 9) || right(n.nik_masked, 2) END,
    (%(codes)s::text[])[r.facility],
    CASE WHEN r.integration THEN (%(integrations)s::int[])[r.facility]
         ELSE (%(desks)s::int[])[r.facility] END,
    CASE WHEN r.integration THEN NULL
         ELSE (%(clerks)s::text[])[1 + floor(r.u_clerk * %(clerk_count)s)::int] END,
    'api',
    CASE WHEN r.invalid THEN NULL
         ELSE (r.at AT TIME ZONE 'Asia/Makassar')::date
              - CASE WHEN r.u_late < 0.03 THEN 1 + floor(r.u_late * 100)::int ELSE 0 END END,
    CASE WHEN r.u_type < 0.82 THEN 'outpatient' WHEN r.u_type < 0.95 THEN 'inpatient'
         ELSE 'emergency' END,
    CASE WHEN r.u_ref < 0.3 THEN NULL
         ELSE 'RM-' || lpad((r.id %% 1000000)::text, 6, '0') END,
    CASE WHEN r.invalid THEN 'NOT_PROVIDED' WHEN r.u_match < 0.4 THEN 'NOT_PROVIDED'
         WHEN r.u_match < 0.96 THEN 'MATCH' ELSE 'MISMATCH' END,
    CASE WHEN r.invalid THEN 'NOT_PROVIDED' WHEN r.u_match < 0.5 THEN 'NOT_PROVIDED'
         WHEN r.u_match < 0.98 THEN 'MATCH' ELSE 'MISMATCH' END,
    CASE WHEN r.invalid THEN 'INVALID_REQUEST' WHEN r.outage THEN 'UNDETERMINED'
         ELSE n.decision END,
    CASE WHEN r.invalid THEN '[]'::json WHEN r.outage THEN '["DATA_UNAVAILABLE"]'::json
         ELSE n.reasons::json END,
    CASE WHEN r.invalid OR r.outage THEN NULL ELSE n.coverage::json END,
    CASE WHEN r.invalid
         THEN (%(errors)s::text[])[1 + floor(r.u_ref * %(error_count)s)::int]::json END,
    %(policy_version)s,
    CASE WHEN r.invalid OR r.outage THEN NULL ELSE r.population END,
    CASE WHEN r.invalid THEN NULL ELSE r.jamkesda END,
    CASE WHEN r.invalid THEN NULL ELSE r.jkn END,
    round((1.2 + 6 * r.u_type * r.u_ref + 3 * r.u_match)::numeric, 3)::float8
FROM (
    SELECT
        d.first_id + k AS id,
        ((d.first_id + k) * {multiplier}) & {mask} AS x,
        d.day_start + make_interval(secs => s.seconds) AS at,
        d.population, d.jamkesda, d.jkn,
        (%(slots)s::int[])[1 + floor(random() * {slot_count})::int] AS facility,
        CASE WHEN random() < {frequent_share}
             THEN {frequent_every} * floor(random() * {frequent_count})::int
             ELSE floor(random() * {nik_count})::int END AS nik_idx,
        random() AS u_channel, random() AS u_nik, random() AS u_clerk, random() AS u_late,
        random() AS u_type, random() AS u_ref, random() AS u_match, random() AS u_decision
    FROM bench_days d
    CROSS JOIN LATERAL generate_series(0, d.count - 1) AS k
    CROSS JOIN LATERAL (
        SELECT {day_shape} AS seconds
        FROM (SELECT d.fraction_end * (k + 0.5) / d.count AS f) AS fraction
    ) AS s
    WHERE d.n BETWEEN %(first)s AND %(last)s
) AS o
CROSS JOIN LATERAL (
    SELECT o.*, o.u_decision < {invalid_share} AS invalid,
           (%(hospitals)s::bool[])[o.facility] AND o.u_channel < {integration_share}
               AS integration,
           o.u_decision >= {invalid_share} AND o.u_decision < {outage_bound} AS outage
) AS r
JOIN bench_niks n ON n.idx = r.nik_idx
"""


def _insert_sql(niks: int) -> str:
    """The INSERT of one block of days, with the constants of this load written in."""
    frequent_count = max(1, (niks - 1) // FREQUENT_EVERY + 1)
    return _INSERT.format(
        check_id=_check_id_sql("r.x"),
        multiplier=ID_MULTIPLIER,
        mask=2 ** (5 * PAYLOAD_LENGTH) - 1,
        day_shape=_day_sql(),
        slot_count=FACILITY_SLOTS,
        frequent_share=FREQUENT_SHARE,
        frequent_every=FREQUENT_EVERY,
        frequent_count=frequent_count,
        nik_count=niks,
        integration_share=HOSPITAL_SHARE_OF_INTEGRATION,
        invalid_share=INVALID_SHARE,
        outage_bound=INVALID_SHARE + OUTAGE_SHARE,
    )


def _secondary_indexes(connection: psycopg.Connection[Any]) -> list[tuple[str, str, bool]]:
    """Each non-primary index of check_records: name, the SQL that makes it, is a constraint."""
    rows = connection.execute(
        "SELECT i.relname, coalesce('ALTER TABLE check_records ADD CONSTRAINT '"
        " || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid),"
        " pg_get_indexdef(i.oid)), c.conname IS NOT NULL"
        " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
        " LEFT JOIN pg_constraint c ON c.conindid = i.oid AND c.contype = 'u'"
        " WHERE x.indrelid = 'check_records'::regclass AND NOT x.indisprimary"
        " ORDER BY i.relname"
    ).fetchall()
    return [(str(name), str(sql), bool(constraint)) for name, sql, constraint in rows]


def _insert_records(
    connection: psycopg.Connection[Any],
    plan: list[_Day],
    params: Mapping[str, Any],
    niks: int,
) -> None:
    """Insert every day's records, a block of days per statement, and say how fast."""
    statement = _insert_sql(niks)
    started = time.perf_counter()
    done = 0
    for first in range(0, len(plan), DAYS_PER_CHUNK):
        last = min(first + DAYS_PER_CHUNK, len(plan)) - 1
        with connection.transaction():
            connection.execute(statement, {**params, "first": first, "last": last})
        done += sum(day.count for day in plan[first : last + 1])
        elapsed = time.perf_counter() - started
        print(f"  records: {done:,} up to {plan[last].day} ({done / elapsed:,.0f}/s)", flush=True)


def load(database_url: str, env: Mapping[str, str], records: int, folder: Path) -> AuditData:
    """Migrate the empty database at ``database_url`` and fill it; time each step."""
    if records >= MAX_RECORDS:
        raise ValueError(f"at most {MAX_RECORDS - 1:,} records: references would repeat")
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def step(name: str, since: float) -> float:
        now = time.perf_counter()
        seconds[name] = round(now - since, 1)
        print(f"  {name}: {seconds[name]} s", flush=True)
        return now

    now = clock.now()
    today = now.astimezone(WITA).date()
    first_day = today - timedelta(days=round(YEARS * 365.25) - 1)
    # Reproducible on purpose: a seeded generator, never used for anything secret.
    rng = random.Random(SEED)
    policy = load_policy(env.get("JAMKESDA_POLICY") or None)
    key = env["NIK_HASH_KEY"].encode("utf-8")

    jamkesda(["db", "upgrade"], env, timeout=120)
    facilities_file = folder / "facilities.csv"
    niks, decisions = _registry_decisions(folder, policy, today, rng)
    mark = step("registry_and_decisions", started)
    jamkesda(["import", "facilities", str(facilities_file)], env, timeout=120)
    desks, integrations, auditor_key = _clients(database_url)
    snapshots = _snapshots(database_url, first_day, today)
    mark = step("facilities_clients_snapshots", mark)

    plan = _day_plan(records, first_day, now)
    params = {
        "codes": [f.code for f in FACILITIES],
        "desks": [desks[f.code] for f in FACILITIES],
        "integrations": [integrations.get(f.code, desks[f.code]) for f in FACILITIES],
        "hospitals": [f.code in integrations for f in FACILITIES],
        "clerks": list(CLERKS),
        "clerk_count": len(CLERKS),
        "errors": [json.dumps(e) for e in INVALID_ERRORS],
        "error_count": len(INVALID_ERRORS),
        "policy_version": policy.version,
        "slots": _facility_slots(rng),
    }
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("SELECT setseed(0.2026)")
        connection.execute("SET work_mem = '256MB'")
        connection.execute("SET maintenance_work_mem = '1GB'")
        _copy_niks(connection, niks, decisions, key)
        _days_table(connection, plan, snapshots)
        mark = step("copy_niks_and_days", mark)

        indexes = _secondary_indexes(connection)
        for name, _sql, constraint in indexes:
            drop = f"ALTER TABLE check_records DROP CONSTRAINT {name}" if constraint else None
            connection.execute(drop or f"DROP INDEX {name}")
        # The foreign keys hold by construction; checking them row by row would only slow
        # the load (this setting needs a superuser, as the benchmark's server gives).
        connection.execute("SET session_replication_role = replica")
        _insert_records(connection, plan, params, len(niks))
        connection.execute("SET session_replication_role = DEFAULT")
        connection.execute(
            "SELECT setval(pg_get_serial_sequence('check_records', 'id'), %s)", (records,)
        )
        mark = step("insert_records", mark)
        for name, sql, _constraint in indexes:
            index_started = time.perf_counter()
            connection.execute(sql)
            seconds[f"index_{name}"] = round(time.perf_counter() - index_started, 1)
            print(f"  index {name}: {seconds[f'index_{name}']} s", flush=True)
        mark = step("indexes", mark)
        # autovacuum is off on the benchmark server; this is what it would do after a load.
        connection.execute("VACUUM (ANALYZE) check_records")
        connection.execute("ANALYZE")
        # Write the load's gigabytes out now: otherwise the checkpoint and the kernel's
        # write-back run during the measurements and stall the access log's commits.
        connection.execute("CHECKPOINT")
        step("vacuum_analyze", mark)
    seconds["total"] = round(time.perf_counter() - started, 1)
    counts: dict[str, int] = {}
    for decision in decisions:
        counts[decision.outcome.value] = counts.get(decision.outcome.value, 0) + 1
    return AuditData(
        records=records,
        niks=niks,
        first_day=first_day,
        today=today,
        facilities=FACILITIES,
        auditor_key=auditor_key,
        seconds=seconds,
        decisions=dict(sorted(counts.items())),
    )
