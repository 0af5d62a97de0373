"""One format for every benchmark's figures: a printed table and ``bench-results.json``.

Each benchmark part (``backtest``, ``ingest``, ``aggregation``, ``agent``)
builds a list of :class:`Figure` and calls :func:`publish`, which prints the
part's table and merges the figures into ``bench-results.json`` at the
repository root, replacing that part's earlier figures and keeping the
others.  ``python bench/_results.py`` prints the table of every part on
record, which is what ``nox -s bench`` ends with.

A figure may carry a target, written for people (``">= 50 % of floor"``), and
a ratio: the measured value divided by what it is compared with (the floor,
the baseline, the other tool), so a reader sees how far from the target it
is.  ``met`` says whether the target was met, or is ``None`` where a figure
has no target.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(
    os.environ.get(
        "CISIZER_BENCH_RESULTS", Path(__file__).parent.parent / "bench-results.json"
    )
)


@dataclass(frozen=True)
class Figure:
    """One measured figure of one benchmark part."""

    part: str
    name: str
    value: float | None
    unit: str
    target: str | None = None
    ratio: float | None = None
    met: bool | None = None
    note: str | None = None


def machine() -> dict[str, Any]:
    """Describe the machine the figures were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def _format_value(value: float | None) -> str:
    if value is None:
        return "-"
    if value == int(value) and abs(value) >= 100:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def table(figures: list[Figure]) -> str:
    """Render figures as an aligned text table, grouped by part."""
    header = ("part", "figure", "value", "unit", "target", "ratio", "met")
    rows = [header]
    for figure in figures:
        rows.append(
            (
                figure.part,
                figure.name,
                _format_value(figure.value),
                figure.unit,
                figure.target or "",
                "" if figure.ratio is None else f"{figure.ratio:.2f}",
                {True: "yes", False: "NO", None: ""}[figure.met],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.rjust(width) if column in (2, 5) else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def load() -> dict[str, Any]:
    """Return what ``bench-results.json`` holds, or an empty record."""
    try:
        data: dict[str, Any] = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        return {"parts": {}}
    data.setdefault("parts", {})
    return data


def publish(part: str, figures: list[Figure], **details: Any) -> None:
    """Print one part's figures and record them in ``bench-results.json``.

    ``details`` are kept beside the figures (settings, sizes, file names) so
    the JSON says how the figures were obtained.
    """
    print()
    print(table(figures), flush=True)
    data = load()
    data["machine"] = machine()
    data["parts"][part] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "details": details,
        "figures": [asdict(figure) for figure in figures],
    }
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")
    print(f"{part}: figures written to {RESULTS}", flush=True)


def all_figures() -> list[Figure]:
    """Return every figure on record, part by part."""
    return [
        Figure(**figure)
        for entry in load()["parts"].values()
        for figure in entry["figures"]
    ]


def main() -> int:
    """Print every part's figures on record."""
    figures = all_figures()
    if not figures:
        print(f"no figures in {RESULTS}", file=sys.stderr)
        return 1
    print(table(figures))
    missed = [figure for figure in figures if figure.met is False]
    print(f"\n{len(figures)} figures; {len(missed)} target(s) missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
