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
    assert "summary rejected" in done.stderr
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
