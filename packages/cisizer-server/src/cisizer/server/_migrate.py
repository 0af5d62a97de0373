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
from alembic.script import ScriptDirectory

__all__ = ["HEAD", "head_revision", "migrate"]

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

    with lock_path.open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def migrate(engine: sa.Engine, revision: str = HEAD) -> None:
    """Upgrade the database behind ``engine`` to ``revision``.

    Note:
        Concurrent callers wait for each other: PostgreSQL through an
        advisory lock held for the upgrade, SQLite through an exclusive
        lock on a file beside the database.  The second caller then finds
        the schema current and does nothing.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(
                sa.text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY}
            )
            connection.commit()
            try:
                command.upgrade(_alembic_config(connection), revision)
                connection.commit()
            finally:
                connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY}
                )
                connection.commit()
        _LOGGER.info("database schema at %s", revision)
        return

    with _sqlite_file_lock(engine), engine.connect() as connection:
        command.upgrade(_alembic_config(connection), revision)
        connection.commit()
    _LOGGER.info("database schema at %s", revision)
