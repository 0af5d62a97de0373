"""Backtest sizing quality: CI Sizer against VPA-like and KRR-like recommenders.

Generates ``--jobs`` CI jobs (default 2,000) of ``--runs`` runs each (default
30) from a fixed seed, in six shapes seen in CI:

- ``steady``: the same work every run, a few per cent of noise;
- ``growing``: a test suite or dependency tree that grows 0.5-3 % a run;
- ``bimodal``: cache hit or miss: 10-30 % of runs need 1.5-2.5x the memory,
  more CPU and 2-4x the time;
- ``spiky``: 3-10 % of runs spike to 1.3-2x the memory (a large fixture, a
  parallel link step);
- ``oom-prone``: heavy-tailed memory (log-normal, sigma 0.2-0.35), so runs
  often exceed a limit set from the last few and are OOM-killed, which cuts
  their recorded peak at the limit;
- ``long-tail``: steady memory, durations with a Pareto tail.

Each job has a ``runner`` container (150 MiB - 12 GiB at its peak, 0.2-6
cores on average) and in 40 % of jobs a database service container, in 15 %
also a cache (tens of MiB).  Runs arrive at a job-specific rate, from
hourly to every two days.  Cancelled runs are not generated.

Every strategy replays every job walk-forward (cisizer.core.backtest): it
sizes run t from runs before t only and then sees run t as the receiver
would have stored it under its own size (cut at the limit when killed).
The strategies are CI Sizer at its defaults (5 runs, buffer 20 %), a sweep
of runs and buffer, the memory staircase alone (CI Sizer before memory was
fitted to each job's spread), a VPA-like and a KRR-simple-like recommender.
Figures count runs sized from at least 5 earlier runs; those sized from
fewer (cold start) are printed apart, and the headline strategies also per
job shape.

It also replays the runs the demo recorded (``nox -s demo``) from its
SQLite database, ``<repo>/.cisizer-demo/cisizer.db`` (or ``$CISIZER_DEMO_DIR``),
when that exists, and says so when it does not.

Prints one row per strategy, records the figures through bench/_results.py
(targets: CI Sizer at its defaults kills no more runs than either baseline
and leaves less memory unused, relative, than the better of them), and draws
``bench-results/backtest-pareto.png``.

Usage: ``python bench/backtest.py [--jobs N] [--runs N] [--seed N]``
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).parent))

from _results import Figure, publish

from cisizer.core import (
    ContainerRecommendation,
    ContainerSummary,
    KrrSimpleStrategy,
    Recommender,
    SizingParams,
    SizingStrategy,
    Stats,
    Strategy,
    StrategyReport,
    Summary,
    VpaStrategy,
    backtest,
    memory_target,
)

ROOT = Path(__file__).parent.parent
MIB = 1024**2
GIB = 1024**3
START = datetime(2026, 9, 1, tzinfo=UTC)
SHAPES = (
    ("steady", 0.30),
    ("growing", 0.15),
    ("bimodal", 0.20),
    ("spiky", 0.15),
    ("oom-prone", 0.10),
    ("long-tail", 0.10),
)
FULL_HISTORY = 5
DEFAULT = "cisizer"
STAIRCASE = "staircase (before)"
CONTAINERS = ("runner", "postgres", "redis")
# Strategies whose figures are also broken down by job shape and container.
BREAKDOWN = (DEFAULT, STAIRCASE, "vpa", "krr-simple")


def strategies() -> list[Strategy]:
    """CI Sizer at its defaults, a sweep, the staircase alone, and the baselines."""
    sweep: list[Strategy] = [SizingStrategy(SizingParams(), name=DEFAULT)]
    for runs in (3, 10, 20):
        sweep.append(
            SizingStrategy(SizingParams(runs=runs), name=f"cisizer runs={runs}")
        )
    for buffer in (0, 50):
        sweep.append(
            SizingStrategy(
                SizingParams(buffer_percent=buffer), name=f"cisizer buffer={buffer}"
            )
        )
    return [*sweep, StaircaseStrategy(), VpaStrategy(), KrrSimpleStrategy()]


class StaircaseStrategy:
    """CI Sizer before memory was fitted to each job: the staircase at any history.

    CPU and the OOM bump as in cisizer.core; memory request and limit are
    ``memory_target`` of the (bumped) peak, as DESIGN §5 words it.
    """

    name = STAIRCASE

    def recommender(self) -> Recommender:
        """Start the state for one job."""
        return _StaircaseRecommender()


class _StaircaseRecommender:
    def __init__(self) -> None:
        self._history: list[Summary] = []
        self._sizing = SizingStrategy().recommender()

    def observe(self, run: Summary) -> None:
        self._history.append(run)
        self._sizing.observe(run)

    def recommend(self, at: datetime) -> Mapping[str, ContainerRecommendation]:
        sized = self._sizing.recommend(at)
        recent = self._history[-SizingParams().runs :]
        result = {}
        for name, recommendation in sized.items():
            seen = [c for run in recent for c in run.containers if c.name == name]
            peak = max(c.memory_bytes.peak for c in seen)
            for c in seen:
                if c.oom_kills:
                    held = (c.limits.memory_bytes if c.limits else None) or (
                        c.memory_bytes.peak
                    )
                    peak = max(peak, held + 100 * MIB, held * 1.2)
            target = memory_target(peak)
            result[name] = attrs.evolve(
                recommendation, memory_request_bytes=target, memory_limit_bytes=target
            )
        return result


# --- Generated jobs -----------------------------------------------------------


@dataclass(frozen=True)
class _Container:
    name: str
    memory: float  # typical peak, bytes
    cpu: float  # typical average, cores
    noise: float  # log-normal sigma of the peak


def _cpu_stats(rng: random.Random, average: float, ceiling: float) -> Stats:
    """Spread a run's average CPU into the statistics the agent reports."""
    burst = rng.uniform(1.4, 2.6)
    points = [
        average * factor for factor in (0.9, 1.15, burst, burst * 1.15, burst * 1.3)
    ]
    p50, p75, p95, p99, peak = (min(value, ceiling) for value in points)
    return Stats(
        peak=peak, avg=min(average, ceiling), p50=p50, p75=p75, p95=p95, p99=p99
    )


