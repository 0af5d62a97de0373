"""Storage of runs and overrides: every query the receiver makes, in SQLAlchemy Core.

Each function takes the engine and runs in its own transaction.  Filters,
ordering, pagination and sums are done by the database; only the rows a
caller asked for are loaded.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from cisizer.core import (
    CpuPercentile,
    CpuSizingMode,
    JobKey,
    MemoryQoS,
    Override,
    OverrideScope,
    Push,
    Run,
    RunFigures,
    RunStatus,
    StoredOverride,
    Summary,
    converter,
)
from cisizer.server._rollup import (
    MEASURES,
    add_run_to_rollups,
    rollup_params,
    rollup_upserts_sql,
)
from cisizer.server._schema import NATURAL_KEY, overrides, runs

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Page",
    "RunTotals",
    "TimeRange",
    "create_engine",
    "delete_override",
    "insert_run",
    "job_filter",
    "job_history",
    "list_overrides",
    "list_runs",
    "overrides_for_job",
    "overrides_for_jobs",
    "ping",
    "put_override",
    "run_totals",
    "status_counts",
    "time_filter",
    "to_utc",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
SQLITE_BUSY_TIMEOUT_MS = 15_000

_E = TypeVar("_E", CpuPercentile, CpuSizingMode, MemoryQoS)


@attrs.frozen
class TimeRange:
    """Runs whose ``end_time`` lies from ``start`` to ``end``, both inclusive."""

    start: datetime | None = None
    end: datetime | None = None


@attrs.frozen
class Page:
    """One page of a newest-first list."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0


@attrs.frozen
class RunTotals:
    """Sums over a set of runs of the per-run figures energy is computed from."""

    runs: int
    used_core_seconds: float
    allocated_core_seconds: float
    memory_gib_seconds: float


