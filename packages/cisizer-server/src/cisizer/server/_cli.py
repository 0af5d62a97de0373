"""The ``cisizer-server`` command: ``serve``, ``migrate`` and ``openapi``.

Every setting is a flag and a ``CISIZER_*`` environment variable; a flag
wins over the variable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any, NoReturn

import click
import sqlalchemy as sa

from cisizer.core import PushTokenSigner
from cisizer.server._errors import ConfigurationError
from cisizer.server._settings import (
    CI_PROVIDERS,
    DEFAULT_MAX_BODY_BYTES,
    AuthMode,
    Settings,
)
from cisizer.server._storage import create_engine

__all__ = ["main"]

_DURATION = re.compile(
    r"(?P<number>\d{1,12}(?:\.\d{1,6})?|\.\d{1,6})(?P<unit>[smhd]?)", re.ASCII
)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# The longest value each duration flag takes, so that no date overflows.
_MAX_DURATIONS = {
    "token_ttl": PushTokenSigner.MAX_TTL,
    "push_grace": timedelta(days=7),
    "session_ttl": timedelta(days=30),
}


def _parse_duration(value: str, *, zero: bool, name: str | None) -> timedelta:
    match = _DURATION.fullmatch(value.strip())
    seconds = (
        None
        if match is None
        else Decimal(match["number"]) * _UNIT_SECONDS[match["unit"]]
    )
    if seconds is None or (seconds == 0 and not zero):
        kind = "a duration" if zero else "a positive duration"
        raise click.BadParameter(f"{value!r} is not {kind} such as 2h or 1.5h")
    longest = _MAX_DURATIONS.get(name or "")
    if longest is not None and seconds > Decimal(int(longest.total_seconds())):
        raise click.BadParameter(
            f"{value!r} is longer than the limit of {_describe(longest)}"
        )
    return timedelta(seconds=float(seconds))


def _describe(duration: timedelta) -> str:
    if duration.days and not duration.seconds:
        return f"{duration.days} days"
    return f"{duration.total_seconds():g} s"


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    """Parse seconds, or a number (``1.5``) with an s, m, h or d suffix."""
    return _parse_duration(value, zero=False, name=param.name)


def _duration_or_zero(
    ctx: click.Context, param: click.Parameter, value: str
) -> timedelta:
    """Parse a duration as :func:`_duration` does, zero included."""
    return _parse_duration(value, zero=True, name=param.name)


def _bind(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Require host:port with a numeric port (an IPv6 host in brackets)."""
    host, colon, port = value.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if (
        not colon
        or not host
        or not port.isascii()
        or not port.isdigit()
        or not 0 < int(port) < 65536
    ):
        raise click.BadParameter(
            f"{value!r} is not host:port with a port from 1 to 65535, "
            "such as 127.0.0.1:8080"
        )
    return value.strip()


def _option(*declarations: str, **kwargs: Any) -> Callable[[Any], Any]:
    flag = declarations[0].partition("/")[0]
    envvar = "CISIZER_" + flag.lstrip("-").replace("-", "_").upper()
    return click.option(*declarations, envvar=envvar, show_envvar=True, **kwargs)


