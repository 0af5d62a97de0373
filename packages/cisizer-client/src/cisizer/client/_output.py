"""Plain-text tables and figures for people reading the command line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cisizer.core import (
    Kpis,
    OverrideScope,
    Run,
    Sizing,
    SizingOverview,
    format_datetime,
)

__all__ = [
    "KPI_HEADERS",
    "format_bytes",
    "format_seconds",
    "kpi_cells",
    "kpi_table",
    "page_note",
    "run_table",
    "scope_label",
    "sizing_overview_table",
    "sizing_table",
    "table",
]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return rows as left-aligned columns under upper-case headers."""
    cells = [[str(header).upper() for header in headers]]
    cells += [["-" if value is None else str(value) for value in row] for row in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]

    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    ]
    return "\n".join(line.rstrip() for line in lines)


def format_bytes(n_bytes: float | None) -> str:
    """Return a byte count for reading, in binary units (``700.0Mi``)."""
    if n_bytes is None:
        return "-"
    value = float(n_bytes)
    for unit in ("", "Ki", "Mi", "Gi", "Ti"):
        if abs(value) < 1024 or unit == "Ti":
            return f"{value:.0f}" if unit == "" else f"{value:.1f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_seconds(seconds: float | None) -> str:
    """Return a duration for reading (``42.0s``, ``3m05s``, ``1h02m``)."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _when(value: datetime | None) -> str:
    return "-" if value is None else format_datetime(value.replace(microsecond=0))


def sizing_table(sizing: Sizing) -> str:
    """Return a sizing as a table of containers, a total row and how it was made."""
    rows: list[list[object]] = []
    for container in sizing.containers:
        cpu_limit = container.cpu.limit
        if not container.cpu.enforced:
            cpu_limit += " (advice)"
        rows.append(
            [
                container.name,
                container.cpu.request,
                cpu_limit,
                container.memory.request,
                container.memory.limit,
            ]
        )
    total = sizing.total
    rows.append(
        [
            "total",
            total.cpu.request,
            total.cpu.limit,
            total.memory.request,
            total.memory.limit,
        ]
    )

    meta = sizing.meta
    summary = (
        f"{meta.runs_analyzed} run(s) analysed, confidence {meta.confidence}; "
        f"CPU {meta.cpu_percentile} + {meta.buffer_percent}% ({meta.cpu_sizing_mode}), "
        f"memory {meta.memory_qos}"
    )
    if meta.oom_runs:
        summary += f"; {meta.oom_runs} run(s) OOM-killed"
    if meta.overrides:
        summary += f"; overrides: {', '.join(meta.overrides)}"
    headers = [
        "container",
        "cpu request",
        "cpu limit",
        "memory request",
        "memory limit",
    ]

    return table(headers, rows) + "\n\n" + summary


def run_table(runs: Sequence[Run]) -> str:
    """Return stored runs as one line each: identity, outcome and peaks."""
    rows = []
    for run in runs:
        containers = run.payload.containers
        rows.append(
            [
                run.id,
                f"{run.repository}/{run.workflow}/{run.job}",
                f"{run.run_id}#{run.run_attempt}",
                run.status,
                run.runner,
                _when(run.payload.end_time),
                format_seconds(run.payload.duration_seconds),
                f"{sum(c.cpu_cores.peak for c in containers):.2f}",
                format_bytes(sum(c.memory_bytes.peak for c in containers)),
            ]
        )
    headers = [
        "id",
        "job",
        "run",
        "status",
        "runner",
        "ended",
        "duration",
        "cpu peak",
        "memory peak",
    ]

    return table(headers, rows)


def scope_label(scope: OverrideScope) -> str:
    """Return an override scope as ``my-org/my-repo[/workflow[/job]]``.

    The scope's repository is already the full name, so it stands for the
    organization too.
    """
    parts = [scope.repository or scope.organization, scope.workflow, scope.job]
    return "/".join(part for part in parts if part is not None)


KPI_HEADERS = [
    "runs",
    "success",
    "avg duration",
    "core-hours",
    "avg cores",
    "peak memory",
    "energy wh",
    "co2e g",
    "last run",
]


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def kpi_cells(kpis: Kpis) -> list[object]:
    """Return the KPI columns of one row, in the order of ``KPI_HEADERS``."""
    return [
        kpis.runs,
        _percent(kpis.success_rate),
        format_seconds(kpis.avg_duration_seconds),
        f"{kpis.cpu_core_hours:.2f}",
        "-" if kpis.avg_cores is None else f"{kpis.avg_cores:.2f}",
        format_bytes(kpis.peak_memory_bytes),
        f"{kpis.energy_wh:.1f}",
        f"{kpis.carbon_g:.1f}",
        _when(kpis.last_run_at),
    ]


def kpi_table(first: str, rows: Sequence[tuple[str, Kpis]], total: Kpis | None) -> str:
    """Return named KPI rows as a table, with an ``all`` row first when given."""
    lines: list[list[object]] = []
    if total is not None:
        lines.append(["all", *kpi_cells(total)])
    lines += [[name, *kpi_cells(kpis)] for name, kpis in rows]
    return table([first, *KPI_HEADERS], lines)


def page_note(shown: int, total: int, offset: int) -> str:
    """Return which rows of how many a page shows, e.g. ``rows 1-50 of 120``."""
    if shown == 0:
        return f"no rows (of {total})"
    return f"rows {offset + 1}-{offset + shown} of {total}"


def sizing_overview_table(overview: SizingOverview) -> str:
    """Return each job's recommendation, current limits and savings."""
    rows: list[list[object]] = []
    for report in overview.jobs:
        sizing = report.sizing
        name = f"{report.repository}/{report.workflow}/{report.job}"
        rows.append(
            [
                name,
                report.runs,
                "-" if sizing is None else sizing.total.cpu.request,
                "-" if sizing is None else sizing.total.memory.limit,
                "-" if report.current_cpu_cores is None else report.current_cpu_cores,
                format_bytes(report.current_memory_bytes),
                _signed(report.savings.cpu_cores, ""),
                _signed(report.savings.memory_gib, "Gi"),
            ]
        )
    headers = [
        "job",
        "runs",
        "cpu request",
        "memory limit",
        "cpu now",
        "memory now",
        "cpu saved",
        "memory saved",
    ]
    return table(headers, rows)


def _signed(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:+.2f}{unit}"
