"""Backtest: how well a sizing strategy would have sized a job's past runs.

The replay is walk-forward.  For each run of a job, oldest first, a strategy
recommends from the runs before it only, then the run is judged against that
recommendation.  The run is then handed to the strategy as the receiver would
have stored it under that recommendation: a container whose memory peak
exceeded the recommended limit was OOM-killed, so the strategy sees its peak
cut at the limit, ``oom_kills = 1`` and the limit it had.  Each strategy thus
lives with the consequences of its own recommendations.

Three strategies are modelled:

- :class:`SizingStrategy`: CI Sizer's own sizing (:func:`compute_sizing`).
- :class:`VpaStrategy`: the Kubernetes Vertical Pod Autoscaler recommender's
  target: a decaying histogram, 90th percentile plus a 15 % margin, an OOM
  bump, 250 MiB / 25m floors per pod.
- :class:`KrrSimpleStrategy`: Robusta KRR's ``simple`` strategy: CPU the
  95th percentile, memory the peak plus 15 %, over 14 days.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from cisizer.core._models import (
    ContainerSummary,
    CpuPercentile,
    CpuSizingMode,
    Limits,
    SizingParams,
    Stats,
    Summary,
)
from cisizer.core._sizing import compute_sizing, cpu_figure

__all__ = [
    "BacktestFigures",
    "ContainerRecommendation",
    "KrrSimpleStrategy",
    "Recommender",
    "SizingStrategy",
    "Strategy",
    "StrategyReport",
    "VpaStrategy",
    "backtest",
]

_MIB = 1024**2
_GIB = 1024**3


@attrs.frozen
class ContainerRecommendation:
    """What a strategy recommends for one container: cores and bytes.

    ``cpu_limit_cores`` is ``None`` when the strategy sets no CPU limit.
    """

    cpu_request_cores: float
    cpu_limit_cores: float | None
    memory_request_bytes: int
    memory_limit_bytes: int


class Recommender(Protocol):
    """The state one strategy keeps for one job during a replay."""

    def recommend(self, at: datetime) -> Mapping[str, ContainerRecommendation]:
        """Recommend per container for a run starting at ``at``.

        Empty when nothing was observed yet.
        """

    def observe(self, run: Summary) -> None:
        """Take in a finished run, as the receiver stored it."""


class Strategy(Protocol):
    """A way to size CI jobs, replayed by :func:`backtest`."""

    @property
    def name(self) -> str:
        """The name the strategy is reported under."""

    def recommender(self) -> Recommender:
        """Start the state for one job."""


# --- CI Sizer ---------------------------------------------------------------


@attrs.frozen
class SizingStrategy:
    """CI Sizer's sizing (docs/sizing.md) with the given parameters.

    Like the receiver it sizes from the ``params.runs`` newest runs.
    """

    params: SizingParams = attrs.field(factory=SizingParams)
    name: str = "cisizer"

    def recommender(self) -> Recommender:
        """Start the state for one job: the runs seen so far."""
        return _SizingRecommender(self.params)


class _SizingRecommender:
    def __init__(self, params: SizingParams) -> None:
        self._params = params
        self._history: list[Summary] = []

    def recommend(self, at: datetime) -> Mapping[str, ContainerRecommendation]:
        if not self._history:
            return {}
        recent = self._history[-self._params.runs :][::-1]
        sizing = compute_sizing(recent, self._params)
        enforce = self._params.cpu_sizing_mode is CpuSizingMode.ENFORCE
        return {
            c.name: ContainerRecommendation(
                cpu_request_cores=c.cpu.request_millicores / 1000,
                cpu_limit_cores=c.cpu.limit_millicores / 1000 if enforce else None,
                memory_request_bytes=c.memory.request_bytes,
                memory_limit_bytes=c.memory.limit_bytes,
            )
            for c in sizing.containers
        }

    def observe(self, run: Summary) -> None:
        self._history.append(run)


# --- Vertical Pod Autoscaler --------------------------------------------------


class _DecayingHistogram:
    """Exponential buckets (each 5 % wider) with weights that halve per half-life.

    New samples get weight ``2 ** (age / half_life)`` from a reference time,
    which is the same as old ones losing half their weight per half-life.
    """

    _RATIO = 1.05

    def __init__(self, first_bucket: float, half_life: timedelta) -> None:
        self._first = first_bucket
        self._half_life = half_life.total_seconds()
        self._weights: dict[int, float] = {}
        self._reference: datetime | None = None

    def _bucket(self, value: float) -> int:
        if value < self._first:
            return 0
        ratio = self._RATIO
        return int(math.log(value * (ratio - 1) / self._first + 1) / math.log(ratio))

    def _start(self, bucket: int) -> float:
        ratio = self._RATIO
        return self._first * (ratio**bucket - 1) / (ratio - 1)

    def add(self, value: float, weight: float, time: datetime) -> None:
        if self._reference is None:
            self._reference = time
        exponent = (time - self._reference).total_seconds() / self._half_life
        if exponent > 500:
            # Move the reference forward before the factors overflow a float.
            shrink = 2.0**-exponent
            self._weights = {b: w * shrink for b, w in self._weights.items()}
            self._reference = time
            exponent = 0.0
        bucket = self._bucket(value)
        factor = weight * 2.0**exponent
        self._weights[bucket] = self._weights.get(bucket, 0.0) + factor

    def percentile(self, fraction: float) -> float:
        """The end of the bucket in which ``fraction`` of the weight is reached."""
        if not self._weights:
            return 0.0
        threshold = fraction * sum(self._weights.values())
        running = 0.0
        buckets = sorted(self._weights)
        for bucket in buckets:
            running += self._weights[bucket]
            if running >= threshold:
                return self._start(bucket + 1)
        return self._start(buckets[-1] + 1)


# Probabilities at which a run's CPU distribution is read off its statistics,
# standing in for the per-minute samples the VPA recommender would have seen.
_CPU_POINTS = tuple((index + 0.5) / 20 for index in range(20))


def _cpu_quantiles(stats: Stats) -> list[float]:
    """Interpolate a run's CPU quantile function from its summary statistics."""
    known = [(0.0, 0.0)]
    for fraction, name in ((0.5, "p50"), (0.75, "p75"), (0.95, "p95"), (0.99, "p99")):
        value: float | None = getattr(stats, name)
        if value is not None:
            known.append((fraction, value))
    if len(known) == 1 and stats.avg is not None:
        known.append((0.5, stats.avg))
    known.append((1.0, stats.peak))
    values = []
    segment = 0
    for point in _CPU_POINTS:
        while known[segment + 1][0] < point:
            segment += 1
        (p0, v0), (p1, v1) = known[segment], known[segment + 1]
        values.append(v0 + (v1 - v0) * (point - p0) / (p1 - p0))
    return values