_SETTINGS_OPTIONS = (
    _option(
        "--db-url",
        default="sqlite:///cisizer.db",
        show_default=True,
        help="Database URL: sqlite:///file.db or postgresql+psycopg://...",
    ),
    _option("--read-token", help="Pre-shared read token for queries (required)."),
    _option(
        "--hmac-key",
        "hmac_keys",
        multiple=True,
        help="Key signing push tokens (required, at least 32 bytes). "
        "Repeat for rotation: the first signs, all verify. In the variable, "
        "separate keys with spaces.",
    ),
    _option(
        "--token-ttl",
        callback=_duration,
        default="2h",
        show_default=True,
        help="Lifetime of a push token: seconds or 90m, 1.5h, 1d; at most 30d.",
    ),
    _option(
        "--push-grace",
        callback=_duration_or_zero,
        default="6h",
        show_default=True,
        help="How long after a push token expired a run it covered at its start "
        "may still be pushed (plus 30 s of clock leeway): seconds or 90m, 6h, "
        "1.5d; at most 7d; 0 leaves only the leeway.",
    ),
    _option(
        "--body-timeout",
        type=click.FloatRange(min=0, min_open=True, max=3600),
        default=10.0,
        show_default=True,
        help="Seconds to wait for each part of a request body before answering 408.",
    ),
    _option(
        "--auth-mode",
        type=click.Choice([mode.value for mode in AuthMode]),
        default="none",
        show_default=True,
        help="How people authenticate.",
    ),
    _option(
        "--ci-provider",
        type=click.Choice(CI_PROVIDERS),
        help="CI system shown by /api/v1/info.",
    ),
    _option(
        "--forgejo-base-url",
        help="Forgejo base URL (absolute http:// or https://) shown by /api/v1/info.",
    ),
    _option("--logout-url", help="Where a logout redirects, shown by /api/v1/info."),
    _option(
        "--max-body-bytes",
        type=click.IntRange(min=1024),
        default=DEFAULT_MAX_BODY_BYTES,
        show_default=True,
        help="Largest accepted request body; larger ones get 413.",
    ),
    _option(
        "--energy-profile",
        type=click.Choice(["aws", "gcp", "azure", "on-prem"]),
        default="aws",
        show_default=True,
        help="Energy coefficients to start from.",
    ),
    _option("--cpu-min-w", type=float, help="Watts per allocated idle core."),
    _option("--cpu-max-w", type=float, help="Watts per fully busy core."),
    _option("--mem-w-per-gib", type=float, help="Watts per GiB of memory held."),
    _option("--pue", type=float, help="Power usage effectiveness of the data centre."),
    _option("--grid-g-per-kwh", type=float, help="Grid carbon intensity, gCO2e/kWh."),
    _option(
        "--embodied-g-per-core-hour",
        type=float,
        help="Embodied carbon per allocated core-hour, gCO2e.",
    ),
    _option("--oidc-issuer", help="OIDC: the provider's issuer URL (oidc mode)."),
    _option("--oidc-client-id", help="OIDC: this receiver's client id."),
    _option("--oidc-client-secret", help="OIDC: this receiver's client secret."),
    _option(
        "--oidc-redirect-url",
        help="OIDC: this receiver's public callback URL, ending in /ui/callback; "
        "the session cookie is Secure when it is https.",
    ),
    _option(
        "--oidc-scopes",
        default="openid profile email",
        show_default=True,
        help="OIDC: scopes to ask for, separated by spaces or commas.",
    ),
    _option(
        "--oidc-allowed-groups",
        default="",
        help="OIDC: comma-separated groups allowed in (default: anyone the "
        "provider signs in, unless --oidc-allowed-emails is set).",
    ),
    _option(
        "--oidc-allowed-emails",
        default="",
        help="OIDC: comma-separated email addresses allowed in.",
    ),
    _option(
        "--oidc-groups-claim",
        default="groups",
        show_default=True,
        help="OIDC: the ID token claim listing the user's groups.",
    ),
    _option(
        "--session-key",
        "session_keys",
        multiple=True,
        help="OIDC: key sealing session cookies (required in oidc mode, at least "
        "32 bytes). Repeat for rotation: the first seals, all open. In the "
        "variable, separate keys with spaces.",
    ),
    _option(
        "--session-ttl",
        callback=_duration,
        default="8h",
        show_default=True,
        help="OIDC: lifetime of a session: seconds or 90m, 8h, 1d; at most 30d.",
    ),
    _option(
        "--gateway-jwks-url",
        help="Gateway: URL of the key set that signs X-Access-Token JWTs.",
    ),
    _option(
        "--gateway-public-key",
        help="Gateway: PEM public key that signs X-Access-Token JWTs, or the "
        "path of a PEM file.",
    ),
    _option("--gateway-issuer", help="Gateway: the iss every JWT must carry."),
    _option("--gateway-audience", help="Gateway: the aud every JWT must carry."),
    _option(
        "--gateway-algorithms",
        default="RS256,ES256",
        show_default=True,
        help="Gateway: comma-separated JWT algorithms accepted (asymmetric only).",
    ),
)


def _settings_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_SETTINGS_OPTIONS):
        command = option(command)
    return command


def _split(value: str | None, separators: str = ",") -> tuple[str, ...]:
    text = value or ""
    for separator in separators[1:]:
        text = text.replace(separator, separators[0])
    return tuple(item.strip() for item in text.split(separators[0]) if item.strip())


def _public_key(value: str | None) -> str | None:
    """PEM text as given, or read from the file the value names."""
    if not value or "-----BEGIN" in value:
        return value
    try:
        with open(value, encoding="ascii") as file:
            return file.read()
    except (OSError, UnicodeError) as error:
        raise ConfigurationError(
            f"--gateway-public-key: neither PEM text nor a readable file ({error})"
        ) from None


