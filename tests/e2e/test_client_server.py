"""The client against the real receiver on SQLite, in sync and async mode.

Every method's result, turned back into JSON, must equal what the HTTP API
answers for the same request.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cisizer.client import (
    AsyncClient,
    AuthenticationError,
    Client,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from cisizer.core import (
    ContainerSummary,
    CpuPercentile,
    JobKey,
    Limits,
    MemoryQoS,
    Override,
    Push,
    RunStatus,
    Stats,
    Summary,
    converter,
)

JOB = ("my-org", "my-repo", "ci.yml", "build")
BASE_TIME = datetime(2026, 2, 6, 14, 30, tzinfo=UTC)
MIB = 1024**2


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Run these tests on a fresh SQLite file only."""
    return f"sqlite:///{tmp_path / 'cisizer.db'}"


class _Synced:
    """Drive an AsyncClient with plain calls, on one private event loop."""

    def __init__(self, client: AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if inspect.iscoroutine(result):
                return self._loop.run_until_complete(result)
            return self._drain(result)

        return call

    def _drain(self, items: AsyncIterator[Any]) -> Iterator[Any]:
        async def collect() -> list[Any]:
            return [item async for item in items]

        return iter(self._loop.run_until_complete(collect()))


@pytest.fixture(params=["sync", "async"])
def connect(
    request: pytest.FixtureRequest, live_server: Any
) -> Iterator[Callable[..., Any]]:
    """Build clients for the live receiver in the test's mode."""
    loop = asyncio.new_event_loop()
    closers: list[Callable[[], None]] = []

    def build(token: str | None = live_server.read_token) -> Any:
        if request.param == "sync":
            client = Client(live_server.url, token, retries=0)
            closers.append(client.close)
            return client
        async_client = AsyncClient(live_server.url, token, retries=0)
        closers.append(lambda: loop.run_until_complete(async_client.aclose()))
        return _Synced(async_client, loop)

    yield build

    for close in closers:
        close()
    loop.close()


@pytest.fixture
def http(live_server: Any) -> Iterator[httpx.Client]:
    """Raw HTTP to the live receiver with the read token."""
    with httpx.Client(
        base_url=live_server.url, headers=live_server.read_headers, timeout=30
    ) as client:
        yield client


def make_push(
    run_id: str,
    *,
    minutes: int,
    status: RunStatus = RunStatus.SUCCESS,
    runner: str = "runner-7",
    memory_peak: int = 700 * MIB,
) -> Push:
    """Return a push of ``my-org/my-repo ci.yml build`` ending ``minutes`` in."""
    end = BASE_TIME + timedelta(minutes=minutes)
    return Push(
        organization="my-org",
        repository="my-repo",
        workflow="ci.yml",
        job="build",
        run_id=run_id,
        runner=runner,
        status=status,
        payload=Summary(
            start_time=end - timedelta(minutes=10),
            end_time=end,
            duration_seconds=600.0,
            sample_count=300,
            interval_seconds=2.0,
            containers=(
                ContainerSummary(
                    name="runner",
                    cpu_cores=Stats(peak=0.83, avg=0.5, p50=0.6, p95=0.8),
                    memory_bytes=Stats(peak=memory_peak, p95=600 * MIB),
                    limits=Limits(cpu_cores=4.0, memory_bytes=4 * 1024**3),
                    oom_kills=0,
                ),
            ),
        ),
    )


def _json(value: Any) -> Any:
    return converter.unstructure(value)


def _seed(client: Any, count: int = 5) -> list[Any]:
    """Push ``count`` runs with a fresh push token; return the stored runs."""
    token = client.create_push_token(*JOB).token
    statuses = [RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.SUCCESS]
    return [
        client.push_metrics(
            make_push(
                f"run-{number}",
                minutes=10 * (number + 1),
                status=statuses[number % 3],
                runner=f"runner-{number % 2}",
            ),
            token=token,
        )
        for number in range(count)
    ]


def test_health_and_info_match_the_api(
    connect: Callable[..., Any], http: httpx.Client
) -> None:
    """health() and info() equal GET /health and GET /api/v1/info."""
    client = connect()

    assert _json(client.health()) == http.get("/health").json()
    assert _json(client.info()) == http.get("/api/v1/info").json()


def test_push_token_and_push_round_trip(
    connect: Callable[..., Any], http: httpx.Client
) -> None:
    """A token from the client lets the client push; a repeat gives the same run."""
    client = connect()

    token = client.create_push_token(*JOB)
    run = client.push_metrics(make_push("run-1", minutes=10), token=token.token)
    again = client.push_metrics(make_push("run-1", minutes=10), token=token.token)

    assert token.repository == "my-org/my-repo"
    assert token.expires_at > datetime.now(UTC)
    assert run == again
    assert run.repository == "my-org/my-repo"
    assert run.payload == make_push("run-1", minutes=10).payload
    raw = http.get("/api/v1/metrics/repo/my-org/my-repo/ci.yml/build").json()
    assert raw == [_json(run)]


def test_a_client_built_with_the_push_token_can_push(
    connect: Callable[..., Any], live_server: Any
) -> None:
    """A client whose own token is a push token pushes without token=."""
    push_token = live_server.push_token(*JOB)

    run = connect(token=push_token).push_metrics(make_push("run-9", minutes=5))

    assert run.run_id == "run-9"


def test_run_queries_match_the_api(
    connect: Callable[..., Any], http: httpx.Client
) -> None:
    """job, runner and debug metrics, one page or all, equal the raw answers."""
    client = connect()
    stored = _seed(client)
    since = BASE_TIME + timedelta(minutes=20)
    until = BASE_TIME + timedelta(minutes=40)
    window = {"from": "2026-02-06T14:50:00Z", "to": "2026-02-06T15:10:00Z"}
    job_path = "/api/v1/metrics/repo/my-org/my-repo/ci.yml/build"

    page = client.job_metrics(*JOB, from_=since, to=until, limit=2, offset=1)
    every = list(client.iter_job_metrics(*JOB, page_size=2))
    runner = client.runner_metrics("runner-0", limit=10)
    runner_all = list(client.iter_runner_metrics("runner-1", page_size=1))
    debug = client.debug_metrics(limit=3)
    debug_all = list(client.iter_debug_metrics(from_=since, page_size=2))

    assert (
        _json(page)
        == http.get(job_path, params={**window, "limit": 2, "offset": 1}).json()
    )
    assert [run.id for run in every] == [run.id for run in reversed(stored)]
    assert _json(every) == http.get(job_path, params={"limit": 1000}).json()
    assert _json(runner) == http.get("/api/v1/metrics/runner/runner-0").json()
    assert _json(runner_all) == http.get("/api/v1/metrics/runner/runner-1").json()
    assert _json(debug) == http.get("/api/v1/debug/metrics", params={"limit": 3}).json()
    assert _json(debug_all) == (
        http.get("/api/v1/debug/metrics", params={"from": window["from"]}).json()
    )
    assert len(debug_all) == 4


def test_sizing_energy_and_stats_match_the_api(
    connect: Callable[..., Any], http: httpx.Client
) -> None:
    """sizing, energy and pass/fail stats equal the raw answers for the same query."""
    client = connect()
    _seed(client)
    sizing_path = "/api/v1/sizing/repo/my-org/my-repo/ci.yml/build"

    default = client.sizing(*JOB)
    tuned = client.sizing(
        *JOB,
        runs=3,
        buffer=50,
        cpu_percentile=CpuPercentile.PEAK,
        cpu_sizing_mode="enforce",
        memory_qos=MemoryQoS.BURSTABLE,
    )
    since = BASE_TIME + timedelta(minutes=30)
    energy = client.energy(*JOB, from_=since)
    stats = client.success_failure_stats(*JOB, to=since)

    assert _json(default) == http.get(sizing_path).json()
    assert default.containers[0].cpu.request == "960m"
    # Five steady 700 MiB peaks: 700 x 1.1 = 770 MiB, up to 32 MiB steps.
    assert default.containers[0].memory.limit == "800Mi"
    assert (
        _json(tuned)
        == http.get(
            sizing_path,
            params={
                "runs": 3,
                "buffer": 50,
                "cpu_percentile": "peak",
                "cpu_sizing_mode": "enforce",
                "memory_qos": "burstable",
            },
        ).json()
    )
    assert tuned.meta.runs_analyzed == 3
    assert tuned.containers[0].cpu.enforced is True
    assert (
        _json(energy)
        == http.get(
            "/api/v1/energy/repo/my-org/my-repo/ci.yml/build",
            params={"from": "2026-02-06T15:00:00Z"},
        ).json()
    )
    assert energy.runs == 3
    assert (
        _json(stats)
        == http.get(
            "/api/v1/success-failure-stats/repo/my-org/my-repo/ci.yml/build",
            params={"to": "2026-02-06T15:00:00Z"},
        ).json()
    )
    assert stats.total == 3


def test_overrides_round_trip(connect: Callable[..., Any], http: httpx.Client) -> None:
    """set, list, iterate and delete overrides; the sizing applies them."""
    client = connect()
    _seed(client, count=1)

    org = client.set_override("my-org", override=Override(buffer_percent=50))
    job = client.set_override(
        "my-org", "my-repo", "ci.yml", "build", override=Override(max_cpu="500m")
    )
    listed = client.list_overrides()
    walked = list(client.iter_overrides(page_size=1))
    sizing = client.sizing(*JOB)
    client.delete_override("my-org")

    assert org.scope.level == "org"
    assert job.scope.repository == "my-org/my-repo"
    assert listed == [org, job]
    assert walked == listed
    assert sizing.containers[0].cpu.limit == "500m"
    assert sizing.meta.buffer_percent == 50
    assert _json(client.list_overrides()) == http.get("/api/v1/sizing/overrides").json()
    assert client.list_overrides() == [job]


def test_errors_of_the_real_receiver(
    connect: Callable[..., Any], live_server: Any
) -> None:
    """No history, bad token, foreign push token, bad query: each its own error."""
    client = connect()

    with pytest.raises(NotFoundError):
        client.sizing(*JOB)
    with pytest.raises(AuthenticationError):
        connect(token="wrong-token").debug_metrics()
    foreign = client.create_push_token(JobKey("my-org", "my-repo", "ci.yml", "test"))
    with pytest.raises(PermissionDeniedError):
        client.push_metrics(make_push("run-1", minutes=10), token=foreign.token)
    with pytest.raises(InvalidRequestError) as caught:
        client.sizing(*JOB, runs=0)
    with pytest.raises(NotFoundError):
        client.delete_override("nobody")

    assert caught.value.detail is not None
    assert caught.value.detail.startswith("runs")


REPORTS: list[tuple[str, Callable[[Any], Any], str, dict[str, Any]]] = [
    (
        "metrics_overview",
        lambda c: c.metrics_overview(),
        "/api/v1/metrics/overview",
        {},
    ),
    (
        "organization_metrics",
        lambda c: c.organization_metrics("my-org", limit=1, offset=1),
        "/api/v1/metrics/org/my-org",
        {"limit": 1, "offset": 1},
    ),
    (
        "repository_metrics",
        lambda c: c.repository_metrics("my-org", "my-org/my-repo"),
        "/api/v1/metrics/org/my-org/repo/my-repo",
        {},
    ),
    (
        "organization_sizing",
        lambda c: c.organization_sizing("my-org"),
        "/api/v1/sizing/org/my-org",
        {},
    ),
    (
        "repository_sizing",
        lambda c: c.repository_sizing(
            "my-org", "my-repo", to=BASE_TIME + timedelta(hours=1)
        ),
        "/api/v1/sizing/org/my-org/repo/my-repo",
        {"to": "2026-02-06T15:30:00Z"},
    ),
    (
        "compare_repositories",
        lambda c: c.compare_repositories("my-org", sort="energy_wh", order="asc"),
        "/api/v1/compare/repos",
        {"org": "my-org", "sort": "energy_wh", "order": "asc"},
    ),
    (
        "compare_workflows",
        lambda c: c.compare_workflows("my-org", "my-repo"),
        "/api/v1/compare/workflows",
        {"org": "my-org", "repo": "my-repo"},
    ),
    ("list_runners", lambda c: c.list_runners(), "/api/v1/runners", {}),
    (
        "runners_overview",
        lambda c: c.runners_overview(from_=BASE_TIME),
        "/api/v1/runners/overview",
        {"from": "2026-02-06T14:30:00Z"},
    ),
    (
        "runner_report",
        lambda c: c.runner_report("runner-0"),
        "/api/v1/runners/runner-0",
        {},
    ),
]


def _seed_two_repositories(client: Any) -> None:
    _seed(client, count=4)
    other = JobKey("my-org", "my-org/other-repo", "release.yml", "publish")
    token = client.create_push_token(other).token
    push = make_push("run-x", minutes=15, runner="runner-2")
    moved = Push(
        organization="my-org",
        repository="other-repo",
        workflow="release.yml",
        job="publish",
        run_id="run-x",
        runner="runner-2",
        payload=push.payload,
    )
    client.push_metrics(moved, token=token)


def test_reports_match_the_api(connect: Callable[..., Any], http: httpx.Client) -> None:
    """Each aggregation, comparison and runner report equals the raw answer."""
    client = connect()
    _seed_two_repositories(client)

    for name, call, path, params in REPORTS:
        report = call(client)
        raw = http.get(path, params=params)

        assert raw.status_code == 200, (name, raw.text)
        assert _json(report) == raw.json(), name


def test_report_iterators_walk_every_row(
    connect: Callable[..., Any], http: httpx.Client
) -> None:
    """Each report iterator yields the rows of the whole list, one row a page."""
    client = connect()
    _seed_two_repositories(client)

    repositories = list(client.iter_organization_metrics("my-org", page_size=1))
    jobs = list(client.iter_organization_sizing("my-org", page_size=1))
    runners = list(client.iter_runners(page_size=1))
    fleet = list(client.iter_runners_overview(page_size=1))
    compared = list(client.iter_compare_repositories("my-org", page_size=1))
    organizations = list(client.iter_metrics_overview(page_size=1))
    workflows = list(client.iter_repository_metrics("my-org", "my-repo", page_size=1))
    by_workflow = list(client.iter_compare_workflows("my-org", "my-repo", page_size=1))
    runner_orgs = list(client.iter_runner_report("runner-2", page_size=1))
    repo_jobs = list(client.iter_repository_sizing("my-org", "my-repo", page_size=1))

    assert [row.repository for row in repositories] == [
        "my-org/my-repo",
        "my-org/other-repo",
    ]
    assert [(row.repository, row.job) for row in jobs] == [
        ("my-org/my-repo", "build"),
        ("my-org/other-repo", "publish"),
    ]
    assert _json(runners) == http.get("/api/v1/runners").json()["runners"]
    assert _json(fleet) == http.get("/api/v1/runners/overview").json()["runners"]
    assert {row.repository for row in compared} == {
        "my-org/my-repo",
        "my-org/other-repo",
    }
    assert [row.organization for row in organizations] == ["my-org"]
    assert [row.workflow for row in workflows] == ["ci.yml"]
    assert [row.workflow for row in by_workflow] == ["ci.yml"]
    assert [row.organization for row in runner_orgs] == ["my-org"]
    assert [row.job for row in repo_jobs] == ["build"]


def test_names_with_spaces_percents_and_dots_round_trip(
    connect: Callable[..., Any],
) -> None:
    """A workflow 'ci main%.yml' and a job named '..' reach their own job.

    Note: a name with "/" is not tried: the WSGI server decodes %2F in the
    path before routing, so the receiver cannot address it (see limitations).
    """
    client = connect()
    job = JobKey("my-org", "my-org/my-repo", "ci main%.yml", "..")
    token = client.create_push_token(job).token
    base = make_push("run-1", minutes=10)
    push = Push(
        organization=job.organization,
        repository=job.repository,
        workflow=job.workflow,
        job=job.job,
        run_id="run-1",
        payload=base.payload,
    )

    stored = client.push_metrics(push, token=token)
    runs = client.job_metrics("my-org", "my-repo", job.workflow, job.job)
    sizing = client.sizing("my-org", "my-repo", job.workflow, job.job)

    assert [run.id for run in runs] == [stored.id]
    assert sizing.meta.runs_analyzed == 1
