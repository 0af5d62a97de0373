"""The cisizer-server command: settings from flags and variables, migrate, serve."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import falcon.testing
import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cisizer.server._cli import _parse_duration, main
from cisizer.server._migrate import head_revision

READ_TOKEN = "cli-read-token-0123456789abcdef"
HMAC_KEY = "cli-hmac-key-0123456789abcdef0123456789"


@pytest.fixture
def clean_env(monkeypatch):
    """Remove every CISIZER_ variable so that only the test's settings count."""
    for name in list(os.environ):
        if name.startswith("CISIZER_"):
            monkeypatch.delenv(name)


@pytest.fixture
def served(monkeypatch, clean_env):
    """Capture what `serve` would hand to gunicorn instead of serving it."""
    calls = {}

    def fake_run(app, **options):
        calls["app"] = app
        calls.update(options)

    monkeypatch.setattr("cisizer.server._gunicorn.run_gunicorn", fake_run)
    return calls


def _server_command():
    return [sys.executable, "-m", "cisizer.server"]


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--hmac-key", HMAC_KEY], "--read-token"),
        (["--read-token", READ_TOKEN], "--hmac-key"),
        (["--read-token", READ_TOKEN, "--hmac-key", "short"], "--hmac-key"),
        (
            [
                "--read-token",
                READ_TOKEN,
                "--hmac-key",
                HMAC_KEY,
                "--max-body-bytes",
                "9",
            ],
            "--max-body-bytes",
        ),
    ],
)
def test_missing_setting_stops_startup(served, tmp_path, args, flag):
    """A missing or wrong setting exits 2 with a message naming the flag."""
    db = ["--db-url", f"sqlite:///{tmp_path / 'x.db'}"]

    result = CliRunner().invoke(main, ["serve", *db, *args])

    assert result.exit_code == 2
    assert flag in result.output
    assert "Traceback" not in result.output
    assert "app" not in served


