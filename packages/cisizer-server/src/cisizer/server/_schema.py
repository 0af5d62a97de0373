"""Database tables of the receiver, as SQLAlchemy Core metadata.

The schema itself is created and changed only by the Alembic migrations in
``cisizer/server/migrations``; these objects describe it for queries and
must stay in step with the newest migration (a test compares them).

Times are stored in UTC.  SQLite keeps them as naive ISO text, which sorts
and compares correctly as long as every value written is UTC first, so the
storage layer converts on the way in and attaches UTC on the way out.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = [
    "NAME_LENGTH",
    "NATURAL_KEY",
    "REPOSITORY_LENGTH",
    "daily_job_totals",
    "daily_organization_totals",
    "daily_runner_totals",
    "metadata",
    "overrides",
    "runs",
]

NAME_LENGTH = 255
# A full repository name is an owner and a name, each up to NAME_LENGTH.
REPOSITORY_LENGTH = 2 * NAME_LENGTH + 1

NATURAL_KEY = (
    "organization",
    "repository",
    "workflow",
    "job",
    "run_id",
    "run_attempt",
)

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("organization", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("repository", sa.String(REPOSITORY_LENGTH), nullable=False),
    sa.Column("workflow", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("job", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("run_id", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("run_attempt", sa.Integer(), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("runner", sa.String(NAME_LENGTH), nullable=True),
    # The figures of cisizer.core.run_figures, so aggregates run in SQL.
    sa.Column("duration_seconds", sa.Float(), nullable=False),
    sa.Column("used_core_seconds", sa.Float(), nullable=False),
    sa.Column("allocated_core_seconds", sa.Float(), nullable=False),
    sa.Column("memory_gib_seconds", sa.Float(), nullable=False),
    sa.Column("peak_memory_bytes", sa.BigInteger(), nullable=False),
    sa.Column("peak_cpu_cores", sa.Float(), nullable=False),
    sa.Column("cpu_limit_cores", sa.Float(), nullable=True),
    sa.Column("memory_limit_bytes", sa.BigInteger(), nullable=True),
    sa.Column("limited_used_core_seconds", sa.Float(), nullable=False),
    sa.Column("limited_core_seconds", sa.Float(), nullable=False),
    sa.Column("oom_kills", sa.Integer(), nullable=False),
    sa.Column("payload", _Json, nullable=False),
    sa.UniqueConstraint(*NATURAL_KEY, name="uq_runs_natural_key"),
    sa.Index(
        "ix_runs_job_end_time",
        "organization",
        "repository",
        "workflow",
        "job",
        "end_time",
    ),
    sa.Index("ix_runs_runner_end_time", "runner", "end_time"),
    sa.Index("ix_runs_end_time", "end_time"),
)

# An unset scope part is the empty string rather than NULL, so that the
# unique key (and with it ON CONFLICT upserts) works on every database.
overrides = sa.Table(
    "overrides",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("organization", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("repository", sa.String(REPOSITORY_LENGTH), nullable=False),
    sa.Column("workflow", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("job", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("runs", sa.Integer(), nullable=True),
    sa.Column("buffer_percent", sa.Integer(), nullable=True),
    sa.Column("cpu_percentile", sa.String(8), nullable=True),
    sa.Column("cpu_sizing_mode", sa.String(16), nullable=True),
    sa.Column("memory_qos", sa.String(16), nullable=True),
    sa.Column("min_cpu", sa.String(64), nullable=True),
    sa.Column("max_cpu", sa.String(64), nullable=True),
    sa.Column("min_memory", sa.String(64), nullable=True),
    sa.Column("max_memory", sa.String(64), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint(
        "organization",
        "repository",
        "workflow",
        "job",
        name="uq_overrides_scope",
    ),
)


def _daily_totals(name: str, *keys: sa.Column[str]) -> sa.Table:
    """A rollup of the runs per ``keys`` and UTC day of ``end_time``."""
    return sa.Table(
        name,
        metadata,
        *keys,
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("successes", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("limited_runs", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("max_duration_seconds", sa.Float(), nullable=False),
        sa.Column("used_core_seconds", sa.Float(), nullable=False),
        sa.Column("allocated_core_seconds", sa.Float(), nullable=False),
        sa.Column("memory_gib_seconds", sa.Float(), nullable=False),
        sa.Column("limited_used_core_seconds", sa.Float(), nullable=False),
        sa.Column("limited_core_seconds", sa.Float(), nullable=False),
        sa.Column("peak_memory_bytes", sa.BigInteger(), nullable=False),
        sa.Column("first_end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_end_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*(key.name for key in keys), "day"),
    )


# Rollups kept at ingest in the transaction that stores the run, so that
# aggregates over whole days read these rather than every run.
daily_job_totals = _daily_totals(
    "daily_job_totals",
    sa.Column("organization", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("repository", sa.String(REPOSITORY_LENGTH), nullable=False),
    sa.Column("workflow", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("job", sa.String(NAME_LENGTH), nullable=False),
)
daily_organization_totals = _daily_totals(
    "daily_organization_totals",
    sa.Column("organization", sa.String(NAME_LENGTH), nullable=False),
)
daily_runner_totals = _daily_totals(
    "daily_runner_totals",
    sa.Column("runner", sa.String(NAME_LENGTH), nullable=False),
)
