"""Sending spooled summaries to the receiver, with bounded jittered retries."""

from __future__ import annotations

import enum
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path

import attrs

from cisizer.agent._spool import Spool

__all__ = ["Delivery", "Outcome", "deliver", "flush_spool"]

_log = logging.getLogger(__name__)

_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 10.0
_ATTEMPT_TIMEOUT = 10.0

_jitter = random.SystemRandom()


class Outcome(enum.StrEnum):
    """What became of one spooled summary."""

    DELIVERED = "delivered"
    REJECTED = "rejected"
    POSTPONED = "postponed"
    BUSY = "busy"


@attrs.frozen
class Delivery:
    """The outcome of sending one spooled summary."""

    path: Path
    outcome: Outcome
    detail: str
    status: int | None = None
    run: int | None = None

    def describe(self) -> str:
        """Return one line for a person reading the job log."""
        if self.outcome is Outcome.DELIVERED:
            return f"summary delivered (stored as run {self.run})"
        if self.outcome is Outcome.REJECTED:
            return f"summary rejected, kept at {self.path}: {self.detail}"
        if self.outcome is Outcome.BUSY:
            return f"summary at {self.path} is being sent by another agent"
        return f"summary kept at {self.path} for a later retry: {self.detail}"


def _retryable(err: Exception) -> bool:
    from cisizer.client import APIError, TransportError

    if isinstance(err, TransportError):
        return True
    return isinstance(err, APIError) and (err.status == 429 or err.status >= 500)


def deliver(
    spool: Spool,
    path: Path,
    *,
    url: str | None,
    token: str | None,
    deadline: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send one spooled summary until it is confirmed or ``deadline`` passes.

    Connection errors, timeouts, 429 and 5xx are retried with jittered
    exponential backoff; other 4xx are final and leave the file in place.
    The file is removed only after the receiver answered 200 or 201.
    ``deadline`` is a :func:`time.monotonic` value.
    """
    with spool.claim(path) as claimed:
        if not claimed:
            return Delivery(path, Outcome.BUSY, "locked by another agent")
        try:
            entry = spool.read(path)
        except (OSError, ValueError) as err:
            return Delivery(path, Outcome.REJECTED, f"unreadable: {err}")
        # A summary goes where and with the token it was meant for; the
        # current settings stand in for what the file lacks.
        tokens = [t for t in dict.fromkeys((entry.token, token)) if t]
        target = url or entry.url
        if not target:
            return Delivery(path, Outcome.POSTPONED, "no receiver URL is set")
        if not tokens:
            return Delivery(path, Outcome.POSTPONED, "no push token is set")
        return _send(spool, path, entry.push, target, tokens, deadline, sleep)


def _send(
    spool: Spool,
    path: Path,
    body: dict[str, object],
    url: str,
    tokens: list[str],
    deadline: float,
    sleep: Callable[[float], None],
) -> Delivery:
    import httpx

    from cisizer.client import APIError, CISizerError, Client, UnexpectedResponseError
    from cisizer.core import Push, converter

    try:
        push = converter.structure(body, Push)
    except Exception as err:
        return Delivery(path, Outcome.REJECTED, f"malformed summary: {err}")

    attempt = 0
    last_error = "push timeout reached before the first attempt"
    with httpx.Client() as http:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0.05:
                return Delivery(path, Outcome.POSTPONED, last_error)
            client = Client(
                url,
                tokens[0],
                timeout=min(_ATTEMPT_TIMEOUT, remaining),
                retries=0,
                http_client=http,
            )
            try:
                run = client.push_metrics(push)
            except UnexpectedResponseError as err:
                if err.status in (200, 201):
                    spool.remove(path)
                    return Delivery(path, Outcome.DELIVERED, str(err), err.status)
                return Delivery(path, Outcome.REJECTED, str(err), err.status)
            except CISizerError as err:
                status = err.status if isinstance(err, APIError) else None
                if status in (401, 403) and len(tokens) > 1:
                    tokens.pop(0)
                    continue
                if not _retryable(err):
                    _log.error("the receiver rejected %s: %s", path.name, err)
                    return Delivery(path, Outcome.REJECTED, str(err), status)
                last_error = f"push timeout reached; last error: {err}"
                delay = _jitter.uniform(
                    0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt)
                )
                delay = min(delay, max(0.0, deadline - time.monotonic()))
                _log.warning(
                    "push of %s failed (%s); retrying in %.1f s", path.name, err, delay
                )
                sleep(delay)
                attempt += 1
                continue
            spool.remove(path)
            return Delivery(path, Outcome.DELIVERED, "stored", None, run.id)


def flush_spool(
    spool: Spool,
    *,
    url: str | None,
    token: str | None,
    deadline: float,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Delivery]:
    """Send every spooled summary, oldest first, within one deadline."""
    results = []
    for path in spool.paths():
        if time.monotonic() >= deadline:
            results.append(Delivery(path, Outcome.POSTPONED, "push timeout reached"))
            continue
        results.append(
            deliver(spool, path, url=url, token=token, deadline=deadline, sleep=sleep)
        )
    return results
