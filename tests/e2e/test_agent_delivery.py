"""The agent delivering to the real receiver: outages, errors, kills.

Each test runs ``cisizer-agent`` as a real process and counts the runs the
receiver stored: a summary must arrive exactly once, whatever happens.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

JOB = ("acme", "widgets", "ci.yml", "build")
AGENT = [sys.executable, "-m", "cisizer.agent"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Run these tests on a fresh SQLite file only: the agent is under test."""
    return f"sqlite:///{tmp_path / 'cisizer.db'}"


def agent_env(tmp_path: Path, url: str, token: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "CI_", "GITLAB_", "CISIZER_", "RUNNER_"))
    }
    org, repo, workflow, job = JOB
    env.update(
        CISIZER_ORGANIZATION=org,
        CISIZER_REPOSITORY=repo,
        CISIZER_WORKFLOW=workflow,
        CISIZER_JOB=job,
        CISIZER_RUN_ID="run-1",
        CISIZER_URL=url,
        CISIZER_PUSH_TOKEN=token,
        CISIZER_SPOOL_DIR=str(tmp_path / "spool"),
        CISIZER_DOCKER="false",
        CISIZER_TOP_PROCESSES="3",
        CISIZER_INTERVAL="0.2",
        CISIZER_PUSH_TIMEOUT="20",
    )
    env.update(extra)
    return env


def stored_runs(live_server: Any) -> list[dict[str, Any]]:
    org, repo, workflow, job = JOB
    answer = httpx.get(
        f"{live_server.url}/api/v1/metrics/repo/{org}/{repo}/{workflow}/{job}",
        headers=live_server.read_headers,
    )
    answer.raise_for_status()
    runs: list[dict[str, Any]] = answer.json()
    return runs


def spooled(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "spool").glob("*.json"))


class Gate:
    """WSGI middleware in front of the receiver that can fail or hold pushes."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.fail_with: list[str] = []
        self.pushes = 0
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.hold_after_store = False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if (
            environ["PATH_INFO"] != "/api/v1/metrics"
            or environ["REQUEST_METHOD"] != "POST"
        ):
            return self.app(environ, start_response)
        self.pushes += 1
        if self.fail_with:
            status = self.fail_with.pop(0)
            body = b'{"title": "Scripted", "status": 500, "detail": "scripted failure"}'
            start_response(status, [("Content-Type", "application/problem+json")])
            return [body]
        if not self.release.is_set() and not self.hold_after_store:
            # The push never reaches storage: the receiver gives up on it.
            self.arrived.set()
            self.release.wait(30)
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"gone"]
        if not self.release.is_set():
            answer = list(self.app(environ, start_response))
            self.arrived.set()
            self.release.wait(30)
            return answer
        return self.app(environ, start_response)


@pytest.fixture
def gate(live_server: Any, serve_app: Any) -> Iterator[tuple[Gate, str]]:
    """The receiver behind a gate, and the gate's URL."""
    middleware = Gate(live_server.app)
    yield middleware, serve_app(middleware)
    middleware.release.set()