def _settings(options: dict[str, Any]) -> Settings:
    keys = tuple(key for value in options.pop("hmac_keys") for key in value.split())
    session_keys = tuple(
        key for value in options.pop("session_keys", ()) for key in value.split()
    )
    for name in ("oidc_allowed_groups", "oidc_allowed_emails", "gateway_algorithms"):
        if name in options:
            options[name] = _split(options[name])
    if "oidc_scopes" in options:
        options["oidc_scopes"] = _split(options["oidc_scopes"], ", ")
    if "gateway_public_key" in options:
        options["gateway_public_key"] = _public_key(options["gateway_public_key"])
    return Settings(
        hmac_keys=keys,
        session_keys=session_keys,
        read_token=options.pop("read_token") or "",
        **options,
    )


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )


def _check_bind(bind: str) -> None:
    """Stop with one line when ``bind`` cannot be listened on.

    Gunicorn would retry for seconds and log each failure; checking first
    also keeps a receiver that cannot serve from migrating the database.
    """
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, int(port), type=socket.SOCK_STREAM
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        _fail(f"--bind {bind}: cannot listen there ({error.strerror or error})")


def _fail(message: str) -> NoReturn:
    click.echo(f"cisizer-server: error: {message}", err=True)
    raise SystemExit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cisizer-server")
def main() -> None:
    """Run the CI Sizer receiver."""


@main.command()
@_settings_options
@_option(
    "--bind",
    default="127.0.0.1:8080",
    show_default=True,
    callback=_bind,
    help="Address to listen on, host:port (0.0.0.0:8080 for every interface).",
)
@_option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Gunicorn worker processes.",
)
@_option(
    "--threads",
    type=click.IntRange(min=1, max=64),
    default=4,
    show_default=True,
    help="Threads per worker process; each serves one request at a time.",
)
@_option(
    "--timeout",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Seconds a worker process may go without signalling the master before "
    "it is restarted; under the threaded worker this does not limit a request "
    "(--body-timeout bounds slow bodies).",
)
@_option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="Lowest level logged.",
)
@_option(
    "--migrate/--no-migrate",
    default=True,
    show_default=True,
    help="Upgrade the database schema before serving (--no-migrate when a "
    "separate `cisizer-server migrate` step does it).",
)
def serve(
    bind: str,
    workers: int,
    threads: int,
    timeout: int,
    log_level: str,
    **options: Any,
) -> None:
    """Migrate the database, then serve the receiver under gunicorn."""
    from cisizer.server._app import create_app
    from cisizer.server._gunicorn import run_gunicorn
    from cisizer.server._migrate import check_schema

    _configure_logging(log_level)
    with _database_errors():
        settings = _settings(options)
        _check_bind(bind)
        app = create_app(settings)
        if not settings.migrate:
            engine = create_engine(settings.db_url)
            try:
                check_schema(engine)
            finally:
                engine.dispose()
    run_gunicorn(
        app,
        bind=bind,
        workers=workers,
        threads=threads,
        timeout=timeout,
        log_level=log_level,
    )


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    """Turn a bad setting or an unusable database into one line and exit 2."""
    try:
        yield
    except ConfigurationError as error:
        _fail(str(error))
    except sa.exc.ArgumentError as error:
        _fail(f"--db-url: {error}")
    except sa.exc.OperationalError as error:
        _fail(f"--db-url: cannot reach the database ({_first_line(error.orig)})")
    except sa.exc.DatabaseError as error:
        # For example a file that is not an SQLite database.
        _fail(f"--db-url: not a usable database ({_first_line(error.orig)})")


def _first_line(error: BaseException | None) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


@main.command()
@_option(
    "--db-url",
    default="sqlite:///cisizer.db",
    show_default=True,
    help="Database URL: sqlite:///file.db or postgresql+psycopg://...",
)
@_option(
    "--revision",
    default="head",
    show_default=True,
    help="Schema revision to upgrade to; a database already there or beyond "
    "is left alone (migrate never downgrades).",
)
def migrate(db_url: str, revision: str) -> None:
    """Upgrade the database schema, then exit."""
    from cisizer.server._migrate import migrate as run_migrations

    _configure_logging("info")
    with _database_errors():
        engine = create_engine(db_url)
        try:
            run_migrations(engine, revision)
        finally:
            engine.dispose()


@main.command()
@_option(
    "--auth-mode",
    type=click.Choice([mode.value for mode in AuthMode]),
    default="none",
    show_default=True,
    help="Auth mode the document describes.",
)
def openapi(auth_mode: str) -> None:
    """Print the OpenAPI document as JSON."""
    from cisizer.server import __version__
    from cisizer.server._openapi import build_openapi

    document = build_openapi(__version__, AuthMode(auth_mode))
    click.echo(json.dumps(document, indent=2, sort_keys=True))
