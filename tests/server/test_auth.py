"""Auth mode none: every route against every kind of credential."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cisizer.server._auth import Tier
from cisizer.server._routes import ROUTES

_NAMES = {
    "org": "my-org",
    "repo": "my-repo",
    "workflow": "ci.yml",
    "job": "build",
    "runner": "runner-7",
}
CREDENTIALS = ("none", "wrong", "read", "push", "expired_push", "other_push")


def _headers(live_server, credential):
    job = ("my-org", "my-repo", "ci.yml", "build")
    tokens = {
        "none": None,
        "wrong": "not-the-read-token",
        "read": live_server.read_token,
        "push": live_server.push_token(*job),
        # Expired 7 h ago: beyond the 6 h push grace, whenever the run started.
        "expired_push": live_server.push_token(
            *job, now=datetime.now(UTC) - timedelta(hours=9)
        ),
        "other_push": live_server.push_token("other-org", "repo", "ci.yml", "build"),
    }
    token = tokens[credential]
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def _body(route, make_push):
    if route.path == "/api/v1/token":
        return {
            "organization": "my-org",
            "repository": "my-repo",
            "workflow": "ci.yml",
            "job": "build",
        }
    if route.path == "/api/v1/metrics":
        return make_push()
    if route.method == "PUT":
        return {"runs": 3}
    return None


def _expected(tier, credential):
    """The status class a credential gets on a tier: ok, 401 or 403."""
    if tier is Tier.OPEN:
        return "ok"
    if tier is Tier.PUSH_TOKEN:
        return {"push": "ok", "other_push": 403}.get(credential, 401)
    return "ok" if credential == "read" else 401


@pytest.mark.parametrize(
    "route", ROUTES, ids=[f"{route.method} {route.path}" for route in ROUTES]
)
def test_route_admits_only_its_tier(live_server, http, make_push, route):
    """Each route answers each credential as its tier prescribes in mode none."""
    path = route.path.format(**_NAMES)
    outcomes = {}
    for credential in CREDENTIALS:
        response = http.request(
            route.method,
            path,
            json=_body(route, make_push),
            headers=_headers(live_server, credential),
        )
        outcomes[credential] = response

    for credential, response in outcomes.items():
        expected = _expected(route.tier, credential)
        if expected == "ok":
            # Admitted: any answer but an auth refusal or a server error.
            assert response.status_code not in (401, 403), (credential, response.text)
            assert response.status_code < 500, (credential, response.text)
        else:
            assert response.status_code == expected, (credential, response.text)
            assert response.headers["content-type"] == "application/problem+json"
        if response.status_code == 401:
            assert response.headers["www-authenticate"] == "Bearer"


def _reference_tier(method, path):
    """The tier the API reference's table gives an endpoint."""
    if path in ("/health", "/api/v1/info") or path.startswith("/swagger"):
        return Tier.OPEN
    if (method, path) == ("POST", "/api/v1/token"):
        return Tier.READ_TOKEN
    if (method, path) == ("POST", "/api/v1/metrics"):
        return Tier.PUSH_TOKEN
    relaxed_runners = ("/api/v1/runners/overview", "/api/v1/runners/{runner}")
    if method == "GET" and (
        path.startswith("/api/v1/sizing/") or path in relaxed_runners
    ):
        return Tier.RELAXED
    return Tier.STRICT


@pytest.mark.parametrize(
    "route", ROUTES, ids=[f"{route.method} {route.path}" for route in ROUTES]
)
def test_tier_follows_the_api_reference(route):
    """Each route declares the tier the API reference's auth table gives it."""
    assert route.tier is _reference_tier(route.method, route.path)


def test_scheme_other_than_bearer_is_refused(live_server, http):
    """A Basic credential is not a Bearer token and answers 401."""
    response = http.get(
        "/api/v1/debug/metrics", headers={"Authorization": "Basic dXNlcjpwYXNz"}
    )

    assert response.status_code == 401


def test_bearer_scheme_is_case_insensitive(live_server, http):
    """The scheme name bearer is matched without regard to case."""
    response = http.get(
        "/api/v1/debug/metrics",
        headers={"Authorization": f"bearer {live_server.read_token}"},
    )

    assert response.status_code == 200
