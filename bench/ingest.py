"""Benchmark ingest: pushes per second against Falcon's floor, and sizing latency.

Pushes: the real receiver (``cisizer-server serve``, gunicorn's threaded
workers, one log line per request) on loopback takes ``POST
/api/v1/metrics`` from Debian's ``wrk`` (a separate process, one thread,
``bench/ingest.lua``), at 2 and at 4 workers, on PostgreSQL and on SQLite.
Every push is valid and new: 64 jobs, each with its own push token and
figures, shaped like ``docs/examples/summary.json``, each push with its own
run id.  Beside each run, the framework floor (``bench/_floor.py``: a bare
Falcon app that reads and parses the same JSON body and answers 201, under
the same gunicorn setup) takes the same load, three times, and its best
rate is the floor; the receiver's share of it is the figure, with the
target of at least 50 %.  Each
measurement is bounded in count (``--pushes``) and time (``--seconds``)
and follows a warm-up.  Beside the rates, the CPU time each request cost,
read from ``/proc``: in the receiver's gunicorn processes, in the floor's,
and in PostgreSQL's, which say where a push's time goes whatever share of
the cores each process got.

Sizing: one connection asks ``GET /api/v1/sizing/repo/{org}/{repo}/
{workflow}/{job}`` for jobs in turn and records each latency; p50 and p99
at 100 stored runs (10 jobs) and at 1,000,000 (4,000 jobs, the database
``bench/aggregation.py`` measures, kept by ``bench/_seed.py`` so it is
seeded once for both).  The p50 is held to the 20 ms that
``docs/aggregation.md`` sets for sizing one job; the p99 has no target.

Usage: ``python bench/ingest.py [--backend postgresql|sqlite] [--workers N]
[--seconds S] [--pushes N] [--part pushes|sizing]`` (``nox -s bench --
ingest`` runs it with the defaults).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _seed
import sqlalchemy as sa
from _results import Figure, publish
from _server import HMAC_KEY, READ_TOKEN, free_port, receiver, stop, wait_until_up

from cisizer.core import JobKey, PushTokenSigner
from cisizer.server._storage import create_engine

ROOT = Path(__file__).parent.parent
LUA = Path(__file__).with_name("ingest.lua")
FLOOR = Path(__file__).with_name("_floor.py")
EXAMPLE = ROOT / "docs" / "examples" / "summary.json"
PART = "ingest"
PUSH_JOBS = 64
PUSH_ORG = "push-org-"
# `cisizer-server serve`'s default threads per worker, which the floor shares.
THREADS = 4
SMALL_JOBS = 10
PUSH_TARGET = 0.5
FLOOR_TRIES = 3
SIZING_TARGET_MS = 20.0


@dataclass(frozen=True)
class Load:
    """What one wrk run measured."""

    requests: int
    seconds: float
    errors: dict[str, int]
    statuses: dict[str, int]
    latencies_ms: list[float] = field(repr=False)
    # CPU seconds spent while it ran: "server" (this benchmark's servers and
    # their workers) and "postgres" (every process of the PostgreSQL cluster).
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Responses per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    def only(self, status: int) -> bool:
        """Whether every response had ``status`` and nothing failed."""
        return set(self.statuses) <= {str(status)} and not any(self.errors.values())

    def describe(self) -> str:
        """The counts, for a note."""
        statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(self.statuses.items()))
        errors = ", ".join(f"{k} {v}" for k, v in self.errors.items() if v)
        return f"{self.requests:,} in {self.seconds:.1f} s ({statuses})" + (
            f"; errors {errors}" if errors else ""
        )


def wrk(
    base: str,
    lines: Path,
    *,
    limit: int,
    seconds: float,
    connections: int,
    prefix: str = "",
    latency: bool = False,
) -> Load:
    """Send the requests of ``lines`` to ``base`` until ``limit`` or ``seconds``."""
    command = [
        shutil.which("wrk") or "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        base,
        "--",
        str(lines),
        str(limit),
        prefix,
        *(["latency"] if latency else []),
    ]
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, timeout=seconds + 120
    ).stdout
    for line in output.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
            return Load(
                requests=result["requests"],
                seconds=result["seconds"],
                errors=result["errors"],
                statuses=result["statuses"],
                latencies_ms=result["latencies_ms"],
            )
    raise SystemExit(f"wrk printed no result:\n{output}")


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by this benchmark's servers and by PostgreSQL.

    The servers are every descendant of this process (``wrk`` is never alive
    when this is read); PostgreSQL is every process named ``postgres``.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / ticks)

    def ours(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == os.getpid():
                return True
        return False

    totals = {"server": 0.0, "postgres": 0.0}
    for pid, (name, seconds) in used.items():
        if name == "postgres":
            totals["postgres"] += seconds
        elif ours(pid):
            totals["server"] += seconds
    return totals


def _shifted(stats: dict[str, Any], scale: float) -> dict[str, Any]:
    return {
        name: round(value * scale) if isinstance(value, int) else value * scale
        for name, value in stats.items()
    }


def push_lines(now: datetime) -> list[str]:
    """One wrk line per push job: its token and body, split where the run id goes."""
    signer = PushTokenSigner([HMAC_KEY])
    example = json.loads(EXAMPLE.read_text())
    rng = random.Random(11)
    lines = []
    for number in range(PUSH_JOBS):
        organization = f"{PUSH_ORG}{number // 16}"
        body = copy.deepcopy(example)
        body.update(
            organization=organization,
            repository=f"{organization}/repo-{number % 16:02d}",
            workflow=("ci.yml", "release.yml")[number % 2],
            job=("build", "test", "lint", "deploy")[number % 4],
            run_id="@RUN@",
            runner=f"runner-{number:03d}",
        )
        payload = body["payload"]
        end = now - timedelta(seconds=60 + number)
        start = end - timedelta(seconds=rng.uniform(60, 1800))
        payload["start_time"] = _seed.wire(start)
        payload["end_time"] = _seed.wire(end)
        payload["duration_seconds"] = round((end - start).total_seconds(), 3)
        payload["sample_count"] = int(payload["duration_seconds"] // 2)
        container = payload["containers"][0]
        container["cpu_cores"] = _shifted(container["cpu_cores"], rng.uniform(0.1, 1.9))
        container["memory_bytes"] = _shifted(
            container["memory_bytes"], rng.uniform(1, 200)
        )
        job = JobKey(organization, body["repository"], body["workflow"], body["job"])
        token = signer.issue(job, now).token
        head, tail = json.dumps(body).split("@RUN@")
        lines.append(f"POST\t/api/v1/metrics\t{token}\t{head}\t{tail}")
    return lines


def sizing_lines(jobs: list[tuple[str, str, str, str]]) -> list[str]:
    """One wrk line per job: its sizing path with the read token."""
    return [
        f"GET\t/api/v1/sizing/repo/{org}/{repo.split('/')[1]}/{workflow}/{job}"
        f"\t{READ_TOKEN}\t\t"
        for org, repo, workflow, job in jobs
    ]


@contextlib.contextmanager
def floor(workers: int, log: Any) -> Iterator[str]:
    """Serve the framework floor with ``workers`` workers; yield its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(FLOOR),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(THREADS),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, f"{base}/health")
        yield base
    finally:
        stop(process)


