"""Ingest over HTTP: push tokens of long jobs, runs from the future, odd bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cisizer.core import format_datetime

JOB = ("my-org", "my-repo", "ci.yml", "build")
JOB_RUNS = "/api/v1/metrics/repo/my-org/my-repo/ci.yml/build"


def _timed(make_push, start: datetime, end: datetime, run_id: str = "run-1"):
    body = make_push(run_id=run_id)
    body["payload"]["start_time"] = format_datetime(start)
    body["payload"]["end_time"] = format_datetime(end)
    body["payload"]["duration_seconds"] = (end - start).total_seconds()
    return body


def _push(http, token, body):
    return http.post(
        "/api/v1/metrics", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def test_long_job_is_stored_within_the_grace(live_server, http, read, make_push):
    """A run that started before its token expired is stored until the grace ends."""
    now = datetime.now(UTC)
    # Issued 3 h ago with the 2 h TTL: expired an hour ago, inside the 6 h grace.
    token = live_server.push_token(*JOB, now=now - timedelta(hours=3))
    body = _timed(make_push, now - timedelta(hours=2, minutes=55), now)

    response = _push(http, token, body)

    assert response.status_code == 201, response.text
    stored = http.get(JOB_RUNS, headers=read).json()
    assert [run["run_id"] for run in stored] == ["run-1"]
    assert stored[0]["payload"]["duration_seconds"] == 2 * 3600 + 55 * 60


@pytest.mark.parametrize(
    ("issued_ago", "started_ago"),
    [
        # The run started after the token had expired (an hour ago).
        (timedelta(hours=3), timedelta(minutes=30)),
        # The token expired 7 h ago: the 6 h grace is over.
        (timedelta(hours=9), timedelta(hours=8, minutes=55)),
    ],
    ids=["started-after-expiry", "after-the-grace"],
)
def test_push_outside_the_grace_is_401(
    live_server, http, read, make_push, issued_ago, started_ago
):
    """A run started after expiry, or pushed after the grace, is refused, not stored."""
    now = datetime.now(UTC)
    token = live_server.push_token(*JOB, now=now - issued_ago)
    body = _timed(make_push, now - started_ago, now)

    response = _push(http, token, body)

    assert response.status_code == 401
    assert response.json()["detail"] == "push token: push token has expired"
    assert response.headers["www-authenticate"] == "Bearer"
    assert http.get(JOB_RUNS, headers=read).json() == []


def test_end_time_in_the_future_is_400(live_server, http, read, make_push):
    """A run ending a day after the receiver's clock is refused and not stored."""
    now = datetime.now(UTC)
    token = live_server.push_token(*JOB)
    body = _timed(make_push, now, now + timedelta(days=1))

    response = _push(http, token, body)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("payload.end_time: is in the future")
    assert http.get(JOB_RUNS, headers=read).json() == []


def test_read_token_on_ingest_says_a_push_token_is_needed(live_server, http, make_push):
    """The read token sent to ingest gets 401 asking for a push token instead."""
    response = _push(http, live_server.read_token, make_push())

    assert response.status_code == 401
    assert response.json()["detail"] == (
        "a push token is required (this looks like the read token)"
    )
    assert live_server.read_token not in response.text


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate, gzip"])
def test_compressed_body_is_415(live_server, http, read, make_push, encoding):
    """A Content-Encoding other than identity answers 415 naming the header."""
    token = live_server.push_token(*JOB)

    response = http.post(
        "/api/v1/metrics",
        json=make_push(),
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": encoding},
    )

    assert response.status_code == 415
    assert response.json()["detail"] == (
        f"Content-Encoding: {encoding!r} is not supported; send the body uncompressed"
    )
    assert http.get(JOB_RUNS, headers=read).json() == []


def test_identity_encoding_is_accepted(live_server, http, make_push):
    """Content-Encoding: identity is no encoding at all."""
    token = live_server.push_token(*JOB)

    response = http.post(
        "/api/v1/metrics",
        json=make_push(),
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "identity"},
    )

    assert response.status_code == 201


def test_health_ignores_query_parameters(http):
    """A load balancer's probe may add query parameters; /health still answers ok."""
    response = http.get("/health", params={"probe": "lb-1", "x": ""})

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def _forged(live_server, **change):
    import jwt

    now = int(datetime.now(UTC).timestamp())
    claims = {
        "org": "my-org",
        "repo": "my-org/my-repo",
        "workflow": "ci.yml",
        "job": "build",
        "iat": now,
        "exp": now + 600,
        "jti": "x",
        "aud": "cisizer-push",
        **change,
    }
    return jwt.encode(claims, live_server.hmac_key, algorithm="HS256")


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"nbf": 4_000_000_000}, "push token: push token is not valid yet"),
        ({"exp": 10**20}, "push token: push token lives longer than 30 days"),
    ],
    ids=["nbf-ahead", "exp-beyond-ttl"],
)
def test_signed_but_odd_tokens_are_401(
    live_server, http, read, make_push, change, detail
):
    """A token not valid yet, or living longer than 30 days, is refused."""
    response = _push(http, _forged(live_server, **change), make_push())

    assert response.status_code == 401
    assert response.json()["detail"] == detail
    assert http.get(JOB_RUNS, headers=read).json() == []


def test_token_with_a_past_nbf_pushes(live_server, http, make_push):
    """A token whose nbf has passed is accepted like any other."""
    now = int(datetime.now(UTC).timestamp())

    response = _push(http, _forged(live_server, nbf=now - 60), make_push())

    assert response.status_code == 201