@attrs.frozen
class VpaStrategy:
    """The Vertical Pod Autoscaler recommender's target, as a CI job would get it.

    Every run is a new pod of the same workload.  Memory: one sample per run,
    its peak, or after an OOM kill ``max(L + 100 MiB, 1.2 x L)`` with ``L``
    the larger of the limit and the peak; CPU: the run's usage spread over
    its minutes, weighted by its CPU request (at least 0.1 core).  Both go
    into histograms whose weights halve every 24 hours; the target is the
    90th percentile plus a 15 % margin, at least 250 MiB and 25m per pod,
    shared among its containers.  The limit keeps the pod template's ratio,
    taken to be 1 (request = limit).
    """

    name: str = "vpa"
    percentile: float = 0.9
    margin: float = 0.15
    half_life: timedelta = timedelta(hours=24)
    min_pod_cpu_cores: float = 0.025
    min_pod_memory_bytes: int = 250 * _MIB
    oom_ratio: float = 1.2
    oom_min_bump_bytes: int = 100 * _MIB

    def recommender(self) -> Recommender:
        """Start the state for one job: CPU and memory histograms per container."""
        return _VpaRecommender(self)


class _VpaRecommender:
    def __init__(self, strategy: VpaStrategy) -> None:
        self._strategy = strategy
        self._cpu: dict[str, _DecayingHistogram] = {}
        self._memory: dict[str, _DecayingHistogram] = {}

    def observe(self, run: Summary) -> None:
        strategy = self._strategy
        minutes = max(run.duration_seconds / 60, 1.0)
        for container in run.containers:
            if container.name not in self._cpu:
                self._cpu[container.name] = _DecayingHistogram(0.01, strategy.half_life)
                self._memory[container.name] = _DecayingHistogram(
                    1e7, strategy.half_life
                )
            limits = container.limits or Limits()
            peak = container.memory_bytes.peak
            if container.oom_kills:
                held = max(limits.memory_bytes or 0, peak)
                peak = max(
                    peak,
                    held + strategy.oom_min_bump_bytes,
                    held * strategy.oom_ratio,
                )
            self._memory[container.name].add(peak, 1.0, run.end_time)
            request = max(limits.cpu_cores or 0.0, 0.1)
            weight = request * minutes / len(_CPU_POINTS)
            cpu = self._cpu[container.name]
            for value in _cpu_quantiles(container.cpu_cores):
                cpu.add(value, weight, run.end_time)

    def recommend(self, at: datetime) -> Mapping[str, ContainerRecommendation]:
        if not self._memory:
            return {}
        strategy = self._strategy
        share = 1 / len(self._memory)
        factor = 1 + strategy.margin
        recommendations = {}
        for name, memory_histogram in self._memory.items():
            memory = max(
                memory_histogram.percentile(strategy.percentile) * factor,
                strategy.min_pod_memory_bytes * share,
            )
            cpu = max(
                self._cpu[name].percentile(strategy.percentile) * factor,
                strategy.min_pod_cpu_cores * share,
            )
            cpu = math.floor(cpu * 1000) / 1000
            recommendations[name] = ContainerRecommendation(
                cpu_request_cores=cpu,
                cpu_limit_cores=cpu,
                memory_request_bytes=int(memory),
                memory_limit_bytes=int(memory),
            )
        return recommendations


