"""Tests of the walk-forward sizing backtest and the strategies it compares."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from cisizer.core import (
    ContainerRecommendation,
    ContainerSummary,
    CpuPercentile,
    KrrSimpleStrategy,
    Limits,
    Recommender,
    SizingStrategy,
    Stats,
    Summary,
    VpaStrategy,
    backtest,
)

MI = 1024**2
GI = 1024**3
T0 = datetime(2026, 2, 6, 14, 0, tzinfo=UTC)


def container(
    name: str = "runner",
    *,
    memory: float,
    avg: float = 0.5,
    p95: float = 0.8,
    peak: float = 1.0,
    limit: int | None = None,
    oom_kills: int | None = None,
) -> ContainerSummary:
    """Build a container with the figures the backtest reads."""
    return ContainerSummary(
        name=name,
        cpu_cores=Stats(peak=peak, avg=avg, p95=p95),
        memory_bytes=Stats(peak=memory),
        limits=None if limit is None else Limits(memory_bytes=limit),
        oom_kills=oom_kills,
    )


def run(hour: float, hours: float, *containers: ContainerSummary) -> Summary:
    """Build a run starting ``hour`` hours after T0 and lasting ``hours``."""
    start = T0 + timedelta(hours=hour)
    return Summary(
        start_time=start,
        end_time=start + timedelta(hours=hours),
        duration_seconds=hours * 3600,
        sample_count=10,
        containers=containers,
    )


@attrs.define
class Fixed:
    """A strategy that always recommends 1 core and 1 GiB, and records what it saw."""

    name: str = "fixed"
    seen: list[Summary] = attrs.Factory(list)

    def recommender(self) -> Recommender:
        """Start the state for one job."""
        return _FixedRecommender(self)


class _FixedRecommender:
    def __init__(self, strategy: Fixed) -> None:
        self._strategy = strategy

    def recommend(self, at: datetime) -> Mapping[str, ContainerRecommendation]:
        return {
            "runner": ContainerRecommendation(
                cpu_request_cores=1.0,
                cpu_limit_cores=None,
                memory_request_bytes=GI,
                memory_limit_bytes=GI,
            )
        }

    def observe(self, run: Summary) -> None:
        self._strategy.seen.append(run)


def _history() -> list[Summary]:
    return [
        run(0, 1, container(memory=GI // 4)),
        # Cold (one earlier run): half the memory and half the CPU unused.
        run(1, 1, container(memory=GI // 2, avg=0.5, p95=0.8)),
        # Needs 1.5 GiB: OOM-killed; p95 1.2 cores is above the 1-core request.
        run(2, 2, container(memory=GI + GI // 2, avg=0.75, p95=1.2)),
        run(4, 0.5, container(memory=3 * GI // 4, avg=0.25, p95=0.5)),
    ]


def test_fixed_recommendation_figures() -> None:
    """Rates, slack and unused hours match the hand-worked figures of four runs."""
    (report,) = backtest([_history()], [Fixed()], full_history=2)

    assert report.strategy == "fixed"
    assert report.unsized == 1
    cold, warm = report.cold, report.warm
    assert cold.container_runs == 1
    assert (cold.memory_under, cold.cpu_under) == (0, 0)
    assert cold.memory_slack_mean == pytest.approx(0.5)
    assert cold.cpu_slack_mean == pytest.approx(0.5)
    assert cold.unused_gib_hours == pytest.approx(0.5)
    assert cold.unused_core_hours == pytest.approx(0.5)

    assert warm.container_runs == 2
    assert (warm.memory_under, warm.cpu_under) == (1, 1)
    assert (warm.memory_under_rate, warm.cpu_under_rate) == (0.5, 0.5)
    # Memory slack: the killed run used all it had (0), the last 1/4 free.
    assert warm.memory_slack_mean == pytest.approx(0.125)
    assert warm.memory_slack_median == pytest.approx(0.125)
    # CPU slack on the average: 0.25 and 0.75 of the request.
    assert warm.cpu_slack_mean == pytest.approx(0.5)
    assert warm.unused_gib_hours == pytest.approx(0.25 * 0.5)
    assert warm.unused_core_hours == pytest.approx(0.25 * 2 + 0.75 * 0.5)
    assert (warm.memory_change_rate, warm.cpu_change_rate) == (0.0, 0.0)

    assert report.all.container_runs == 3
    assert report.all.memory_under_rate == pytest.approx(1 / 3)
    assert report.all.memory_slack_median == pytest.approx(0.25)


def test_killed_run_is_stored_cut_at_its_limit() -> None:
    """A run above its limit reaches the strategy cut at the limit, OOM-killed."""
    strategy = Fixed()

    backtest([_history()], [strategy], full_history=2)

    first, second, killed, last = strategy.seen
    assert first.containers[0].limits is None
    assert second.containers[0].limits == Limits(memory_bytes=GI)
    assert second.containers[0].oom_kills == 0
    assert killed.containers[0].memory_bytes.peak == GI
    assert killed.containers[0].oom_kills == 1
    assert killed.containers[0].limits == Limits(memory_bytes=GI)
    assert last.containers[0].memory_bytes.peak == 3 * GI // 4


def test_recorded_oom_kill_needs_more_than_its_limit() -> None:
    """A run recorded as killed at 1 GiB is under-provisioned by a 1 GiB limit."""
    history = [
        run(0, 1, container(memory=GI // 2)),
        run(1, 1, container(memory=GI, limit=GI, oom_kills=1)),
    ]

    (report,) = backtest([history], [Fixed()], full_history=1)

    assert report.warm.memory_under == 1


def test_cisizer_sizes_from_the_runs_before() -> None:
    """CI Sizer sizes run 2 from run 1 alone: 960m and 1Gi (the DESIGN example)."""
    history = [
        run(0, 1, container(memory=700 * MI, avg=0.5, p95=0.8, peak=0.83)),
        run(1, 1, container(memory=800 * MI, avg=0.48, p95=1.0, peak=1.1)),
    ]

    (report,) = backtest([history], [SizingStrategy()], full_history=1)

    warm = report.warm
    assert warm.container_runs == 1
    assert warm.memory_under == 0
    # p95 of 1.0 core is above the 960m request.
    assert warm.cpu_under == 1
    assert warm.memory_slack_mean == pytest.approx((1024 - 800) / 1024)
    assert warm.cpu_slack_mean == pytest.approx((0.96 - 0.48) / 0.96)


def test_cisizer_raises_after_an_oom_kill() -> None:
    """After a kill at 1Gi the next size is above 1.2 GiB and the next run fits."""
    history = [
        run(0, 1, container(memory=700 * MI)),
        # Needs 1.1 GiB: killed at the 1Gi the first run gave.
        run(1, 1, container(memory=1126 * MI)),
        run(2, 1, container(memory=1126 * MI)),
    ]

    (report,) = backtest([history], [SizingStrategy()], full_history=1)

    assert report.warm.memory_under == 1
    assert report.warm.container_runs == 2
    assert report.warm.memory_change_rate == 1.0


def test_changes_counted_between_consecutive_sizes() -> None:
    """Each run after the second is compared with the size of the one before."""
    history = [
        run(0, 1, container(memory=100 * MI)),
        run(1, 1, container(memory=100 * MI)),
        run(2, 1, container(memory=100 * MI)),
        run(3, 1, container(memory=400 * MI)),
        run(4, 1, container(memory=400 * MI)),
    ]

    (report,) = backtest([history], [SizingStrategy()], full_history=1)

    # Sizes: 160Mi from one and two runs (the staircase); 112Mi from three
    # steady runs (110 MiB rounded up to 4 MiB), which kills the 400 MiB run;
    # 240Mi after it ((112 + 100) x 1.1 rounded up to 8 MiB), killed again.
    assert report.warm.container_runs == 4
    assert report.warm.memory_under == 2
    # Compared: runs 2, 3 and 4 with the run before; run 2 kept 160Mi.
    assert report.warm.memory_change_rate == pytest.approx(2 / 3)


def test_vpa_floors_shared_among_containers() -> None:
    """VPA gives a small pod 250 MiB and 25m, shared among its two containers."""
    history = [
        run(0, 1, container(memory=50 * MI, avg=0.001, p95=0.001, peak=0.001)),
        run(1, 1, container(memory=50 * MI, avg=0.001, p95=0.001, peak=0.001)),
    ]
    two = [
        attrs.evolve(
            r, containers=(*r.containers, attrs.evolve(r.containers[0], name="db"))
        )
        for r in history
    ]

    (alone,) = backtest([history], [VpaStrategy()], full_history=1)
    (shared,) = backtest([two], [VpaStrategy()], full_history=1)

    assert alone.warm.memory_slack_mean == pytest.approx(1 - 50 / 250)
    assert alone.warm.cpu_slack_mean == pytest.approx(1 - 0.001 / 0.025)
    assert shared.warm.memory_slack_mean == pytest.approx(1 - 50 / 125)
    # 12.5m rounds down to 12m.
    assert shared.warm.cpu_slack_mean == pytest.approx(1 - 0.001 / 0.012)


def test_vpa_bumps_after_an_oom_kill() -> None:
    """A kill at 1000 MiB becomes a 1200 MiB sample: its bucket's end plus 15 %."""
    killed = container(memory=1000 * MI, limit=1000 * MI, oom_kills=1)
    history = [run(0, 1, killed), run(1, 1, container(memory=1300 * MI))]

    (report,) = backtest([history], [VpaStrategy()], full_history=1)

    # 1200 MiB falls in bucket 40 of 10 MB buckets growing 5 %; it ends at
    # 1e7 x (1.05**41 - 1) / 0.05 bytes.
    target = int(1e7 * (1.05**41 - 1) / 0.05 * 1.15)
    assert report.warm.memory_under == 0
    assert report.warm.memory_slack_mean == pytest.approx(1 - 1300 * MI / target)


