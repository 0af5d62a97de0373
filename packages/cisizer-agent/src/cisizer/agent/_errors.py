"""Errors the agent raises.

Every error derives from :class:`AgentError`::

    AgentError
    ├── ConfigurationError (ValueError)   a setting is missing or malformed
    │   └── IdentityError                 the job cannot be named
    └── SourceError (OSError)             a measurement source cannot be read

Errors of the receiver and the network come from :mod:`cisizer.client`.
"""

from __future__ import annotations

__all__ = ["AgentError", "ConfigurationError", "IdentityError", "SourceError"]


class AgentError(Exception):
    """Root of every error the agent raises."""


class ConfigurationError(AgentError, ValueError):
    """A setting is missing or malformed."""


class IdentityError(ConfigurationError):
    """The job cannot be named: a part of its identity is missing."""


class SourceError(AgentError, OSError):
    """A measurement source is unavailable or a sample cannot be read.

    ``status`` is the HTTP status when the source is an API that answered.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
