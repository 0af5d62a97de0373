"""The responders: what each route does with a request once it is admitted.

Each function takes the receiver's :class:`State`, the request and the
checked path names, and returns a :class:`Reply`.  Errors are raised, never
answered here: :mod:`cisizer.server._errors` turns them into problem+json.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import attrs
import falcon
import sqlalchemy as sa

from cisizer.core import (
    CpuPercentile,
    CpuSizingMode,
    Health,
    Info,
    JobKey,
    MemoryQoS,
    OverrideScope,
    PushTokenSigner,
    RunFigures,
    RunStatus,
    StatusCount,
    StatusStats,
    compute_sizing,
    converter,
    estimate_energy,
    parse_override,
    parse_push,
    parse_push_token_request,
    resolve_sizing_params,
    run_figures,
)
from cisizer.server import _storage
from cisizer.server._errors import (
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from cisizer.server._input import query_enum, query_int, query_time, read_json
from cisizer.server._settings import Settings

__all__ = ["Reply", "State"]

_MAX_COUNT = 2**62
_MAX_FIGURE = 1e18


@attrs.frozen
class State:
    """What every responder needs: settings, database and push token signer."""

    settings: Settings
    engine: sa.Engine
    signer: PushTokenSigner
    version: str
    openapi: dict[str, Any]


@attrs.frozen
class Reply:
    """An answer: a status and a model (or list of models) to send as JSON.

    ``raw`` with ``content_type`` sends bytes as they are instead.
    """

    status: int = 200
    body: object = None
    raw: bytes | None = None
    content_type: str = falcon.MEDIA_JSON


def _body(state: State, req: falcon.Request) -> object:
    settings = state.settings
    return read_json(req, settings.max_body_bytes, settings.body_timeout)


def _job(params: dict[str, str]) -> JobKey:
    org = params["org"]
    return JobKey(org, f"{org}/{params['repo']}", params["workflow"], params["job"])


def _time_range(req: falcon.Request) -> _storage.TimeRange:
    start = query_time(req, "from")
    end = query_time(req, "to")
    if start is not None and end is not None and start > end:
        raise InvalidRequestError.field("from", "must not be after to")
    return _storage.TimeRange(start, end)


def _page(req: falcon.Request) -> _storage.Page:
    limit = query_int(req, "limit", _storage.DEFAULT_LIMIT, 1, _storage.MAX_LIMIT)
    offset = query_int(req, "offset", 0, 0, 2**31 - 1)
    assert limit is not None
    assert offset is not None
    return _storage.Page(limit, offset)


def health(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """Answer ok when the database answers."""
    try:
        _storage.ping(state.engine)
    except sa.exc.SQLAlchemyError:
        raise falcon.HTTPServiceUnavailable(
            title="Service unavailable", description="database: not reachable"
        ) from None
    return Reply(body=Health("ok"))


def info(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """Describe this receiver."""
    settings = state.settings
    return Reply(
        body=Info(
            version=state.version,
            auth_mode=settings.auth_mode.value,
            ci_provider=settings.ci_provider,
            forgejo_base_url=settings.forgejo_base_url,
            logout_url=settings.logout_url,
        )
    )


def create_push_token(
    state: State, req: falcon.Request, params: dict[str, str]
) -> Reply:
    """Issue a push token for the job named in the body."""
    request = parse_push_token_request(_body(state, req))
    job = JobKey(
        request.organization, request.repository, request.workflow, request.job
    )
    return Reply(body=state.signer.issue(job))


def _check_figures(figures: RunFigures) -> None:
    for field in attrs.fields(RunFigures):
        value = getattr(figures, field.name)
        if value is None:
            continue
        limit = _MAX_COUNT if isinstance(value, int) else _MAX_FIGURE
        if not math.isfinite(value) or abs(value) > limit:
            raise InvalidRequestError.field(
                "payload.containers", f"{field.name} is too large to store"
            )


def push_metrics(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """Store one job summary; a repeated push answers the run stored first.

    The push token was admitted until the push grace after it expired; here
    it must also not have expired when the run started.
    """
    received_at = datetime.now(UTC)
    push = parse_push(
        _body(state, req),
        now=received_at,
    )
    principal = req.context.principal
    if principal.token is not None:
        state.signer.check_valid_at(principal.token, push.payload.start_time)
    scope = principal.job
    if scope != push.job_key:
        raise PermissionDeniedError(
            "push token: scoped to another organization, repository, workflow "
            "or job than the body"
        )
    payload = converter.unstructure(push.payload)
    if "\\u0000" in json.dumps(payload):
        raise InvalidRequestError.field("payload", "must not contain NUL characters")
    figures = run_figures(push.payload)
    _check_figures(figures)

    run, created = _storage.insert_run(state.engine, push, figures, received_at)
    return Reply(status=201 if created else 200, body=run)


def job_metrics(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """List the stored runs of one job, newest first."""
    return Reply(
        body=_storage.list_runs(
            state.engine,
            job=_job(params),
            time_range=_time_range(req),
            page=_page(req),
        )
    )


def runner_metrics(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """List the stored runs of one runner, newest first."""
    return Reply(
        body=_storage.list_runs(
            state.engine,
            runner=params["runner"],
            time_range=_time_range(req),
            page=_page(req),
        )
    )


def debug_metrics(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """List every stored run, newest first."""
    return Reply(
        body=_storage.list_runs(
            state.engine, time_range=_time_range(req), page=_page(req)
        )
    )


def sizing(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """Recommend requests and limits for the next run of a job."""
    job = _job(params)
    runs = query_int(req, "runs", None, 1, 100)
    buffer = query_int(req, "buffer", None, 0, 1000)
    cpu_percentile = query_enum(req, "cpu_percentile", CpuPercentile)
    cpu_sizing_mode = query_enum(req, "cpu_sizing_mode", CpuSizingMode)
    memory_qos = query_enum(req, "memory_qos", MemoryQoS)

    sizing_params = resolve_sizing_params(
        _storage.overrides_for_job(state.engine, job),
        runs=runs,
        buffer_percent=buffer,
        cpu_percentile=cpu_percentile,
        cpu_sizing_mode=cpu_sizing_mode,
        memory_qos=memory_qos,
    )
    history = _storage.job_history(state.engine, job, sizing_params.runs)
    return Reply(body=compute_sizing(history, sizing_params))


def energy(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """Estimate the energy and carbon of a job's runs within the time range."""
    totals = _storage.run_totals(state.engine, _job(params), _time_range(req))
    return Reply(
        body=estimate_energy(
            runs=totals.runs,
            used_core_seconds=totals.used_core_seconds,
            allocated_core_seconds=totals.allocated_core_seconds,
            memory_gib_seconds=totals.memory_gib_seconds,
            profile=state.settings.energy(),
        )
    )