def test_vpa_target_is_the_90th_percentile() -> None:
    """One high run in twenty is above VPA's 90th percentile, not KRR's maximum."""
    history = [run(0, 1, container(memory=800 * MI))]
    history += [run(hour, 1, container(memory=500 * MI)) for hour in range(1, 20)]
    history.append(run(20, 1, container(memory=700 * MI)))

    vpa, krr = backtest(
        [history], [VpaStrategy(), KrrSimpleStrategy()], full_history=20
    )

    assert vpa.warm.container_runs == krr.warm.container_runs == 1
    assert vpa.warm.memory_under == 1
    assert krr.warm.memory_under == 0


def test_krr_forgets_runs_older_than_two_weeks() -> None:
    """KRR sizes from the last 14 days: max peak + 15 %, the p95, no CPU limit."""
    history = [
        run(0, 1, container(memory=2e9, p95=3.0)),
        run(24 * 10, 1, container(memory=1e9, p95=0.5)),
        run(24 * 21, 1, container(memory=1e9, avg=0.25, p95=0.5)),
    ]

    (report,) = backtest([history], [KrrSimpleStrategy()], full_history=2)

    # Day 10 is sized from the 2 GB run; day 21 only from the day-10 run.
    assert report.cold.memory_slack_mean == pytest.approx(1 - 1e9 / 2.3e9)
    warm = report.warm
    assert warm.container_runs == 1
    assert warm.memory_slack_mean == pytest.approx(1 - 1e9 / 1.15e9)
    assert warm.cpu_slack_mean == pytest.approx(0.5)


