"""Tests of sizing (DESIGN §5) and override resolution."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cisizer.core import (
    Confidence,
    ContainerSummary,
    CpuPercentile,
    CpuSizingMode,
    Limits,
    MemoryQoS,
    NoHistoryError,
    Override,
    OverrideScope,
    SizingParams,
    Stats,
    Summary,
    ValidationError,
    compute_sizing,
    memory_target,
    parse_override,
    resolve_sizing_params,
)

MI = 1024**2
GI = 1024**3
T0 = datetime(2026, 2, 6, 14, 0, tzinfo=UTC)


def container(
    name: str = "runner",
    *,
    cpu: Stats | None = None,
    memory: Stats | None = None,
    limits: Limits | None = None,
    oom_kills: int | None = None,
) -> ContainerSummary:
    """Build a container summary with small defaults."""
    return ContainerSummary(
        name=name,
        cpu_cores=cpu or Stats(peak=0.83, p95=0.8),
        memory_bytes=memory or Stats(peak=700 * MI),
        limits=limits,
        oom_kills=oom_kills,
    )


def run(*containers: ContainerSummary) -> Summary:
    """Build a run summary holding the given containers."""
    return Summary(
        start_time=T0,
        end_time=T0,
        duration_seconds=60.0,
        sample_count=30,
        containers=containers,
    )


def test_worked_example() -> None:
    """DESIGN §5: p95 0.8, peak 0.83, 700 MiB gives 960m / 1 and 1Gi / 1Gi."""
    sizing = compute_sizing([run(container())], SizingParams())

    (runner,) = sizing.containers
    assert runner.name == "runner"
    assert (runner.cpu.request, runner.cpu.limit) == ("960m", "1")
    assert (runner.cpu.request_millicores, runner.cpu.limit_millicores) == (960, 1000)
    assert runner.cpu.enforced is False
    assert (runner.memory.request, runner.memory.limit) == ("1Gi", "1Gi")
    assert runner.memory.limit_bytes == GI
    assert runner.memory.enforced is True
    assert sizing.total.cpu.request == "960m"
    assert sizing.total.memory.limit == "1Gi"
    assert sizing.meta.runs_analyzed == 1
    assert sizing.meta.buffer_percent == 20
    assert sizing.meta.cpu_percentile is CpuPercentile.P95
    assert sizing.meta.confidence is Confidence.LOW
    assert sizing.meta.oom_runs == 0
    assert sizing.meta.overrides == ()


def test_peak_of_one_gib() -> None:
    """DESIGN §5: a peak of exactly 1 GiB gives 1382.4 MiB, rounded to 1408Mi."""
    history = [run(container(memory=Stats(peak=GI)))]

    sizing = compute_sizing(history, SizingParams())

    assert sizing.containers[0].memory.limit == "1408Mi"


@pytest.mark.parametrize(
    ("peak", "target"),
    [
        # Headroom 50 % below 256 MiB; steps of 32 MiB up to 256 MiB.
        (0, 64 * MI),
        (32 * MI, 64 * MI),
        (64 * MI, 96 * MI),
        # Exactly 256 MiB: 384 MiB; one byte more crosses into the 64 MiB step.
        (256 * MI, 384 * MI),
        (256 * MI + 1, 448 * MI),
        # Peak 170.67 MiB makes a target of exactly 256 MiB; one byte more, 320.
        (178956970, 256 * MI),
        (178956971, 320 * MI),
        # Peak 748.31 MiB makes a target of exactly 1 GiB; one byte more, 1152.
        (784657486, 1 * GI),
        (784657487, 1152 * MI),
        # Exactly 1 GiB: 1382.4 MiB; a byte more (20 % from there) still 1408 MiB.
        (1 * GI, 1408 * MI),
        (1 * GI + 1, 1408 * MI),
        # Exactly 4 GiB: 128 + 230.4 + 614.4 = 972.8 MiB headroom.
        (4 * GI, 5120 * MI),
        (4 * GI + 1, 5120 * MI),
        # Exactly 16 GiB: 972.8 + 1843.2 = 2816 MiB headroom -> 19200 MiB.
        (16 * GI, 19 * GI),
        (16 * GI + 1, 19 * GI),
        (32 * GI, 37 * GI),
    ],
)
def test_memory_staircase(peak: int, target: int) -> None:
    """The staircase charges each part at its rate and rounds up by size."""
    assert memory_target(peak) == target


@pytest.mark.parametrize(
    ("target", "next_step"),
    [
        (256 * MI, 64 * MI),
        (1 * GI, 128 * MI),
        (4 * GI, 256 * MI),
        (16 * GI, 1 * GI),
    ],
)
def test_rounding_step_boundaries(target: int, next_step: int) -> None:
    """A target at a step boundary stays; a byte more rounds up by the next step."""
    below = _peak_for_target(target)

    assert memory_target(below) == target
    assert memory_target(below + 1) == target + next_step


def _peak_for_target(target: int) -> int:
    """Find the largest peak whose target does not exceed ``target``."""
    low, high = 0, target
    while low < high:
        middle = (low + high + 1) // 2
        if memory_target(middle) <= target:
            low = middle
        else:
            high = middle - 1
    return low


def test_cpu_uses_decimal_arithmetic() -> None:
    """0.8 x 1.2 gives 960m, not the 970m binary floating point would."""
    history = [run(container(cpu=Stats(peak=0.8, p95=0.8)))]

    cpu = compute_sizing(history, SizingParams()).containers[0].cpu

    assert cpu.request == "960m"
    assert cpu.limit == "1"


@pytest.mark.parametrize(
    ("cpu", "cpu_request", "cpu_limit"),
    [
        (Stats(peak=0.0, p95=0.0), "10m", "10m"),
        (Stats(peak=0.001, p95=0.001), "10m", "100m"),
        (Stats(peak=2.007, p95=2.004), "2410m", "2500m"),
        (Stats(peak=1.0, p95=1.0), "1200m", "1200m"),
    ],
)
def test_cpu_rounding(cpu: Stats, cpu_request: str, cpu_limit: str) -> None:
    """Requests round up to 10m (at least 10m), limits up to 100m and >= request."""
    sizing = compute_sizing([run(container(cpu=cpu))], SizingParams())

    assert sizing.containers[0].cpu.request == cpu_request
    assert sizing.containers[0].cpu.limit == cpu_limit


@pytest.mark.parametrize(
    ("percentile", "stats", "cpu_request"),
    [
        (CpuPercentile.P95, Stats(peak=2.0, p99=1.5), "1800m"),
        (CpuPercentile.AVG, Stats(peak=2.0, p75=0.5), "600m"),
        (CpuPercentile.P50, Stats(peak=2.0), "2400m"),
        (CpuPercentile.PEAK, Stats(peak=2.0, p99=1.0), "2400m"),
        (CpuPercentile.AVG, Stats(peak=2.0, avg=0.25, p50=1.0), "300m"),
    ],
)
def test_cpu_percentile_fallback(
    percentile: CpuPercentile, stats: Stats, cpu_request: str
) -> None:
    """A missing statistic falls back to the next higher one."""
    params = SizingParams(cpu_percentile=percentile)

    sizing = compute_sizing([run(container(cpu=stats))], params)

    assert sizing.containers[0].cpu.request == cpu_request


def test_max_over_runs_and_buffer() -> None:
    """CPU takes the maximum statistic over runs and applies the buffer."""
    history = [
        run(container(cpu=Stats(peak=1.0, p95=0.5))),
        run(container(cpu=Stats(peak=3.0, p95=0.9))),
    ]
    params = SizingParams(buffer_percent=50, cpu_sizing_mode=CpuSizingMode.ENFORCE)

    cpu = compute_sizing(history, params).containers[0].cpu

    assert cpu.request == "1350m"
    assert cpu.limit == "4500m"
    assert cpu.enforced is True


def test_oom_bump_with_known_limit() -> None:
    """An OOM-killed run raises m to max(L + 100 MiB, 1.2 L) of its limit."""
    history = [
        run(container(memory=Stats(peak=300 * MI))),
        run(
            container(
                memory=Stats(peak=512 * MI),
                limits=Limits(memory_bytes=512 * MI),
                oom_kills=1,
            )
        ),
    ]

    sizing = compute_sizing(history, SizingParams())

    # m = max(612 MiB, 614.4 MiB) = 614.4; + 128 + 0.3 * 358.4 = 850 MiB -> 896.
    assert sizing.containers[0].memory.limit == "896Mi"
    assert sizing.meta.oom_runs == 1


def test_oom_bump_without_limit_uses_peak() -> None:
    """Without a known limit the OOM bump starts from the run's peak."""
    history = [run(container(memory=Stats(peak=100 * MI), oom_kills=2))]

    sizing = compute_sizing(history, SizingParams())

    # m = max(200 MiB, 120 MiB) = 200 MiB; + 100 MiB headroom = 300 -> 320 MiB.
    assert sizing.containers[0].memory.limit == "320Mi"


