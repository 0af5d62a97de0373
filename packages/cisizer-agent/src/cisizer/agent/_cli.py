"""The ``cisizer-agent`` command line: run, start, stop, flush, snapshot."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import click

from cisizer.agent._errors import ConfigurationError, IdentityError
from cisizer.agent._identity import FIELDS, Identity, resolve_identity
from cisizer.agent._spool import Spool, default_spool_dir

if TYPE_CHECKING:
    from cisizer.agent._job import Settings
    from cisizer.agent._sampler import Sampler

__all__ = ["main"]

_log = logging.getLogger("cisizer.agent")

F = TypeVar("F", bound=Callable[..., Any])

# Signals a wrapped command receives from the agent; the first two cancel.
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_CANCELLING = (signal.SIGINT, signal.SIGTERM)

_STATUSES = ("success", "failure", "cancelled", "unknown")
_LOG_LEVELS = ("debug", "info", "warning", "error")
_STOP_TIMEOUT = 90.0
# GitLab's $CI_JOB_STATUS spells two of them its own way.
_STATUS_ALIASES = {"failed": "failure", "canceled": "cancelled"}


def _option(*names: str, env: str | list[str], **kwargs: Any) -> Callable[[F], F]:
    return click.option(*names, envvar=env, show_envvar=True, **kwargs)


def _compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def _identity_options() -> Callable[[F], F]:
    helps = {
        "organization": "Organization (owner) of the repository.",
        "repository": "Repository, as owner/name or name.",
        "workflow": "Workflow file name, such as ci.yml.",
        "job": "Job name within the workflow.",
        "run_id": "Id of the workflow run (pipeline).",
        "run_attempt": "Attempt number of the run, from 1.",
        "runner": "Name of the runner the job runs on.",
    }
    return _compose(
        *(
            _option(
                flag, field, env=variable, help=helps[field] + " Default: CI variables."
            )
            for field, (flag, variable) in FIELDS.items()
        )
    )


def _delivery_options() -> Callable[[F], F]:
    return _compose(
        _option("--url", env="CISIZER_URL", help="Receiver base URL."),
        _option(
            "--push-token",
            env="CISIZER_PUSH_TOKEN",
            help="Push token scoped to this job (from POST /api/v1/token).",
        ),
        _option(
            "--spool-dir",
            env="CISIZER_SPOOL_DIR",
            type=click.Path(file_okay=False, path_type=Path),
            default=default_spool_dir,
            show_default="$XDG_CACHE_HOME/cisizer-agent/spool",
            help="Where summaries wait until the receiver confirms them.",
        ),
        _option(
            "--push-timeout",
            env="CISIZER_PUSH_TIMEOUT",
            type=click.FloatRange(min=0),
            default=60.0,
            show_default=True,
            help="Seconds to keep retrying a push after its first attempt before "
            "leaving it in the spool (0: no retries).",
        ),
    )


def _sampling_options() -> Callable[[F], F]:
    return _compose(
        _option(
            "--interval",
            env="CISIZER_INTERVAL",
            type=click.FloatRange(min=0.05),
            default=1.0,
            show_default=True,
            help="Seconds between samples.",
        ),
        _option(
            "--container-name",
            env="CISIZER_CONTAINER_NAME",
            default="runner",
            show_default=True,
            help="Name reported for the agent's own container (its own cgroup).",
        ),
        _option(
            "--cgroup",
            "cgroups",
            env="CISIZER_CGROUP",
            multiple=True,
            metavar="NAME=PATH",
            help="Also sample the cgroup PATH as container NAME (repeatable; "
            "a hierarchy path or a directory under /sys/fs/cgroup).",
        ),
        _option(
            "--docker/--no-docker",
            env="CISIZER_DOCKER",
            default=True,
            show_default=True,
            help="Sample Docker containers started during the job.",
        ),
        _option(
            "--docker-host",
            env=["CISIZER_DOCKER_HOST", "DOCKER_HOST"],
            help="Docker Engine address (unix:///path or tcp://host:port).",
        ),
        _option(
            "--docker-container",
            "docker_containers",
            env="CISIZER_DOCKER_CONTAINER",
            multiple=True,
            metavar="NAME",
            help="Also sample this Docker container though it predates the job "
            "(repeatable).",
        ),
        _option(
            "--docker-all/--no-docker-all",
            env="CISIZER_DOCKER_ALL",
            default=False,
            show_default=True,
            help="Sample every running Docker container, also those older than "
            "the job (for a Docker host used by this job alone).",
        ),
        _option(
            "--top-processes",
            env="CISIZER_TOP_PROCESSES",
            type=click.IntRange(min=0),
            default=20,
            show_default=True,
            help="How many processes (by peak CPU) the summary lists; 0 for none.",
        ),
    )


def _log_option() -> Callable[[F], F]:
    return _option(
        "--log-level",
        env="CISIZER_LOG_LEVEL",
        type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
        default="warning",
        show_default=True,
        help="How much the agent tells on standard error.",
    )


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="cisizer-agent: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )


def _say(message: str) -> None:
    click.echo(f"cisizer-agent: {message}", err=True)


_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _settings(options: dict[str, Any]) -> Settings:
    from cisizer.agent._job import Settings

    cgroups = []
    problems = []
    for spec in options.get("cgroups", ()):
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            problems.append(f"--cgroup / CISIZER_CGROUP takes NAME=PATH, got {spec!r}")
        cgroups.append((name, path))
    if problems:
        raise ConfigurationError("; ".join(problems))
    return Settings(
        url=options.get("url"),
        push_token=(options.get("push_token") or "").strip() or None,
        interval=options.get("interval", 1.0),
        container_name=options.get("container_name", "runner"),
        cgroups=tuple(cgroups),
        docker=options.get("docker", True),
        docker_host=options.get("docker_host"),
        docker_containers=tuple(options.get("docker_containers", ())),
        docker_all=options.get("docker_all", False),
        top_processes=options.get("top_processes", 20),
        spool_dir=options.get("spool_dir") or default_spool_dir(),
        push_timeout=options.get("push_timeout", 60.0),
    )


def _configuration(options: dict[str, Any]) -> tuple[Settings, Identity]:
    """Return the settings and identity, or raise naming every problem at once."""
    from cisizer.agent._delivery import check_url

    problems: list[str] = []
    settings = identity = None
    try:
        settings = _settings(options)
    except ConfigurationError as err:
        problems.append(str(err))
    try:
        identity = resolve_identity(
            {field: options.get(field) for field in FIELDS}, os.environ
        )
    except IdentityError as err:
        problems.append(str(err))

    url, token = options.get("url"), options.get("push_token")
    missing = [
        flag
        for flag, value in (
            ("--url / CISIZER_URL", url),
            ("--push-token / CISIZER_PUSH_TOKEN", token),
        )
        if not value
    ]
    if missing:
        problems.append(f"nowhere to send the summary; set {', '.join(missing)}")
    if url:
        try:
            check_url(url)
        except ConfigurationError as err:
            problems.append(f"--url / CISIZER_URL: {err}")
    if token and not _JWT.fullmatch(token.strip()):
        # Never show the token itself: it is a secret, even when malformed.
        problems.append(
            "--push-token / CISIZER_PUSH_TOKEN is not a push token "
            "(three base64url parts joined by '.')"
        )

    if problems or settings is None or identity is None:
        raise ConfigurationError("; ".join(problems))
    return settings, identity


def _report(deliveries: list[Any]) -> None:
    # A refused or unreadable summary was said at ERROR already: once is enough.
    for delivery in deliveries:
        if not delivery.logged:
            _say(delivery.describe())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cisizer-agent")
def cli() -> None:
    """Measure a CI job's containers and push one summary to CI Sizer.

    Every option can also be set with the CISIZER_* variable shown beside it.
    The job's identity falls back to the CI's own variables (GitHub and
    Forgejo Actions, GitLab CI).  The agent never fails the job: delivery
    problems are reported and the summary stays in the spool for a later
    `cisizer-agent flush`.
    """


class _RunCommand(click.Command):
    """``run``, which runs its command unmeasured when an option is bad.

    A wrong ``CISIZER_*`` value is the agent's problem, not the job's: the
    error is said once and the command still runs, keeping its exit code.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse the options; on a bad one, run the command bare and exit."""
        try:
            return super().parse_args(ctx, list(args))
        except click.UsageError as err:
            command = self._command(ctx, args)
            if not command:
                raise
            _say(
                f"error: {_usage_problem(err).rstrip('.')}; "
                "running the command without measuring it"
            )
            sys.exit(_run_bare(command))

    def _command(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            return args[args.index("--") + 1 :]
        # Without "--" the command starts at the first argument that is
        # neither an option nor a known option's value; an option the agent
        # does not know is taken for a flag without a value.
        takes_value = {
            name
            for param in self.get_params(ctx)
            if isinstance(param, click.Option) and not param.is_flag
            for name in param.opts
        }
        index = 0
        while index < len(args):
            word = args[index]
            if not word.startswith("-") or word == "-":
                return args[index:]
            index += 2 if word in takes_value else 1
        return []


def _usage_problem(err: click.UsageError) -> str:
    param = getattr(err, "param", None)
    if not isinstance(err, click.BadParameter) or not isinstance(param, click.Option):
        return err.format_message()
    envvar = param.envvar
    variables = [envvar] if isinstance(envvar, str) else list(envvar or ())
    names = " / ".join([*param.opts, *variables])
    return f"invalid value for {names}: {err.message}"


@cli.command(cls=_RunCommand, context_settings={"allow_interspersed_args": False})
@_identity_options()
@_delivery_options()
@_sampling_options()
@_log_option()
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(command: tuple[str, ...], log_level: str, **options: Any) -> None:
    """Run COMMAND while sampling, push its summary, exit with its exit code.

    Put `--` before the command.  The status is success for exit code 0,
    cancelled when SIGINT or SIGTERM ended it, failure otherwise.  Those
    signals, SIGHUP and SIGQUIT are passed on to the command.  A command
    killed by a signal makes the agent exit with 128 + the signal number.
    """
    _setup_logging(log_level)
    try:
        settings, identity = _configuration(options)
    except ConfigurationError as err:
        _say(f"error: {err}; running the command without measuring it")
        sys.exit(_run_bare(list(command)))
    sys.exit(_run_measured(list(command), settings, identity))


class _Forwarder:
    """Passes termination signals on to the wrapped command."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Forwarder:
        for signum in _FORWARDED:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if self.child is not None and self.child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.child.pid, signum)

    def run(self, command: list[str]) -> int:
        """Run the command, returning its exit status as a shell reports it."""
        try:
            # Running the user's command is the point of `run`.
            self.child = subprocess.Popen(command)  # noqa: S603
        except FileNotFoundError:
            _say(f"error: command not found: {command[0]}")
            return 127
        except OSError as err:
            _say(f"error: cannot execute {command[0]}: {err.strerror or err}")
            return 126
        for signum in self.received:
            os.kill(self.child.pid, signum)
        code = self.child.wait()
        return 128 - code if code < 0 else code

    @property
    def cancelled(self) -> bool:
        """Tell whether a cancelling signal ended the command."""
        return any(signum in _CANCELLING for signum in self.received)


