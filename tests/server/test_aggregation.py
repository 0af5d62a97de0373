"""KPI overviews, comparisons and sizing overviews, checked against Python sums.

A small dataset of runs is stored through the receiver's storage layer; the
expected KPIs are computed here, run by run, from the same push bodies and
the formulas of DESIGN §6, never by the receiver's own code.
"""

from __future__ import annotations

import copy
import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import falcon.testing
import pytest
import sqlalchemy as sa

from cisizer.core import converter, parse_push, run_figures
from cisizer.server import Settings, create_app, migrate
from cisizer.server._schema import runs
from cisizer.server._storage import create_engine, insert_run

GIB = 1024**3
MIB = 1024**2
DAY0 = datetime(2026, 3, 1, tzinfo=UTC)
# Energy coefficients of the default (aws) profile, from DESIGN §6.
CPU_MIN_W, CPU_MAX_W, MEM_W_PER_GIB, PUE = 0.74, 3.5, 0.392, 1.135
GRID_G_PER_KWH, EMBODIED_G_PER_CORE_HOUR = 475.0, 0.48

JOBS = (
    ("acme", "web", "ci.yml", "build"),
    ("acme", "web", "ci.yml", "test"),
    ("acme", "web", "nightly.yml", "build"),
    ("acme", "api", "ci.yml", "build"),
    ("acme", "docs", "ci.yml", "build"),
    ("acme", "cli", "ci.yml", "lint"),
    ("beta", "tool", "ci.yml", "build"),
)
RUNNERS = ("r1", "r2", "bare", None)
STATUSES = ("success", "failure", "success", "cancelled", "unknown", "success")
SORT_KEYS = (
    "runs",
    "successes",
    "failures",
    "success_rate",
    "total_duration_seconds",
    "avg_duration_seconds",
    "max_duration_seconds",
    "cpu_core_hours",
    "avg_cores",
    "peak_memory_bytes",
    "memory_gib_hours",
    "energy_wh",
    "carbon_g",
    "first_run_at",
    "last_run_at",
)


def iso(moment: datetime) -> str:
    """Render a UTC time as the wire format does."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse(text: str) -> datetime:
    """Read a wire time back."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _end_time(number: int) -> datetime:
    # Run 23 ends one millisecond before midnight, run 24 exactly at it.
    if number == 23:
        return datetime(2026, 3, 7, 23, 59, 59, 999000, tzinfo=UTC)
    return DAY0 + timedelta(hours=7 * number)


def _containers(rng: random.Random, limited: bool, service: bool) -> list[Any]:
    containers: list[dict[str, Any]] = [
        {
            "name": "runner",
            "cpu_cores": {
                "peak": round(rng.uniform(1.0, 2.0), 3),
                "avg": round(rng.uniform(0.2, 0.9), 3),
                "p95": round(rng.uniform(0.9, 1.0), 3),
            },
            "memory_bytes": {"peak": rng.randrange(200, 900) * MIB},
        }
    ]
    if limited:
        containers[0]["limits"] = {"cpu_cores": 2.0, "memory_bytes": 2 * GIB}
    if service:
        containers.append(
            {
                "name": "postgres",
                "cpu_cores": {"peak": 0.5, "avg": round(rng.uniform(0.05, 0.3), 3)},
                "memory_bytes": {"peak": rng.randrange(50, 300) * MIB},
            }
        )
    return containers


def build_runs() -> list[dict[str, Any]]:
    """The push bodies of the dataset: 40 runs over 12 days, plus one idle repo."""
    rng = random.Random(11)
    bodies = []
    for number in range(40):
        organization, repository, workflow, job = JOBS[number % len(JOBS)]
        runner = RUNNERS[number % len(RUNNERS)]
        end = _end_time(number)
        duration = rng.choice((300.0, 600.0, 900.5))
        bodies.append(
            {
                "organization": organization,
                "repository": repository,
                "workflow": workflow,
                "job": job,
                "run_id": f"run-{number}",
                "runner": runner,
                "status": STATUSES[number % len(STATUSES)],
                "payload": {
                    "start_time": iso(end - timedelta(seconds=duration)),
                    "end_time": iso(end),
                    "duration_seconds": duration,
                    "sample_count": 10,
                    "containers": _containers(
                        rng, runner not in ("bare", None), number % 3 == 0
                    ),
                },
            }
        )
    idle = copy.deepcopy(bodies[0])
    idle.update(repository="idle", run_id="idle-1", status="cancelled")
    bodies.append(idle)
    return bodies


