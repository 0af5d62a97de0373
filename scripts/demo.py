"""Run CI Sizer's main job end to end on this machine.

Starts a receiver on an embedded SQLite file, asks it for a push token,
runs a real workload three times under ``cisizer-agent run`` (each run
pushes one summary), then prints the sizing the receiver recommends for
the next run of that job.  Everything lives in a temporary directory and
the receiver is stopped at the end.

Run it with ``nox -s demo``, or directly once the four distributions are
installed: ``python scripts/demo.py``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from cisizer.client import Client

ORG, REPO, WORKFLOW, JOB = "demo-org", "demo-repo", "demo.yml", "build"
RUNS = 3

# Real work for the agent to measure: hash a growing buffer on one core,
# holding about 160 MiB at the peak, for about three seconds.
WORKLOAD = """
import hashlib, time
chunks = []
deadline = time.monotonic() + 3.0
while time.monotonic() < deadline:
    if len(chunks) < 160:
        chunks.append(bytearray(1024 * 1024))
    hashlib.sha256(bytes(chunks[-1])).hexdigest()
print(f"workload held {len(chunks)} MiB")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _command(name: str) -> str:
    # Prefer the scripts installed beside this interpreter (a nox venv).
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        sys.exit(f"demo: {name} is not installed; run `nox -s demo`")
    return found


def _wait_until_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("demo: the receiver exited during start-up")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit("demo: the receiver did not answer /health within 30 s")


@contextlib.contextmanager
def _job_cgroup() -> Iterator[Callable[[], None] | None]:
    """Yield a hook that moves a child process into a cgroup of its own.

    A runner pod gives the agent a container to measure.  Here, the agent's
    own cgroup would also hold the receiver and whatever else runs on the
    machine, so the demo makes a fresh cgroup for the agent and its workload
    when it may (root on cgroup v1), and yields ``None`` otherwise.
    """
    root = Path("/sys/fs/cgroup")
    name = f"cisizer-demo-{os.getpid()}"
    created: list[Path] = []
    covered: set[str] = set()
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if not {"cpuacct", "memory"} & set(controllers.split(",")):
                continue
            directory = root / controllers / path.lstrip("/") / name
            directory.mkdir()
            created.append(directory)
            covered.update(controllers.split(","))
    except OSError:
        pass
    if not {"cpuacct", "memory"} <= covered:
        for directory in created:
            directory.rmdir()
        yield None
        return

    def enter() -> None:
        for directory in created:
            (directory / "cgroup.procs").write_text(str(os.getpid()))

    try:
        yield enter
    finally:
        for directory in created:
            with contextlib.suppress(OSError):
                directory.rmdir()


def _explain_newest_run(url: str, read_token: str, *, isolated: bool) -> None:
    with Client(url, read_token) as client:
        (newest,) = client.job_metrics(ORG, REPO, WORKFLOW, JOB, limit=1)
    summary = newest.payload
    runner = summary.containers[0]
    print(
        f"demo: run {newest.run_id} took {summary.duration_seconds:.1f} s; "
        f"container {runner.name!r} peaked at {runner.cpu_cores.peak:.2f} cores "
        f"and {runner.memory_bytes.peak / 2**20:.0f} MiB",
        flush=True,
    )
    in_runner = [p for p in summary.processes or () if p.container == runner.name]
    for process in in_runner[:3]:
        print(
            f"demo:   process {process.name}: peak "
            f"{process.peak_cpu_percent:.0f} % of a core, "
            f"{process.peak_memory_bytes / 2**20:.0f} MiB",
            flush=True,
        )
    if isolated:
        print(
            "demo: the runner container is a cgroup made for the agent and its "
            "workload, as a runner pod's container would be",
            flush=True,
        )
    else:
        print(
            "demo: the runner container is the agent's own cgroup; outside a pod "
            "that may be the whole machine, so other work here counts too",
            flush=True,
        )


def main() -> int:
    """Start a receiver, measure three runs of a workload, print the sizing."""
    workdir = Path(tempfile.mkdtemp(prefix="cisizer-demo-"))
    url = f"http://127.0.0.1:{_free_port()}"
    env = {
        **os.environ,
        "CISIZER_URL": url,
        "CISIZER_READ_TOKEN": secrets.token_urlsafe(24),
        "CISIZER_HMAC_KEY": secrets.token_urlsafe(48),
        "CISIZER_DB_URL": f"sqlite:///{workdir / 'cisizer.db'}",
        "CISIZER_BIND": url.removeprefix("http://"),
        "CISIZER_WORKERS": "1",
        "CISIZER_SPOOL_DIR": str(workdir / "spool"),
    }
    print(f"demo: receiver on {url}, data in {workdir}", flush=True)
    server = subprocess.Popen(
        [_command("cisizer-server"), "serve", "--log-level", "warning"], env=env
    )
    try:
        _wait_until_healthy(url, server)
        token = subprocess.run(
            [_command("cisizer"), "token", ORG, REPO, WORKFLOW, JOB],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        env["CISIZER_PUSH_TOKEN"] = token
        with _job_cgroup() as enter_cgroup:
            _measure_runs(env, enter_cgroup)
        _explain_newest_run(
            url, env["CISIZER_READ_TOKEN"], isolated=enter_cgroup is not None
        )
        print("demo: sizing for the next run", flush=True)
        return subprocess.run(
            [_command("cisizer"), "sizing", ORG, REPO, WORKFLOW, JOB], env=env
        ).returncode
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


def _measure_runs(env: dict[str, str], enter_cgroup: Callable[[], None] | None) -> None:
    for run in range(1, RUNS + 1):
        print(f"demo: run {run} of {RUNS} under cisizer-agent", flush=True)
        subprocess.run(
            [
                _command("cisizer-agent"),
                "run",
                "--organization",
                ORG,
                "--repository",
                REPO,
                "--workflow",
                WORKFLOW,
                "--job",
                JOB,
                "--run-id",
                f"demo-{run}",
                "--runner",
                socket.gethostname(),
                "--interval",
                "0.25",
                "--no-docker",
                "--",
                sys.executable,
                "-c",
                WORKLOAD,
            ],
            env=env,
            check=True,
            preexec_fn=enter_cgroup,
        )


if __name__ == "__main__":
    sys.exit(main())