def test_burstable_memory() -> None:
    """Burstable sizes the request from p95 (else avg, else peak) under the limit."""
    history = [
        run(container(memory=Stats(peak=700 * MI, p95=100 * MI))),
        run(container("db", memory=Stats(peak=200 * MI, avg=50 * MI))),
    ]
    params = SizingParams(memory_qos=MemoryQoS.BURSTABLE)

    runner, db = compute_sizing(history, params).containers

    assert (runner.memory.request, runner.memory.limit) == ("160Mi", "1Gi")
    assert (db.memory.request, db.memory.limit) == ("96Mi", "320Mi")


def test_memory_from_three_runs_follows_their_spread() -> None:
    """From three runs on, memory is peak x (1.1 + cv) when under the staircase."""
    history = [run(container(memory=Stats(peak=peak * MI))) for peak in (700, 600, 500)]

    sizing = compute_sizing(history, SizingParams())

    # cv = 100 / 600; 700 x (1.1 + 1/6) = 886.7 MiB, up to 32 MiB -> 896 MiB,
    # under the staircase's 1Gi.
    assert sizing.containers[0].memory.limit == "896Mi"
    assert sizing.containers[0].memory.request == "896Mi"


def test_memory_from_two_runs_keeps_the_staircase() -> None:
    """With two runs the staircase still applies: 700 MiB gives 1Gi."""
    history = [run(container(memory=Stats(peak=peak * MI))) for peak in (700, 500)]

    sizing = compute_sizing(history, SizingParams())

    assert sizing.containers[0].memory.limit == "1Gi"


