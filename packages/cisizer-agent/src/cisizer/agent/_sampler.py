"""The sampling loop: every source read once per interval, series kept in memory."""

from __future__ import annotations

import logging
import os
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from cisizer.agent._cgroup import Counters, Limits, match_score, read_file
from cisizer.agent._errors import SourceError

if TYPE_CHECKING:
    from cisizer.agent._docker import DockerSource
    from cisizer.agent._processes import ProcessTracker
    from cisizer.core import Summary

__all__ = ["Container", "Sampler", "Series"]

_log = logging.getLogger(__name__)

# A source that keeps failing is reported this often, then only counted.
_WARNINGS_PER_SOURCE = 3


class Container(Protocol):
    """A measured container: a cgroup, a Docker container or the host."""

    name: str
    source: str
    match_path: str

    def sample(self) -> tuple[int, int]:
        """Return cumulative CPU nanoseconds and the memory working set."""
        ...

    def counters(self) -> Counters:
        """Return the cumulative peak, throttling and OOM figures."""
        ...

    def limits(self) -> Limits:
        """Return the container's CPU and memory limits."""
        ...


class Series:
    """The samples of one container over the job."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.cpu = array("d")
        self.cpu_times = array("d")
        self.memory = array("d")
        self.memory_times = array("d")
        self.first_cpu: tuple[float, int] | None = None
        self.last_cpu: tuple[float, int] | None = None
        self.start_counters = Counters()
        self.end_counters = Counters()
        self.limits = Limits()
        self.failures = 0
        self.begun = False

    def add(self, now: float, cpu_ns: int, memory: int) -> None:
        """Record one reading taken at monotonic time ``now``."""
        if self.last_cpu is not None and now > self.last_cpu[0]:
            used = max(0, cpu_ns - self.last_cpu[1])
            self.cpu.append(used / 1e9 / (now - self.last_cpu[0]))
            self.cpu_times.append(now)
        if self.first_cpu is None:
            self.first_cpu = (now, cpu_ns)
        self.last_cpu = (now, cpu_ns)
        self.memory.append(float(memory))
        self.memory_times.append(now)

    @property
    def avg_cores(self) -> float | None:
        """Return the exact average cores: CPU used over time watched."""
        if self.first_cpu is None or self.last_cpu is None:
            return None
        elapsed = self.last_cpu[0] - self.first_cpu[0]
        if elapsed <= 0:
            return None
        return max(0, self.last_cpu[1] - self.first_cpu[1]) / 1e9 / elapsed


def _read_system_cpu() -> tuple[int, int]:
    first = read_file("/proc/stat").split(b"\n", 1)[0].split()[1:]
    jiffies = [int(v) for v in first]
    idle = jiffies[3] + (jiffies[4] if len(jiffies) > 4 else 0)
    total = sum(jiffies[:8])
    return total - idle, total


class Sampler:
    """Reads every container, the machine's CPU and the processes each interval."""

    def __init__(
        self,
        containers: Iterable[Container],
        *,
        interval: float = 1.0,
        docker: DockerSource | None = None,
        processes: ProcessTracker | None = None,
        system_cpu: Callable[[], tuple[int, int]] | None = _read_system_cpu,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.series: dict[str, Series] = {}
        self.docker = docker
        self.processes = processes
        self.sample_count = 0
        self.start_wall: float | None = None
        self.end_wall: float | None = None
        self.start_mono = 0.0
        self.end_mono = 0.0
        self.cpu_total = array("d")
        self._system_cpu = system_cpu
        self._last_system: tuple[int, int] | None = None
        self._clock = clock
        self._lock = threading.Lock()
        for container in containers:
            self._adopt(container)

    def _adopt(self, container: Container) -> None:
        if container.name in self.series:
            _log.warning(
                "two containers are named %s; keeping the first", container.name
            )
            return
        self.series[container.name] = Series(container)

    def _begin(self, series: Series) -> None:
        # Read right after the first sample, so that a Docker container's
        # counters come from that same stats answer.
        series.begun = True
        try:
            series.start_counters = series.container.counters()
            series.limits = series.container.limits()
        except (SourceError, OSError) as err:
            _log.warning("cannot read counters of %s: %s", series.container.name, err)

    def _warn(self, series: Series, err: Exception) -> None:
        series.failures += 1
        if series.failures <= _WARNINGS_PER_SOURCE:
            _log.warning(
                "skipped a sample of %s (%s): %s",
                series.container.name,
                series.container.source,
                err,
            )
            if series.failures == _WARNINGS_PER_SOURCE:
                _log.warning(
                    "further failures of %s are not logged", series.container.name
                )

    def start(self) -> None:
        """Take the first sample and note when the job started."""
        self.start_wall = time.time()
        self.start_mono = self._clock()
        self.tick()

    def tick(self) -> None:
        """Take one sample of every source; a failing read is skipped."""
        with self._lock:
            self._discover_docker()
            now = self._clock()
            read_any = False
            for series in self.series.values():
                if getattr(series.container, "gone", False):
                    continue
                # Each reading is dated by the clock around it, not by the
                # tick: a sampler held up by a busy machine (or a slow Docker
                # answer) would otherwise charge a late reading's CPU to too
                # short an interval and report a peak the job never had.
                before = self._clock()
                try:
                    cpu_ns, memory = series.container.sample()
                except (SourceError, OSError, ValueError) as err:
                    self._warn(series, err)
                    continue
                series.add((before + self._clock()) / 2, cpu_ns, memory)
                if not series.begun:
                    self._begin(series)
                read_any = True
            self._sample_system()
            if self.processes is not None:
                try:
                    self.processes.sample(now)
                except OSError as err:
                    _log.warning("processes are not sampled: %s", err)
                    self.processes = None
                except Exception as err:  # a process sample never kills the job
                    _log.warning("skipped a process sample: %s", err)
            if read_any:
                self.sample_count += 1
            self.end_mono = now

    def _discover_docker(self) -> None:
        if self.docker is None:
            return
        try:
            found = self.docker.discover()
        except SourceError as err:
            _log.warning("Docker containers are not sampled any more: %s", err)
            self.docker = None
            return
        for container in found:
            _log.info("sampling Docker container %s", container.name)
            self._adopt(container)

    def _sample_system(self) -> None:
        if self._system_cpu is None:
            return
        try:
            busy, total = self._system_cpu()
        except (OSError, ValueError, IndexError):
            self._system_cpu = None
            return
        if self._last_system is not None and total > self._last_system[1]:
            delta = total - self._last_system[1]
            used = max(0, busy - self._last_system[0])
            self.cpu_total.append(min(100.0, used / delta * 100))
        self._last_system = (busy, total)

    def run(self, stop: threading.Event, deadline: float | None = None) -> None:
        """Sample every interval until ``stop`` is set or ``deadline`` passes."""
        next_at = self._clock() + self.interval
        while True:
            wait = next_at - self._clock()
            if stop.wait(max(0.0, wait)):
                return
            if deadline is not None and self._clock() >= deadline:
                return
            self.tick()
            # Skip missed ticks instead of bursting after a stall.
            next_at += self.interval
            now = self._clock()
            if next_at < now:
                next_at = now + self.interval

    def finish(self) -> None:
        """Take the last sample and read the end counters and limits."""
        self.tick()
        self.end_wall = time.time()
        with self._lock:
            for series in self.series.values():
                try:
                    series.end_counters = series.container.counters()
                    limits = series.container.limits()
                except (SourceError, OSError) as err:
                    _log.warning(
                        "cannot read counters of %s: %s", series.container.name, err
                    )
                    continue
                if limits != Limits() or series.limits == Limits():
                    series.limits = limits

    def container_of(self, cgroup_path: str | None) -> str | None:
        """Return the name of the container holding a process's cgroup path."""
        best, best_score = None, 0
        for name, series in self.series.items():
            score = match_score(series.container.match_path, cgroup_path)
            if series.container.source == "docker" and cgroup_path:
                score = 10_000 if series.container.match_path in cgroup_path else 0
            if score > best_score:
                best, best_score = name, score
        return best

    def summary(self) -> Summary:
        """Return the job's summary; call :meth:`finish` first."""
        from datetime import UTC, datetime

        from cisizer.core import ProcessSummary, Summary, summarize

        containers = [
            _container_summary(series)
            for series in self.series.values()
            if len(series.memory) > 0
        ]
        processes = None
        if self.processes is not None:
            processes = tuple(
                ProcessSummary(
                    name=figures.name,
                    container=figures.container,
                    peak_cpu_percent=round(figures.peak_cpu_percent, 3),
                    avg_cpu_percent=round(figures.avg_cpu_percent, 3),
                    peak_memory_bytes=figures.peak_memory_bytes,
                )
                for figures in self.processes.busiest(self.container_of)
            )
        start = self.start_wall if self.start_wall is not None else time.time()
        duration = max(0.0, self.end_mono - self.start_mono)

        return Summary(
            start_time=datetime.fromtimestamp(start, UTC),
            end_time=datetime.fromtimestamp(start + duration, UTC),
            duration_seconds=round(duration, 3),
            sample_count=self.sample_count,
            containers=tuple(containers),
            interval_seconds=self.interval,
            cpu_total_percent=_rounded(summarize(list(self.cpu_total)))
            if self.cpu_total
            else None,
            processes=processes,
        )

    def snapshot(self) -> dict[str, Any]:
        """Return the latest reading of everything visible, for debugging."""
        containers = []
        for series in self.series.values():
            entry: dict[str, Any] = {
                "name": series.container.name,
                "source": series.container.source,
                "cgroup": series.container.match_path,
                "cpu_cores": round(series.cpu[-1], 4) if series.cpu else None,
                "memory_bytes": int(series.memory[-1]) if series.memory else None,
                "limits": {
                    "cpu_cores": series.limits.cpu_cores,
                    "memory_bytes": series.limits.memory_bytes,
                },
                "memory_peak_bytes": series.end_counters.memory_peak_bytes,
                "oom_kills": series.end_counters.oom_kills,
                "cpu_throttled_seconds": None
                if series.end_counters.throttled_ns is None
                else series.end_counters.throttled_ns / 1e9,
                "sample_failures": series.failures,
            }
            directories = getattr(series.container, "directories", None)
            if directories:
                entry["directories"] = dict(directories)
            containers.append(entry)
        processes = []
        if self.processes is not None:
            for figures in self.processes.busiest(self.container_of):
                processes.append(
                    {
                        "pid": figures.pid,
                        "name": figures.name,
                        "container": figures.container,
                        "cpu_percent": round(figures.peak_cpu_percent, 2),
                        "memory_bytes": figures.peak_memory_bytes,
                    }
                )

        return {
            "pid": os.getpid(),
            "interval_seconds": self.interval,
            "cpu_total_percent": round(self.cpu_total[-1], 2)
            if self.cpu_total
            else None,
            "containers": containers,
            "processes": processes,
        }


def _rounded(stats: Any) -> Any:
    import attrs

    values = {
        field.name: None
        if getattr(stats, field.name) is None
        else round(getattr(stats, field.name), 4)
        for field in attrs.fields(type(stats))
    }
    return type(stats)(**values)


def _delta(start: int | None, end: int | None) -> int | None:
    if start is None or end is None:
        return end
    return max(0, end - start)


def _container_summary(series: Series) -> Any:
    import attrs

    from cisizer.core import ContainerSummary, Limits, Stats, summarize

    cpu = summarize(list(series.cpu)) if series.cpu else Stats(peak=0.0, avg=0.0)
    if series.avg_cores is not None:
        cpu = attrs.evolve(cpu, avg=series.avg_cores)
    memory = summarize(list(series.memory), _seq(series.memory_times))
    start, end = series.start_counters, series.end_counters
    # The kernel's peak covers the cgroup's whole life; it speaks for this
    # job only if it rose while the job ran.
    if end.memory_peak_bytes is not None and (
        start.memory_peak_raw is None
        or (end.memory_peak_raw or 0) > start.memory_peak_raw
    ):
        memory = attrs.evolve(
            memory, peak=max(memory.peak, float(end.memory_peak_bytes))
        )
    memory = attrs.evolve(
        memory,
        **{
            field.name: float(round(getattr(memory, field.name)))
            for field in attrs.fields(type(memory))
            if getattr(memory, field.name) is not None
        },
    )
    throttled = _delta(start.throttled_ns, end.throttled_ns)
    oom = (
        end.oom_kills
        if series.container.source == "docker"
        else _delta(start.oom_kills, end.oom_kills)
    )
    limits = None
    if series.limits.cpu_cores is not None or series.limits.memory_bytes is not None:
        limits = Limits(
            cpu_cores=series.limits.cpu_cores, memory_bytes=series.limits.memory_bytes
        )

    return ContainerSummary(
        name=series.container.name,
        cpu_cores=_rounded(cpu),
        memory_bytes=memory,
        limits=limits,
        oom_kills=oom,
        cpu_throttled_seconds=None if throttled is None else round(throttled / 1e9, 3),
    )


def _seq(values: array[float]) -> Sequence[float]:
    return list(values)
