"""Errors of the receiver, and the one place that maps errors to HTTP answers.

Every error the receiver raises derives from :class:`ServerError`; each leaf
also subclasses the builtin a caller would expect::

    ServerError
    ├── ConfigurationError (ValueError)      a setting is missing or wrong
    └── RequestError                         a request the receiver refuses
        ├── InvalidRequestError (ValueError)      400, names the field
        ├── AuthenticationError (PermissionError) 401, no acceptable credential
        ├── PermissionDeniedError (PermissionError) 403, credential of another scope
        ├── NotFoundError (LookupError)           404
        ├── PayloadTooLargeError (ValueError)     413, body over --max-body-bytes
        └── UnsupportedMediaTypeError (ValueError) 415, body not JSON

Errors of :mod:`cisizer.core` map too: ``ValidationError`` to 400,
``NoHistoryError`` to 404 and ``TokenError`` to 401; a database that cannot
be reached (or stays locked) answers 503 with ``Retry-After``, and so does
one without the schema's tables, saying so.  Every answer is an
RFC 9457 ``application/problem+json`` document whose ``title`` is the
status's phrase in sentence case (``Not found``, ``Method not allowed``),
Falcon's own routing errors included.
"""

from __future__ import annotations

import http
import json
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import falcon
import sqlalchemy as sa

from cisizer.core import NoHistoryError, TokenError, ValidationError

__all__ = [
    "BEARER_CHALLENGE",
    "GATEWAY_CHALLENGE",
    "PROBLEM_CONTENT_TYPE",
    "AuthenticationError",
    "ConfigurationError",
    "InvalidRequestError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RequestError",
    "ServerError",
    "UnsupportedMediaTypeError",
    "install_error_handlers",
    "problem_title",
]

_LOGGER = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
BEARER_CHALLENGE = "Bearer"
# The gateway's JWT travels in a header of its own, not in Authorization, so
# its challenge names a scheme of its own and the header to send it in.
GATEWAY_CHALLENGE = 'Gateway realm="cisizer", header="X-Access-Token"'

_TITLES = {
    400: "Invalid request",
    413: "Payload too large",
    414: "URI too long",
    500: "Internal server error",
}


def problem_title(status: int) -> str:
    """The title of every problem with ``status``: its phrase in sentence case."""
    if status in _TITLES:
        return _TITLES[status]
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"
    return phrase[:1] + phrase[1:].lower()


class ServerError(Exception):
    """Root of every error raised by :mod:`cisizer.server`."""


class ConfigurationError(ServerError, ValueError):
    """A setting is missing or invalid; the message names the flag."""


