"""The route table: every endpoint with its responder, auth tier and API description.

The Falcon app and the OpenAPI document are both built from :data:`ROUTES`,
so a route cannot be served without being described, nor described without
being served.  A new endpoint is one more :class:`Route` here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import falcon

from cisizer.core import (
    EnergyEstimate,
    Health,
    Info,
    OrganizationReport,
    Override,
    Overview,
    Push,
    PushToken,
    PushTokenRequest,
    RepositoryComparison,
    RepositoryReport,
    Run,
    RunnerList,
    RunnerOverview,
    RunnerReport,
    Sizing,
    SizingOverview,
    StatusStats,
    StoredOverride,
    WorkflowComparison,
)
from cisizer.server import _report_resources as reports
from cisizer.server import _resources as r
from cisizer.server import _swagger as swagger
from cisizer.server._auth import Tier

__all__ = ["ROUTES", "Handler", "QueryParam", "Route"]

Handler = Callable[[r.State, falcon.Request, dict[str, str]], r.Reply]


@attrs.frozen
class QueryParam:
    """A query parameter a route accepts, with its JSON Schema."""

    name: str
    schema: dict[str, Any]
    description: str


@attrs.frozen
class Route:
    """One endpoint: method, path template, responder, auth tier and description.

    ``response`` is the model of a success answer (an attrs class or
    ``list[Model]``), ``statuses`` the success statuses it may answer, and
    ``errors`` the error statuses beyond those every route may give.
    ``any_query`` routes ignore query parameters instead of refusing unknown
    ones (load balancers' health probes add their own).
    """

    method: str
    path: str
    handler: Handler
    tier: Tier
    operation_id: str
    summary: str
    tag: str
    response: Any = None
    statuses: tuple[int, ...] = (200,)
    body: type | None = None
    query: tuple[QueryParam, ...] = ()
    errors: tuple[int, ...] = ()
    in_schema: bool = True
    any_query: bool = False


_FROM = QueryParam(
    "from",
    {"type": "string", "format": "date-time"},
    "Only runs that ended at or after this time (RFC 3339).",
)
_TO = QueryParam(
    "to",
    {"type": "string", "format": "date-time"},
    "Only runs that ended at or before this time (RFC 3339).",
)
_LIMIT = QueryParam(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
    "How many items to answer at most.",
)
_OFFSET = QueryParam(
    "offset",
    {"type": "integer", "minimum": 0, "maximum": 2**31 - 1, "default": 0},
    "How many items to skip.",
)
_LIST = (_FROM, _TO, _LIMIT, _OFFSET)
_SIZING = (
    QueryParam(
        "runs",
        {"type": "integer", "minimum": 1, "maximum": 100, "default": 5},
        "How many recent runs to size from (cancelled runs are skipped).",
    ),
    QueryParam(
        "buffer",
        {"type": "integer", "minimum": 0, "maximum": 1000, "default": 20},
        "CPU headroom in percent; memory uses a staircase buffer.",
    ),
    QueryParam(
        "cpu_percentile",
        {"type": "string", "enum": ["peak", "p99", "p95", "p75", "p50", "avg"]},
        "The CPU statistic the request is sized from (default p95).",
    ),
    QueryParam(
        "cpu_sizing_mode",
        {"type": "string", "enum": ["observe", "enforce"]},
        "Whether the CPU limit is meant to be applied (default observe).",
    ),
    QueryParam(
        "memory_qos",
        {"type": "string", "enum": ["guaranteed", "burstable"]},
        "The Kubernetes QoS class memory aims for (default guaranteed).",
    ),
)

_COMPARE = (
    QueryParam(
        "sort",
        {"type": "string", "enum": list(reports.SORT_CHOICES), "default": "runs"},
        "The KPI to sort by; ties go by name.",
    ),
    QueryParam(
        "order",
        {"type": "string", "enum": ["asc", "desc"], "default": "desc"},
        "Sort direction; rows without a value for the KPI come last.",
    ),
    *_LIST,
)
_ORG = QueryParam(
    "org",
    {"type": "string", "minLength": 1, "maxLength": 255},
    "The organization (required).",
)
_REPO = QueryParam(
    "repo",
    {"type": "string", "minLength": 1, "maxLength": 255},
    "The repository, short or as org/repo (required).",
)

_JOB = "{org}/{repo}/{workflow}/{job}"
_OVERRIDE_SCOPES = (
    "/api/v1/sizing/overrides/{org}",
    "/api/v1/sizing/overrides/{org}/{repo}",
    "/api/v1/sizing/overrides/{org}/{repo}/{workflow}",
    "/api/v1/sizing/overrides/{org}/{repo}/{workflow}/{job}",
)
_SCOPE_NAMES = ("org", "repo", "workflow", "job")


def _override_routes() -> tuple[Route, ...]:
    routes: list[Route] = []
    for level, path in zip(_SCOPE_NAMES, _OVERRIDE_SCOPES, strict=True):
        routes.append(
            Route(
                "PUT",
                path,
                r.put_override,
                Tier.STRICT,
                f"put_{level}_override",
                f"Create or replace the {level}-level sizing override",
                "overrides",
                response=StoredOverride,
                statuses=(200, 201),
                body=Override,
            )
        )
        routes.append(
            Route(
                "DELETE",
                path,
                r.delete_override,
                Tier.STRICT,
                f"delete_{level}_override",
                f"Remove the {level}-level sizing override",
                "overrides",
                statuses=(204,),
                errors=(404,),
            )
        )
    return tuple(routes)


ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/health",
        r.health,
        Tier.OPEN,
        "health",
        "Health check",
        "service",
        response=Health,
        errors=(503,),
        any_query=True,
    ),
    Route(
        "GET",
        "/api/v1/info",
        r.info,
        Tier.OPEN,
        "info",
        "Service info: version, auth mode, CI provider, links",
        "service",
        response=Info,
    ),
    Route(
        "POST",
        "/api/v1/token",
        r.create_push_token,
        Tier.READ_TOKEN,
        "create_push_token",
        "Issue a push token scoped to one job",
        "ingest",
        response=PushToken,
        body=PushTokenRequest,
    ),
    Route(
        "POST",
        "/api/v1/metrics",
        r.push_metrics,
        Tier.PUSH_TOKEN,
        "push_metrics",
        "Store a job summary (201 when new, 200 with the stored run when repeated)",
        "ingest",
        response=Run,
        statuses=(200, 201),
        body=Push,
    ),
    Route(
        "GET",
        f"/api/v1/metrics/repo/{_JOB}",
        r.job_metrics,
        Tier.STRICT,
        "list_job_metrics",
        "List the stored runs of a job, newest first",
        "metrics",
        response=list[Run],
        query=_LIST,
    ),
    Route(
        "GET",
        "/api/v1/metrics/runner/{runner}",
        r.runner_metrics,
        Tier.STRICT,
        "list_runner_metrics",
        "List the stored runs of a runner, newest first",
        "metrics",
        response=list[Run],
        query=_LIST,
    ),
    Route(
        "GET",
        "/api/v1/debug/metrics",
        r.debug_metrics,
        Tier.STRICT,
        "list_all_metrics",
        "List every stored run, newest first",
        "metrics",
        response=list[Run],
        query=_LIST,
    ),
    Route(
        "GET",
        f"/api/v1/sizing/repo/{_JOB}",
        r.sizing,
        Tier.RELAXED,
        "get_sizing",
        "Recommend requests and limits from a job's recent runs",
        "sizing",
        response=Sizing,
        query=_SIZING,
        errors=(404,),
    ),
    Route(
        "GET",
        f"/api/v1/energy/repo/{_JOB}",
        r.energy,
        Tier.STRICT,
        "get_energy",
        "Estimate the energy and carbon of a job's runs",
        "energy",
        response=EnergyEstimate,
        query=(_FROM, _TO),
    ),
    Route(
        "GET",
        f"/api/v1/success-failure-stats/repo/{_JOB}",
        r.status_stats,
        Tier.STRICT,
        "get_status_stats",
        "Count a job's runs per status",
        "metrics",
        response=StatusStats,
        query=(_FROM, _TO),
    ),
    Route(
        "GET",
        "/api/v1/sizing/overrides",
        r.list_overrides,
        Tier.RELAXED,
        "list_overrides",
        "List every sizing override, wider scopes first",
        "overrides",
        response=list[StoredOverride],
        query=(_LIMIT, _OFFSET),
    ),
    *_override_routes(),
    Route(
        "GET",
        "/api/v1/metrics/overview",
        reports.overview,
        Tier.STRICT,
        "get_overview",
        "Global KPIs with one row per organization",
        "aggregation",
        response=Overview,
        query=_LIST,
    ),
    Route(
        "GET",
        "/api/v1/metrics/org/{org}",
        reports.organization_metrics,
        Tier.STRICT,
        "get_organization_metrics",
        "An organization's KPIs with one row per repository",
        "aggregation",
        response=OrganizationReport,
        query=_LIST,
    ),
    Route(
        "GET",
        "/api/v1/metrics/org/{org}/repo/{repo}",
        reports.repository_metrics,
        Tier.STRICT,
        "get_repository_metrics",
        "A repository's KPIs with one row per workflow and its jobs",
        "aggregation",
        response=RepositoryReport,
        query=_LIST,
    ),
    Route(
        "GET",
        "/api/v1/sizing/org/{org}",
        reports.organization_sizing,
        Tier.RELAXED,
        "get_organization_sizing",
        "Recommend sizes for every job of an organization, with savings",
        "sizing",
        response=SizingOverview,
        query=_LIST,
    ),
    Route(
        "GET",
        "/api/v1/sizing/org/{org}/repo/{repo}",
        reports.repository_sizing,
        Tier.RELAXED,
        "get_repository_sizing",
        "Recommend sizes for every job of a repository, with savings",
        "sizing",
        response=SizingOverview,
        query=_LIST,
    ),
    Route(
        "GET",
        "/api/v1/compare/repos",
        reports.compare_repositories,
        Tier.STRICT,
        "compare_repositories",
        "Compare the repositories of an organization by a KPI",
        "aggregation",
        response=RepositoryComparison,
        query=(_ORG, *_COMPARE),
    ),
    Route(
        "GET",
        "/api/v1/compare/workflows",
        reports.compare_workflows,
        Tier.STRICT,
        "compare_workflows",
        "Compare the workflows of a repository by a KPI",
        "aggregation",
        response=WorkflowComparison,
        query=(_ORG, _REPO, *_COMPARE),
    ),
    Route(
        "GET",
        "/api/v1/runners",
        reports.runners,
        Tier.STRICT,
        "list_runners",
        "List the runners that served runs, with counts and last seen",
        "runners",
        response=RunnerList,
        query=_LIST,
    ),
    Route(
        "GET",
        "/api/v1/runners/overview",
        reports.runner_overview,
        Tier.RELAXED,
        "get_runner_overview",
        "The runner fleet: active runners, runs and CPU utilisation",
        "runners",
        response=RunnerOverview,
        query=_LIST,
    ),
    # NOTE: a runner named "overview" has no detail view: the literal route
    # above wins over this template.
    Route(
        "GET",
        "/api/v1/runners/{runner}",
        reports.runner_detail,
        Tier.RELAXED,
        "get_runner",
        "One runner's KPIs and utilisation with one row per organization",
        "runners",
        response=RunnerReport,
        query=_LIST,
    ),
    Route(
        "GET",
        "/swagger",
        swagger.swagger_page,
        Tier.OPEN,
        "swagger",
        "Swagger UI",
        "service",
        in_schema=False,
    ),
    Route(
        "GET",
        "/swagger/init.js",
        swagger.swagger_init,
        Tier.OPEN,
        "swagger_init",
        "Swagger UI start script",
        "service",
        in_schema=False,
    ),
    Route(
        "GET",
        "/swagger/openapi.json",
        r.openapi_document,
        Tier.OPEN,
        "openapi",
        "This OpenAPI document",
        "service",
        in_schema=False,
    ),
)
