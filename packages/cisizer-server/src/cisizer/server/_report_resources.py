"""The responders of the aggregation, comparison, sizing overview and runner routes.

Sums come from :mod:`cisizer.server._aggregation`; this module turns them
into the report models of :mod:`cisizer.core`.  Only sizing overviews do
work per row in Python: the page of jobs, each from its newest runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs
import falcon

from cisizer.core import (
    CpuSizingMode,
    EnergyProfile,
    JobKey,
    JobKpis,
    JobSizingReport,
    Kpis,
    OrganizationKpis,
    OrganizationReport,
    Overview,
    RepositoryComparison,
    RepositoryKpis,
    RepositoryReport,
    RunnerList,
    RunnerOverview,
    RunnerReport,
    RunnerSummary,
    RunnerUsage,
    Savings,
    Sizing,
    SizingOverview,
    SizingOverviewTotals,
    SortOrder,
    Summary,
    WorkflowComparison,
    WorkflowKpis,
    WorkflowReport,
    compute_sizing,
    converter,
    estimate_energy,
    qualify_repository,
    resolve_sizing_params,
)
from cisizer.server import _storage
from cisizer.server._aggregation import (
    SORT_KEYS,
    Group,
    Sort,
    grouped,
    histories,
)
from cisizer.server._errors import InvalidRequestError
from cisizer.server._input import path_name, query_enum
from cisizer.server._resources import Reply, State, _page, _time_range
from cisizer.server._schema import (
    daily_job_totals,
    daily_organization_totals,
    daily_runner_totals,
)

__all__ = [
    "SORT_CHOICES",
    "compare_repositories",
    "compare_workflows",
    "organization_metrics",
    "organization_sizing",
    "overview",
    "repository_metrics",
    "repository_sizing",
    "runner_detail",
    "runner_overview",
    "runners",
]

SORT_CHOICES = tuple(SORT_KEYS)
_DEFAULT_SORT = "runs"
_SECONDS_PER_HOUR = 3600.0
_GIB = 1024**3


def _kpis(group: Group, profile: EnergyProfile) -> Kpis:
    energy = estimate_energy(
        runs=group.runs,
        used_core_seconds=group.used_core_seconds,
        allocated_core_seconds=group.allocated_core_seconds,
        memory_gib_seconds=group.memory_gib_seconds,
        profile=profile,
    )
    decided = group.successes + group.failures
    return Kpis(
        runs=group.runs,
        successes=group.successes,
        failures=group.failures,
        success_rate=group.successes / decided if decided else None,
        total_duration_seconds=group.duration_seconds,
        avg_duration_seconds=(
            group.duration_seconds / group.runs if group.runs else None
        ),
        max_duration_seconds=group.max_duration_seconds,
        cpu_core_hours=group.used_core_seconds / _SECONDS_PER_HOUR,
        avg_cores=(
            group.used_core_seconds / group.duration_seconds
            if group.duration_seconds > 0
            else None
        ),
        peak_memory_bytes=group.peak_memory_bytes,
        memory_gib_hours=group.memory_gib_seconds / _SECONDS_PER_HOUR,
        energy_wh=energy.energy_wh,
        carbon_g=energy.carbon_g,
        first_run_at=group.first_end_time,
        last_run_at=group.last_end_time,
    )


def _required(req: falcon.Request, name: str) -> str:
    value = req.get_param(name)
    if value is None:
        raise InvalidRequestError.field(name, "is required")
    return str(value)


def _query_name(req: falcon.Request, name: str) -> str:
    return path_name(_required(req, name), name)


def _sort(req: falcon.Request, profile: EnergyProfile) -> Sort:
    key = req.get_param("sort")
    if key is None:
        key = _DEFAULT_SORT
    elif key not in SORT_KEYS:
        choices = ", ".join(SORT_CHOICES)
        raise InvalidRequestError.field("sort", f"must be one of {choices}")
    order = query_enum(req, "order", SortOrder) or SortOrder.DESC
    return Sort(str(key), order, profile)


def overview(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """Global KPIs with one row per organization."""
    time_range, page = _time_range(req), _page(req)
    profile = state.settings.energy()

    with state.engine.connect() as connection:
        groups, total, every = grouped(
            connection,
            daily_organization_totals,
            ("organization",),
            {},
            time_range,
            page,
        )
    return Reply(
        body=Overview(
            kpis=_kpis(every, profile),
            organizations=tuple(
                OrganizationKpis(group.key[0], _kpis(group, profile))
                for group in groups
            ),
            total=total,
            limit=page.limit,
            offset=page.offset,
        )
    )


def organization_metrics(
    state: State, req: falcon.Request, params: dict[str, str]
) -> Reply:
    """An organization's KPIs with one row per repository."""
    org = params["org"]
    time_range, page = _time_range(req), _page(req)
    profile = state.settings.energy()

    with state.engine.connect() as connection:
        groups, total, every = grouped(
            connection,
            daily_job_totals,
            ("repository",),
            {"organization": org},
            time_range,
            page,
        )
    return Reply(
        body=OrganizationReport(
            organization=org,
            kpis=_kpis(every, profile),
            repositories=tuple(
                RepositoryKpis(group.key[0], _kpis(group, profile)) for group in groups
            ),
            total=total,
            limit=page.limit,
            offset=page.offset,
        )
    )


