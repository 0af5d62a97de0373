"""Pushes arriving at once: each run is stored once and the rollups stay exact."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from cisizer.server._schema import (
    daily_job_totals,
    daily_organization_totals,
    daily_runner_totals,
    runs,
)
from cisizer.server._storage import create_engine, to_utc

THREADS = 8


def _send_all(live_server: Any, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    def send(body: dict[str, Any]) -> httpx.Response:
        token = live_server.push_token(
            body["organization"], body["repository"], body["workflow"], body["job"]
        )
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            return client.post(
                "/api/v1/metrics",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(send, bodies))


def test_same_push_at_once_is_stored_once(live_server, http, read, make_push):
    """Eight copies of one push at once: one 201, seven 200, one id, one run."""
    body = make_push(organization="rush", repository="one", run_id="same")

    answers = _send_all(live_server, [body] * THREADS)

    assert sorted(answer.status_code for answer in answers) == [200] * 7 + [201]
    assert len({answer.json()["id"] for answer in answers}) == 1
    overview = http.get("/api/v1/metrics/org/rush", headers=read).json()
    assert overview["kpis"]["runs"] == 1


def _day(value: datetime) -> Any:
    return to_utc(value).date()


@pytest.mark.parametrize("repeat", [1, 2])
def test_rollups_equal_the_runs_after_pushes_at_once(live_server, make_push, repeat):
    """Distinct pushes at once (each sent ``repeat`` times) add up exactly."""
    bodies = [
        make_push(
            organization=f"crowd-{number % 2}",
            repository=f"repo-{number % 3}",
            job=("build", "test")[number % 2],
            runner=None if number % 5 == 0 else f"runner-{number % 4}",
            status=("success", "failure", "cancelled")[number % 3],
            run_id=f"run-{number}",
            end=10 + number * 97,
        )
        for number in range(24)
    ]

    answers = _send_all(live_server, bodies * repeat)

    assert sorted(answer.status_code for answer in answers) == sorted(
        [201] * 24 + [200] * (24 * (repeat - 1))
    )
    engine = create_engine(live_server.db_url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(
                sa.select(runs).where(runs.c.organization.like("crowd-%"))
            ).all()
            tables = {
                table.name: connection.execute(sa.select(table)).all()
                for table in (
                    daily_job_totals,
                    daily_organization_totals,
                    daily_runner_totals,
                )
            }
    finally:
        engine.dispose()
    assert len(stored) == 24

    keys = {
        "daily_job_totals": ("organization", "repository", "workflow", "job"),
        "daily_organization_totals": ("organization",),
        "daily_runner_totals": ("runner",),
    }
    for name, key in keys.items():
        expected: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0, 0.0, 0])
        for run in stored:
            if any(getattr(run, part) is None for part in key):
                continue
            sums = expected[(*(getattr(run, part) for part in key), _day(run.end_time))]
            sums[0] += 1
            sums[1] += run.status == "success"
            sums[2] += run.used_core_seconds
            sums[3] = max(sums[3], run.peak_memory_bytes)
        found = {
            (*(getattr(row, part) for part in key), row.day): [
                row.runs,
                row.successes,
                row.used_core_seconds,
                row.peak_memory_bytes,
            ]
            for row in tables[name]
            if str(getattr(row, key[0])).startswith(("crowd-", "runner-"))
        }
        assert set(found) == set(expected), name
        for group, sums in expected.items():
            assert found[group][:2] == sums[:2], (name, group)
            assert found[group][2] == pytest.approx(sums[2]), (name, group)
            assert found[group][3] == sums[3], (name, group)
