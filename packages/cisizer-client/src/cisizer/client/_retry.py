"""When to retry a request and how long to wait first."""

from __future__ import annotations

import email.utils
import random
from datetime import UTC, datetime

import attrs
import httpx

__all__ = ["MAX_RETRY_AFTER_SECONDS", "RetryPolicy", "parse_retry_after"]

# A Retry-After longer than this is not waited for: a client call that
# silently blocks for minutes surprises more than an error does.
MAX_RETRY_AFTER_SECONDS = 60.0

_BACKOFF_CAP_SECONDS = 30.0

# Failures after which the request may or may not have reached the receiver;
# retried only for idempotent requests, like every other retry.
_RETRYABLE_TRANSPORT_ERRORS = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)

_jitter = random.SystemRandom()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks to wait, or ``None``.

    The header is either a number of seconds or an HTTP date; a date in the
    past means no wait.  Anything else is ignored.
    """
    if value is None:
        return None

    text = value.strip()
    if text.isdigit():
        return float(text)

    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)

    return max(0.0, (when - now).total_seconds())


@attrs.frozen
class RetryPolicy:
    """How many times an idempotent request is retried, and the wait between.

    The wait before retry ``n`` (0-based) is ``backoff * 2**n`` seconds with
    half of it jittered, capped at 30 s, unless the receiver sent a
    ``Retry-After`` header, which is honoured up to 60 s.
    """

    retries: int = 3
    backoff: float = 0.5

    def retryable_status(self, status: int) -> bool:
        """Return whether an answer with this status is worth another try."""
        return status == 429 or status >= 500

    def retryable_error(self, error: Exception) -> bool:
        """Return whether a transport failure is worth another try."""
        return isinstance(error, _RETRYABLE_TRANSPORT_ERRORS)

    def delay(
        self, attempt: int, response: httpx.Response | None = None
    ) -> float | None:
        """Return the seconds to wait before retry ``attempt``, or ``None`` to stop."""
        if attempt >= self.retries:
            return None

        if response is not None:
            asked = parse_retry_after(response.headers.get("Retry-After"))
            if asked is not None:
                return asked if asked <= MAX_RETRY_AFTER_SECONDS else None

        base = min(_BACKOFF_CAP_SECONDS, self.backoff * 2.0**attempt)
        return base / 2 + _jitter.uniform(0, base / 2)