def throughput(
    base: str, lines: Path, workers: int, args: argparse.Namespace, label: str
) -> tuple[Load, Load]:
    """Measure pushes per second after a warm-up; return both.

    The load keeps twice as many connections open as the server has threads.
    The measured load carries the CPU time the servers and PostgreSQL used
    while it ran.
    """
    connections = 2 * workers * THREADS
    prefix = f"{label}-{secrets.token_hex(3)}-"
    warmup = wrk(
        base,
        lines,
        limit=args.warmup,
        seconds=10,
        connections=connections,
        prefix=prefix + "warm-",
    )
    before = cpu_seconds()
    measured = wrk(
        base,
        lines,
        limit=args.pushes,
        seconds=args.seconds,
        connections=connections,
        prefix=prefix,
    )
    after = cpu_seconds()
    used = {name: after[name] - before[name] for name in after}
    return warmup, replace(measured, cpu_seconds=used)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile ``share`` (0-100) of ``values``."""
    ordered = sorted(values)
    rank = max(1, round(share / 100 * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def sizing_latency(base: str, lines: Path, requests: int) -> Load:
    """Latencies of ``requests`` sizings over one connection, after a warm-up."""
    wrk(base, lines, limit=max(20, requests // 10), seconds=30, connections=1)
    return wrk(base, lines, limit=requests, seconds=60, connections=1, latency=True)


def sizing_figures(backend: str, runs: int, load: Load) -> list[Figure]:
    """The p50 and p99 figures of one sizing measurement."""
    ok = load.only(200)
    p50 = percentile(load.latencies_ms, 50)
    p99 = percentile(load.latencies_ms, 99)
    note = load.describe()
    return [
        Figure(
            PART,
            f"{backend} sizing p50, {runs:,} runs",
            p50,
            "ms",
            target=f"<= {SIZING_TARGET_MS:g} ms",
            ratio=p50 / SIZING_TARGET_MS,
            met=ok and p50 <= SIZING_TARGET_MS,
            note=note,
        ),
        Figure(
            PART,
            f"{backend} sizing p99, {runs:,} runs",
            p99,
            "ms",
            note=f"mean {statistics.fmean(load.latencies_ms):.2f} ms, "
            f"max {max(load.latencies_ms):.1f} ms",
        ),
    ]


def _pushed(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    sa.text("SELECT count(*) FROM runs WHERE organization LIKE :org"),
                    {"org": PUSH_ORG + "%"},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def jobs_with_runs(db_url: str, count: int) -> list[tuple[str, str, str, str]]:
    """Up to ``count`` jobs with runs to size from, in a fixed shuffled order."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT DISTINCT organization, repository, workflow, job "
                    "FROM runs WHERE status <> 'cancelled' ORDER BY 1, 2, 3, 4"
                )
            ).all()
    finally:
        engine.dispose()
    jobs = [(row[0], row[1], row[2], row[3]) for row in rows]
    random.Random(5).shuffle(jobs)
    return jobs[:count]


