"""Fixtures shared by every distribution's tests: databases and a live receiver.

``db_url`` runs a test once on SQLite (a fresh file) and once on PostgreSQL
(a throw-away database created for the session and dropped after it).  When
PostgreSQL cannot be reached its half is skipped, or fails when ``CI`` is set.
``live_server`` serves the real receiver over HTTP on a free loopback port.
"""

from __future__ import annotations

import os
import secrets
import socketserver
import threading
from collections.abc import Iterator
from datetime import datetime
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
def _pg_database() -> Iterator[str]:
    """Create a throw-away PostgreSQL database for the session; drop it after."""
    sa = pytest.importorskip("sqlalchemy")
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"cisizer_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        admin.dispose()
        _pg_unavailable(str(error.orig).strip().splitlines()[0])

    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name)
    yield url.render_as_string(hide_password=False)

    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _empty_pg(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        tables = (
            connection.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'alembic_version'"
            )
            .scalars()
            .all()
        )
        if tables:
            names = ", ".join(f'"{table}"' for table in tables)
            connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL with no runs: a fresh SQLite file, or the emptied PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cisizer.db'}"
    url: str = request.getfixturevalue("_pg_database")
    _empty_pg(url)
    return url


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


def start_server(app: Any) -> tuple[WSGIServer, str]:
    """Serve a WSGI app on a free loopback port in a thread; return it and its URL."""
    server = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def serve_app() -> Iterator[Any]:
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


@pytest.fixture
def live_server(db_url: str) -> Iterator[LiveServer]:
    """The real receiver (auth mode none) on ``db_url``, served over HTTP."""
    from cisizer.server import Settings, create_app
    from cisizer.server._storage import create_engine

    settings = Settings(read_token=READ_TOKEN, hmac_keys=(HMAC_KEY,), db_url=db_url)
    engine = create_engine(db_url)
    app = create_app(settings, engine)
    server, url = start_server(app)
    yield LiveServer(url, db_url, READ_TOKEN, HMAC_KEY, app)
    server.shutdown()
    server.server_close()
    engine.dispose()
