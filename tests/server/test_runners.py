"""Runner views: the list, the fleet overview and one runner's detail.

The runs are pushed over HTTP, so the daily rollups are kept by ingest
itself; expected figures are computed here from the same bodies.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

START = datetime(2026, 4, 1, tzinfo=UTC)
GIB = 1024**3


def _containers(avg: float, limited: bool) -> list[dict[str, Any]]:
    runner: dict[str, Any] = {
        "name": "runner",
        "cpu_cores": {"peak": 2.5, "avg": avg},
        "memory_bytes": {"peak": 512 * 1024**2},
    }
    if limited:
        runner["limits"] = {"cpu_cores": 2.0, "memory_bytes": GIB}
    service = {
        "name": "redis",
        "cpu_cores": {"peak": 0.4, "avg": 0.1},
        "memory_bytes": {"peak": 64 * 1024**2},
    }
    return [runner, service]


# (runner, organization, hours after START, cpu avg of the runner container)
PLAN = (
    ("alpha", "acme", 0, 0.5),
    ("alpha", "acme", 24, 1.0),
    ("alpha", "beta", 30, 1.5),
    ("alpha", "acme", 49, 0.25),
    ("bare", "beta", 24, 0.8),
    ("bare", "beta", 50, 0.6),
    ("gamma", "acme", 72, 2.0),
    (None, "acme", 25, 0.3),
)


def build_runs() -> list[dict[str, Any]]:
    """Push bodies of the plan: runner bare never reports limits."""
    bodies = []
    for number, (runner, organization, hours, avg) in enumerate(PLAN):
        end = START + timedelta(hours=hours)
        bodies.append(
            {
                "organization": organization,
                "repository": "app",
                "workflow": "ci.yml",
                "job": "build",
                "run_id": f"run-{number}",
                "runner": runner,
                "status": "success" if number % 3 else "failure",
                "payload": {
                    "start_time": _iso(end - timedelta(minutes=10)),
                    "end_time": _iso(end),
                    "duration_seconds": 600.0,
                    "sample_count": 300,
                    "containers": _containers(avg, runner != "bare"),
                },
            }
        )
    return bodies


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _end(body: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(body["payload"]["end_time"].replace("Z", "+00:00"))


RUNS = build_runs()


def utilisation(bodies: list[dict[str, Any]]) -> float | None:
    """Used over limited cores, over containers that reported a CPU limit."""
    used = limited = 0.0
    for body in bodies:
        duration = body["payload"]["duration_seconds"]
        for container in body["payload"]["containers"]:
            if "cpu_cores" in container.get("limits", {}):
                used += container["cpu_cores"]["avg"] * duration
                limited += container["limits"]["cpu_cores"] * duration
    return used / limited if limited else None


def core_hours(bodies: list[dict[str, Any]]) -> float:
    """CPU core-hours used by every container of ``bodies``."""
    return sum(
        container["cpu_cores"]["avg"] * body["payload"]["duration_seconds"] / 3600
        for body in bodies
        for container in body["payload"]["containers"]
    )


def memory_gib_hours(bodies: list[dict[str, Any]]) -> float:
    """GiB-hours held: the memory limit where reported, else the peak."""
    total = 0.0
    for body in bodies:
        for container in body["payload"]["containers"]:
            held = container.get("limits", {}).get(
                "memory_bytes", container["memory_bytes"]["peak"]
            )
            total += held / GIB * body["payload"]["duration_seconds"] / 3600
    return total


@pytest.fixture
def pushed(push: Any) -> list[dict[str, Any]]:
    """Push every run of the plan through the API."""
    for body in RUNS:
        assert push(body).status_code == 201
    return RUNS


def test_runner_list_counts_runs_and_last_seen(http, read, pushed):
    """Each runner appears once, by name, with its run count, first and last run."""
    answer = http.get("/api/v1/runners", headers=read).json()

    assert [row["runner"] for row in answer["runners"]] == ["alpha", "bare", "gamma"]
    for row in answer["runners"]:
        own = [body for body in pushed if body["runner"] == row["runner"]]
        assert row["runs"] == len(own)
        assert row["first_seen_at"] == min(b["payload"]["end_time"] for b in own)
        assert row["last_seen_at"] == max(b["payload"]["end_time"] for b in own)
    assert (answer["total"], answer["limit"], answer["offset"]) == (3, 50, 0)


def test_fleet_overview_utilisation_counts_only_limited_containers(http, read, pushed):
    """Utilisation is used over limited cores where limits were reported."""
    answer = http.get("/api/v1/runners/overview", headers=read).json()

    with_runner = [body for body in pushed if body["runner"] is not None]
    assert answer["active_runners"] == 3
    assert answer["kpis"]["runs"] == len(with_runner)
    assert answer["kpis"]["cpu_core_hours"] == pytest.approx(core_hours(with_runner))
    assert answer["utilisation"] == pytest.approx(utilisation(with_runner))
    rows = {row["runner"]: row for row in answer["runners"]}
    alpha = [body for body in pushed if body["runner"] == "alpha"]
    assert rows["alpha"]["utilisation"] == pytest.approx((0.5 + 1.0 + 1.5 + 0.25) / 8)
    assert rows["alpha"]["utilisation"] == pytest.approx(utilisation(alpha))
    assert rows["gamma"]["utilisation"] == pytest.approx(1.0)


def test_runner_without_limits_has_no_utilisation(http, read, pushed):
    """A runner that never reported limits has utilisation null, not zero."""
    overview = http.get("/api/v1/runners/overview", headers=read).json()
    detail = http.get("/api/v1/runners/bare", headers=read).json()

    bare = [body for body in pushed if body["runner"] == "bare"]
    row = next(row for row in overview["runners"] if row["runner"] == "bare")
    assert row["utilisation"] is None
    assert detail["utilisation"] is None
    assert detail["kpis"]["runs"] == 2
    assert detail["kpis"]["memory_gib_hours"] == pytest.approx(memory_gib_hours(bare))


def test_runner_detail_breaks_down_by_organization(http, read, pushed):
    """One runner's KPIs with one row per organization it served."""
    answer = http.get("/api/v1/runners/alpha", headers=read).json()

    alpha = [body for body in pushed if body["runner"] == "alpha"]
    assert answer["runner"] == "alpha"
    assert answer["kpis"]["runs"] == 4
    assert answer["kpis"]["successes"] == sum(b["status"] == "success" for b in alpha)
    assert answer["utilisation"] == pytest.approx(utilisation(alpha))
    assert [row["organization"] for row in answer["organizations"]] == ["acme", "beta"]
    for row in answer["organizations"]:
        own = [body for body in alpha if body["organization"] == row["organization"]]
        assert row["kpis"]["runs"] == len(own)
        assert row["kpis"]["cpu_core_hours"] == pytest.approx(core_hours(own))
        assert row["kpis"]["memory_gib_hours"] == pytest.approx(memory_gib_hours(own))
        assert row["kpis"]["last_run_at"] == max(b["payload"]["end_time"] for b in own)
    assert answer["total"] == 2


