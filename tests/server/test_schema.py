"""The migrations build exactly the schema that cisizer.server._schema describes."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cisizer.server import migrate
from cisizer.server._migrate import head_revision
from cisizer.server._schema import metadata
from cisizer.server._storage import create_engine


def test_migrated_database_matches_the_metadata(blank_db_url):
    """Autogenerate finds no difference between the migrated schema and the tables."""
    engine = create_engine(blank_db_url)
    migrate(engine)

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
        indexes = {
            index["name"] for index in sa.inspect(connection).get_indexes("runs")
        }
    engine.dispose()

    assert differences == []
    assert {"ix_runs_job_end_time", "ix_runs_runner_end_time"} <= indexes


def test_sqlite_runs_in_wal_mode(tmp_path):
    """A SQLite database is switched to write-ahead logging."""
    engine = create_engine(f"sqlite:///{tmp_path / 'wal.db'}")

    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    engine.dispose()

    assert mode == "wal"


def test_migrating_twice_changes_nothing(blank_db_url):
    """A second migration of a current database is a no-op."""
    engine = create_engine(blank_db_url)
    migrate(engine)
    migrate(engine)

    with engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
        assert version.scalars().all() == [head_revision()]
    engine.dispose()