class RequestError(ServerError):
    """A request the receiver refuses; ``status`` and ``title`` say how."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Invalid request"


class InvalidRequestError(RequestError, ValueError):
    """Bad input; the message names the field (``runs: must be <= 100``)."""

    @classmethod
    def field(cls, path: str, message: str) -> InvalidRequestError:
        """Build the error for one field."""
        return cls(f"{path}: {message}")


class AuthenticationError(RequestError, PermissionError):
    """No credential, or one the receiver does not accept.

    ``challenge`` is the ``WWW-Authenticate`` value of the answer: how to
    authenticate instead (``Bearer`` unless the raiser knows better).
    """

    status = 401
    title = "Unauthorized"

    def __init__(self, *args: object, challenge: str = BEARER_CHALLENGE) -> None:
        """Keep the message and the challenge to answer with."""
        super().__init__(*args)
        self.challenge = challenge


class PermissionDeniedError(RequestError, PermissionError):
    """A valid credential that does not cover this request."""

    status = 403
    title = "Forbidden"


class NotFoundError(RequestError, LookupError):
    """The thing asked for does not exist."""

    status = 404
    title = "Not found"


class PayloadTooLargeError(RequestError, ValueError):
    """The request body is larger than ``--max-body-bytes``."""

    status = 413
    title = "Payload too large"


class UnsupportedMediaTypeError(RequestError, ValueError):
    """The request body is not ``application/json``."""

    status = 415
    title = "Unsupported media type"


def _problem(
    resp: falcon.Response, status: int, title: str, detail: str | None
) -> None:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    resp.status = status
    resp.content_type = PROBLEM_CONTENT_TYPE
    resp.text = json.dumps(body, allow_nan=False)


def _on_request_error(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any
) -> None:
    assert isinstance(ex, RequestError)
    _problem(resp, ex.status, problem_title(ex.status), str(ex) or None)
    if isinstance(ex, AuthenticationError):
        resp.set_header("WWW-Authenticate", ex.challenge)


def _on_validation_error(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any
) -> None:
    _problem(resp, 400, problem_title(400), str(ex))


def _on_no_history(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any
) -> None:
    _problem(
        resp, 404, problem_title(404), str(ex) or "no runs of this job to size from"
    )


def _on_token_error(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any
) -> None:
    _problem(resp, 401, problem_title(401), f"push token: {ex}")
    resp.set_header("WWW-Authenticate", BEARER_CHALLENGE)


def _on_http_error(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any
) -> None:
    assert isinstance(ex, falcon.HTTPError)
    status = ex.status_code
    _problem(resp, status, problem_title(status), ex.description)
    headers = ex.headers or {}
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        resp.set_header(name, value)


def _on_database_unavailable(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any
) -> None:
    # The driver's first line says why ("no such table: runs", "connection
    # refused"); it names tables and hosts, never statement values or passwords.
    orig = getattr(ex, "orig", None) or ex
    reason = (str(orig).strip().splitlines() or [""])[0]
    _LOGGER.warning("database unavailable: %s: %s", type(orig).__name__, reason[:300])
    detail = "database: not reachable or busy"
    if _schema_missing(orig, reason):
        detail = "database: schema missing or not migrated; run cisizer-server migrate"
    _problem(resp, 503, problem_title(503), detail)
    resp.set_header("Retry-After", "5")


# SQLSTATE of PostgreSQL's undefined_table and undefined_column.
_UNDEFINED_OBJECT_CODES = frozenset({"42P01", "42703"})


def _schema_missing(orig: object, reason: str) -> bool:
    """Whether the driver says a table or column of the schema is missing."""
    if getattr(orig, "sqlstate", None) in _UNDEFINED_OBJECT_CODES:
        return True
    return reason.startswith(("no such table:", "no such column:"))


def _on_database_programming_error(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any
) -> None:
    orig = getattr(ex, "orig", None) or ex
    if getattr(orig, "sqlstate", None) in _UNDEFINED_OBJECT_CODES:
        _on_database_unavailable(req, resp, ex, params)
    else:
        _on_unexpected(req, resp, ex, params)


def _on_database_data_error(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any
) -> None:
    # Validation should catch every such value first; this keeps a miss a 4xx.
    _LOGGER.warning("database refused a value: %s", type(ex).__name__)
    _problem(resp, 400, problem_title(400), "body: a value does not fit the database")


def _on_unexpected(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any
) -> None:
    _LOGGER.error(
        "unexpected error on %s %s",
        req.method,
        req.uri_template or req.path,
        exc_info=ex,
    )
    _problem(resp, 500, problem_title(500), None)


def install_error_handlers(app: falcon.App[falcon.Request, falcon.Response]) -> None:
    """Map every error to a problem+json answer (the only place that does)."""
    # Falcon picks the handler of the most specific class, whatever the order.
    app.add_error_handler(Exception, _on_unexpected)
    app.add_error_handler(falcon.HTTPError, _on_http_error)
    app.add_error_handler(RequestError, _on_request_error)
    app.add_error_handler(ValidationError, _on_validation_error)
    app.add_error_handler(NoHistoryError, _on_no_history)
    app.add_error_handler(TokenError, _on_token_error)
    app.add_error_handler(sa.exc.OperationalError, _on_database_unavailable)
    app.add_error_handler(sa.exc.InterfaceError, _on_database_unavailable)
    app.add_error_handler(sa.exc.ProgrammingError, _on_database_programming_error)
    app.add_error_handler(sa.exc.DataError, _on_database_data_error)
