"""The main job end to end, every part real: agent, workload, receiver, client.

``cisizer-agent run`` wraps a Python workload that holds a known amount of
written memory and keeps one core busy for a known CPU time, then exits
with a chosen code.  The agent pushes its summary to ``cisizer-server serve``
(gunicorn, on SQLite and on PostgreSQL); the client reads the runs back and
asks for sizing, energy and pass/fail counts, which must agree with the
core's sizing and DESIGN §6 applied to what was stored.

Each job runs in a fresh cgroup where the machine allows it (see
``job_cgroups``), so the agent's container is that job alone, as in a runner
pod.  Otherwise the agent's container is shared with whatever else runs
here; its figures are then only checked to hold the workload, and the
workload's own process figures, which no other load touches, carry the
checks of what it used.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from cisizer.client import Client
from cisizer.core import (
    ContainerSummary,
    CpuPercentile,
    MemoryQoS,
    ProcessSummary,
    Push,
    Run,
    RunStatus,
    SizingParams,
    Summary,
    compute_sizing,
    converter,
)

from .conftest import (
    JobCgroup,
    ServedReceiver,
    clean_environment,
    installed_command,
)

# About 10 s per database: two runs keep a core busy for 3 s each.
pytestmark = pytest.mark.slow

MIB = 1024**2
GIB = 1024**3
ORG, REPO, WORKFLOW, JOB = "acme", "widgets", "ci.yml", "build"
WORKLOAD_NAME = "e2e-workload"
INTERVAL_SECONDS = 0.5

# Writes MIB MiB (so every page is resident), keeps one core busy until it
# has used SECONDS of CPU, idles IDLE seconds, then reports on standard output
# its CPU time, the busy loop's CPU and wall time, and its peak resident
# memory as the kernel counted it, and exits with CODE.
WORKLOAD = """
import json, sys, time
mib, seconds, idle, code = sys.argv[1:]
block = b"\\x01" * (int(mib) * 1024 * 1024)
wall, cpu = time.monotonic(), time.process_time()
while time.process_time() - cpu < float(seconds):
    pass
burn = {"cpu": time.process_time() - cpu, "wall": time.monotonic() - wall}
time.sleep(float(idle))
with open("/proc/self/status") as status:
    fields = dict(line.split(":", 1) for line in status)
rss_peak = int(fields["VmHWM"].split()[0]) * 1024
report = {"burn": burn, "cpu_seconds": time.process_time(), "rss_peak": rss_peak}
print(json.dumps(report))
sys.exit(int(code))
"""


@attrs.frozen
class Job:
    """One run of the workload: what it writes and burns, and how it exits."""

    run_id: str
    mib: int
    cpu_seconds: float
    idle_seconds: float
    exit_code: int


# Two busy runs around a baseline: the same interpreter doing nothing.  Exit
# codes 0, 0, 1 make two passed runs and one failed.
BUSY = Job("run-1", 200, 3.0, 0.0, 0)
BASELINE = Job("run-2", 0, 0.0, 1.0, 0)
BUSY_FAILING = Job("run-3", 200, 3.0, 0.0, 1)
JOBS = (BUSY, BASELINE, BUSY_FAILING)

# DESIGN §6, the receiver's default profile (Cloud Carbon Footprint's AWS
# averages), written out here rather than taken from the core.
CPU_MIN_W, CPU_MAX_W, MEM_W_PER_GIB, PUE = 0.74, 3.5, 0.392, 1.135
GRID_G_PER_KWH, EMBODIED_G_PER_CORE_HOUR = 475.0, 0.48


@attrs.frozen
class Measured:
    """A finished job: the agent's output, the workload's report, its cgroup."""

    job: Job
    returncode: int
    stderr: str
    report: dict[str, Any]
    cgroup: JobCgroup | None


def _run_under_agent(
    job: Job, url: str, token: str, workdir: Path, cgroup: JobCgroup | None
) -> Measured:
    workload = workdir / WORKLOAD_NAME
    if not workload.exists():
        # Named by its executable, the workload has its name in the agent's
        # process list from the first sample on.
        workload.symlink_to(sys.executable)
    env = clean_environment()
    env.update(CISIZER_URL=url, CISIZER_PUSH_TOKEN=token)
    command = [
        *installed_command("cisizer-agent", "cisizer.agent"),
        "run",
        *("--organization", ORG, "--repository", REPO),
        *("--workflow", WORKFLOW, "--job", JOB),
        *("--run-id", job.run_id, "--runner", "e2e-runner"),
        *("--interval", str(INTERVAL_SECONDS), "--no-docker"),
        # Processes are ranked machine-wide by peak CPU: room for other
        # people's busy ones keeps the workload in the list.
        *("--top-processes", "50"),
        *("--spool-dir", str(workdir / f"spool-{job.run_id}")),
        "--",
        str(workload),
        "-c",
        WORKLOAD,
        *(str(job.mib), str(job.cpu_seconds), str(job.idle_seconds)),
        str(job.exit_code),
    ]

    done = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=None if cgroup is None else cgroup.enter,
    )

    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Measured(job, done.returncode, done.stderr, report, cgroup)


@pytest.fixture
def measured(
    served_receiver: ServedReceiver,
    job_cgroups: Callable[[], JobCgroup | None],
    tmp_path: Path,
) -> dict[str, Measured]:
    """The three jobs, one after the other, each under the agent in its cgroup."""
    with Client(served_receiver.url, served_receiver.read_token) as client:
        token = client.create_push_token(ORG, REPO, WORKFLOW, JOB).token
    return {
        job.run_id: _run_under_agent(
            job, served_receiver.url, token, tmp_path, job_cgroups()
        )
        for job in JOBS
    }


def _runner(run: Run) -> ContainerSummary:
    (container,) = run.payload.containers
    assert container.name == "runner"
    return container


def _workload(run: Run) -> ProcessSummary:
    (process,) = [p for p in run.payload.processes or () if p.name == WORKLOAD_NAME]
    return process


def _used_core_seconds(run: Run) -> float:
    cpu = _runner(run).cpu_cores
    assert cpu.avg is not None
    return cpu.avg * run.payload.duration_seconds


def test_main_job(
    served_receiver: ServedReceiver, measured: dict[str, Measured]
) -> None:
    """The agent's summaries of a known workload come back right, sized and priced."""
    for job in JOBS:
        done = measured[job.run_id]
        assert done.returncode == job.exit_code, done.stderr
        assert "summary delivered" in done.stderr, done.stderr

    with Client(served_receiver.url, served_receiver.read_token) as client:
        stored = client.job_metrics(ORG, REPO, WORKFLOW, JOB)
        runs = {run.run_id: run for run in stored}
        assert [run.run_id for run in stored] == ["run-3", "run-2", "run-1"]

        _check_memory(runs, measured)
        _check_cpu(runs, measured)
        _check_sizing(client, stored)
        _check_energy(client, stored)
        _check_pass_fail(client)
        _check_repeated_push(served_receiver, client, runs[BUSY.run_id])