def _memory_stats(peak: float) -> Stats:
    return Stats(peak=int(peak), avg=int(peak * 0.62), p95=int(peak * 0.93))


def _job(rng: random.Random, runs: int) -> tuple[str, list[Summary]]:
    shape = rng.choices([s for s, _ in SHAPES], [w for _, w in SHAPES])[0]
    cores = rng.choice((2, 4, 8, 16))
    containers = [
        _Container(
            "runner",
            math.exp(rng.uniform(math.log(150 * MIB), math.log(12 * GIB))),
            min(math.exp(rng.uniform(math.log(0.2), math.log(6))), cores * 0.8),
            rng.uniform(0.02, 0.08),
        )
    ]
    if rng.random() < 0.40:
        containers.append(
            _Container(
                "postgres",
                rng.uniform(40, 250) * MIB,
                rng.uniform(0.02, 0.3),
                rng.uniform(0.02, 0.1),
            )
        )
        if rng.random() < 0.375:
            containers.append(
                _Container(
                    "redis",
                    rng.uniform(8, 60) * MIB,
                    rng.uniform(0.01, 0.05),
                    rng.uniform(0.02, 0.1),
                )
            )
    minutes = math.exp(rng.uniform(math.log(2), math.log(40)))
    every = timedelta(hours=math.exp(rng.uniform(math.log(1), math.log(48))))
    growth = rng.uniform(0.005, 0.03)
    miss_rate = rng.uniform(0.1, 0.3)
    miss_memory = rng.uniform(1.5, 2.5)
    spike_rate = rng.uniform(0.03, 0.10)
    heavy_sigma = rng.uniform(0.2, 0.35)

    history = []
    clock = START + every * rng.random()
    for index in range(runs):
        memory_factor = cpu_factor = time_factor = 1.0
        if shape == "growing":
            memory_factor = cpu_factor = time_factor = (1 + growth) ** index
        elif shape == "bimodal" and rng.random() < miss_rate:
            memory_factor = miss_memory
            cpu_factor = rng.uniform(1.2, 1.8)
            time_factor = rng.uniform(2, 4)
        elif shape == "spiky" and rng.random() < spike_rate:
            memory_factor = rng.uniform(1.3, 2.0)
            cpu_factor = rng.uniform(1.0, 1.5)
        elif shape == "oom-prone":
            memory_factor = rng.lognormvariate(0, heavy_sigma)
        if shape == "long-tail":
            time_factor = min(rng.paretovariate(1.6), 30.0)
        duration = minutes * 60 * time_factor * rng.lognormvariate(0, 0.15)

        summaries = []
        for index_c, container in enumerate(containers):
            # Service containers do the same work whatever the job's shape.
            own = index_c == 0
            peak = (
                container.memory
                * (memory_factor if own else 1.0)
                * rng.lognormvariate(0, container.noise)
            )
            average = container.cpu * (cpu_factor if own else 1.0)
            average *= rng.lognormvariate(0, 0.1)
            summaries.append(
                ContainerSummary(
                    name=container.name,
                    cpu_cores=_cpu_stats(rng, average, float(cores)),
                    memory_bytes=_memory_stats(peak),
                )
            )
        start = clock
        end = start + timedelta(seconds=duration)
        history.append(
            Summary(
                start_time=start,
                end_time=end,
                duration_seconds=round(duration, 3),
                sample_count=max(int(duration), 1),
                interval_seconds=1.0,
                containers=tuple(summaries),
            )
        )
        clock = end + every * rng.expovariate(1.0)
    return shape, history


