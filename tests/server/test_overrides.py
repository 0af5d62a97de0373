"""Sizing overrides: list, PUT and DELETE at org, repo, workflow and job scope."""

from __future__ import annotations

import pytest

BASE = "/api/v1/sizing/overrides"
SCOPES = [
    ("my-org", {"organization": "my-org"}),
    ("my-org/my-repo", {"organization": "my-org", "repository": "my-org/my-repo"}),
    (
        "my-org/my-repo/ci.yml",
        {
            "organization": "my-org",
            "repository": "my-org/my-repo",
            "workflow": "ci.yml",
        },
    ),
    (
        "my-org/my-repo/ci.yml/build",
        {
            "organization": "my-org",
            "repository": "my-org/my-repo",
            "workflow": "ci.yml",
            "job": "build",
        },
    ),
]


@pytest.mark.parametrize(("path", "scope"), SCOPES, ids=["org", "repo", "wf", "job"])
def test_put_creates_then_replaces(http, read, path, scope):
    """The first PUT answers 201, the next 200 with the new values."""
    created = http.put(f"{BASE}/{path}", json={"runs": 10}, headers=read)
    replaced = http.put(
        f"{BASE}/{path}", json={"buffer_percent": 30, "min_memory": "1Gi"}, headers=read
    )

    assert created.status_code == 201
    assert replaced.status_code == 200
    body = replaced.json()
    expected_scope = {"repository": None, "workflow": None, "job": None, **scope}
    assert body["scope"] == expected_scope
    assert body["override"]["runs"] is None
    assert body["override"]["buffer_percent"] == 30
    assert body["override"]["min_memory"] == "1Gi"
    assert body["updated_at"].endswith("Z")


@pytest.mark.parametrize(("path", "scope"), SCOPES, ids=["org", "repo", "wf", "job"])
def test_delete_removes_once(http, read, path, scope):
    """DELETE answers 204 for a stored override and 404 after that."""
    http.put(f"{BASE}/{path}", json={"runs": 10}, headers=read)

    first = http.delete(f"{BASE}/{path}", headers=read)
    second = http.delete(f"{BASE}/{path}", headers=read)

    assert first.status_code == 204
    assert first.content == b""
    assert second.status_code == 404
    assert http.get(BASE, headers=read).json() == []


def test_list_orders_wider_scopes_first(http, read):
    """The list holds every override, each org's wider scopes before narrower."""
    for path, _ in reversed(SCOPES):
        http.put(f"{BASE}/{path}", json={"runs": 3}, headers=read)
    http.put(f"{BASE}/a-org", json={"runs": 4}, headers=read)

    listed = http.get(BASE, headers=read).json()
    page = http.get(BASE, params={"limit": 2, "offset": 1}, headers=read).json()

    levels = [
        (item["scope"]["organization"], item["scope"]["job"], item["override"]["runs"])
        for item in listed
    ]
    assert levels[0] == ("a-org", None, 4)
    assert [item["scope"] for item in listed[1:]] == [
        {"repository": None, "workflow": None, "job": None, **scope}
        for _, scope in SCOPES
    ]
    assert [item["scope"]["organization"] for item in page] == ["my-org", "my-org"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"runs": 0}, "runs"),
        ({"buffer_percent": 1001}, "buffer_percent"),
        ({"cpu_percentile": "p42"}, "cpu_percentile"),
        ({"max_cpu": "lots"}, "max_cpu"),
        ({"min_memory": "2Gi", "max_memory": "1Gi"}, "memory"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_override_is_400_and_not_stored(http, read, body, field):
    """An invalid override answers 400 naming the field and stores nothing."""
    response = http.put(f"{BASE}/my-org", json=body, headers=read)

    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert http.get(BASE, headers=read).json() == []


def test_override_needs_a_json_body(http, read):
    """A PUT with a form body answers 415."""
    response = http.put(f"{BASE}/my-org", data={"runs": "3"}, headers=read)

    assert response.status_code == 415
