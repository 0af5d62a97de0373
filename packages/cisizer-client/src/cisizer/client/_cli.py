"""The ``cisizer`` command line: the client for people and shell scripts.

Every command prints a table by default and JSON with ``--json``; its exit
status says what went wrong (see ``EXIT_CODES``).
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn, ParamSpec, TypeVar

import attrs
import click

from cisizer.client._client import DEFAULT_PAGE_SIZE, Client
from cisizer.client._errors import (
    AuthenticationError,
    CISizerError,
    ConfigurationError,
    InvalidArgumentError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from cisizer.client._http import DEFAULT_TIMEOUT, TOKEN_VARIABLE, URL_VARIABLE
from cisizer.client._output import (
    KPI_HEADERS,
    kpi_cells,
    kpi_table,
    page_note,
    run_table,
    scope_label,
    sizing_overview_table,
    sizing_table,
    table,
)
from cisizer.core import (
    CpuPercentile,
    CpuSizingMode,
    MemoryQoS,
    Override,
    OverrideScope,
    SizingParams,
    SortOrder,
    converter,
    parse_datetime,
)

__all__ = ["EXIT_CODES", "main"]

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_AUTH = 4
EXIT_INVALID = 5
EXIT_SERVER = 6
EXIT_TRANSPORT = 7

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_API_ERROR: "any other error answer of the receiver (409, 429, …)",
    EXIT_USAGE: "bad command line or no receiver URL",
    EXIT_NOT_FOUND: "not found, e.g. a job with no history yet (404)",
    EXIT_AUTH: "token missing, wrong, expired or not allowed (401, 403)",
    EXIT_INVALID: "the receiver rejected the request as invalid (400, 413, 422)",
    EXIT_SERVER: "the receiver failed (5xx) or answered an unexpected body",
    EXIT_TRANSPORT: "the receiver could not be reached or timed out",
}

_EPILOG = "Exit status:\n\n\b\n" + "\n".join(
    f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items()
)


def _datetime(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> datetime | None:
    """Parse an RFC 3339 date-time (``2026-02-06T14:30:00Z``) or a UTC date."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return parse_datetime(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (2026-02-06) or RFC 3339 date-time"
        ) from None


def _exit_code(error: CISizerError) -> int:
    if isinstance(error, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return EXIT_AUTH
    if isinstance(error, InvalidRequestError):
        return EXIT_INVALID
    if isinstance(error, ServerError | UnexpectedResponseError):
        return EXIT_SERVER
    if isinstance(error, TransportError):
        return EXIT_TRANSPORT
    if isinstance(error, ConfigurationError | InvalidArgumentError):
        return EXIT_USAGE
    return EXIT_API_ERROR


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"cisizer: error: {message}", err=True)
    sys.exit(code)


@contextmanager
def _exit_on_error() -> Iterator[None]:
    try:
        yield
    except CISizerError as error:
        _fail(str(error), _exit_code(error))
    except ValueError as error:
        _fail(str(error), EXIT_USAGE)


@attrs.frozen
class _Result:
    """What a command prints: the model for ``--json``, the text for people."""

    data: object
    text: str


def _receiver_command(func: Callable[..., _Result]) -> Callable[..., None]:
    """Give a command the receiver options and turn its result into output."""

    @click.option(
        "--url",
        envvar=URL_VARIABLE,
        metavar="URL",
        help=f"Receiver URL [env: {URL_VARIABLE}].",
    )
    @click.option(
        "--token",
        envvar=TOKEN_VARIABLE,
        metavar="TOKEN",
        help=f"Read token [env: {TOKEN_VARIABLE}].",
    )
    @click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        metavar="SECONDS",
        default=DEFAULT_TIMEOUT,
        show_default=True,
        help="Seconds to wait for each request.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    @functools.wraps(func)
    def command(
        url: str | None,
        token: str | None,
        timeout: float,
        as_json: bool,
        **arguments: Any,
    ) -> None:
        if not url:
            _fail(f"no receiver URL: pass --url or set {URL_VARIABLE}", EXIT_USAGE)
        with _exit_on_error(), Client(url, token, timeout=timeout) as client:
            result = func(client, **arguments)
        if as_json:
            click.echo(json.dumps(converter.unstructure(result.data), indent=2))
        else:
            click.echo(result.text)

    return command