def generate(jobs: int, runs: int, seed: int) -> Iterator[tuple[str, list[Summary]]]:
    """Yield ``jobs`` generated jobs (shape, runs oldest first), the same per seed."""
    rng = random.Random(seed)
    for _ in range(jobs):
        yield _job(rng, runs)


# --- The demo's recorded runs -------------------------------------------------


def demo_database() -> Path:
    """Where the demo keeps its SQLite database."""
    directory = os.environ.get("CISIZER_DEMO_DIR")
    base = Path(directory) if directory else ROOT / ".cisizer-demo"
    return base / "cisizer.db"


def demo_histories(path: Path) -> list[list[Summary]]:
    """Read the demo's runs per job, oldest first, without cancelled ones."""
    import sqlalchemy as sa

    from cisizer.core import converter
    from cisizer.server._schema import runs

    engine = sa.create_engine(f"sqlite:///{path}")
    query = (
        sa.select(
            runs.c.organization,
            runs.c.repository,
            runs.c.workflow,
            runs.c.job,
            runs.c.payload,
        )
        .where(runs.c.status != "cancelled")
        .order_by(
            runs.c.organization,
            runs.c.repository,
            runs.c.workflow,
            runs.c.job,
            runs.c.end_time,
            runs.c.id,
        )
    )
    jobs: dict[tuple[str, ...], list[Summary]] = {}
    with engine.connect() as connection:
        for org, repo, workflow, job, payload in connection.execute(query):
            summary = converter.structure(payload, Summary)
            jobs.setdefault((org, repo, workflow, job), []).append(summary)
    engine.dispose()
    return list(jobs.values())


# --- Replay -------------------------------------------------------------------

_JOBS: list[tuple[str, list[Summary]]] = []


def _load(jobs: int, runs: int, seed: int) -> None:
    _JOBS[:] = generate(jobs, runs, seed)


