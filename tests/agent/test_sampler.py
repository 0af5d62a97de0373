"""The sampler's summary from a fake cgroup whose files change between samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cisizer.agent import Sampler, SourceError
from cisizer.agent._cgroup import CgroupV2Container, Counters, Limits
from cisizer.core import Limits as WireLimits

from .test_cgroup import MiB, v2_tree


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def set_values(directory: Path, *, usage_s: float, memory: int, oom: int = 1) -> None:
    (directory / "cpu.stat").write_text(
        f"usage_usec {int(usage_s * 1e6)}\nnr_throttled 1\nthrottled_usec 1500000\n"
    )
    (directory / "memory.current").write_text(f"{memory}\n")
    (directory / "memory.events").write_text(f"oom 0\noom_kill {oom}\n")


def test_summary_from_changing_fake_cgroup(tmp_path: Path) -> None:
    """CPU rates, working-set statistics, OOM delta and limits come out exact."""
    directory = v2_tree(tmp_path / "job", **{"memory.stat": "inactive_file 0"})
    clock = Clock()
    # usage in CPU seconds and memory per sample; one sample per second.
    steps = [(10.0, 100), (10.5, 200), (12.5, 300), (13.0, 200)]
    set_values(directory, usage_s=steps[0][0], memory=steps[0][1] * MiB)
    sampler = Sampler(
        [CgroupV2Container("runner", str(directory))], system_cpu=None, clock=clock
    )

    sampler.start()
    for usage, memory in steps[1:-1]:
        clock.now += 1
        set_values(directory, usage_s=usage, memory=memory * MiB)
        sampler.tick()
    clock.now += 1
    set_values(directory, usage_s=steps[-1][0], memory=steps[-1][1] * MiB, oom=3)
    (directory / "memory.peak").write_text(f"{350 * MiB}\n")
    sampler.finish()
    summary = sampler.summary()

    (runner,) = summary.containers
    assert summary.sample_count == 4
    assert summary.duration_seconds == 3.0
    assert runner.cpu_cores.peak == 2.0
    assert runner.cpu_cores.avg == 1.0
    assert runner.cpu_cores.p50 == 0.5
    assert runner.memory_bytes.peak == 350 * MiB
    assert runner.memory_bytes.avg == 200 * MiB
    assert runner.oom_kills == 2
    assert runner.cpu_throttled_seconds == 0.0
    assert runner.limits == WireLimits(cpu_cores=2.0, memory_bytes=1024 * MiB)


def test_kernel_peak_from_before_the_job_is_ignored(tmp_path: Path) -> None:
    """A memory.peak that did not rise during the job is not the job's peak."""
    directory = v2_tree(tmp_path / "job", **{"memory.stat": "inactive_file 0"})
    (directory / "memory.peak").write_text(f"{900 * MiB}\n")
    clock = Clock()
    set_values(directory, usage_s=1.0, memory=100 * MiB)
    sampler = Sampler(
        [CgroupV2Container("runner", str(directory))], system_cpu=None, clock=clock
    )

    sampler.start()
    clock.now += 1
    sampler.finish()

    assert sampler.summary().containers[0].memory_bytes.peak == 100 * MiB


class Flaky:
    """A container whose second read fails."""

    name = "flaky"
    source = "test"
    match_path = "/flaky"

    def __init__(self) -> None:
        self.reads = 0

    def sample(self) -> tuple[int, int]:
        self.reads += 1
        if self.reads == 2:
            raise SourceError("file vanished")
        return self.reads * 1_000_000_000, 10 * MiB

    def counters(self) -> Counters:
        return Counters()

    def limits(self) -> Limits:
        return Limits()


class LateReader(Flaky):
    """One busy core, whose reads are held up by ``delays`` seconds in turn.

    The hold-up comes before the counter is read, as when the sampler thread
    is pre-empted on a loaded machine.
    """

    def __init__(self, clock: Clock, delays: list[float]) -> None:
        super().__init__()
        self.clock = clock
        self.delays = delays

    def sample(self) -> tuple[int, int]:
        self.clock.now += self.delays.pop(0) if self.delays else 0.0
        return round(self.clock.now * 1e9), 10 * MiB


def test_a_late_reading_is_dated_when_it_was_taken() -> None:
    """A read held up by 0.4 s does not pass for 1.4 cores of a 1-core job.

    Dating the reading at the tick would put 1.4 s of CPU into the 1 s since
    the last one.  The sampler dates it between the clock readings around it,
    which bounds the error by half the hold-up.
    """
    clock = Clock()
    sampler = Sampler([LateReader(clock, [0, 0, 0.4, 0])], system_cpu=None, clock=clock)

    sampler.start()
    for _ in range(3):
        clock.now = round(clock.now) + 1
        sampler.tick()
    sampler.finish()
    cpu = sampler.summary().containers[0].cpu_cores

    assert cpu.peak == pytest.approx(1.4 / 1.2, abs=1e-4)
    assert cpu.avg == pytest.approx(1.0, abs=0.07)


def test_failing_read_is_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sample that cannot be read is skipped and logged; the rest still counts."""
    clock = Clock()
    sampler = Sampler([Flaky()], system_cpu=None, clock=clock)

    sampler.start()
    for _ in range(2):
        clock.now += 1
        sampler.tick()
    sampler.finish()
    summary = sampler.summary()

    assert sampler.sample_count == 3
    assert summary.containers[0].cpu_cores.peak == 1.0
    assert summary.containers[0].limits is None
    assert "skipped a sample of flaky (test): file vanished" in caplog.text


def test_system_cpu_percent_from_jiffies() -> None:
    """cpu_total_percent is busy over total jiffies between samples."""
    readings = iter([(100, 1000), (150, 1100), (250, 1200)])
    clock = Clock()
    sampler = Sampler([Flaky()], system_cpu=lambda: next(readings), clock=clock)

    sampler.start()
    clock.now += 1
    sampler.tick()
    clock.now += 1
    sampler.finish()
    stats = sampler.summary().cpu_total_percent

    assert stats is not None
    assert (stats.peak, stats.avg, stats.p50) == (100.0, 75.0, 75.0)


def test_unwritable_spool_falls_back_to_temp_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spool path that cannot be a directory does not cost the summary."""
    from cisizer.agent import Identity, Settings
    from cisizer.agent._job import spool_summary

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    clock = Clock()
    sampler = Sampler([Flaky()], system_cpu=None, clock=clock)
    sampler.start()
    clock.now += 1
    identity = Identity("acme", "acme/widgets", "ci.yml", "build", "7")

    path = spool_summary(
        Settings(spool_dir=blocked / "spool"), identity, "success", sampler
    )

    assert path.parent == tmp_path / "tmp" / "cisizer-agent-spool"
    assert json.loads(path.read_text())["push"]["run_id"] == "7"
