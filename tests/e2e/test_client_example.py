"""The GARM-style example of docs/examples runs against the real receiver."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cisizer.client import Client
from cisizer.core import ContainerSummary, Limits, Push, RunStatus, Stats, Summary

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "garm_resources.py"
JOB = ("my-org", "my-repo", "ci.yml", "build")
MIB = 1024**2


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Run the example against a fresh SQLite receiver."""
    return f"sqlite:///{tmp_path / 'cisizer.db'}"


def _push(run_id: str, end: datetime) -> Push:
    def container(name: str, cpu: float, memory: int) -> ContainerSummary:
        return ContainerSummary(
            name=name,
            cpu_cores=Stats(peak=cpu * 1.04, p95=cpu),
            memory_bytes=Stats(peak=memory),
            limits=Limits(cpu_cores=4.0, memory_bytes=4 * 1024**3),
        )

    return Push(
        organization="my-org",
        repository="my-repo",
        workflow="ci.yml",
        job="build",
        run_id=run_id,
        status=RunStatus.SUCCESS,
        payload=Summary(
            start_time=end - timedelta(minutes=5),
            end_time=end,
            duration_seconds=300.0,
            sample_count=150,
            containers=(
                container("runner", 0.8, 700 * MIB),
                container("docker", 1.5, 1024 * MIB),
            ),
        ),
    )


def _run_example(
    live_server: Any, job: tuple[str, ...] = JOB
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CISIZER_URL": live_server.url,
        "CISIZER_READ_TOKEN": live_server.read_token,
    }
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *job],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_example_prints_the_pod_resources_of_a_sizing(live_server: Any) -> None:
    """After two runs the example prints requests and memory limits per container."""
    with Client(live_server.url, live_server.read_token) as client:
        token = client.create_push_token(*JOB).token
        end = datetime(2026, 2, 6, 14, 30, tzinfo=UTC)
        for number in range(2):
            client.push_metrics(
                _push(f"run-{number}", end + timedelta(hours=number)), token=token
            )

    result = _run_example(live_server)

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "# CI Sizer: 2 run(s), confidence low\n"
        "containers:\n"
        "  - name: runner\n"
        "    resources:\n"
        "      requests:\n"
        "        cpu: 960m\n"
        "        memory: 1Gi\n"
        "      limits:\n"
        "        memory: 1Gi\n"
        "  - name: docker\n"
        "    resources:\n"
        "      requests:\n"
        "        cpu: 1800m\n"
        "        memory: 1408Mi\n"
        "      limits:\n"
        "        memory: 1408Mi\n"
    )


def test_example_falls_back_while_a_job_has_no_history(live_server: Any) -> None:
    """Without runs the example still prints resources: the fallback."""
    result = _run_example(live_server)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# no history yet: fallback resources\n")
    assert "        cpu: 1\n        memory: 2Gi\n" in result.stdout


def test_example_falls_back_for_a_name_no_sizing_can_have(live_server: Any) -> None:
    """A job named "rspec 1/3" gets the fallback and the reason on stderr."""
    result = _run_example(live_server, ("my-org", "my-repo", "ci.yml", "rspec 1/3"))

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# name not sizable: fallback resources\n")
    assert result.stderr == (
        "CI Sizer cannot size this job: job: must not contain '/' (got 'rspec 1/3')\n"
    )
