"""Aggregates of runs for the reports, computed by the database.

Every aggregate is one ``GROUP BY`` over the daily rollups for the whole UTC
days inside the time range, joined (``UNION ALL``) with the runs of the
partial days at its edges, which the ``end_time`` index finds.  The answer
is exactly what the same aggregate over every run would give, while a
year of runs costs a few thousand rollup rows instead of a million runs.
Only the groups of the requested page are loaded.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import attrs
import sqlalchemy as sa

from cisizer.core import EnergyProfile, JobKey, RunStatus, SortOrder
from cisizer.server._rollup import SUMMED
from cisizer.server._schema import runs
from cisizer.server._storage import Page, TimeRange, to_utc

__all__ = [
    "MEASURES",
    "SORT_KEYS",
    "Group",
    "Sort",
    "grouped",
    "histories",
]

_LARGEST = ("max_duration_seconds", "peak_memory_bytes", "last_end_time")
_SMALLEST = ("first_end_time",)
MEASURES = (*SUMMED, *_LARGEST, *_SMALLEST)
_SECONDS_PER_HOUR = 3600.0

Filters = Mapping[str, str | Sequence[str]]


@attrs.frozen
class Group:
    """The summed figures of one group of runs; ``key`` holds its group values."""

    key: tuple[str, ...]
    runs: int
    successes: int
    failures: int
    limited_runs: int
    duration_seconds: float
    used_core_seconds: float
    allocated_core_seconds: float
    memory_gib_seconds: float
    limited_used_core_seconds: float
    limited_core_seconds: float
    max_duration_seconds: float | None
    peak_memory_bytes: int | None
    first_end_time: datetime | None
    last_end_time: datetime | None

    @property
    def utilisation(self) -> float | None:
        """Used cores over CPU limits, over the containers that reported one."""
        if self.limited_runs == 0 or self.limited_core_seconds <= 0:
            return None
        return self.limited_used_core_seconds / self.limited_core_seconds


@attrs.frozen
class Sort:
    """Order groups by a KPI (one of :data:`SORT_KEYS`), then by name.

    ``profile`` gives the coefficients of the energy and carbon sort keys.
    """

    key: str
    order: SortOrder
    profile: EnergyProfile


@attrs.frozen
class _Split:
    """A time range cut into whole days (from the rollup) and runs read singly.

    ``lower`` and ``upper`` bound the runs of the partial days at the edges;
    without the rollup, ``lower`` holds the whole range (either end open).
    """

    rollup: bool
    first_day: date | None = None
    last_day: date | None = None
    lower: tuple[datetime | None, datetime | None] | None = None
    upper: tuple[datetime, datetime] | None = None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _split(time_range: TimeRange, rollup: bool) -> _Split:
    start = None if time_range.start is None else to_utc(time_range.start)
    end = None if time_range.end is None else to_utc(time_range.end)
    runs_only = _Split(False, lower=(start, end))
    if not rollup:
        return runs_only
    try:
        first_day = None
        if start is not None:
            first_day = start.date()
            if start.timetz() != time.min.replace(tzinfo=UTC):
                first_day += timedelta(days=1)
        last_day = None
        if end is not None:
            last_day = end.date()
            if end.time() != time.max:
                last_day -= timedelta(days=1)
    except OverflowError:
        return runs_only
    if first_day is not None and last_day is not None and first_day > last_day:
        return runs_only

    lower = upper = None
    if start is not None and first_day is not None and start < _midnight(first_day):
        lower = (start, _midnight(first_day))
    if end is not None and end.time() != time.max:
        upper = (_midnight(end.date()), end)
    return _Split(True, first_day, last_day, lower, upper)


def _run_measures() -> list[sa.ColumnElement[Any]]:
    def count_of(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        return sa.case((condition, 1), else_=0)

    return [
        sa.literal(1, sa.Integer()).label("runs"),
        count_of(runs.c.status == RunStatus.SUCCESS.value).label("successes"),
        count_of(runs.c.status == RunStatus.FAILURE.value).label("failures"),
        count_of(runs.c.cpu_limit_cores.is_not(None)).label("limited_runs"),
        runs.c.duration_seconds,
        runs.c.used_core_seconds,
        runs.c.allocated_core_seconds,
        runs.c.memory_gib_seconds,
        runs.c.limited_used_core_seconds,
        runs.c.limited_core_seconds,
        runs.c.duration_seconds.label("max_duration_seconds"),
        runs.c.peak_memory_bytes,
        runs.c.end_time.label("last_end_time"),
        runs.c.end_time.label("first_end_time"),
    ]


def _time_param(name: str) -> sa.BindParameter[datetime]:
    return sa.bindparam(name, type_=runs.c.end_time.type)


@attrs.frozen
class _Shape:
    """Everything that decides the SQL text of an aggregate, but no values.

    Statements are built once per shape and cached; the values (names,
    dates, times, page, energy coefficients) are bound at execution.
    """

    rollup: sa.Table | None
    by: tuple[str, ...]
    filters: tuple[tuple[str, bool], ...]
    days: tuple[bool, bool] | None
    lower: tuple[bool, bool] | None
    upper: bool
    measures: tuple[str, ...]
    sort: tuple[str, SortOrder] | None
    paged: bool


def _filter(column: sa.ColumnElement[Any], name: str, many: bool) -> Any:
    if many:
        return column.in_(sa.bindparam(f"filter_{name}", expanding=True))
    return column == sa.bindparam(f"filter_{name}", type_=sa.String())


def _measured(shape: _Shape) -> sa.Subquery:
    """Rows of measures (rollup days, single runs) to be summed by ``shape.by``."""
    parts: list[sa.Select[Any]] = []
    if shape.rollup is not None and shape.days is not None:
        rollup = shape.rollup
        conditions = [
            _filter(rollup.c[name], name, many) for name, many in shape.filters
        ]
        if shape.days[0]:
            conditions.append(
                rollup.c.day >= sa.bindparam("first_day", type_=sa.Date())
            )
        if shape.days[1]:
            conditions.append(rollup.c.day <= sa.bindparam("last_day", type_=sa.Date()))
        parts.append(
            sa.select(
                *(rollup.c[name] for name in shape.by),
                *(rollup.c[name] for name in shape.measures),
            ).where(*conditions)
        )

    edges: list[sa.ColumnElement[bool]] = []
    if shape.lower is not None:
        bounds = []
        if shape.lower[0]:
            bounds.append(runs.c.end_time >= _time_param("lower_start"))
        if shape.lower[1]:
            # The lower edge ends before the first whole day; alone, it is inclusive.
            stop = _time_param("lower_end")
            bounds.append(
                runs.c.end_time < stop
                if shape.days is not None
                else runs.c.end_time <= stop
            )
        edges.append(sa.and_(sa.true(), *bounds))
    if shape.upper:
        edges.append(
            sa.and_(
                runs.c.end_time >= _time_param("upper_start"),
                runs.c.end_time <= _time_param("upper_end"),
            )
        )
    if edges:
        conditions = [_filter(runs.c[name], name, many) for name, many in shape.filters]
        if shape.rollup is not None:
            # A rollup leaves out runs without its keys (runs of no runner).
            conditions += [
                runs.c[column.name].is_not(None)
                for column in shape.rollup.primary_key.columns
                if column.name != "day"
            ]
        parts.append(
            sa.select(
                *(runs.c[name] for name in shape.by),
                *(
                    column
                    for column in _run_measures()
                    if column.name in shape.measures
                ),
            ).where(sa.or_(*edges), *conditions)
        )
    if len(parts) == 1:
        return parts[0].subquery("measured")
    return sa.union_all(*parts).subquery("measured")


def _aggregate(name: str, column: Any) -> sa.ColumnElement[Any]:
    if name in _LARGEST:
        return sa.func.max(column)
    if name in _SMALLEST:
        return sa.func.min(column)
    return sa.func.sum(column)


def _aggregates(
    measured: sa.Subquery, measures: Sequence[str]
) -> list[sa.ColumnElement[Any]]:
    return [_aggregate(name, measured.c[name]).label(name) for name in measures]


def _group(values: Mapping[Any, Any], key: tuple[str, ...]) -> Group:
    """Build a group from summed values; a measure not asked for counts as none."""

    def number(name: str) -> float:
        value = values.get(name)
        return 0.0 if value is None else float(value)

    def whole(name: str) -> int:
        value = values.get(name)
        return 0 if value is None else int(value)

    def moment(name: str) -> datetime | None:
        value = values.get(name)
        return None if value is None else to_utc(value)

    return Group(
        key=key,
        runs=whole("runs"),
        successes=whole("successes"),
        failures=whole("failures"),
        limited_runs=whole("limited_runs"),
        duration_seconds=number("duration_seconds"),
        used_core_seconds=number("used_core_seconds"),
        allocated_core_seconds=number("allocated_core_seconds"),
        memory_gib_seconds=number("memory_gib_seconds"),
        limited_used_core_seconds=number("limited_used_core_seconds"),
        limited_core_seconds=number("limited_core_seconds"),
        max_duration_seconds=(
            None
            if values.get("max_duration_seconds") is None
            else number("max_duration_seconds")
        ),
        peak_memory_bytes=(
            None
            if values.get("peak_memory_bytes") is None
            else whole("peak_memory_bytes")
        ),
        first_end_time=moment("first_end_time"),
        last_end_time=moment("last_end_time"),
    )


# Every field of a profile but its name is a coefficient.
_COEFFICIENTS = tuple(
    field.name for field in attrs.fields(EnergyProfile) if field.name != "name"
)
_PROFILE = {
    name: sa.bindparam(f"profile_{name}", type_=sa.Float()) for name in _COEFFICIENTS
}


def _energy_wh(columns: Any) -> sa.ColumnElement[Any]:
    profile = _PROFILE
    watt_seconds = (
        columns.allocated_core_seconds * profile["cpu_min_w"]
        + columns.used_core_seconds * (profile["cpu_max_w"] - profile["cpu_min_w"])
        + columns.memory_gib_seconds * profile["mem_w_per_gib"]
    )
    result: sa.ColumnElement[Any] = watt_seconds * profile["pue"] / _SECONDS_PER_HOUR
    return result


def _carbon_g(columns: Any) -> sa.ColumnElement[Any]:
    profile = _PROFILE
    result: sa.ColumnElement[Any] = (
        _energy_wh(columns) * profile["grid_g_per_kwh"] / 1000
        + columns.allocated_core_seconds
        * profile["embodied_g_per_core_hour"]
        / _SECONDS_PER_HOUR
    )
    return result


def _ratio(numerator: Any, denominator: Any) -> sa.ColumnElement[Any]:
    result: sa.ColumnElement[Any] = (numerator * 1.0) / sa.func.nullif(denominator, 0)
    return result


_SortExpression = Callable[[Any], sa.ColumnElement[Any]]

SORT_KEYS: Mapping[str, _SortExpression] = {
    "runs": lambda c: c.runs,
    "successes": lambda c: c.successes,
    "failures": lambda c: c.failures,
    "success_rate": lambda c: _ratio(c.successes, c.successes + c.failures),
    "total_duration_seconds": lambda c: c.duration_seconds,
    "avg_duration_seconds": lambda c: _ratio(c.duration_seconds, c.runs),
    "max_duration_seconds": lambda c: c.max_duration_seconds,
    "cpu_core_hours": lambda c: c.used_core_seconds,
    "avg_cores": lambda c: _ratio(c.used_core_seconds, c.duration_seconds),
    "peak_memory_bytes": lambda c: c.peak_memory_bytes,
    "memory_gib_hours": lambda c: c.memory_gib_seconds,
    "energy_wh": _energy_wh,
    "carbon_g": _carbon_g,
    "first_run_at": lambda c: c.first_end_time,
    "last_run_at": lambda c: c.last_end_time,
}
"""The KPIs a comparison may be sorted by, as SQL over the summed columns."""


@functools.lru_cache(maxsize=256)
def _statements(shape: _Shape) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The page query of ``shape`` and the query counting and summing every group."""
    measured = _measured(shape)
    keys = [measured.c[name] for name in shape.by]
    summed = (
        sa.select(*keys, *_aggregates(measured, shape.measures))
        .group_by(*keys)
        .subquery("summed")
    )
    order: list[Any] = []
    if shape.sort is not None:
        key, direction = shape.sort
        expression = SORT_KEYS[key](summed.c)
        ordered = expression.asc() if direction is SortOrder.ASC else expression.desc()
        order.append(ordered.nulls_last())
    order += [summed.c[name].asc() for name in shape.by]
    # Window sums over the groups give the totals in the same statement.
    overall = [
        _aggregate(name, summed.c[name]).over().label(f"overall_{name}")
        for name in shape.measures
    ]
    page = sa.select(summed, sa.func.count().over().label("group_count"), *overall)
    page = page.order_by(*order)
    if shape.paged:
        page = page.limit(sa.bindparam("limit", type_=sa.Integer())).offset(
            sa.bindparam("offset", type_=sa.Integer())
        )
    every = sa.select(sa.func.count(), *_aggregates(summed, shape.measures))
    return page, every.select_from(summed)


