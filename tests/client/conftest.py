"""Fixtures for the client tests: one client fixture in sync and async mode.

The receiver is mocked with respx; no server code is imported here.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
import respx

from cisizer.client import AsyncClient, Client
from cisizer.client import _client as client_module
from cisizer.core import (
    Confidence,
    ContainerSizing,
    ContainerSummary,
    CpuPercentile,
    CpuSizing,
    CpuSizingMode,
    CpuTotal,
    EnergyEstimate,
    JobKpis,
    JobSizingReport,
    Kpis,
    Limits,
    MemoryQoS,
    MemorySizing,
    MemoryTotal,
    OrganizationKpis,
    OrganizationReport,
    Override,
    OverrideScope,
    Overview,
    Push,
    PushToken,
    RepositoryComparison,
    RepositoryKpis,
    RepositoryReport,
    Run,
    RunnerList,
    RunnerOverview,
    RunnerReport,
    RunnerSummary,
    RunnerUsage,
    RunStatus,
    Savings,
    Sizing,
    SizingMeta,
    SizingOverview,
    SizingOverviewTotals,
    SizingTotal,
    SortOrder,
    Stats,
    StatusCount,
    StatusStats,
    StoredOverride,
    Summary,
    WorkflowComparison,
    WorkflowKpis,
    WorkflowReport,
)

BASE_URL = "http://cisizer.test"
READ_TOKEN = "read-s3cret"


class SyncedAsyncClient:
    """Drive an :class:`AsyncClient` through the same calls as a :class:`Client`.

    Coroutines run to completion on a private loop; async iterators become
    lazy sync iterators, so page-by-page behaviour stays observable.
    """

    def __init__(self, client: AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self.wrapped = client
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.wrapped, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            if inspect.iscoroutine(result):
                return self._loop.run_until_complete(result)
            if isinstance(result, AsyncIterator):
                return self._iterate(result)
            return result

        return call

    def _iterate(self, items: AsyncIterator[Any]) -> Iterator[Any]:
        while True:
            try:
                yield self._loop.run_until_complete(items.__anext__())
            except StopAsyncIteration:
                return

    def close(self) -> None:
        """Close the wrapped client."""
        self._loop.run_until_complete(self.wrapped.aclose())


@pytest.fixture(autouse=True, scope="session")
def _one_tls_context() -> Iterator[None]:
    """Build httpx's default TLS context once: it costs ~60 ms per client."""
    from httpx._transports import default

    original = getattr(default, "create_ssl_context", None)
    if original is None:
        yield
        return
    cached = functools.cache(original)

    def create_ssl_context(
        verify: Any = True, cert: Any = None, trust_env: bool = True
    ) -> Any:
        return cached(verify, cert, trust_env)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(default, "create_ssl_context", create_ssl_context)
        yield


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Run the test once with the sync client and once with the async one."""
    return str(request.param)


@pytest.fixture
def make_client(mode: str) -> Iterator[Callable[..., Any]]:
    """Build clients of the test's mode; keyword arguments go to the constructor."""
    loop = asyncio.new_event_loop()
    made: list[Any] = []

    def make(
        base_url: str | None = BASE_URL, token: str | None = READ_TOKEN, **kwargs: Any
    ) -> Any:
        client: Any
        if mode == "sync":
            client = Client(base_url, token, **kwargs)
        else:
            client = SyncedAsyncClient(AsyncClient(base_url, token, **kwargs), loop)
        made.append(client)
        return client

    yield make

    for client in made:
        client.close()
    loop.close()


@pytest.fixture
def client(make_client: Callable[..., Any]) -> Any:
    """A client of the test's mode for the mocked receiver, with the read token."""
    return make_client()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """The mocked receiver at ``BASE_URL``."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits between retries instead of sleeping."""
    waited: list[float] = []

    async def async_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(client_module, "_sleep", waited.append)
    monkeypatch.setattr(client_module, "_async_sleep", async_sleep)
    return waited


