"""Benchmark the aggregation endpoints at a million runs, against hand-written SQL.

Takes a PostgreSQL database and an SQLite file holding ``--runs`` runs
(default 1,000,000: 1,000 repositories across 20 organizations, 4 jobs
each, 200 runners, end times over a year), seeded through the receiver's
own migrations by ``bench/_seed.py``: the schema is migrated to the first
revision, the runs are bulk loaded (``COPY`` on PostgreSQL,
``executemany`` in large transactions on SQLite), then the remaining
migrations run, which fill the daily rollups the way an upgraded receiver
would.  The seeded databases are kept and reused by later runs and by the
sizing half of ``bench/ingest.py`` (``.nox/bench/bin/python bench/_seed.py
--drop`` removes them).

It then serves each database with ``cisizer-server serve`` and prints, per
endpoint, the median latency over HTTP, the median time of the same
aggregate written by hand as one SQL statement and run by the ``psql`` or
``sqlite3`` command line (the floor), and their ratio, also with the
latency of ``/health`` (HTTP and a trivial query) taken off first; the
figures are published as part ``aggregation`` (``bench/_results.py``).

Usage: ``python bench/aggregation.py [--runs N] [--backend postgresql|sqlite]``
(``nox -s bench -- aggregation`` runs it with the defaults).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import _seed
import httpx
import sqlalchemy as sa
from _results import Figure, publish
from _seed import END, psql_url, wire
from _server import READ_TOKEN, receiver

from cisizer.server._schema import runs
from cisizer.server._storage import create_engine

PART = "aggregation"
ORG = "org-07"
REPO = f"{ORG}/repo-023"
RUNNER = "runner-042"
# Within this many floors once the HTTP baseline is taken off.
FLOOR_TARGET = 3.0
# Endpoints with a latency target of their own, in milliseconds.
LATENCY_TARGETS = {
    "overview": 300.0,
    "overview, ranged": 300.0,
    "org detail": 300.0,
    "sizing one job": 20.0,
}


def floor_postgresql(url: str, sql: str, repeat: int) -> float:
    """Median milliseconds of ``sql`` over ``repeat`` psql runs, after a warm-up."""
    script = "\\timing on\n\\o /dev/null\n" + f"{sql};\n" * (repeat + 1)
    output = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", psql_url(url)],
        input=script,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    times = [float(found) for found in re.findall(r"Time: ([\d.]+) ms", output)]
    return statistics.median(times[1:])


def floor_sqlite(path: str, sql: str, repeat: int) -> float:
    """Median milliseconds of ``sql`` over ``repeat`` sqlite3 runs, after a warm-up."""
    script = ".timer on\n.output /dev/null\n" + f"{sql};\n" * (repeat + 1)
    output = subprocess.run(
        ["sqlite3", "-batch", path],
        input=script,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # The timer prints whole milliseconds of wall time; below a few of them
    # the CPU time (microseconds) is the better measure.
    times = []
    for real, user, system in re.findall(
        r"real ([\d.]+) user ([\d.]+) sys ([\d.]+)", output
    ):
        wall = float(real)
        times.append(1000 * (wall if wall >= 0.002 else float(user) + float(system)))
    return statistics.median(times[1:])


# The same aggregates written by hand: {t0}/{t1} are the bounds of the
# ranged overview, {d0}/{d1} its whole days, {e0}/{e1} the edges' ends.
_SUMS = (
    "sum(runs), sum(successes), sum(failures), sum(limited_runs), "
    "sum(duration_seconds), max(max_duration_seconds), sum(used_core_seconds), "
    "sum(allocated_core_seconds), sum(memory_gib_seconds), "
    "sum(limited_used_core_seconds), sum(limited_core_seconds), "
    "max(peak_memory_bytes), min(first_end_time), max(last_end_time)"
)
# Every page answers the number of rows in the whole list too.
_TOTAL = "count(*) OVER ()"
_ROLLUP_COLUMNS = (
    "runs, successes, failures, limited_runs, duration_seconds, "
    "max_duration_seconds, used_core_seconds, allocated_core_seconds, "
    "memory_gib_seconds, limited_used_core_seconds, limited_core_seconds, "
    "peak_memory_bytes, first_end_time, last_end_time"
)
_RUN_COLUMNS = (
    "1, CASE WHEN status = 'success' THEN 1 ELSE 0 END, "
    "CASE WHEN status = 'failure' THEN 1 ELSE 0 END, "
    "CASE WHEN cpu_limit_cores IS NULL THEN 0 ELSE 1 END, duration_seconds, "
    "duration_seconds, used_core_seconds, allocated_core_seconds, "
    "memory_gib_seconds, limited_used_core_seconds, limited_core_seconds, "
    "peak_memory_bytes, end_time, end_time"
)
_ENERGY = (
    "(sum(allocated_core_seconds) * 0.74 + sum(used_core_seconds) * 2.76 "
    "+ sum(memory_gib_seconds) * 0.392) * 1.135 / 3600"
)
_JOB_PAGE = (
    "SELECT repository, workflow, job, sum(runs) AS runs, "
    "sum(duration_seconds) AS seconds, count(*) OVER () AS total "
    "FROM daily_job_totals "
    "WHERE organization = '{org}'{repo_filter} GROUP BY repository, workflow, job "
    "ORDER BY repository, workflow, job LIMIT 50"
)
_NEWEST = (
    "SELECT id FROM runs r WHERE r.organization = '{org}' "
    "AND r.repository = j.repository AND r.workflow = j.workflow "
    "AND r.job = j.job AND r.status <> 'cancelled' "
    "ORDER BY r.end_time DESC, r.id DESC LIMIT 5"
)


def _sizing_floor(backend: str, repo: str | None) -> str:
    repo_filter = "" if repo is None else f" AND repository = '{repo}'"
    page = _JOB_PAGE.format(org=ORG, repo_filter=repo_filter)
    newest = _NEWEST.format(org=ORG)
    if backend == "postgresql":
        return (
            f"SELECT j.*, n.payload, n.cpu_limit_cores, n.memory_limit_bytes "
            f"FROM ({page}) j CROSS JOIN LATERAL (SELECT payload, "
            f"cpu_limit_cores, memory_limit_bytes FROM runs WHERE id IN "
            f"({newest})) n"
        )
    return (
        f"SELECT j.*, n.payload, n.cpu_limit_cores, n.memory_limit_bytes "
        f"FROM ({page}) j JOIN runs n ON n.id IN ({newest})"
    )


def floors(backend: str, bounds: dict[str, str]) -> dict[str, str]:
    """The hand-written SQL of each benchmarked endpoint."""
    ranged_runs = (
        "(end_time >= '{t0}' AND end_time < '{e0}') "
        "OR (end_time >= '{e1}' AND end_time <= '{t1}')"
    ).format(**bounds)
    return {
        "overview": (
            f"SELECT * FROM (SELECT organization, {_SUMS}, {_TOTAL} "
            f"FROM daily_organization_totals GROUP BY organization "
            f"ORDER BY organization LIMIT 50) p "
            f"UNION ALL SELECT NULL, {_SUMS}, NULL FROM daily_organization_totals"
        ),
        "overview (runs table only)": (
            "SELECT organization, count(*), "
            "sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN status = 'failure' THEN 1 ELSE 0 END), "
            "sum(duration_seconds), max(duration_seconds), sum(used_core_seconds), "
            "sum(allocated_core_seconds), sum(memory_gib_seconds), "
            "max(peak_memory_bytes), min(end_time), max(end_time) "
            "FROM runs GROUP BY organization ORDER BY organization"
        ),
        "overview, ranged": (
            f"SELECT organization, {_SUMS}, {_TOTAL} FROM ("
            f"SELECT organization, {_ROLLUP_COLUMNS} FROM daily_organization_totals "
            f"WHERE day >= '{bounds['d0']}' AND day <= '{bounds['d1']}' UNION ALL "
            f"SELECT organization, {_RUN_COLUMNS} FROM runs WHERE {ranged_runs}"
            f") m GROUP BY organization ORDER BY organization LIMIT 50"
        ),
        "org detail": (
            f"SELECT repository, {_SUMS}, {_TOTAL} FROM daily_job_totals "
            f"WHERE organization = '{ORG}' GROUP BY repository "
            f"ORDER BY repository LIMIT 50"
        ),
        "repo detail": (
            f"SELECT workflow, job, {_SUMS}, {_TOTAL} FROM daily_job_totals "
            f"WHERE organization = '{ORG}' AND repository = '{REPO}' "
            f"GROUP BY workflow, job ORDER BY workflow, job"
        ),
        "compare repos by energy": (
            f"SELECT repository, {_SUMS}, {_TOTAL} FROM daily_job_totals "
            f"WHERE organization = '{ORG}' GROUP BY repository "
            f"ORDER BY {_ENERGY} DESC, repository LIMIT 50"
        ),
        "compare workflows": (
            f"SELECT workflow, {_SUMS}, {_TOTAL} FROM daily_job_totals "
            f"WHERE organization = '{ORG}' AND repository = '{REPO}' "
            f"GROUP BY workflow ORDER BY sum(runs) DESC, workflow LIMIT 50"
        ),
        "sizing org (50 jobs)": _sizing_floor(backend, None),
        "sizing repo": _sizing_floor(backend, REPO),
        "sizing one job": (
            f"SELECT payload FROM runs WHERE organization = '{ORG}' "
            f"AND repository = '{REPO}' AND workflow = 'ci.yml' AND job = 'build' "
            f"AND status <> 'cancelled' ORDER BY end_time DESC, id DESC LIMIT 5"
        ),
        "runners": (
            f"SELECT runner, sum(runs), min(first_end_time), max(last_end_time), "
            f"{_TOTAL} FROM daily_runner_totals GROUP BY runner "
            f"ORDER BY runner LIMIT 50"
        ),
        "runners overview": (
            f"SELECT * FROM (SELECT runner, {_SUMS}, {_TOTAL} FROM daily_runner_totals "
            f"GROUP BY runner ORDER BY runner LIMIT 50) p "
            f"UNION ALL SELECT NULL, {_SUMS}, NULL FROM daily_runner_totals"
        ),
        "runner detail": (
            f"SELECT organization, count(*), "
            f"sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END), "
            f"sum(duration_seconds), max(duration_seconds), sum(used_core_seconds), "
            f"sum(allocated_core_seconds), sum(memory_gib_seconds), "
            f"sum(limited_used_core_seconds), sum(limited_core_seconds), "
            f"max(peak_memory_bytes), min(end_time), max(end_time), {_TOTAL} FROM runs "
            f"WHERE runner = '{RUNNER}' GROUP BY organization "
            f"ORDER BY organization LIMIT 50"
        ),
    }


def endpoints(bounds: dict[str, str]) -> dict[str, str]:
    """The path (with query) benchmarked for each floor."""
    short_repo = REPO.split("/")[1]
    return {
        "overview": "/api/v1/metrics/overview",
        "overview (runs table only)": "/api/v1/metrics/overview",
        "overview, ranged": (
            f"/api/v1/metrics/overview?from={bounds['w0']}&to={bounds['w1']}"
        ),
        "org detail": f"/api/v1/metrics/org/{ORG}",
        "repo detail": f"/api/v1/metrics/org/{ORG}/repo/{short_repo}",
        "compare repos by energy": f"/api/v1/compare/repos?org={ORG}&sort=energy_wh",
        "compare workflows": f"/api/v1/compare/workflows?org={ORG}&repo={short_repo}",
        "sizing org (50 jobs)": f"/api/v1/sizing/org/{ORG}",
        "sizing repo": f"/api/v1/sizing/org/{ORG}/repo/{short_repo}",
        "sizing one job": f"/api/v1/sizing/repo/{REPO}/ci.yml/build",
        "runners": "/api/v1/runners",
        "runners overview": "/api/v1/runners/overview",
        "runner detail": f"/api/v1/runners/{RUNNER}",
    }


def _bounds(backend: str) -> dict[str, str]:
    start = END - timedelta(days=90, hours=-6, minutes=-30)
    stop = END - timedelta(days=10, hours=6)
    first_day = (start + timedelta(days=1)).date()
    last_day = (stop - timedelta(days=1)).date()

    def sql_time(moment: datetime) -> str:
        if backend == "postgresql":
            return moment.strftime("%Y-%m-%d %H:%M:%S+00")
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")

    return {
        "w0": wire(start),
        "w1": wire(stop),
        "t0": sql_time(start),
        "t1": sql_time(stop),
        "d0": first_day.isoformat(),
        "d1": last_day.isoformat(),
        "e0": sql_time(datetime.combine(first_day, datetime.min.time(), UTC)),
        "e1": sql_time(datetime.combine(stop.date(), datetime.min.time(), UTC)),
    }


def latency(client: httpx.Client, path: str, repeat: int) -> float:
    """Median milliseconds of GET ``path`` over ``repeat`` calls, after one warm-up."""
    client.get(path).raise_for_status()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(backend: str, db_url: str, repeat: int) -> tuple[list[str], list[Figure]]:
    """Benchmark every endpoint on a seeded database; return table lines, figures."""
    bounds = _bounds(backend)
    sqls = floors(backend, bounds)
    paths = endpoints(bounds)
    lines = []
    figures = []
    headers = {"Authorization": f"Bearer {READ_TOKEN}"}
    with (
        receiver(db_url) as base,
        httpx.Client(base_url=base, headers=headers, timeout=120) as client,
    ):
        baseline = latency(client, "/health", repeat)
        lines.append(
            f"| {backend} | /health (HTTP baseline) | {baseline:.1f} | - | - | - |"
        )
        print(lines[-1], flush=True)
        figures.append(
            Figure(PART, f"{backend} /health (HTTP baseline)", baseline, "ms")
        )
        for label, path in paths.items():
            http_ms = latency(client, path, repeat)
            if backend == "postgresql":
                floor_ms = floor_postgresql(db_url, sqls[label], repeat)
            else:
                floor_ms = floor_sqlite(str(_seed.path_of(db_url)), sqls[label], repeat)
            ratio = http_ms / floor_ms if floor_ms > 0 else float("inf")
            beyond = max(http_ms - baseline, 0.0) / floor_ms if floor_ms else 0.0
            lines.append(
                f"| {backend} | {label} | {http_ms:.1f} | {floor_ms:.2f} "
                f"| {ratio:.2f} | {beyond:.2f} |"
            )
            print(lines[-1], flush=True)
            figures.append(
                Figure(
                    PART,
                    f"{backend} {label}",
                    http_ms,
                    "ms",
                    target=f"<= {FLOOR_TARGET:g}x SQL floor, less /health",
                    ratio=beyond,
                    met=beyond <= FLOOR_TARGET,
                    note=f"SQL floor {floor_ms:.2f} ms; {ratio:.2f}x with /health",
                )
            )
            target_ms = LATENCY_TARGETS.get(label)
            if target_ms is not None:
                figures.append(
                    Figure(
                        PART,
                        f"{backend} {label}, latency",
                        http_ms,
                        "ms",
                        target=f"<= {target_ms:g} ms",
                        ratio=http_ms / target_ms,
                        met=http_ms <= target_ms,
                    )
                )
        figures.append(_check_ranged_overview(backend, client, db_url, bounds))
    return lines, figures


def _check_ranged_overview(
    backend: str, client: httpx.Client, db_url: str, bounds: dict[str, str]
) -> Figure:
    """Check the ranged overview's run count against a count over the runs."""
    path = endpoints(bounds)["overview, ranged"]
    answered = client.get(path).json()["kpis"]["runs"]
    engine = create_engine(db_url)
    start = datetime.fromisoformat(bounds["w0"].replace("Z", "+00:00"))
    stop = datetime.fromisoformat(bounds["w1"].replace("Z", "+00:00"))
    with engine.connect() as connection:
        counted = connection.execute(
            sa.select(sa.func.count())
            .select_from(runs)
            .where(runs.c.end_time >= start, runs.c.end_time <= stop)
        ).scalar_one()
    engine.dispose()
    verdict = "equal" if answered == counted else "DIFFERENT"
    print(
        f"ranged overview runs {answered:,}, counted over runs {counted:,}: {verdict}"
    )
    return Figure(
        PART,
        f"{backend} ranged overview runs",
        answered,
        "runs",
        target="= a count over the runs",
        ratio=answered / counted if counted else None,
        met=answered == counted,
        note=f"counted {counted:,}",
    )


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmark on each backend, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument(
        "--backend",
        action="append",
        choices=("postgresql", "sqlite"),
        help="Database to benchmark (repeatable; default both).",
    )
    parser.add_argument(
        "--fresh-seed",
        action="store_true",
        help="Seed anew even when a kept database of the same seeding exists.",
    )
    parser.add_argument(
        "--reuse",
        action="append",
        default=[],
        metavar="DB_URL",
        help="Benchmark an already seeded database instead of the kept one.",
    )
    args = parser.parse_args(argv)
    backends = args.backend or ["postgresql", "sqlite"]

    started = time.perf_counter()
    lines = [
        "| database | endpoint | HTTP median ms | SQL floor ms | ratio "
        "| ratio less HTTP baseline |",
        "|---|---|---|---|---|---|",
    ]
    figures: list[Figure] = []
    seeding: dict[str, float | None] = {}
    databases = [(_seed.backend_of(url), url) for url in args.reuse]
    for backend in [] if args.reuse else backends:
        db_url, seconds = _seed.seeded_database(
            backend, args.runs, fresh=args.fresh_seed
        )
        seeding[backend] = None if seconds is None else round(seconds, 1)
        if seconds is None:
            print(f"{backend}: reusing the kept {args.runs:,}-run database")
        else:
            print(f"{backend}: seeded {args.runs:,} runs in {seconds:.0f} s")
        databases.append((backend, db_url))
    for backend, db_url in databases:
        backend_lines, backend_figures = measure(backend, db_url, args.repeat)
        lines += backend_lines
        figures += backend_figures
    print()
    print("\n".join(lines))
    publish(
        PART,
        figures,
        runs=args.runs,
        repeat=args.repeat,
        workers=1,
        seeding_seconds=seeding,
        duration_seconds=round(time.perf_counter() - started),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
