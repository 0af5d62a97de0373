"""What the sync and async clients share: settings, requests, answers, logs.

The two clients differ only in how they wait (``send`` or ``await send``,
``time.sleep`` or ``asyncio.sleep``); everything decided about a request
or an answer is decided here, once.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any, TypeVar

import attrs
import httpx

from cisizer.client._endpoints import Call, ShapeError, no_content
from cisizer.client._errors import (
    APIError,
    ConfigurationError,
    RequestTimeoutError,
    TransportError,
    UnexpectedResponseError,
    error_for_status,
)
from cisizer.client._retry import RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "Exchange",
    "Timeout",
    "redact_url",
    "resolve_settings",
]

T = TypeVar("T")

Timeout = float | httpx.Timeout | None

DEFAULT_TIMEOUT = 10.0
URL_VARIABLE = "CISIZER_URL"
TOKEN_VARIABLE = "CISIZER_READ_TOKEN"  # noqa: S105 (a variable name, not a secret)

_log = logging.getLogger("cisizer.client")

_SECRET_QUERY_WORDS = ("token", "secret", "password", "key", "signature")


def _user_agent() -> str:
    from cisizer.client import __version__

    return f"cisizer-client/{__version__}"


def resolve_settings(base_url: str | None, token: str | None) -> tuple[str, str | None]:
    """Return the receiver URL and token, falling back to ``CISIZER_*`` variables."""
    url = base_url if base_url is not None else os.environ.get(URL_VARIABLE)
    if not url:
        raise ConfigurationError(
            f"no receiver URL: pass base_url or set {URL_VARIABLE}"
        )

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise ConfigurationError(f"receiver URL is not a URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(
            "receiver URL must be http:// or https:// with a host, "
            f"got {redact_url(parsed)!r}"
        )
    if parsed.path.rstrip("/").endswith("/api/v1"):
        raise ConfigurationError(
            "receiver URL must be the receiver's root, without /api/v1, "
            f"got {redact_url(parsed)!r}"
        )
    if token is None:
        token = os.environ.get(TOKEN_VARIABLE) or None

    return url.rstrip("/"), token


def redact_url(url: httpx.URL | str) -> str:
    """Return ``url`` without user info or the values of secret-looking parameters."""
    url = httpx.URL(url).copy_with(username=None, password=None)
    params = [
        (
            name,
            "redacted"
            if any(word in name.lower() for word in _SECRET_QUERY_WORDS)
            else value,
        )
        for name, value in url.params.multi_items()
    ]
    if params:
        url = url.copy_with(params=params)
    return str(url)


@attrs.frozen
class Exchange:
    """The settings of one client and the decisions about each request."""

    base_url: str
    token: str | None = attrs.field(repr=False)
    timeout: Timeout
    policy: RetryPolicy

    def build(
        self, http: httpx.Client | httpx.AsyncClient, call: Call[Any]
    ) -> httpx.Request:
        """Return the HTTP request for ``call``."""
        headers = {"Accept": "application/json", "User-Agent": _user_agent()}
        token = call.token if call.token is not None else self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"

        return http.build_request(
            call.method,
            self.base_url + call.path,
            params=call.params or None,
            json=call.body,
            headers=headers,
            timeout=self.timeout,
        )

    def log_answer(
        self, request: httpx.Request, response: httpx.Response, started: float
    ) -> None:
        """Log one DEBUG line for an answered request."""
        _log.debug(
            "%s %s -> %d in %.1f ms",
            request.method,
            redact_url(request.url),
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )

    def log_failure(
        self, request: httpx.Request, error: Exception, started: float
    ) -> None:
        """Log one DEBUG line for a request that got no answer."""
        _log.debug(
            "%s %s -> %s after %.1f ms",
            request.method,
            redact_url(request.url),
            type(error).__name__,
            (time.perf_counter() - started) * 1000,
        )

    def retry_after_answer(
        self, call: Call[Any], response: httpx.Response, attempt: int
    ) -> float | None:
        """Return the wait before retrying an answered ``call``, or ``None`` not to."""
        if not call.idempotent or not self.policy.retryable_status(
            response.status_code
        ):
            return None
        return self.policy.delay(attempt, response)

    def retry_after_failure(
        self, call: Call[Any], error: Exception, attempt: int
    ) -> float | None:
        """Return the wait before retrying a failed ``call``, or ``None`` not to."""
        if not call.idempotent or not self.policy.retryable_error(error):
            return None
        return self.policy.delay(attempt)

    def failure(self, request: httpx.Request, error: httpx.HTTPError) -> Exception:
        """Return the client error for a request that got no usable answer."""
        where = f"{request.method} {redact_url(request.url)}"
        if isinstance(error, httpx.TimeoutException):
            return RequestTimeoutError(
                f"{where}: no answer within the timeout ({type(error).__name__})"
            )
        if isinstance(error, httpx.DecodingError):
            return UnexpectedResponseError(
                f"body could not be decoded: {error}",
                status=0,
                method=request.method,
                url=redact_url(request.url),
            )
        return TransportError(f"{where}: {type(error).__name__}: {error}")

    def result(
        self, call: Call[T], request: httpx.Request, response: httpx.Response
    ) -> T:
        """Return the decoded answer of ``call``, or raise the error it stands for."""
        url = redact_url(request.url)
        status = response.status_code
        if not 200 <= status < 300:
            raise problem(response, method=request.method, url=url)

        if call.decode is no_content:
            return call.decode(None)
        try:
            data = json.loads(response.content)
        except ValueError as error:
            raise UnexpectedResponseError(
                f"body is not JSON: {_preview(response)!r}",
                status=status,
                method=request.method,
                url=url,
            ) from error
        try:
            return call.decode(data)
        except ShapeError as error:
            raise UnexpectedResponseError(
                str(error), status=status, method=request.method, url=url
            ) from error


def problem(response: httpx.Response, *, method: str, url: str) -> APIError:
    """Return the error for an error answer, read from its problem+json body."""
    status = response.status_code
    title = response.reason_phrase or "Error"
    detail: str | None = None
    try:
        data = json.loads(response.content)
    except ValueError:
        detail = _preview(response) or None
    else:
        if isinstance(data, dict):
            if isinstance(data.get("title"), str):
                title = data["title"]
            if isinstance(data.get("detail"), str):
                detail = data["detail"]

    return error_for_status(status)(status, title, detail, method=method, url=url)


def _preview(response: httpx.Response, size: int = 200) -> str:
    text = response.content[:size].decode("utf-8", "replace").strip()
    return " ".join(text.split())