# --- KRR -------------------------------------------------------------------


@attrs.frozen
class KrrSimpleStrategy:
    """Robusta KRR's ``simple`` strategy, run before each job.

    Over the runs that ended within ``history`` before the job starts: CPU
    request the highest per-run 95th percentile, no CPU limit; memory request
    and limit the highest peak plus 15 %.  At least 10m and 100 MiB; CPU is
    rounded up to 1m, memory to 1 MB.  OOM kills are not used (KRR's
    default).
    """

    name: str = "krr-simple"
    cpu_percentile: CpuPercentile = CpuPercentile.P95
    memory_buffer: float = 0.15
    history: timedelta = timedelta(hours=336)
    min_cpu_cores: float = 0.010
    min_memory_bytes: int = 100 * _MIB

    def recommender(self) -> Recommender:
        """Start the state for one job: the runs seen so far."""
        return _KrrRecommender(self)


class _KrrRecommender:
    def __init__(self, strategy: KrrSimpleStrategy) -> None:
        self._strategy = strategy
        self._runs: list[Summary] = []

    def observe(self, run: Summary) -> None:
        self._runs.append(run)

    def recommend(self, at: datetime) -> Mapping[str, ContainerRecommendation]:
        strategy = self._strategy
        since = at - strategy.history
        window = [run for run in self._runs if run.end_time >= since]
        cpu: dict[str, float] = {}
        memory: dict[str, float] = {}
        for run in window:
            for container in run.containers:
                value = cpu_figure(container.cpu_cores, strategy.cpu_percentile)
                cpu[container.name] = max(cpu.get(container.name, 0.0), value)
                peak = container.memory_bytes.peak
                memory[container.name] = max(memory.get(container.name, 0.0), peak)
        recommendations = {}
        for name, peak in memory.items():
            cores = max(math.ceil(cpu[name] * 1000) / 1000, strategy.min_cpu_cores)
            target = peak * (1 + strategy.memory_buffer)
            held = max(math.ceil(target / 1e6) * 10**6, strategy.min_memory_bytes)
            recommendations[name] = ContainerRecommendation(
                cpu_request_cores=cores,
                cpu_limit_cores=None,
                memory_request_bytes=held,
                memory_limit_bytes=held,
            )
        return recommendations


