"""Push tokens: POST /api/v1/token issues a token that ingest accepts for its job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cisizer.core import format_datetime

REQUEST = {
    "organization": "my-org",
    "repository": "my-repo",
    "workflow": "ci.yml",
    "job": "build",
}


def test_token_is_scoped_and_expires_after_the_ttl(http, read):
    """The token names its job (repository qualified) and expires in two hours."""
    before = datetime.now(UTC)

    response = http.post("/api/v1/token", json=REQUEST, headers=read)

    assert response.status_code == 200
    token = response.json()
    assert token["repository"] == "my-org/my-repo"
    assert (token["workflow"], token["job"]) == ("ci.yml", "build")
    expected = before + timedelta(hours=2)
    assert format_datetime(expected - timedelta(seconds=5)) <= token["expires_at"]
    assert token["expires_at"] <= format_datetime(expected + timedelta(seconds=5))


def test_issued_token_pushes_its_job(http, read, make_push):
    """A token for a bare repository name pushes runs of the qualified name."""
    token = http.post("/api/v1/token", json=REQUEST, headers=read).json()["token"]

    response = http.post(
        "/api/v1/metrics",
        json=make_push(repository="my-org/my-repo"),
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"job": None}, "job"),
        ({"repository": "other/my-repo"}, "repository"),
        ({"workflow": "a\nb"}, "workflow"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_token_request_is_400(http, read, change, field):
    """A token request with a bad or missing field answers 400 naming it."""
    body = {**REQUEST, **change}
    body = {key: value for key, value in body.items() if value is not None}

    response = http.post("/api/v1/token", json=body, headers=read)

    assert response.status_code == 400
    assert field in response.json()["detail"]
