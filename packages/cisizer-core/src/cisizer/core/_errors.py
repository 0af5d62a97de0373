"""Errors raised by the core.

Every error the core raises derives from :class:`CoreError`, and each leaf
also subclasses the builtin a caller would expect::

    CoreError
    ├── ValidationError (ValueError)   bad input; .problems lists every field
    │   └── QuantityError              a string that is no Kubernetes quantity
    ├── NoHistoryError (LookupError)   no runs to size a job from
    └── TokenError (ValueError)        a push token that is not accepted
        ├── MalformedTokenError        not a JWT, or claims missing or wrong
        ├── InvalidSignatureError      signed with none of the known keys
        ├── ExpiredTokenError          past its ``exp`` (beyond the leeway)
        └── WrongAudienceError         not meant for ``cisizer-push``
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = [
    "CoreError",
    "ExpiredTokenError",
    "InvalidSignatureError",
    "MalformedTokenError",
    "NoHistoryError",
    "Problem",
    "QuantityError",
    "TokenError",
    "ValidationError",
    "WrongAudienceError",
]


@attrs.frozen
class Problem:
    """One thing wrong with an input: where (``path``) and what (``message``)."""

    path: str
    message: str

    def __str__(self) -> str:
        """Render as ``path: message`` (just the message when there is no path)."""
        if not self.path:
            return self.message
        return f"{self.path}: {self.message}"


class CoreError(Exception):
    """Root of every error raised by :mod:`cisizer.core`."""


class ValidationError(CoreError, ValueError):
    """Input that does not match the wire model; ``problems`` lists each fault.

    ``str(error)`` joins the problems as ``path: message`` with ``"; "``.
    """

    problems: tuple[Problem, ...]

    def __init__(self, problems: Iterable[Problem]) -> None:
        """Hold the problems found; there is at least one."""
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))

    @classmethod
    def single(cls, path: str, message: str) -> ValidationError:
        """Build an error holding one problem."""
        return cls((Problem(path, message),))


class QuantityError(ValidationError):
    """A string that is not a Kubernetes quantity (or not one that fits)."""


class NoHistoryError(CoreError, LookupError):
    """There are no usable runs of a job to compute a sizing from."""


class TokenError(CoreError, ValueError):
    """A push token that is not accepted."""


class MalformedTokenError(TokenError):
    """The token is not a JWT, or its claims are missing or of the wrong type."""


class InvalidSignatureError(TokenError):
    """The token's signature matches none of the configured keys."""


class ExpiredTokenError(TokenError):
    """The token's ``exp`` lies in the past, beyond the allowed clock leeway."""


class WrongAudienceError(TokenError):
    """The token was not issued for the ``cisizer-push`` audience."""