@pytest.mark.parametrize(
    ("peak", "limit"),
    [
        # 44 MiB, below the 64 MiB floor.
        (40 * MI, "64Mi"),
        # 770 MiB, up to 1/16 of 512 MiB.
        (700 * MI, "800Mi"),
        # 1126.4 MiB, up to 1/16 of 1 GiB.
        (GI, "1152Mi"),
        # Exactly 11 GiB, a multiple of 1/16 of 8 GiB.
        (10 * GI, "11Gi"),
    ],
)
def test_memory_of_steady_runs(peak: int, limit: str) -> None:
    """Three equal peaks get 10 % headroom, rounded up to 1/16 of their binary size."""
    history = [run(container(memory=Stats(peak=peak)))] * 3

    sizing = compute_sizing(history, SizingParams())

    assert sizing.containers[0].memory.limit == limit


def test_wide_spread_is_capped_by_the_staircase() -> None:
    """Peaks of 100, 200 and 400 MiB would get 1.75 x 400 MiB; the staircase is less."""
    history = [run(container(memory=Stats(peak=peak * MI))) for peak in (400, 200, 100)]

    sizing = compute_sizing(history, SizingParams())

    # cv = 152.75 / 233.3 = 0.655: 400 x 1.755 = 702 MiB; the staircase gives
    # 128 + 0.3 x 144 = 171.2 -> 571.2 MiB -> 576 MiB.
    assert sizing.containers[0].memory.limit == "576Mi"