def _check_memory(runs: dict[str, Run], measured: dict[str, Measured]) -> None:
    """Peaks above the idle interpreter's are what the workload wrote, within 10 %."""
    written = BUSY.mib * MIB
    # The idle workload is not among the busiest processes the agent lists,
    # so its own report of its peak is the interpreter's baseline.
    idle_process = measured[BASELINE.run_id].report["rss_peak"]
    idle_container = _runner(runs[BASELINE.run_id]).memory_bytes.peak

    for job in (BUSY, BUSY_FAILING):
        run, cgroup = runs[job.run_id], measured[job.run_id].cgroup
        runner = _runner(run)
        above = _workload(run).peak_memory_bytes - idle_process
        assert above == pytest.approx(written, rel=0.10), f"{above / MIB:.1f} MiB"
        # Whatever else it holds, the agent's container holds the workload.
        assert runner.memory_bytes.peak >= written
        if cgroup is None:
            continue
        above = runner.memory_bytes.peak - idle_container
        assert above == pytest.approx(written, rel=0.10), f"{above / MIB:.1f} MiB"
        assert runner.limits is not None
        assert runner.limits.memory_bytes == cgroup.memory_limit_bytes


def _check_cpu(runs: dict[str, Run], measured: dict[str, Measured]) -> None:
    """One busy core peaks at about one core; its CPU time shows as used."""
    idle = measured[BASELINE.run_id]
    idle_used = _used_core_seconds(runs[BASELINE.run_id])

    for job in (BUSY, BUSY_FAILING):
        run, done = runs[job.run_id], measured[job.run_id]
        burn = done.report["burn"]
        # What the busy loop got of a core on average, as it saw it; on a
        # loaded machine without a cgroup of its own that is below one.
        got = min(1.0, burn["cpu"] / burn["wall"])
        peak_percent = _workload(run).peak_cpu_percent
        runner = _runner(run)
        assert burn["cpu"] >= job.cpu_seconds
        assert 90 * got <= peak_percent <= 110, f"got {got:.3f} of a core"
        assert _used_core_seconds(run) >= 0.9 * burn["cpu"]
        if done.cgroup is None:
            continue
        burned = done.report["cpu_seconds"] - idle.report["cpu_seconds"]
        used = _used_core_seconds(run) - idle_used
        assert 0.9 * got <= runner.cpu_cores.peak <= 1.1, f"got {got:.3f} of a core"
        assert used == pytest.approx(burned, rel=0.10)
        assert runner.limits is not None
        assert runner.limits.cpu_cores == done.cgroup.cpu_limit_cores


