"""The receiver's endpoints as request descriptions both clients send.

Each function here builds one :class:`Call`: method, path, query, body and
how to decode the answer.  :class:`~cisizer.client.Client` and
:class:`~cisizer.client.AsyncClient` only send calls, so the two cannot
drift apart in what they ask the receiver.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import attrs
import cattrs

from cisizer.client._errors import InvalidArgumentError
from cisizer.core import (
    CpuPercentile,
    CpuSizingMode,
    EnergyEstimate,
    Health,
    Info,
    JobKey,
    MemoryQoS,
    OrganizationReport,
    Override,
    Overview,
    Push,
    PushToken,
    RepositoryComparison,
    RepositoryReport,
    Run,
    RunnerList,
    RunnerOverview,
    RunnerReport,
    Sizing,
    SizingOverview,
    SortOrder,
    StatusStats,
    StoredOverride,
    ValidationError,
    WorkflowComparison,
    check_name,
    converter,
    format_datetime,
)

T = TypeVar("T")

Decoder = Callable[[Any], T]
QueryValue = str | int | float | datetime | enum.Enum | None


class ShapeError(Exception):
    """A decoded body does not fit the model; carries a readable reason."""


@attrs.frozen
class Call(Generic[T]):
    """One request to the receiver and how to decode its answer.

    ``idempotent`` calls are retried on connection errors, 429 and 5xx;
    ``token`` replaces the client's token for this call only.
    """

    method: str
    path: str
    decode: Decoder[T]
    params: Mapping[str, str] = attrs.field(factory=dict)
    body: object = None
    idempotent: bool = True
    token: str | None = None


def structured(cls: type[T]) -> Decoder[T]:
    """Return a decoder that structures JSON into ``cls`` with the core converter."""

    def decode(data: Any) -> T:
        result: T = _structure(data, cls, cls.__name__)
        return result

    return decode


def structured_list(cls: type[T]) -> Decoder[list[T]]:
    """Return a decoder that structures a JSON array into a list of ``cls``."""

    def decode(data: Any) -> list[T]:
        if not isinstance(data, list):
            raise ShapeError(f"expected a JSON array of {cls.__name__}")
        result: list[T] = _structure(data, list[cls], f"list of {cls.__name__}")  # type: ignore[valid-type]
        return result

    return decode


def no_content(data: Any) -> None:
    """Accept any body (or none) and return ``None``."""
    return None


def _structure(data: Any, target: Any, name: str) -> Any:
    try:
        return converter.structure(data, target)
    except Exception as error:
        raise ShapeError(f"body is not a {name}: {_describe(error)}") from error


def _describe(error: Exception) -> str:
    if isinstance(error, cattrs.BaseValidationError):
        lines = cattrs.transform_error(error, path="body")
        return "; ".join(_path_first(line) for line in lines)
    return f"{type(error).__name__}: {error}"


def _path_first(line: str) -> str:
    # cattrs says "message @ path"; core's validation errors say "path: message".
    message, at, where = line.rpartition(" @ ")
    return f"{where}: {message}" if at else line


def path(*segments: str) -> str:
    """Join URL path segments under ``/api/v1``, each percent-encoded.

    Names among the segments must have passed :func:`name` first.
    """
    return "/api/v1/" + "/".join(_quote(segment) for segment in segments)


def _quote(segment: str) -> str:
    # A literal "." or ".." would be resolved away by URL normalisation and
    # reach another endpoint, so their dots are percent-encoded too.
    if segment in (".", ".."):
        return segment.replace(".", "%2E")
    return quote(segment, safe="")


def name(value: str, argument: str) -> str:
    """Return ``value`` if the receiver can take it as the name ``argument``.

    The rules are the receiver's (:func:`cisizer.core.check_name`): not
    empty, at most 255 characters, no control or invisible characters, not
    only whitespace, and no ``/``, which a URL path cannot carry (the
    receiver's server decodes ``%2F`` before routing).

    Raises:
        InvalidArgumentError: naming ``argument``, before anything is sent.
    """
    try:
        return check_name(value, argument)
    except ValidationError as error:
        shown = value if len(value) <= 60 else value[:59] + "…"
        raise InvalidArgumentError(f"{error} (got {shown!r})") from None


def repo_name(organization: str, repository: str) -> str:
    """Return the short repository name URL paths take (``my-org/x`` → ``x``).

    Raises:
        InvalidArgumentError: the full name's owner is not ``organization``,
            it has a second ``/``, or the short name is no valid name.
    """
    owner, slash, short = repository.partition("/")
    if not slash:
        return name(repository, "repository")
    if owner != organization:
        raise InvalidArgumentError(
            f"repository: {repository!r} is not in organization {organization!r}"
        )
    if "/" in short:
        raise InvalidArgumentError(
            f"repository: {repository!r} must be 'repo' or 'org/repo', "
            "with no further '/'"
        )
    return name(short, "repository")


def query(**values: QueryValue) -> dict[str, str]:
    """Return query parameters as strings, leaving out the ones not given.

    ``from_`` becomes ``from``; datetimes become RFC 3339 UTC, enums their value.
    """
    params: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        name = key.rstrip("_")
        if isinstance(value, datetime):
            params[name] = format_datetime(value)
        elif isinstance(value, enum.Enum):
            params[name] = str(value.value)
        elif isinstance(value, bool):
            params[name] = "true" if value else "false"
        else:
            params[name] = str(value)
    return params


def job_path(
    prefix: str, organization: str, repository: str, workflow: str, job: str
) -> str:
    """Return the path of a per-job endpoint such as ``sizing/repo/{org}/{repo}/…``."""
    return path(
        *prefix.split("/"),
        name(organization, "organization"),
        repo_name(organization, repository),
        name(workflow, "workflow"),
        name(job, "job"),
    )


def scope_path(
    organization: str,
    repository: str | None,
    workflow: str | None,
    job: str | None,
) -> str:
    """Return the override path of a scope, from org down to job."""
    segments = [name(organization, "organization")]
    narrower = [("repository", repository), ("workflow", workflow), ("job", job)]
    for index, (argument, segment) in enumerate(narrower):
        if segment is None:
            if any(value is not None for _, value in narrower[index:]):
                raise InvalidArgumentError(
                    "a narrower override scope needs every wider one"
                )
            break
        if argument == "repository":
            segments.append(repo_name(organization, segment))
        else:
            segments.append(name(segment, argument))
    return path("sizing", "overrides", *segments)


# Endpoints -----------------------------------------------------------------


def health() -> Call[Health]:
    """``GET /health``."""
    return Call("GET", "/health", structured(Health))


def info() -> Call[Info]:
    """``GET /api/v1/info``."""
    return Call("GET", path("info"), structured(Info))


def create_push_token(job: JobKey) -> Call[PushToken]:
    """``POST /api/v1/token``; never retried, as each answer is a new token."""
    name(job.organization, "organization")
    repo_name(job.organization, job.repository)
    name(job.workflow, "workflow")
    name(job.job, "job")
    body = {
        "organization": job.organization,
        "repository": job.repository,
        "workflow": job.workflow,
        "job": job.job,
    }
    return Call(
        "POST", path("token"), structured(PushToken), body=body, idempotent=False
    )


def push_metrics(push: Push, token: str | None) -> Call[Run]:
    """``POST /api/v1/metrics``; retried, since the receiver deduplicates pushes."""
    return Call(
        "POST",
        path("metrics"),
        structured(Run),
        body=converter.unstructure(push),
        token=token,
    )


def job_metrics(
    job: JobKey,
    *,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    offset: int | None,
) -> Call[list[Run]]:
    """``GET /api/v1/metrics/repo/{org}/{repo}/{workflow}/{job}``."""
    return Call(
        "GET",
        job_path(
            "metrics/repo", job.organization, job.repository, job.workflow, job.job
        ),
        structured_list(Run),
        params=query(from_=from_, to=to, limit=limit, offset=offset),
    )


def runner_metrics(
    runner: str,
    *,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    offset: int | None,
) -> Call[list[Run]]:
    """``GET /api/v1/metrics/runner/{runner}``."""
    return Call(
        "GET",
        path("metrics", "runner", name(runner, "runner")),
        structured_list(Run),
        params=query(from_=from_, to=to, limit=limit, offset=offset),
    )


def debug_metrics(
    *,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    offset: int | None,
) -> Call[list[Run]]:
    """``GET /api/v1/debug/metrics``."""
    return Call(
        "GET",
        path("debug", "metrics"),
        structured_list(Run),
        params=query(from_=from_, to=to, limit=limit, offset=offset),
    )


def sizing(
    job: JobKey,
    *,
    runs: int | None,
    buffer: int | None,
    cpu_percentile: CpuPercentile | str | None,
    cpu_sizing_mode: CpuSizingMode | str | None,
    memory_qos: MemoryQoS | str | None,
) -> Call[Sizing]:
    """``GET /api/v1/sizing/repo/{org}/{repo}/{workflow}/{job}``."""
    return Call(
        "GET",
        job_path(
            "sizing/repo", job.organization, job.repository, job.workflow, job.job
        ),
        structured(Sizing),
        params=query(
            runs=runs,
            buffer=buffer,
            cpu_percentile=cpu_percentile,
            cpu_sizing_mode=cpu_sizing_mode,
            memory_qos=memory_qos,
        ),
    )


def energy(
    job: JobKey, *, from_: datetime | None, to: datetime | None
) -> Call[EnergyEstimate]:
    """``GET /api/v1/energy/repo/{org}/{repo}/{workflow}/{job}``."""
    return Call(
        "GET",
        job_path(
            "energy/repo", job.organization, job.repository, job.workflow, job.job
        ),
        structured(EnergyEstimate),
        params=query(from_=from_, to=to),
    )


def success_failure_stats(
    job: JobKey, *, from_: datetime | None, to: datetime | None
) -> Call[StatusStats]:
    """``GET /api/v1/success-failure-stats/repo/{org}/{repo}/{workflow}/{job}``."""
    return Call(
        "GET",
        job_path(
            "success-failure-stats/repo",
            job.organization,
            job.repository,
            job.workflow,
            job.job,
        ),
        structured(StatusStats),
        params=query(from_=from_, to=to),
    )


def list_overrides(
    *, limit: int | None, offset: int | None
) -> Call[list[StoredOverride]]:
    """``GET /api/v1/sizing/overrides``, wider scopes first."""
    return Call(
        "GET",
        path("sizing", "overrides"),
        structured_list(StoredOverride),
        params=query(limit=limit, offset=offset),
    )


def set_override(
    override: Override,
    organization: str,
    repository: str | None,
    workflow: str | None,
    job: str | None,
) -> Call[StoredOverride]:
    """``PUT /api/v1/sizing/overrides/{org}[/{repo}[/{workflow}[/{job}]]]``."""
    return Call(
        "PUT",
        scope_path(organization, repository, workflow, job),
        structured(StoredOverride),
        body=converter.unstructure(override),
    )


def delete_override(
    organization: str,
    repository: str | None,
    workflow: str | None,
    job: str | None,
) -> Call[None]:
    """``DELETE /api/v1/sizing/overrides/{org}[/{repo}[/{workflow}[/{job}]]]``."""
    return Call(
        "DELETE", scope_path(organization, repository, workflow, job), no_content
    )


# Aggregation: every report takes a time range and a page of rows. ----------


def _report(
    model: type[T],
    segments: tuple[str, ...],
    *,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    offset: int | None,
    **extra: QueryValue,
) -> Call[T]:
    return Call(
        "GET",
        path(*segments),
        structured(model),
        params=query(**extra, from_=from_, to=to, limit=limit, offset=offset),
    )


def metrics_overview(
    *,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    offset: int | None,
) -> Call[Overview]:
    """``GET /api/v1/metrics/overview``."""
    return _report(
        Overview,
        ("metrics", "overview"),
        from_=from_,
        to=to,
        limit=limit,
        offset=offset,
    )


def organization_metrics(
    organization: str,
    *,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    offset: int | None,
) -> Call[OrganizationReport]:
    """``GET /api/v1/metrics/org/{org}``."""
    return _report(
        OrganizationReport,
        ("metrics", "org", name(organization, "organization")),
        from_=from_,
        to=to,
        limit=limit,
        offset=offset,
    )


def repository_metrics(
    organization: str,
    repository: str,
    *,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    offset: int | None,
) -> Call[RepositoryReport]:
    """``GET /api/v1/metrics/org/{org}/repo/{repo}``."""
    org = name(organization, "organization")
    repo = repo_name(organization, repository)
    return _report(
        RepositoryReport,
        ("metrics", "org", org, "repo", repo),
        from_=from_,
        to=to,
        limit=limit,
        offset=offset,
    )


def organization_sizing(
    organization: str,
    *,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    offset: int | None,
) -> Call[SizingOverview]:
    """``GET /api/v1/sizing/org/{org}``."""
    return _report(
        SizingOverview,
        ("sizing", "org", name(organization, "organization")),
        from_=from_,
        to=to,
        limit=limit,
        offset=offset,
    )


def repository_sizing(
    organization: str,
    repository: str,
    *,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    offset: int | None,
) -> Call[SizingOverview]:
    """``GET /api/v1/sizing/org/{org}/repo/{repo}``."""
    org = name(organization, "organization")
    repo = repo_name(organization, repository)
    return _report(
        SizingOverview,
        ("sizing", "org", org, "repo", repo),
        from_=from_,
        to=to,
        limit=limit,
        offset=offset,
    )


def compare_repositories(
    organization: str,
    *,
    sort: str | None,
    order: SortOrder | str | None,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    offset: int | None,
) -> Call[RepositoryComparison]:
    """``GET /api/v1/compare/repos?org=``."""
    return _report(
        RepositoryComparison,
        ("compare", "repos"),
        org=name(organization, "organization"),
        sort=sort,
        order=order,
        from_=from_,
        to=to,
        limit=limit,
        offset=offset,
    )


def compare_workflows(
    organization: str,
    repository: str,
    *,
    sort: str | None,
    order: SortOrder | str | None,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    offset: int | None,
) -> Call[WorkflowComparison]:
    """``GET /api/v1/compare/workflows?org=&repo=``."""
    org = name(organization, "organization")
    repo = repo_name(organization, repository)
    return _report(
        WorkflowComparison,
        ("compare", "workflows"),
        org=org,
        repo=repo,
        sort=sort,
        order=order,
        from_=from_,
        to=to,
        limit=limit,
        offset=offset,
    )


def list_runners(
    *,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    offset: int | None,
) -> Call[RunnerList]:
    """``GET /api/v1/runners``."""
    return _report(
        RunnerList, ("runners",), from_=from_, to=to, limit=limit, offset=offset
    )


def runners_overview(
    *,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    offset: int | None,
) -> Call[RunnerOverview]:
    """``GET /api/v1/runners/overview``."""
    return _report(
        RunnerOverview,
        ("runners", "overview"),
        from_=from_,
        to=to,
        limit=limit,
        offset=offset,
    )


def runner_report(
    runner: str,
    *,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    offset: int | None,
) -> Call[RunnerReport]:
    """``GET /api/v1/runners/{runner}``.

    Raises:
        InvalidArgumentError: for a runner named ``overview``, whose path is
            the fleet overview's.
    """
    if runner == "overview":
        raise InvalidArgumentError(
            "runner: 'overview' has no report of its own, since "
            "/api/v1/runners/overview is the fleet overview"
        )
    return _report(
        RunnerReport,
        ("runners", name(runner, "runner")),
        from_=from_,
        to=to,
        limit=limit,
        offset=offset,
    )
