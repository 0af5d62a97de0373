"""Add the daily rollups of runs per job, organization and runner, and fill them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES: dict[str, tuple[tuple[str, int], ...]] = {
    "daily_job_totals": (
        ("organization", 255),
        ("repository", 511),
        ("workflow", 255),
        ("job", 255),
    ),
    "daily_organization_totals": (("organization", 255),),
    "daily_runner_totals": (("runner", 255),),
}

# Each rollup column and the expression over one run's row that feeds it.
_MEASURES = (
    ("runs", "count(*)"),
    ("successes", "sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END)"),
    ("failures", "sum(CASE WHEN status = 'failure' THEN 1 ELSE 0 END)"),
    ("limited_runs", "sum(CASE WHEN cpu_limit_cores IS NULL THEN 0 ELSE 1 END)"),
    ("duration_seconds", "sum(duration_seconds)"),
    ("max_duration_seconds", "max(duration_seconds)"),
    ("used_core_seconds", "sum(used_core_seconds)"),
    ("allocated_core_seconds", "sum(allocated_core_seconds)"),
    ("memory_gib_seconds", "sum(memory_gib_seconds)"),
    ("limited_used_core_seconds", "sum(limited_used_core_seconds)"),
    ("limited_core_seconds", "sum(limited_core_seconds)"),
    ("peak_memory_bytes", "max(peak_memory_bytes)"),
    ("first_end_time", "min(end_time)"),
    ("last_end_time", "max(end_time)"),
)


def _columns(keys: tuple[tuple[str, int], ...]) -> list[sa.Column[object]]:
    columns: list[sa.Column[object]] = [
        sa.Column(name, sa.String(length), nullable=False) for name, length in keys
    ]
    columns += [
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
    ]
    return columns


def upgrade() -> None:
    """Create the three rollups and fill them from the runs stored so far."""
    dialect = op.get_bind().dialect.name
    # SQLite keeps UTC times as text; PostgreSQL as timestamptz.
    day = (
        "CAST(timezone('UTC', end_time) AS date)"
        if dialect == "postgresql"
        else "date(end_time)"
    )
    for table, keys in _TABLES.items():
        names = [name for name, _ in keys]
        op.create_table(
            table,
            *_columns(keys),
            sa.PrimaryKeyConstraint(*names, "day", name=f"pk_{table}"),
        )
        key_list = ", ".join(names)
        measures = ", ".join(expression for _, expression in _MEASURES)
        targets = ", ".join(name for name, _ in _MEASURES)
        where = "WHERE runner IS NOT NULL " if "runner" in names else ""
        op.execute(
            f"INSERT INTO {table} ({key_list}, day, {targets}) "  # noqa: S608
            f"SELECT {key_list}, {day}, {measures} FROM runs {where}"
            f"GROUP BY {key_list}, {day}"
        )


def downgrade() -> None:
    """Drop the three rollups."""
    for table in reversed(_TABLES):
        op.drop_table(table)
