"""Run CI Sizer's main job end to end on this machine.

Starts a receiver on an embedded SQLite database on a free port, asks it
for a push token with the ``cisizer`` command line, then runs real work
three times under ``cisizer-agent run``: each run byte-compiles the
standard library in parallel processes and pushes one summary.  Finally it
prints, per container, what was observed (the CPU statistic the sizing
uses and the CPU peak, the memory peak), the recommended requests and
limits, the confidence, and the energy and carbon estimate; then the one
command that serves the same database again, to browse it at ``/swagger``.

The database is kept in ``.cisizer-demo/`` of the current directory (or
``$CISIZER_DEMO_DIR``) and started afresh on every run of the demo.

Run it with ``nox -s demo``, or directly once the four distributions are
installed: ``python scripts/demo.py``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx

from cisizer.client import Client
from cisizer.core import Run, Sizing, estimate_energy

ORG, REPO, WORKFLOW, JOB = "demo-org", "demo-repo", "ci.yml", "compile-stdlib"
RUNS = 3
STAGES = RUNS + 3
MIB = 2**20
GIB = 2**30


def _workload(pycache: Path) -> list[str]:
    """Return the real work to measure: byte-compile the standard library.

    ``compileall -j 0`` spreads the modules over one process per core;
    ``-f`` recompiles everything on every run, into a cache of the demo's
    own (``PYTHONPYCACHEPREFIX``), so the interpreter's files stay as they
    are.  Test packages are left out: some hold deliberately broken files.
    """
    stdlib = sysconfig.get_paths()["stdlib"]
    return [
        sys.executable,
        "-W",
        "ignore",
        "-X",
        f"pycache_prefix={pycache}",
        "-m",
        "compileall",
        "-q",
        "-f",
        "-j",
        "0",
        "-x",
        r"[/\\](site-packages|dist-packages|test|tests|idle_test)[/\\]",
        stdlib,
    ]


def _stage(number: int, text: str) -> None:
    print(f"demo [{number}/{STAGES}] {text}", flush=True)


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
            sys.exit("demo: the receiver exited during start-up (its log is above)")
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


def _measure_runs(
    env: dict[str, str], workdir: Path, enter_cgroup: Callable[[], None] | None
) -> None:
    workload = _workload(workdir / "pycache")
    for run in range(1, RUNS + 1):
        _stage(
            2 + run,
            f"run {run} of {RUNS}: cisizer-agent run -- python -m compileall "
            f"(the standard library, one process per core)",
        )
        started = time.monotonic()
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
                *workload,
            ],
            env=env,
            check=True,
            preexec_fn=enter_cgroup,
        )
        shutil.rmtree(workdir / "pycache", ignore_errors=True)
        print(
            f"demo        measured and pushed in {time.monotonic() - started:.1f} s",
            flush=True,
        )


def _report(runs: Sequence[Run], sizing: Sizing, profile: str) -> str:
    """Return, per container, what was observed, recommended and spent."""
    percentile = str(sizing.meta.cpu_percentile)
    headers = (
        "container",
        f"cpu {percentile}",
        "cpu peak",
        "memory peak",
        "cpu request",
        "cpu limit",
        "memory request",
        "memory limit",
        "energy",
        "carbon",
    )
    rows: list[tuple[str, ...]] = []
    for container in sizing.containers:
        seen = [
            c
            for run in runs
            for c in run.payload.containers
            if c.name == container.name
        ]
        statistic = max(
            getattr(c.cpu_cores, percentile, None) or c.cpu_cores.peak for c in seen
        )
        used = allocated = gib = 0.0
        for run in runs:
            for c in run.payload.containers:
                if c.name != container.name:
                    continue
                seconds = run.payload.duration_seconds
                limits = c.limits
                cores = limits.cpu_cores if limits and limits.cpu_cores else None
                held = limits.memory_bytes if limits and limits.memory_bytes else None
                used += c.cpu_cores.avg * seconds
                allocated += (cores or c.cpu_cores.peak) * seconds
                gib += (held or c.memory_bytes.peak) / GIB * seconds
        energy = estimate_energy(
            runs=len(runs),
            used_core_seconds=used,
            allocated_core_seconds=allocated,
            memory_gib_seconds=gib,
            profile=profile,
        )
        cpu_limit = container.cpu.limit + (
            "" if container.cpu.enforced else " (advice)"
        )
        rows.append(
            (
                container.name,
                f"{statistic:.2f} cores",
                f"{max(c.cpu_cores.peak for c in seen):.2f} cores",
                f"{max(c.memory_bytes.peak for c in seen) / MIB:.0f} MiB",
                container.cpu.request,
                cpu_limit,
                container.memory.request,
                container.memory.limit,
                f"{energy.energy_wh:.3f} Wh",
                f"{energy.carbon_g:.3f} g",
            )
        )
    widths = [max(len(row[i]) for row in (headers, *rows)) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in (tuple(h.upper() for h in headers), *rows)
    ]
    return "\n".join(line.rstrip() for line in lines)


def _print_results(url: str, read_token: str, *, isolated: bool) -> None:
    with Client(url, read_token) as client:
        sizing = client.sizing(ORG, REPO, WORKFLOW, JOB)
        runs = client.job_metrics(
            ORG, REPO, WORKFLOW, JOB, limit=sizing.meta.runs_analyzed
        )
        energy = client.energy(ORG, REPO, WORKFLOW, JOB)
    meta = sizing.meta
    print(flush=True)
    print(f"{ORG}/{REPO} {WORKFLOW} {JOB}: next run's sizing", flush=True)
    print(_report(runs, sizing, energy.profile.partition("+")[0]), flush=True)
    total = sizing.total
    print(
        f"\ntotal: cpu {total.cpu.request} request / {total.cpu.limit} limit, "
        f"memory {total.memory.request} request / {total.memory.limit} limit",
        flush=True,
    )
    print(
        f"confidence {meta.confidence}: {meta.runs_analyzed} run(s) analysed; "
        f"cpu request = {meta.cpu_percentile} + {meta.buffer_percent} % "
        f"({meta.cpu_sizing_mode}), memory {meta.memory_qos}",
        flush=True,
    )
    print(
        f"energy ({energy.profile} profile, all {energy.runs} runs): "
        f"{energy.energy_wh:.3f} Wh, {energy.carbon_g:.3f} gCO2e for "
        f"{energy.cpu_core_hours * 3600:.0f} core-seconds of work",
        flush=True,
    )
    where = (
        "a cgroup made for the agent and its workload, as a runner pod's "
        "container would be"
        if isolated
        else "the agent's own cgroup: outside a pod that may be the whole machine, "
        "so other work here counts too"
    )
    print(f"the container 'runner' is {where}", flush=True)


def _fresh_workdir(workdir: Path) -> None:
    """Make the data directory, without the database of an earlier demo."""
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in (
        workdir / "cisizer.db",
        *workdir.glob("cisizer.db[-.]*"),
        workdir / "spool",
        workdir / "pycache",
    ):
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink(missing_ok=True)
    probe = workdir / ".writable"
    probe.touch()
    probe.unlink()


def _serve_port() -> int:
    """Return 8080 for the command printed at the end when it is free, else another."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", 8080))
        except OSError:
            return _free_port()
    return 8080


