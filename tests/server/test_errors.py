"""Problem answers: one title per status, HEAD like GET, no NaN ever sent."""

from __future__ import annotations

import math

import falcon
import falcon.testing
import pytest

from cisizer.server import Settings, create_app
from cisizer.server._app import _resources
from cisizer.server._auth import Tier
from cisizer.server._errors import install_error_handlers, problem_title
from cisizer.server._resources import Reply, State
from cisizer.server._routes import Route

READ_TOKEN = "errors-read-token-0123456789abcdef"
HMAC_KEY = "errors-hmac-key-0123456789abcdef0123456789"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """A receiver on a fresh SQLite file, called in process."""
    path = tmp_path_factory.mktemp("errors") / "errors.db"
    settings = Settings(
        read_token=READ_TOKEN, hmac_keys=(HMAC_KEY,), db_url=f"sqlite:///{path}"
    )
    return falcon.testing.TestClient(create_app(settings))


READ = {"Authorization": f"Bearer {READ_TOKEN}"}


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "title"),
    [
        ("GET", "/api/v1/nothing-here", {}, 404, "Not found"),
        ("POST", "/health", {}, 405, "Method not allowed"),
        ("GET", "/api/v1/debug/metrics", {}, 401, "Unauthorized"),
        ("GET", "/api/v1/debug/metrics?limit=0", READ, 400, "Invalid request"),
        ("GET", "/api/v1/sizing/repo/o/r/w/j", READ, 404, "Not found"),
        ("DELETE", "/api/v1/sizing/overrides/o", READ, 404, "Not found"),
    ],
)
def test_titles_use_one_capitalisation(client, method, path, headers, status, title):
    """Routing, framework and receiver errors all title a status the same way."""
    result = client.simulate_request(method, path, headers=headers)

    assert result.status_code == status
    assert result.headers["content-type"] == "application/problem+json"
    assert result.json["title"] == title
    assert result.json["status"] == status


def test_titles_are_sentence_case_phrases():
    """Every title is the status phrase with only its first letter upper case."""
    assert problem_title(405) == "Method not allowed"
    assert problem_title(413) == "Payload too large"
    assert problem_title(503) == "Service unavailable"
    assert problem_title(599) == "Error"


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/health", {}),
        ("/api/v1/info", {}),
        ("/api/v1/metrics/overview", READ),
        ("/api/v1/energy/repo/o/r/w/j", READ),
        ("/swagger/openapi.json", {}),
    ],
)
def test_head_answers_like_get_without_a_body(client, path, headers):
    """HEAD on a GET route gives GET's status, type and length, and no body."""
    got = client.simulate_get(path, headers=headers)
    head = client.simulate_head(path, headers=headers)

    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))


def test_head_needs_the_same_credential_as_get(client):
    """HEAD on a protected route without a token is 401, not an open door."""
    result = client.simulate_head("/api/v1/metrics/overview")

    assert result.status_code == 401
    assert result.headers["www-authenticate"] == "Bearer"


def test_head_on_a_post_only_route_is_405(client):
    """Only GET routes answer HEAD."""
    result = client.simulate_head("/api/v1/token")

    assert result.status_code == 405


def test_a_nan_in_an_answer_is_a_500_not_invalid_json():
    """A responder that lets NaN or infinity through fails loudly."""
    route = Route(
        "GET",
        "/figures",
        lambda state, req, params: Reply(body={"carbon_g": math.inf}),
        Tier.OPEN,
        "figures",
        "Figures",
        "test",
    )
    state = State(settings=None, engine=None, signer=None, version="0", openapi={})
    app = falcon.App()
    install_error_handlers(app)
    for path, resource in _resources((route,), state).items():
        app.add_route(path, resource)

    result = falcon.testing.TestClient(app).simulate_get("/figures")

    assert result.status_code == 500
    assert "Infinity" not in result.text
    assert result.json["title"] == "Internal server error"
