"""Fixtures of the end-to-end tests: the receiver under gunicorn, job cgroups.

``served_receiver`` runs ``cisizer-server serve`` as a process of its own on
the emptied ``db_url`` (SQLite, then PostgreSQL), as an operator would.

``job_cgroups`` makes a fresh cgroup per job, standing for the container a
runner pod gives the agent: the agent and its workload are moved into it, so
what the agent measures as its own container is that job alone, not the
machine's other load.  Making one needs write access to the cgroup tree
(root, in practice); where that is missing the factory gives ``None`` and the
tests check what does not depend on it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import httpx
import pytest

READ_TOKEN = "e2e-read-token-" + "r" * 16
HMAC_KEY = "e2e-hmac-key-" + "k" * 32

# Limits written into each job cgroup, as a runner pod's container has them.
JOB_CPU_LIMIT_CORES = 2
JOB_MEMORY_LIMIT_BYTES = 1024**3
# A pod's CPU request becomes its cgroup's CPU weight, which keeps the pod its
# share of a busy node.  The machine's other processes have the default weight
# (1024 in v1, 100 in v2) each; ten times that gives the job the core its
# workload asks for while others load the machine, and leaves them the rest.
JOB_CPU_SHARES = 10 * 1024
JOB_CPU_WEIGHT = 10 * 100


def installed_command(name: str, module: str) -> list[str]:
    """Return the console script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name(name)
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", module]


def clean_environment() -> dict[str, str]:
    """Return this process's environment without CI Sizer or CI job variables."""
    prefixes = ("CISIZER_", "GITHUB_", "GITLAB_", "CI_", "RUNNER_", "FORGEJO_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


@attrs.frozen
class ServedReceiver:
    """A receiver serving under gunicorn, with the read token it accepts."""

    url: str
    db_url: str
    read_token: str
    log: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served_receiver(db_url: str, tmp_path: Path) -> Iterator[ServedReceiver]:
    """`cisizer-server serve` with two workers on ``db_url``, on a loopback port."""
    port = _free_port()
    log = tmp_path / "serve.log"
    command = [
        *installed_command("cisizer-server", "cisizer.server"),
        "serve",
        "--db-url",
        db_url,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--read-token",
        READ_TOKEN,
        "--hmac-key",
        HMAC_KEY,
        "--log-level",
        "warning",
    ]
    with log.open("wb") as output:
        # A file, not a pipe: a pipe nobody reads fills up and stalls the server.
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=output,
            env=clean_environment(),
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(timeout=30)
            pytest.fail(f"cisizer-server serve did not start: {log.read_text()}")
        time.sleep(0.1)

    yield ServedReceiver(url, db_url, READ_TOKEN, log)

    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


@attrs.frozen
class JobCgroup:
    """A cgroup made for one job: a directory per hierarchy the agent reads.

    ``cpu_limit_cores`` and ``memory_limit_bytes`` are the limits written into
    it, ``None`` where the hierarchy took none.
    """

    directories: tuple[Path, ...]
    cpu_limit_cores: float | None
    memory_limit_bytes: int | None

    def enter(self) -> None:
        """Move the calling process into the cgroup (a ``preexec_fn``)."""
        for directory in self.directories:
            (directory / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        """Move processes still inside back to the parent, then remove it."""
        for directory in self.directories:
            for _ in range(50):
                for pid in (directory / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        (directory.parent / "cgroup.procs").write_text(pid)
                try:
                    directory.rmdir()
                    break
                except OSError as error:
                    if error.errno != errno.EBUSY:
                        raise
                time.sleep(0.02)


def _own_directories() -> tuple[int, list[Path]] | None:
    """Return the cgroup version the agent reads and the own cgroup's directories.

    The agent's own rules find them, so that the job cgroup sits where the
    agent will look for its container.
    """
    from cisizer.agent._cgroup import find_layout, parse_proc_cgroup

    layout = find_layout()
    if layout is None:
        return None
    paths = parse_proc_cgroup(Path("/proc/self/cgroup").read_text())
    if layout.version == 2:
        own = Path(layout.mounts[""].directory(paths.get("", "/")))
        # Only a cgroup without processes, or the root one, can hand the
        # memory controller to a child; this test's process is in its own.
        if "memory" not in (own / "cgroup.subtree_control").read_text().split():
            return None
        return 2, [own]
    if not {"cpuacct", "memory"} <= set(layout.mounts):
        return None
    directories = []
    for controller in ("cpu", "cpuacct", "memory"):
        mount = layout.mounts.get(controller)
        if mount is not None:
            directory = Path(mount.directory(paths.get(controller, "/")))
            if directory not in directories:
                directories.append(directory)
    return 1, directories


def _configure(version: int, directory: Path) -> set[str]:
    """Give a job cgroup a runner pod's weight and limits; return the files written."""
    period = 100_000
    if version == 2:
        files = {
            "cpu.weight": str(JOB_CPU_WEIGHT),
            "cpu.max": f"{JOB_CPU_LIMIT_CORES * period} {period}",
            "memory.max": str(JOB_MEMORY_LIMIT_BYTES),
        }
    else:
        files = {
            "cpu.shares": str(JOB_CPU_SHARES),
            "cpu.cfs_period_us": str(period),
            "cpu.cfs_quota_us": str(JOB_CPU_LIMIT_CORES * period),
            "memory.limit_in_bytes": str(JOB_MEMORY_LIMIT_BYTES),
        }
    written = set()
    for name, value in files.items():
        if (directory / name).exists():
            (directory / name).write_text(value)
            written.add(name)
    return written


def make_job_cgroup(name: str) -> JobCgroup | None:
    """Create a cgroup for one job below the own one; ``None`` where not allowed."""
    try:
        found = _own_directories()
    except OSError:
        found = None
    if found is None:
        return None
    version, parents = found
    created: list[Path] = []
    written: set[str] = set()
    try:
        for parent in parents:
            directory = parent / name
            directory.mkdir()
            created.append(directory)
            written |= _configure(version, directory)
    except OSError:
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                directory.rmdir()
        return None
    cgroup = JobCgroup(
        tuple(created),
        cpu_limit_cores=float(JOB_CPU_LIMIT_CORES)
        if written & {"cpu.max", "cpu.cfs_quota_us"}
        else None,
        memory_limit_bytes=JOB_MEMORY_LIMIT_BYTES
        if written & {"memory.max", "memory.limit_in_bytes"}
        else None,
    )
    try:
        # Moving a process in may still be refused (delegation rules).
        subprocess.run(["true"], preexec_fn=cgroup.enter, check=True)
    except (OSError, subprocess.SubprocessError):
        cgroup.remove()
        return None
    return cgroup


@pytest.fixture
def job_cgroups() -> Iterator[Callable[[], JobCgroup | None]]:
    """Make a fresh cgroup per job on demand; all are removed after the test."""
    made: list[JobCgroup] = []
    prefix = f"cisizer-e2e-{os.getpid()}-{secrets.token_hex(3)}"

    def make() -> JobCgroup | None:
        cgroup = make_job_cgroup(f"{prefix}-{len(made)}")
        if cgroup is not None:
            made.append(cgroup)
        return cgroup

    yield make
    for cgroup in made:
        cgroup.remove()
