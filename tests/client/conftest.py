"""Fixtures for the client tests: one client fixture in sync and async mode.

The receiver is mocked with respx; no server code is imported here.
"""

from __future__ import annotations

import asyncio
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
    Limits,
    MemoryQoS,
    MemorySizing,
    MemoryTotal,
    Override,
    OverrideScope,
    Push,
    PushToken,
    Run,
    RunStatus,
    Sizing,
    SizingMeta,
    SizingTotal,
    Stats,
    StatusCount,
    StatusStats,
    StoredOverride,
    Summary,
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


@pytest.fixture
def samples() -> Samples:
    """One of each model the receiver answers."""
    run = make_run()
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
        sizing=make_sizing(),
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
    )
