"""SPEC §11 "Faults": the served app under load, while its database or its processes fail.

Each test runs ``jamkesda serve`` (several gunicorn workers, real HTTP on loopback), sends
checks from a few client threads (``tests/check_load.py``), strikes once, and then holds
the whole run to SPEC §2: no answer is a denial the fault caused, every 201 and 422 has
its record (and a 503 none), every record belongs to a request that was answered or cut
off in flight, and checks are decided again soon after the fault without a restart.

Restarting PostgreSQL and killing its connections need a PostgreSQL server of the test's
own (the shared one must stay up): those run in the suite's PostgreSQL half, like
``tests/test_api_batch_faults.py``. Killing a worker and stopping the server run on the
suite's database, whichever it is.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from service import migrate
from service.db import sqlalchemy_url
from tests.check_load import (
    CLIENTS,
    CheckLoad,
    CheckLog,
    Sent,
    assert_healthy_answers,
    assert_promises_kept,
    assert_recovered,
    check_every_nik,
    is_alive,
    prepare_desk,
    records_held,
    refuses_connections,
    stored_records,
    wait_for_answers,
    wait_until,
    worker_pids,
    worker_serving,
)
from tests.private_postgres import PrivatePostgres, private_postgres
from tests.test_server import serving_process

needs_own_postgresql = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="stops a PostgreSQL server of its own: runs in the suite's PostgreSQL half",
)

WORKERS = 2
# Healthy load before the fault, and after the service answers again.
BEFORE_SECONDS = 2.0
AFTER_SECONDS = 2.0
DOWN_SECONDS = 2.0
# Generous bounds: the machine has two cores and other work runs beside the tests.
RECOVERY_SECONDS = 20.0
WORKER_START_SECONDS = 30.0
CLOSE_SECONDS = 5.0
EXIT_SECONDS = 15.0
# How many checks must be answered after a fault before it counts as over.
ANSWERS_AFTER = 20
HELD_SECONDS = 0.5
# The test's own connections, which a fault spares.
TEST_CONNECTIONS = "jamkesda-fault-test"


def served_env(env: dict[str, str], database_url: str) -> dict[str, str]:
    """The server's environment: this database, and no rate limit the load could meet.

    Keys are looked up again after a second (not ten), so that a fault strikes the key
    look-up too, not only the check's own statements.
    """
    return {
        **env,
        "DATABASE_URL": database_url,
        "RATE_LIMIT": "10000/s",
        "JAMKESDA_KEY_CACHE_SECONDS": "0",
    }


@contextmanager
def own_postgresql() -> Iterator[tuple[PrivatePostgres, Engine, str]]:
    """A private cluster, migrated, with the desk and the registry; its engine and desk key."""
    with private_postgres() as postgres:
        engine = create_engine(
            sqlalchemy_url(postgres.url),
            connect_args={"application_name": TEST_CONNECTIONS},
            # Its pooled connections outlive a restart: tested before each use.
            pool_pre_ping=True,
        )
        try:
            migrate.upgrade(engine)
            with Session(engine) as session:
                key = prepare_desk(session)
            # The test's own connections must not be among those a fault breaks.
            engine.dispose()
            yield postgres, engine, key
        finally:
            engine.dispose()


def held_requests(log: CheckLog) -> list[Sent]:
    """Wait until every client's check has waited to be recorded a while: those checks.

    A check takes milliseconds; one in flight for this long is held, not about to finish.
    """

    def held() -> list[Sent]:
        now = time.monotonic()
        return [sent for sent in log.in_flight() if now - sent.started > HELD_SECONDS]

    wait_until(lambda: len(held()) == CLIENTS, 10, "every client's check held")
    return held()


def assert_unavailable(held: list[Sent]) -> None:
    """Each of these checks was answered 503 (and so, once checked, has no record)."""
    wrong = [request.describe() for request in held if request.status != 503]
    assert not wrong, wrong


def report(name: str, counts: object, **timings: float) -> None:
    """What a fault did, in the output of ``pytest -s`` (and of a failing test)."""
    spans = ", ".join(f"{key} {value:.2f} s" for key, value in timings.items())
    print(f"\n{name}: {counts}; {spans}")


@needs_own_postgresql
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgresql_restarted_under_load(env: dict[str, str], tmp_path: Path, mode: str) -> None:
    with (
        own_postgresql() as (postgres, engine, key),
        serving_process(served_env(env, postgres.url), tmp_path / "server.log", WORKERS) as (
            base,
            _process,
        ),
    ):
        log = CheckLog(base, key)
        assert_healthy_answers(check_every_nik(log, "before"))
        with CheckLoad(log):
            time.sleep(BEFORE_SECONDS)
            # Checks wait to be recorded, so that some surely are in flight when it stops.
            with records_held(engine):
                held = held_requests(log)
                postgres.stop(mode)
                time.sleep(DOWN_SECONDS)
                postgres.start()
            fault_ended = time.monotonic()
            answered = wait_for_answers(log, fault_ended, ANSWERS_AFTER, RECOVERY_SECONDS)
            time.sleep(AFTER_SECONDS)
        assert_healthy_answers(check_every_nik(log, "after"))
        sent = log.sent()
        counts = assert_promises_kept(sent, stored_records(engine), faults=True)
        # The checks waiting to be recorded when it stopped were not decided, nor recorded.
        assert_unavailable(held)
        recovered = assert_recovered(sent, fault_ended, RECOVERY_SECONDS)
        report(mode, counts, answering=answered - fault_ended, last_failure=recovered)


def terminate_service_connections(url: str, idle_in_transaction: bool = False) -> int:
    """``pg_terminate_backend`` the service's connections to the database; how many.

    Every one but the test's own; or only those idle inside a transaction: a check's key
    look-up, whose session stays open until the request ends.
    """
    states = ["idle in transaction"] if idle_in_transaction else None
    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND usename = current_user "
            "AND pid <> pg_backend_pid() AND application_name <> %s "
            "AND (%s::text[] IS NULL OR state = ANY(%s::text[]))",
            (TEST_CONNECTIONS, states, states),
        ).fetchall()
    return sum(1 for (terminated,) in rows if terminated)


@needs_own_postgresql
def test_every_connection_killed_under_load(env: dict[str, str], tmp_path: Path) -> None:
    with (
        own_postgresql() as (postgres, engine, key),
        serving_process(served_env(env, postgres.url), tmp_path / "server.log", WORKERS) as (
            base,
            _process,
        ),
    ):
        log = CheckLog(base, key)
        assert_healthy_answers(check_every_nik(log, "before"))
        with CheckLoad(log):
            time.sleep(BEFORE_SECONDS)
            # Checks wait to be recorded, so that connections die with checks in flight:
            # first only those of their key look-ups, whose sessions stay open (the check
            # then goes on and is recorded), then every one (a check being recorded dies).
            with records_held(engine):
                looked_up = held_requests(log)
                terminated = [terminate_service_connections(postgres.url, True)]
            wait_until(lambda: all(r.ended for r in looked_up), 10, "the held checks answered")
            with records_held(engine):
                held = held_requests(log)
                terminated.append(terminate_service_connections(postgres.url))
            # And a few times more without waiting, to strike whatever runs just then.
            for _round in range(2):
                terminated.append(terminate_service_connections(postgres.url))
                time.sleep(0.3)
            fault_ended = time.monotonic()
            answered = wait_for_answers(log, fault_ended, ANSWERS_AFTER, RECOVERY_SECONDS)
            time.sleep(AFTER_SECONDS)
        assert terminated[0] > 0, "no key look-up's connection there to kill"
        assert terminated[1] > 0, "no connection of the service there to kill"
        # A check whose key look-up's connection died after the look-up was still
        # decided and recorded (checked against the records below): its answer arrived.
        undecided = [r.describe() for r in looked_up if r.status not in (201, 422)]
        assert not undecided, undecided
        # The checks whose record was being written when their connection died: not
        # decided, nor recorded.
        assert_unavailable(held)
        assert_healthy_answers(check_every_nik(log, "after"))
        sent = log.sent()
        counts = assert_promises_kept(sent, stored_records(engine), faults=True)
        recovered = assert_recovered(sent, fault_ended, RECOVERY_SECONDS)
        report(
            f"terminated {terminated}",
            counts,
            answering=answered - fault_ended,
            last_failure=recovered,
        )


def test_a_worker_killed_under_load(
    env: dict[str, str], engine: Engine, session: Session, tmp_path: Path
) -> None:
    key = prepare_desk(session)
    database_url = env["DATABASE_URL"]
    with serving_process(served_env(env, database_url), tmp_path / "server.log", WORKERS) as (
        base,
        process,
    ):
        wait_until(lambda: len(worker_pids(process.pid)) == WORKERS, 10, "every worker started")
        port = int(base.rsplit(":", 1)[1])
        log = CheckLog(base, key)
        assert_healthy_answers(check_every_nik(log, "before"))
        with CheckLoad(log):
            time.sleep(BEFORE_SECONDS)
            # Checks wait to be recorded, so that the victim surely has one in flight.
            with records_held(engine):
                held = held_requests(log)
                victim = worker_serving(process.pid, port)
                assert victim is not None, "no worker holds a client's connection"
                os.kill(victim, signal.SIGKILL)
                wait_until(lambda: not is_alive(victim), 10, "the worker gone")
            fault_ended = time.monotonic()
            # gunicorn starts a worker in its place; the other one answers meanwhile.
            wait_until(
                lambda: len(worker_pids(process.pid)) == WORKERS,
                WORKER_START_SECONDS,
                "a worker started in the killed one's place",
            )
            answered = wait_for_answers(log, fault_ended, ANSWERS_AFTER, RECOVERY_SECONDS)
            time.sleep(AFTER_SECONDS)
        assert_healthy_answers(check_every_nik(log, "after"))
        sent = log.sent()
        # A worker's death is no database fault: nothing may be answered 503.
        counts = assert_promises_kept(sent, stored_records(engine), faults=False)
        cut_off = [request for request in held if request.cut_off]
        assert cut_off, "the killed worker had no check in flight"
        recovered = assert_recovered(sent, fault_ended, RECOVERY_SECONDS)
        report(
            "SIGKILL",
            counts,
            answering=answered - fault_ended,
            last_failure=recovered,
        )


def test_sigterm_finishes_checks_in_flight_and_takes_no_more(
    env: dict[str, str], engine: Engine, session: Session, tmp_path: Path
) -> None:
    key = prepare_desk(session)
    database_url = env["DATABASE_URL"]
    with serving_process(served_env(env, database_url), tmp_path / "server.log", WORKERS) as (
        base,
        process,
    ):
        log = CheckLog(base, key)
        assert_healthy_answers(check_every_nik(log, "before"))
        with CheckLoad(log):
            time.sleep(BEFORE_SECONDS)
            # Checks wait to be recorded, so that some are surely in flight at SIGTERM and
            # still are when the server has stopped listening.
            with records_held(engine):
                held = held_requests(log)
                process.send_signal(signal.SIGTERM)
                terminated = time.monotonic()
                closed = wait_until(lambda: refuses_connections(base), CLOSE_SECONDS, "closed")
                # Let the clients meet the closed port while the held checks still wait.
                time.sleep(0.5)
                assert all(request.ended is None for request in held), [r.describe() for r in held]
            released = time.monotonic()
            process.wait(EXIT_SECONDS)
            exited = time.monotonic()
        sent = log.sent()
        counts = assert_promises_kept(sent, stored_records(engine), faults=False)
        # What was in flight finished: answered, and (above) recorded.
        unanswered = [request.describe() for request in held if request.status is None]
        assert not unanswered, unanswered
        # No new connection was taken once the server stopped listening.
        taken = [r.describe() for r in sent if r.started > closed and not r.refused]
        assert not taken, taken
        assert process.returncode == 0
        report(
            "SIGTERM",
            counts,
            closing=closed - terminated,
            exit_after_release=exited - released,
        )