def _load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def measure_pushes(
    backend: str, db_url: str, args: argparse.Namespace, workdir: Path, log: Any
) -> list[Figure]:
    """Pushes per second of the receiver and of the floor at each worker count."""
    lines = workdir / "pushes.txt"
    lines.write_text("\n".join(push_lines(datetime.now(UTC))) + "\n")
    figures = []
    created = 0
    for workers in args.workers:
        load_before = _load()
        with receiver(db_url, workers=workers, log=log) as base:
            warmup, pushes = throughput(base, lines, workers, args, f"r{workers}")
        with floor(workers, log) as base:
            # The bare app's rate swings between runs (3,000 to 9,800 a
            # second seen back to back on a quiet machine, as gunicorn's
            # workers share out the connections); its best of three is the
            # floor, which leaves the receiver's ratio on the safe side.
            bare = max(
                (
                    throughput(base, lines, workers, args, f"f{workers}-{n}")[1]
                    for n in range(FLOOR_TRIES)
                ),
                key=lambda load: load.rate,
            )
        created += warmup.statuses.get("201", 0) + pushes.statuses.get("201", 0)
        ratio = pushes.rate / bare.rate if bare.rate else 0.0
        ok = pushes.only(201) and bare.only(201)
        database = (
            f", {_cpu_ms(pushes, 'postgres'):.2f} ms in PostgreSQL"
            if backend == "postgresql"
            else ""
        )
        print(
            f"{backend}, {workers} workers: receiver {pushes.rate:,.0f} pushes/s, "
            f"floor {bare.rate:,.0f}/s, {ratio:.0%} of the floor; CPU per push "
            f"{_cpu_ms(pushes, 'server'):.2f} ms in the receiver{database}, per "
            f"floor request {_cpu_ms(bare, 'server'):.2f} ms "
            f"(load {load_before} before)",
            flush=True,
        )
        figures += [
            Figure(
                PART,
                f"{backend} pushes/s, {workers} workers",
                pushes.rate,
                "pushes/s",
                target=f">= {PUSH_TARGET:.0%} of floor",
                ratio=ratio,
                met=ok and ratio >= PUSH_TARGET,
                note=pushes.describe() + f"; load before {load_before}",
            ),
            Figure(
                PART,
                f"floor beside {backend}, {workers} workers",
                bare.rate,
                "requests/s",
                note=bare.describe(),
            ),
            *cpu_figures(backend, workers, pushes, bare),
        ]
    # A run that ends at its count leaves requests in flight, which the
    # server still stores: at most one per connection.
    in_flight = sum(2 * 2 * workers * THREADS for workers in args.workers)
    stored = _pushed(db_url)
    consistent = created <= stored <= created + in_flight
    print(
        f"{backend}: {created:,} pushes answered 201 and {stored:,} runs stored "
        f"(up to {in_flight} more left in flight): "
        f"{'as expected' if consistent else 'WRONG'}",
        flush=True,
    )
    figures.append(
        Figure(
            PART,
            f"{backend} runs stored of pushes answered 201",
            stored,
            "runs",
            target=f"{created:,} to {created + in_flight:,}",
            ratio=stored / created if created else None,
            met=consistent,
            note=f"{created:,} answered 201; up to {in_flight} left in flight",
        )
    )
    return figures


def _cpu_ms(load: Load, process: str) -> float:
    return 1000 * load.cpu_seconds[process] / load.requests if load.requests else 0.0