def status_stats(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """Count a job's runs per status within the time range.

    ``success_rate`` is successes over successes and failures, so cancelled
    and unknown runs do not count against a job.
    """
    counts = _storage.status_counts(state.engine, _job(params), _time_range(req))
    total = sum(counts.values())
    decided = counts[RunStatus.SUCCESS] + counts[RunStatus.FAILURE]
    return Reply(
        body=StatusStats(
            total=total,
            success_rate=counts[RunStatus.SUCCESS] / decided if decided else None,
            statuses=tuple(
                StatusCount(status, count, count / total if total else 0.0)
                for status, count in counts.items()
            ),
        )
    )


def _scope(params: dict[str, str]) -> OverrideScope:
    org = params["org"]
    repo = params.get("repo")
    return OverrideScope(
        organization=org,
        repository=None if repo is None else f"{org}/{repo}",
        workflow=params.get("workflow"),
        job=params.get("job"),
    )


def list_overrides(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """List every stored override, wider scopes first."""
    return Reply(body=_storage.list_overrides(state.engine, _page(req)))


def put_override(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """Create or replace the override at the scope the path names."""
    override = parse_override(_body(state, req))
    stored, created = _storage.put_override(
        state.engine, _scope(params), override, datetime.now(UTC)
    )
    return Reply(status=201 if created else 200, body=stored)


def delete_override(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """Remove the override at the scope the path names."""
    scope = _scope(params)
    if not _storage.delete_override(state.engine, scope):
        raise NotFoundError(f"no override at {scope.level} scope")
    return Reply(status=204)


def openapi_document(
    state: State, req: falcon.Request, params: dict[str, str]
) -> Reply:
    """Serve this receiver's OpenAPI document, its server relative to itself.

    The document lives at ``/swagger/openapi.json``, so ``../`` is the
    receiver's root under any path prefix, and Swagger UI's "Try it out"
    calls ``https://ci.example/sizer/api/v1/...`` when published there.
    """
    document = {**state.openapi, "servers": [{"url": "../"}]}
    return Reply(raw=json.dumps(document, indent=2).encode())
