"""Build the receiver's Falcon WSGI app from its settings and the route table."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Collection
from typing import Any

import falcon
import sqlalchemy as sa
from swagger_ui_bundle import swagger_ui_path

from cisizer.core import PushTokenSigner, converter
from cisizer.server import _storage
from cisizer.server._auth import AuthMiddleware, build_authenticator
from cisizer.server._errors import install_error_handlers
from cisizer.server._input import check_query_names, check_raw_path, path_name
from cisizer.server._migrate import migrate
from cisizer.server._oidc import add_login_routes
from cisizer.server._openapi import build_openapi
from cisizer.server._resources import State
from cisizer.server._routes import ROUTES, Route
from cisizer.server._settings import AuthMode, Settings

__all__ = ["RawPathMiddleware", "RequestLogMiddleware", "create_app"]

_LOGGER = logging.getLogger("cisizer.server.requests")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)


class RequestLogMiddleware:
    """Log one line per request: method, path template, status, duration, request id.

    Note:
        The path template (``/api/v1/metrics/repo/{org}/...``) is logged, not
        the path, and neither headers nor query strings, so no token can
        reach the log.
    """

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Start the clock and settle the request id."""
        req.context.started = time.perf_counter()
        given = req.get_header("X-Request-ID") or ""
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        req.context.request_id = request_id
        resp.set_header("X-Request-ID", request_id)

    def process_response(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        """Write the request's log line."""
        started = getattr(req.context, "started", time.perf_counter())
        _LOGGER.info(
            "method=%s path=%s status=%s duration_ms=%.1f request_id=%s",
            req.method,
            req.uri_template or "-",
            resp.status_code,
            (time.perf_counter() - started) * 1000,
            getattr(req.context, "request_id", "-"),
        )


class RawPathMiddleware:
    """Refuse an encoded slash in an API path before the router splits it.

    Note:
        Only servers that hand over the undecoded path (gunicorn's
        ``RAW_URI``, uWSGI's ``REQUEST_URI``) can be checked; others route
        ``a%2Fb`` as two segments.
    """

    def __init__(self, templates: Collection[str]) -> None:
        """Name path parameters after the route ``templates``."""
        self._templates = tuple(templates)

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Raise 400 naming the parameter whose segment holds ``%2F``."""
        # NOTE: Servers that pass only the decoded path (wsgiref) cannot be
        # checked here, so there `a%2Fb` is still routed as two segments.
        raw = req.env.get("RAW_URI") or req.env.get("REQUEST_URI")
        if isinstance(raw, str):
            check_raw_path(raw, self._templates)


Responder = Callable[..., None]


def _responder(route: Route, state: State) -> Responder:
    allowed = frozenset(param.name for param in route.query)

    def respond(
        resource: object, req: falcon.Request, resp: falcon.Response, **params: str
    ) -> None:
        if not route.any_query:
            check_query_names(req, allowed)
        names = {name: path_name(value, name) for name, value in params.items()}

        reply = route.handler(state, req, names)

        resp.status = reply.status
        if reply.raw is not None:
            resp.data = reply.raw
            resp.content_type = reply.content_type
        elif reply.body is not None:
            # A NaN or infinity is a bug to see, never invalid JSON to send.
            resp.text = json.dumps(converter.unstructure(reply.body), allow_nan=False)
            resp.content_type = falcon.MEDIA_JSON

    respond.__doc__ = route.handler.__doc__
    return respond


def _resources(routes: tuple[Route, ...], state: State) -> dict[str, object]:
    by_path: dict[str, list[Route]] = {}
    for route in routes:
        by_path.setdefault(route.path, []).append(route)

    resources: dict[str, object] = {}
    for path, path_routes in by_path.items():
        tiers = {route.method: route.tier for route in path_routes}
        members: dict[str, Any] = {"tiers": tiers}
        for route in path_routes:
            members[f"on_{route.method.lower()}"] = _responder(route, state)
            if route.method == "GET":
                # HEAD answers as GET does; Falcon drops the body, keeps the length.
                tiers["HEAD"] = route.tier
                members["on_head"] = members["on_get"]
        resources[path] = type("Resource", (), members)()
    return resources


def create_app(
    settings: Settings,
    engine: sa.Engine | None = None,
    *,
    version: str | None = None,
) -> falcon.App[falcon.Request, falcon.Response]:
    """Build the receiver from ``settings``; migrate first when ``settings.migrate``.

    Raises:
        ConfigurationError: a setting is missing or wrong; the message names
            the flag.
    """
    from cisizer.server import __version__

    settings.check()
    signer = PushTokenSigner(settings.hmac_keys, ttl=settings.token_ttl)
    authenticator = build_authenticator(settings, signer)
    if engine is None:
        engine = _storage.create_engine(settings.db_url)
    if settings.migrate:
        migrate(engine)
        # Drop pooled connections so that no forked worker shares them.
        engine.dispose()
    version = version or __version__
    state = State(
        settings=settings,
        engine=engine,
        signer=signer,
        version=version,
        openapi=build_openapi(version, settings.auth_mode),
    )

    middleware: list[Any] = [
        RequestLogMiddleware(),
        RawPathMiddleware([route.path for route in ROUTES]),
        AuthMiddleware(authenticator),
    ]
    app = falcon.App(middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = True
    # A blank value (?runs=) is then refused like any bad value, not ignored.
    app.req_options.keep_blank_qs_values = True
    install_error_handlers(app)
    for path, resource in _resources(ROUTES, state).items():
        app.add_route(path, resource)
    app.add_static_route("/swagger/static", swagger_ui_path)
    if settings.auth_mode is AuthMode.OIDC:
        add_login_routes(app, settings)
    return app
