"""`cisizer-server migrate` and `serve` against databases at odd revisions."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import attrs
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cisizer.server._cli import main
from cisizer.server._migrate import head_revision

READ_TOKEN = "migrate-read-token-0123456789"
HMAC_KEY = "migrate-hmac-key-0123456789abcdef0123456789"


def _process(*args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if "CISIZER_" not in name}
    return subprocess.run(
        [sys.executable, "-m", "cisizer.server", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@attrs.frozen
class Outcome:
    """What a command run in-process printed and how it exited."""

    returncode: int
    stderr: str


@pytest.fixture
def run(monkeypatch, caplog):
    """Run the command in-process, gunicorn replaced; log lines join stderr."""
    for name in list(os.environ):
        if name.startswith("CISIZER_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(
        "cisizer.server._gunicorn.run_gunicorn", lambda app, **options: None
    )
    caplog.set_level(logging.INFO, logger="cisizer.server")

    def invoke(*args: str) -> Outcome:
        caplog.clear()
        result = CliRunner().invoke(main, list(args))
        logged = "".join(f"{record.getMessage()}\n" for record in caplog.records)
        return Outcome(result.exit_code, result.output + logged)

    return invoke


@pytest.fixture
def serve(run):
    """Run `serve` on a database with the required flags."""

    def invoke(db_url: str, *flags: str) -> Outcome:
        return run(
            "serve",
            "--db-url",
            db_url,
            "--read-token",
            READ_TOKEN,
            "--hmac-key",
            HMAC_KEY,
            *flags,
        )

    return invoke


def _errors(result: Outcome | subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if "error" in line]


def _version(db_url: str) -> list[str]:
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        versions = connection.execute(
            sa.text("SELECT version_num FROM alembic_version")
        )
        found = list(versions.scalars())
    engine.dispose()
    return found


def _set_version(db_url: str, version: str) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE alembic_version SET version_num = :v"), {"v": version}
        )
    engine.dispose()


def test_unknown_revision_is_one_line(blank_db_url):
    """An unknown --revision exits 2 with one line listing the known ones."""
    result = _process("migrate", "--db-url", blank_db_url, "--revision", "bogus")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert _errors(result) == [
        "cisizer-server: error: --revision: no such revision 'bogus' "
        f"(known: 0001, {head_revision()}, head)"
    ]


def test_older_revision_does_not_downgrade(run, blank_db_url):
    """--revision 0001 on a database at head says so, exits 0 and changes nothing."""
    assert run("migrate", "--db-url", blank_db_url).returncode == 0

    result = run("migrate", "--db-url", blank_db_url, "--revision", "0001")

    assert result.returncode == 0, result.stderr
    assert (
        f"database schema is already at {head_revision()}, not older than 0001; "
        "nothing to do (migrate never downgrades)"
    ) in result.stderr
    assert _version(blank_db_url) == [head_revision()]


def test_step_by_step_upgrade(run, blank_db_url):
    """Migrating to 0001 and then to head leaves the database at head."""
    first = run("migrate", "--db-url", blank_db_url, "--revision", "0001")
    at_first = _version(blank_db_url)
    second = run("migrate", "--db-url", blank_db_url)

    assert (first.returncode, second.returncode) == (0, 0)
    assert at_first == ["0001"]
    assert "database schema upgraded from empty to 0001" in first.stderr
    assert f"upgraded from 0001 to {head_revision()}" in second.stderr
    assert _version(blank_db_url) == [head_revision()]


@pytest.mark.parametrize("command", ["migrate", "serve", "serve --no-migrate"])
def test_newer_schema_is_refused(run, serve, blank_db_url, command):
    """A database at a revision this receiver does not know exits 2, one line."""
    assert run("migrate", "--db-url", blank_db_url).returncode == 0
    _set_version(blank_db_url, "0099")

    if command == "migrate":
        result = run("migrate", "--db-url", blank_db_url)
    else:
        result = serve(blank_db_url, *command.split()[1:])

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert _errors(result) == [
        "cisizer-server: error: database schema is at 0099, newer than this "
        f"receiver knows (it needs {head_revision()}); upgrade cisizer-server"
    ]
    assert _version(blank_db_url) == ["0099"]


def test_no_migrate_refuses_an_older_schema(run, serve, blank_db_url):
    """serve --no-migrate on a database at 0001 exits 2 asking for migrate."""
    assert (
        run("migrate", "--db-url", blank_db_url, "--revision", "0001").returncode == 0
    )

    result = serve(blank_db_url, "--no-migrate")

    assert result.returncode == 2
    assert _errors(result) == [
        f"cisizer-server: error: database schema is at 0001, this receiver needs "
        f"{head_revision()}; run cisizer-server migrate"
    ]
    assert _version(blank_db_url) == ["0001"]


@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_file_that_is_not_a_database(tmp_path, command):
    """A file that is not SQLite exits 2 naming --db-url, without a traceback."""
    garbage = tmp_path / "x.db"
    garbage.write_text("garbage\n" * 100)
    url = f"sqlite:///{garbage}"

    args = ["--read-token", READ_TOKEN, "--hmac-key", HMAC_KEY, "--bind", "127.0.0.1:9"]
    extra = args if command == "serve" else []

    # A real process: the message is all it prints.
    result = _process(command, "--db-url", url, *extra)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert _errors(result) == [
        "cisizer-server: error: --db-url: not a usable database "
        "(file is not a database)"
    ]
    assert garbage.read_text() == "garbage\n" * 100
