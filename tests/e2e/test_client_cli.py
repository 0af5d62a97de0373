"""The cisizer command line against the real receiver on SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from cisizer.client import Client
from cisizer.client._cli import main
from cisizer.core import ContainerSummary, Push, Stats, Summary

JOB = ["my-org", "my-repo", "ci.yml", "build"]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Run the command line against a fresh SQLite receiver."""
    return f"sqlite:///{tmp_path / 'cisizer.db'}"


def _cli(live_server: Any, *args: str, token: str | None = None) -> Result:
    env = {
        "CISIZER_URL": live_server.url,
        "CISIZER_READ_TOKEN": token or live_server.read_token,
    }
    return CliRunner().invoke(main, list(args), env=env)


def _push_one(live_server: Any) -> None:
    end = datetime(2026, 2, 6, 14, 40, tzinfo=UTC)
    push = Push(
        organization="my-org",
        repository="my-repo",
        workflow="ci.yml",
        job="build",
        run_id="run-1",
        runner="runner-7",
        payload=Summary(
            start_time=end - timedelta(minutes=10),
            end_time=end,
            duration_seconds=600.0,
            sample_count=300,
            containers=(
                ContainerSummary(
                    name="runner",
                    cpu_cores=Stats(peak=0.83, p95=0.8),
                    memory_bytes=Stats(peak=700 * 1024**2),
                ),
            ),
        ),
    )
    with Client(live_server.url, live_server.push_token(*JOB)) as client:
        client.push_metrics(push)


def test_sizing_exits_3_until_the_job_has_history(live_server: Any) -> None:
    """No history is exit 3; after one run the sizing table is printed."""
    before = _cli(live_server, "sizing", *JOB)
    _push_one(live_server)
    after = _cli(live_server, "sizing", *JOB)

    assert before.exit_code == 3
    assert "404" in before.stderr
    assert after.exit_code == 0, after.output
    assert after.stdout.splitlines()[1].split() == [
        "runner", "960m", "1", "(advice)", "1Gi", "1Gi",
    ]  # fmt: skip


def test_a_wrong_token_exits_4(live_server: Any) -> None:
    """A read token the receiver does not know is exit 4."""
    result = _cli(live_server, "metrics", "job", *JOB, token="not-the-token")

    assert result.exit_code == 4


def test_json_output_equals_the_api(live_server: Any) -> None:
    """--json prints exactly what the HTTP API answers."""
    _push_one(live_server)

    result = _cli(live_server, "metrics", "job", *JOB, "--json")

    raw = httpx.get(
        f"{live_server.url}/api/v1/metrics/repo/my-org/my-repo/ci.yml/build",
        headers=live_server.read_headers,
    ).json()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == raw


def test_token_and_overrides_round_trip(live_server: Any) -> None:
    """A token from the command line pushes; overrides set, list and delete."""
    token = _cli(live_server, "token", *JOB)
    set_ = _cli(live_server, "overrides", "set", "my-org", "--runs", "7")
    listed = _cli(live_server, "overrides", "list", "--json")
    deleted = _cli(live_server, "overrides", "delete", "my-org")
    again = _cli(live_server, "overrides", "delete", "my-org")

    assert token.exit_code == 0
    assert token.stdout.count(".") == 2
    assert set_.stdout == "override set at org scope: my-org\n"
    assert [item["override"]["runs"] for item in json.loads(listed.stdout)] == [7]
    assert deleted.exit_code == 0
    assert again.exit_code == 3


def test_override_scopes_read_as_the_receiver_stores_them(live_server: Any) -> None:
    """A repo and a job override print my-org/my-repo[/ci.yml/build] everywhere."""
    repo = _cli(live_server, "overrides", "set", "my-org", "my-repo", "--runs", "7")
    job = _cli(
        live_server, "overrides", "set", "my-org", "my-org/my-repo", "ci.yml",
        "build", "--buffer", "30",
    )  # fmt: skip
    listed = _cli(live_server, "overrides", "list")
    deleted = _cli(live_server, "overrides", "delete", "my-org", "my-repo")
    _cli(live_server, "overrides", "delete", "my-org", "my-repo", "ci.yml", "build")

    assert repo.stdout == "override set at repo scope: my-org/my-repo\n"
    assert job.stdout == "override set at job scope: my-org/my-repo/ci.yml/build\n"
    assert [line.split()[:3] for line in listed.stdout.splitlines()[1:]] == [
        ["repo", "my-org/my-repo", "runs=7"],
        ["job", "my-org/my-repo/ci.yml/build", "buffer_percent=30"],
    ]
    assert deleted.stdout == "override deleted: my-org/my-repo\n"


def test_a_slashed_name_is_refused_before_the_receiver(live_server: Any) -> None:
    """overrides set grp/sub exits 2 naming the organization and stores nothing."""
    result = _cli(live_server, "overrides", "set", "grp/sub", "--runs", "7")
    listed = _cli(live_server, "overrides", "list", "--json")

    assert result.exit_code == 2
    assert result.stderr == (
        "cisizer: error: organization: must not contain '/' (got 'grp/sub')\n"
    )
    assert json.loads(listed.stdout) == []