def test_missing_read_token_in_a_real_process(tmp_path, clean_env):
    """The installed command reports the missing flag on stderr, no traceback."""
    result = subprocess.run(
        [*_server_command(), "serve", "--db-url", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True,
        text=True,
        env={**os.environ, "CISIZER_HMAC_KEY": HMAC_KEY},
        timeout=60,
    )

    assert result.returncode == 2
    assert "--read-token (CISIZER_READ_TOKEN) is required" in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_come_from_variables(served, tmp_path, monkeypatch):
    """Every setting can come from a CISIZER_ variable; flags fill the rest."""
    monkeypatch.setenv("CISIZER_READ_TOKEN", READ_TOKEN)
    monkeypatch.setenv("CISIZER_HMAC_KEY", f"{HMAC_KEY} {HMAC_KEY}-old")
    monkeypatch.setenv("CISIZER_CI_PROVIDER", "forgejo")
    monkeypatch.setenv("CISIZER_FORGEJO_BASE_URL", "https://forgejo.example")
    monkeypatch.setenv("CISIZER_WORKERS", "3")
    monkeypatch.setenv("CISIZER_TOKEN_TTL", "90m")

    result = CliRunner().invoke(
        main,
        ["serve", "--db-url", f"sqlite:///{tmp_path / 'x.db'}", "--bind", "0.0.0.0:9"],
    )

    assert result.exit_code == 0, result.output
    assert (served["bind"], served["workers"]) == ("0.0.0.0:9", 3)
    client = falcon.testing.TestClient(served["app"])
    info = client.simulate_get("/api/v1/info").json
    assert info["ci_provider"] == "forgejo"
    assert info["forgejo_base_url"] == "https://forgejo.example"
    token = client.simulate_post(
        "/api/v1/token",
        json={"organization": "o", "repository": "r", "workflow": "w", "job": "j"},
        headers={"Authorization": f"Bearer {READ_TOKEN}"},
    ).json
    assert token["repository"] == "o/r"
    assert token["expires_at"] < _in(timedelta(minutes=91))


def _in(delta):
    from datetime import UTC, datetime

    from cisizer.core import format_datetime

    return format_datetime(datetime.now(UTC) + delta)


def test_bad_duration_is_refused(served):
    """A token TTL that is not a duration is a usage error naming the flag."""
    result = CliRunner().invoke(
        main,
        [
            "serve",
            "--read-token",
            READ_TOKEN,
            "--hmac-key",
            HMAC_KEY,
            "--token-ttl",
            "soon",
        ],
    )

    assert result.exit_code == 2
    assert "--token-ttl" in result.output


def test_openapi_command_prints_the_document():
    """`cisizer-server openapi` prints the OpenAPI document as JSON."""
    result = CliRunner().invoke(main, ["openapi"])

    document = json.loads(result.output)
    assert document["info"]["title"] == "CI Sizer receiver"
    assert "/api/v1/sizing/repo/{org}/{repo}/{workflow}/{job}" in document["paths"]


def test_concurrent_migrations_end_at_one_head(blank_db_url):
    """Three `migrate` processes started at once all succeed, leaving one version."""
    processes = [
        subprocess.Popen(
            [*_server_command(), "migrate", "--db-url", blank_db_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    codes = [process.wait(timeout=120) for process in processes]
    errors = [process.stderr.read().decode() for process in processes]

    assert codes == [0, 0, 0], errors
    engine = sa.create_engine(blank_db_url)
    with engine.connect() as connection:
        versions = connection.execute(
            sa.text("SELECT version_num FROM alembic_version")
        )
        assert versions.scalars().all() == [head_revision()]
        assert "runs" in sa.inspect(connection).get_table_names()
    engine.dispose()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn_server(db_url, clean_env, tmp_path):
    """`cisizer-server serve` with three workers on a free port, 2 s body timeout."""
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [
                *_server_command(),
                "serve",
                "--db-url",
                db_url,
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "3",
                "--read-token",
                READ_TOKEN,
                "--hmac-key",
                HMAC_KEY,
                "--body-timeout",
                "2",
            ],
            # A file, not a pipe: a pipe nobody reads fills up and stalls the server.
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"serve did not start: {log.read_text()}")
        time.sleep(0.1)

    yield url, process, log

    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        # gunicorn's graceful stop waits out connections a test left open.
        process.kill()
        process.wait(timeout=30)


def test_concurrent_identical_pushes_store_one_run(gunicorn_server, make_push):
    """The same push sent at once to several worker processes stores one row."""
    url, _, _ = gunicorn_server
    headers = {"Authorization": f"Bearer {READ_TOKEN}"}
    token = httpx.post(
        f"{url}/api/v1/token",
        json={
            "organization": "my-org",
            "repository": "my-repo",
            "workflow": "ci.yml",
            "job": "build",
        },
        headers=headers,
    ).json()["token"]
    body = make_push()

    def send(_):
        return httpx.post(
            f"{url}/api/v1/metrics",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(send, range(12)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 11 + [201]
    assert len({response.json()["id"] for response in responses}) == 1
    stored = httpx.get(f"{url}/api/v1/debug/metrics", headers=headers).json()
    assert len(stored) == 1


def test_chunked_body_over_the_limit_is_413(gunicorn_server):
    """A chunked body is read only up to the limit, then answered 413."""
    url, process, log_path = gunicorn_server
    token = httpx.post(
        f"{url}/api/v1/token",
        json={"organization": "o", "repository": "r", "workflow": "w", "job": "j"},
        headers={"Authorization": f"Bearer {READ_TOKEN}"},
    ).json()["token"]

    def chunks():
        yield b'{"organization": "'
        for _ in range(40):
            yield b"x" * 32768

    response = httpx.post(
        f"{url}/api/v1/metrics",
        content=chunks(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        },
    )

    assert response.status_code == 413
    assert response.json()["detail"] == "body: larger than the limit of 1048576 bytes"

    process.terminate()
    process.wait(timeout=30)
    log = log_path.read_text()
    assert "method=POST path=/api/v1/metrics status=413" in log
    assert token not in log
    assert READ_TOKEN not in log


def _stalled_push(url, token):
    """Open a push that promises ten bytes of body and sends one."""
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=30)
    credential = f"Authorization: Bearer {token}\r\n" if token else ""
    connection.sendall(
        b"POST /api/v1/metrics HTTP/1.1\r\n"
        + f"Host: {host}\r\n{credential}".encode()
        + b"Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{"
    )
    return connection


def _answer(connection):
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    connection.close()
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return head.decode(), json.loads(body)


def test_stalled_body_is_408_and_blocks_nothing(gunicorn_server):
    """Bodies that stop arriving get problem+json 408 while /health keeps answering."""
    url, _, _ = gunicorn_server
    token = httpx.post(
        f"{url}/api/v1/token",
        json={"organization": "o", "repository": "r", "workflow": "w", "job": "j"},
        headers={"Authorization": f"Bearer {READ_TOKEN}"},
    ).json()["token"]
    stalled = [_stalled_push(url, token) for _ in range(2)]

    health = httpx.get(f"{url}/health", timeout=30)
    answers = [_answer(connection) for connection in stalled]

    assert health.json() == {"status": "ok"}
    for head, problem in answers:
        assert head.startswith("HTTP/1.1 408 ")
        assert "content-type: application/problem+json" in head.lower()
        assert "connection: close" in head.lower()
        assert problem == {
            "type": "about:blank",
            "title": "Request timeout",
            "status": 408,
            "detail": "body: not received within 2 s",
        }
    stored = httpx.get(
        f"{url}/api/v1/debug/metrics",
        headers={"Authorization": f"Bearer {READ_TOKEN}"},
    )
    assert stored.json() == []


def test_answers_before_the_body_close_the_connection(gunicorn_server):
    """A 401 sent before a stalled body arrives says Connection: close and closes."""
    url, _, _ = gunicorn_server
    stalled = [_stalled_push(url, None) for _ in range(4)]

    answers = [_answer(connection) for connection in stalled]
    health = httpx.get(f"{url}/health", timeout=30)

    # _answer reads until the receiver closes, so each connection was closed.
    for head, problem in answers:
        assert head.startswith("HTTP/1.1 401 ")
        assert "connection: close" in head.lower()
        assert problem["status"] == 401
    assert health.json() == {"status": "ok"}
    assert health.headers["connection"] == "keep-alive"


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/sizing/overrides/my-org/my-org%2Fo2", "repo"),
        ("/api/v1/sizing/overrides/my-org/my-repo/ci.yml/a%2fb", "job"),
        ("/api/v1/sizing/overrides/grp%2Fsub", "org"),
    ],
)
def test_encoded_slash_is_400_and_writes_nothing(gunicorn_server, path, name):
    """A %2F inside a path segment is refused, not routed as two segments."""
    url, _, _ = gunicorn_server
    headers = {"Authorization": f"Bearer {READ_TOKEN}"}

    response = httpx.put(f"{url}{path}", json={"runs": 7}, headers=headers)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == (
        f"{name}: must not contain an encoded slash (%2F)"
    )
    listed = httpx.get(f"{url}/api/v1/sizing/overrides", headers=headers)
    assert listed.json() == []


@pytest.mark.parametrize(
    "db_url",
    [
        "not a url",
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing",
        "sqlite:////nonexistent-dir/cisizer.db",
    ],
    ids=["malformed", "unreachable", "missing-dir"],
)
def test_bad_database_stops_startup(served, db_url):
    """A database URL that is malformed or unreachable exits 2 naming --db-url."""
    args = ["--read-token", READ_TOKEN, "--hmac-key", HMAC_KEY, "--db-url", db_url]

    result = CliRunner().invoke(main, ["serve", *args])

    assert result.exit_code == 2, result.output
    assert "--db-url" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["serve", "migrate"])
@pytest.mark.parametrize(
    "db_url",
    [
        "mysql://user:secret@db/cisizer",
        "postgresql+asyncpg://postgres@127.0.0.1/postgres",
        "postgresql+psycopg2://postgres@127.0.0.1/postgres",
    ],
    ids=["mysql", "asyncpg", "psycopg2"],
)
def test_unsupported_database_is_one_line(served, command, db_url):
    """A database or driver the receiver has no SQL for exits 2, naming both it uses."""
    args = ["--read-token", READ_TOKEN, "--hmac-key", HMAC_KEY] * (command == "serve")

    result = CliRunner().invoke(main, [command, *args, "--db-url", db_url])

    scheme = db_url.split("://")[0]
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"cisizer-server: error: --db-url: {scheme}:// is not supported; use "
        "sqlite:///FILE or postgresql+psycopg://USER@HOST/DATABASE\n"
    )
    assert "secret" not in result.output