def repository_metrics(
    state: State, req: falcon.Request, params: dict[str, str]
) -> Reply:
    """A repository's KPIs with one row per workflow, each with its jobs."""
    org = params["org"]
    repository = f"{org}/{params['repo']}"
    filters = {"organization": org, "repository": repository}
    time_range, page = _time_range(req), _page(req)
    profile = state.settings.energy()

    with state.engine.connect() as connection:
        workflows, total, every = grouped(
            connection, daily_job_totals, ("workflow",), filters, time_range, page
        )
        jobs: list[Group] = []
        if workflows:
            names = [group.key[0] for group in workflows]
            jobs, _, _ = grouped(
                connection,
                daily_job_totals,
                ("workflow", "job"),
                {**filters, "workflow": names},
                time_range,
                None,
            )
    return Reply(
        body=RepositoryReport(
            organization=org,
            repository=repository,
            kpis=_kpis(every, profile),
            workflows=tuple(
                WorkflowReport(
                    workflow.key[0],
                    _kpis(workflow, profile),
                    tuple(
                        JobKpis(job.key[1], _kpis(job, profile))
                        for job in jobs
                        if job.key[0] == workflow.key[0]
                    ),
                )
                for workflow in workflows
            ),
            total=total,
            limit=page.limit,
            offset=page.offset,
        )
    )


def compare_repositories(
    state: State, req: falcon.Request, params: dict[str, str]
) -> Reply:
    """The repositories of an organization side by side, sorted by a KPI."""
    org = _query_name(req, "org")
    profile = state.settings.energy()
    sort = _sort(req, profile)
    time_range, page = _time_range(req), _page(req)

    with state.engine.connect() as connection:
        groups, total, _ = grouped(
            connection,
            daily_job_totals,
            ("repository",),
            {"organization": org},
            time_range,
            page,
            sort,
        )
    return Reply(
        body=RepositoryComparison(
            organization=org,
            sort=sort.key,
            order=sort.order,
            repositories=tuple(
                RepositoryKpis(group.key[0], _kpis(group, profile)) for group in groups
            ),
            total=total,
            limit=page.limit,
            offset=page.offset,
        )
    )


def compare_workflows(
    state: State, req: falcon.Request, params: dict[str, str]
) -> Reply:
    """The workflows of a repository side by side, sorted by a KPI."""
    org = _query_name(req, "org")
    # The repository may be given in full (org/repo); qualifying checks both.
    repository = qualify_repository(org, _required(req, "repo"), "repo")
    profile = state.settings.energy()
    sort = _sort(req, profile)
    time_range, page = _time_range(req), _page(req)

    with state.engine.connect() as connection:
        groups, total, _ = grouped(
            connection,
            daily_job_totals,
            ("workflow",),
            {"organization": org, "repository": repository},
            time_range,
            page,
            sort,
        )
    return Reply(
        body=WorkflowComparison(
            organization=org,
            repository=repository,
            sort=sort.key,
            order=sort.order,
            workflows=tuple(
                WorkflowKpis(group.key[0], _kpis(group, profile)) for group in groups
            ),
            total=total,
            limit=page.limit,
            offset=page.offset,
        )
    )