# --- Replay and figures -------------------------------------------------------


@attrs.frozen
class BacktestFigures:
    """How one strategy sized one group of container-runs.

    Rates are shares of ``container_runs`` (0-1).  Relative slack is
    ``(recommended - used) / recommended`` per container-run, used capped at
    the recommendation (a killed run used all it had): memory on the peak
    against the request, CPU on the average against the request.  Unused
    GiB-hours and core-hours weigh the same gaps by the run's duration.
    Change rates: among the container-runs whose previous run was sized
    too, the share whose CPU request, or memory request or limit, differs
    from the previous run's.
    """

    container_runs: int
    memory_under: int
    cpu_under: int
    memory_under_rate: float
    cpu_under_rate: float
    memory_slack_mean: float
    memory_slack_median: float
    cpu_slack_mean: float
    cpu_slack_median: float
    unused_gib_hours: float
    unused_core_hours: float
    memory_change_rate: float
    cpu_change_rate: float


@attrs.frozen
class StrategyReport:
    """The backtest of one strategy.

    ``warm`` holds the container-runs sized from a full history (at least
    ``full_history`` earlier runs), ``cold`` those sized from fewer, ``all``
    both.  ``unsized`` counts container-runs with no recommendation at all: a
    job's first run, or a container seen for the first time.
    """

    strategy: str
    warm: BacktestFigures
    cold: BacktestFigures
    all: BacktestFigures
    unsized: int


class _Tally:
    def __init__(self) -> None:
        self.memory_under = 0
        self.cpu_under = 0
        self.memory_slack: list[float] = []
        self.cpu_slack: list[float] = []
        self.gib_hours = 0.0
        self.core_hours = 0.0
        self.compared = 0
        self.memory_changes = 0
        self.cpu_changes = 0

    def add(self, other: _Tally) -> None:
        self.memory_under += other.memory_under
        self.cpu_under += other.cpu_under
        self.memory_slack += other.memory_slack
        self.cpu_slack += other.cpu_slack
        self.gib_hours += other.gib_hours
        self.core_hours += other.core_hours
        self.compared += other.compared
        self.memory_changes += other.memory_changes
        self.cpu_changes += other.cpu_changes

    def figures(self) -> BacktestFigures:
        count = len(self.memory_slack)

        def share(part: int, whole: int) -> float:
            return part / whole if whole else 0.0

        def mean(values: list[float]) -> float:
            return math.fsum(values) / len(values) if values else 0.0

        def median(values: list[float]) -> float:
            return statistics.median(values) if values else 0.0

        return BacktestFigures(
            container_runs=count,
            memory_under=self.memory_under,
            cpu_under=self.cpu_under,
            memory_under_rate=share(self.memory_under, count),
            cpu_under_rate=share(self.cpu_under, count),
            memory_slack_mean=mean(self.memory_slack),
            memory_slack_median=median(self.memory_slack),
            cpu_slack_mean=mean(self.cpu_slack),
            cpu_slack_median=median(self.cpu_slack),
            unused_gib_hours=self.gib_hours,
            unused_core_hours=self.core_hours,
            memory_change_rate=share(self.memory_changes, self.compared),
            cpu_change_rate=share(self.cpu_changes, self.compared),
        )


def _demand(container: ContainerSummary) -> float:
    """The memory a container needed: its peak, or more than it had when killed."""
    peak = container.memory_bytes.peak
    if container.oom_kills:
        limits = container.limits or Limits()
        return max(peak, limits.memory_bytes or 0) + 1
    return peak


def _as_stored(
    container: ContainerSummary, recommendation: ContainerRecommendation, killed: bool
) -> ContainerSummary:
    """The container as the receiver would have stored it under ``recommendation``."""
    limit = recommendation.memory_limit_bytes
    limits = Limits(cpu_cores=recommendation.cpu_limit_cores, memory_bytes=limit)
    if not killed:
        return attrs.evolve(container, limits=limits, oom_kills=0)
    memory = container.memory_bytes
    capped = Stats(
        peak=min(memory.peak, limit),
        avg=None if memory.avg is None else min(memory.avg, limit),
        p50=None if memory.p50 is None else min(memory.p50, limit),
        p75=None if memory.p75 is None else min(memory.p75, limit),
        p95=None if memory.p95 is None else min(memory.p95, limit),
        p99=None if memory.p99 is None else min(memory.p99, limit),
    )
    return attrs.evolve(container, memory_bytes=capped, limits=limits, oom_kills=1)