def _run_bare(command: list[str]) -> int:
    with _Forwarder() as forwarder:
        return forwarder.run(command)


def _status(code: int, forwarder: _Forwarder) -> str:
    if code == 0:
        return "success"
    if code - 128 in _CANCELLING or forwarder.cancelled:
        return "cancelled"
    return "failure"


def _run_measured(command: list[str], settings: Settings, identity: Identity) -> int:
    from cisizer.agent._job import build_sampler

    stop = threading.Event()
    sampler = None
    try:
        sampler = build_sampler(settings)
        sampler.start()
        threading.Thread(target=sampler.run, args=(stop,), daemon=True).start()
    except Exception:
        _log.exception("sampling could not start; the command runs unmeasured")
        sampler = None
    # Earlier summaries go in a process of their own, so that this one
    # keeps the HTTP stack out of memory while the command runs.
    _spawn_flush(settings)

    with _Forwarder() as forwarder:
        code = forwarder.run(command)
    stop.set()

    if sampler is not None:
        _finish(settings, identity, _status(code, forwarder), sampler)
    return code


def _finish(
    settings: Settings, identity: Identity, status: str, sampler: Sampler
) -> None:
    from cisizer.agent._delivery import deliver
    from cisizer.agent._job import spool_summary

    try:
        path = spool_summary(settings, identity, status, sampler)
    except Exception:
        _log.exception("the summary could not be written")
        return
    try:
        delivery = deliver(
            Spool(path.parent),
            path,
            url=settings.url,
            token=settings.push_token,
            deadline=time.monotonic() + settings.push_timeout,
        )
    except Exception:
        _log.exception("the summary could not be sent; it stays at %s", path)
        return
    _report([delivery])