def _replay_one(index: int) -> tuple[int, StrategyReport, dict[str, StrategyReport]]:
    strategy = strategies()[index]
    overall = backtest(
        (history for _, history in _JOBS), [strategy], full_history=FULL_HISTORY
    )[0]
    by_shape = {}
    if strategy.name in BREAKDOWN:
        for shape, _ in SHAPES:
            histories = [history for s, history in _JOBS if s == shape]
            by_shape[shape] = backtest(
                histories, [strategy], full_history=FULL_HISTORY
            )[0]
        # Each kind of container alone in its pod, to see where a lead comes from.
        for name in CONTAINERS:
            histories = [_alone(history, name) for _, history in _JOBS]
            by_shape[f"{name} alone"] = backtest(
                [history for history in histories if history],
                [strategy],
                full_history=FULL_HISTORY,
            )[0]
    return index, overall, by_shape


def _alone(history: list[Summary], name: str) -> list[Summary]:
    """The job's runs with only the container ``name``; empty when it has none."""
    if not any(c.name == name for c in history[0].containers):
        return []
    return [
        attrs.evolve(run, containers=tuple(c for c in run.containers if c.name == name))
        for run in history
    ]


def replay_generated(
    jobs: int, runs: int, seed: int
) -> tuple[list[StrategyReport], dict[str, dict[str, StrategyReport]]]:
    """Replay the generated jobs under every strategy, on two processes.

    Returns the reports in the order of :func:`strategies` and, for the
    strategies in ``BREAKDOWN``, a report per job shape.
    """
    count = len(strategies())
    reports: dict[int, StrategyReport] = {}
    shapes: dict[str, dict[str, StrategyReport]] = {}
    with multiprocessing.Pool(
        2, initializer=_load, initargs=(jobs, runs, seed)
    ) as pool:
        # The costlier strategies first, so the two processes end together.
        order = sorted(
            range(count), key=lambda i: strategies()[i].name not in BREAKDOWN
        )
        for index, overall, by_shape in pool.imap_unordered(_replay_one, order):
            reports[index] = overall
            if by_shape:
                shapes[overall.strategy] = by_shape
    return [reports[index] for index in range(count)], shapes


# --- Output -------------------------------------------------------------------


def _percent(value: float) -> str:
    return f"{value * 100:.2f}%"