def _check_sizing(client: Client, stored: list[Run]) -> None:
    """The receiver's sizing is the core's sizing of the runs it returned."""
    newest_first = sorted(stored, key=lambda run: run.payload.end_time, reverse=True)
    history: list[Summary] = [
        run.payload for run in newest_first if run.status is not RunStatus.CANCELLED
    ]
    tuned = SizingParams(
        runs=2,
        buffer_percent=50,
        cpu_percentile=CpuPercentile.PEAK,
        memory_qos=MemoryQoS.BURSTABLE,
    )

    default = client.sizing(ORG, REPO, WORKFLOW, JOB)
    asked = client.sizing(
        ORG,
        REPO,
        WORKFLOW,
        JOB,
        runs=tuned.runs,
        buffer=tuned.buffer_percent,
        cpu_percentile=tuned.cpu_percentile,
        memory_qos=tuned.memory_qos,
    )

    as_json = converter.unstructure
    assert as_json(default) == as_json(compute_sizing(history, SizingParams()))
    assert as_json(asked) == as_json(compute_sizing(history, tuned))
    assert default.meta.runs_analyzed == 3
    assert asked.meta.runs_analyzed == 2
    (runner,) = default.containers
    peaks = [summary.containers[0].memory_bytes.peak for summary in history]
    assert runner.memory.limit_bytes > max(peaks)


def _check_energy(client: Client, stored: list[Run]) -> None:
    """Energy and carbon are DESIGN §6's formula over the stored figures."""
    used_hours = allocated_hours = gib_hours = energy_wh = carbon_g = 0.0
    for run in stored:
        hours = run.payload.duration_seconds / 3600
        for container in run.payload.containers:
            limits = container.limits
            cores = container.cpu_cores.peak
            if limits is not None and limits.cpu_cores is not None:
                cores = limits.cpu_cores
            held = container.memory_bytes.peak
            if limits is not None and limits.memory_bytes is not None:
                held = limits.memory_bytes
            used = container.cpu_cores.avg
            assert used is not None
            watts = (
                cores * CPU_MIN_W
                + used * (CPU_MAX_W - CPU_MIN_W)
                + held / GIB * MEM_W_PER_GIB
            )
            wh = watts * hours * PUE
            used_hours += used * hours
            allocated_hours += cores * hours
            gib_hours += held / GIB * hours
            energy_wh += wh
            carbon_g += wh / 1000 * GRID_G_PER_KWH + cores * hours * (
                EMBODIED_G_PER_CORE_HOUR
            )

    estimate = client.energy(ORG, REPO, WORKFLOW, JOB)

    assert estimate.runs == 3
    assert estimate.profile == "aws"
    assert estimate.cpu_core_hours == pytest.approx(used_hours, rel=1e-9)
    assert estimate.allocated_core_hours == pytest.approx(allocated_hours, rel=1e-9)
    assert estimate.memory_gib_hours == pytest.approx(gib_hours, rel=1e-9)
    assert estimate.energy_wh == pytest.approx(energy_wh, rel=1e-9)
    assert estimate.carbon_g == pytest.approx(carbon_g, rel=1e-9)


def _check_pass_fail(client: Client) -> None:
    """Exit codes 0, 0 and 1 are two passed runs and one failed."""
    stats = client.success_failure_stats(ORG, REPO, WORKFLOW, JOB)

    counts = {entry.status: entry.count for entry in stats.statuses if entry.count}
    assert stats.total == 3
    assert counts == {RunStatus.SUCCESS: 2, RunStatus.FAILURE: 1}
    assert stats.success_rate == pytest.approx(2 / 3)


def _check_repeated_push(receiver: ServedReceiver, client: Client, run: Run) -> None:
    """Pushing a stored run again answers the stored row and adds none."""
    token = client.create_push_token(ORG, REPO, WORKFLOW, JOB).token
    push = Push(
        organization=run.organization,
        repository=run.repository,
        workflow=run.workflow,
        job=run.job,
        run_id=run.run_id,
        run_attempt=run.run_attempt,
        runner=run.runner,
        status=run.status,
        payload=run.payload,
    )

    again = client.push_metrics(push, token=token)
    answer = httpx.post(
        f"{receiver.url}/api/v1/metrics",
        json=converter.unstructure(push),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )

    assert again == run
    assert answer.status_code == 200
    assert answer.json()["id"] == run.id
    assert len(client.job_metrics(ORG, REPO, WORKFLOW, JOB)) == 3
    assert len(client.debug_metrics()) == 3