def test_oom_killed_runs_do_not_count_towards_the_spread() -> None:
    """A killed run raises m but is no evidence of spread: two clean runs are few."""
    killed = run(
        container(memory=Stats(peak=GI), limits=Limits(memory_bytes=GI), oom_kills=1)
    )
    clean = run(container(memory=Stats(peak=600 * MI)))

    three = compute_sizing([killed, clean, clean, clean], SizingParams())
    two = compute_sizing([killed, clean, clean], SizingParams())

    # m = 1.2 GiB = 1228.8 MiB. Three clean runs: x 1.1 = 1351.7 -> 1408 MiB.
    assert three.containers[0].memory.limit == "1408Mi"
    # Two: the staircase, 1228.8 + 399.36 = 1628.16 -> 1664 MiB.
    assert two.containers[0].memory.limit == "1664Mi"


def test_burstable_request_follows_the_spread() -> None:
    """From three runs the burstable request is fitted to the p95s likewise."""
    history = [run(container(memory=Stats(peak=700 * MI, p95=300 * MI)))] * 3
    params = SizingParams(memory_qos=MemoryQoS.BURSTABLE)

    memory = compute_sizing(history, params).containers[0].memory

    # 330 MiB up to 16 MiB -> 336 MiB; the limit 770 MiB -> 800 MiB.
    assert (memory.request, memory.limit) == ("336Mi", "800Mi")


@given(st.lists(st.integers(min_value=1, max_value=64 * GI), min_size=3, max_size=20))
def test_fitted_memory_stays_under_the_staircase(peaks: list[int]) -> None:
    """From three clean runs: at least 1.1 x peak and 64 MiB, at most the staircase."""
    history = [run(container(memory=Stats(peak=peak))) for peak in peaks]

    limit = compute_sizing(history, SizingParams(runs=20)).containers[0].memory

    staircase = memory_target(max(peaks))
    assert limit.limit_bytes >= min(max(peaks) * 11 / 10, staircase)
    assert limit.limit_bytes >= 64 * MI
    assert limit.limit_bytes <= staircase


def test_containers_order_and_totals() -> None:
    """Containers follow the newest run, then the rest by name; totals add up."""
    history = [
        run(container("runner"), container("docker")),
        run(container("zeta"), container("alpha"), container("runner")),
    ]

    sizing = compute_sizing(history, SizingParams())

    assert [c.name for c in sizing.containers] == ["runner", "docker", "alpha", "zeta"]
    assert sizing.total.cpu.request_millicores == 4 * 960
    assert sizing.total.cpu.request == "3840m"
    assert sizing.total.cpu.limit == "4"
    assert sizing.total.memory.limit_bytes == 4 * GI
    assert sizing.total.memory.request == "4Gi"


@pytest.mark.parametrize(
    ("runs", "confidence"),
    [
        (1, Confidence.LOW),
        (2, Confidence.LOW),
        (3, Confidence.MEDIUM),
        (9, Confidence.MEDIUM),
        (10, Confidence.HIGH),
    ],
)
def test_confidence(runs: int, confidence: Confidence) -> None:
    """Confidence is low under 3 runs, medium under 10, high from 10."""
    history = [run(container())] * runs

    sizing = compute_sizing(history, SizingParams(runs=100))

    assert sizing.meta.confidence is confidence
    assert sizing.meta.runs_analyzed == runs


def test_history_is_cut_to_runs() -> None:
    """Only the newest params.runs summaries count."""
    history = [run(container())] * 2 + [run(container(cpu=Stats(peak=9.0)))]

    sizing = compute_sizing(history, SizingParams(runs=2))

    assert sizing.meta.runs_analyzed == 2
    assert sizing.containers[0].cpu.request == "960m"


def test_no_history() -> None:
    """An empty history raises NoHistoryError."""
    with pytest.raises(NoHistoryError):
        compute_sizing([], SizingParams())


