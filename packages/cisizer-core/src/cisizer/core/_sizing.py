"""Sizing: Kubernetes requests and limits for a job's next run (docs/sizing.md).

All arithmetic is on :class:`~decimal.Decimal` built from each float's
shortest text, so ``0.8 x 1.2`` is exactly ``0.96`` and gives ``960m``.

Memory headroom departs from the original staircase rule once a container
has three runs in the history that were not OOM-killed: the staircase, sized
for not knowing how a job varies, becomes a ceiling, and below it the
headroom is 10 % plus the spread of those runs' peaks. Replayed over
generated CI histories (``bench/backtest.py``), that leaves less memory
unused per run, at the price of a few more OOM kills than the staircase
alone but fewer than the VPA-like and KRR-like baselines (docs/sizing.md has
the figures). With one or two runs the staircase still decides.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from cisizer.core._errors import NoHistoryError, ValidationError
from cisizer.core._models import (
    Confidence,
    ContainerSizing,
    ContainerSummary,
    CpuPercentile,
    CpuSizing,
    CpuSizingMode,
    CpuTotal,
    MemoryQoS,
    MemorySizing,
    MemoryTotal,
    Override,
    OverrideScope,
    Sizing,
    SizingMeta,
    SizingParams,
    SizingTotal,
    Stats,
    Summary,
)
from cisizer.core._quantity import (
    _MAX_CPU_MILLICORES,
    _MAX_MEMORY_BYTES,
    format_cpu,
    format_memory,
    parse_quantity,
)

__all__ = ["compute_sizing", "memory_target", "resolve_sizing_params"]

MIB = 1024**2
GIB = 1024**3

# (upper end of the part, headroom on that part); None: no upper end.
_HEADROOM: tuple[tuple[int | None, Decimal], ...] = (
    (256 * MIB, Decimal("0.50")),
    (1 * GIB, Decimal("0.30")),
    (4 * GIB, Decimal("0.20")),
    (16 * GIB, Decimal("0.15")),
    (None, Decimal("0.10")),
)
# (largest target the step applies to, rounding step); None: every larger one.
_STEPS: tuple[tuple[int | None, int], ...] = (
    (256 * MIB, 32 * MIB),
    (1 * GIB, 64 * MIB),
    (4 * GIB, 128 * MIB),
    (16 * GIB, 256 * MIB),
    (None, 1 * GIB),
)
_MIN_MEMORY = 64 * MIB
# From this many runs that were not OOM-killed on, memory headroom follows the
# job's own spread, below the staircase.
_SPREAD_RUNS = 3
_SPREAD_BASE = Decimal("0.10")
# Fitted targets round up to 1/16 of the largest power of two they hold.
_FITTED_STEP_SHIFT = 4
_OOM_MARGIN = 100 * MIB
_OOM_FACTOR = Decimal("1.2")
_CPU_REQUEST_STEP = 10
_CPU_LIMIT_STEP = 100

# From the cheapest statistic to the most cautious: a missing one falls back
# to the next to its right.
_CPU_FALLBACK = ("avg", "p50", "p75", "p95", "p99", "peak")
_MEMORY_REQUEST_FALLBACK = ("p95", "avg", "peak")

_LEVELS = ("org", "repo", "workflow", "job")
_CONTEXT = decimal.Context(prec=60)
_SPREAD_CONTEXT = decimal.Context(prec=28)

_E = TypeVar("_E", bound=StrEnum)


def _decimal(value: float | int) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _ceil_to(value: Decimal, step: int) -> int:
    steps = (value / step).to_integral_value(rounding=decimal.ROUND_CEILING)
    return int(steps) * step


def _statistic(stats: Stats, names: Sequence[str]) -> float:
    for name in names:
        value: float | None = getattr(stats, name)
        if value is not None:
            return value
    return stats.peak


def cpu_figure(stats: Stats, percentile: CpuPercentile) -> float:
    """Return the CPU statistic ``percentile`` names, else the next higher one."""
    return _statistic(stats, _CPU_FALLBACK[_CPU_FALLBACK.index(percentile.value) :])


def memory_target(peak_bytes: Decimal | float | int) -> int:
    """Apply the memory staircase to a peak: headroom, then round up (bytes).

    Headroom is charged per part of the peak like tax brackets (50 % of the
    first 256 MiB, 30 % up to 1 GiB, 20 % to 4 GiB, 15 % to 16 GiB, 10 %
    above); the sum is rounded up to 32 MiB, 64 MiB, 128 MiB, 256 MiB or
    1 GiB steps by its size, and is at least 64 MiB.
    """
    with decimal.localcontext(_CONTEXT):
        peak = peak_bytes if isinstance(peak_bytes, Decimal) else _decimal(peak_bytes)
        headroom = Decimal(0)
        lower = 0
        for upper, rate in _HEADROOM:
            if upper is None or peak <= upper:
                headroom += max(peak - lower, Decimal(0)) * rate
                break
            headroom += (upper - lower) * rate
            lower = upper
        target = peak + headroom

        step = next(step for upper, step in _STEPS if upper is None or target <= upper)
        return max(_ceil_to(target, step), _MIN_MEMORY)


def _spread(values: Sequence[Decimal]) -> Decimal | None:
    """The coefficient of variation of ``values``; None below three of them."""
    if len(values) < _SPREAD_RUNS:
        return None
    mean = sum(values, Decimal(0)) / len(values)
    if mean <= 0:
        return None
    squares = sum(((value - mean) ** 2 for value in values), Decimal(0))
    # An estimate: 28 digits are plenty, and the square root is cheaper.
    with decimal.localcontext(_SPREAD_CONTEXT):
        return (squares / (len(values) - 1)).sqrt() / mean


def _target(peak: Decimal, clean: Sequence[Decimal]) -> int:
    """The memory target for ``peak``, given the same figure of the runs not killed.

    With fewer than three such runs, the staircase of :func:`memory_target`.
    From three on, the job's own spread may lower it: ``peak x (1.1 + cv)``
    with ``cv`` their standard deviation over their mean, rounded up to 1/16
    of the largest power of two below it (at least 1 MiB), at least 64 MiB,
    and never above the staircase.
    """
    staircase = memory_target(peak)
    spread = _spread(clean)
    if spread is None:
        return staircase
    target = peak * (1 + _SPREAD_BASE + spread)
    size = int(target).bit_length() - 1
    step = 1 << max(size - _FITTED_STEP_SHIFT, 20)
    return min(max(_ceil_to(target, step), _MIN_MEMORY), staircase)


def _clamp(value: int, low: int | None, high: int | None) -> int:
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return value


def _confidence(runs: int) -> Confidence:
    if runs < 3:
        return Confidence.LOW
    if runs < 10:
        return Confidence.MEDIUM
    return Confidence.HIGH


def _container_order(history: Sequence[Summary]) -> list[str]:
    newest = [container.name for container in history[0].containers]
    rest = {
        container.name
        for summary in history[1:]
        for container in summary.containers
        if container.name not in newest
    }
    return newest + sorted(rest)


def _cpu(seen: Sequence[ContainerSummary], params: SizingParams) -> CpuSizing:
    chosen = max(_decimal(cpu_figure(c.cpu_cores, params.cpu_percentile)) for c in seen)
    peak = max(_decimal(c.cpu_cores.peak) for c in seen)
    factor = (100 + Decimal(params.buffer_percent)) * 10

    request = max(_ceil_to(chosen * factor, _CPU_REQUEST_STEP), _CPU_REQUEST_STEP)
    limit = max(_ceil_to(peak * factor, _CPU_LIMIT_STEP), request)
    request = _clamp(request, params.min_cpu_millicores, params.max_cpu_millicores)
    limit = _clamp(limit, params.min_cpu_millicores, params.max_cpu_millicores)
    limit = min(limit, _MAX_CPU_MILLICORES)
    request = min(request, limit)

    return CpuSizing(
        request=format_cpu(request),
        limit=format_cpu(limit),
        request_millicores=request,
        limit_millicores=limit,
        enforced=params.cpu_sizing_mode is CpuSizingMode.ENFORCE,
    )


def _memory(seen: Sequence[ContainerSummary], params: SizingParams) -> MemorySizing:
    peak = max(_decimal(c.memory_bytes.peak) for c in seen)
    for container in seen:
        if container.oom_kills:
            limits = container.limits
            known = limits.memory_bytes if limits is not None else None
            held = _decimal(container.memory_bytes.peak if known is None else known)
            peak = max(peak, held + _OOM_MARGIN, held * _OOM_FACTOR)

    clean = [c.memory_bytes for c in seen if not c.oom_kills]
    limit = _target(peak, [_decimal(stats.peak) for stats in clean])
    if params.memory_qos is MemoryQoS.BURSTABLE:
        usual = max(
            _decimal(_statistic(c.memory_bytes, _MEMORY_REQUEST_FALLBACK)) for c in seen
        )
        usual_clean = [
            _decimal(_statistic(stats, _MEMORY_REQUEST_FALLBACK)) for stats in clean
        ]
        request = min(_target(usual, usual_clean), limit)
    else:
        request = limit
    request = _clamp(request, params.min_memory_bytes, params.max_memory_bytes)
    limit = _clamp(limit, params.min_memory_bytes, params.max_memory_bytes)
    limit = min(limit, _MAX_MEMORY_BYTES)
    request = min(request, limit)

    return MemorySizing(
        request=format_memory(request),
        limit=format_memory(limit),
        request_bytes=request,
        limit_bytes=limit,
        enforced=True,
    )


def compute_sizing(history: Sequence[Summary], params: SizingParams) -> Sizing:
    """Recommend requests and limits per container from a job's recent runs.

    ``history`` is newest first, without cancelled runs; only its first
    ``params.runs`` entries are used.  Containers come in the order of the
    newest run, then the others by name.

    Raises:
        NoHistoryError: ``history`` is empty.
    """
    recent = list(history[: params.runs])
    if not recent:
        raise NoHistoryError("no runs to size the job from")

    containers = []
    with decimal.localcontext(_CONTEXT):
        for name in _container_order(recent):
            seen = [c for run in recent for c in run.containers if c.name == name]
            containers.append(
                ContainerSizing(
                    name=name, cpu=_cpu(seen, params), memory=_memory(seen, params)
                )
            )

    cpu_request = sum(c.cpu.request_millicores for c in containers)
    cpu_limit = sum(c.cpu.limit_millicores for c in containers)
    memory_request = sum(c.memory.request_bytes for c in containers)
    memory_limit = sum(c.memory.limit_bytes for c in containers)
    oom_runs = sum(1 for run in recent if any(c.oom_kills for c in run.containers))
    return Sizing(
        containers=tuple(containers),
        total=SizingTotal(
            cpu=CpuTotal(
                request=format_cpu(cpu_request),
                limit=format_cpu(cpu_limit),
                request_millicores=cpu_request,
                limit_millicores=cpu_limit,
            ),
            memory=MemoryTotal(
                request=format_memory(memory_request),
                limit=format_memory(memory_limit),
                request_bytes=memory_request,
                limit_bytes=memory_limit,
            ),
        ),
        meta=SizingMeta(
            runs_analyzed=len(recent),
            buffer_percent=params.buffer_percent,
            cpu_percentile=params.cpu_percentile,
            cpu_sizing_mode=params.cpu_sizing_mode,
            memory_qos=params.memory_qos,
            confidence=_confidence(len(recent)),
            oom_runs=oom_runs,
            overrides=params.overrides,
        ),
    )


def _level(scope: OverrideScope) -> int:
    return _LEVELS.index(scope.level)


def _explicit_int(value: int | None, path: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not low <= value <= high
    ):
        raise ValidationError.single(path, f"must be an integer from {low} to {high}")
    return value


def _explicit_enum(value: str | None, path: str, enum: type[_E]) -> _E | None:
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise ValidationError.single(path, f"must be one of {choices}") from None


def resolve_sizing_params(
    overrides: Sequence[tuple[OverrideScope, Override]],
    *,
    runs: int | None = None,
    buffer_percent: int | None = None,
    cpu_percentile: CpuPercentile | str | None = None,
    cpu_sizing_mode: CpuSizingMode | str | None = None,
    memory_qos: MemoryQoS | str | None = None,
) -> SizingParams:
    """Combine the overrides that apply to a job with explicit parameters.

    ``overrides`` may come in any order.  Per field the most specific override
    that sets it wins (job > workflow > repo > org); an explicit argument wins
    over every override; what is left takes the defaults.  The min/max
    clamps always come from the overrides.  ``overrides`` in the result names
    the levels that decided at least one field, widest first.

    Note:
        When the resolved minimum exceeds the resolved maximum (say an org
        minimum of 2 cores and a job maximum of 1), the maximum wins.  A
        stored clamp beyond 1,000,000 cores or 8Pi is capped there.

    Raises:
        ValidationError: an explicit argument is out of range, or a stored
            override holds an unparseable quantity.
        QuantityError: a stored clamp is not a quantity.
    """
    explicit: dict[str, object] = {
        "runs": _explicit_int(runs, "runs", 1, 100),
        "buffer_percent": _explicit_int(buffer_percent, "buffer", 0, 1000),
        "cpu_percentile": _explicit_enum(
            cpu_percentile, "cpu_percentile", CpuPercentile
        ),
        "cpu_sizing_mode": _explicit_enum(
            cpu_sizing_mode, "cpu_sizing_mode", CpuSizingMode
        ),
        "memory_qos": _explicit_enum(memory_qos, "memory_qos", MemoryQoS),
    }
    narrowest_first = sorted(overrides, key=lambda item: -_level(item[0]))
    used: set[str] = set()

    def pick(name: str) -> object:
        if explicit.get(name) is not None:
            return explicit[name]
        for scope, override in narrowest_first:
            value = getattr(override, name)
            if value is not None:
                used.add(scope.level)
                return value
        return None

    def clamp(name: str, unit: int, ceiling: int) -> int | None:
        # Stored clamps passed parse_override when written; an older row may
        # still exceed today's bounds, so it is capped rather than refused.
        text = pick(name)
        if text is None:
            return None
        with decimal.localcontext(_CONTEXT):
            value = parse_quantity(str(text), name) * unit
        return min(_ceil_to(max(value, Decimal(0)), 1), ceiling)

    def pick_enum(name: str, enum: type[_E], default: _E) -> _E:
        value = pick(name)
        return default if value is None else enum(str(value))

    def pick_int(name: str, default: int) -> int:
        value = pick(name)
        return default if not isinstance(value, int) else value

    defaults = SizingParams()
    chosen_runs = pick_int("runs", defaults.runs)
    chosen_buffer = pick_int("buffer_percent", defaults.buffer_percent)
    percentile = pick_enum("cpu_percentile", CpuPercentile, defaults.cpu_percentile)
    mode = pick_enum("cpu_sizing_mode", CpuSizingMode, defaults.cpu_sizing_mode)
    qos = pick_enum("memory_qos", MemoryQoS, defaults.memory_qos)
    min_cpu = clamp("min_cpu", 1000, _MAX_CPU_MILLICORES)
    max_cpu = clamp("max_cpu", 1000, _MAX_CPU_MILLICORES)
    min_memory = clamp("min_memory", 1, _MAX_MEMORY_BYTES)
    max_memory = clamp("max_memory", 1, _MAX_MEMORY_BYTES)
    if min_cpu is not None and max_cpu is not None:
        min_cpu = min(min_cpu, max_cpu)
    if min_memory is not None and max_memory is not None:
        min_memory = min(min_memory, max_memory)

    return SizingParams(
        runs=chosen_runs,
        buffer_percent=chosen_buffer,
        cpu_percentile=percentile,
        cpu_sizing_mode=mode,
        memory_qos=qos,
        min_cpu_millicores=min_cpu,
        max_cpu_millicores=max_cpu,
        min_memory_bytes=min_memory,
        max_memory_bytes=max_memory,
        overrides=tuple(level for level in _LEVELS if level in used),
    )
