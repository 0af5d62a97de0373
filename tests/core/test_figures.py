"""Tests of the per-run figures stored at ingest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cisizer.core import ContainerSummary, Limits, Stats, Summary, run_figures

GIB = 1024**3
T0 = datetime(2026, 2, 6, 14, 0, tzinfo=UTC)


def summary(*containers: ContainerSummary, duration: float = 100.0) -> Summary:
    """Build a run summary of the given containers."""
    return Summary(
        start_time=T0,
        end_time=T0,
        duration_seconds=duration,
        sample_count=10,
        containers=containers,
    )


def test_run_figures_mixed_limits() -> None:
    """Figures sum containers, using limits where known and peaks otherwise."""
    limited = ContainerSummary(
        name="runner",
        cpu_cores=Stats(peak=1.5, avg=1.0),
        memory_bytes=Stats(peak=GIB / 2),
        limits=Limits(cpu_cores=2.0, memory_bytes=2 * GIB),
        oom_kills=1,
    )
    unlimited = ContainerSummary(
        name="db",
        cpu_cores=Stats(peak=0.5, avg=0.25),
        memory_bytes=Stats(peak=GIB),
    )

    figures = run_figures(summary(limited, unlimited))

    assert figures.duration_seconds == 100.0
    assert figures.used_core_seconds == pytest.approx(125.0)
    assert figures.allocated_core_seconds == pytest.approx(250.0)
    assert figures.memory_gib_seconds == pytest.approx(300.0)
    assert figures.peak_memory_bytes == GIB + GIB // 2
    assert figures.peak_cpu_cores == pytest.approx(2.0)
    assert figures.cpu_limit_cores == 2.0
    assert figures.memory_limit_bytes == 2 * GIB
    assert figures.limited_used_core_seconds == pytest.approx(100.0)
    assert figures.limited_core_seconds == pytest.approx(200.0)
    assert figures.oom_kills == 1


def test_run_figures_without_limits() -> None:
    """Without reported limits the limit figures are None and zero."""
    container = ContainerSummary(
        name="runner",
        cpu_cores=Stats(peak=2.0, p50=1.2),
        memory_bytes=Stats(peak=1000.0),
        limits=Limits(),
    )

    figures = run_figures(summary(container, duration=10.0))

    assert figures.used_core_seconds == pytest.approx(12.0)
    assert figures.allocated_core_seconds == pytest.approx(20.0)
    assert figures.cpu_limit_cores is None
    assert figures.memory_limit_bytes is None
    assert figures.limited_core_seconds == 0.0
    assert figures.oom_kills == 0
