"""Per-process CPU and memory through psutil, attributed to containers by cgroup."""

from __future__ import annotations

import os
from collections.abc import Callable

import attrs
import psutil

from cisizer.agent._cgroup import parse_proc_cgroup, read_file

__all__ = ["ProcessFigures", "ProcessTracker"]

# Only what a sample needs: one read of /proc/<pid>/stat and one of statm.
_ATTRS = ["cpu_times", "memory_info"]


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


class ProcessTracker:
    """Keeps per-process figures across samples, bounded to what can reach the top.

    ``controller`` names the cgroup controller whose path (``""`` for v2)
    later decides a process's container.
    """

    def __init__(self, top: int, controller: str, proc: str = "/proc") -> None:
        self.top = top
        self.controller = controller
        self._proc = proc
        self._live: dict[int, tuple[psutil.Process, ProcessFigures]] = {}
        self._ended: list[ProcessFigures] = []

    def _cgroup_path(self, pid: int) -> str | None:
        try:
            text = read_file(os.path.join(self._proc, str(pid), "cgroup")).decode()
        except OSError:
            return None
        return parse_proc_cgroup(text).get(self.controller)

    def sample(self, now: float) -> None:
        """Read every visible process once and update its figures."""
        seen: set[int] = set()
        for process in psutil.process_iter(_ATTRS):
            info = process.info
            times, memory = info.get("cpu_times"), info.get("memory_info")
            if times is None or memory is None:
                continue
            cpu = times.user + times.system
            pid = process.pid
            seen.add(pid)
            known = self._live.get(pid)
            if known is None or known[0] is not process:
                if known is not None:
                    self._retire(known[1])
                self._live[pid] = (process, self._first(process, cpu, now))
                figures = self._live[pid][1]
            else:
                figures = known[1]
                elapsed = now - figures.seen_at
                if elapsed > 0:
                    percent = max(0.0, (cpu - figures.cpu_seconds) / elapsed * 100)
                    figures.peak_cpu_percent = max(figures.peak_cpu_percent, percent)
                figures.cpu_seconds, figures.seen_at = cpu, now
            figures.peak_memory_bytes = max(figures.peak_memory_bytes, memory.rss)

        for pid in [pid for pid in self._live if pid not in seen]:
            self._retire(self._live.pop(pid)[1])

    def _first(self, process: psutil.Process, cpu: float, now: float) -> ProcessFigures:
        try:
            name = process.name()
        except psutil.Error:
            name = str(process.pid)
        return ProcessFigures(
            pid=process.pid,
            name=name or str(process.pid),
            cgroup_path=self._cgroup_path(process.pid),
            cpu_seconds=cpu,
            seen_at=now,
            first_cpu_seconds=cpu,
            first_seen_at=now,
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
        return [figures for _, figures in self._live.values()] + self._ended

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
