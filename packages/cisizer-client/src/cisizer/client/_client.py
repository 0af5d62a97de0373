"""The sync and async clients, side by side, one method per endpoint.

Both send the calls built in :mod:`cisizer.client._endpoints` and walk the
pagers of :mod:`cisizer.client._pages` through the decisions of
:mod:`cisizer.client._http`; they differ only in waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from cisizer.client import _endpoints as endpoints
from cisizer.client import _pages as pages
from cisizer.client._endpoints import Call
from cisizer.client._errors import ConfigurationError
from cisizer.client._http import DEFAULT_TIMEOUT, Exchange, Timeout, resolve_settings
from cisizer.client._pages import Pager
from cisizer.client._retry import RetryPolicy
from cisizer.core import (
    CpuPercentile,
    CpuSizingMode,
    EnergyEstimate,
    Health,
    Info,
    JobKey,
    JobSizingReport,
    MemoryQoS,
    OrganizationKpis,
    OrganizationReport,
    Override,
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
    Sizing,
    SizingOverview,
    SortOrder,
    StatusStats,
    StoredOverride,
    WorkflowComparison,
    WorkflowKpis,
    WorkflowReport,
)

__all__ = ["AsyncClient", "Client"]

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 200

# Looked up at call time so tests can replace them.
_sleep = time.sleep
_async_sleep = asyncio.sleep


def _job_key(
    organization: JobKey | str,
    repository: str | None,
    workflow: str | None,
    job: str | None,
) -> JobKey:
    if isinstance(organization, JobKey):
        if repository is not None or workflow is not None or job is not None:
            raise TypeError("pass a JobKey or organization, repository, workflow, job")
        return organization
    if repository is None or workflow is None or job is None:
        raise TypeError("organization, repository, workflow and job are all required")
    return JobKey(organization, repository, workflow, job)


class _Base:
    def __init__(
        self,
        base_url: str | None,
        token: str | None,
        *,
        timeout: Timeout,
        retries: int,
        backoff: float,
    ) -> None:
        if retries < 0 or backoff < 0:
            raise ConfigurationError("retries and backoff must not be negative")
        url, resolved = resolve_settings(base_url, token)
        self._exchange = Exchange(url, resolved, timeout, RetryPolicy(retries, backoff))

    @property
    def base_url(self) -> str:
        """The receiver's URL, without a trailing slash."""
        return self._exchange.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


