"""Real sampling of this machine's own cgroup and processes under a known load."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cisizer.agent import Settings, build_sampler

MiB = 1024 * 1024

# Burns 1.5 s of CPU, then holds 200 MiB of touched memory for 0.8 s.
WORKLOAD = """
import time
while time.process_time() < 1.5:
    pass
block = b"\\x01" * (200 * 1024 * 1024)
time.sleep(0.8)
"""

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/cgroup").exists(), reason="needs Linux /proc"
)


def test_sampling_sees_known_cpu_and_memory(tmp_path: Path) -> None:
    """The own cgroup and the workload process show the CPU and memory it used."""
    settings = Settings(
        interval=0.2, docker=False, top_processes=50, spool_dir=tmp_path / "spool"
    )
    sampler = build_sampler(settings)
    stop = threading.Event()

    sampler.start()
    worker = threading.Thread(target=sampler.run, args=(stop,))
    worker.start()
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-c", WORKLOAD])
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.monotonic() - started
    true_cpu = usage.ru_utime + usage.ru_stime
    stop.set()
    worker.join()
    sampler.finish()
    summary = sampler.summary()

    runner = summary.containers[0]
    figures = (
        {f.pid: f for f in sampler.processes.figures()} if sampler.processes else {}
    )
    baseline = sampler.series["runner"].memory[0]
    assert os.waitstatus_to_exitcode(status) == 0
    assert runner.name == "runner"
    # The runner's cgroup may hold more than this test (here, the whole
    # machine's CPU), so its CPU is only bounded from below.
    used = runner.cpu_cores.avg * summary.duration_seconds
    assert used >= 1.5 * 0.9
    assert 190 * MiB <= runner.memory_bytes.peak - baseline <= 280 * MiB
    workload = figures[child.pid]
    assert 200 * MiB <= workload.peak_memory_bytes <= 240 * MiB
    # The last sighting is at most one interval before the exit, while the
    # workload sleeps, so psutil saw nearly all of the CPU the kernel counted.
    assert true_cpu >= 1.5
    assert true_cpu - 0.15 <= workload.cpu_seconds <= true_cpu
    assert 40 <= workload.peak_cpu_percent <= 110
    assert 0 < workload.avg_cpu_percent <= workload.peak_cpu_percent
    assert elapsed >= 1.5
    listed = summary.processes or ()
    assert 1 <= len(listed) <= 50
    assert any(p.peak_memory_bytes >= 200 * MiB for p in listed)
    assert sampler.container_of(workload.cgroup_path) == "runner"
