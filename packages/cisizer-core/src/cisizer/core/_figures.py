"""Numbers extracted from a run at ingest, so aggregates can run in SQL."""

from __future__ import annotations

import attrs

from cisizer.core._models import Summary

__all__ = ["RunFigures", "run_figures"]

GIB = 1024**3


@attrs.frozen
class RunFigures:
    """Per-run figures the receiver stores beside the payload.

    Sums are over the run's containers.  A container's allocated cores are its
    CPU limit, else its CPU peak; its memory held is its memory limit, else its
    memory peak (docs/energy.md).  ``cpu_limit_cores`` and ``memory_limit_bytes``
    are ``None`` when no container reported that limit.  The ``limited_*``
    figures count only containers with a CPU limit, for utilisation.
    """

    duration_seconds: float
    used_core_seconds: float
    allocated_core_seconds: float
    memory_gib_seconds: float
    peak_memory_bytes: int
    peak_cpu_cores: float
    cpu_limit_cores: float | None
    memory_limit_bytes: int | None
    limited_used_core_seconds: float
    limited_core_seconds: float
    oom_kills: int


def run_figures(summary: Summary) -> RunFigures:
    """Compute the stored figures of one run from its summary.

    Note:
        A container that reported no ``cpu_cores.avg`` counts its p50 (or the
        next higher statistic) as used cores, since the average is unknown.
    """
    duration = summary.duration_seconds
    used = allocated = gib = peak_cpu = 0.0
    limited_used = limited = 0.0
    peak_memory = oom_kills = 0
    cpu_limits: list[float] = []
    memory_limits: list[int] = []

    for container in summary.containers:
        cpu, memory = container.cpu_cores, container.memory_bytes
        limits = container.limits
        cpu_limit = limits.cpu_cores if limits else None
        memory_limit = limits.memory_bytes if limits else None
        average = _first(cpu.avg, cpu.p50, cpu.p75, cpu.p95, cpu.p99, cpu.peak)

        used += average * duration
        allocated += (cpu.peak if cpu_limit is None else cpu_limit) * duration
        held = memory.peak if memory_limit is None else memory_limit
        gib += held / GIB * duration
        peak_cpu += cpu.peak
        peak_memory += round(memory.peak)
        oom_kills += container.oom_kills or 0
        if cpu_limit is not None:
            cpu_limits.append(cpu_limit)
            limited_used += average * duration
            limited += cpu_limit * duration
        if memory_limit is not None:
            memory_limits.append(memory_limit)

    return RunFigures(
        duration_seconds=duration,
        used_core_seconds=used,
        allocated_core_seconds=allocated,
        memory_gib_seconds=gib,
        peak_memory_bytes=peak_memory,
        peak_cpu_cores=peak_cpu,
        cpu_limit_cores=sum(cpu_limits) if cpu_limits else None,
        memory_limit_bytes=sum(memory_limits) if memory_limits else None,
        limited_used_core_seconds=limited_used,
        limited_core_seconds=limited,
        oom_kills=oom_kills,
    )


def _first(*values: float | None) -> float:
    for value in values:
        if value is not None:
            return value
    raise AssertionError("peak is always set")