def grouped(
    connection: sa.Connection,
    rollup: sa.Table | None,
    by: Sequence[str],
    filters: Filters,
    time_range: TimeRange,
    page: Page | None,
    sort: Sort | None = None,
    measures: Sequence[str] = (),
) -> tuple[list[Group], int, Group]:
    """Sum the matching runs per value of the ``by`` columns; one page of groups.

    ``rollup`` is the daily rollup that holds the ``by`` and filtered
    columns, or ``None`` to read the runs alone.  Groups come ordered by
    ``sort`` (then by name), else by name.  Returns the page, the number of
    groups in all and the sums over every group.  ``page=None`` answers
    every group.  ``measures`` limits the sums to those named (all by
    default; the others then read as zero or none).
    """
    split = _split(time_range, rollup is not None)
    shape = _Shape(
        rollup=rollup,
        by=tuple(by),
        filters=tuple(
            (name, not isinstance(value, str)) for name, value in filters.items()
        ),
        days=(
            (split.first_day is not None, split.last_day is not None)
            if split.rollup
            else None
        ),
        lower=(
            None
            if split.lower is None
            else (split.lower[0] is not None, split.lower[1] is not None)
        ),
        upper=split.upper is not None,
        measures=tuple(measures) or MEASURES,
        sort=None if sort is None else (sort.key, sort.order),
        paged=page is not None,
    )
    values: dict[str, Any] = {
        f"filter_{name}": value if isinstance(value, str) else list(value)
        for name, value in filters.items()
    }
    values.update(first_day=split.first_day, last_day=split.last_day)
    if split.lower is not None:
        values.update(lower_start=split.lower[0], lower_end=split.lower[1])
    if split.upper is not None:
        values.update(upper_start=split.upper[0], upper_end=split.upper[1])
    if sort is not None:
        values.update(
            {f"profile_{name}": getattr(sort.profile, name) for name in _COEFFICIENTS}
        )
    if page is not None:
        values.update(limit=page.limit, offset=page.offset)
    page_query, every_query = _statements(shape)

    rows = connection.execute(page_query, values).all()
    if rows:
        first = rows[0]._mapping
        total = int(first["group_count"])
        every = _group({name: first[f"overall_{name}"] for name in shape.measures}, ())
    elif page is not None and page.offset > 0:
        # A page past the end: count and sum the groups on their own.
        row = connection.execute(every_query, values).one()
        total = int(row[0])
        every = _group(row._mapping, ())
    else:
        total = 0
        every = _group({}, ())
    groups = [
        _group(row._mapping, tuple(getattr(row, name) for name in by)) for row in rows
    ]
    return groups, total, every


