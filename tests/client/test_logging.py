"""The one DEBUG line per request, and that no secret reaches it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from cisizer.client import ServerError
from cisizer.client._http import redact_url

SECRET = "s3cret-read-token"


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("cisizer.client")
    ]


def test_one_debug_line_per_request(
    make_client: Callable[..., Any],
    api: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    samples: Any,
) -> None:
    """A request logs method, URL, status and time at DEBUG, once."""
    api.get("/api/v1/sizing/repo/my-org/my-repo/ci.yml/build").respond(
        404, json={"title": "Not found"}
    )
    caplog.set_level(logging.DEBUG, logger="cisizer.client")

    with pytest.raises(LookupError):
        make_client(token=SECRET).sizing("my-org", "my-repo", "ci.yml", "build", runs=3)

    lines = _lines(caplog)
    assert len(lines) == 1
    assert lines[0].startswith(
        "GET http://cisizer.test/api/v1/sizing/repo/my-org/my-repo/ci.yml/build"
        "?runs=3 -> 404 in "
    )
    assert lines[0].endswith(" ms")
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


def test_each_attempt_and_failure_is_logged(
    make_client: Callable[..., Any],
    api: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A retried request logs every attempt, failures by their error name."""
    api.get("/health").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(503)]
    )
    caplog.set_level(logging.DEBUG, logger="cisizer.client")

    with pytest.raises(ServerError):
        make_client(retries=1).health()

    lines = _lines(caplog)
    assert len(lines) == 2
    assert lines[0].startswith("GET http://cisizer.test/health -> ConnectError after ")
    assert lines[1].startswith("GET http://cisizer.test/health -> 503 in ")


def test_tokens_never_reach_the_log(
    make_client: Callable[..., Any],
    api: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    samples: Any,
) -> None:
    """Neither the read token nor a push token appears in any log record."""
    api.route().respond(500)
    caplog.set_level(logging.DEBUG)
    client = make_client(token=SECRET, retries=0)

    with pytest.raises(ServerError):
        client.health()
    with pytest.raises(ServerError):
        client.push_metrics(samples.push, token="push-s3cret")

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert len(caplog.records) >= 2
    assert SECRET not in text
    assert "push-s3cret" not in text


def test_redact_url_drops_credentials_and_secret_parameters() -> None:
    """User info and secret-looking query values never leave redact_url."""
    url = "https://user:pw@cisizer.test/api/v1/x?access_token=abc&limit=5&api_key=k"

    assert redact_url(url) == (
        "https://cisizer.test/api/v1/x?access_token=redacted&limit=5&api_key=redacted"
    )