def print_table(
    title: str, reports: Sequence[StrategyReport], *, cold: bool = False
) -> None:
    """Print one row per strategy: warm-history figures, or with ``cold`` the others."""
    header = (
        "strategy",
        "runs",
        "mem under",
        "cpu under",
        "mem slack mean",
        "median",
        "cpu slack mean",
        "median",
        "unused GiB-h",
        "unused core-h",
        "mem changes",
        "cpu changes",
    )
    rows = [header]
    for report in reports:
        figures = report.cold if cold else report.warm
        rows.append(
            (
                report.strategy,
                f"{figures.container_runs:,}",
                _percent(figures.memory_under_rate),
                _percent(figures.cpu_under_rate),
                _percent(figures.memory_slack_mean),
                _percent(figures.memory_slack_median),
                _percent(figures.cpu_slack_mean),
                _percent(figures.cpu_slack_median),
                f"{figures.unused_gib_hours:,.1f}",
                f"{figures.unused_core_hours:,.1f}",
                _percent(figures.memory_change_rate),
                _percent(figures.cpu_change_rate),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print(f"\n{title}")
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def print_shapes(by_shape: Mapping[str, Mapping[str, StrategyReport]]) -> None:
    """Print memory kills, mean slack and unused GiB-h per job shape and container."""
    names = [name for name in BREAKDOWN if name in by_shape]
    header = ("shape", *names)
    rows = [header]
    for shape in [shape for shape, _ in SHAPES] + [f"{c} alone" for c in CONTAINERS]:
        cells = [shape]
        for name in names:
            warm = by_shape[name][shape].warm
            cells.append(
                f"{_percent(warm.memory_under_rate)} / "
                f"{_percent(warm.memory_slack_mean)} / "
                f"{warm.unused_gib_hours:,.0f}"
            )
        rows.append(tuple(cells))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print(
        "\nper job shape, then each kind of container alone in its pod: "
        "memory under / mean slack / unused GiB-h"
    )
    for number, row in enumerate(rows):
        print(
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if number == 0:
            print("  ".join("-" * width for width in widths))


def draw_pareto(reports: Sequence[StrategyReport], path: Path) -> None:
    """Plot under-provisioning against slack, memory and CPU, a point per strategy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    panels = (
        ("memory", "memory_under_rate", "memory_slack_mean", "runs OOM-killed"),
        ("CPU", "cpu_under_rate", "cpu_slack_mean", "runs with p95 above request"),
    )
    for axis, (label, under, slack, meaning) in zip(axes, panels, strict=True):
        for report in reports:
            name = report.strategy
            # The CPU buffer changes no memory figure, and the staircase no
            # CPU figure: those points would sit on the default's.
            if label == "memory" and "buffer=" in name:
                continue
            if label == "CPU" and name == STAIRCASE:
                continue
            if label == "memory" and name == DEFAULT:
                name = f"{DEFAULT} (any buffer)"
            x = getattr(report.warm, slack) * 100
            y = getattr(report.warm, under) * 100
            before = report.strategy == STAIRCASE
            baseline = not report.strategy.startswith("cisizer") and not before
            marker = "s" if baseline else ("*" if report.strategy == DEFAULT else "o")
            size = 160 if report.strategy == DEFAULT else 60
            color = "tab:red" if baseline else ("tab:gray" if before else "tab:blue")
            axis.scatter(x, y, marker=marker, s=size, color=color)
            # Baselines and the longest window label below their point, the
            # rest above, so that neighbours do not overwrite each other.
            below = baseline or name.endswith("runs=20")
            axis.annotate(
                name,
                (x, y),
                textcoords="offset points",
                xytext=(6, -11 if below else 4),
                fontsize=8,
            )
        axis.set_xlabel(f"mean relative {label} slack (%)")
        axis.set_ylabel(f"{meaning} (%)")
        axis.set_title(f"{label}: lower left is better")
        axis.grid(visible=True, alpha=0.3)
    figure.suptitle("Walk-forward backtest, runs sized from a full history")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def figures(reports: Sequence[StrategyReport]) -> list[Figure]:
    """The recorded figures: the targets, then each strategy's headline figures."""
    by_name = {report.strategy: report.warm for report in reports}
    ours = by_name[DEFAULT]
    baselines = {name: by_name[name] for name in ("vpa", "krr-simple")}
    lowest_under = min(b.memory_under_rate for b in baselines.values())
    lowest_slack = min(b.memory_slack_mean for b in baselines.values())
    under_met = all(
        ours.memory_under_rate <= b.memory_under_rate for b in baselines.values()
    )
    slack_met = all(
        ours.memory_slack_mean < b.memory_slack_mean for b in baselines.values()
    )

    result = [
        Figure(
            "backtest",
            "cisizer memory under-provisioning",
            round(ours.memory_under_rate * 100, 3),
            "% runs",
            target="<= VPA and KRR",
            ratio=ours.memory_under_rate / lowest_under if lowest_under else None,
            met=under_met,
            note="ratio vs the lower baseline",
        ),
        Figure(
            "backtest",
            "cisizer mean memory slack",
            round(ours.memory_slack_mean * 100, 2),
            "%",
            target="< VPA and KRR",
            ratio=ours.memory_slack_mean / lowest_slack if lowest_slack else None,
            met=slack_met,
            note="ratio vs the better baseline",
        ),
    ]
    for report in reports:
        warm = report.warm
        for name, value, unit in (
            ("memory under-provisioning", warm.memory_under_rate * 100, "% runs"),
            ("mean memory slack", warm.memory_slack_mean * 100, "%"),
            ("unused memory", warm.unused_gib_hours, "GiB-h"),
            ("CPU under-provisioning", warm.cpu_under_rate * 100, "% runs"),
            ("mean CPU slack", warm.cpu_slack_mean * 100, "%"),
        ):
            label = f"{report.strategy} {name}"
            if label not in {figure.name for figure in result}:
                result.append(Figure("backtest", label, round(value, 3), unit))
    return result


def main() -> int:
    """Generate, replay, print, record and draw."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=20261203)
    options = parser.parse_args()
    if options.jobs < 1:
        parser.error("--jobs must be at least 1")
    if options.runs < 2:
        parser.error("--runs must be at least 2")

    began = time.monotonic()
    shapes: dict[str, int] = {}
    for shape, _ in generate(options.jobs, options.runs, options.seed):
        shapes[shape] = shapes.get(shape, 0) + 1
    reports, by_shape = replay_generated(options.jobs, options.runs, options.seed)
    title = (
        f"generated: {options.jobs:,} jobs x {options.runs} runs "
        f"(seed {options.seed}; {', '.join(f'{k} {v}' for k, v in shapes.items())})"
    )
    print_table(
        f"{title}\nruns sized from a full history (>= {FULL_HISTORY} earlier runs)",
        reports,
    )
    print_table(
        f"cold start: runs sized from 1 to {FULL_HISTORY - 1} earlier runs",
        reports,
        cold=True,
    )

    print_shapes(by_shape)

    database = demo_database()
    demo: dict[str, Any] = {"database": str(database)}
    histories: list[list[Summary]] | None = None
    demo_reports: list[StrategyReport] = []
    if database.exists():
        try:
            histories = demo_histories(database)
        except Exception as error:
            # A file of another schema, or not SQLite at all: say so, go on.
            print(f"\ndemo: cannot read {database}: {error}")
            demo["error"] = str(error)
    if histories is not None:
        demo["jobs"] = len(histories)
        demo["runs"] = sum(len(history) for history in histories)
        demo_reports = backtest(histories, strategies(), full_history=FULL_HISTORY)
    if histories is not None and not demo_reports[0].all.container_runs:
        print(
            f"\ndemo: {demo['runs']} run(s) in {database}, none with an earlier "
            "run of its job to size it from"
        )
    elif histories is not None:
        print_table(
            f"demo: {demo['jobs']} job(s), {demo['runs']} run(s) from {database}; "
            f"runs sized from 1 to {FULL_HISTORY - 1} earlier runs",
            demo_reports,
            cold=True,
        )
        if demo_reports[0].warm.container_runs:
            print_table(
                f"demo: runs sized from at least {FULL_HISTORY} earlier runs",
                demo_reports,
            )
        demo["reports"] = {
            report.strategy: {
                "cold_memory_under_rate": report.cold.memory_under_rate,
                "cold_memory_slack_mean": report.cold.memory_slack_mean,
                "warm_container_runs": report.warm.container_runs,
                "warm_memory_under_rate": report.warm.memory_under_rate,
                "warm_memory_slack_mean": report.warm.memory_slack_mean,
            }
            for report in demo_reports
        }
    elif "error" not in demo:
        print(f"\ndemo: no database at {database}; run `nox -s demo` to record one")
        demo["jobs"] = 0

    picture = ROOT / "bench-results" / "backtest-pareto.png"
    draw_pareto(reports, picture)
    print(f"\nPareto view written to {picture}")
    publish(
        "backtest",
        figures(reports),
        jobs=options.jobs,
        runs_per_job=options.runs,
        seed=options.seed,
        shapes=shapes,
        full_history=FULL_HISTORY,
        pareto=str(picture.relative_to(ROOT)),
        demo=demo,
        seconds=round(time.monotonic() - began, 1),
        reports={report.strategy: attrs.asdict(report) for report in reports},
        by_shape={
            name: {
                shape: {
                    "memory_under_rate": report.warm.memory_under_rate,
                    "memory_slack_mean": report.warm.memory_slack_mean,
                    "unused_gib_hours": report.warm.unused_gib_hours,
                }
                for shape, report in shapes.items()
            }
            for name, shapes in by_shape.items()
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