def test_no_migrate_serves_a_current_schema(served, tmp_path, monkeypatch):
    """--no-migrate (or CISIZER_MIGRATE=false) serves a database already at head."""
    url = f"sqlite:///{tmp_path / 'current.db'}"
    assert CliRunner().invoke(main, ["migrate", "--db-url", url]).exit_code == 0
    monkeypatch.setenv("CISIZER_MIGRATE", "false")
    args = ["--read-token", READ_TOKEN, "--hmac-key", HMAC_KEY]

    result = CliRunner().invoke(main, ["serve", *args, "--db-url", url])

    assert result.exit_code == 0, result.output
    assert served["bind"] == "127.0.0.1:8080"


def test_no_migrate_refuses_an_empty_database(served, tmp_path):
    """--no-migrate on a database without the schema exits 2, creating nothing."""
    database = tmp_path / "untouched.db"
    args = ["--read-token", READ_TOKEN, "--hmac-key", HMAC_KEY, "--no-migrate"]

    result = CliRunner().invoke(
        main, ["serve", *args, "--db-url", f"sqlite:///{database}"]
    )

    assert result.exit_code == 2
    assert result.output == (
        "cisizer-server: error: database schema is empty (no CI Sizer tables), "
        f"this receiver needs {head_revision()}; run cisizer-server migrate\n"
    )
    assert "app" not in served
    assert not database.exists()


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_short_help(flag):
    """-h prints the same help as --help, for the command and a subcommand."""
    top = CliRunner().invoke(main, [flag])
    serve = CliRunner().invoke(main, ["serve", flag])

    assert top.exit_code == 0
    assert "migrate" in top.output
    assert serve.exit_code == 0
    assert "--push-grace" in serve.output
    assert "--body-timeout" in serve.output