def push_token(live_server: Any) -> str:
    token: str = live_server.push_token(*JOB)
    return token


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_receiver_down_then_up_stores_once(tmp_path: Path, live_server: Any) -> None:
    """Pushes retried while the receiver is down arrive exactly once when it is up."""
    from wsgiref.simple_server import make_server

    port = free_port()
    env = agent_env(tmp_path, f"http://127.0.0.1:{port}", push_token(live_server))
    agent = subprocess.Popen(
        [*AGENT, "run", "--", "true"], env=env, stderr=subprocess.PIPE, text=True
    )
    assert agent.stderr is not None
    lines = []
    # The receiver comes up only once the agent has failed to reach it.
    for line in agent.stderr:
        lines.append(line)
        if "retrying" in line:
            break
    server = make_server("127.0.0.1", port, live_server.app)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        _, rest = agent.communicate(timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    stderr = "".join(lines) + rest

    assert agent.returncode == 0
    assert "Connection refused" in stderr
    assert "summary delivered" in stderr
    assert len(stored_runs(live_server)) == 1
    assert spooled(tmp_path) == []


def test_server_errors_are_retried_until_stored(
    tmp_path: Path, live_server: Any, gate: tuple[Gate, str]
) -> None:
    """Two 500 answers and a 503 are retried; the run is stored once."""
    middleware, url = gate
    middleware.fail_with = [
        "500 Internal Server Error",
        "500 Internal Server Error",
        "503 Service Unavailable",
    ]
    env = agent_env(tmp_path, url, push_token(live_server))

    done = subprocess.run(
        [*AGENT, "run", "--", "true"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0
    assert middleware.pushes == 4
    assert len(stored_runs(live_server)) == 1
    assert spooled(tmp_path) == []


def test_forbidden_is_not_retried_and_summary_is_set_aside(
    tmp_path: Path, live_server: Any, gate: tuple[Gate, str]
) -> None:
    """A push token for another job gets 403 once; the summary goes to rejected/."""
    middleware, url = gate
    other = live_server.push_token("acme", "widgets", "ci.yml", "lint")
    env = agent_env(tmp_path, url, other)

    done = subprocess.run(
        [*AGENT, "run", "--", "sh", "-c", "exit 4"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 4
    assert middleware.pushes == 1
    assert "403" in done.stderr
    refusals = [line for line in done.stderr.splitlines() if "refused" in line]
    assert len(refusals) == 1
    assert refusals[0].startswith("cisizer-agent: ERROR: the receiver refused ")
    assert "summary rejected" not in done.stderr
    assert spooled(tmp_path) == []
    assert len(list((tmp_path / "spool" / "rejected").glob("*.json"))) == 1
    assert stored_runs(live_server) == []


@pytest.mark.parametrize("stored_before_kill", [False, True])
def test_agent_killed_mid_push_loses_and_doubles_nothing(
    tmp_path: Path,
    live_server: Any,
    gate: tuple[Gate, str],
    stored_before_kill: bool,
) -> None:
    """An agent killed during its push leaves the spool; flush stores it once."""
    middleware, url = gate
    middleware.hold_after_store = stored_before_kill
    middleware.release.clear()
    env = agent_env(tmp_path, url, push_token(live_server))
    agent = subprocess.Popen(
        [*AGENT, "run", "--", "true"], env=env, stderr=subprocess.DEVNULL
    )

    assert middleware.arrived.wait(30)
    agent.send_signal(signal.SIGKILL)
    agent.wait(10)
    middleware.release.set()
    time.sleep(0.1)
    assert len(spooled(tmp_path)) == 1
    assert len(stored_runs(live_server)) == (1 if stored_before_kill else 0)

    flushed = subprocess.run(
        [*AGENT, "flush"], env=env, capture_output=True, text=True, timeout=60
    )

    assert "summary delivered" in flushed.stderr
    assert len(stored_runs(live_server)) == 1
    assert spooled(tmp_path) == []


def runs_of(live_server: Any, org: str, repo: str, workflow: str, job: str) -> Any:
    answer = httpx.get(
        f"{live_server.url}/api/v1/metrics/repo/{org}/{repo}/{workflow}/{job}",
        headers=live_server.read_headers,
    )
    answer.raise_for_status()
    return answer.json()


def test_unwritable_spool_falls_back_and_reports_delivery(
    tmp_path: Path, live_server: Any
) -> None:
    """With the spool unwritable the summary goes through the temp dir, once."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env = agent_env(
        tmp_path,
        live_server.url,
        push_token(live_server),
        CISIZER_SPOOL_DIR=str(blocker / "spool"),
        TMPDIR=str(tmp_path),
    )

    done = subprocess.run(
        [*AGENT, "run", "--", "true"], env=env, capture_output=True, text=True
    )

    (run,) = stored_runs(live_server)
    assert done.returncode == 0
    assert f"using {tmp_path / 'cisizer-agent-spool'}" in done.stderr
    assert f"summary delivered (stored with id {run['id']})" in done.stderr
    assert "could not be sent" not in done.stderr
    assert "Traceback" not in done.stderr
    assert list((tmp_path / "cisizer-agent-spool").glob("*.json")) == []


GITHUB_MATRIX = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/widgets",
    "GITHUB_REPOSITORY_OWNER": "acme",
    "GITHUB_WORKFLOW_REF": "acme/widgets/.github/workflows/ci.yml@refs/heads/main",
    "GITHUB_JOB": "build",
    "GITHUB_RUN_ID": "888",
    "GITHUB_RUN_ATTEMPT": "1",
}


def matrix_leg(
    tmp_path: Path, live_server: Any, runner: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = agent_env(tmp_path, live_server.url, push_token(live_server))
    for name in ("CISIZER_ORGANIZATION", "CISIZER_REPOSITORY", "CISIZER_WORKFLOW"):
        del env[name]
    del env["CISIZER_JOB"], env["CISIZER_RUN_ID"]
    env.update(GITHUB_MATRIX, RUNNER_NAME=runner, **extra)
    return subprocess.run(
        [*AGENT, "run", "--", "true"], env=env, capture_output=True, text=True
    )


def test_matrix_leg_with_a_shared_run_id_is_said_not_stored(
    tmp_path: Path, live_server: Any
) -> None:
    """A second matrix leg under the same run id is reported as NOT stored."""
    first = matrix_leg(tmp_path, live_server, "linux-runner")
    second = matrix_leg(tmp_path, live_server, "mac-runner")

    (run,) = stored_runs(live_server)
    assert run["runner"] == "linux-runner"
    assert f"summary delivered (stored with id {run['id']})" in first.stderr
    assert second.returncode == 0
    assert "summary delivered" not in second.stderr
    assert (
        "summary NOT stored: another run with the same key is stored with id "
        f"{run['id']}" in second.stderr
    )
    assert "CISIZER_RUN_ID" in second.stderr
    assert len(list((tmp_path / "spool" / "rejected").glob("*.json"))) == 1


def test_matrix_legs_with_their_own_run_ids_are_all_stored(
    tmp_path: Path, live_server: Any
) -> None:
    """CISIZER_RUN_ID with the leg's index stores every leg of the matrix."""
    for index, runner in enumerate(("linux-runner", "mac-runner")):
        done = matrix_leg(tmp_path, live_server, runner, CISIZER_RUN_ID=f"888-{index}")
        assert "summary delivered" in done.stderr

    runs = stored_runs(live_server)
    assert sorted((r["run_id"], r["runner"]) for r in runs) == [
        ("888-0", "linux-runner"),
        ("888-1", "mac-runner"),
    ]


def test_gitlab_subgroup_parallel_legs_are_stored_as_one_job(
    tmp_path: Path, live_server: Any
) -> None:
    """Legs of a parallel job in grp/sub/proj are two runs of grp/sub.proj rspec."""
    token = live_server.push_token("grp", "grp/sub.proj", ".gitlab-ci.yml", "rspec")
    outputs = []
    for index in (1, 2):
        env = agent_env(tmp_path, live_server.url, token)
        for name in list(env):
            if name.startswith("CISIZER_") and name.removeprefix("CISIZER_") in (
                "ORGANIZATION",
                "REPOSITORY",
                "WORKFLOW",
                "JOB",
                "RUN_ID",
            ):
                del env[name]
        env.update(
            GITLAB_CI="true",
            CI_PROJECT_PATH="grp/sub/proj",
            CI_PROJECT_NAMESPACE="grp/sub",
            CI_JOB_NAME=f"rspec {index}/2",
            CI_NODE_INDEX=str(index),
            CI_NODE_TOTAL="2",
            CI_PIPELINE_ID="31",
            CI_JOB_ID=str(400 + index),
        )
        done = subprocess.run(
            [*AGENT, "run", "--", "true"], env=env, capture_output=True, text=True
        )
        outputs.append(done.stderr)

    runs = runs_of(live_server, "grp", "sub.proj", ".gitlab-ci.yml", "rspec")
    assert all("summary delivered" in out for out in outputs), outputs
    assert sorted(r["run_id"] for r in runs) == ["31-401", "31-402"]
    assert {(r["organization"], r["repository"]) for r in runs} == {
        ("grp", "grp/sub.proj")
    }


RENAMED_BUSY = """
import ctypes, time
ctypes.CDLL(None).prctl(15, b"ev\\nil\\xe2\\x80\\x8b", 0, 0, 0)
end = time.time() + 1.5
while time.time() < end:
    pass
"""


def test_process_renamed_with_a_newline_is_stored_under_a_clean_name(
    tmp_path: Path, live_server: Any
) -> None:
    """A process named "ev\\nil" by prctl costs nothing: the run is stored."""
    env = agent_env(tmp_path, live_server.url, push_token(live_server))

    done = subprocess.run(
        [*AGENT, "run", "--", sys.executable, "-c", RENAMED_BUSY],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert "summary delivered" in done.stderr
    (run,) = stored_runs(live_server)
    names = [process["name"] for process in run["payload"]["processes"]]
    assert "ev?il?" in names
    assert all("\n" not in name and "\u200b" not in name for name in names)
    assert spooled(tmp_path) == []
