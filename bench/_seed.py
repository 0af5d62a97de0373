"""Seeded databases shared by the benchmarks: generated runs, loaded fast, kept.

:func:`generate` yields run rows (1,000 repositories across 20
organizations, 4 jobs each, 200 runners, end times over a year);
:func:`seed` loads them into a fresh database through the receiver's own
migrations: the schema is migrated to the first revision, the runs are
bulk loaded (``COPY`` on PostgreSQL, ``executemany`` in large transactions
on SQLite), then the remaining migrations run, which fill the daily rollups
the way an upgraded receiver would.

:func:`seeded_database` keeps what it seeded, so that the benchmark parts
(``aggregation``, then the sizing half of ``ingest``) and later runs share
one database per backend instead of seeding a million runs each: a
PostgreSQL database ``cisizer_bench_seed_<runs>_<key>`` beside
``CISIZER_BENCH_PG_URL``'s, and an SQLite file ``seed-<runs>-<key>.db`` in
``CISIZER_BENCH_CACHE`` (default ``~/.cache/cisizer-bench``).  ``<key>``
hashes this file and the receiver's migrations, so a change to either
seeds anew and removes the older copies.  Seeding goes to a temporary name
that is renamed once complete, so an interrupted seeding is never reused.
The benchmarks only read the kept databases.

``python bench/_seed.py --list`` shows the kept databases and ``--drop``
removes them, run with the bench session's Python
(``.nox/bench/bin/python``), which has the receiver installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
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
CACHE = Path(
    os.environ.get(
        "CISIZER_BENCH_CACHE",
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        / "cisizer-bench",
    )
)
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
MIB = 1024**2
_SEED_PREFIX = "cisizer_bench_seed_"


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


def job_keys(jobs: int | None = None) -> list[tuple[str, str, str, str]]:
    """The (organization, repository, workflow, job) of the seeded jobs.

    ``jobs`` keeps only that many of them, the first ones.
    """
    keys = [
        (f"org-{o:02d}", f"org-{o:02d}/repo-{r:03d}", workflow, job)
        for o in range(ORGANIZATIONS)
        for r in range(REPOSITORIES_PER_ORG)
        for workflow in WORKFLOWS
        for job in JOBS
    ]
    return keys if jobs is None else keys[:jobs]


def generate(
    count: int, seed: int = 7, jobs: int | None = None
) -> Iterator[tuple[Any, ...]]:
    """Yield ``count`` run rows in the order of :data:`COLUMNS` (times aware UTC).

    The runs spread over all of :func:`job_keys`, or over its first ``jobs``.
    """
    rng = random.Random(seed)
    templates = _templates(rng)
    keys = job_keys()
    profile_of = [rng.randrange(PROFILES) for _ in keys]
    spread = len(keys) if jobs is None else min(jobs, len(keys))
    span = SPAN.total_seconds()
    for number in range(count):
        slot = rng.randrange(spread)
        organization, repository, workflow, job = keys[slot]
        template = templates[profile_of[slot] * VARIANTS + rng.randrange(VARIANTS)]
        runner_number = rng.randrange(RUNNERS)
        runner = None if rng.random() < 0.01 else f"runner-{runner_number:03d}"
        unlimited = runner is None or runner_number >= UNLIMITED_RUNNERS_FROM
        end = END - timedelta(seconds=rng.uniform(0, span))
        end = end.replace(microsecond=end.microsecond // 1000 * 1000)
        start = end - timedelta(seconds=template.duration)
        figures = template.figures[unlimited]
        payload = (
            f'{{"start_time": "{wire(start)}", "end_time": "{wire(end)}", '
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


def wire(moment: datetime) -> str:
    """Render a UTC time as the wire format does, to the millisecond."""
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


def seed_postgresql(url: str, count: int, jobs: int | None = None) -> None:
    """Migrate to the first revision, COPY the runs, migrate to head, analyse."""
    engine = create_engine(url)
    migrate(engine, "0001")
    columns = ", ".join(COLUMNS)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY runs ({columns}) FROM STDIN") as copy:
            lines = []
            for row in generate(count, jobs=jobs):
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
    psql(url, "VACUUM ANALYZE")


def seed_sqlite(url: str, count: int, jobs: int | None = None) -> None:
    """Migrate to the first revision, insert in large transactions, migrate to head."""
    engine = create_engine(url)
    migrate(engine, "0001")
    columns = ", ".join(COLUMNS)
    marks = ", ".join("?" for _ in COLUMNS)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        batch = []
        for row in generate(count, jobs=jobs):
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
        # Empty the write-ahead log into the file, so the file alone is whole.
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.commit()
    engine.dispose()


def seed(db_url: str, count: int, jobs: int | None = None) -> None:
    """Seed ``count`` runs into the empty database at ``db_url``."""
    if backend_of(db_url) == "postgresql":
        seed_postgresql(db_url, count, jobs)
    else:
        seed_sqlite(db_url, count, jobs)


def psql_url(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL, for ``psql``."""
    return (
        sa.engine.make_url(url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def psql(url: str, sql: str) -> str:
    """Run ``sql`` with the ``psql`` command line; return what it printed."""
    return subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", psql_url(url), "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def backend_of(db_url: str) -> str:
    """``postgresql`` or ``sqlite``."""
    return sa.engine.make_url(db_url).get_backend_name()


def path_of(db_url: str) -> Path:
    """The file of a ``sqlite:///`` URL."""
    return Path(sa.engine.make_url(db_url).database or "")


def _pg_url(name: str) -> str:
    return (
        sa.engine.make_url(PG_ADMIN_URL)
        .set(database=name)
        .render_as_string(hide_password=False)
    )


def _admin(sql: str, **params: Any) -> list[Any]:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            result = connection.execute(sa.text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        admin.dispose()


def create_database(backend: str, workdir: Path, name: str) -> str:
    """Create an empty database called ``name``; return its URL.

    On SQLite it is the file ``name.db`` in ``workdir``.
    """
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'{name}.db'}"
    _admin(f'CREATE DATABASE "{name}"')
    return _pg_url(name)


def drop_database(db_url: str) -> None:
    """Drop a PostgreSQL database, or remove an SQLite file and its companions."""
    if backend_of(db_url) == "postgresql":
        name = sa.engine.make_url(db_url).database
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    path = path_of(db_url)
    for suffix in ("", "-wal", "-shm", ".migrate-lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def seed_key() -> str:
    """A hash of this file and the receiver's migrations: what a seeding depends on."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    versions = resources.files("cisizer.server") / "migrations" / "versions"
    for item in sorted(versions.iterdir(), key=lambda item: item.name):
        if item.name.endswith(".py"):
            digest.update(item.name.encode() + item.read_bytes())
    return digest.hexdigest()[:10]


def _kept_pg() -> list[str]:
    rows = _admin(
        "SELECT datname FROM pg_database WHERE datname LIKE :prefix ORDER BY 1",
        prefix=_SEED_PREFIX + "%",
    )
    return [row[0] for row in rows]


def _kept_sqlite() -> list[Path]:
    return sorted(CACHE.glob("seed-*.db")) if CACHE.is_dir() else []


def _drop_stale(backend: str, key: str) -> None:
    """Remove kept seedings made by another version of the seeding or schema."""
    if backend == "postgresql":
        for name in _kept_pg():
            if not name.endswith(f"_{key}"):
                drop_database(_pg_url(name))
        return
    for path in _kept_sqlite():
        if not path.stem.endswith(f"-{key}"):
            drop_database(f"sqlite:///{path}")


def seeded_database(
    backend: str, count: int, *, fresh: bool = False
) -> tuple[str, float | None]:
    """Return the URL of a kept database holding ``count`` seeded runs.

    Seeds it first unless a complete one of the same key is kept already
    (``fresh`` seeds anew regardless).  Also returns how many seconds the
    seeding took, or None when the kept database was reused.
    """
    key = seed_key()
    if backend == "postgresql":
        name = f"{_SEED_PREFIX}{count}_{key}"
        url = _pg_url(name)
        if name in _kept_pg():
            if not fresh:
                return url, None
            drop_database(url)
        _drop_stale(backend, key)
        drop_database(_pg_url(f"{name}_partial"))
        partial = create_database(backend, CACHE, f"{name}_partial")
        started = time.perf_counter()
        seed(partial, count)
        seconds = time.perf_counter() - started
        _admin(f'ALTER DATABASE "{name}_partial" RENAME TO "{name}"')
        return url, seconds

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"seed-{count}-{key}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        if not fresh:
            return url, None
        drop_database(url)
    _drop_stale(backend, key)
    partial = f"sqlite:///{CACHE / f'partial-{count}-{key}.db'}"
    drop_database(partial)
    started = time.perf_counter()
    seed(partial, count)
    seconds = time.perf_counter() - started
    os.replace(path_of(partial), path)
    drop_database(partial)
    return url, seconds


def main(argv: list[str] | None = None) -> int:
    """List or drop the kept seeded databases."""
    parser = argparse.ArgumentParser(description="The benchmarks' kept databases.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true", help="Show them.")
    action.add_argument("--drop", action="store_true", help="Remove them.")
    args = parser.parse_args(argv)
    kept = [f"sqlite:///{path}" for path in _kept_sqlite()]
    try:
        kept += [_pg_url(name) for name in _kept_pg()]
    except sa.exc.OperationalError as error:
        print(f"PostgreSQL not reachable, its databases left out: {error.orig}")
    for url in kept:
        if args.drop:
            drop_database(url)
        print(("dropped " if args.drop else "") + re.sub(r"//[^@/]*@", "//", url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