def test_krr_floors() -> None:
    """KRR gives at least 100 MiB and 10m."""
    history = [
        run(0, 1, container(memory=10 * MI, avg=0.001, p95=0.001)),
        run(1, 1, container(memory=10 * MI, avg=0.001, p95=0.001)),
    ]

    (report,) = backtest([history], [KrrSimpleStrategy()], full_history=1)

    assert report.warm.memory_slack_mean == pytest.approx(0.9)
    assert report.warm.cpu_slack_mean == pytest.approx(0.9)


def test_cpu_statistic_is_chosen() -> None:
    """Under-provisioning counts the chosen statistic: p95 1.2 > 1 core, avg not."""
    history = _history()

    (p95,) = backtest([history], [Fixed()], full_history=0)
    (avg,) = backtest(
        [history], [Fixed()], full_history=0, cpu_statistic=CpuPercentile.AVG
    )

    assert p95.warm.cpu_under == 1
    assert avg.warm.cpu_under == 0


def test_new_container_is_unsized() -> None:
    """A container first seen in a run has no recommendation and is counted apart."""
    history = [
        run(0, 1, container(memory=GI // 2)),
        run(1, 1, container(memory=GI // 2), container("db", memory=MI)),
    ]

    (report,) = backtest([history], [SizingStrategy()], full_history=1)

    assert report.unsized == 2
    assert report.warm.container_runs == 1


def test_reports_follow_strategy_order() -> None:
    """One report per strategy, in the order given, each named."""
    reports = backtest(
        [_history()], [SizingStrategy(), VpaStrategy(), KrrSimpleStrategy()]
    )

    assert [r.strategy for r in reports] == ["cisizer", "vpa", "krr-simple"]
    assert all(r.all.container_runs == 3 for r in reports)