RUNS = build_runs()


def end_of(body: dict[str, Any]) -> datetime:
    """The end time of a run body."""
    return parse(body["payload"]["end_time"])


def expected_kpis(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """Compute the KPIs of ``bodies`` run by run and container by container."""
    used = allocated = gib_seconds = 0.0
    peaks = []
    for body in bodies:
        duration = body["payload"]["duration_seconds"]
        peak = 0
        for container in body["payload"]["containers"]:
            limits = container.get("limits", {})
            used += container["cpu_cores"]["avg"] * duration
            allocated += (
                limits.get("cpu_cores", container["cpu_cores"]["peak"]) * duration
            )
            held = limits.get("memory_bytes", container["memory_bytes"]["peak"])
            gib_seconds += held / GIB * duration
            peak += container["memory_bytes"]["peak"]
        peaks.append(peak)
    durations = [body["payload"]["duration_seconds"] for body in bodies]
    successes = sum(body["status"] == "success" for body in bodies)
    failures = sum(body["status"] == "failure" for body in bodies)
    energy = (
        allocated / 3600 * CPU_MIN_W
        + used / 3600 * (CPU_MAX_W - CPU_MIN_W)
        + gib_seconds / 3600 * MEM_W_PER_GIB
    ) * PUE
    ends = [end_of(body) for body in bodies]
    return {
        "runs": len(bodies),
        "successes": successes,
        "failures": failures,
        "success_rate": (
            successes / (successes + failures) if successes + failures else None
        ),
        "total_duration_seconds": sum(durations),
        "avg_duration_seconds": sum(durations) / len(bodies) if bodies else None,
        "max_duration_seconds": max(durations, default=None),
        "cpu_core_hours": used / 3600,
        "avg_cores": used / sum(durations) if bodies else None,
        "peak_memory_bytes": max(peaks, default=None),
        "memory_gib_hours": gib_seconds / 3600,
        "energy_wh": energy,
        "carbon_g": energy / 1000 * GRID_G_PER_KWH
        + allocated / 3600 * EMBODIED_G_PER_CORE_HOUR,
        "first_run_at": min(ends, default=None),
        "last_run_at": max(ends, default=None),
    }


def assert_kpis(actual: dict[str, Any], bodies: list[dict[str, Any]]) -> None:
    """The answered KPIs equal those computed from ``bodies``."""
    expected = expected_kpis(bodies)
    assert set(actual) == set(expected)
    for name, value in expected.items():
        got = actual[name]
        if name in ("first_run_at", "last_run_at"):
            assert (None if got is None else parse(got)) == value, name
        elif isinstance(value, float):
            assert got == pytest.approx(value, rel=1e-9), name
        else:
            assert got == value, name


def full_name(body: dict[str, Any]) -> str:
    """The qualified repository of a body."""
    return f"{body['organization']}/{body['repository']}"


@pytest.fixture
def seeded(live_server: Any) -> list[dict[str, Any]]:
    """Store the dataset through the storage layer of the live receiver."""
    engine = create_engine(live_server.db_url)
    for number, body in enumerate(RUNS):
        push = parse_push(body)
        received = DAY0 + timedelta(days=30, seconds=number)
        insert_run(engine, push, run_figures(push.payload), received)
    engine.dispose()
    return RUNS


def test_overview_matches_sums_over_every_run(http, read, seeded):
    """The overview's global and per-organization KPIs equal Python's sums."""
    answer = http.get("/api/v1/metrics/overview", headers=read).json()

    assert_kpis(answer["kpis"], seeded)
    assert [row["organization"] for row in answer["organizations"]] == [
        "acme",
        "beta",
    ]
    for row in answer["organizations"]:
        own = [body for body in seeded if body["organization"] == row["organization"]]
        assert_kpis(row["kpis"], own)
    assert (answer["total"], answer["limit"], answer["offset"]) == (2, 50, 0)


RANGES = (
    # exact midnight start: the run ending at midnight is in
    (_end_time(24), None),
    # a stop one millisecond before midnight: the run ending then is in
    (None, _end_time(23)),
    (_end_time(23), _end_time(24)),
    # partial days at both edges and whole days between
    (_end_time(5), _end_time(30)),
    (_end_time(5) + timedelta(milliseconds=1), _end_time(30) - timedelta(seconds=1)),
    # both bounds within one day
    (_end_time(1), _end_time(2)),
    # whole days only
    (DAY0 + timedelta(days=2), DAY0 + timedelta(days=4) - timedelta(microseconds=1)),
    (DAY0 + timedelta(days=2), DAY0 + timedelta(days=4)),
    (DAY0 + timedelta(days=400), None),
)


def test_time_filter_is_inclusive_at_both_ends(http, read, seeded):
    """from and to select runs ending at or between them, at any time of day."""
    for start, stop in RANGES:
        params = {}
        if start is not None:
            params["from"] = iso(start)
        if stop is not None:
            params["to"] = iso(stop)
        inside = [
            body
            for body in seeded
            if (start is None or end_of(body) >= start)
            and (stop is None or end_of(body) <= stop)
        ]

        overview = http.get("/api/v1/metrics/overview", params=params, headers=read)
        org = http.get("/api/v1/metrics/org/acme", params=params, headers=read)

        assert_kpis(overview.json()["kpis"], inside)
        acme = [body for body in inside if body["organization"] == "acme"]
        assert_kpis(org.json()["kpis"], acme)
        for row in org.json()["repositories"]:
            own = [body for body in acme if full_name(body) == row["repository"]]
            assert_kpis(row["kpis"], own)


def test_boundary_runs_are_counted_once(http, read, seeded):
    """The runs ending one millisecond before and exactly at midnight count once."""
    params = {"from": iso(_end_time(23)), "to": iso(_end_time(24))}

    answer = http.get("/api/v1/metrics/overview", params=params, headers=read).json()

    assert answer["kpis"]["runs"] == 2


def test_org_detail_lists_repositories_by_name(http, read, seeded):
    """An organization answers one KPI row per repository, ordered by name."""
    answer = http.get("/api/v1/metrics/org/acme", headers=read).json()

    names = [row["repository"] for row in answer["repositories"]]
    assert names == ["acme/api", "acme/cli", "acme/docs", "acme/idle", "acme/web"]
    assert answer["organization"] == "acme"
    assert answer["total"] == 5
    assert_kpis(answer["kpis"], [b for b in seeded if b["organization"] == "acme"])


def test_repo_detail_lists_workflows_with_their_jobs(http, read, seeded):
    """A repository answers its workflows, each with the KPIs of its jobs."""
    answer = http.get("/api/v1/metrics/org/acme/repo/web", headers=read).json()

    web = [body for body in seeded if full_name(body) == "acme/web"]
    assert answer["repository"] == "acme/web"
    assert_kpis(answer["kpis"], web)
    assert [row["workflow"] for row in answer["workflows"]] == ["ci.yml", "nightly.yml"]
    for workflow in answer["workflows"]:
        own = [body for body in web if body["workflow"] == workflow["workflow"]]
        assert_kpis(workflow["kpis"], own)
        assert [job["job"] for job in workflow["jobs"]] == sorted(
            {body["job"] for body in own}
        )
        for job in workflow["jobs"]:
            assert_kpis(job["kpis"], [b for b in own if b["job"] == job["job"]])


def test_pages_past_the_end_are_empty_but_keep_the_total(http, read, seeded):
    """limit and offset slice the rows; beyond the end the list is empty."""
    second = http.get(
        "/api/v1/metrics/overview", params={"limit": 1, "offset": 1}, headers=read
    ).json()
    beyond = http.get(
        "/api/v1/metrics/org/acme", params={"offset": 10}, headers=read
    ).json()

    assert [row["organization"] for row in second["organizations"]] == ["beta"]
    assert (second["total"], second["limit"], second["offset"]) == (2, 1, 1)
    assert beyond["repositories"] == []
    assert (beyond["total"], beyond["offset"]) == (5, 10)
    assert beyond["kpis"]["runs"] == sum(b["organization"] == "acme" for b in seeded)


EMPTY_ORG_PATHS = (
    "/api/v1/metrics/org/nobody",
    "/api/v1/metrics/org/nobody/repo/none",
    "/api/v1/sizing/org/nobody",
    "/api/v1/sizing/org/nobody/repo/none",
    "/api/v1/compare/repos?org=nobody",
    "/api/v1/compare/workflows?org=nobody&repo=none",
)


def test_organization_without_runs_is_empty_not_missing(http, read, seeded):
    """An organization with no runs answers 200 with empty rows and zero KPIs."""
    for path in EMPTY_ORG_PATHS:
        response = http.get(path, headers=read)

        assert response.status_code == 200, path
        answer = response.json()
        rows = [value for value in answer.values() if isinstance(value, list)]
        assert rows == [[]], path
        assert answer["total"] == 0
        if "kpis" in answer:
            assert_kpis(answer["kpis"], [])


def test_empty_database_overview_has_zero_kpis(http, read):
    """With no runs at all the overview is zero KPIs and no organizations."""
    answer = http.get("/api/v1/metrics/overview", headers=read).json()

    assert_kpis(answer["kpis"], [])
    assert (answer["organizations"], answer["total"]) == ([], 0)


def _expected_value(bodies: list[dict[str, Any]], key: str) -> Any:
    return expected_kpis(bodies)[key]


def _assert_sorted(rows: list[dict[str, Any]], key: str, order: str) -> None:
    values = [row["kpis"][key] for row in rows]
    values = [parse(v).timestamp() if isinstance(v, str) else v for v in values]
    names = [row.get("repository") or row.get("workflow") for row in rows]
    for (left, right), (first, second) in zip(
        itertools.pairwise(values), itertools.pairwise(names), strict=True
    ):
        if left is None:
            assert right is None, (key, order, values)
            assert first < second, (key, order, names)
        elif right is None:
            continue
        elif left == pytest.approx(right, rel=1e-9):
            assert first < second, (key, order, names)
        elif order == "asc":
            assert left < right, (key, order, values)
        else:
            assert left > right, (key, order, values)


def test_compare_repos_sorts_by_every_kpi(http, read, seeded):
    """Repositories come ordered by the chosen KPI, ties by name, nulls last."""
    acme = [body for body in seeded if body["organization"] == "acme"]
    names = sorted({full_name(body) for body in acme})

    for key in SORT_KEYS:
        for order in ("asc", "desc"):
            answer = http.get(
                "/api/v1/compare/repos",
                params={"org": "acme", "sort": key, "order": order},
                headers=read,
            ).json()

            rows = answer["repositories"]
            assert sorted(row["repository"] for row in rows) == names
            assert (answer["sort"], answer["order"]) == (key, order)
            _assert_sorted(rows, key, order)
            for row in rows:
                own = [body for body in acme if full_name(body) == row["repository"]]
                expected = _expected_value(own, key)
                got = row["kpis"][key]
                if key.endswith("_at"):
                    assert parse(got) == expected
                elif expected is None:
                    assert got is None
                else:
                    assert got == pytest.approx(expected, rel=1e-9)


def test_compare_repos_puts_unknown_success_rate_last(http, read, seeded):
    """A repository with only cancelled runs has no success rate and sorts last."""
    for order in ("asc", "desc"):
        answer = http.get(
            "/api/v1/compare/repos",
            params={"org": "acme", "sort": "success_rate", "order": order},
            headers=read,
        ).json()

        last = answer["repositories"][-1]
        assert last["repository"] == "acme/idle"
        assert last["kpis"]["success_rate"] is None


def test_compare_defaults_to_most_runs_first_and_pages(http, read, seeded):
    """Without sort the rows come by runs, most first; limit cuts the list."""
    answer = http.get(
        "/api/v1/compare/repos", params={"org": "acme", "limit": 2}, headers=read
    ).json()

    assert (answer["sort"], answer["order"]) == ("runs", "desc")
    assert [row["repository"] for row in answer["repositories"]] == [
        "acme/web",
        "acme/api",
    ]
    assert answer["total"] == 5


def test_compare_workflows_of_a_repository(http, read, seeded):
    """Workflows of one repository side by side, sorted ascending by energy."""
    for repo in ("web", "acme/web"):
        answer = http.get(
            "/api/v1/compare/workflows",
            params={"org": "acme", "repo": repo, "sort": "energy_wh", "order": "asc"},
            headers=read,
        ).json()

        web = [body for body in seeded if full_name(body) == "acme/web"]
        rows = answer["workflows"]
        assert answer["repository"] == "acme/web"
        assert {row["workflow"] for row in rows} == {"ci.yml", "nightly.yml"}
        _assert_sorted(rows, "energy_wh", "asc")
        for row in rows:
            assert_kpis(
                row["kpis"], [b for b in web if b["workflow"] == row["workflow"]]
            )


def _newest_sized(job: tuple[str, str, str, str], runs: int) -> list[dict[str, Any]]:
    own = [
        body
        for body in RUNS
        if (body["organization"], body["repository"], body["workflow"], body["job"])
        == job
        and body["status"] != "cancelled"
    ]
    return sorted(own, key=end_of, reverse=True)[:runs]


def _own_limit(history: list[dict[str, Any]], container: str, name: str) -> Any:
    """The limit ``name`` that ``container`` reported in its newest run with one."""
    for body in history:
        for reported in body["payload"]["containers"]:
            if reported["name"] == container and name in reported.get("limits", {}):
                return reported["limits"][name]
    return None


def _compared(
    history: list[dict[str, Any]], sizing: dict[str, Any], name: str, applied: str
) -> tuple[float | None, float]:
    """Current limits and recommendation summed over the containers with a limit."""
    current: float | None = None
    recommended = 0.0
    for container in sizing["containers"]:
        limit = _own_limit(history, container["name"], name)
        if limit is not None:
            current = (current or 0) + limit
            resource = "cpu" if name == "cpu_cores" else "memory"
            recommended += container[resource][applied]
    return current, recommended


def test_sizing_overview_matches_each_jobs_sizing(http, read, seeded):
    """Each job's recommendation equals its own sizing; savings follow its limits."""
    override = http.put(
        "/api/v1/sizing/overrides/acme/web", json={"runs": 2}, headers=read
    )
    assert override.status_code in (200, 201)

    answer = http.get("/api/v1/sizing/org/acme", headers=read).json()

    jobs = answer["jobs"]
    keys = [(row["repository"], row["workflow"], row["job"]) for row in jobs]
    assert keys == sorted(keys)
    assert answer["total"] == 7
    for row in jobs:
        org, repo = row["repository"].split("/")
        job = (org, repo, row["workflow"], row["job"])
        own = [body for body in seeded if tuple(body[k] for k in JOB_FIELDS) == job]
        alone = http.get(
            f"/api/v1/sizing/repo/{org}/{repo}/{row['workflow']}/{row['job']}",
            headers=read,
        )
        assert row["runs"] == len(own)
        assert row["run_hours"] == pytest.approx(
            sum(body["payload"]["duration_seconds"] for body in own) / 3600
        )
        if repo == "idle":
            assert alone.status_code == 404
            assert row["sizing"] is None
            assert row["savings"] == {
                "cpu_cores": None,
                "memory_gib": None,
                "cpu_core_hours": None,
                "memory_gib_hours": None,
            }
            continue
        assert row["sizing"] == alone.json()
        history = _newest_sized(job, 2 if repo == "web" else 5)
        assert row["sizing"]["meta"]["runs_analyzed"] == len(history)
        sizing = row["sizing"]
        cpu, cpu_request = _compared(history, sizing, "cpu_cores", "request_millicores")
        memory, memory_limit = _compared(history, sizing, "memory_bytes", "limit_bytes")
        assert row["current_cpu_cores"] == cpu
        assert row["current_memory_bytes"] == memory
        savings = row["savings"]
        if cpu is None:
            assert savings["cpu_cores"] is None
        else:
            saved = cpu - cpu_request / 1000
            assert savings["cpu_cores"] == pytest.approx(saved)
            assert savings["cpu_core_hours"] == pytest.approx(saved * row["run_hours"])
        if memory is None:
            assert savings["memory_gib"] is None
        else:
            saved_gib = (memory - memory_limit) / GIB
            assert savings["memory_gib"] == pytest.approx(saved_gib)

    totals = answer["totals"]
    sized = [row for row in jobs if row["sizing"] is not None]
    assert totals["jobs_sized"] == len(sized) == 6
    assert totals["cpu_request_millicores"] == sum(
        row["sizing"]["total"]["cpu"]["request_millicores"] for row in sized
    )
    assert totals["memory_limit_bytes"] == sum(
        row["sizing"]["total"]["memory"]["limit_bytes"] for row in sized
    )
    assert totals["savings"]["cpu_cores"] == pytest.approx(
        sum(row["savings"]["cpu_cores"] or 0 for row in jobs)
    )


JOB_FIELDS = ("organization", "repository", "workflow", "job")


def _mixed_job(make_push, number: int) -> dict[str, Any]:
    """A run whose runner container has limits and whose service has none."""
    return make_push(
        organization="mixed",
        repository="app",
        run_id=f"mixed-{number}",
        end=10 + number,
        containers=[
            {
                "name": "runner",
                "cpu_cores": {"peak": 1.0, "avg": 0.5, "p95": 0.9},
                "memory_bytes": {"peak": 500 * MIB},
                "limits": {"cpu_cores": 4.0, "memory_bytes": 4 * GIB},
            },
            {
                "name": "postgres",
                "cpu_cores": {"peak": 2.0, "avg": 1.0, "p95": 1.8},
                "memory_bytes": {"peak": 1024 * MIB},
            },
        ],
    )


@pytest.mark.parametrize("mode", ["observe", "enforce"])
def test_savings_compare_each_container_with_its_own_limits(
    http, read, push, make_push, mode
):
    """A limited runner beside an unlimited service saves only the runner's share."""
    for number in range(3):
        assert push(_mixed_job(make_push, number)).status_code == 201
    override = http.put(
        "/api/v1/sizing/overrides/mixed",
        json={"cpu_sizing_mode": mode},
        headers=read,
    )
    assert override.status_code in (200, 201)

    row = http.get("/api/v1/sizing/org/mixed", headers=read).json()["jobs"][0]

    containers = {c["name"]: c for c in row["sizing"]["containers"]}
    assert set(containers) == {"runner", "postgres"}
    runner = containers["runner"]
    applied = "limit_millicores" if mode == "enforce" else "request_millicores"
    assert row["current_cpu_cores"] == 4.0
    assert row["current_memory_bytes"] == 4 * GIB
    assert row["savings"]["cpu_cores"] == pytest.approx(
        4.0 - runner["cpu"][applied] / 1000
    )
    assert row["savings"]["memory_gib"] == pytest.approx(
        4.0 - runner["memory"]["limit_bytes"] / GIB
    )
    # The whole job's recommendation, service included, would save less.
    total = row["sizing"]["total"]
    assert row["savings"]["cpu_cores"] > 4.0 - total["cpu"][applied] / 1000
    assert row["savings"]["memory_gib"] > 4.0 - total["memory"]["limit_bytes"] / GIB
    assert row["savings"]["cpu_core_hours"] == pytest.approx(
        row["savings"]["cpu_cores"] * 3 * 600 / 3600
    )


def test_savings_follow_the_newest_limit_each_container_reported(
    http, read, push, make_push
):
    """A container's limit comes from its newest run that reported one."""
    older = _mixed_job(make_push, 0)
    newer = _mixed_job(make_push, 1)
    newer["payload"]["containers"][0]["limits"] = {"cpu_cores": 3.0}
    assert push(older).status_code == 201
    assert push(newer).status_code == 201

    row = http.get("/api/v1/sizing/org/mixed", headers=read).json()["jobs"][0]

    runner = next(c for c in row["sizing"]["containers"] if c["name"] == "runner")
    assert row["current_cpu_cores"] == 3.0
    assert row["current_memory_bytes"] == 4 * GIB
    assert row["savings"]["cpu_cores"] == pytest.approx(
        3.0 - runner["cpu"]["request_millicores"] / 1000
    )


def test_repo_sizing_overview_pages_jobs(http, read, seeded):
    """A repository's sizing overview lists its jobs in name order, by page."""
    first = http.get(
        "/api/v1/sizing/org/acme/repo/web", params={"limit": 2}, headers=read
    ).json()
    rest = http.get(
        "/api/v1/sizing/org/acme/repo/web",
        params={"limit": 2, "offset": 2},
        headers=read,
    ).json()

    assert first["repository"] == "acme/web"
    assert [(r["workflow"], r["job"]) for r in first["jobs"] + rest["jobs"]] == [
        ("ci.yml", "build"),
        ("ci.yml", "test"),
        ("nightly.yml", "build"),
    ]
    assert (first["total"], rest["total"]) == (3, 3)
    assert rest["totals"]["jobs_sized"] == 1


def test_sizing_overview_lists_only_jobs_with_runs_in_range(http, read, seeded):
    """from and to choose the jobs listed and the run hours counted."""
    params = {"from": iso(_end_time(35)), "to": iso(_end_time(38))}

    answer = http.get("/api/v1/sizing/org/acme", params=params, headers=read).json()

    inside = [body for body in seeded[35:39] if body["organization"] == "acme"]
    listed = [
        (row["repository"], row["workflow"], row["job"]) for row in answer["jobs"]
    ]
    assert sorted(listed) == sorted(
        {(full_name(body), body["workflow"], body["job"]) for body in inside}
    )
    assert sum(row["runs"] for row in answer["jobs"]) == len(inside)


def test_repeated_push_is_counted_once(http, read, push, make_push):
    """Pushing the same run twice adds it to the KPIs once."""
    body = make_push(organization="solo", repository="one", run_id="same")
    assert push(body).status_code == 201
    assert push(body).status_code == 200

    answer = http.get("/api/v1/metrics/org/solo", headers=read).json()

    assert answer["kpis"]["runs"] == 1
    assert answer["repositories"][0]["kpis"]["runs"] == 1


BAD_QUERIES = (
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-13-01T00:00:00Z"}, "to"),
    ({"from": "2026-03-05T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "from"),
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"colour": "blue"}, "colour"),
)
PATHS = (
    ("/api/v1/metrics/overview", {}),
    ("/api/v1/metrics/org/acme", {}),
    ("/api/v1/metrics/org/acme/repo/web", {}),
    ("/api/v1/sizing/org/acme", {}),
    ("/api/v1/sizing/org/acme/repo/web", {}),
    ("/api/v1/compare/repos", {"org": "acme"}),
    ("/api/v1/compare/workflows", {"org": "acme", "repo": "web"}),
    ("/api/v1/runners", {}),
    ("/api/v1/runners/overview", {}),
    ("/api/v1/runners/r1", {}),
)


def test_bad_query_values_answer_400_naming_the_parameter(http, read):
    """Every endpoint refuses bad from, to, limit and offset, naming the parameter."""
    for path, names in PATHS:
        for params, name in BAD_QUERIES:
            response = http.get(path, params={**names, **params}, headers=read)

            assert response.status_code == 400, (path, params)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["detail"].startswith(f"{name}: "), (path, params)


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/api/v1/compare/repos", {}, "org"),
        ("/api/v1/compare/repos", {"org": "acme", "sort": "speed"}, "sort"),
        ("/api/v1/compare/repos", {"org": "acme", "order": "sideways"}, "order"),
        ("/api/v1/compare/workflows", {"org": "acme"}, "repo"),
        ("/api/v1/compare/workflows", {"repo": "web"}, "org"),
        ("/api/v1/compare/workflows", {"org": "a", "repo": "b", "sort": "x"}, "sort"),
    ],
)
def test_compare_refuses_bad_sort_and_missing_names(http, read, path, params, name):
    """Comparisons need their names and a known sort key and direction."""
    response = http.get(path, params=params, headers=read)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{name}: ")