def _job_arguments(func: Callable[P, R]) -> Callable[P, R]:
    for name in ("job", "workflow", "repo", "org"):
        func = click.argument(name)(func)
    return func


def _range_options(func: Callable[P, R]) -> Callable[P, R]:
    func = click.option(
        "--to",
        "to",
        callback=_datetime,
        metavar="DATETIME",
        help="Only runs that ended at or before this time.",
    )(func)
    return click.option(
        "--from",
        "from_",
        callback=_datetime,
        metavar="DATETIME",
        help="Only runs that ended at or after this time.",
    )(func)


@attrs.frozen
class _Paging:
    """Which rows a listing command shows: one page, or with --all every page."""

    limit: int | None
    offset: int | None
    fetch_all: bool

    def rows(
        self,
        page_at: Callable[..., list[R]],
        walk: Callable[..., Iterable[R]],
        *args: Any,
        **kwargs: Any,
    ) -> list[R]:
        """Return one page of rows, or with --all every row."""
        if self.fetch_all:
            return list(walk(*args, **kwargs, page_size=self._page_size))
        return page_at(*args, **kwargs, limit=self.limit, offset=self.offset)

    def report(
        self,
        page_at: Callable[..., Any],
        walk: Callable[..., Iterable[Any]],
        rows: str,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Return one report page, or with --all the report holding every row."""
        if not self.fetch_all:
            return page_at(*args, **kwargs, limit=self.limit, offset=self.offset)

        head = page_at(*args, **kwargs, limit=1, offset=0)
        every = tuple(walk(*args, **kwargs, page_size=self._page_size))
        return attrs.evolve(head, **{rows: every}, limit=len(every), offset=0)

    @property
    def _page_size(self) -> int:
        return self.limit or DEFAULT_PAGE_SIZE


def _page_options(func: Callable[..., R]) -> Callable[..., R]:
    """Give a command --limit, --offset and --all, passed on as one ``paging``."""

    @functools.wraps(func)
    def command(
        *args: Any,
        limit: int | None,
        offset: int | None,
        fetch_all: bool,
        **kwargs: Any,
    ) -> R:
        return func(*args, paging=_Paging(limit, offset, fetch_all), **kwargs)

    with_all = click.option(
        "--all", "fetch_all", is_flag=True, help="Fetch every page instead of one."
    )(command)
    with_offset = click.option(
        "--offset", type=click.IntRange(min=0), metavar="N", help="Rows to skip."
    )(with_all)
    return click.option(
        "--limit",
        type=click.IntRange(1, 1000),
        metavar="N",
        help="Rows per page (receiver default 50).",
    )(with_offset)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=_EPILOG,
)
@click.version_option(package_name="cisizer-client", prog_name="cisizer")
@click.option("-v", "--verbose", is_flag=True, help="Log each request to stderr.")
def main(verbose: bool) -> None:
    """Ask a CI Sizer receiver for sizings, metrics and overrides.

    Every command takes --url (or CISIZER_URL) for the receiver and --token
    (or CISIZER_READ_TOKEN) for the read token.  Run COMMAND --help for its
    arguments.
    """
    if verbose:
        logging.basicConfig(format="%(name)s: %(message)s")
        logging.getLogger("cisizer.client").setLevel(logging.DEBUG)


@main.command(epilog=_EPILOG)
@_receiver_command
def info(client: Client) -> _Result:
    """Show the receiver's health, version and auth mode."""
    health = client.health()
    about = client.info()
    rows: list[list[object]] = [
        ["health", health.status],
        ["version", about.version],
        ["auth mode", about.auth_mode],
        ["ci provider", about.ci_provider],
        ["forgejo base url", about.forgejo_base_url],
        ["logout url", about.logout_url],
    ]
    data = {
        "health": converter.unstructure(health),
        "info": converter.unstructure(about),
    }
    return _Result(data, table(["field", "value"], rows))


_DEFAULTS = SizingParams()


def _unset(default: object) -> str:
    value = default.value if isinstance(default, enum.Enum) else default
    return f" (unset: an override's, else {value})."


def _sizing_options(buffer: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Give a command the sizing parameters; --buffer is passed as ``buffer``."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        options = [
            click.option(
                "--runs",
                type=click.IntRange(1, 100),
                metavar="N",
                help=f"Recent runs to analyse{_unset(_DEFAULTS.runs)}",
            ),
            click.option(
                "--buffer",
                buffer,
                type=click.IntRange(0, 1000),
                metavar="PCT",
                help=f"CPU headroom in percent{_unset(_DEFAULTS.buffer_percent)}",
            ),
            click.option(
                "--cpu-percentile",
                type=click.Choice([item.value for item in CpuPercentile]),
                help="CPU statistic the request is sized from"
                f"{_unset(_DEFAULTS.cpu_percentile)}",
            ),
            click.option(
                "--cpu-sizing-mode",
                type=click.Choice([item.value for item in CpuSizingMode]),
                help="Whether the CPU limit is only advice or is applied"
                f"{_unset(_DEFAULTS.cpu_sizing_mode)}",
            ),
            click.option(
                "--memory-qos",
                type=click.Choice([item.value for item in MemoryQoS]),
                help="Kubernetes QoS class the memory request aims for"
                f"{_unset(_DEFAULTS.memory_qos)}",
            ),
        ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


@main.command(
    epilog=_EPILOG, short_help="Recommend CPU and memory for a job's next run."
)
@_job_arguments
@_sizing_options("buffer")
@_receiver_command
def sizing(
    client: Client,
    org: str,
    repo: str,
    workflow: str,
    job: str,
    runs: int | None,
    buffer: int | None,
    cpu_percentile: str | None,
    cpu_sizing_mode: str | None,
    memory_qos: str | None,
) -> _Result:
    """Recommend CPU and memory requests and limits for a job's next run.

    Exits with status 3 while the job has no history.
    """
    result = client.sizing(
        org,
        repo,
        workflow,
        job,
        runs=runs,
        buffer=buffer,
        cpu_percentile=cpu_percentile,
        cpu_sizing_mode=cpu_sizing_mode,
        memory_qos=memory_qos,
    )
    return _Result(result, sizing_table(result))


@main.command(epilog=_EPILOG, short_help="Print a new push token for one job.")
@_job_arguments
@_receiver_command
def token(client: Client, org: str, repo: str, workflow: str, job: str) -> _Result:
    """Print a new push token for one job (needs the read token).

    Only the token goes to standard output and its expiry to standard
    error, so a shell can keep it:

    \b
      export CISIZER_PUSH_TOKEN=$(cisizer token ORG REPO WORKFLOW JOB)

    --json prints the token, its expiry and its job as JSON.
    """
    push_token = client.create_push_token(org, repo, workflow, job)
    click.echo(f"expires at {push_token.expires_at.isoformat()}", err=True)
    return _Result(push_token, push_token.token)


@main.group(epilog=_EPILOG, short_help="Show stored runs, energy and outcomes.")
def metrics() -> None:
    """Show stored runs of a job or runner, and a job's energy and outcomes."""


@metrics.command("job", epilog=_EPILOG)
@_job_arguments
@_range_options
@_page_options
@_receiver_command
def metrics_job(
    client: Client,
    org: str,
    repo: str,
    workflow: str,
    job: str,
    from_: datetime | None,
    to: datetime | None,
    paging: _Paging,
) -> _Result:
    """List the stored runs of a job, newest first."""
    runs = paging.rows(
        client.job_metrics,
        client.iter_job_metrics,
        org,
        repo,
        workflow,
        job,
        from_=from_,
        to=to,
    )
    return _Result(runs, run_table(runs))


@metrics.command("runner", epilog=_EPILOG)
@click.argument("runner")
@_range_options
@_page_options
@_receiver_command
def metrics_runner(
    client: Client,
    runner: str,
    from_: datetime | None,
    to: datetime | None,
    paging: _Paging,
) -> _Result:
    """List the runs a runner executed, newest first."""
    runs = paging.rows(
        client.runner_metrics, client.iter_runner_metrics, runner, from_=from_, to=to
    )
    return _Result(runs, run_table(runs))


@metrics.command("energy", epilog=_EPILOG)
@_job_arguments
@_range_options
@_receiver_command
def metrics_energy(
    client: Client,
    org: str,
    repo: str,
    workflow: str,
    job: str,
    from_: datetime | None,
    to: datetime | None,
) -> _Result:
    """Estimate the energy and carbon of a job's runs."""
    estimate = client.energy(org, repo, workflow, job, from_=from_, to=to)
    rows: list[list[object]] = [
        ["runs", estimate.runs],
        ["cpu core-hours used", f"{estimate.cpu_core_hours:.4f}"],
        ["core-hours allocated", f"{estimate.allocated_core_hours:.4f}"],
        ["memory GiB-hours", f"{estimate.memory_gib_hours:.4f}"],
        ["energy (Wh)", f"{estimate.energy_wh:.2f}"],
        ["carbon (gCO2e)", f"{estimate.carbon_g:.2f}"],
        ["profile", estimate.profile],
    ]
    return _Result(estimate, table(["figure", "value"], rows))


@metrics.command("stats", epilog=_EPILOG, short_help="Count how a job's runs ended.")
@_job_arguments
@_range_options
@_receiver_command
def metrics_stats(
    client: Client,
    org: str,
    repo: str,
    workflow: str,
    job: str,
    from_: datetime | None,
    to: datetime | None,
) -> _Result:
    """Count how a job's runs ended: success, failure, cancelled, unknown."""
    stats = client.success_failure_stats(org, repo, workflow, job, from_=from_, to=to)
    rows = [[item.status, item.count, f"{item.rate:.1%}"] for item in stats.statuses]
    rate = "-" if stats.success_rate is None else f"{stats.success_rate:.1%}"
    text = table(["status", "runs", "share"], rows)
    return _Result(stats, f"{text}\n\n{stats.total} run(s), success rate {rate}")


@main.group(epilog=_EPILOG, short_help="List, set and delete sizing overrides.")
def overrides() -> None:
    """List, set and delete sizing overrides (org > repo > workflow > job)."""


_SCOPE = "ORG [REPO [WORKFLOW [JOB]]]"


def _scope(scope: tuple[str, ...]) -> OverrideScope:
    """Return the override scope ORG [REPO [WORKFLOW [JOB]]] names."""
    if not 1 <= len(scope) <= 4:
        raise click.UsageError("give ORG [REPO [WORKFLOW [JOB]]]")
    organization, *narrower = scope
    padded = [*narrower, None, None, None]
    repository = padded[0]
    if repository is not None and "/" not in repository:
        repository = f"{organization}/{repository}"
    return OverrideScope(organization, repository, padded[1], padded[2])


@overrides.command("list", epilog=_EPILOG)
@_page_options
@_receiver_command
def overrides_list(client: Client, paging: _Paging) -> _Result:
    """List the sizing overrides, wider scopes first."""
    stored = paging.rows(client.list_overrides, client.iter_overrides)
    fields = [field.name for field in attrs.fields(Override)]
    rows = []
    for item in stored:
        settings = converter.unstructure(item.override)
        text = ", ".join(
            f"{name}={settings[name]}" for name in fields if settings[name] is not None
        )
        updated = item.updated_at.replace(microsecond=0)
        rows.append([item.scope.level, scope_label(item.scope), text, updated])
    return _Result(stored, table(["level", "scope", "settings", "updated"], rows))


@overrides.command("set", epilog=_EPILOG)
@click.argument("scope", nargs=-1, required=True, metavar=_SCOPE)
@_sizing_options("buffer_percent")
@click.option("--min-cpu", metavar="QUANTITY", help="Lowest CPU, e.g. 250m.")
@click.option("--max-cpu", metavar="QUANTITY", help="Highest CPU, e.g. 4.")
@click.option("--min-memory", metavar="QUANTITY", help="Lowest memory, e.g. 256Mi.")
@click.option("--max-memory", metavar="QUANTITY", help="Highest memory, e.g. 8Gi.")
@_receiver_command
def overrides_set(client: Client, scope: tuple[str, ...], **settings: Any) -> _Result:
    """Set the sizing override of ORG [REPO [WORKFLOW [JOB]]].

    Replaces any override at that scope; settings not given inherit from the
    wider scopes.
    """
    where = _scope(scope)
    if all(value is None for value in settings.values()):
        raise click.UsageError("give at least one setting, e.g. --runs 10")
    override = converter.structure(settings, Override)

    stored = client.set_override(*attrs.astuple(where), override=override)
    level = stored.scope.level
    return _Result(
        stored, f"override set at {level} scope: {scope_label(stored.scope)}"
    )


@overrides.command("delete", epilog=_EPILOG)
@click.argument("scope", nargs=-1, required=True, metavar=_SCOPE)
@_receiver_command
def overrides_delete(client: Client, scope: tuple[str, ...]) -> _Result:
    """Delete the sizing override of ORG [REPO [WORKFLOW [JOB]]]."""
    where = _scope(scope)
    client.delete_override(*attrs.astuple(where))
    label = scope_label(where)
    return _Result({"deleted": label}, f"override deleted: {label}")


def _note(report: Any, shown: int) -> str:
    return page_note(shown, report.total, report.offset)


@main.command(
    epilog=_EPILOG, short_help="Show KPIs overall, per org or per repository."
)
@click.option(
    "--org",
    "organization",
    metavar="ORG",
    help="Show one organization, per repository.",
)
@click.option(
    "--repo",
    "repository",
    metavar="REPO",
    help="With --org: one repository, per workflow and job.",
)
@_range_options
@_page_options
@_receiver_command
def overview(
    client: Client,
    organization: str | None,
    repository: str | None,
    from_: datetime | None,
    to: datetime | None,
    paging: _Paging,
) -> _Result:
    """Show KPIs of all runs per organization, or of one org or repository.

    Runs, success rate, duration, core-hours, memory, energy and carbon:
    overall with one row per organization; with --org, per repository; with
    --org and --repo, per workflow and job.
    """
    span = {"from_": from_, "to": to}
    if repository is not None and organization is None:
        raise click.UsageError("--repo needs --org")

    if organization is None:
        report = paging.report(
            client.metrics_overview,
            client.iter_metrics_overview,
            "organizations",
            **span,
        )
        rows = [(row.organization, row.kpis) for row in report.organizations]
        text = kpi_table("organization", rows, report.kpis)
    elif repository is None:
        report = paging.report(
            client.organization_metrics,
            client.iter_organization_metrics,
            "repositories",
            organization,
            **span,
        )
        rows = [(row.repository, row.kpis) for row in report.repositories]
        text = kpi_table("repository", rows, report.kpis)
    else:
        report = paging.report(
            client.repository_metrics,
            client.iter_repository_metrics,
            "workflows",
            organization,
            repository,
            **span,
        )
        rows = []
        for workflow in report.workflows:
            rows.append((workflow.workflow, workflow.kpis))
            rows += [
                (f"{workflow.workflow}/{job.job}", job.kpis) for job in workflow.jobs
            ]
        text = kpi_table("workflow / job", rows, report.kpis)
    shown = len(rows) if repository is None else len(report.workflows)

    return _Result(report, f"{text}\n\n{_note(report, shown)}")


@main.command(
    "sizing-overview",
    epilog=_EPILOG,
    short_help="Show every job's sizing and what it would save.",
)
@click.argument("org")
@click.argument("repo", required=False)
@_range_options
@_page_options
@_receiver_command
def sizing_overview(
    client: Client,
    org: str,
    repo: str | None,
    from_: datetime | None,
    to: datetime | None,
    paging: _Paging,
) -> _Result:
    """Show the sizing of every job of ORG [REPO] and what it would save.

    Savings compare the recommendation with the limits the runs reported;
    a negative figure means a job needs more than it had.
    """
    span = {"from_": from_, "to": to}
    if repo is None:
        report = paging.report(
            client.organization_sizing,
            client.iter_organization_sizing,
            "jobs",
            org,
            **span,
        )
    else:
        report = paging.report(
            client.repository_sizing,
            client.iter_repository_sizing,
            "jobs",
            org,
            repo,
            **span,
        )
    text = sizing_overview_table(report)

    return _Result(report, f"{text}\n\n{_note(report, len(report.jobs))}")


@main.command(epilog=_EPILOG, short_help="Compare repositories or workflows by KPI.")
@click.argument("org")
@click.argument("repo", required=False)
@click.option("--sort", metavar="KPI", help="KPI to sort by, e.g. runs, energy_wh.")
@click.option(
    "--order",
    type=click.Choice([item.value for item in SortOrder]),
    help="Sort direction (receiver default: desc).",
)
@_range_options
@_page_options
@_receiver_command
def compare(
    client: Client,
    org: str,
    repo: str | None,
    sort: str | None,
    order: str | None,
    from_: datetime | None,
    to: datetime | None,
    paging: _Paging,
) -> _Result:
    """Compare the repositories of ORG, or the workflows of ORG REPO, by KPI."""
    options: dict[str, Any] = {"sort": sort, "order": order, "from_": from_, "to": to}
    if repo is None:
        report = paging.report(
            client.compare_repositories,
            client.iter_compare_repositories,
            "repositories",
            org,
            **options,
        )
        rows = [(row.repository, row.kpis) for row in report.repositories]
        text = kpi_table("repository", rows, None)
    else:
        report = paging.report(
            client.compare_workflows,
            client.iter_compare_workflows,
            "workflows",
            org,
            repo,
            **options,
        )
        rows = [(row.workflow, row.kpis) for row in report.workflows]
        text = kpi_table("workflow", rows, None)
    sorted_by = f"sorted by {report.sort} {report.order}"

    return _Result(report, f"{text}\n\n{_note(report, len(rows))}, {sorted_by}")


@main.command(
    epilog=_EPILOG, short_help="List runners, the fleet, or one runner's use."
)
@click.argument("runner", required=False)
@click.option(
    "--overview",
    "fleet",
    is_flag=True,
    help="Show the fleet: KPIs and CPU utilisation per runner.",
)
@_range_options
@_page_options
@_receiver_command
def runners(
    client: Client,
    runner: str | None,
    fleet: bool,
    from_: datetime | None,
    to: datetime | None,
    paging: _Paging,
) -> _Result:
    """List known runners, show the fleet (--overview), or one RUNNER per org.

    Utilisation is used cores over CPU limits, counted only where the runs
    reported a limit.
    """
    span = {"from_": from_, "to": to}
    if runner is not None and fleet:
        raise click.UsageError("give RUNNER or --overview, not both")

    if runner is not None:
        report = paging.report(
            client.runner_report,
            client.iter_runner_report,
            "organizations",
            runner,
            **span,
        )
        rows = [(row.organization, row.kpis) for row in report.organizations]
        text = kpi_table("organization", rows, report.kpis)
        text += f"\n\nutilisation {_rate(report.utilisation)}"
        shown = len(rows)
    elif fleet:
        report = paging.report(
            client.runners_overview, client.iter_runners_overview, "runners", **span
        )
        lines = [
            [row.runner, _rate(row.utilisation), *kpi_cells(row.kpis)]
            for row in report.runners
        ]
        text = table(["runner", "utilisation", *KPI_HEADERS], lines)
        text += (
            f"\n\n{report.active_runners} active runner(s), "
            f"{report.kpis.runs} run(s), utilisation {_rate(report.utilisation)}"
        )
        shown = len(lines)
    else:
        report = paging.report(
            client.list_runners, client.iter_runners, "runners", **span
        )
        lines = [
            [row.runner, row.runs, _stamp(row.first_seen_at), _stamp(row.last_seen_at)]
            for row in report.runners
        ]
        text = table(["runner", "runs", "first seen", "last seen"], lines)
        shown = len(lines)

    return _Result(report, f"{text}\n\n{_note(report, shown)}")


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
