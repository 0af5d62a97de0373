"""Fixtures shared by every distribution's tests: databases and a live receiver.

``db_url`` runs a test once on SQLite and once on PostgreSQL, each an empty
database at the newest schema.  Both databases live for the test session (the
PostgreSQL one is created as ``cisizer_test_<random>`` and dropped after) and
are emptied before each test.  When PostgreSQL cannot be reached its half is
skipped, or fails when ``CI`` is set.  ``blank_db_url`` is the same pair
without any schema, created fresh for one test.

``live_server`` serves the real receiver (auth mode none) over HTTP on a free
loopback port; one server per database serves the whole session.
"""

from __future__ import annotations

import os
import secrets
import socketserver
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import attrs
import pytest

PG_ADMIN_URL = os.environ.get(
    "CISIZER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
READ_TOKEN = "test-read-token-" + "r" * 16
HMAC_KEY = "test-hmac-key-" + "k" * 32


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not reachable: {reason}")


@pytest.fixture(scope="session")
def _pg_admin() -> Iterator[Callable[[], str]]:
    """Create throw-away PostgreSQL databases on demand; drop them all at the end."""
    sa = pytest.importorskip("sqlalchemy")
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    names: list[str] = []

    def create() -> str:
        name = f"cisizer_test_{secrets.token_hex(6)}"
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except sa.exc.OperationalError as error:
            _pg_unavailable(str(error.orig).strip().splitlines()[0])
        names.append(name)
        url = sa.engine.make_url(PG_ADMIN_URL).set(database=name)
        rendered: str = url.render_as_string(hide_password=False)
        return rendered

    yield create

    if not names:
        admin.dispose()
        return
    with admin.connect() as connection:
        for name in names:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _migrated(url: str) -> str:
    from cisizer.server import migrate
    from cisizer.server._storage import create_engine

    engine = create_engine(url)
    migrate(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def _pg_database(_pg_admin: Callable[[], str]) -> str:
    """The session's PostgreSQL database, at the newest schema."""
    return _migrated(_pg_admin())


@pytest.fixture(scope="session")
def _sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's SQLite database file, at the newest schema."""
    return _migrated(f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'cisizer.db'}")


def _empty(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as connection:
        tables = [
            name
            for name in sa.inspect(connection).get_table_names()
            if name != "alembic_version"
        ]
        if not tables:
            pass
        elif engine.dialect.name == "postgresql":
            names = ", ".join(f'"{table}"' for table in tables)
            connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                connection.exec_driver_sql(f'DELETE FROM "{table}"')
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database at the newest schema: SQLite, then PostgreSQL."""
    fixture = {"sqlite": "_sqlite_database", "postgresql": "_pg_database"}
    url: str = request.getfixturevalue(fixture[request.param])
    _empty(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new database without any schema: a SQLite file, then a PostgreSQL one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'blank.db'}"
    create: Callable[[], str] = request.getfixturevalue("_pg_admin")
    return create()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


@attrs.frozen
class LiveServer:
    """A receiver serving on loopback, with the credentials it accepts."""

    url: str
    db_url: str
    read_token: str
    hmac_key: str
    app: Any

    @property
    def read_headers(self) -> dict[str, str]:
        """Headers carrying the read token."""
        return {"Authorization": f"Bearer {self.read_token}"}

    def push_token(
        self,
        organization: str,
        repository: str,
        workflow: str,
        job: str,
        now: datetime | None = None,
    ) -> str:
        """Sign a push token for a job (``repository`` qualified if bare)."""
        from cisizer.core import JobKey, PushTokenSigner

        if "/" not in repository:
            repository = f"{organization}/{repository}"
        signer = PushTokenSigner([self.hmac_key])
        return signer.issue(JobKey(organization, repository, workflow, job), now).token


class _ThreadingHTTPServer(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True


def _run_in_thread(server: socketserver.BaseServer) -> None:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()


def start_server(app: Any) -> tuple[WSGIServer, str]:
    """Serve a WSGI app on a free loopback port in a thread; return it and its URL."""
    server = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    _run_in_thread(server)
    return server, f"http://127.0.0.1:{server.server_port}"


def start_http_server(
    handler: type[BaseHTTPRequestHandler],
) -> tuple[HTTPServer, str]:
    """Serve a plain HTTP handler on a free loopback port in a thread."""
    server = _ThreadingHTTPServer(("127.0.0.1", 0), handler)
    _run_in_thread(server)
    return server, f"http://127.0.0.1:{server.server_port}"


@attrs.frozen
class Loopback:
    """Starters of loopback servers for tests that manage their lifetime."""

    wsgi: Callable[[Any], tuple[WSGIServer, str]] = start_server
    http: Callable[[type[BaseHTTPRequestHandler]], tuple[HTTPServer, str]] = (
        start_http_server
    )


@pytest.fixture(scope="session")
def loopback() -> Loopback:
    """Start WSGI apps or HTTP handlers on loopback; the caller shuts them down."""
    return Loopback()


@pytest.fixture
def serve_app() -> Iterator[Callable[[Any], str]]:
    """Serve any WSGI app on loopback for the test; call it with the app, get a URL."""
    servers: list[WSGIServer] = []

    def serve(app: Any) -> str:
        server, url = start_server(app)
        servers.append(server)
        return url

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def _live_servers() -> Iterator[dict[str, tuple[LiveServer, Callable[[], None]]]]:
    """The session's receivers, one per database URL, stopped at the end."""
    servers: dict[str, tuple[LiveServer, Callable[[], None]]] = {}
    yield servers
    for _, close in servers.values():
        close()


@pytest.fixture
def live_server(
    db_url: str, _live_servers: dict[str, tuple[LiveServer, Callable[[], None]]]
) -> LiveServer:
    """The real receiver (auth mode none) on the emptied ``db_url``, over HTTP."""
    if db_url not in _live_servers:
        _live_servers[db_url] = _start_live_server(db_url)
    return _live_servers[db_url][0]


def _start_live_server(db_url: str) -> tuple[LiveServer, Callable[[], None]]:
    from cisizer.server import Settings, create_app
    from cisizer.server._storage import create_engine

    settings = Settings(read_token=READ_TOKEN, hmac_keys=(HMAC_KEY,), db_url=db_url)
    engine = create_engine(db_url)
    app = create_app(settings, engine)
    server, url = start_server(app)

    def close() -> None:
        server.shutdown()
        server.server_close()
        engine.dispose()

    return LiveServer(url, db_url, READ_TOKEN, HMAC_KEY, app), close
