"""Benchmark the aggregation endpoints at a million runs, against hand-written SQL.

Seeds ``--runs`` runs (default 1,000,000: 1,000 repositories across 20
organizations, 4 jobs each, 200 runners, end times over a year) into a
fresh PostgreSQL database and a fresh SQLite file, through the receiver's
own migrations: the schema is migrated to the first revision, the runs are
bulk loaded (``COPY`` on PostgreSQL, ``executemany`` in large transactions
on SQLite), then the remaining migrations run, which fill the daily rollups
the way an upgraded receiver would.

It then serves each database with ``cisizer-server serve`` and prints, per
endpoint, the median latency over HTTP, the median time of the same
aggregate written by hand as one SQL statement and run by the ``psql`` or
``sqlite3`` command line (the floor), and their ratio, also with the
latency of ``/health`` (HTTP and a trivial query) taken off first.

Usage: ``python bench/aggregation.py [--runs N] [--backend postgresql|sqlite]``
(``nox -s bench -- aggregation`` runs it with the defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import httpx
import sqlalchemy as sa

from cisizer.core import (
    ContainerSummary,
    Limits,
    RunFigures,
    Stats,
    Summary,
    converter,
    run_figures,
)
from cisizer.server import migrate
from cisizer.server._schema import runs
from cisizer.server._storage import create_engine

ORGANIZATIONS = 20
REPOSITORIES_PER_ORG = 50
WORKFLOWS = ("ci.yml", "release.yml")
JOBS = ("build", "test")
RUNNERS = 200
# Runners from this number on never report container limits.
UNLIMITED_RUNNERS_FROM = 190
PROFILES = 64
VARIANTS = 8
SPAN = timedelta(days=365)
END = datetime(2026, 12, 1, tzinfo=UTC)
PG_ADMIN_URL = os.environ.get(
    "CISIZER_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
READ_TOKEN = "bench-read-token-" + "r" * 16
HMAC_KEY = "bench-hmac-key-" + "k" * 32
STATUSES = ("success",) * 85 + ("failure",) * 10 + ("cancelled",) * 3 + ("unknown",) * 2
FIGURE_NAMES = tuple(field.name for field in attrs.fields(RunFigures))
COLUMNS = (
    "organization",
    "repository",
    "workflow",
    "job",
    "run_id",
    "run_attempt",
    "received_at",
    "start_time",
    "end_time",
    "status",
    "runner",
    *FIGURE_NAMES,
    "payload",
)
ORG = "org-07"
REPO = f"{ORG}/repo-023"
RUNNER = "runner-042"
GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class Template:
    """A run shape: its containers as JSON and its figures, with and without limits."""

    duration: float
    containers: tuple[str, str]
    figures: tuple[RunFigures, RunFigures]


def _templates(rng: random.Random) -> list[Template]:
    templates = []
    for _ in range(PROFILES * VARIANTS):
        cores = rng.choice((0.5, 1.0, 2.0, 4.0))
        memory = rng.choice((512, 1024, 2048, 4096)) * MIB
        duration = rng.uniform(60, 1800)
        usage = rng.uniform(0.2, 0.9)
        peak = cores * min(1.0, usage + 0.1)
        limited = []
        for limits in (Limits(cpu_cores=cores, memory_bytes=memory), None):
            container = ContainerSummary(
                name="runner",
                cpu_cores=Stats(
                    peak=peak,
                    avg=cores * usage * 0.8,
                    p50=cores * usage * 0.8,
                    p95=cores * usage,
                ),
                memory_bytes=Stats(
                    peak=round(memory * usage), p95=round(memory * usage * 0.9)
                ),
                limits=limits,
                oom_kills=0,
            )
            limited.append(container)
        summaries = [
            Summary(END, END, duration, int(duration // 2), (container,))
            for container in limited
        ]
        templates.append(
            Template(
                duration,
                (
                    json.dumps(converter.unstructure(limited[0:1])),
                    json.dumps(converter.unstructure(limited[1:2])),
                ),
                (run_figures(summaries[0]), run_figures(summaries[1])),
            )
        )
    return templates


def generate(count: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """Yield ``count`` run rows in the order of :data:`COLUMNS` (times aware UTC)."""
    rng = random.Random(seed)
    templates = _templates(rng)
    jobs = [
        (f"org-{o:02d}", f"org-{o:02d}/repo-{r:03d}", workflow, job)
        for o in range(ORGANIZATIONS)
        for r in range(REPOSITORIES_PER_ORG)
        for workflow in WORKFLOWS
        for job in JOBS
    ]
    profile_of = [rng.randrange(PROFILES) for _ in jobs]
    span = SPAN.total_seconds()
    for number in range(count):
        slot = rng.randrange(len(jobs))
        organization, repository, workflow, job = jobs[slot]
        template = templates[profile_of[slot] * VARIANTS + rng.randrange(VARIANTS)]
        runner_number = rng.randrange(RUNNERS)
        runner = None if rng.random() < 0.01 else f"runner-{runner_number:03d}"
        unlimited = runner is None or runner_number >= UNLIMITED_RUNNERS_FROM
        end = END - timedelta(seconds=rng.uniform(0, span))
        end = end.replace(microsecond=end.microsecond // 1000 * 1000)
        start = end - timedelta(seconds=template.duration)
        figures = template.figures[unlimited]
        payload = (
            f'{{"start_time": "{_wire(start)}", "end_time": "{_wire(end)}", '
            f'"duration_seconds": {template.duration!r}, '
            f'"sample_count": {int(template.duration // 2)}, '
            f'"interval_seconds": 2.0, '
            f'"containers": {template.containers[unlimited]}}}'
        )
        yield (
            organization,
            repository,
            workflow,
            job,
            f"run-{number}",
            1,
            end + timedelta(seconds=1),
            start,
            end,
            rng.choice(STATUSES),
            runner,
            *(getattr(figures, name) for name in FIGURE_NAMES),
            payload,
        )


def _wire(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _pg_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f+00")
    return str(value)


def _sqlite_value(value: Any) -> Any:
    # The text SQLAlchemy stores for a UTC date-time on SQLite.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def seed_postgresql(url: str, count: int) -> None:
    """Migrate to the first revision, COPY the runs, migrate to head, analyse."""
    engine = create_engine(url)
    migrate(engine, "0001")
    columns = ", ".join(COLUMNS)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY runs ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            lines = []
            for row in generate(count):
                lines.append("\t".join(_pg_text(value) for value in row))
                if len(lines) == 20_000:
                    copy.write("\n".join(lines) + "\n")
                    lines = []
            if lines:
                copy.write("\n".join(lines) + "\n")
        raw.commit()
    finally:
        raw.close()
    migrate(engine)
    engine.dispose()
    _psql(url, "VACUUM ANALYZE")


def seed_sqlite(url: str, count: int) -> None:
    """Migrate to the first revision, insert in large transactions, migrate to head."""
    engine = create_engine(url)
    migrate(engine, "0001")
    columns = ", ".join(COLUMNS)
    marks = ", ".join("?" for _ in COLUMNS)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        batch = []
        for row in generate(count):
            batch.append(tuple(_sqlite_value(value) for value in row))
            if len(batch) == 100_000:
                cursor.executemany(
                    f"INSERT INTO runs ({columns}) VALUES ({marks})",
                    batch,
                )
                raw.commit()
                batch = []
        if batch:
            cursor.executemany(
                f"INSERT INTO runs ({columns}) VALUES ({marks})",
                batch,
            )
            raw.commit()
    finally:
        raw.close()
    migrate(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    engine.dispose()


def _psql_url(url: str) -> str:
    return (
        sa.engine.make_url(url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def _psql(url: str, sql: str) -> str:
    return subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", _psql_url(url), "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def floor_postgresql(url: str, sql: str, repeat: int) -> float:
    """Median milliseconds of ``sql`` over ``repeat`` psql runs, after a warm-up."""
    script = "\\timing on\n\\o /dev/null\n" + f"{sql};\n" * (repeat + 1)
    output = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", _psql_url(url)],
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
        "w0": _wire(start),
        "w1": _wire(stop),
        "t0": sql_time(start),
        "t1": sql_time(stop),
        "d0": first_day.isoformat(),
        "d1": last_day.isoformat(),
        "e0": sql_time(datetime.combine(first_day, datetime.min.time(), UTC)),
        "e1": sql_time(datetime.combine(stop.date(), datetime.min.time(), UTC)),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(db_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``cisizer-server serve`` on ``db_url``; return it and its base URL."""
    port = _free_port()
    command = shutil.which("cisizer-server") or str(
        Path(sys.executable).with_name("cisizer-server")
    )
    env = {
        **os.environ,
        "CISIZER_READ_TOKEN": READ_TOKEN,
        "CISIZER_HMAC_KEY": HMAC_KEY,
        "CISIZER_DB_URL": db_url,
    }
    process = subprocess.Popen(
        [command, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("cisizer-server did not start")


def latency(client: httpx.Client, path: str, repeat: int) -> float:
    """Median milliseconds of GET ``path`` over ``repeat`` calls, after one warm-up."""
    client.get(path).raise_for_status()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _create_database(backend: str, workdir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"cisizer_bench_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return (
        sa.engine.make_url(PG_ADMIN_URL)
        .set(database=name)
        .render_as_string(hide_password=False)
    )


def _drop_database(db_url: str) -> None:
    url = sa.engine.make_url(db_url)
    if url.get_backend_name() != "postgresql":
        return
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'
        )
    admin.dispose()


def measure(backend: str, db_url: str, repeat: int) -> list[str]:
    """Benchmark every endpoint on a seeded database; return the table's lines."""
    bounds = _bounds(backend)
    sqls = floors(backend, bounds)
    paths = endpoints(bounds)
    process, base = serve(db_url)
    lines = []
    try:
        headers = {"Authorization": f"Bearer {READ_TOKEN}"}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            baseline = latency(client, "/health", repeat)
            lines.append(
                f"| {backend} | /health (HTTP baseline) | {baseline:.1f} | - | - | - |"
            )
            print(lines[-1], flush=True)
            for label, path in paths.items():
                http_ms = latency(client, path, repeat)
                if backend == "postgresql":
                    floor_ms = floor_postgresql(db_url, sqls[label], repeat)
                else:
                    floor_ms = floor_sqlite(str(path_of(db_url)), sqls[label], repeat)
                ratio = http_ms / floor_ms if floor_ms > 0 else float("inf")
                beyond = max(http_ms - baseline, 0.0) / floor_ms if floor_ms else 0.0
                lines.append(
                    f"| {backend} | {label} | {http_ms:.1f} | {floor_ms:.2f} "
                    f"| {ratio:.2f} | {beyond:.2f} |"
                )
                print(lines[-1], flush=True)
            _check_ranged_overview(client, db_url, bounds)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return lines


def _check_ranged_overview(
    client: httpx.Client, db_url: str, bounds: dict[str, str]
) -> None:
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


def run_backend(
    backend: str, count: int, repeat: int, workdir: Path, keep: bool
) -> list[str]:
    """Seed a fresh database of ``backend``, benchmark it, drop it unless ``keep``."""
    db_url = _create_database(backend, workdir)
    try:
        started = time.perf_counter()
        if backend == "postgresql":
            seed_postgresql(db_url, count)
        else:
            seed_sqlite(db_url, count)
        seeded = time.perf_counter() - started
        print(f"{backend}: seeded {count:,} runs in {seeded:.0f} s", flush=True)
        if keep:
            print(f"{backend}: kept at {db_url}", flush=True)
        return measure(backend, db_url, repeat)
    finally:
        if not keep:
            _drop_database(db_url)


def path_of(db_url: str) -> Path:
    """The file of a ``sqlite:///`` URL."""
    return Path(sa.engine.make_url(db_url).database or "")


def main(argv: list[str] | None = None) -> None:
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
        "--keep",
        metavar="DIR",
        help="Keep the seeded databases (the SQLite file in DIR) and print them.",
    )
    parser.add_argument(
        "--reuse",
        action="append",
        default=[],
        metavar="DB_URL",
        help="Benchmark an already seeded database instead of seeding one.",
    )
    args = parser.parse_args(argv)
    backends = args.backend or ["postgresql", "sqlite"]

    lines = [
        "| database | endpoint | HTTP median ms | SQL floor ms | ratio "
        "| ratio less HTTP baseline |",
        "|---|---|---|---|---|---|",
    ]
    if args.reuse:
        for db_url in args.reuse:
            backend = sa.engine.make_url(db_url).get_backend_name()
            lines += measure(backend, db_url, args.repeat)
    else:
        with tempfile.TemporaryDirectory(prefix="cisizer-bench-") as scratch:
            workdir = Path(args.keep or scratch)
            workdir.mkdir(parents=True, exist_ok=True)
            for backend in backends:
                lines += run_backend(
                    backend, args.runs, args.repeat, workdir, bool(args.keep)
                )
    print()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