def _default_state_dir() -> Path:
    base = os.environ.get("RUNNER_TEMP") or tempfile.gettempdir()
    return Path(base) / "cisizer-agent"


def _state_option() -> Callable[[F], F]:
    return _option(
        "--state-dir",
        env="CISIZER_STATE_DIR",
        type=click.Path(file_okay=False, path_type=Path),
        default=_default_state_dir,
        show_default="$RUNNER_TEMP/cisizer-agent, else the temp dir",
        help="Where start leaves the background sampler's state for stop.",
    )


class _StartCommand(click.Command):
    """``start``, which leaves the job unmeasured when an option is bad.

    Like ``run``, ``start`` must not fail the job it measures: a bad option
    or variable is said once and the step still succeeds, with nothing
    started (``stop`` then finds no sampler and says so).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse the options; on a bad one, say it and exit 0."""
        try:
            return super().parse_args(ctx, list(args))
        except click.UsageError as err:
            if "--help" in args or "-h" in args:
                raise
            _say(f"error: {_usage_problem(err).rstrip('.')}; {_NOT_MEASURED}")
            sys.exit(0)


_NOT_MEASURED = "this job is not measured"


@cli.command(cls=_StartCommand)
@_identity_options()
@_delivery_options()
@_sampling_options()
@_state_option()
@_option(
    "--max-duration",
    env="CISIZER_MAX_DURATION",
    type=click.FloatRange(min=0),
    default=6 * 3600.0,
    show_default=True,
    help="Seconds after which the sampler stops by itself if stop never comes; "
    "0 for never.",
)
@_log_option()
def start(state_dir: Path, max_duration: float, log_level: str, **options: Any) -> None:
    """Start sampling in the background and return at once.

    End the job with `cisizer-agent stop`.  A missing or bad identity, URL,
    push token or option is said on standard error and nothing is started,
    but the exit code is 0 all the same: the agent never fails the job.
    """
    from cisizer.agent._daemon import StateDir

    _setup_logging(log_level)
    try:
        settings, identity = _configuration(options)
    except ConfigurationError as err:
        _say(f"error: {err}; {_NOT_MEASURED}")
        return
    # The sampler runs from / so that it holds no job directory open.
    state_dir = state_dir.absolute()
    settings = attrs.evolve(settings, spool_dir=settings.spool_dir.absolute())
    state = StateDir(state_dir)
    pid = state.running_pid()
    if pid is not None:
        _say(f"a sampler is already running (pid {pid}) in {state_dir}")
        return

    state.clear()
    state.write_json(
        state.config,
        {
            "settings": settings.to_json(),
            "identity": {field: getattr(identity, field) for field in (*FIELDS, "ci")},
            "since": time.time(),
            "max_duration": max_duration or None,
        },
    )
    env = dict(os.environ, CISIZER_LOG_LEVEL=log_level)
    with open(state.log, "ab") as log:
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "cisizer.agent._daemon", str(state_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
            close_fds=True,
            cwd="/",
            env=env,
        )
    state.pid.write_text(f"{child.pid}\n")
    deadline = time.monotonic() + 10
    while not state.ready.exists() and child.poll() is None:
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if child.poll() is not None:
        result = state.read_json(state.result) or {}
        _say(
            f"the sampler did not start: {result.get('error', 'see ' + str(state.log))}"
        )
        return
    _say(f"sampling in the background (pid {child.pid}, state in {state_dir})")
    _spawn_flush(settings)


