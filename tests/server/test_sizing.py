"""Sizing: recommendations from a job's recent runs, with parameters and overrides."""

from __future__ import annotations

import pytest

SIZING = "/api/v1/sizing/repo/my-org/my-repo/ci.yml/build"
MIB = 1024**2


def _container(p95: float, peak: float, memory_peak: int, oom_kills: int = 0):
    return {
        "name": "runner",
        "cpu_cores": {"peak": peak, "avg": p95 / 2, "p95": p95},
        "memory_bytes": {"peak": memory_peak},
        "limits": {"memory_bytes": 2048 * MIB},
        "oom_kills": oom_kills,
    }


def test_worked_example(http, read, push, make_push):
    """p95 0.8, peak 0.83 and 700 MiB give 960m/1 CPU and 1Gi memory (DESIGN §5)."""
    push(make_push())

    response = http.get(SIZING, headers=read)

    assert response.status_code == 200
    sizing = response.json()
    runner = sizing["containers"][0]
    assert runner["name"] == "runner"
    assert (runner["cpu"]["request"], runner["cpu"]["limit"]) == ("960m", "1")
    assert runner["cpu"]["enforced"] is False
    assert (runner["memory"]["request"], runner["memory"]["limit"]) == ("1Gi", "1Gi")
    assert sizing["total"]["cpu"]["request_millicores"] == 960
    assert sizing["meta"]["runs_analyzed"] == 1
    assert sizing["meta"]["confidence"] == "low"
    assert sizing["meta"]["cpu_percentile"] == "p95"


def test_newest_runs_only_and_cancelled_skipped(http, read, push, make_push):
    """runs=N sizes from the N newest runs that were not cancelled."""
    push(make_push(run_id="old", end=10, containers=[_container(3.0, 3.0, 700 * MIB)]))
    push(make_push(run_id="mid", end=20, containers=[_container(0.8, 0.83, 700 * MIB)]))
    push(
        make_push(
            run_id="cancelled",
            status="cancelled",
            end=30,
            containers=[_container(5.0, 5.0, 700 * MIB)],
        )
    )

    one = http.get(SIZING, params={"runs": 1}, headers=read).json()
    two = http.get(SIZING, params={"runs": 2}, headers=read).json()

    assert one["meta"]["runs_analyzed"] == 1
    assert one["containers"][0]["cpu"]["request"] == "960m"
    assert two["meta"]["runs_analyzed"] == 2
    assert two["containers"][0]["cpu"]["request"] == "3600m"


def test_parameters_change_the_answer(http, read, push, make_push):
    """buffer, cpu_percentile, cpu_sizing_mode and memory_qos are honoured."""
    push(make_push())
    params = {
        "buffer": 0,
        "cpu_percentile": "peak",
        "cpu_sizing_mode": "enforce",
        "memory_qos": "burstable",
    }

    sizing = http.get(SIZING, params=params, headers=read).json()

    runner = sizing["containers"][0]
    assert runner["cpu"]["request"] == "830m"
    assert runner["cpu"]["enforced"] is True
    assert runner["memory"]["request_bytes"] < runner["memory"]["limit_bytes"]
    assert sizing["meta"]["buffer_percent"] == 0
    assert sizing["meta"]["memory_qos"] == "burstable"


def test_no_history_is_404(http, read, push, make_push):
    """A job with no runs, or only cancelled ones, answers 404."""
    push(make_push(status="cancelled"))

    response = http.get(SIZING, headers=read)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"runs": 0}, "runs"),
        ({"runs": 101}, "runs"),
        ({"buffer": -1}, "buffer"),
        ({"buffer": 1001}, "buffer"),
        ({"cpu_percentile": "p42"}, "cpu_percentile"),
        ({"cpu_sizing_mode": "always"}, "cpu_sizing_mode"),
        ({"memory_qos": "besteffort"}, "memory_qos"),
        ({"from": "2026-01-01T00:00:00Z"}, "from"),
    ],
)
def test_bad_sizing_parameters_are_400(http, read, push, make_push, params, field):
    """Out-of-range or unknown sizing parameters answer 400 naming the parameter."""
    push(make_push())

    response = http.get(SIZING, params=params, headers=read)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}: ")


def test_overrides_apply_and_query_wins(http, read, push, make_push):
    """A repo override sets the buffer, a job clamp caps CPU, a query value wins."""
    push(make_push())
    http.put(
        "/api/v1/sizing/overrides/my-org/my-repo",
        json={"buffer_percent": 50},
        headers=read,
    )
    http.put(
        "/api/v1/sizing/overrides/my-org/my-repo/ci.yml/build",
        json={"max_cpu": "900m"},
        headers=read,
    )
    http.put(
        "/api/v1/sizing/overrides/my-org/other-repo",
        json={"buffer_percent": 5},
        headers=read,
    )

    overridden = http.get(SIZING, headers=read).json()
    explicit = http.get(SIZING, params={"buffer": 20}, headers=read).json()

    assert overridden["meta"]["buffer_percent"] == 50
    assert overridden["meta"]["overrides"] == ["repo", "job"]
    assert overridden["containers"][0]["cpu"]["request"] == "900m"
    assert explicit["meta"]["buffer_percent"] == 20
    assert explicit["containers"][0]["cpu"]["request"] == "900m"
