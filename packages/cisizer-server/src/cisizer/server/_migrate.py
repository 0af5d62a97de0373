"""Apply the Alembic migrations, safely when several processes start at once."""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from cisizer.server._errors import ConfigurationError

__all__ = ["HEAD", "check_schema", "current_revision", "head_revision", "migrate"]

_LOGGER = logging.getLogger(__name__)

HEAD = "head"
# Any constant works; it only has to be the same in every receiver process.
_PG_LOCK_KEY = 0x0C15_12E7


def _alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "cisizer.server:migrations")
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision of the shipped migrations."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


@contextlib.contextmanager
def _sqlite_file_lock(engine: sa.Engine) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return

    lock_path = Path(f"{database}.migrate-lock")
    if not lock_path.parent.is_dir():
        # SQLite cannot open the database either and says so more plainly.
        yield
        return

    try:
        lock_file = lock_path.open("a")
    except OSError as error:
        raise ConfigurationError(
            f"--db-url: cannot create the migration lock {lock_path} "
            f"({error.strerror}); the database's directory must be writable"
        ) from error
    with lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _revisions() -> list[str]:
    """The shipped revisions, oldest first (the migrations form one line)."""
    script = ScriptDirectory.from_config(_alembic_config())
    return [item.revision for item in reversed(list(script.walk_revisions()))]


def _resolve(revision: str) -> str:
    """The full id of ``revision`` (``head``, an id or its unique prefix)."""
    script = ScriptDirectory.from_config(_alembic_config())
    try:
        found = script.get_revision(revision)
    except (CommandError, ValueError):
        found = None
    if found is None:
        known = ", ".join([*_revisions(), HEAD])
        raise ConfigurationError(
            f"--revision: no such revision {revision!r} (known: {known})"
        )
    return str(found.revision)


def current_revision(connection: sa.Connection) -> str | None:
    """The schema revision the database records, None when it has none."""
    return MigrationContext.configure(connection).get_current_revision()


def _check_known(current: str | None) -> None:
    if current is not None and current not in _revisions():
        raise ConfigurationError(
            f"database schema is at {current}, newer than this receiver knows "
            f"(it needs {head_revision()}); upgrade cisizer-server"
        )


def check_schema(engine: sa.Engine) -> None:
    """Raise ConfigurationError unless the database is at the newest revision."""
    database = engine.url.database
    if (
        engine.dialect.name == "sqlite"
        and database
        and database != ":memory:"
        and not database.startswith("file:")
        and not Path(database).exists()
    ):
        # Connecting would create an empty file; there is no schema either way.
        current = None
    else:
        with engine.connect() as connection:
            current = current_revision(connection)
    _check_known(current)
    if current != head_revision():
        shown = "empty (no CI Sizer tables)" if current is None else f"at {current}"
        raise ConfigurationError(
            f"database schema is {shown}, this receiver needs {head_revision()}; "
            "run cisizer-server migrate"
        )


def _upgrade(connection: sa.Connection, target: str) -> str | None:
    """Upgrade to ``target`` unless already there or beyond; return the result."""
    current = current_revision(connection)
    _check_known(current)
    order = _revisions()
    if current is not None and order.index(current) >= order.index(target):
        _LOGGER.info(
            "database schema is already at %s, not older than %s; nothing to do "
            "(migrate never downgrades)",
            current,
            target,
        )
        return current
    command.upgrade(_alembic_config(connection), target)
    _LOGGER.info("database schema upgraded from %s to %s", current or "empty", target)
    return target


def migrate(engine: sa.Engine, revision: str = HEAD) -> str | None:
    """Upgrade the database behind ``engine`` to ``revision``; return where it is.

    A database already at ``revision`` or beyond is left alone: migrate
    never downgrades.

    Raises:
        ConfigurationError: ``revision`` is unknown, or the database records
            a revision newer than the shipped migrations.

    Note:
        Concurrent callers wait for each other: PostgreSQL through an
        advisory lock held for the upgrade, SQLite through an exclusive
        lock on a file beside the database.  The second caller then finds
        the schema current and does nothing.
    """
    target = _resolve(revision)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(
                sa.text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY}
            )
            connection.commit()
            try:
                reached = _upgrade(connection, target)
                connection.commit()
            finally:
                connection.rollback()
                connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY}
                )
                connection.commit()
        return reached

    with _sqlite_file_lock(engine), engine.connect() as connection:
        reached = _upgrade(connection, target)
        connection.commit()
    return reached
