"""The README's main job: ``scripts/demo.py`` run as a user runs it.

The demo starts its own receiver on SQLite, measures three runs of real work
under the agent and prints the sizing; this runs it whole and checks what it
prints against what the receiver stored, then serves the kept database
again with the command the demo printed.
"""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cisizer.core import parse_quantity

ROOT = Path(__file__).parents[2]
JOB = ("demo-org", "demo-repo", "ci.yml", "compile-stdlib")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Run the demo once; yield what it printed and its data directory."""
    workdir = tmp_path_factory.mktemp("demo")
    bin_dir = str(Path(sys.executable).parent)
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "CISIZER_DEMO_DIR": str(workdir),
            "HOME": str(workdir),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout, workdir


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_prints_a_progress_line_per_stage(demo: tuple[str, Path]) -> None:
    stages = re.findall(r"^demo \[(\d)/(\d)\]", demo[0], re.MULTILINE)
    assert stages == [(str(n), "6") for n in range(1, 7)]


def test_prints_observed_and_recommended_figures_per_container(
    demo: tuple[str, Path],
) -> None:
    output = demo[0]
    table = re.search(r"^(CONTAINER .*)\n(runner .*)$", output, re.MULTILINE)
    assert table is not None, output
    header, row = table.groups()
    assert header.split() == [
        "CONTAINER", "CPU", "P95", "CPU", "PEAK", "MEMORY", "PEAK", "CPU",
        "REQUEST", "CPU", "LIMIT", "MEMORY", "REQUEST", "MEMORY", "LIMIT",
        "ENERGY", "CARBON",
    ]  # fmt: skip
    cells = re.split(r"\s{2,}", row)
    p95, peak = (float(cell.removesuffix(" cores")) for cell in cells[1:3])
    memory_peak = int(cells[3].removesuffix(" MiB")) * 2**20
    cpu_request = float(parse_quantity(cells[4], "cpu"))
    memory_limit = parse_quantity(cells[7], "memory")
    # Byte-compiling keeps at least one core busy and holds tens of MiB.
    assert 0.5 <= p95 <= peak
    assert 10 * 2**20 < memory_peak < memory_limit
    assert cpu_request >= p95
    assert cells[5].endswith("(advice)")
    assert re.search(r"^confidence medium: 3 run\(s\) analysed", output, re.M)
    # The per-container energy adds up to the receiver's figure for the job.
    job_wh = re.search(
        r"^energy \(aws profile, all 3 runs\): ([\d.]+) Wh", output, re.M
    )
    assert job_wh is not None
    assert cells[8] == f"{job_wh.group(1)} Wh"


def test_the_printed_command_serves_the_demo_database(demo: tuple[str, Path]) -> None:
    output, workdir = demo
    command = shlex.split(output.strip().splitlines()[-1])
    assert command[1:5] == [
        "serve",
        "--db-url",
        f"sqlite:///{workdir / 'cisizer.db'}",
        "--bind",
    ]
    read_token = command[command.index("--read-token") + 1]
    port = _free_port()
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the receiver did not start"
                time.sleep(0.2)
        runs = httpx.get(
            f"{url}/api/v1/metrics/repo/{'/'.join(JOB)}",
            headers={"Authorization": f"Bearer {read_token}"},
        )
        assert runs.status_code == 200
        assert sorted(run["run_id"] for run in runs.json()) == [
            "demo-1", "demo-2", "demo-3",
        ]  # fmt: skip
        assert httpx.get(f"{url}/swagger/").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