def cpu_figures(backend: str, workers: int, pushes: Load, bare: Load) -> list[Figure]:
    """CPU per request of the receiver, the floor and PostgreSQL, in ms.

    They say where a push's time goes: the rates depend on how the machine's
    cores are shared out, these do not as much.
    """
    receiver_ms, floor_ms = _cpu_ms(pushes, "server"), _cpu_ms(bare, "server")
    figures = [
        Figure(
            PART,
            f"{backend} receiver CPU per push, {workers} workers",
            receiver_ms,
            "ms",
            ratio=receiver_ms / floor_ms if floor_ms else None,
            note="gunicorn's master and workers; the ratio is to the floor's",
        ),
        Figure(
            PART,
            f"floor CPU per request beside {backend}, {workers} workers",
            floor_ms,
            "ms",
        ),
    ]
    if backend == "postgresql":
        figures.append(
            Figure(
                PART,
                f"PostgreSQL CPU per push, {workers} workers",
                _cpu_ms(pushes, "postgres"),
                "ms",
                note="every process of the cluster, its writers included",
            )
        )
    return figures


def run_backend(
    backend: str, args: argparse.Namespace, workdir: Path, log: Any
) -> list[Figure]:
    """Measure one backend: the small database first, then the seeded one."""
    figures: list[Figure] = []
    name = f"cisizer_bench_ingest_{secrets.token_hex(4)}"
    small = _seed.create_database(backend, workdir, name)
    try:
        _seed.seed(small, args.small_runs, jobs=SMALL_JOBS)
        if "sizing" in args.part:
            lines = workdir / "sizing-small.txt"
            lines.write_text("\n".join(sizing_lines(jobs_with_runs(small, 500))))
            with receiver(small, workers=2, log=log) as base:
                load = sizing_latency(base, lines, args.sizing_requests)
            figures += sizing_figures(backend, args.small_runs, load)
            print(f"{backend}: sizing at {args.small_runs} runs measured", flush=True)
        if "pushes" in args.part:
            figures += measure_pushes(backend, small, args, workdir, log)
    finally:
        _seed.drop_database(small)

    if "sizing" in args.part:
        big, seeded = _seed.seeded_database(backend, args.runs, fresh=args.fresh_seed)
        args.seeding[backend] = None if seeded is None else round(seeded, 1)
        if seeded is None:
            print(f"{backend}: reusing the kept {args.runs:,}-run database", flush=True)
        else:
            print(f"{backend}: seeded {args.runs:,} runs in {seeded:.0f} s", flush=True)
        lines = workdir / "sizing-big.txt"
        lines.write_text("\n".join(sizing_lines(jobs_with_runs(big, 500))))
        with receiver(big, workers=2, log=log) as base:
            load = sizing_latency(base, lines, args.sizing_requests)
        figures += sizing_figures(backend, args.runs, load)
    return figures


def _wrk_version() -> str:
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return (done.stdout + done.stderr).strip().splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, measure each backend, publish the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--backend",
        action="append",
        choices=("postgresql", "sqlite"),
        help="Database to measure (repeatable; default both).",
    )
    parser.add_argument(
        "--workers",
        action="append",
        type=int,
        help="Gunicorn workers for the push measurements (repeatable; default 2, 4).",
    )
    parser.add_argument(
        "--part",
        action="append",
        choices=("pushes", "sizing"),
        help="What to measure (repeatable; default both).",
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pushes", type=int, default=30_000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--sizing-requests", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--small-runs", type=int, default=100)
    parser.add_argument(
        "--fresh-seed",
        action="store_true",
        help="Seed the large database anew even when a kept one matches.",
    )
    args = parser.parse_args(argv)
    args.backend = args.backend or ["postgresql", "sqlite"]
    args.workers = args.workers or [2, 4]
    args.part = args.part or ["pushes", "sizing"]
    args.seeding = {}
    if shutil.which("wrk") is None:
        print("bench/ingest.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2

    started = time.perf_counter()
    load_before = _load()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="cisizer-bench-") as scratch:
        workdir = Path(scratch)
        servers_log = workdir / "servers.log"
        try:
            with servers_log.open("ab") as log:
                for backend in args.backend:
                    figures += run_backend(backend, args, workdir, log)
        except BaseException:
            tail = servers_log.read_text(errors="replace").splitlines()[-40:]
            print("the servers' last log lines:", *tail, sep="\n", file=sys.stderr)
            raise
    publish(
        PART,
        figures,
        backends=args.backend,
        workers=args.workers,
        threads_per_worker=THREADS,
        connections="2 x workers x threads",
        seconds_per_measurement=args.seconds,
        pushes_per_measurement=args.pushes,
        warmup_pushes=args.warmup,
        sizing_requests=args.sizing_requests,
        small_runs=args.small_runs,
        large_runs=args.runs,
        seeding_seconds=args.seeding,
        load_average_before=load_before,
        load_average_after=_load(),
        duration_seconds=round(time.perf_counter() - started),
        load_generator=_wrk_version(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
