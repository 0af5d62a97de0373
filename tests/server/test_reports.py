"""Energy and pass/fail statistics of a job, summed by the database."""

from __future__ import annotations

import pytest

ENERGY = "/api/v1/energy/repo/my-org/my-repo/ci.yml/build"
STATS = "/api/v1/success-failure-stats/repo/my-org/my-repo/ci.yml/build"

# DESIGN §6 check: 4 cores at 50 % for 10 minutes is 1.60 Wh on the AWS profile.
_FOUR_CORES_HALF_BUSY = [
    {
        "name": "runner",
        "cpu_cores": {"peak": 2.0, "avg": 2.0},
        "memory_bytes": {"peak": 0},
        "limits": {"cpu_cores": 4.0},
    }
]


def test_energy_of_one_run_matches_the_design_check(http, read, push, make_push):
    """One run of 4 cores at 50 % for 10 minutes uses 1.60 Wh."""
    push(make_push(containers=_FOUR_CORES_HALF_BUSY))

    energy = http.get(ENERGY, headers=read).json()

    assert energy["runs"] == 1
    assert energy["energy_wh"] == pytest.approx(1.60, abs=0.005)
    assert energy["allocated_core_hours"] == pytest.approx(4 / 6)
    assert energy["cpu_core_hours"] == pytest.approx(2 / 6)
    assert energy["profile"] == "aws"


def test_energy_sums_runs_within_the_range(http, read, push, make_push):
    """Energy adds up the runs whose end_time is within from and to."""
    for number, end in enumerate((10, 20, 30)):
        push(make_push(run_id=f"r{number}", end=end, containers=_FOUR_CORES_HALF_BUSY))

    every = http.get(ENERGY, headers=read).json()
    later = http.get(ENERGY, params={"from": "2026-02-06T14:50:00Z"}, headers=read)

    assert every["runs"] == 3
    assert every["energy_wh"] == pytest.approx(3 * 1.604, abs=0.01)
    assert later.json()["runs"] == 2
    assert later.json()["carbon_g"] == pytest.approx(2 / 3 * every["carbon_g"])


def test_energy_of_a_job_without_runs_is_zero(http, read):
    """A job without runs has zero energy, not an error."""
    energy = http.get(ENERGY, headers=read).json()

    assert (energy["runs"], energy["energy_wh"], energy["carbon_g"]) == (0, 0.0, 0.0)


def test_energy_rejects_bad_range(http, read):
    """A from that is not RFC 3339 answers 400 naming from."""
    response = http.get(ENERGY, params={"from": "2026-13-01T00:00:00Z"}, headers=read)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("from: ")


def test_status_counts_and_rates(http, read, push, make_push):
    """Counts per status; success rate is successes over successes and failures."""
    statuses = ["success", "failure", "cancelled", "success", "success"]
    for number, status in enumerate(statuses):
        push(make_push(run_id=f"r{number}", status=status, end=10 + number))

    stats = http.get(STATS, headers=read).json()

    assert stats["total"] == 5
    assert stats["success_rate"] == pytest.approx(0.75)
    counts = {row["status"]: (row["count"], row["rate"]) for row in stats["statuses"]}
    assert counts == {
        "success": (3, 0.6),
        "failure": (1, 0.2),
        "cancelled": (1, 0.2),
        "unknown": (0, 0.0),
    }


def test_status_counts_respect_the_range(http, read, push, make_push):
    """Only runs ending within to are counted; no runs gives a null success rate."""
    push(make_push(run_id="a", status="failure", end=10))
    push(make_push(run_id="b", status="success", end=20))

    early = http.get(STATS, params={"to": "2026-02-06T14:40:00Z"}, headers=read)
    none = http.get(STATS, params={"to": "2026-02-06T00:00:00Z"}, headers=read)

    assert early.json()["total"] == 1
    assert early.json()["success_rate"] == 0.0
    assert none.json()["total"] == 0
    assert none.json()["success_rate"] is None