def test_clamps_apply_to_request_and_limit() -> None:
    """Min and max clamps bound request and limit; the request stays <= limit."""
    params = SizingParams(
        min_cpu_millicores=1500,
        max_cpu_millicores=2000,
        min_memory_bytes=2 * GI,
        max_memory_bytes=3 * GI,
    )
    small = compute_sizing([run(container())], params).containers[0]
    big = compute_sizing(
        [run(container(cpu=Stats(peak=8.0), memory=Stats(peak=8 * GI)))], params
    ).containers[0]

    assert (small.cpu.request, small.cpu.limit) == ("1500m", "1500m")
    assert (small.memory.request, small.memory.limit) == ("2Gi", "2Gi")
    assert (big.cpu.request, big.cpu.limit) == ("2", "2")
    assert (big.memory.request, big.memory.limit) == ("3Gi", "3Gi")


def test_clamp_splits_request_and_limit() -> None:
    """A max clamp between request and limit lowers only the limit."""
    params = SizingParams(max_cpu_millicores=1500)
    history = [run(container(cpu=Stats(peak=4.0, p95=1.0)))]

    cpu = compute_sizing(history, params).containers[0].cpu

    assert (cpu.request, cpu.limit) == ("1200m", "1500m")


ORG = OverrideScope("my-org")
REPO = OverrideScope("my-org", "my-org/my-repo")
WORKFLOW = OverrideScope("my-org", "my-org/my-repo", "ci.yml")
JOB = OverrideScope("my-org", "my-org/my-repo", "ci.yml", "build")


def test_resolve_defaults() -> None:
    """Without overrides or arguments the DESIGN defaults apply."""
    assert resolve_sizing_params([]) == SizingParams()


def test_resolve_most_specific_wins_and_null_inherits() -> None:
    """Per field the narrowest override that sets it wins, in any input order."""
    overrides = [
        (JOB, Override(buffer_percent=50)),
        (ORG, Override(buffer_percent=10, runs=20, memory_qos=MemoryQoS.BURSTABLE)),
        (WORKFLOW, Override(runs=7)),
        (REPO, Override(cpu_percentile=CpuPercentile.P99, runs=3)),
    ]

    params = resolve_sizing_params(overrides)

    assert params.buffer_percent == 50
    assert params.runs == 7
    assert params.cpu_percentile is CpuPercentile.P99
    assert params.memory_qos is MemoryQoS.BURSTABLE
    assert params.cpu_sizing_mode is CpuSizingMode.OBSERVE
    assert params.overrides == ("org", "repo", "workflow", "job")


def test_resolve_explicit_arguments_win_but_clamps_stay() -> None:
    """Explicit parameters beat overrides; clamps still apply."""
    overrides = [
        (JOB, Override(buffer_percent=50, min_cpu="500m", max_memory="2Gi")),
        (ORG, Override(cpu_sizing_mode=CpuSizingMode.ENFORCE)),
    ]

    params = resolve_sizing_params(
        overrides, buffer_percent=0, runs=10, cpu_sizing_mode="observe"
    )

    assert params.buffer_percent == 0
    assert params.runs == 10
    assert params.cpu_sizing_mode is CpuSizingMode.OBSERVE
    assert params.min_cpu_millicores == 500
    assert params.max_memory_bytes == 2 * GI
    assert params.overrides == ("job",)


def test_resolve_conflicting_clamps_let_max_win() -> None:
    """An org minimum above a job maximum is lowered to the maximum."""
    overrides = [(ORG, Override(min_cpu="2")), (JOB, Override(max_cpu="1"))]

    params = resolve_sizing_params(overrides)

    assert (params.min_cpu_millicores, params.max_cpu_millicores) == (1000, 1000)


@pytest.mark.parametrize(
    "arguments",
    [
        {"runs": 0},
        {"runs": 101},
        {"buffer_percent": -1},
        {"buffer_percent": 1001},
        {"cpu_percentile": "p90"},
        {"memory_qos": "besteffort"},
    ],
)
def test_resolve_rejects_bad_arguments(arguments: dict[str, object]) -> None:
    """Out-of-range or unknown explicit parameters are validation errors."""
    with pytest.raises(ValidationError):
        resolve_sizing_params([], **arguments)  # type: ignore[arg-type]


