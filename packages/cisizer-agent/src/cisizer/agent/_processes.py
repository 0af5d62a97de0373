"""Per-process CPU and memory, attributed to containers by cgroup.

psutil names each new process (it resolves names the kernel truncates);
the figures of every sample come from one read of ``/proc/<pid>/stat``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import attrs
import psutil

from cisizer.agent._cgroup import parse_proc_cgroup, read_file

__all__ = ["ProcessFigures", "ProcessTracker"]

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")

# Field positions in /proc/<pid>/stat after the ")" that ends the name.
_UTIME, _STIME, _STARTTIME, _RSS = 11, 12, 19, 21


@attrs.define
class ProcessFigures:
    """What one process used while the agent watched it (100 % is one core)."""

    pid: int
    name: str
    cgroup_path: str | None
    cpu_seconds: float
    seen_at: float
    first_cpu_seconds: float
    first_seen_at: float
    started: int = 0
    peak_cpu_percent: float = 0.0
    peak_memory_bytes: int = 0
    container: str | None = None

    @property
    def avg_cpu_percent(self) -> float:
        """Return the average CPU % over the time the process was watched."""
        elapsed = self.seen_at - self.first_seen_at
        if elapsed <= 0:
            return 0.0
        return max(0.0, (self.cpu_seconds - self.first_cpu_seconds) / elapsed * 100)


def _read_stat(path: str) -> tuple[float, int, int] | None:
    try:
        data = read_file(path)
    except OSError:
        return None
    fields = data.rpartition(b")")[2].split()
    try:
        cpu = (int(fields[_UTIME]) + int(fields[_STIME])) / _TICKS
        return cpu, int(fields[_STARTTIME]), int(fields[_RSS]) * _PAGE
    except (IndexError, ValueError):
        return None


class ProcessTracker:
    """Keeps per-process figures across samples, bounded to what can reach the top.

    ``controller`` names the cgroup controller whose path (``""`` for v2)
    later decides a process's container.
    """

    def __init__(self, top: int, controller: str, proc: str = "/proc") -> None:
        self.top = top
        self.controller = controller
        self._proc = proc
        self._live: dict[int, ProcessFigures] = {}
        self._ended: list[ProcessFigures] = []

    def _cgroup_path(self, pid: int) -> str | None:
        try:
            text = read_file(os.path.join(self._proc, str(pid), "cgroup")).decode()
        except OSError:
            return None
        return parse_proc_cgroup(text).get(self.controller)

    def sample(self, now: float) -> None:
        """Read every visible process once and update its figures."""
        # PERF: psutil.process_iter with attrs costs about 120 µs a process;
        # one direct read of /proc/<pid>/stat costs about 20 µs.
        live = self._live
        seen = set()
        proc = self._proc
        for entry in os.listdir(proc):
            if not entry.isdigit():
                continue
            read = _read_stat(f"{proc}/{entry}/stat")
            if read is None:
                continue
            cpu, started, rss = read
            pid = int(entry)
            seen.add(pid)
            figures = live.get(pid)
            if figures is None or figures.started != started:
                if figures is not None:
                    self._retire(figures)
                figures = live[pid] = self._first(pid, cpu, started, now)
            else:
                elapsed = now - figures.seen_at
                if elapsed > 0:
                    percent = (cpu - figures.cpu_seconds) / elapsed * 100
                    if percent > figures.peak_cpu_percent:
                        figures.peak_cpu_percent = percent
                figures.cpu_seconds = cpu
                figures.seen_at = now
            if rss > figures.peak_memory_bytes:
                figures.peak_memory_bytes = rss

        for pid in [pid for pid in live if pid not in seen]:
            self._retire(live.pop(pid))

    def _first(self, pid: int, cpu: float, started: int, now: float) -> ProcessFigures:
        try:
            name = psutil.Process(pid).name()
        except psutil.Error:
            name = ""
        return ProcessFigures(
            pid=pid,
            name=name or str(pid),
            cgroup_path=self._cgroup_path(pid),
            cpu_seconds=cpu,
            seen_at=now,
            first_cpu_seconds=cpu,
            first_seen_at=now,
            started=started,
        )

    def _retire(self, figures: ProcessFigures) -> None:
        self._ended.append(figures)
        # Ended processes only matter if they can still reach the top, so a
        # job spawning thousands of compilers keeps memory bounded.
        if len(self._ended) > 4 * self.top + 64:
            self._ended.sort(key=_rank)
            del self._ended[self.top :]

    def figures(self) -> list[ProcessFigures]:
        """Return every process watched, live and ended."""
        return [*self._live.values(), *self._ended]

    def busiest(
        self, resolve: Callable[[str | None], str | None]
    ) -> list[ProcessFigures]:
        """Return the top processes by peak CPU, each with its container resolved."""
        ranked = sorted(self.figures(), key=_rank)[: self.top]
        for figures in ranked:
            figures.container = resolve(figures.cgroup_path)
        return ranked


def _rank(figures: ProcessFigures) -> tuple[float, int, int]:
    return (-figures.peak_cpu_percent, -figures.peak_memory_bytes, figures.pid)
