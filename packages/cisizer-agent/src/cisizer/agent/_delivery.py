"""Sending spooled summaries to the receiver, with bounded jittered retries."""

from __future__ import annotations

import enum
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from cisizer.agent._errors import ConfigurationError
from cisizer.agent._spool import Spool

if TYPE_CHECKING:
    from cisizer.core import Push, Run

__all__ = ["Delivery", "Outcome", "check_url", "deliver", "flush_spool"]

_log = logging.getLogger(__name__)

_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 10.0
_ATTEMPT_TIMEOUT = 10.0
# The first attempt is made even when the push timeout has run out (it may
# be 0, meaning no retries), and gets at least this long.
_MIN_ATTEMPT_TIMEOUT = 2.0

_jitter = random.SystemRandom()


class Outcome(enum.StrEnum):
    """What became of one spooled summary."""

    DELIVERED = "delivered"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    UNREADABLE = "unreadable"
    POSTPONED = "postponed"
    BUSY = "busy"


@attrs.frozen
class Delivery:
    """The outcome of sending one spooled summary.

    ``path`` is where the file lies afterwards: under ``rejected/`` for a
    summary the receiver refused or already held from another run.
    """

    path: Path
    outcome: Outcome
    detail: str
    status: int | None = None
    run: int | None = None

    @property
    def logged(self) -> bool:
        """Tell whether delivering already said this outcome at ERROR."""
        return self.outcome in (Outcome.REJECTED, Outcome.UNREADABLE)

    def describe(self) -> str:
        """Return one line for a person reading the job log."""
        if self.outcome is Outcome.DELIVERED:
            if self.run is None:
                return "summary delivered"
            return f"summary delivered (stored with id {self.run})"
        if self.outcome is Outcome.DUPLICATE:
            return (
                f"summary NOT stored: another run with the same key is stored "
                f"with id {self.run}; kept at {self.path}"
            )
        if self.outcome is Outcome.REJECTED:
            return f"summary rejected, kept at {self.path}: {self.detail}"
        if self.outcome is Outcome.UNREADABLE:
            return (
                f"could not read {self.path.name}: {self.detail}; kept at {self.path}"
            )
        if self.outcome is Outcome.BUSY:
            return f"summary at {self.path} is being sent by another agent"
        return f"summary kept at {self.path} for a later retry: {self.detail}"


def check_url(url: str) -> str:
    """Return ``url`` if it is an http or https URL with a host.

    Raises:
        ConfigurationError: naming the problem.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks the port
    except ValueError as err:
        raise ConfigurationError(f"{url!r} is not a URL: {err}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{url!r} is not an http:// or https:// URL with a host"
        )
    return url


def _retryable(err: Exception) -> bool:
    from cisizer.client import APIError, TransportError

    if isinstance(err, TransportError):
        return True
    return isinstance(err, APIError) and (err.status in (408, 429) or err.status >= 500)


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

    The first attempt is made even when ``deadline`` has passed already.
    Connection errors, timeouts, 408, 429 and 5xx are retried with jittered
    exponential backoff until ``deadline``.  Other 4xx are final: the file
    moves to the spool's ``rejected/`` directory.  The file is removed only after the
    receiver answered 200 or 201 with this very summary.  ``deadline`` is a
    :func:`time.monotonic` value.
    """
    with spool.claim(path) as claimed:
        if not claimed:
            return Delivery(path, Outcome.BUSY, "locked by another agent")
        try:
            entry = spool.read(path)
        except OSError as err:
            return Delivery(path, Outcome.POSTPONED, f"unreadable: {err}")
        except ValueError as err:
            return _unreadable(spool, path, str(err))
        # A summary goes where and with the token it was meant for; the
        # current settings stand in for what the file lacks.
        tokens = [t for t in dict.fromkeys((entry.token, token)) if t]
        target = url or entry.url
        if not target:
            return Delivery(path, Outcome.POSTPONED, "no receiver URL is set")
        if not tokens:
            return Delivery(path, Outcome.POSTPONED, "no push token is set")
        try:
            check_url(target)
        except ConfigurationError as err:
            return Delivery(path, Outcome.POSTPONED, f"receiver URL {err}")
        return _send(spool, path, entry.push, target, tokens, deadline, sleep)


def _set_aside(spool: Spool, path: Path) -> Path:
    try:
        return spool.reject(path)
    except OSError as err:
        _log.error("%s could not be moved aside (%s)", path, err)
        return path


