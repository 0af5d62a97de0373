"""Keep the daily rollups of runs current as runs are stored.

Each stored run adds itself to one row per rollup (job, organization and
runner, each per UTC day of ``end_time``), inside the transaction that
stored it, so a rollup never disagrees with the runs table.  The upsert is
``INSERT ... ON CONFLICT DO UPDATE`` on both databases; only the scalar
maximum and minimum differ (``greatest``/``least`` on PostgreSQL, the
two-argument ``max``/``min`` on SQLite).  On PostgreSQL the upserts are
parts of one ``WITH`` statement with the run's insert (:func:`rollup_upserts_sql`), so
a push is one statement; SQLite, which has no data-modifying ``WITH``, runs
them one by one after the insert (:func:`add_run_to_rollups`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from cisizer.server._schema import (
    daily_job_totals,
    daily_organization_totals,
    daily_runner_totals,
    runs,
)

__all__ = [
    "MEASURES",
    "SUMMED",
    "add_run_to_rollups",
    "rollup_params",
    "rollup_upserts_sql",
    "run_measures",
]

# Rollup columns that add up, and those that keep an extreme.
SUMMED = (
    "runs",
    "successes",
    "failures",
    "limited_runs",
    "duration_seconds",
    "used_core_seconds",
    "allocated_core_seconds",
    "memory_gib_seconds",
    "limited_used_core_seconds",
    "limited_core_seconds",
)
_LARGEST = ("max_duration_seconds", "peak_memory_bytes", "last_end_time")
_SMALLEST = ("first_end_time",)
# A run's day and measures, in the order rollup_upserts_sql() takes them.
MEASURES = ("day", *SUMMED, *_LARGEST, *_SMALLEST)

_ROLLUP_KEYS: tuple[tuple[sa.Table, tuple[str, ...]], ...] = (
    (daily_job_totals, ("organization", "repository", "workflow", "job")),
    (daily_organization_totals, ("organization",)),
    (daily_runner_totals, ("runner",)),
)


def run_measures(values: Mapping[str, Any]) -> dict[str, Any]:
    """The rollup measures of one run, from the values of its ``runs`` row."""
    end_time: datetime = values["end_time"]
    return {
        "runs": 1,
        "successes": int(values["status"] == "success"),
        "failures": int(values["status"] == "failure"),
        "limited_runs": int(values["cpu_limit_cores"] is not None),
        "duration_seconds": values["duration_seconds"],
        "max_duration_seconds": values["duration_seconds"],
        "used_core_seconds": values["used_core_seconds"],
        "allocated_core_seconds": values["allocated_core_seconds"],
        "memory_gib_seconds": values["memory_gib_seconds"],
        "limited_used_core_seconds": values["limited_used_core_seconds"],
        "limited_core_seconds": values["limited_core_seconds"],
        "peak_memory_bytes": values["peak_memory_bytes"],
        "first_end_time": end_time,
        "last_end_time": end_time,
    }


@functools.cache
def _upserts(dialect: str) -> tuple[tuple[tuple[str, ...], Any], ...]:
    """Each rollup's keys and upsert of one run's measures, built once per dialect.

    The values are bound at execution, so a push does not build SQL.
    """
    postgres = dialect == "postgresql"
    insert = postgresql.insert if postgres else sqlite.insert
    upserts = []
    for table, keys in _ROLLUP_KEYS:
        statement = insert(table)
        changes = _changes(table, statement.excluded, postgres=postgres)
        upserts.append(
            (
                keys,
                statement.on_conflict_do_update(
                    index_elements=[*keys, "day"], set_=changes
                ),
            )
        )
    return tuple(upserts)


def _changes(
    table: sa.Table, excluded: Any, *, postgres: bool = True
) -> dict[str, Any]:
    """What an upsert sets on a rollup row that exists: sums and extremes."""
    largest = sa.func.greatest if postgres else sa.func.max
    smallest = sa.func.least if postgres else sa.func.min
    changes: dict[str, Any] = {name: table.c[name] + excluded[name] for name in SUMMED}
    changes.update({name: largest(table.c[name], excluded[name]) for name in _LARGEST})
    changes.update(
        {name: smallest(table.c[name], excluded[name]) for name in _SMALLEST}
    )
    return changes


def rollup_upserts_sql(new_run: str, measures: str) -> list[str]:
    """PostgreSQL: one upsert per rollup of the run that ``new_run`` inserted.

    Each is a ``name AS (INSERT ...)`` part of a ``WITH`` statement, as SQL
    text: ``new_run`` names the part that inserts the run and returns its
    rollup key columns, ``measures`` the one-row part holding the run's
    ``day`` and measures (:data:`MEASURES`, in that order, by position).  An upsert
    selects from ``new_run``, so it adds nothing when the insert did nothing
    (the run was stored already).  The text is kept short: psycopg parses a
    statement this long anew on every execution.
    """
    parts = []
    for number, (table, keys) in enumerate(_ROLLUP_KEYS):
        changes = [f"{name}=t.{name}+excluded.{name}" for name in SUMMED]
        changes += [f"{name}=greatest(t.{name},excluded.{name})" for name in _LARGEST]
        changes += [f"{name}=least(t.{name},excluded.{name})" for name in _SMALLEST]
        # Only a nullable key (the runner) can leave a run out of a rollup.
        present = "".join(
            f" AND {key} IS NOT NULL" for key in keys if runs.c[key].nullable
        )
        parts.append(
            # Every name is the schema's own; every value is bound.
            f"add{number} AS (INSERT INTO {table.name} AS t"  # noqa: S608
            f"({','.join((*keys, *MEASURES))})"
            f"SELECT {','.join(keys)},{measures}.* FROM {new_run},{measures} "
            f"WHERE true{present} "
            f"ON CONFLICT({','.join((*keys, 'day'))})DO UPDATE SET {','.join(changes)})"
        )
    return parts


def rollup_params(values: Mapping[str, Any]) -> list[Any]:
    """A run's day and measures (``runs`` row ``values``), as :data:`MEASURES`."""
    measures = run_measures(values)
    measures["day"] = values["end_time"].astimezone(UTC).date()
    return [measures[name] for name in MEASURES]


def add_run_to_rollups(connection: sa.Connection, values: Mapping[str, Any]) -> None:
    """Add one newly stored run (its ``runs`` row values) to every rollup."""
    day = values["end_time"].astimezone(UTC).date()
    measures = run_measures(values)

    for keys, upsert in _upserts(connection.dialect.name):
        if any(values[key] is None for key in keys):
            continue
        connection.execute(
            upsert, {**{key: values[key] for key in keys}, "day": day, **measures}
        )