def _replay(
    runs: Sequence[Summary],
    strategy: Strategy,
    full_history: int,
    cpu_statistic: CpuPercentile,
    warm: _Tally,
    cold: _Tally,
) -> int:
    """Replay one job's runs under ``strategy``; return the unsized container-runs."""
    recommender = strategy.recommender()
    previous: Mapping[str, ContainerRecommendation] = {}
    unsized = 0
    for index, run in enumerate(runs):
        current = recommender.recommend(run.start_time) if index else {}
        tally = warm if index >= full_history else cold
        hours = run.duration_seconds / 3600
        stored = []
        for container in run.containers:
            recommendation = current.get(container.name)
            if recommendation is None:
                unsized += 1
                stored.append(container)
                continue
            demand = _demand(container)
            killed = demand > recommendation.memory_limit_bytes
            memory = recommendation.memory_request_bytes
            used_memory = min(demand, memory)
            cpu = recommendation.cpu_request_cores
            used_cpu = min(cpu_figure(container.cpu_cores, CpuPercentile.AVG), cpu)

            tally.memory_under += killed
            tally.cpu_under += cpu_figure(container.cpu_cores, cpu_statistic) > cpu
            tally.memory_slack.append((memory - used_memory) / memory if memory else 0)
            tally.cpu_slack.append((cpu - used_cpu) / cpu if cpu else 0.0)
            tally.gib_hours += (memory - used_memory) / _GIB * hours
            tally.core_hours += (cpu - used_cpu) * hours
            before = previous.get(container.name)
            if before is not None:
                tally.compared += 1
                tally.memory_changes += (
                    before.memory_limit_bytes != recommendation.memory_limit_bytes
                    or before.memory_request_bytes
                    != recommendation.memory_request_bytes
                )
                tally.cpu_changes += (
                    before.cpu_request_cores != recommendation.cpu_request_cores
                )
            stored.append(_as_stored(container, recommendation, killed))
        previous = current
        recommender.observe(attrs.evolve(run, containers=tuple(stored)))
    return unsized


def backtest(
    jobs: Iterable[Sequence[Summary]],
    strategies: Sequence[Strategy],
    *,
    full_history: int = 5,
    cpu_statistic: CpuPercentile = CpuPercentile.P95,
) -> list[StrategyReport]:
    """Replay each job's runs walk-forward under each strategy and judge them.

    ``jobs`` holds one sequence of runs per job, oldest first, cancelled runs
    left out, each container's figures as measured: a run recorded with an
    OOM kill needed more than the limit it had.  A run is sized from the
    runs before it only, then stored as it would have been under that size,
    cut at the memory limit when it exceeded it.  A container-run is
    under-provisioned in memory when its peak exceeds the recommended memory
    limit, in CPU when its ``cpu_statistic`` exceeds the CPU request.

    Reports come in the order of ``strategies``.

    Note:
        Only memory is fed back: a run that would have been OOM-killed keeps
        its CPU figures and duration.
    """
    tallies = [(_Tally(), _Tally()) for _ in strategies]
    unsized = [0 for _ in strategies]
    for runs in jobs:
        for index, strategy in enumerate(strategies):
            warm, cold = tallies[index]
            unsized[index] += _replay(
                runs, strategy, full_history, cpu_statistic, warm, cold
            )

    reports = []
    for index, strategy in enumerate(strategies):
        warm, cold = tallies[index]
        both = _Tally()
        both.add(warm)
        both.add(cold)
        reports.append(
            StrategyReport(
                strategy=strategy.name,
                warm=warm.figures(),
                cold=cold.figures(),
                all=both.figures(),
                unsized=unsized[index],
            )
        )
    return reports