def test_runner_views_honour_the_time_range(http, read, pushed):
    """from and to are inclusive: a run ending exactly at a bound is counted."""
    params = {
        "from": _iso(START + timedelta(hours=24)),
        "to": _iso(START + timedelta(hours=49)),
    }

    listed = http.get("/api/v1/runners", params=params, headers=read).json()
    fleet = http.get("/api/v1/runners/overview", params=params, headers=read).json()
    alpha = http.get("/api/v1/runners/alpha", params=params, headers=read).json()

    inside = [
        body
        for body in pushed
        if body["runner"] is not None
        and START + timedelta(hours=24) <= _end(body) <= START + timedelta(hours=49)
    ]
    assert {row["runner"]: row["runs"] for row in listed["runners"]} == {
        "alpha": 3,
        "bare": 1,
    }
    assert fleet["active_runners"] == 2
    assert fleet["kpis"]["runs"] == len(inside)
    assert alpha["kpis"]["runs"] == 3
    assert {row["organization"] for row in alpha["organizations"]} == {"acme", "beta"}


def test_unknown_runner_is_an_empty_report(http, read, pushed):
    """A runner with no runs answers zero KPIs and no organizations, not 404."""
    response = http.get("/api/v1/runners/nobody", headers=read)

    assert response.status_code == 200
    answer = response.json()
    assert answer["kpis"]["runs"] == 0
    assert answer["kpis"]["last_run_at"] is None
    assert (answer["organizations"], answer["total"], answer["utilisation"]) == (
        [],
        0,
        None,
    )


def test_runner_pages_past_the_end_keep_the_total(http, read, pushed):
    """Paging beyond the last runner gives no rows but the right total."""
    page = http.get("/api/v1/runners", params={"limit": 2, "offset": 2}, headers=read)
    beyond = http.get(
        "/api/v1/runners/overview", params={"offset": 5}, headers=read
    ).json()

    assert [row["runner"] for row in page.json()["runners"]] == ["gamma"]
    assert page.json()["total"] == 3
    assert (beyond["runners"], beyond["total"], beyond["active_runners"]) == ([], 3, 3)
    assert beyond["kpis"]["runs"] == 7