@attrs.frozen
class _Compared:
    """Current limits and the recommendation applied, over the same containers.

    ``None`` where no container of the job reported that limit.
    """

    current_cpu_cores: float | None = None
    recommended_cpu_cores: float = 0.0
    current_memory_bytes: int | None = None
    recommended_memory_bytes: int = 0


def _newest_limits(
    history: Sequence[Summary], name: str
) -> tuple[float | None, int | None]:
    """The CPU and memory limits container ``name`` reported most recently."""
    cpu: float | None = None
    memory: int | None = None
    for summary in history:
        for container in summary.containers:
            if container.name != name or container.limits is None:
                continue
            if cpu is None:
                cpu = container.limits.cpu_cores
            if memory is None:
                memory = container.limits.memory_bytes
        if cpu is not None and memory is not None:
            break
    return cpu, memory


def _compare(sizing: Sizing, history: Sequence[Summary]) -> _Compared:
    """Pair each container's recommendation with that container's own limits.

    A container that never reported a limit is left out of both sides, so a
    job mixing limited and unlimited containers compares like with like.
    The CPU applied is the limit only when enforced, else the request;
    memory limits are always enforced.
    """
    enforced = sizing.meta.cpu_sizing_mode is CpuSizingMode.ENFORCE
    current_cpu: float | None = None
    current_memory: int | None = None
    recommended_cpu = 0.0
    recommended_memory = 0
    for container in sizing.containers:
        cpu, memory = _newest_limits(history, container.name)
        if cpu is not None:
            millicores = (
                container.cpu.limit_millicores
                if enforced
                else container.cpu.request_millicores
            )
            current_cpu = (current_cpu or 0.0) + cpu
            recommended_cpu += millicores / 1000
        if memory is not None:
            current_memory = (current_memory or 0) + memory
            recommended_memory += container.memory.limit_bytes
    return _Compared(current_cpu, recommended_cpu, current_memory, recommended_memory)


def _job_sizing(
    job: JobKey, group: Group, sizing: Sizing | None, history: Sequence[Summary]
) -> JobSizingReport:
    """One job's recommendation, its current limits and the savings, per container.

    Each container's current limits are those it reported in the newest
    analysed run that had them; savings sum, over the containers with a
    limit, that limit minus the recommendation applied to the container.
    """
    run_hours = group.duration_seconds / _SECONDS_PER_HOUR
    # Without a sizing there is no history, hence no limits to compare either.
    compared = _Compared() if sizing is None else _compare(sizing, history)
    cores = (
        None
        if compared.current_cpu_cores is None
        else compared.current_cpu_cores - compared.recommended_cpu_cores
    )
    gib = (
        None
        if compared.current_memory_bytes is None
        else (compared.current_memory_bytes - compared.recommended_memory_bytes) / _GIB
    )
    savings = Savings(
        cpu_cores=cores,
        memory_gib=gib,
        cpu_core_hours=None if cores is None else cores * run_hours,
        memory_gib_hours=None if gib is None else gib * run_hours,
    )
    return JobSizingReport(
        repository=job.repository,
        workflow=job.workflow,
        job=job.job,
        runs=group.runs,
        run_hours=run_hours,
        sizing=sizing,
        current_cpu_cores=compared.current_cpu_cores,
        current_memory_bytes=compared.current_memory_bytes,
        savings=savings,
    )


