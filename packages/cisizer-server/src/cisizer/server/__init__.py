"""CI Sizer receiver: stores job summaries and answers KPIs, energy and sizing.

:func:`create_app` builds the Falcon WSGI app from :class:`Settings`; the
``cisizer-server`` command serves it under gunicorn.
"""

from cisizer.server._app import create_app
from cisizer.server._auth import Tier
from cisizer.server._errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RequestError,
    ServerError,
    UnsupportedMediaTypeError,
)
from cisizer.server._migrate import migrate
from cisizer.server._openapi import build_openapi
from cisizer.server._settings import AuthMode, Settings

__version__ = "0.1.0"

__all__ = [
    "AuthMode",
    "AuthenticationError",
    "ConfigurationError",
    "InvalidRequestError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RequestError",
    "ServerError",
    "Settings",
    "Tier",
    "UnsupportedMediaTypeError",
    "build_openapi",
    "create_app",
    "migrate",
]
