"""``jamkesda clients create|list|revoke`` run as the real console script."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import Base, Client
from tests.conftest import bearer
from tests.factories import add_facility

JAMKESDA = str(Path(sys.executable).with_name("jamkesda"))
TIMEOUT_SECONDS = 60
NIK = "6402014101900001"


def jamkesda(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the console script with ``args`` and wait for it, bounded by a timeout."""
    return subprocess.run(
        [JAMKESDA, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def create(env: dict[str, str], *args: str) -> str:
    """Create a client and return its key, the last line printed."""
    result = jamkesda(env, "clients", "create", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def facility(session: Session, engine: Engine) -> str:
    """A puskesmas the desk keys are bound to, committed for the subprocess to see."""
    add_facility(session, "1040001", "Puskesmas Loa Janan")
    session.commit()
    return "1040001"


def post_check(http: FlaskClient, key: str) -> int:
    """The status of a check made with ``key`` through the app on the same database."""
    return http.post("/v1/checks", json={"nik": NIK}, headers=bearer(key)).status_code


def test_created_desk_key_is_the_last_line_and_makes_checks(
    env: dict[str, str], http: FlaskClient, session: Session, facility: str
) -> None:
    key = create(env, "--name", "SIMPUS Loa Janan", "--role", "desk", "--facility", facility)
    assert post_check(http, key) == 201
    client = session.scalars(select(Client)).one()
    assert (client.name, client.role, client.facility_code) == (
        "SIMPUS Loa Janan",
        "desk",
        facility,
    )
    assert client.revoked_at is None


def test_created_auditor_key_authenticates_but_may_not_check(
    env: dict[str, str], http: FlaskClient, engine: Engine
) -> None:
    key = create(env, "--name", "Ombudsman Kaltim", "--role", "auditor")
    assert post_check(http, key) == 403


def test_key_has_at_least_128_random_bits_in_a_header_safe_alphabet(
    env: dict[str, str], engine: Engine
) -> None:
    first = create(env, "--name", "a", "--role", "auditor")
    second = create(env, "--name", "b", "--role", "auditor")
    assert first != second
    for key in (first, second):
        assert re.fullmatch(r"[A-Za-z0-9_\-]+", key), key
        # A fixed lower-case prefix such as "jk_" is not random: leave it out of the count.
        random_part = re.sub(r"^[a-z]+_", "", key)
        alphabet = 16 if re.fullmatch(r"[0-9a-f]+", random_part) else 64
        assert len(random_part) * math.log2(alphabet) >= 128, key


def test_the_database_holds_no_key_text_only_a_hash(
    env: dict[str, str], session: Session, facility: str
) -> None:
    created = [
        create(env, "--name", "desk", "--role", "desk", "--facility", facility),
        create(env, "--name", "admin", "--role", "admin"),
    ]
    stored = [
        str(value)
        for table in Base.metadata.sorted_tables
        for row in session.execute(select(table))
        for value in row
    ]
    assert len(session.scalars(select(Client)).all()) == 2
    for key in created:
        assert not any(key in value for value in stored)
        assert not any(key.removeprefix("jk_") in value for value in stored)


def test_list_prints_one_client_a_line_with_its_id_first(
    env: dict[str, str], session: Session, facility: str
) -> None:
    create(env, "--name", "SIMPUS Loa Janan", "--role", "desk", "--facility", facility)
    create(env, "--name", "Inspektorat Kukar", "--role", "auditor")
    result = jamkesda(env, "clients", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    clients = session.scalars(select(Client).order_by(Client.id)).all()
    assert len(lines) == len(clients) == 2
    for line, client in zip(lines, clients, strict=True):
        assert line.split()[0] == str(client.id)
        assert client.name in line
        assert client.role in line


def test_list_of_no_clients_prints_no_client_lines(env: dict[str, str], engine: Engine) -> None:
    result = jamkesda(env, "clients", "list")
    assert result.returncode == 0, result.stderr
    assert not re.search(r"^\d", result.stdout, re.MULTILINE)


def test_revoke_makes_the_key_get_401_and_list_shows_it(
    env: dict[str, str], http: FlaskClient, session: Session, facility: str
) -> None:
    key = create(env, "--name", "SIMPUS Loa Janan", "--role", "desk", "--facility", facility)
    assert post_check(http, key) == 201
    client_id = session.scalars(select(Client.id)).one()
    result = jamkesda(env, "clients", "revoke", str(client_id))
    assert result.returncode == 0, result.stderr
    response = http.post("/v1/checks", json={"nik": NIK}, headers=bearer(key))
    assert response.status_code == 401
    assert response.get_json()["code"] == "UNAUTHENTICATED"
    listing = jamkesda(env, "clients", "list").stdout
    assert "revoked" in listing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "x", "--role", "nurse"], "nurse"),
        (["--name", "x", "--role", "desk"], "--facility"),
        (["--name", "x", "--role", "integration"], "--facility"),
        (["--name", "x", "--role", "desk", "--facility", "9999999"], "9999999"),
        (["--name", "x", "--role", "admin", "--facility", "1040001"], "--facility"),
        (["--name", "x", "--role", "auditor", "--facility", "1040001"], "--facility"),
        (["--role", "auditor"], "--name"),
        (["--name", "x"], "--role"),
        (["--name", "   ", "--role", "auditor"], "name"),
    ],
    ids=[
        "unknown-role",
        "desk-without-facility",
        "integration-without-facility",
        "unknown-facility",
        "admin-with-facility",
        "auditor-with-facility",
        "missing-name",
        "missing-role",
        "blank-name",
    ],
)
def test_bad_create_exits_2_with_a_message_and_creates_nothing(
    env: dict[str, str], session: Session, facility: str, args: list[str], message: str
) -> None:
    result = jamkesda(env, "clients", "create", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout.strip() == ""
    assert session.scalars(select(Client)).all() == []


@pytest.mark.parametrize("client_id", ["424242", "abc"])
def test_revoke_of_an_unknown_id_exits_2_with_a_message(
    env: dict[str, str], engine: Engine, client_id: str
) -> None:
    result = jamkesda(env, "clients", "revoke", client_id)
    assert result.returncode == 2
    assert client_id in result.stderr


def test_a_client_created_with_its_own_rate_keeps_it_and_list_shows_it(
    env: dict[str, str], session: Session, facility: str
) -> None:
    create(env, "--name", "SIMRS Parikesit", "--role", "integration", "--facility", facility)
    create(env, "--name", "SIMPUS", "--role", "desk", "--facility", facility, "--rate", "50/s")
    stored = session.scalars(select(Client).order_by(Client.id)).all()
    assert [client.rate_limit for client in stored] == [None, "50/s"]
    lines = jamkesda(env, "clients", "list").stdout.strip().splitlines()
    assert [line.split("\t")[4] for line in lines] == ["-", "50/s"]


def test_set_rate_changes_a_client_s_rate_and_default_restores_it(
    env: dict[str, str], session: Session, facility: str
) -> None:
    create(env, "--name", "SIMPUS", "--role", "desk", "--facility", facility)
    client = session.scalars(select(Client)).one()
    result = jamkesda(env, "clients", "set-rate", str(client.id), "600/m")
    assert result.returncode == 0, result.stderr
    session.refresh(client)
    assert client.rate_limit == "600/m"
    assert jamkesda(env, "clients", "set-rate", str(client.id), "default").returncode == 0
    session.refresh(client)
    assert client.rate_limit is None


@pytest.mark.parametrize("rate", ["50", "50/h", "0/s", "fast"])
def test_a_malformed_rate_is_refused_naming_the_form(
    env: dict[str, str], session: Session, facility: str, rate: str
) -> None:
    refused = jamkesda(
        env,
        "clients",
        "create",
        "--name",
        "x",
        "--role",
        "desk",
        "--facility",
        facility,
        "--rate",
        rate,
    )
    assert refused.returncode == 2
    assert "N/s or N/m" in refused.stderr
    assert session.scalars(select(Client)).all() == []
    create(env, "--name", "SIMPUS", "--role", "desk", "--facility", facility)
    client = session.scalars(select(Client)).one()
    result = jamkesda(env, "clients", "set-rate", str(client.id), rate)
    assert result.returncode == 2
    assert "N/s or N/m" in result.stderr


def test_set_rate_of_an_unknown_client_exits_2(env: dict[str, str]) -> None:
    result = jamkesda(env, "clients", "set-rate", "4242", "5/s")
    assert result.returncode == 2
    assert "no client with id 4242" in result.stderr