memory_bytes = st.integers(min_value=0, max_value=64 * GI)


@given(memory_bytes)
def test_memory_limit_covers_peak(peak: int) -> None:
    """The memory limit is never below the observed peak."""
    history = [run(container(memory=Stats(peak=float(peak))))]

    memory = compute_sizing(history, SizingParams()).containers[0].memory

    assert memory.limit_bytes >= peak
    assert memory.request_bytes == memory.limit_bytes


@given(memory_bytes, memory_bytes)
def test_memory_target_is_monotonic(first: int, second: int) -> None:
    """A larger peak never gets a smaller recommendation, across every bracket."""
    low, high = sorted((first, second))

    assert memory_target(low) <= memory_target(high)


@given(st.sampled_from([256 * MI, GI, 4 * GI, 16 * GI]), st.integers(-4096, 4096))
def test_memory_target_is_monotonic_near_brackets(edge: int, offset: int) -> None:
    """Around each bracket edge one more byte never lowers the target."""
    peak = edge + offset

    assert memory_target(peak) <= memory_target(peak + 1)


@given(
    st.floats(min_value=0, max_value=256, allow_nan=False),
    st.floats(min_value=0, max_value=1, allow_nan=False),
    st.integers(min_value=0, max_value=1000),
    st.sampled_from(list(CpuPercentile)),
)
def test_cpu_request_covers_statistic(
    peak: float, share: float, buffer: int, percentile: CpuPercentile
) -> None:
    """The CPU request is never below the chosen statistic, nor the limit below it."""
    chosen = peak * share
    stats = Stats(peak=peak, avg=chosen, p50=chosen, p75=chosen, p95=chosen, p99=chosen)
    params = SizingParams(buffer_percent=buffer, cpu_percentile=percentile)

    cpu = compute_sizing([run(container(cpu=stats))], params).containers[0].cpu

    statistic = peak if percentile is CpuPercentile.PEAK else chosen
    assert cpu.request_millicores >= statistic * 1000 * (1 + buffer / 100) - 1e-6
    assert cpu.request_millicores >= 10
    assert cpu.limit_millicores >= cpu.request_millicores
    assert cpu.limit_millicores >= peak * 1000


def test_resolve_caps_stored_clamps_beyond_the_bounds() -> None:
    """An override stored before the bounds existed is capped, not refused."""
    overrides = [(JOB, Override(min_cpu="1073741824", max_memory="16Pi"))]

    params = resolve_sizing_params(overrides)

    assert params.min_cpu_millicores == 10**9
    assert params.max_memory_bytes == 2**53


def test_parsed_override_clamps_the_sizing() -> None:
    """An override as parse_override stores it clamps request and limit."""
    override = parse_override(
        {"min_cpu": "0", "max_cpu": "1500m", "min_memory": 0, "max_memory": "512Mi"}
    )
    params = resolve_sizing_params([(REPO, override)])
    history = [run(container(cpu=Stats(peak=4.0, p95=1.0)))]

    sized = compute_sizing(history, params).containers[0]

    assert (params.min_cpu_millicores, params.min_memory_bytes) == (0, 0)
    assert (sized.cpu.request, sized.cpu.limit) == ("1200m", "1500m")
    assert (sized.memory.request, sized.memory.limit) == ("512Mi", "512Mi")


def test_sizing_stays_within_json_safe_integers() -> None:
    """Absurd usage is sized at most 1,000,000 cores and 8Pi per container."""
    huge = container(
        cpu=Stats(peak=1e15, p95=1e15),
        memory=Stats(peak=1e15),
        limits=Limits(memory_bytes=2**53),
        oom_kills=1,
    )

    sized = compute_sizing([run(huge)], SizingParams(buffer_percent=1000))
    cpu, memory = sized.containers[0].cpu, sized.containers[0].memory

    assert (cpu.request_millicores, cpu.limit_millicores) == (10**9, 10**9)
    assert (memory.request_bytes, memory.limit_bytes) == (2**53, 2**53)
    assert (cpu.limit, memory.limit) == ("1000000", "8Pi")