def make_run(run_id: int = 1, *, runner: str | None = "runner-7") -> Run:
    """Return a stored run of ``my-org/my-repo`` ``ci.yml`` ``build``."""
    start = datetime(2026, 2, 6, 14, 30, 2, 185000, tzinfo=UTC)
    end = datetime(2026, 2, 6, 14, 30, 22, 190000, tzinfo=UTC)
    summary = Summary(
        start_time=start,
        end_time=end,
        duration_seconds=20.0,
        sample_count=11,
        containers=(
            ContainerSummary(
                name="runner",
                cpu_cores=Stats(peak=2.007, avg=1.5, p50=1.817, p95=2.004),
                memory_bytes=Stats(peak=18567168, avg=18567168),
                limits=Limits(cpu_cores=4.0, memory_bytes=4294967296),
                oom_kills=0,
            ),
        ),
        interval_seconds=2.0,
    )
    return Run(
        id=run_id,
        received_at=datetime(2026, 2, 6, 14, 30, 23, 56000, tzinfo=UTC),
        organization="my-org",
        repository="my-org/my-repo",
        workflow="ci.yml",
        job="build",
        run_id=f"run-{run_id}",
        payload=summary,
        runner=runner,
        status=RunStatus.SUCCESS,
    )


def make_sizing() -> Sizing:
    """Return the sizing of DESIGN §5's worked example."""
    return Sizing(
        containers=(
            ContainerSizing(
                name="runner",
                cpu=CpuSizing("960m", "1", 960, 1000, enforced=False),
                memory=MemorySizing("1Gi", "1Gi", 1 << 30, 1 << 30, enforced=True),
            ),
        ),
        total=SizingTotal(
            cpu=CpuTotal("960m", "1", 960, 1000),
            memory=MemoryTotal("1Gi", "1Gi", 1 << 30, 1 << 30),
        ),
        meta=SizingMeta(
            runs_analyzed=5,
            buffer_percent=20,
            cpu_percentile=CpuPercentile.P95,
            cpu_sizing_mode=CpuSizingMode.OBSERVE,
            memory_qos=MemoryQoS.GUARANTEED,
            confidence=Confidence.MEDIUM,
            oom_runs=0,
            overrides=("org",),
        ),
    )


@attrs.frozen
class Samples:
    """One of each model the receiver answers, for building mocked answers."""

    run: Run
    push: Push
    sizing: Sizing
    push_token: PushToken
    override: Override
    stored_override: StoredOverride
    energy: EnergyEstimate
    stats: StatusStats
    make_run: Callable[..., Run]
    kpis: Kpis
    overview: Overview
    organization_report: OrganizationReport
    repository_report: RepositoryReport
    sizing_overview: SizingOverview
    repository_comparison: RepositoryComparison
    workflow_comparison: WorkflowComparison
    runner_list: RunnerList
    runner_overview: RunnerOverview
    runner_report: RunnerReport


def make_kpis(runs: int = 4) -> Kpis:
    """Return the KPIs of ``runs`` runs of ten minutes each."""
    return Kpis(
        runs=runs,
        successes=runs - 1,
        failures=1,
        success_rate=(runs - 1) / runs,
        total_duration_seconds=600.0 * runs,
        avg_duration_seconds=600.0,
        max_duration_seconds=600.0,
        cpu_core_hours=0.5 * runs,
        avg_cores=0.5,
        peak_memory_bytes=700 * 1024**2,
        memory_gib_hours=0.7 * runs,
        energy_wh=1.6 * runs,
        carbon_g=0.9 * runs,
        first_run_at=datetime(2026, 2, 1, tzinfo=UTC),
        last_run_at=datetime(2026, 2, 6, 14, 40, tzinfo=UTC),
    )


def _page(**fields: Any) -> dict[str, Any]:
    return {"total": 1, "limit": 50, "offset": 0, **fields}


