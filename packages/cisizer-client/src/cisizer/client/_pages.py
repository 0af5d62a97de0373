"""Walking a paginated list page after page.

:class:`Pager` holds the walk; the functions after it build the pager of
each listing endpoint once, so both clients walk the same pages.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import Generic, Protocol, TypeVar

from cisizer.client import _endpoints as endpoints
from cisizer.client._endpoints import Call
from cisizer.client._errors import InvalidArgumentError
from cisizer.core import (
    JobKey,
    JobSizingReport,
    OrganizationKpis,
    OrganizationReport,
    OverrideScope,
    Overview,
    RepositoryComparison,
    RepositoryKpis,
    RepositoryReport,
    Run,
    RunnerList,
    RunnerOverview,
    RunnerReport,
    RunnerSummary,
    RunnerUsage,
    SizingOverview,
    SortOrder,
    StoredOverride,
    WorkflowComparison,
    WorkflowKpis,
    WorkflowReport,
)

__all__ = ["MAX_PAGE_SIZE", "PageCall", "Pager", "override_key", "run_key"]

P = TypeVar("P")
I = TypeVar("I")  # noqa: E741
R = TypeVar("R", bound="_Report")

MAX_PAGE_SIZE = 1000


class PageCall(Protocol[P]):
    """Builds the call for the page of ``limit`` rows starting at ``offset``."""

    def __call__(self, *, limit: int, offset: int) -> Call[P]: ...


class Pager(Generic[P, I]):
    """Decides which page to fetch next and which of its items are new.

    ``items_of`` picks the items out of a page; ``total_of`` returns the
    page's ``total`` when the endpoint reports one, else ``None``, in which
    case a short page is the last.  ``key`` identifies an item, so that one
    pushed ahead by newer rows between two fetches is not yielded twice.
    """

    def __init__(
        self,
        call_at: PageCall[P],
        items_of: Callable[[P], Sequence[I]],
        *,
        page_size: int,
        total_of: Callable[[P], int | None] = lambda page: None,
        key: Callable[[I], Hashable] | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidArgumentError(
                f"page_size: must be between 1 and {MAX_PAGE_SIZE}"
            )
        self._call_at = call_at
        self._items_of = items_of
        self._total_of = total_of
        self._key = key
        self._page_size = page_size
        self._offset: int | None = 0
        self._previous: set[Hashable] = set()

    def next_call(self) -> Call[P] | None:
        """Return the call for the next page, or ``None`` after the last."""
        if self._offset is None:
            return None
        return self._call_at(limit=self._page_size, offset=self._offset)

    def take(self, page: P) -> Iterable[I]:
        """Return the new items of ``page`` and move on to the next page."""
        items = list(self._items_of(page))
        total = self._total_of(page)
        assert self._offset is not None
        offset = self._offset + len(items)

        if not items:
            self._offset = None
        elif total is not None:
            self._offset = offset if offset < total else None
        else:
            self._offset = offset if len(items) >= self._page_size else None

        if self._key is None:
            return items
        seen, self._previous = self._previous, {self._key(item) for item in items}
        return [item for item in items if self._key(item) not in seen]


def run_key(run: Run) -> int:
    """Identify a stored run by its id."""
    return run.id


def override_key(stored: StoredOverride) -> OverrideScope:
    """Identify a stored override by its scope."""
    return stored.scope


class _Report(Protocol):
    @property
    def total(self) -> int: ...


def _whole(page: Sequence[I]) -> Sequence[I]:
    # Plain list endpoints answer a bare array: the page is its items.
    return page


def _total(page: _Report) -> int:
    return page.total


def _report(
    call_at: PageCall[R],
    items_of: Callable[[R], Sequence[I]],
    key: Callable[[I], Hashable],
    page_size: int,
) -> Pager[R, I]:
    # Reports count their rows, so the walk ends without fetching an empty page.
    return Pager(call_at, items_of, page_size=page_size, total_of=_total, key=key)


# One pager per listing endpoint ---------------------------------------------


def job_metrics(
    job: JobKey, *, from_: datetime | None, to: datetime | None, page_size: int
) -> Pager[list[Run], Run]:
    """Return the pager over a job's stored runs, newest first."""
    call_at = partial(endpoints.job_metrics, job, from_=from_, to=to)
    return Pager(call_at, _whole, page_size=page_size, key=run_key)


def runner_metrics(
    runner: str, *, from_: datetime | None, to: datetime | None, page_size: int
) -> Pager[list[Run], Run]:
    """Return the pager over the runs a runner executed, newest first."""
    call_at = partial(endpoints.runner_metrics, runner, from_=from_, to=to)
    return Pager(call_at, _whole, page_size=page_size, key=run_key)