def _on_sqlite_connect(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


# The databases and drivers the receiver's SQL is written for.
_SUPPORTED_DATABASES = frozenset({("sqlite", "pysqlite"), ("postgresql", "psycopg")})


def create_engine(url: str) -> sa.Engine:
    """Create the engine for ``url``; SQLite files run in WAL mode.

    Raises:
        sqlalchemy.exc.ArgumentError: ``url`` is not a database URL, or names
            a database or driver other than SQLite or PostgreSQL with psycopg.
    """
    parsed = sa.engine.make_url(url)
    database = (parsed.get_backend_name(), parsed.get_driver_name())
    if database not in _SUPPORTED_DATABASES:
        raise sa.exc.ArgumentError(
            f"{parsed.drivername}:// is not supported; use sqlite:///FILE or "
            "postgresql+psycopg://USER@HOST/DATABASE"
        )
    sqlite_file = database[0] == "sqlite"
    # A server can drop a pooled connection; an SQLite file cannot, so pinging
    # it before every use would only cost a statement.
    engine = sa.create_engine(url, pool_pre_ping=not sqlite_file)
    if sqlite_file:
        sa.event.listen(engine, "connect", _on_sqlite_connect)
    return engine


def ping(engine: sa.Engine) -> None:
    """Run a trivial query; raise when the database cannot be reached."""
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


def to_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC, taking a naive value (SQLite's) to be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _insert(engine: sa.Engine, table: sa.Table) -> Any:
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def job_filter(job: JobKey) -> sa.ColumnElement[bool]:
    """The condition selecting the runs of ``job``."""
    return sa.and_(
        runs.c.organization == job.organization,
        runs.c.repository == job.repository,
        runs.c.workflow == job.workflow,
        runs.c.job == job.job,
    )


def time_filter(time_range: TimeRange) -> sa.ColumnElement[bool]:
    """The condition selecting runs that ended within ``time_range``."""
    conditions: list[sa.ColumnElement[bool]] = []
    if time_range.start is not None:
        conditions.append(runs.c.end_time >= to_utc(time_range.start))
    if time_range.end is not None:
        conditions.append(runs.c.end_time <= to_utc(time_range.end))
    return sa.and_(sa.true(), *conditions)


def _run_from_row(row: sa.Row[Any]) -> Run:
    return Run(
        id=row.id,
        received_at=to_utc(row.received_at),
        organization=row.organization,
        repository=row.repository,
        workflow=row.workflow,
        job=row.job,
        run_id=row.run_id,
        run_attempt=row.run_attempt,
        runner=row.runner,
        status=RunStatus(row.status),
        payload=converter.structure(row.payload, Summary),
    )


def insert_run(
    engine: sa.Engine, push: Push, figures: RunFigures, received_at: datetime
) -> tuple[Run, bool]:
    """Store ``push`` unless its natural key is stored already.

    Returns the stored run (the first one pushed under this key) and whether
    this call stored it.  Safe against the same push arriving at once in
    several processes: the unique key lets exactly one insert through.
    """
    values = {
        "organization": push.organization,
        "repository": push.repository,
        "workflow": push.workflow,
        "job": push.job,
        "run_id": push.run_id,
        "run_attempt": push.run_attempt,
        "received_at": to_utc(received_at),
        "start_time": to_utc(push.payload.start_time),
        "end_time": to_utc(push.payload.end_time),
        "status": push.status.value,
        "runner": push.runner,
        "payload": converter.unstructure(push.payload),
        **{
            field.name: getattr(figures, field.name)
            for field in attrs.fields(RunFigures)
        },
    }
    key = {f"key_{name}": values[name] for name in NATURAL_KEY}

    if engine.dialect.name == "postgresql":
        inserted = _insert_with_rollups(engine, values)
        if inserted is None:
            with engine.connect() as connection:
                stored = connection.execute(_STORED_RUN, key).one()
            return _run_from_row(stored), False
    else:
        with engine.begin() as connection:
            # RETURNING yields a row only when this statement inserted one.
            inserted = connection.execute(_new_run(engine.dialect.name), values).first()
            if inserted is None:
                return _run_from_row(connection.execute(_STORED_RUN, key).one()), False
            add_run_to_rollups(connection, values)
    # The new row holds what the push holds, so it is answered without reading it.
    return (
        Run(
            id=inserted.id,
            received_at=values["received_at"],
            organization=push.organization,
            repository=push.repository,
            workflow=push.workflow,
            job=push.job,
            run_id=push.run_id,
            run_attempt=push.run_attempt,
            runner=push.runner,
            status=push.status,
            payload=push.payload,
        ),
        True,
    )


@functools.cache
def _new_run(dialect: str) -> Any:
    """The insert of a run that does nothing when its key is stored, built once.

    The values are bound at execution, so a push does not build SQL.
    """
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(runs)
        .on_conflict_do_nothing(index_elements=list(NATURAL_KEY))
        .returning(runs.c.id)
    )


def _insert_with_rollups(engine: sa.Engine, values: dict[str, Any]) -> Any:
    """PostgreSQL: store a run and add it to the rollups in one statement.

    The insert and the rollup upserts are one ``WITH`` statement, run on its
    own (autocommit), so it is one transaction of one round trip instead of
    begin, four statements and commit; it commits, durably, as a whole or
    not at all.  Returns the new row's id, or None when the key was stored.
    """
    # The binds are numbered, short names keeping the statement short.
    params = {f"v{number}": values[name] for number, name in enumerate(_RUN_COLUMNS)}
    params.update(
        (f"m{number}", value) for number, value in enumerate(rollup_params(values))
    )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(_new_run_with_rollups(), params).first()


@functools.cache
def _new_run_with_rollups() -> sa.TextClause:
    """The statement of :func:`_insert_with_rollups`, built once.

    It is text, not a compiled Core statement, with numbered binds: psycopg
    caches its parse of a statement's placeholders only up to 4 KiB, so one
    this long is parsed on every push, and Core's spelling (every rollup
    column with its table's name twice, every bind cast) would be nearly
    twice as long to parse.
    """
    new_run = (
        f"new_run AS (INSERT INTO runs({','.join(_RUN_COLUMNS)})"
        f"VALUES({','.join(f':v{number}' for number in range(len(_RUN_COLUMNS)))})"
        f"ON CONFLICT({','.join(NATURAL_KEY)})DO NOTHING "
        "RETURNING id,organization,repository,workflow,job,runner)"
    )
    measures = (
        f"measures AS (VALUES({','.join(f':m{n}' for n in range(len(MEASURES)))}))"
    )
    parts = [new_run, measures, *rollup_upserts_sql("new_run", "measures")]
    # Every name is the schema's own; every value is bound.
    statement = f"WITH {','.join(parts)} SELECT id FROM new_run"  # noqa: S608
    return sa.text(statement).bindparams(
        sa.bindparam(f"v{_RUN_COLUMNS.index('payload')}", type_=runs.c.payload.type)
    )


_RUN_COLUMNS = tuple(column.name for column in runs.columns if column.name != "id")


_STORED_RUN = sa.select(runs).where(
    *(runs.c[name] == sa.bindparam(f"key_{name}") for name in NATURAL_KEY)
)


def list_runs(
    engine: sa.Engine,
    *,
    job: JobKey | None = None,
    runner: str | None = None,
    time_range: TimeRange = TimeRange(),
    page: Page = Page(),
) -> list[Run]:
    """Stored runs, newest ``end_time`` first, of one job or runner or all."""
    query = sa.select(runs).where(time_filter(time_range))
    if job is not None:
        query = query.where(job_filter(job))
    if runner is not None:
        query = query.where(runs.c.runner == runner)
    query = (
        query.order_by(runs.c.end_time.desc(), runs.c.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    )

    with engine.connect() as connection:
        return [_run_from_row(row) for row in connection.execute(query)]


def job_history(engine: sa.Engine, job: JobKey, count: int) -> list[Summary]:
    """The summaries of the ``count`` newest runs of ``job`` that were not cancelled."""
    query = (
        sa.select(runs.c.payload)
        .where(job_filter(job), runs.c.status != RunStatus.CANCELLED.value)
        .order_by(runs.c.end_time.desc(), runs.c.id.desc())
        .limit(count)
    )

    with engine.connect() as connection:
        payloads = connection.execute(query).scalars().all()
    return [converter.structure(payload, Summary) for payload in payloads]


def run_totals(
    engine: sa.Engine, job: JobKey, time_range: TimeRange = TimeRange()
) -> RunTotals:
    """Sum the energy figures of the runs of ``job`` within ``time_range``."""
    query = sa.select(
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(runs.c.used_core_seconds), 0.0),
        sa.func.coalesce(sa.func.sum(runs.c.allocated_core_seconds), 0.0),
        sa.func.coalesce(sa.func.sum(runs.c.memory_gib_seconds), 0.0),
    ).where(job_filter(job), time_filter(time_range))

    with engine.connect() as connection:
        count, used, allocated, gib = connection.execute(query).one()
    return RunTotals(int(count), float(used), float(allocated), float(gib))


def status_counts(
    engine: sa.Engine, job: JobKey, time_range: TimeRange = TimeRange()
) -> dict[RunStatus, int]:
    """Count the runs of ``job`` within ``time_range`` per status."""
    query = (
        sa.select(runs.c.status, sa.func.count())
        .where(job_filter(job), time_filter(time_range))
        .group_by(runs.c.status)
    )

    with engine.connect() as connection:
        rows = connection.execute(query).all()
    counts = dict.fromkeys(RunStatus, 0)
    for status, count in rows:
        counts[RunStatus(status)] = int(count)
    return counts


_OVERRIDE_FIELDS = tuple(field.name for field in attrs.fields(Override))


def _scope_values(scope: OverrideScope) -> dict[str, str]:
    return {
        "organization": scope.organization,
        "repository": scope.repository or "",
        "workflow": scope.workflow or "",
        "job": scope.job or "",
    }


def _override_values(override: Override) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _OVERRIDE_FIELDS:
        value = getattr(override, name)
        values[name] = value.value if hasattr(value, "value") else value
    return values


def _stored_override(row: sa.Row[Any]) -> StoredOverride:
    scope = OverrideScope(
        organization=row.organization,
        repository=row.repository or None,
        workflow=row.workflow or None,
        job=row.job or None,
    )
    override = Override(
        runs=row.runs,
        buffer_percent=row.buffer_percent,
        cpu_percentile=_enum(CpuPercentile, row.cpu_percentile),
        cpu_sizing_mode=_enum(CpuSizingMode, row.cpu_sizing_mode),
        memory_qos=_enum(MemoryQoS, row.memory_qos),
        min_cpu=row.min_cpu,
        max_cpu=row.max_cpu,
        min_memory=row.min_memory,
        max_memory=row.max_memory,
    )
    return StoredOverride(scope, override, to_utc(row.updated_at))


def _enum(kind: type[_E], value: str | None) -> _E | None:
    return None if value is None else kind(value)


def list_overrides(engine: sa.Engine, page: Page = Page()) -> list[StoredOverride]:
    """Every stored override, ordered by scope (wider scopes first)."""
    query = (
        sa.select(overrides)
        .order_by(
            overrides.c.organization,
            overrides.c.repository,
            overrides.c.workflow,
            overrides.c.job,
        )
        .limit(page.limit)
        .offset(page.offset)
    )

    with engine.connect() as connection:
        return [_stored_override(row) for row in connection.execute(query)]


def overrides_for_job(
    engine: sa.Engine, job: JobKey
) -> list[tuple[OverrideScope, Override]]:
    """The overrides that apply to ``job``: its org, repo, workflow and job scopes."""
    query = sa.select(overrides).where(
        overrides.c.organization == job.organization,
        overrides.c.repository.in_(("", job.repository)),
        overrides.c.workflow.in_(("", job.workflow)),
        overrides.c.job.in_(("", job.job)),
    )

    with engine.connect() as connection:
        stored = [_stored_override(row) for row in connection.execute(query)]
    return [(item.scope, item.override) for item in stored if _covers(item.scope, job)]


def overrides_for_jobs(
    engine: sa.Engine, jobs: Sequence[JobKey]
) -> list[list[tuple[OverrideScope, Override]]]:
    """The overrides that apply to each of ``jobs``, read in one query."""
    organizations = sorted({job.organization for job in jobs})
    query = sa.select(overrides).where(overrides.c.organization.in_(organizations))

    with engine.connect() as connection:
        stored = [_stored_override(row) for row in connection.execute(query)]
    return [
        [(item.scope, item.override) for item in stored if _covers(item.scope, job)]
        for job in jobs
    ]


def _covers(scope: OverrideScope, job: JobKey) -> bool:
    # A workflow override without its repository cannot exist, but a row such
    # as (org, "", wf, "") must still not match every repository's workflow.
    return (
        OverrideScope(
            job.organization,
            job.repository if scope.repository else None,
            job.workflow if scope.workflow else None,
            job.job if scope.job else None,
        )
        == scope
    )


def put_override(
    engine: sa.Engine, scope: OverrideScope, override: Override, now: datetime
) -> tuple[StoredOverride, bool]:
    """Store ``override`` at ``scope``, replacing any; say whether it is new."""
    scope_values = _scope_values(scope)
    values = {**scope_values, **_override_values(override), "updated_at": to_utc(now)}
    insert = (
        _insert(engine, overrides)
        .values(values)
        .on_conflict_do_nothing(index_elements=list(scope_values))
        .returning(overrides.c.id)
    )
    key = sa.and_(*(overrides.c[name] == value for name, value in scope_values.items()))

    with engine.begin() as connection:
        created = connection.execute(insert).first() is not None
        if not created:
            connection.execute(sa.update(overrides).where(key).values(values))
        row = connection.execute(sa.select(overrides).where(key)).one()
    return _stored_override(row), created


def delete_override(engine: sa.Engine, scope: OverrideScope) -> bool:
    """Remove the override at ``scope``; say whether there was one."""
    key = sa.and_(
        *(overrides.c[name] == value for name, value in _scope_values(scope).items())
    )

    with engine.begin() as connection:
        return connection.execute(sa.delete(overrides).where(key)).rowcount > 0
