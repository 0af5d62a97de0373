"""Shared builders for the core tests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

PUSH_BODY: dict[str, Any] = {
    "organization": "my-org",
    "repository": "my-org/my-repo",
    "workflow": "ci.yml",
    "job": "build",
    "run_id": "run-123",
    "run_attempt": 1,
    "runner": "runner-7",
    "status": "success",
    "payload": {
        "start_time": "2026-02-06T14:30:02.185Z",
        "end_time": "2026-02-06T14:30:22.190Z",
        "duration_seconds": 20.0,
        "sample_count": 11,
        "interval_seconds": 2.0,
        "cpu_total_percent": {"peak": 99.1, "avg": 60.2, "p50": 58.0, "p95": 97.3},
        "containers": [
            {
                "name": "runner",
                "cpu_cores": {
                    "peak": 2.007,
                    "avg": 1.5,
                    "p50": 1.817,
                    "p75": 1.9,
                    "p95": 2.004,
                    "p99": 2.006,
                },
                "memory_bytes": {
                    "peak": 18567168,
                    "avg": 18567168,
                    "p50": 18567168,
                    "p95": 18567168,
                },
                "limits": {"cpu_cores": 4.0, "memory_bytes": 4294967296},
                "oom_kills": 0,
                "cpu_throttled_seconds": 0.0,
            }
        ],
        "processes": [
            {
                "name": "cc1",
                "container": "runner",
                "peak_cpu_percent": 99.0,
                "avg_cpu_percent": 71.5,
                "peak_memory_bytes": 104857600,
            }
        ],
    },
}


@pytest.fixture
def push_body() -> dict[str, Any]:
    """Give a fresh copy of the DESIGN §3.1 example push."""
    return copy.deepcopy(PUSH_BODY)