def _reject(spool: Spool, path: Path, detail: str, status: int | None) -> Delivery:
    kept = _set_aside(spool, path)
    _log.error(
        "the receiver refused %s: %s; it is kept at %s and not sent again "
        "unless moved back into the spool",
        path.name,
        detail,
        kept,
    )
    return Delivery(kept, Outcome.REJECTED, detail, status)


def _unreadable(spool: Spool, path: Path, detail: str) -> Delivery:
    kept = _set_aside(spool, path)
    _log.error(
        "could not read %s: %s; it is kept at %s and not sent again "
        "unless repaired and moved back into the spool",
        path.name,
        detail,
        kept,
    )
    return Delivery(kept, Outcome.UNREADABLE, detail)


def _same_run(push: Push, run: Run) -> bool:
    """Tell whether the stored run is this summary, not another with its key."""
    return (
        run.runner == push.runner
        and run.status == push.status
        and run.payload.start_time == push.payload.start_time
        and run.payload.end_time == push.payload.end_time
        and run.payload.sample_count == push.payload.sample_count
    )


def _duplicate(spool: Spool, path: Path, push: Push, run: Run) -> Delivery:
    kept = _set_aside(spool, path)
    _log.warning(
        "the summary was NOT stored: the receiver already holds another run "
        "(id %s, runner %s) with the same organization, repository, workflow, "
        "job, run id %r and attempt %s; it is kept at %s. Matrix legs of one "
        "job share the run id: give each its own, e.g. CISIZER_RUN_ID: "
        "${{ github.run_id }}-${{ strategy.job-index }}",
        run.id,
        run.runner,
        push.run_id,
        push.run_attempt,
        kept,
    )
    return Delivery(kept, Outcome.DUPLICATE, "another run has the same key", run=run.id)


def _send(
    spool: Spool,
    path: Path,
    body: dict[str, Any],
    url: str,
    tokens: list[str],
    deadline: float,
    sleep: Callable[[float], None],
) -> Delivery:
    import httpx

    from cisizer.client import (
        APIError,
        CISizerError,
        Client,
        UnexpectedResponseError,
    )
    from cisizer.client import ConfigurationError as ClientConfigurationError
    from cisizer.core import Push, converter

    try:
        push = converter.structure(body, Push)
    except Exception as err:
        return _reject(spool, path, f"malformed summary: {err}", None)

    attempt = 0
    last_error = "push timeout reached"
    with httpx.Client() as http:
        while True:
            remaining = deadline - time.monotonic()
            if attempt and remaining <= 0.05:
                _log.warning(
                    "giving up on %s after %d attempts; it stays in the spool",
                    path.name,
                    attempt,
                )
                return Delivery(path, Outcome.POSTPONED, last_error)
            try:
                client = Client(
                    url,
                    tokens[0],
                    timeout=min(_ATTEMPT_TIMEOUT, max(remaining, _MIN_ATTEMPT_TIMEOUT)),
                    retries=0,
                    http_client=http,
                )
                run = client.push_metrics(push)
            except UnexpectedResponseError as err:
                if err.status in (200, 201):
                    spool.remove(path)
                    return Delivery(path, Outcome.DELIVERED, str(err), err.status)
                return _reject(spool, path, str(err), err.status)
            except ClientConfigurationError as err:
                return Delivery(path, Outcome.POSTPONED, str(err))
            except CISizerError as err:
                status = err.status if isinstance(err, APIError) else None
                if status in (401, 403) and len(tokens) > 1:
                    tokens.pop(0)
                    continue
                if not _retryable(err):
                    return _reject(spool, path, str(err), status)
                last_error = f"push timeout reached; last error: {err}"
                delay = _jitter.uniform(
                    0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt)
                )
                delay = min(delay, max(0.0, deadline - time.monotonic()))
                # One line says the receiver is unreachable; the rest of the
                # attempts are detail.
                _log.log(
                    logging.DEBUG if attempt else logging.WARNING,
                    "push of %s failed (%s); retrying for up to %.0f s",
                    path.name,
                    err,
                    max(0.0, deadline - time.monotonic()),
                )
                sleep(delay)
                attempt += 1
                continue
            if not _same_run(push, run):
                return _duplicate(spool, path, push, run)
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
    """Send every spooled summary, oldest first, retrying within one deadline.

    Each summary gets one attempt even once the deadline has passed; only
    retries stop there.
    """
    return [
        deliver(spool, path, url=url, token=token, deadline=deadline, sleep=sleep)
        for path in spool.paths()
    ]