def main() -> int:
    """Start a receiver, measure three runs of real work, print the sizing."""
    began = time.monotonic()
    workdir = Path(os.environ.get("CISIZER_DEMO_DIR", ".cisizer-demo")).resolve()
    try:
        _fresh_workdir(workdir)
    except OSError as err:
        where = err.filename or workdir
        sys.exit(f"demo: cannot use {where} for the demo's data: {err.strerror}")
    database = workdir / "cisizer.db"
    url = f"http://127.0.0.1:{_free_port()}"
    read_token = secrets.token_urlsafe(24)
    hmac_key = secrets.token_urlsafe(48)
    env = {
        **os.environ,
        "CISIZER_URL": url,
        "CISIZER_READ_TOKEN": read_token,
        "CISIZER_HMAC_KEY": hmac_key,
        "CISIZER_DB_URL": f"sqlite:///{database}",
        "CISIZER_BIND": url.removeprefix("http://"),
        "CISIZER_WORKERS": "1",
        "CISIZER_SPOOL_DIR": str(workdir / "spool"),
    }
    _stage(1, f"receiver on {url}, SQLite database {database}")
    server = subprocess.Popen(
        [_command("cisizer-server"), "serve", "--log-level", "warning"], env=env
    )
    try:
        _wait_until_healthy(url, server)
        _stage(2, f"push token for {ORG}/{REPO} {WORKFLOW} {JOB}: cisizer token")
        issued = subprocess.run(
            [_command("cisizer"), "token", ORG, REPO, WORKFLOW, JOB],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if issued.returncode != 0:
            sys.exit(f"demo: cisizer token failed: {issued.stderr.strip()}")
        env["CISIZER_PUSH_TOKEN"] = issued.stdout.strip()
        print(f"demo        {issued.stderr.strip()}", flush=True)
        with _job_cgroup() as enter_cgroup:
            _measure_runs(env, workdir, enter_cgroup)
        _stage(STAGES, "sizing, observed figures and energy, read with the client")
        _print_results(url, read_token, isolated=enter_cgroup is not None)
    except subprocess.CalledProcessError as error:
        print(f"demo: {shlex.join(map(str, error.cmd[:2]))} failed", file=sys.stderr)
        return 1
    finally:
        server.terminate()
        server.wait(timeout=30)

    port = _serve_port()
    serve = [
        _command("cisizer-server"),
        "serve",
        "--db-url",
        f"sqlite:///{database}",
        "--bind",
        f"127.0.0.1:{port}",
        "--read-token",
        read_token,
        "--hmac-key",
        hmac_key,
    ]
    print(
        f"\ndemo done in {time.monotonic() - began:.0f} s.  To browse the runs, "
        f"serve the same database and open http://127.0.0.1:{port}/swagger\n"
        f"(authorize with the read token {read_token}):\n\n  {shlex.join(serve)}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("demo: interrupted; the receiver was stopped")