@pytest.mark.parametrize(
    "bind", ["nonsense", "127.0.0.1:", ":8080", "localhost:http", "0.0.0.0:70000"]
)
def test_bad_bind_is_refused(served, bind):
    """--bind must be host:port with a numeric port; anything else exits 2."""
    args = ["--read-token", READ_TOKEN, "--hmac-key", HMAC_KEY, "--bind", bind]

    result = CliRunner().invoke(main, ["serve", *args])

    assert result.exit_code == 2
    assert "--bind" in result.output
    assert "host:port" in result.output
    assert "app" not in served


@pytest.mark.parametrize("host", ["0.0.0.0", "[::1]", "localhost"])
def test_good_bind_is_passed_on(served, tmp_path, host):
    """A host:port --bind reaches gunicorn unchanged, with four threads a worker."""
    bind = f"{host}:{_free_port()}"
    args = ["--read-token", READ_TOKEN, "--hmac-key", HMAC_KEY, "--bind", bind]
    db = ["--db-url", f"sqlite:///{tmp_path / 'x.db'}"]

    result = CliRunner().invoke(main, ["serve", *args, *db])

    assert result.exit_code == 0, result.output
    assert (served["bind"], served["threads"], served["workers"]) == (bind, 4, 2)


def test_bind_in_use_stops_before_migrating(served, tmp_path):
    """An address another process listens on is one line, and no database is made."""
    database = tmp_path / "x.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        bind = f"127.0.0.1:{taken.getsockname()[1]}"
        args = ["--read-token", READ_TOKEN, "--hmac-key", HMAC_KEY, "--bind", bind]

        result = CliRunner().invoke(
            main, ["serve", *args, "--db-url", f"sqlite:///{database}"]
        )

    assert result.exit_code == 2
    assert result.output == (
        f"cisizer-server: error: --bind {bind}: cannot listen there "
        "(Address already in use)\n"
    )
    assert not database.exists()
    assert "app" not in served


def test_short_read_token_is_refused(served, tmp_path):
    """A read token under 16 characters exits 2 naming --read-token."""
    args = ["--read-token", "x" * 15, "--hmac-key", HMAC_KEY]
    db = ["--db-url", f"sqlite:///{tmp_path / 'x.db'}"]

    result = CliRunner().invoke(main, ["serve", *args, *db])

    assert result.exit_code == 2
    assert result.output == (
        "cisizer-server: error: --read-token (CISIZER_READ_TOKEN) must be at "
        "least 16 characters\n"
    )