def _reports(sizing: Sizing) -> dict[str, Any]:
    kpis = make_kpis()
    savings = Savings(cpu_cores=3.0, memory_gib=3.0, cpu_core_hours=2.0)
    job_sizing = JobSizingReport(
        repository="my-org/my-repo",
        workflow="ci.yml",
        job="build",
        runs=4,
        run_hours=0.67,
        sizing=sizing,
        current_cpu_cores=4.0,
        current_memory_bytes=4 * 1024**3,
        savings=savings,
    )
    organization = OrganizationKpis("my-org", kpis)
    repository = RepositoryKpis("my-org/my-repo", kpis)
    return {
        "kpis": kpis,
        "overview": Overview(**_page(kpis=kpis, organizations=(organization,))),
        "organization_report": OrganizationReport(
            **_page(organization="my-org", kpis=kpis, repositories=(repository,))
        ),
        "repository_report": RepositoryReport(
            **_page(
                organization="my-org",
                repository="my-org/my-repo",
                kpis=kpis,
                workflows=(WorkflowReport("ci.yml", kpis, (JobKpis("build", kpis),)),),
            )
        ),
        "sizing_overview": SizingOverview(
            **_page(
                organization="my-org",
                repository=None,
                totals=SizingOverviewTotals(
                    jobs_sized=1,
                    cpu_request_millicores=960,
                    cpu_limit_millicores=1000,
                    memory_request_bytes=1 << 30,
                    memory_limit_bytes=1 << 30,
                    current_cpu_cores=4.0,
                    current_memory_bytes=4 * 1024**3,
                    savings=savings,
                ),
                jobs=(job_sizing,),
            )
        ),
        "repository_comparison": RepositoryComparison(
            **_page(
                organization="my-org",
                sort="runs",
                order=SortOrder.DESC,
                repositories=(repository,),
            )
        ),
        "workflow_comparison": WorkflowComparison(
            **_page(
                organization="my-org",
                repository="my-org/my-repo",
                sort="energy_wh",
                order=SortOrder.ASC,
                workflows=(WorkflowKpis("ci.yml", kpis),),
            )
        ),
        "runner_list": RunnerList(
            **_page(
                runners=(
                    RunnerSummary(
                        "runner-7",
                        4,
                        datetime(2026, 2, 1, tzinfo=UTC),
                        datetime(2026, 2, 6, 14, 40, tzinfo=UTC),
                    ),
                )
            )
        ),
        "runner_overview": RunnerOverview(
            **_page(
                active_runners=1,
                kpis=kpis,
                utilisation=0.125,
                runners=(RunnerUsage("runner-7", kpis, 0.125),),
            )
        ),
        "runner_report": RunnerReport(
            **_page(
                runner="runner-7",
                kpis=kpis,
                utilisation=0.125,
                organizations=(organization,),
            )
        ),
    }


@pytest.fixture
def samples() -> Samples:
    """One of each model the receiver answers."""
    run = make_run()
    sizing = make_sizing()
    override = Override(
        runs=10, cpu_sizing_mode=CpuSizingMode.ENFORCE, max_memory="8Gi"
    )
    return Samples(
        run=run,
        push=Push(
            organization=run.organization,
            repository=run.repository,
            workflow=run.workflow,
            job=run.job,
            run_id=run.run_id,
            payload=run.payload,
            runner=run.runner,
            status=run.status,
        ),
        sizing=sizing,
        push_token=PushToken(
            token="eyJ.push.token",
            expires_at=datetime(2026, 2, 6, 16, 30, tzinfo=UTC),
            organization="my-org",
            repository="my-org/my-repo",
            workflow="ci.yml",
            job="build",
        ),
        override=override,
        stored_override=StoredOverride(
            scope=OverrideScope("my-org", "my-org/my-repo"),
            override=override,
            updated_at=datetime(2026, 2, 6, 9, 0, tzinfo=UTC),
        ),
        energy=EnergyEstimate(
            runs=3,
            cpu_core_hours=0.25,
            allocated_core_hours=0.5,
            memory_gib_hours=1.5,
            energy_wh=1.6,
            carbon_g=0.9,
            profile="aws",
        ),
        stats=StatusStats(
            total=4,
            success_rate=0.75,
            statuses=(
                StatusCount(RunStatus.SUCCESS, 3, 0.75),
                StatusCount(RunStatus.FAILURE, 1, 0.25),
            ),
        ),
        make_run=make_run,
        **_reports(sizing),
    )
