"""Errors the client raises.

Every error derives from :class:`CISizerError`, so one ``except`` catches
them all::

    CISizerError
    ├── ConfigurationError (ValueError)       no receiver URL, bad settings
    ├── InvalidArgumentError (ValueError)     a name no request can carry
    ├── APIError                              the receiver answered an error
    │   ├── AuthenticationError (PermissionError)   401
    │   ├── PermissionDeniedError (PermissionError) 403
    │   ├── NotFoundError (LookupError)             404, e.g. no history yet
    │   ├── InvalidRequestError (ValueError)        400, 413, 422
    │   └── ServerError                             5xx
    ├── TransportError (OSError)              the request did not complete
    │   └── RequestTimeoutError (TimeoutError)
    └── UnexpectedResponseError (ValueError)  a 2xx body of the wrong shape

Statuses without a class of their own (409, 429 after the last retry, …)
raise :class:`APIError` itself.  :class:`InvalidArgumentError` is raised
before anything is sent; :class:`InvalidRequestError` is the receiver's
answer to a request it refused.
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "AuthenticationError",
    "CISizerError",
    "ConfigurationError",
    "InvalidArgumentError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RequestTimeoutError",
    "ServerError",
    "TransportError",
    "UnexpectedResponseError",
    "error_for_status",
]


class CISizerError(Exception):
    """Root of every error the client raises."""


class ConfigurationError(CISizerError, ValueError):
    """The client cannot be built: no receiver URL or an invalid setting."""


class InvalidArgumentError(CISizerError, ValueError):
    """An argument cannot make a valid request; raised before anything is sent.

    For example an empty name, a name containing ``/`` (the receiver cannot
    route it), or a repository of another organization.  The message starts
    with the argument's name: ``job: 'rspec 1/3' contains '/' …``.
    """


class APIError(CISizerError):
    """The receiver answered with an error status.

    ``title`` and ``detail`` come from the problem+json body (RFC 9457);
    when the body is not problem+json (a proxy's HTML page, for example)
    ``title`` is the reason phrase and ``detail`` the start of the body.
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        method: str = "",
        url: str = "",
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.method = method
        self.url = url
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"{self.status} {self.title}"
        if self.detail:
            text += f": {self.detail}"
        if self.method:
            text += f" ({self.method} {self.url})"
        return text

    def __str__(self) -> str:
        return self._message()


class AuthenticationError(APIError, PermissionError):
    """401: the token is missing, wrong or expired."""


class PermissionDeniedError(APIError, PermissionError):
    """403: the token is valid but not for this request (e.g. another job)."""


class NotFoundError(APIError, LookupError):
    """404: no such resource, or no history yet for a sizing."""


class InvalidRequestError(APIError, ValueError):
    """400, 413 or 422: the request was rejected; ``detail`` names the field."""


class ServerError(APIError):
    """5xx: the receiver failed; retried for idempotent requests before raising."""


class TransportError(CISizerError, OSError):
    """The request did not complete: connection refused, reset, DNS, TLS, …"""


class RequestTimeoutError(TransportError, TimeoutError):
    """The receiver did not answer within the timeout."""


class UnexpectedResponseError(CISizerError, ValueError):
    """A success answer whose body is not the shape the endpoint promises."""

    def __init__(self, message: str, *, status: int, method: str, url: str) -> None:
        self.status = status
        self.method = method
        self.url = url
        super().__init__(f"{message} ({method} {url} answered {status})")


_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: InvalidRequestError,
    422: InvalidRequestError,
}


def error_for_status(status: int) -> type[APIError]:
    """Return the error class the client raises for an HTTP error status."""
    if status >= 500:
        return ServerError

    return _BY_STATUS.get(status, APIError)