# PostgreSQL walks each job's time index once per job through LATERAL, with
# the jobs passed as arrays: a short statement whatever the page size.
_NEWEST_POSTGRESQL = sa.text(
    """
    SELECT j.slot, r.payload
    FROM unnest(
        CAST(:slots AS integer[]), CAST(:organizations AS text[]),
        CAST(:repositories AS text[]), CAST(:workflows AS text[]),
        CAST(:jobs AS text[]), CAST(:counts AS integer[])
    ) AS j(slot, organization, repository, workflow, job, n)
    CROSS JOIN LATERAL (
        SELECT runs.payload, runs.end_time, runs.id
        FROM runs
        WHERE runs.organization = j.organization
          AND runs.repository = j.repository
          AND runs.workflow = j.workflow
          AND runs.job = j.job
          AND runs.status <> 'cancelled'
        ORDER BY runs.end_time DESC, runs.id DESC
        LIMIT j.n
    ) AS r
    ORDER BY j.slot, r.end_time DESC, r.id DESC
    """
)


def _newest_postgresql(
    connection: sa.Connection, jobs: Sequence[tuple[JobKey, int]]
) -> Iterator[sa.Row[Any]]:
    result = connection.execute(
        _NEWEST_POSTGRESQL,
        {
            "slots": list(range(len(jobs))),
            "organizations": [job.organization for job, _ in jobs],
            "repositories": [job.repository for job, _ in jobs],
            "workflows": [job.workflow for job, _ in jobs],
            "jobs": [job.job for job, _ in jobs],
            "counts": [count for _, count in jobs],
        },
    )
    yield from result


