"""Plain-text tables and figures for people reading the command line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cisizer.core import Run, Sizing, format_datetime

__all__ = ["format_bytes", "format_seconds", "run_table", "sizing_table", "table"]


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