def _spawn_flush(settings: Settings) -> None:
    """Send earlier spooled summaries from a detached ``flush`` process."""
    try:
        if not Spool(settings.spool_dir).paths():
            return
    except OSError as err:
        _log.warning("cannot read the spool %s: %s", settings.spool_dir, err)
        return
    env = dict(os.environ)
    env.update(
        CISIZER_URL=settings.url or "",
        CISIZER_PUSH_TOKEN=settings.push_token or "",
        CISIZER_SPOOL_DIR=str(settings.spool_dir),
        CISIZER_PUSH_TIMEOUT=str(settings.push_timeout),
    )
    subprocess.Popen(
        [sys.executable, "-m", "cisizer.agent", "flush"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )


def _job_status(given: str | None) -> str:
    """Return the run status for ``--status``; warn and say unknown if odd."""
    if given is None:
        return "unknown"
    text = given.strip().lower()
    status = _STATUS_ALIASES.get(text, text)
    if status in _STATUSES:
        return status
    _log.warning(
        "--status / CISIZER_STATUS %r is not one of %s; the status is unknown",
        given,
        ", ".join(_STATUSES),
    )
    return "unknown"


def _stop_timeout(given: str | None) -> float:
    """Return the seconds ``stop`` waits; warn and use the default if odd."""
    if given is None:
        return _STOP_TIMEOUT
    try:
        seconds = float(given)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        _log.warning(
            "--timeout / CISIZER_STOP_TIMEOUT %r is not a number of seconds; using %g",
            given,
            _STOP_TIMEOUT,
        )
        return _STOP_TIMEOUT
    return seconds


class _StopCommand(click.Command):
    """``stop``, which stops the sampler with defaults when an option is bad.

    ``stop`` runs at the end of every job, failed or not; a bad option must
    not leave the sampler running until its maximum duration.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse the options; on a bad one, warn and use the defaults."""
        try:
            return super().parse_args(ctx, list(args))
        except click.UsageError as err:
            if "--help" in args or "-h" in args:
                raise
            _say(
                f"warning: {_usage_problem(err).rstrip('.')}; "
                "using the defaults for what cannot be read"
            )
            return super().parse_args(ctx, self._known(ctx, args))

    def _known(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Return the arguments that set a known option to a valid value."""
        kept: list[str] = []
        index = 0
        while index < len(args):
            name, equals, value = args[index].partition("=")
            if not equals and index + 1 < len(args):
                value = args[index + 1]
            step = 1 if equals else 2
            candidate = [f"{name}={value}"]
            if name.startswith("--") and name != "--" and "=" not in name:
                try:
                    super().parse_args(ctx.__class__(self), [*kept, *candidate])
                except click.UsageError:
                    pass
                else:
                    kept.extend(candidate)
                    index += step
                    continue
            index += 1
        return kept


@cli.command(cls=_StopCommand)
@_state_option()
@_option(
    "--status",
    env="CISIZER_STATUS",
    metavar="STATUS",
    help="How the job ended: success, failure (failed), cancelled (canceled) "
    "or unknown, e.g. ${{ job.status }} on GitHub Actions or $CI_JOB_STATUS "
    "on GitLab.  [default: unknown]",
)
@_option(
    "--timeout",
    env="CISIZER_STOP_TIMEOUT",
    metavar="SECONDS",
    help="Seconds to wait for the sampler to finish and the push to complete.  "
    f"[default: {_STOP_TIMEOUT:g}]",
)
@_option(
    "--log-level",
    env="CISIZER_LOG_LEVEL",
    metavar="[debug|info|warning|error]",
    help="How much the agent tells on standard error.  [default: warning]",
)
def stop(
    state_dir: Path, status: str | None, timeout: str | None, log_level: str | None
) -> None:
    """Stop the background sampler, push the summary and report what happened.

    Always exits 0: a summary that cannot be sent stays in the spool.
    """
    from cisizer.agent._daemon import StateDir

    # A bad value read from a variable must not keep the sampler running
    # either: it is said and the default stands in.
    level = (log_level or "warning").strip().lower()
    _setup_logging(level if level in _LOG_LEVELS else "warning")
    if level not in _LOG_LEVELS:
        _log.warning(
            "--log-level / CISIZER_LOG_LEVEL %r is not one of %s; using warning",
            log_level,
            ", ".join(_LOG_LEVELS),
        )
    status = _job_status(status)
    deadline = time.monotonic() + _stop_timeout(timeout)
    state = StateDir(state_dir)
    config = state.read_json(state.config)
    pid = state.running_pid()
    if config is None:
        _say(f"no sampler was started in {state_dir}")
        return

    state.write_json(state.stop, {"status": status})
    if pid is not None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pid = None
    while state.read_json(state.result) is None:
        if time.monotonic() > deadline or state.running_pid() is None:
            break
        time.sleep(0.02)
    result = state.read_json(state.result)
    if result is None or "spool" not in result:
        reason = (result or {}).get("error") or (
            "the sampler had already ended"
            if pid is None
            else "it did not finish in time"
        )
        _say(f"no summary: {reason}; see {state.log}")
        return

    from cisizer.agent._delivery import deliver

    settings = config["settings"]
    try:
        delivery = deliver(
            Spool(Path(settings["spool_dir"])),
            Path(result["spool"]),
            url=settings.get("url"),
            token=settings.get("push_token"),
            deadline=min(deadline, time.monotonic() + float(settings["push_timeout"])),
        )
    except Exception:
        _log.exception("the summary could not be sent; it stays at %s", result["spool"])
        return
    finally:
        state.clear()
    _report([delivery])


@cli.command()
@_delivery_options()
@_log_option()
def flush(log_level: str, **options: Any) -> None:
    """Send every summary left in the spool; report each.

    A summary goes to the URL given here (else the one it was spooled for)
    with the push token it was spooled with (else the one given here).
    """
    from cisizer.agent._delivery import flush_spool

    _setup_logging(log_level)
    spool = Spool(options["spool_dir"])
    try:
        deliveries = flush_spool(
            spool,
            url=options.get("url"),
            token=options.get("push_token"),
            deadline=time.monotonic() + options["push_timeout"],
        )
    except OSError as err:
        _say(f"cannot read the spool {spool.directory}: {err}")
        return
    if not deliveries:
        _say(f"nothing to send in {spool.directory}")
    _report(deliveries)


@cli.command()
@_sampling_options()
@_log_option()
def snapshot(log_level: str, **options: Any) -> None:
    """Print one sample of everything the agent can see, as JSON.

    CPU figures are rates over one interval (at most 1 s); use it to check
    what a runner image lets the agent measure.
    """
    from cisizer.agent._cgroup import find_layout
    from cisizer.agent._job import build_sampler

    _setup_logging(log_level)
    try:
        settings = _settings(options)
    except ConfigurationError as err:
        raise click.UsageError(str(err)) from err
    # One interval of at most 1 s, which the snapshot then reports.
    settings = attrs.evolve(settings, interval=min(settings.interval, 1.0))
    sampler = build_sampler(settings)
    sampler.start()
    time.sleep(settings.interval)
    sampler.finish()
    data = sampler.snapshot()
    layout = find_layout()
    data["cgroup_version"] = layout.version if layout is not None else None
    click.echo(json.dumps(data, indent=2))


def main() -> None:
    """Run the ``cisizer-agent`` command line."""
    cli(prog_name="cisizer-agent")
