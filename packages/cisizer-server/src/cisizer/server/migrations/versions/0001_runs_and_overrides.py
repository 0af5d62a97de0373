"""Create the runs and overrides tables.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create the runs and overrides tables with their indexes."""
    op.create_table(
        "runs",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("organization", sa.String(255), nullable=False),
        sa.Column("repository", sa.String(511), nullable=False),
        sa.Column("workflow", sa.String(255), nullable=False),
        sa.Column("job", sa.String(255), nullable=False),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("run_attempt", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("runner", sa.String(255), nullable=True),
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
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.UniqueConstraint(
            "organization",
            "repository",
            "workflow",
            "job",
            "run_id",
            "run_attempt",
            name="uq_runs_natural_key",
        ),
    )
    op.create_index(
        "ix_runs_job_end_time",
        "runs",
        ["organization", "repository", "workflow", "job", "end_time"],
    )
    op.create_index("ix_runs_runner_end_time", "runs", ["runner", "end_time"])
    op.create_index("ix_runs_end_time", "runs", ["end_time"])

    op.create_table(
        "overrides",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("organization", sa.String(255), nullable=False),
        sa.Column("repository", sa.String(511), nullable=False),
        sa.Column("workflow", sa.String(255), nullable=False),
        sa.Column("job", sa.String(255), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_overrides"),
        sa.UniqueConstraint(
            "organization",
            "repository",
            "workflow",
            "job",
            name="uq_overrides_scope",
        ),
    )


def downgrade() -> None:
    """Drop the runs and overrides tables."""
    op.drop_table("overrides")
    op.drop_index("ix_runs_end_time", table_name="runs")
    op.drop_index("ix_runs_runner_end_time", table_name="runs")
    op.drop_index("ix_runs_job_end_time", table_name="runs")
    op.drop_table("runs")