class Client(_Base):
    """A blocking client for a CI Sizer receiver.

    ``base_url`` and ``token`` default to ``CISIZER_URL`` and
    ``CISIZER_READ_TOKEN``.  Every request has ``timeout`` seconds (an
    :class:`httpx.Timeout`, or ``None`` for none); GET, PUT, DELETE and
    metric pushes are retried up to ``retries`` times on connection errors,
    429 and 5xx, waiting ``backoff * 2**n`` seconds (jittered) or what
    ``Retry-After`` asks.  An ``http_client`` passed in is used as is and
    left open; otherwise the client owns one, closed by :meth:`close` or
    the ``with`` block.
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.5,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            base_url, token, timeout=timeout, retries=retries, backoff=backoff
        )
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client()

    def close(self) -> None:
        """Close the HTTP connections, unless the httpx client was passed in."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, call: Call[T]) -> T:
        exchange = self._exchange
        attempt = 0
        while True:
            request = exchange.build(self._http, call)
            started = time.perf_counter()
            try:
                response = self._http.send(request)
            except httpx.HTTPError as error:
                exchange.log_failure(request, error, started)
                delay = exchange.retry_after_failure(call, error, attempt)
                if delay is None:
                    raise exchange.failure(request, error) from error
            else:
                exchange.log_answer(request, response, started)
                delay = exchange.retry_after_answer(call, response, attempt)
                if delay is None:
                    return exchange.result(call, request, response)
            _sleep(delay)
            attempt += 1

    def _walk(self, pager: Pager[Any, T]) -> Iterator[T]:
        call = pager.next_call()
        while call is not None:
            yield from pager.take(self._send(call))
            call = pager.next_call()

    def health(self) -> Health:
        """Return the receiver's health (``GET /health``, no token needed)."""
        return self._send(endpoints.health())

    def info(self) -> Info:
        """Return the receiver's version, auth mode and CI provider."""
        return self._send(endpoints.info())

    def create_push_token(
        self,
        organization: JobKey | str,
        repository: str | None = None,
        workflow: str | None = None,
        job: str | None = None,
    ) -> PushToken:
        """Return a new push token for one job; needs the read token.

        Pass a :class:`~cisizer.core.JobKey` or organization, repository,
        workflow and job.  Never retried: a lost answer would leave an
        unknown token behind, so a failure is raised at once.
        """
        key = _job_key(organization, repository, workflow, job)
        return self._send(endpoints.create_push_token(key))

    def push_metrics(self, push: Push, *, token: str | None = None) -> Run:
        """Store one job summary and return the stored run.

        Sent with ``token`` if given, else the client's token, which must
        then be a push token for the push's job.  Retried like a GET: the
        receiver stores a repeated push once and answers the first row.
        """
        return self._send(endpoints.push_metrics(push, token))

    def job_metrics(
        self,
        organization: str,
        repository: str,
        workflow: str,
        job: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[Run]:
        """Return one page of a job's stored runs, newest first."""
        key = JobKey(organization, repository, workflow, job)
        return self._send(
            endpoints.job_metrics(key, from_=from_, to=to, limit=limit, offset=offset)
        )

    def iter_job_metrics(
        self,
        organization: str,
        repository: str,
        workflow: str,
        job: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[Run]:
        """Yield every stored run of a job, newest first, fetching page after page."""
        key = JobKey(organization, repository, workflow, job)
        return self._walk(
            pages.job_metrics(key, from_=from_, to=to, page_size=page_size)
        )

    def runner_metrics(
        self,
        runner: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[Run]:
        """Return one page of the runs a runner executed, newest first."""
        return self._send(
            endpoints.runner_metrics(
                runner, from_=from_, to=to, limit=limit, offset=offset
            )
        )

    def iter_runner_metrics(
        self,
        runner: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[Run]:
        """Yield every run a runner executed, newest first, page after page."""
        return self._walk(
            pages.runner_metrics(runner, from_=from_, to=to, page_size=page_size)
        )

    def debug_metrics(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[Run]:
        """Return one page of all stored runs, newest first."""
        return self._send(
            endpoints.debug_metrics(from_=from_, to=to, limit=limit, offset=offset)
        )

    def iter_debug_metrics(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[Run]:
        """Yield every stored run, newest first, page after page."""
        return self._walk(pages.debug_metrics(from_=from_, to=to, page_size=page_size))

    def sizing(
        self,
        organization: str,
        repository: str,
        workflow: str,
        job: str,
        *,
        runs: int | None = None,
        buffer: int | None = None,
        cpu_percentile: CpuPercentile | str | None = None,
        cpu_sizing_mode: CpuSizingMode | str | None = None,
        memory_qos: MemoryQoS | str | None = None,
    ) -> Sizing:
        """Return the recommended requests and limits for a job's next run.

        Parameters left ``None`` take the receiver's overrides and defaults.
        Raises :class:`~cisizer.client.NotFoundError` while the job has no
        history.
        """
        key = JobKey(organization, repository, workflow, job)
        return self._send(
            endpoints.sizing(
                key,
                runs=runs,
                buffer=buffer,
                cpu_percentile=cpu_percentile,
                cpu_sizing_mode=cpu_sizing_mode,
                memory_qos=memory_qos,
            )
        )

    def energy(
        self,
        organization: str,
        repository: str,
        workflow: str,
        job: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> EnergyEstimate:
        """Return the energy and carbon of a job's runs ending in the range."""
        key = JobKey(organization, repository, workflow, job)
        return self._send(endpoints.energy(key, from_=from_, to=to))

    def success_failure_stats(
        self,
        organization: str,
        repository: str,
        workflow: str,
        job: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> StatusStats:
        """Return how a job's runs in the range ended, counted per status."""
        key = JobKey(organization, repository, workflow, job)
        return self._send(endpoints.success_failure_stats(key, from_=from_, to=to))

    def list_overrides(
        self, *, limit: int | None = None, offset: int | None = None
    ) -> list[StoredOverride]:
        """Return one page of the sizing overrides, wider scopes first."""
        return self._send(endpoints.list_overrides(limit=limit, offset=offset))

    def iter_overrides(
        self, *, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[StoredOverride]:
        """Yield every sizing override, wider scopes first, page after page."""
        return self._walk(pages.overrides(page_size=page_size))

    def set_override(
        self,
        organization: str,
        repository: str | None = None,
        workflow: str | None = None,
        job: str | None = None,
        *,
        override: Override,
    ) -> StoredOverride:
        """Create or replace the sizing override of an org, repo, workflow or job."""
        return self._send(
            endpoints.set_override(override, organization, repository, workflow, job)
        )

    def delete_override(
        self,
        organization: str,
        repository: str | None = None,
        workflow: str | None = None,
        job: str | None = None,
    ) -> None:
        """Remove the sizing override of an org, repo, workflow or job."""
        self._send(endpoints.delete_override(organization, repository, workflow, job))

    def metrics_overview(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Overview:
        """Return the global KPIs with one page of per-organization rows."""
        return self._send(
            endpoints.metrics_overview(from_=from_, to=to, limit=limit, offset=offset)
        )

    def iter_metrics_overview(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[OrganizationKpis]:
        """Yield the KPIs of every organization, page after page."""
        return self._walk(
            pages.metrics_overview(from_=from_, to=to, page_size=page_size)
        )

    def organization_metrics(
        self,
        organization: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> OrganizationReport:
        """Return an organization's KPIs with one page of per-repository rows."""
        return self._send(
            endpoints.organization_metrics(
                organization, from_=from_, to=to, limit=limit, offset=offset
            )
        )

    def iter_organization_metrics(
        self,
        organization: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[RepositoryKpis]:
        """Yield the KPIs of every repository of an organization, page after page."""
        return self._walk(
            pages.organization_metrics(
                organization, from_=from_, to=to, page_size=page_size
            )
        )

    def repository_metrics(
        self,
        organization: str,
        repository: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RepositoryReport:
        """Return a repository's KPIs with one page of per-workflow rows."""
        return self._send(
            endpoints.repository_metrics(
                organization, repository, from_=from_, to=to, limit=limit, offset=offset
            )
        )

    def iter_repository_metrics(
        self,
        organization: str,
        repository: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[WorkflowReport]:
        """Yield the KPIs of every workflow of a repository, page after page."""
        return self._walk(
            pages.repository_metrics(
                organization, repository, from_=from_, to=to, page_size=page_size
            )
        )

    def organization_sizing(
        self,
        organization: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> SizingOverview:
        """Return the sizing and savings of one page of an organization's jobs."""
        return self._send(
            endpoints.organization_sizing(
                organization, from_=from_, to=to, limit=limit, offset=offset
            )
        )

    def iter_organization_sizing(
        self,
        organization: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[JobSizingReport]:
        """Yield the sizing report of every job of an organization, page after page."""
        return self._walk(
            pages.organization_sizing(
                organization, from_=from_, to=to, page_size=page_size
            )
        )

    def repository_sizing(
        self,
        organization: str,
        repository: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> SizingOverview:
        """Return the current sizing and savings of one page of a repository's jobs."""
        return self._send(
            endpoints.repository_sizing(
                organization, repository, from_=from_, to=to, limit=limit, offset=offset
            )
        )

    def iter_repository_sizing(
        self,
        organization: str,
        repository: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[JobSizingReport]:
        """Yield the sizing report of every job of a repository, page after page."""
        return self._walk(
            pages.repository_sizing(
                organization, repository, from_=from_, to=to, page_size=page_size
            )
        )

    def compare_repositories(
        self,
        organization: str,
        *,
        sort: str | None = None,
        order: SortOrder | str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RepositoryComparison:
        """Return one page of an organization's repositories, sorted by a KPI."""
        return self._send(
            endpoints.compare_repositories(
                organization,
                sort=sort,
                order=order,
                from_=from_,
                to=to,
                limit=limit,
                offset=offset,
            )
        )

    def iter_compare_repositories(
        self,
        organization: str,
        *,
        sort: str | None = None,
        order: SortOrder | str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[RepositoryKpis]:
        """Yield an organization's repositories sorted by a KPI, page after page."""
        return self._walk(
            pages.compare_repositories(
                organization,
                sort=sort,
                order=order,
                from_=from_,
                to=to,
                page_size=page_size,
            )
        )

    def compare_workflows(
        self,
        organization: str,
        repository: str,
        *,
        sort: str | None = None,
        order: SortOrder | str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> WorkflowComparison:
        """Return one page of a repository's workflows, sorted by a KPI."""
        return self._send(
            endpoints.compare_workflows(
                organization,
                repository,
                sort=sort,
                order=order,
                from_=from_,
                to=to,
                limit=limit,
                offset=offset,
            )
        )

    def iter_compare_workflows(
        self,
        organization: str,
        repository: str,
        *,
        sort: str | None = None,
        order: SortOrder | str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[WorkflowKpis]:
        """Yield every workflow of a repository, sorted by a KPI, page after page."""
        return self._walk(
            pages.compare_workflows(
                organization,
                repository,
                sort=sort,
                order=order,
                from_=from_,
                to=to,
                page_size=page_size,
            )
        )

    def list_runners(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RunnerList:
        """Return one page of the runners that served runs in the range."""
        return self._send(
            endpoints.list_runners(from_=from_, to=to, limit=limit, offset=offset)
        )

    def iter_runners(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[RunnerSummary]:
        """Yield every runner that served runs in the range, page after page."""
        return self._walk(pages.runners(from_=from_, to=to, page_size=page_size))

    def runners_overview(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RunnerOverview:
        """Return the fleet's KPIs and utilisation with one page of per-runner rows."""
        return self._send(
            endpoints.runners_overview(from_=from_, to=to, limit=limit, offset=offset)
        )

    def iter_runners_overview(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[RunnerUsage]:
        """Yield the usage of every active runner, page after page."""
        return self._walk(
            pages.runners_overview(from_=from_, to=to, page_size=page_size)
        )

    def runner_report(
        self,
        runner: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RunnerReport:
        """Return a runner's KPIs and utilisation with one page of per-org rows."""
        return self._send(
            endpoints.runner_report(
                runner, from_=from_, to=to, limit=limit, offset=offset
            )
        )

    def iter_runner_report(
        self,
        runner: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[OrganizationKpis]:
        """Yield the KPIs of every organization a runner served, page after page."""
        return self._walk(
            pages.runner_report(runner, from_=from_, to=to, page_size=page_size)
        )


class AsyncClient(_Base):
    """The asyncio twin of :class:`Client`: same methods, awaited.

    ``iter_*`` methods return async iterators (``async for``).  An
    ``http_client`` passed in is used as is and left open; otherwise the
    client owns one, closed by :meth:`aclose` or the ``async with`` block.
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.5,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            base_url, token, timeout=timeout, retries=retries, backoff=backoff
        )
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient()

    async def aclose(self) -> None:
        """Close the HTTP connections, unless the httpx client was passed in."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _send(self, call: Call[T]) -> T:
        exchange = self._exchange
        attempt = 0
        while True:
            request = exchange.build(self._http, call)
            started = time.perf_counter()
            try:
                response = await self._http.send(request)
            except httpx.HTTPError as error:
                exchange.log_failure(request, error, started)
                delay = exchange.retry_after_failure(call, error, attempt)
                if delay is None:
                    raise exchange.failure(request, error) from error
            else:
                exchange.log_answer(request, response, started)
                delay = exchange.retry_after_answer(call, response, attempt)
                if delay is None:
                    return exchange.result(call, request, response)
            await _async_sleep(delay)
            attempt += 1

    async def _walk(self, pager: Pager[Any, T]) -> AsyncIterator[T]:
        call = pager.next_call()
        while call is not None:
            for item in pager.take(await self._send(call)):
                yield item
            call = pager.next_call()

    async def health(self) -> Health:
        """Return the receiver's health (``GET /health``, no token needed)."""
        return await self._send(endpoints.health())

    async def info(self) -> Info:
        """Return the receiver's version, auth mode and CI provider."""
        return await self._send(endpoints.info())

    async def create_push_token(
        self,
        organization: JobKey | str,
        repository: str | None = None,
        workflow: str | None = None,
        job: str | None = None,
    ) -> PushToken:
        """Return a new push token for one job; needs the read token.

        Pass a :class:`~cisizer.core.JobKey` or organization, repository,
        workflow and job.  Never retried: a lost answer would leave an
        unknown token behind, so a failure is raised at once.
        """
        key = _job_key(organization, repository, workflow, job)
        return await self._send(endpoints.create_push_token(key))

    async def push_metrics(self, push: Push, *, token: str | None = None) -> Run:
        """Store one job summary and return the stored run.

        Sent with ``token`` if given, else the client's token, which must
        then be a push token for the push's job.  Retried like a GET: the
        receiver stores a repeated push once and answers the first row.
        """
        return await self._send(endpoints.push_metrics(push, token))

    async def job_metrics(
        self,
        organization: str,
        repository: str,
        workflow: str,
        job: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[Run]:
        """Return one page of a job's stored runs, newest first."""
        key = JobKey(organization, repository, workflow, job)
        return await self._send(
            endpoints.job_metrics(key, from_=from_, to=to, limit=limit, offset=offset)
        )

    def iter_job_metrics(
        self,
        organization: str,
        repository: str,
        workflow: str,
        job: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[Run]:
        """Yield every stored run of a job, newest first, fetching page after page."""
        key = JobKey(organization, repository, workflow, job)
        return self._walk(
            pages.job_metrics(key, from_=from_, to=to, page_size=page_size)
        )

    async def runner_metrics(
        self,
        runner: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[Run]:
        """Return one page of the runs a runner executed, newest first."""
        return await self._send(
            endpoints.runner_metrics(
                runner, from_=from_, to=to, limit=limit, offset=offset
            )
        )

    def iter_runner_metrics(
        self,
        runner: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[Run]:
        """Yield every run a runner executed, newest first, page after page."""
        return self._walk(
            pages.runner_metrics(runner, from_=from_, to=to, page_size=page_size)
        )

    async def debug_metrics(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[Run]:
        """Return one page of all stored runs, newest first."""
        return await self._send(
            endpoints.debug_metrics(from_=from_, to=to, limit=limit, offset=offset)
        )

    def iter_debug_metrics(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[Run]:
        """Yield every stored run, newest first, page after page."""
        return self._walk(pages.debug_metrics(from_=from_, to=to, page_size=page_size))

    async def sizing(
        self,
        organization: str,
        repository: str,
        workflow: str,
        job: str,
        *,
        runs: int | None = None,
        buffer: int | None = None,
        cpu_percentile: CpuPercentile | str | None = None,
        cpu_sizing_mode: CpuSizingMode | str | None = None,
        memory_qos: MemoryQoS | str | None = None,
    ) -> Sizing:
        """Return the recommended requests and limits for a job's next run.

        Parameters left ``None`` take the receiver's overrides and defaults.
        Raises :class:`~cisizer.client.NotFoundError` while the job has no
        history.
        """
        key = JobKey(organization, repository, workflow, job)
        return await self._send(
            endpoints.sizing(
                key,
                runs=runs,
                buffer=buffer,
                cpu_percentile=cpu_percentile,
                cpu_sizing_mode=cpu_sizing_mode,
                memory_qos=memory_qos,
            )
        )

    async def energy(
        self,
        organization: str,
        repository: str,
        workflow: str,
        job: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> EnergyEstimate:
        """Return the energy and carbon of a job's runs ending in the range."""
        key = JobKey(organization, repository, workflow, job)
        return await self._send(endpoints.energy(key, from_=from_, to=to))

    async def success_failure_stats(
        self,
        organization: str,
        repository: str,
        workflow: str,
        job: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> StatusStats:
        """Return how a job's runs in the range ended, counted per status."""
        key = JobKey(organization, repository, workflow, job)
        return await self._send(
            endpoints.success_failure_stats(key, from_=from_, to=to)
        )

    async def list_overrides(
        self, *, limit: int | None = None, offset: int | None = None
    ) -> list[StoredOverride]:
        """Return one page of the sizing overrides, wider scopes first."""
        return await self._send(endpoints.list_overrides(limit=limit, offset=offset))

    def iter_overrides(
        self, *, page_size: int = DEFAULT_PAGE_SIZE
    ) -> AsyncIterator[StoredOverride]:
        """Yield every sizing override, wider scopes first, page after page."""
        return self._walk(pages.overrides(page_size=page_size))

    async def set_override(
        self,
        organization: str,
        repository: str | None = None,
        workflow: str | None = None,
        job: str | None = None,
        *,
        override: Override,
    ) -> StoredOverride:
        """Create or replace the sizing override of an org, repo, workflow or job."""
        return await self._send(
            endpoints.set_override(override, organization, repository, workflow, job)
        )

    async def delete_override(
        self,
        organization: str,
        repository: str | None = None,
        workflow: str | None = None,
        job: str | None = None,
    ) -> None:
        """Remove the sizing override of an org, repo, workflow or job."""
        await self._send(
            endpoints.delete_override(organization, repository, workflow, job)
        )

    async def metrics_overview(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Overview:
        """Return the global KPIs with one page of per-organization rows."""
        return await self._send(
            endpoints.metrics_overview(from_=from_, to=to, limit=limit, offset=offset)
        )

    def iter_metrics_overview(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[OrganizationKpis]:
        """Yield the KPIs of every organization, page after page."""
        return self._walk(
            pages.metrics_overview(from_=from_, to=to, page_size=page_size)
        )

    async def organization_metrics(
        self,
        organization: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> OrganizationReport:
        """Return an organization's KPIs with one page of per-repository rows."""
        return await self._send(
            endpoints.organization_metrics(
                organization, from_=from_, to=to, limit=limit, offset=offset
            )
        )

    def iter_organization_metrics(
        self,
        organization: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[RepositoryKpis]:
        """Yield the KPIs of every repository of an organization, page after page."""
        return self._walk(
            pages.organization_metrics(
                organization, from_=from_, to=to, page_size=page_size
            )
        )

    async def repository_metrics(
        self,
        organization: str,
        repository: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RepositoryReport:
        """Return a repository's KPIs with one page of per-workflow rows."""
        return await self._send(
            endpoints.repository_metrics(
                organization, repository, from_=from_, to=to, limit=limit, offset=offset
            )
        )

    def iter_repository_metrics(
        self,
        organization: str,
        repository: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[WorkflowReport]:
        """Yield the KPIs of every workflow of a repository, page after page."""
        return self._walk(
            pages.repository_metrics(
                organization, repository, from_=from_, to=to, page_size=page_size
            )
        )

    async def organization_sizing(
        self,
        organization: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> SizingOverview:
        """Return the sizing and savings of one page of an organization's jobs."""
        return await self._send(
            endpoints.organization_sizing(
                organization, from_=from_, to=to, limit=limit, offset=offset
            )
        )

    def iter_organization_sizing(
        self,
        organization: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[JobSizingReport]:
        """Yield the sizing report of every job of an organization, page after page."""
        return self._walk(
            pages.organization_sizing(
                organization, from_=from_, to=to, page_size=page_size
            )
        )

    async def repository_sizing(
        self,
        organization: str,
        repository: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> SizingOverview:
        """Return the current sizing and savings of one page of a repository's jobs."""
        return await self._send(
            endpoints.repository_sizing(
                organization, repository, from_=from_, to=to, limit=limit, offset=offset
            )
        )

    def iter_repository_sizing(
        self,
        organization: str,
        repository: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[JobSizingReport]:
        """Yield the sizing report of every job of a repository, page after page."""
        return self._walk(
            pages.repository_sizing(
                organization, repository, from_=from_, to=to, page_size=page_size
            )
        )

    async def compare_repositories(
        self,
        organization: str,
        *,
        sort: str | None = None,
        order: SortOrder | str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RepositoryComparison:
        """Return one page of an organization's repositories, sorted by a KPI."""
        return await self._send(
            endpoints.compare_repositories(
                organization,
                sort=sort,
                order=order,
                from_=from_,
                to=to,
                limit=limit,
                offset=offset,
            )
        )

    def iter_compare_repositories(
        self,
        organization: str,
        *,
        sort: str | None = None,
        order: SortOrder | str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[RepositoryKpis]:
        """Yield an organization's repositories sorted by a KPI, page after page."""
        return self._walk(
            pages.compare_repositories(
                organization,
                sort=sort,
                order=order,
                from_=from_,
                to=to,
                page_size=page_size,
            )
        )

    async def compare_workflows(
        self,
        organization: str,
        repository: str,
        *,
        sort: str | None = None,
        order: SortOrder | str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> WorkflowComparison:
        """Return one page of a repository's workflows, sorted by a KPI."""
        return await self._send(
            endpoints.compare_workflows(
                organization,
                repository,
                sort=sort,
                order=order,
                from_=from_,
                to=to,
                limit=limit,
                offset=offset,
            )
        )

    def iter_compare_workflows(
        self,
        organization: str,
        repository: str,
        *,
        sort: str | None = None,
        order: SortOrder | str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[WorkflowKpis]:
        """Yield every workflow of a repository, sorted by a KPI, page after page."""
        return self._walk(
            pages.compare_workflows(
                organization,
                repository,
                sort=sort,
                order=order,
                from_=from_,
                to=to,
                page_size=page_size,
            )
        )

    async def list_runners(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RunnerList:
        """Return one page of the runners that served runs in the range."""
        return await self._send(
            endpoints.list_runners(from_=from_, to=to, limit=limit, offset=offset)
        )

    def iter_runners(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[RunnerSummary]:
        """Yield every runner that served runs in the range, page after page."""
        return self._walk(pages.runners(from_=from_, to=to, page_size=page_size))

    async def runners_overview(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RunnerOverview:
        """Return the fleet's KPIs and utilisation with one page of per-runner rows."""
        return await self._send(
            endpoints.runners_overview(from_=from_, to=to, limit=limit, offset=offset)
        )

    def iter_runners_overview(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[RunnerUsage]:
        """Yield the usage of every active runner, page after page."""
        return self._walk(
            pages.runners_overview(from_=from_, to=to, page_size=page_size)
        )

    async def runner_report(
        self,
        runner: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RunnerReport:
        """Return a runner's KPIs and utilisation with one page of per-org rows."""
        return await self._send(
            endpoints.runner_report(
                runner, from_=from_, to=to, limit=limit, offset=offset
            )
        )

    def iter_runner_report(
        self,
        runner: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[OrganizationKpis]:
        """Yield the KPIs of every organization a runner served, page after page."""
        return self._walk(
            pages.runner_report(runner, from_=from_, to=to, page_size=page_size)
        )