# SQLite has no LATERAL; a correlated IN on the rowid walks each job's time
# index the same way.  Its LIMIT cannot name an outer column, so every job
# reads the largest count of the page and the surplus is dropped here.
_NEWEST_SQLITE = sa.text(
    """
    SELECT CAST(json_extract(j.value, '$[0]') AS INTEGER) AS slot,
           r.payload
    FROM json_each(:jobs) AS j
    JOIN runs AS r ON r.id IN (
        SELECT n.id FROM runs AS n
        WHERE n.organization = json_extract(j.value, '$[1]')
          AND n.repository = json_extract(j.value, '$[2]')
          AND n.workflow = json_extract(j.value, '$[3]')
          AND n.job = json_extract(j.value, '$[4]')
          AND n.status <> 'cancelled'
        ORDER BY n.end_time DESC, n.id DESC
        LIMIT :most
    )
    ORDER BY slot, r.end_time DESC, r.id DESC
    """
).columns(
    slot=sa.Integer(),
    payload=sa.JSON(),
)


def _newest_sqlite(
    connection: sa.Connection, jobs: Sequence[tuple[JobKey, int]]
) -> Iterator[sa.Row[Any]]:
    listed = [
        [slot, job.organization, job.repository, job.workflow, job.job]
        for slot, (job, _) in enumerate(jobs)
    ]
    most = max(count for _, count in jobs)
    yield from connection.execute(
        _NEWEST_SQLITE, {"jobs": json.dumps(listed), "most": most}
    )


def histories(
    connection: sa.Connection, jobs: Sequence[tuple[JobKey, int]]
) -> list[list[Any]]:
    """For each (job, count), the payloads of its ``count`` newest runs not cancelled.

    Newest first, as :func:`cisizer.core.compute_sizing` takes them, read in
    one statement that walks each job's time index.
    """
    found: list[list[Any]] = [[] for _ in jobs]
    if not jobs:
        return found
    if connection.dialect.name == "postgresql":
        rows = _newest_postgresql(connection, jobs)
    else:
        rows = _newest_sqlite(connection, jobs)
    for row in rows:
        if len(found[row.slot]) >= jobs[row.slot][1]:
            continue
        found[row.slot].append(row.payload)
    return found