def test_compare_workflows_refuses_a_repository_of_another_owner(http, read):
    """repo given as owner/name must belong to org."""
    response = http.get(
        "/api/v1/compare/workflows",
        params={"org": "acme", "repo": "beta/tool"},
        headers=read,
    )

    assert response.status_code == 400
    assert response.json()["detail"].startswith("repo: ")


def test_reports_need_the_read_token(http, live_server):
    """Without the read token every report answers 401."""
    for path, names in PATHS:
        response = http.get(path, params=names)

        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_migration_fills_rollups_from_runs_stored_before_it(blank_db_url):
    """Runs stored before the rollups existed are summed once the schema is current."""
    engine = create_engine(blank_db_url)
    migrate(engine, "0001")
    with engine.begin() as connection:
        for number, body in enumerate(RUNS):
            push = parse_push(body)
            connection.execute(
                sa.insert(runs).values(
                    organization=push.organization,
                    repository=push.repository,
                    workflow=push.workflow,
                    job=push.job,
                    run_id=push.run_id,
                    run_attempt=push.run_attempt,
                    received_at=DAY0 + timedelta(days=30, seconds=number),
                    start_time=push.payload.start_time,
                    end_time=push.payload.end_time,
                    status=push.status.value,
                    runner=push.runner,
                    payload=converter.unstructure(push.payload),
                    **attrs.asdict(run_figures(push.payload)),
                )
            )
    settings = Settings(read_token="r" * 32, hmac_keys=("k" * 40,), db_url=blank_db_url)
    app = create_app(settings, engine)
    client = falcon.testing.TestClient(
        app, headers={"Authorization": "Bearer " + "r" * 32}
    )

    answer = client.simulate_get(
        "/api/v1/metrics/overview", params={"from": iso(_end_time(5))}
    ).json
    engine.dispose()

    assert_kpis(answer["kpis"], [b for b in RUNS if end_of(b) >= _end_time(5)])
