"""Retries with backoff and Retry-After, in sync and async mode."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime as http_date
from typing import Any

import httpx
import pytest
import respx

from cisizer.client import APIError, ServerError, TransportError
from cisizer.client._retry import RetryPolicy, parse_retry_after
from cisizer.core import Health, Override, converter

OK = httpx.Response(200, json={"status": "ok"})
UNAVAILABLE = httpx.Response(503, json={"title": "Service unavailable", "status": 503})


def test_a_503_then_200_is_retried(
    client: Any, api: respx.MockRouter, sleeps: list[float]
) -> None:
    """A GET that meets a 503 is sent again and returns the second answer."""
    route = api.get("/health").mock(side_effect=[UNAVAILABLE, OK])

    assert client.health() == Health("ok")
    assert route.call_count == 2
    assert len(sleeps) == 1


def test_a_connection_error_then_200_is_retried(
    client: Any, api: respx.MockRouter
) -> None:
    """A GET whose connection fails is sent again."""
    route = api.get("/health").mock(side_effect=[httpx.ConnectError("refused"), OK])

    assert client.health() == Health("ok")
    assert route.call_count == 2


def test_a_push_token_request_is_never_retried(
    client: Any, api: respx.MockRouter, sleeps: list[float]
) -> None:
    """POST /api/v1/token meeting a 503 raises at once, after one request."""
    route = api.post("/api/v1/token").mock(side_effect=[UNAVAILABLE, OK])

    with pytest.raises(ServerError):
        client.create_push_token("my-org", "my-repo", "ci.yml", "build")

    assert route.call_count == 1
    assert sleeps == []


def test_a_push_token_request_is_not_retried_after_a_connection_error(
    client: Any, api: respx.MockRouter
) -> None:
    """POST /api/v1/token whose connection fails raises TransportError at once."""
    route = api.post("/api/v1/token").mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(TransportError):
        client.create_push_token("my-org", "my-repo", "ci.yml", "build")

    assert route.call_count == 1


def test_a_metric_push_is_retried_since_the_receiver_deduplicates(
    client: Any, api: respx.MockRouter, samples: Any
) -> None:
    """POST /api/v1/metrics is retried after a 502 and returns the stored run."""
    stored = httpx.Response(201, json=converter.unstructure(samples.run))
    route = api.post("/api/v1/metrics").mock(side_effect=[httpx.Response(502), stored])

    assert client.push_metrics(samples.push, token="push") == samples.run
    assert route.call_count == 2
    assert route.calls[0].request.content == route.calls[1].request.content


def test_put_and_delete_are_retried(
    client: Any, api: respx.MockRouter, samples: Any
) -> None:
    """Override PUT and DELETE are idempotent and retried after a 500."""
    put = api.put("/api/v1/sizing/overrides/my-org").mock(
        side_effect=[
            httpx.Response(500),
            httpx.Response(200, json=converter.unstructure(samples.stored_override)),
        ]
    )
    delete = api.delete("/api/v1/sizing/overrides/my-org").mock(
        side_effect=[httpx.Response(500), httpx.Response(204)]
    )

    client.set_override("my-org", override=Override(runs=3))
    client.delete_override("my-org")

    assert put.call_count == 2
    assert delete.call_count == 2


def test_client_errors_are_not_retried(client: Any, api: respx.MockRouter) -> None:
    """A 404 is the answer, not a hiccup: one request only."""
    route = api.get("/health").respond(404, json={"title": "Not found"})

    with pytest.raises(APIError):
        client.health()

    assert route.call_count == 1


def test_retries_stop_after_the_configured_number(
    make_client: Callable[..., Any], api: respx.MockRouter, sleeps: list[float]
) -> None:
    """With retries=3 a request is tried four times, waiting longer each time."""
    route = api.get("/health").mock(return_value=UNAVAILABLE)

    with pytest.raises(ServerError):
        make_client(retries=3, backoff=0.5).health()

    assert route.call_count == 4
    assert len(sleeps) == 3
    for wait, base in zip(sleeps, (0.5, 1.0, 2.0), strict=True):
        assert base / 2 <= wait <= base


def test_retries_zero_sends_once(
    make_client: Callable[..., Any], api: respx.MockRouter, sleeps: list[float]
) -> None:
    """With retries=0 a failing request is sent exactly once."""
    route = api.get("/health").mock(return_value=UNAVAILABLE)

    with pytest.raises(ServerError):
        make_client(retries=0).health()

    assert route.call_count == 1
    assert sleeps == []


def test_retry_after_seconds_is_honoured(
    client: Any, api: respx.MockRouter, sleeps: list[float]
) -> None:
    """A 429 with Retry-After: 7 waits exactly seven seconds before retrying."""
    limited = httpx.Response(429, headers={"Retry-After": "7"})
    api.get("/health").mock(side_effect=[limited, OK])

    assert client.health() == Health("ok")
    assert sleeps == [7.0]


def test_retry_after_http_date_is_honoured(
    client: Any, api: respx.MockRouter, sleeps: list[float]
) -> None:
    """A 503 with Retry-After as an HTTP date waits until that time."""
    when = datetime.now(UTC) + timedelta(seconds=30)
    limited = httpx.Response(503, headers={"Retry-After": http_date(when, usegmt=True)})
    api.get("/health").mock(side_effect=[limited, OK])

    assert client.health() == Health("ok")
    assert len(sleeps) == 1
    assert 25 <= sleeps[0] <= 30


def test_a_retry_after_too_long_is_not_waited_for(
    client: Any, api: respx.MockRouter, sleeps: list[float]
) -> None:
    """A Retry-After of an hour raises the 429 instead of blocking."""
    route = api.get("/health").respond(429, headers={"Retry-After": "3600"})

    with pytest.raises(APIError) as caught:
        client.health()

    assert caught.value.status == 429
    assert route.call_count == 1
    assert sleeps == []


def test_parse_retry_after_reads_seconds_and_dates() -> None:
    """Retry-After is seconds or an HTTP date; past dates mean no wait."""
    now = datetime(2026, 2, 6, 12, 0, tzinfo=UTC)

    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Fri, 06 Feb 2026 12:01:30 GMT", now) == 90.0
    assert parse_retry_after("Fri, 06 Feb 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-5", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_grows_and_is_capped() -> None:
    """Each wait lies in [base/2, base] with base doubling up to 30 s."""
    policy = RetryPolicy(retries=10, backoff=1.0)

    waits = [policy.delay(attempt) for attempt in range(10)]

    for attempt, wait in enumerate(waits):
        base = min(30.0, 2.0**attempt)
        assert wait is not None
        assert base / 2 <= wait <= base
    assert policy.delay(10) is None


def test_negative_retries_are_refused(make_client: Callable[..., Any]) -> None:
    """A negative retry count is a programming error caught at construction."""
    with pytest.raises(ValueError, match="negative"):
        make_client(retries=-1)
