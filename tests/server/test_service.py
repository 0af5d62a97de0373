"""Service routes, unknown routes and methods, request ids and the request log."""

from __future__ import annotations

import logging

import httpx


def test_health_is_ok(http):
    """GET /health answers ok without credentials."""
    response = http.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_info_describes_the_receiver(http):
    """GET /api/v1/info names the version and auth mode."""
    from cisizer.server import __version__

    assert http.get("/api/v1/info").json() == {
        "version": __version__,
        "auth_mode": "none",
        "ci_provider": None,
        "forgejo_base_url": None,
        "logout_url": None,
    }


def test_unknown_route_is_a_problem_404(http):
    """An unknown path answers problem+json 404."""
    response = http.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Not found"


def test_unknown_method_is_405(http):
    """A method the route does not serve answers 405 with Allow."""
    response = http.post("/health")

    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
    assert response.json()["status"] == 405


def test_trailing_slash_is_the_same_route(http):
    """A trailing slash does not change the route."""
    assert http.get("/api/v1/info/").status_code == 200


def test_request_id_is_echoed_or_made(http):
    """A sane X-Request-ID is echoed; a missing or odd one is replaced."""
    given = http.get("/health", headers={"X-Request-ID": "abc-123"})
    odd = http.get("/health", headers={"X-Request-ID": "no spaces please"})
    made = http.get("/health")

    assert given.headers["x-request-id"] == "abc-123"
    assert odd.headers["x-request-id"] != "no spaces please"
    assert len(made.headers["x-request-id"]) == 32


def test_one_log_line_per_request_without_tokens(live_server, http, read, caplog):
    """Each request logs method, template, status, duration and id, never a token."""
    caplog.set_level(logging.INFO, logger="cisizer.server.requests")

    http.get(
        "/api/v1/metrics/repo/my-org/my-repo/ci.yml/build",
        headers={**read, "X-Request-ID": "req-1"},
    )
    http.get("/api/v1/debug/metrics", headers={"Authorization": "Bearer sekret"})

    lines = [r.getMessage() for r in caplog.records if r.name.endswith("requests")]
    assert len(lines) == 2
    assert lines[0].startswith(
        "method=GET path=/api/v1/metrics/repo/{org}/{repo}/{workflow}/{job} "
        "status=200 duration_ms="
    )
    assert lines[0].endswith("request_id=req-1")
    assert "status=401" in lines[1]
    text = "\n".join(lines)
    assert live_server.read_token not in text
    assert "sekret" not in text


def test_health_reports_an_unreachable_database(tmp_path, serve_app):
    """Health answers 503 when the database cannot be opened."""
    from cisizer.server import Settings, create_app

    settings = Settings(
        read_token="r" * 32,
        hmac_keys=("k" * 32,),
        db_url=f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}",
        migrate=False,
    )
    url = serve_app(create_app(settings))

    response = httpx.get(f"{url}/health")

    assert response.status_code == 503
    assert response.json()["detail"] == "database: not reachable"


def test_missing_table_is_logged_with_its_reason(tmp_path, serve_app, caplog):
    """A query on a database without the schema answers 503 and logs why."""
    from cisizer.server import Settings, create_app

    read_token = "r" * 32
    settings = Settings(
        read_token=read_token,
        hmac_keys=("k" * 32,),
        db_url=f"sqlite:///{tmp_path / 'empty.db'}",
        migrate=False,
    )
    url = serve_app(create_app(settings))

    with caplog.at_level(logging.WARNING, logger="cisizer.server"):
        response = httpx.get(
            f"{url}/api/v1/debug/metrics",
            headers={"Authorization": f"Bearer {read_token}"},
        )

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["detail"] == (
        "database: schema missing or not migrated; run cisizer-server migrate"
    )
    messages = [record.getMessage() for record in caplog.records]
    assert "database unavailable: OperationalError: no such table: runs" in messages
    assert read_token not in caplog.text


def test_missing_schema_is_503_on_either_database(blank_db_url):
    """A query on a database never migrated answers 503 saying the schema is missing."""
    import falcon.testing

    from cisizer.server import Settings, create_app

    read_token = "r" * 32
    settings = Settings(
        read_token=read_token,
        hmac_keys=("k" * 32,),
        db_url=blank_db_url,
        migrate=False,
    )
    client = falcon.testing.TestClient(create_app(settings))

    response = client.simulate_get(
        "/api/v1/debug/metrics", headers={"Authorization": f"Bearer {read_token}"}
    )

    assert response.status_code == 503
    assert response.json["detail"] == (
        "database: schema missing or not migrated; run cisizer-server migrate"
    )