def _sum_known(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def _totals(reports: Sequence[JobSizingReport]) -> SizingOverviewTotals:
    # NOTE: the totals cover the jobs of one page only, since only a page of
    # jobs is sized; a whole organization needs every page summed.
    sized = [report.sizing for report in reports if report.sizing is not None]
    memory = [report.current_memory_bytes for report in reports]
    known_memory = [value for value in memory if value is not None]
    return SizingOverviewTotals(
        jobs_sized=len(sized),
        cpu_request_millicores=sum(s.total.cpu.request_millicores for s in sized),
        cpu_limit_millicores=sum(s.total.cpu.limit_millicores for s in sized),
        memory_request_bytes=sum(s.total.memory.request_bytes for s in sized),
        memory_limit_bytes=sum(s.total.memory.limit_bytes for s in sized),
        current_cpu_cores=_sum_known([r.current_cpu_cores for r in reports]),
        current_memory_bytes=sum(known_memory) if known_memory else None,
        savings=Savings(
            cpu_cores=_sum_known([r.savings.cpu_cores for r in reports]),
            memory_gib=_sum_known([r.savings.memory_gib for r in reports]),
            cpu_core_hours=_sum_known([r.savings.cpu_core_hours for r in reports]),
            memory_gib_hours=_sum_known([r.savings.memory_gib_hours for r in reports]),
        ),
    )


def _sizing_overview(
    state: State, req: falcon.Request, org: str, repository: str | None
) -> Reply:
    time_range, page = _time_range(req), _page(req)
    filters = {"organization": org}
    if repository is not None:
        filters["repository"] = repository

    with state.engine.connect() as connection:
        groups, total, _ = grouped(
            connection,
            daily_job_totals,
            ("repository", "workflow", "job"),
            filters,
            time_range,
            page,
            measures=("runs", "duration_seconds"),
        )
    jobs = [JobKey(org, *group.key) for group in groups]
    params = [
        resolve_sizing_params(found)
        for found in _storage.overrides_for_jobs(state.engine, jobs)
    ]
    with state.engine.connect() as connection:
        found_runs = histories(
            connection, [(job, p.runs) for job, p in zip(jobs, params, strict=True)]
        )

    reports = []
    for job, group, sizing_params, history in zip(
        jobs, groups, params, found_runs, strict=True
    ):
        summaries = [converter.structure(payload, Summary) for payload in history]
        sizing = compute_sizing(summaries, sizing_params) if summaries else None
        reports.append(_job_sizing(job, group, sizing, summaries))
    return Reply(
        body=SizingOverview(
            organization=org,
            repository=repository,
            totals=_totals(reports),
            jobs=tuple(reports),
            total=total,
            limit=page.limit,
            offset=page.offset,
        )
    )


def organization_sizing(
    state: State, req: falcon.Request, params: dict[str, str]
) -> Reply:
    """Recommend sizes for every job of an organization, with the savings."""
    return _sizing_overview(state, req, params["org"], None)


def repository_sizing(
    state: State, req: falcon.Request, params: dict[str, str]
) -> Reply:
    """Recommend sizes for every job of a repository, with the savings."""
    org = params["org"]
    return _sizing_overview(state, req, org, f"{org}/{params['repo']}")


def runners(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """List the runners that served runs in the range, with counts and last seen."""
    time_range, page = _time_range(req), _page(req)

    with state.engine.connect() as connection:
        groups, total, _ = grouped(
            connection,
            daily_runner_totals,
            ("runner",),
            {},
            time_range,
            page,
            measures=("runs", "first_end_time", "last_end_time"),
        )
    return Reply(
        body=RunnerList(
            runners=tuple(
                RunnerSummary(
                    runner=group.key[0],
                    runs=group.runs,
                    first_seen_at=_known(group.first_end_time),
                    last_seen_at=_known(group.last_end_time),
                )
                for group in groups
            ),
            total=total,
            limit=page.limit,
            offset=page.offset,
        )
    )


def _known(value: datetime | None) -> datetime:
    # A group exists only because a run is in it, so its times are set.
    assert value is not None
    return value


def runner_overview(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """The fleet: active runners, their runs and CPU utilisation, one row each."""
    time_range, page = _time_range(req), _page(req)
    profile = state.settings.energy()

    with state.engine.connect() as connection:
        groups, total, every = grouped(
            connection, daily_runner_totals, ("runner",), {}, time_range, page
        )
    return Reply(
        body=RunnerOverview(
            active_runners=total,
            kpis=_kpis(every, profile),
            utilisation=every.utilisation,
            runners=tuple(
                RunnerUsage(group.key[0], _kpis(group, profile), group.utilisation)
                for group in groups
            ),
            total=total,
            limit=page.limit,
            offset=page.offset,
        )
    )


def runner_detail(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """One runner's KPIs and utilisation with one row per organization."""
    runner = params["runner"]
    time_range, page = _time_range(req), _page(req)
    profile = state.settings.energy()

    with state.engine.connect() as connection:
        groups, total, every = grouped(
            connection,
            None,
            ("organization",),
            {"runner": runner},
            time_range,
            page,
        )
    return Reply(
        body=RunnerReport(
            runner=runner,
            kpis=_kpis(every, profile),
            utilisation=every.utilisation,
            organizations=tuple(
                OrganizationKpis(group.key[0], _kpis(group, profile))
                for group in groups
            ),
            total=total,
            limit=page.limit,
            offset=page.offset,
        )
    )
