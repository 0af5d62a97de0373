"""Fixtures of the receiver's tests: an HTTP client and push bodies."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

PushFactory = Callable[..., dict[str, Any]]

BASE_TIME = datetime(2026, 2, 6, 14, 30, tzinfo=UTC)

_PUSH: dict[str, Any] = {
    "organization": "my-org",
    "repository": "my-repo",
    "workflow": "ci.yml",
    "job": "build",
    "run_id": "run-1",
    "run_attempt": 1,
    "runner": "runner-7",
    "status": "success",
    "payload": {
        "start_time": "2026-02-06T14:30:00Z",
        "end_time": "2026-02-06T14:40:00Z",
        "duration_seconds": 600.0,
        "sample_count": 300,
        "interval_seconds": 2.0,
        "containers": [
            {
                "name": "runner",
                "cpu_cores": {"peak": 0.83, "avg": 0.5, "p50": 0.6, "p95": 0.8},
                "memory_bytes": {"peak": 700 * 1024**2, "p95": 600 * 1024**2},
                "limits": {"cpu_cores": 4.0, "memory_bytes": 4 * 1024**3},
                "oom_kills": 0,
            }
        ],
    },
}


def iso(moment: datetime) -> str:
    """Render a UTC time as the wire format does."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def make_push() -> PushFactory:
    """Build a valid push body; keyword arguments replace top-level fields.

    ``end`` (minutes after BASE_TIME) places the run in time, ``containers``
    replaces the payload's containers.
    """

    def build(
        *,
        end: int = 10,
        containers: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        body = copy.deepcopy(_PUSH)
        body.update(fields)
        finish = BASE_TIME + timedelta(minutes=end)
        body["payload"]["end_time"] = iso(finish)
        body["payload"]["start_time"] = iso(finish - timedelta(minutes=10))
        if containers is not None:
            body["payload"]["containers"] = containers
        return body

    return build


@pytest.fixture
def http(live_server: Any) -> Iterator[httpx.Client]:
    """An HTTP client for the live receiver, sending no credentials by default."""
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def read(live_server: Any) -> dict[str, str]:
    """Headers carrying the read token."""
    headers: dict[str, str] = live_server.read_headers
    return headers


@pytest.fixture
def push(
    live_server: Any, http: httpx.Client
) -> Callable[[dict[str, Any]], httpx.Response]:
    """Send a push body with a push token scoped to its own job."""

    def send(body: dict[str, Any]) -> httpx.Response:
        token = live_server.push_token(
            body["organization"], body["repository"], body["workflow"], body["job"]
        )
        return http.post(
            "/api/v1/metrics", json=body, headers={"Authorization": f"Bearer {token}"}
        )

    return send