def debug_metrics(
    *, from_: datetime | None, to: datetime | None, page_size: int
) -> Pager[list[Run], Run]:
    """Return the pager over every stored run, newest first."""
    call_at = partial(endpoints.debug_metrics, from_=from_, to=to)
    return Pager(call_at, _whole, page_size=page_size, key=run_key)


def overrides(*, page_size: int) -> Pager[list[StoredOverride], StoredOverride]:
    """Return the pager over the sizing overrides, wider scopes first."""
    return Pager(
        endpoints.list_overrides, _whole, page_size=page_size, key=override_key
    )


def metrics_overview(
    *, from_: datetime | None, to: datetime | None, page_size: int
) -> Pager[Overview, OrganizationKpis]:
    """Return the pager over the KPIs of every organization."""
    return _report(
        partial(endpoints.metrics_overview, from_=from_, to=to),
        lambda page: page.organizations,
        lambda row: row.organization,
        page_size,
    )


def organization_metrics(
    organization: str,
    *,
    from_: datetime | None,
    to: datetime | None,
    page_size: int,
) -> Pager[OrganizationReport, RepositoryKpis]:
    """Return the pager over the KPIs of an organization's repositories."""
    return _report(
        partial(endpoints.organization_metrics, organization, from_=from_, to=to),
        lambda page: page.repositories,
        lambda row: row.repository,
        page_size,
    )


def repository_metrics(
    organization: str,
    repository: str,
    *,
    from_: datetime | None,
    to: datetime | None,
    page_size: int,
) -> Pager[RepositoryReport, WorkflowReport]:
    """Return the pager over the KPIs of a repository's workflows."""
    return _report(
        partial(
            endpoints.repository_metrics, organization, repository, from_=from_, to=to
        ),
        lambda page: page.workflows,
        lambda row: row.workflow,
        page_size,
    )


def organization_sizing(
    organization: str,
    *,
    from_: datetime | None,
    to: datetime | None,
    page_size: int,
) -> Pager[SizingOverview, JobSizingReport]:
    """Return the pager over the sizing reports of an organization's jobs."""
    return _report(
        partial(endpoints.organization_sizing, organization, from_=from_, to=to),
        lambda page: page.jobs,
        lambda row: (row.repository, row.workflow, row.job),
        page_size,
    )


def repository_sizing(
    organization: str,
    repository: str,
    *,
    from_: datetime | None,
    to: datetime | None,
    page_size: int,
) -> Pager[SizingOverview, JobSizingReport]:
    """Return the pager over the sizing reports of a repository's jobs."""
    return _report(
        partial(
            endpoints.repository_sizing, organization, repository, from_=from_, to=to
        ),
        lambda page: page.jobs,
        lambda row: (row.repository, row.workflow, row.job),
        page_size,
    )


def compare_repositories(
    organization: str,
    *,
    sort: str | None,
    order: SortOrder | str | None,
    from_: datetime | None,
    to: datetime | None,
    page_size: int,
) -> Pager[RepositoryComparison, RepositoryKpis]:
    """Return the pager over an organization's repositories, sorted by a KPI."""
    return _report(
        partial(
            endpoints.compare_repositories,
            organization,
            sort=sort,
            order=order,
            from_=from_,
            to=to,
        ),
        lambda page: page.repositories,
        lambda row: row.repository,
        page_size,
    )


def compare_workflows(
    organization: str,
    repository: str,
    *,
    sort: str | None,
    order: SortOrder | str | None,
    from_: datetime | None,
    to: datetime | None,
    page_size: int,
) -> Pager[WorkflowComparison, WorkflowKpis]:
    """Return the pager over a repository's workflows, sorted by a KPI."""
    return _report(
        partial(
            endpoints.compare_workflows,
            organization,
            repository,
            sort=sort,
            order=order,
            from_=from_,
            to=to,
        ),
        lambda page: page.workflows,
        lambda row: row.workflow,
        page_size,
    )


def runners(
    *, from_: datetime | None, to: datetime | None, page_size: int
) -> Pager[RunnerList, RunnerSummary]:
    """Return the pager over the runners that served runs in the range."""
    return _report(
        partial(endpoints.list_runners, from_=from_, to=to),
        lambda page: page.runners,
        lambda row: row.runner,
        page_size,
    )


def runners_overview(
    *, from_: datetime | None, to: datetime | None, page_size: int
) -> Pager[RunnerOverview, RunnerUsage]:
    """Return the pager over the usage of every active runner."""
    return _report(
        partial(endpoints.runners_overview, from_=from_, to=to),
        lambda page: page.runners,
        lambda row: row.runner,
        page_size,
    )


def runner_report(
    runner: str, *, from_: datetime | None, to: datetime | None, page_size: int
) -> Pager[RunnerReport, OrganizationKpis]:
    """Return the pager over the KPIs of every organization a runner served."""
    return _report(
        partial(endpoints.runner_report, runner, from_=from_, to=to),
        lambda page: page.organizations,
        lambda row: row.organization,
        page_size,
    )
