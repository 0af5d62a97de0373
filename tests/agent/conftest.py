"""Fixtures of the agent tests: a scripted receiver and a job identity."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

IDENTITY_ENV = {
    "CISIZER_ORGANIZATION": "acme",
    "CISIZER_REPOSITORY": "acme/widgets",
    "CISIZER_WORKFLOW": "ci.yml",
    "CISIZER_JOB": "build",
    "CISIZER_RUN_ID": "42",
}


class FakeReceiver:
    """A receiver answering pushes from a script of statuses, recording each."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.requests: list[dict[str, Any]] = []
        self.stored: dict[tuple[Any, ...], int] = {}
        self.bodies: dict[tuple[Any, ...], Any] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"null")
                with receiver.lock:
                    status = receiver.script.pop(0) if receiver.script else 0
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "authorization": self.headers.get("Authorization"),
                            "body": body,
                            "status": status,
                        }
                    )
                    if not status:
                        key = (
                            *(
                                body.get(k)
                                for k in ("organization", "repository", "workflow")
                            ),
                            body.get("job"),
                            body.get("run_id"),
                            body.get("run_attempt", 1),
                        )
                        status = 200 if key in receiver.stored else 201
                        receiver.stored.setdefault(key, len(receiver.stored) + 1)
                        # Like the real receiver: a repeated key answers the
                        # row stored first.
                        receiver.requests[-1]["status"] = status
                        first = receiver.bodies.setdefault(key, body)
                        answer = dict(
                            first,
                            id=receiver.stored[key],
                            received_at="2026-01-01T00:00:00Z",
                        )
                    else:
                        answer = {
                            "type": "about:blank",
                            "title": "Scripted",
                            "status": status,
                            "detail": f"scripted answer {status}",
                        }
                data = json.dumps(answer).encode()
                self.send_response(status)
                ctype = (
                    "application/json" if status < 300 else "application/problem+json"
                )
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def statuses(self) -> list[int]:
        """Return the status of each push received, in order."""
        return [request["status"] or 201 for request in self.requests]


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    """Run a scripted receiver on a loopback port for one test."""
    fake = FakeReceiver()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def identity_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Set a complete job identity through CISIZER_* variables, no CI variables."""
    for name in list(__import__("os").environ):
        if name.startswith(("GITHUB_", "CI_", "GITLAB_", "CISIZER_", "RUNNER_")):
            monkeypatch.delenv(name, raising=False)
    for name, value in IDENTITY_ENV.items():
        monkeypatch.setenv(name, value)
    return dict(IDENTITY_ENV)


def make_push(
    run_id: str = "42", runner: str | None = None, second: int = 2
) -> dict[str, Any]:
    """Return the JSON body of a small, valid push."""
    from datetime import UTC, datetime

    from cisizer.agent import Identity, build_push
    from cisizer.core import ContainerSummary, Stats, Summary

    summary = Summary(
        start_time=datetime(2026, 2, 6, 14, 30, second, tzinfo=UTC),
        end_time=datetime(2026, 2, 6, 14, 30, 22, tzinfo=UTC),
        duration_seconds=20.0,
        sample_count=21,
        containers=(
            ContainerSummary(
                name="runner",
                cpu_cores=Stats(peak=1.5, avg=1.0),
                memory_bytes=Stats(peak=1048576.0, avg=524288.0),
            ),
        ),
        interval_seconds=1.0,
    )
    identity = Identity(
        "acme", "acme/widgets", "ci.yml", "build", run_id, runner=runner
    )
    return build_push(identity, "success", summary)
