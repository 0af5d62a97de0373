"""CI Sizer client: the typed SDK and the ``cisizer`` command line.

:class:`Client` and :class:`AsyncClient` have one method per endpoint of
the receiver and return :mod:`cisizer.core` models; every failure is a
:class:`CISizerError`.  Enable the one DEBUG line per request with
``logging.getLogger("cisizer.client").setLevel(logging.DEBUG)``.
"""

from cisizer.client._client import AsyncClient, Client
from cisizer.client._errors import (
    APIError,
    AuthenticationError,
    CISizerError,
    ConfigurationError,
    InvalidArgumentError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "CISizerError",
    "Client",
    "ConfigurationError",
    "InvalidArgumentError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RequestTimeoutError",
    "ServerError",
    "TransportError",
    "UnexpectedResponseError",
]