@pytest.mark.parametrize(
    ("grace", "expected"), [(None, 201), ("0", 401), ("30m", 401), ("2h", 201)]
)
def test_push_grace_reaches_ingest(served, tmp_path, monkeypatch, grace, expected):
    """--push-grace (default 6h) decides if a token expired 1 h ago still pushes."""
    from datetime import UTC, datetime

    from cisizer.core import JobKey, PushTokenSigner

    if grace is not None:
        monkeypatch.setenv("CISIZER_PUSH_GRACE", grace)
    args = ["--read-token", READ_TOKEN, "--hmac-key", HMAC_KEY]
    db = ["--db-url", f"sqlite:///{tmp_path / 'x.db'}"]
    assert CliRunner().invoke(main, ["serve", *args, *db]).exit_code == 0
    now = datetime.now(UTC)
    job = JobKey("o", "o/r", "w", "j")
    token = PushTokenSigner([HMAC_KEY]).issue(job, now - timedelta(hours=3)).token
    start = now - timedelta(hours=2, minutes=30)
    body = {
        "organization": "o",
        "repository": "r",
        "workflow": "w",
        "job": "j",
        "run_id": "1",
        "payload": {
            "start_time": _at(start),
            "end_time": _at(now),
            "duration_seconds": (now - start).total_seconds(),
            "sample_count": 1,
            "interval_seconds": 2.0,
            "containers": [
                {
                    "name": "runner",
                    "cpu_cores": {"peak": 1.0, "avg": 0.5, "p50": 0.5, "p95": 0.9},
                    "memory_bytes": {"peak": 1024, "p95": 1024},
                }
            ],
        },
    }

    response = falcon.testing.TestClient(served["app"]).simulate_post(
        "/api/v1/metrics", json=body, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == expected, response.text


def _at(moment):
    from cisizer.core import format_datetime

    return format_datetime(moment)


@pytest.mark.parametrize("value", ["soon", "-1h", "2w"])
def test_bad_push_grace_is_refused(served, value):
    """A push grace that is not a duration exits 2 naming --push-grace."""
    args = ["--read-token", READ_TOKEN, "--hmac-key", HMAC_KEY, "--push-grace", value]

    result = CliRunner().invoke(main, ["serve", *args])

    assert result.exit_code == 2
    assert "--push-grace" in result.output


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--token-ttl", "1.5h", timedelta(minutes=90)),
        ("--push-grace", "1.5h", timedelta(minutes=90)),
        ("--token-ttl", "30d", timedelta(days=30)),
        ("--push-grace", "0.5", timedelta(seconds=0.5)),
    ],
)
def test_fractional_durations_are_accepted(served, tmp_path, flag, value, expected):
    """Durations take a fraction, such as 1.5h, up to each flag's limit."""
    args = ["--read-token", READ_TOKEN, "--hmac-key", HMAC_KEY, flag, value]
    db = ["--db-url", f"sqlite:///{tmp_path / 'x.db'}"]

    result = CliRunner().invoke(main, ["serve", *args, *db])

    assert result.exit_code == 0, result.output
    name = flag.removeprefix("--").replace("-", "_")
    assert _parse_duration(value, zero=True, name=name) == expected


@pytest.mark.parametrize(
    ("flag", "value", "limit"),
    [
        ("--token-ttl", "31d", "30 days"),
        ("--token-ttl", "999999999d", "30 days"),
        ("--token-ttl", "99999999999999999999", ""),
        ("--push-grace", "1000000000d", "7 days"),
        ("--push-grace", "8d", "7 days"),
        ("--session-ttl", "40d", "30 days"),
    ],
)
def test_overlong_durations_are_refused(served, flag, value, limit):
    """A duration past its flag's limit exits 2 naming the flag, no traceback."""
    args = ["--read-token", READ_TOKEN, "--hmac-key", HMAC_KEY, flag, value]

    result = CliRunner().invoke(main, ["serve", *args])

    assert result.exit_code == 2
    assert flag in result.output
    assert f"longer than the limit of {limit}" in result.output or not limit
    assert "Traceback" not in result.output
    assert "app" not in served


def test_an_unwritable_migration_lock_is_named(tmp_path):
    """A lock file that cannot be made is one line naming --db-url, not a traceback."""
    database = tmp_path / "cisizer.db"
    (tmp_path / "cisizer.db.migrate-lock").mkdir()

    result = CliRunner().invoke(main, ["migrate", "--db-url", f"sqlite:///{database}"])

    assert result.exit_code == 2
    assert result.output == (
        "cisizer-server: error: --db-url: cannot create the migration lock "
        f"{database}.migrate-lock (Is a directory); the database's directory "
        "must be writable\n"
    )
