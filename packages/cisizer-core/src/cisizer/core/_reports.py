"""Report models: KPIs of sets of runs, comparisons, sizing overviews and runners.

Every report carries the same :class:`Kpis` shape.  A report that lists rows
pages through them: ``total`` is the number of rows in the whole list,
``limit`` and ``offset`` say which slice this answer holds.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from cisizer.core._models import Sizing

__all__ = [
    "JobKpis",
    "JobSizingReport",
    "Kpis",
    "OrganizationKpis",
    "OrganizationReport",
    "Overview",
    "RepositoryComparison",
    "RepositoryKpis",
    "RepositoryReport",
    "RunnerList",
    "RunnerOverview",
    "RunnerReport",
    "RunnerSummary",
    "RunnerUsage",
    "Savings",
    "SizingOverview",
    "SizingOverviewTotals",
    "SortOrder",
    "WorkflowComparison",
    "WorkflowKpis",
    "WorkflowReport",
]


class SortOrder(enum.StrEnum):
    """Direction of a sorted comparison."""

    ASC = "asc"
    DESC = "desc"


@attrs.frozen
class Kpis:
    """Key figures of a set of runs, the one shape every report uses.

    ``success_rate`` is successes over successes and failures (``None`` when
    there are neither); ``avg_cores`` is used core-seconds over run seconds.
    Averages, maxima and times are ``None`` for an empty set; sums are zero.
    """

    runs: int
    successes: int
    failures: int
    success_rate: float | None
    total_duration_seconds: float
    avg_duration_seconds: float | None
    max_duration_seconds: float | None
    cpu_core_hours: float
    avg_cores: float | None
    peak_memory_bytes: int | None
    memory_gib_hours: float
    energy_wh: float
    carbon_g: float
    first_run_at: datetime | None
    last_run_at: datetime | None


@attrs.frozen
class OrganizationKpis:
    """The KPIs of one organization's runs."""

    organization: str
    kpis: Kpis


@attrs.frozen
class RepositoryKpis:
    """The KPIs of one repository's runs (``repository`` is the full name)."""

    repository: str
    kpis: Kpis


@attrs.frozen
class WorkflowKpis:
    """The KPIs of one workflow's runs."""

    workflow: str
    kpis: Kpis


@attrs.frozen
class JobKpis:
    """The KPIs of one job's runs."""

    job: str
    kpis: Kpis


@attrs.frozen
class WorkflowReport:
    """The KPIs of one workflow and of each of its jobs (ordered by name)."""

    workflow: str
    kpis: Kpis
    jobs: tuple[JobKpis, ...]


@attrs.frozen
class Overview:
    """Global KPIs with one row per organization (ordered by name)."""

    kpis: Kpis
    organizations: tuple[OrganizationKpis, ...]
    total: int
    limit: int
    offset: int


@attrs.frozen
class OrganizationReport:
    """An organization's KPIs with one row per repository (ordered by name)."""

    organization: str
    kpis: Kpis
    repositories: tuple[RepositoryKpis, ...]
    total: int
    limit: int
    offset: int


@attrs.frozen
class RepositoryReport:
    """A repository's KPIs with one row per workflow and its jobs."""

    organization: str
    repository: str
    kpis: Kpis
    workflows: tuple[WorkflowReport, ...]
    total: int
    limit: int
    offset: int


@attrs.frozen
class RepositoryComparison:
    """The repositories of an organization side by side, sorted by one KPI."""

    organization: str
    sort: str
    order: SortOrder
    repositories: tuple[RepositoryKpis, ...]
    total: int
    limit: int
    offset: int


@attrs.frozen
class WorkflowComparison:
    """The workflows of a repository side by side, sorted by one KPI."""

    organization: str
    repository: str
    sort: str
    order: SortOrder
    workflows: tuple[WorkflowKpis, ...]
    total: int
    limit: int
    offset: int


@attrs.frozen
class Savings:
    """Capacity freed by the recommendation against the limits runs had.

    Positive means less would be reserved; negative means the job needs more
    than it had.  ``None`` where the runs reported no such limit.  The hour
    figures multiply by the run time in the selected range.
    """

    cpu_cores: float | None = None
    memory_gib: float | None = None
    cpu_core_hours: float | None = None
    memory_gib_hours: float | None = None


@attrs.frozen
class JobSizingReport:
    """One job's current recommendation and what it would save.

    ``sizing`` is ``None`` when the job has no run to size from (only
    cancelled ones).  ``current_cpu_cores`` and ``current_memory_bytes`` are
    the limits reported by the newest analysed run that reported them.
    """

    repository: str
    workflow: str
    job: str
    runs: int
    run_hours: float
    sizing: Sizing | None
    current_cpu_cores: float | None
    current_memory_bytes: int | None
    savings: Savings


@attrs.frozen
class SizingOverviewTotals:
    """Sums over the jobs of one page: recommendations, current limits, savings."""

    jobs_sized: int
    cpu_request_millicores: int
    cpu_limit_millicores: int
    memory_request_bytes: int
    memory_limit_bytes: int
    current_cpu_cores: float | None
    current_memory_bytes: int | None
    savings: Savings


@attrs.frozen
class SizingOverview:
    """Sizing of every job of an organization or repository (ordered by name)."""

    organization: str
    repository: str | None
    totals: SizingOverviewTotals
    jobs: tuple[JobSizingReport, ...]
    total: int
    limit: int
    offset: int


@attrs.frozen
class RunnerSummary:
    """A known runner: how many runs it served and when."""

    runner: str
    runs: int
    first_seen_at: datetime
    last_seen_at: datetime


@attrs.frozen
class RunnerList:
    """The runners that served runs in the range (ordered by name)."""

    runners: tuple[RunnerSummary, ...]
    total: int
    limit: int
    offset: int


@attrs.frozen
class RunnerUsage:
    """A runner's KPIs and CPU utilisation.

    ``utilisation`` is used cores over CPU limits, counted only over
    containers that reported a limit; ``None`` when none did.
    """

    runner: str
    kpis: Kpis
    utilisation: float | None


@attrs.frozen
class RunnerOverview:
    """The runner fleet: runners active in the range, their runs and utilisation."""

    active_runners: int
    kpis: Kpis
    utilisation: float | None
    runners: tuple[RunnerUsage, ...]
    total: int
    limit: int
    offset: int


@attrs.frozen
class RunnerReport:
    """One runner's KPIs and utilisation with one row per organization."""

    runner: str
    kpis: Kpis
    utilisation: float | None
    organizations: tuple[OrganizationKpis, ...]
    total: int
    limit: int
    offset: int
