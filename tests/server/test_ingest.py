"""Ingest: POST /api/v1/metrics stores each run once and refuses bad input whole."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest

JOB_RUNS = "/api/v1/metrics/repo/my-org/my-repo/ci.yml/build"


def test_first_push_is_created_and_returned_qualified(push, make_push):
    """A new run answers 201 with an id, received_at and the full repository name."""
    response = push(make_push())

    assert response.status_code == 201
    run = response.json()
    assert run["id"] >= 1
    assert run["repository"] == "my-org/my-repo"
    assert run["received_at"].endswith("Z")
    assert run["payload"]["containers"][0]["cpu_cores"]["p95"] == 0.8
    assert run["status"] == "success"
    assert run["runner"] == "runner-7"


def test_repeated_push_answers_the_first_row(push, make_push, http, read):
    """A second push with the same natural key answers 200 with the stored run."""
    first = push(make_push(status="success")).json()

    again = push(make_push(status="failure", runner="other"))

    assert again.status_code == 200
    assert again.json() == first
    assert len(http.get(JOB_RUNS, headers=read).json()) == 1


def test_new_attempt_is_a_new_run(push, make_push):
    """A different run_attempt is a different natural key."""
    push(make_push())

    response = push(make_push(run_attempt=2))

    assert response.status_code == 201
    assert response.json()["run_attempt"] == 2


def test_defaults_fill_optional_fields(push, make_push):
    """Missing run_attempt, runner and status default to 1, null and unknown."""
    body = make_push()
    for name in ("run_attempt", "runner", "status"):
        del body[name]

    run = push(body).json()

    assert (run["run_attempt"], run["runner"], run["status"]) == (1, None, "unknown")


def test_push_token_of_another_job_is_forbidden(live_server, http, make_push, read):
    """A push token scoped to another job gets 403 and stores nothing."""
    token = live_server.push_token("my-org", "my-repo", "ci.yml", "test")

    response = http.post(
        "/api/v1/metrics",
        json=make_push(),
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert http.get("/api/v1/debug/metrics", headers=read).json() == []


def test_full_repository_of_another_owner_is_rejected(push, make_push):
    """A repository full name owned by another organization is a 400."""
    body = make_push(repository="other-org/my-repo")

    response = push(body)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("repository: ")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["payload"]["containers"][0]["cpu_cores"].update(peak=-1), "peak"),
        (lambda b: b.update(surprise=1), "surprise"),
        (lambda b: b["payload"].update(end_time="2026-02-06T14:00:00Z"), "end_time"),
        (lambda b: b["payload"].update(start_time="yesterday"), "start_time"),
        (lambda b: b.update(status="crashed"), "status"),
        (lambda b: b.update(workflow=""), "workflow"),
        (lambda b: b.update(job="x" * 256), "job"),
        (lambda b: b.update(run_attempt="1"), "run_attempt"),
        (lambda b: b["payload"].update(containers="runner"), "containers"),
    ],
    ids=[
        "negative",
        "unknown-field",
        "end-before-start",
        "bad-time",
        "bad-status",
        "empty-name",
        "long-name",
        "string-int",
        "not-array",
    ],
)
def test_bad_push_is_400_naming_the_field(
    live_server, http, make_push, read, mutate, field
):
    """Each kind of bad push answers problem+json 400 naming the field."""
    body = make_push()
    mutate(body)
    token = live_server.push_token("my-org", "my-repo", "ci.yml", "build")

    response = http.post(
        "/api/v1/metrics", json=body, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code in (400, 403)
    problem = response.json()
    assert problem["status"] == response.status_code
    if response.status_code == 400:
        assert field in problem["detail"]
    assert http.get("/api/v1/debug/metrics", headers=read).json() == []


def _send_raw(
    live_server: Any, content: bytes, content_type: str = "application/json"
) -> Any:
    import httpx

    token = live_server.push_token("my-org", "my-repo", "ci.yml", "build")
    return httpx.post(
        f"{live_server.url}/api/v1/metrics",
        content=content,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"{", "not valid JSON"),
        (b"", "JSON object is required"),
        (b"\xff\xfe", "UTF-8"),
        (b"[1, 2]", ""),
        (b"null", ""),
        (b"[" * 100_000 + b"]" * 100_000, "body"),
    ],
    ids=["truncated", "empty", "not-utf8", "array", "null", "deep"],
)
def test_malformed_body_is_400(live_server, content, detail):
    """Bodies that are no JSON object answer 400 without a 500."""
    response = _send_raw(live_server, content)

    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_nan_is_rejected(live_server, make_push):
    """NaN and Infinity are not JSON numbers and answer 400."""
    text = json.dumps(make_push()).replace('"peak": 0.83', '"peak": NaN')

    response = _send_raw(live_server, text.encode())

    assert response.status_code == 400
    assert "NaN" in response.json()["detail"]


def test_huge_numbers_are_rejected_not_stored(live_server, make_push, http, read):
    """Figures too large to store answer 400 instead of failing in the database."""
    body = make_push()
    body["payload"]["containers"][0]["cpu_cores"]["peak"] = 1e300
    body["payload"]["containers"][0]["limits"] = None

    response = _send_raw(live_server, json.dumps(body).encode())

    assert response.status_code == 400
    assert "payload" in response.json()["detail"]
    assert http.get("/api/v1/debug/metrics", headers=read).json() == []


def test_wrong_content_type_is_415(live_server, make_push):
    """A body sent as text/plain answers 415 naming Content-Type."""
    response = _send_raw(live_server, json.dumps(make_push()).encode(), "text/plain")

    assert response.status_code == 415
    assert "Content-Type" in response.json()["detail"]


def test_json_with_charset_is_accepted(live_server, make_push):
    """application/json with a charset parameter is JSON."""
    content = json.dumps(make_push()).encode()

    response = _send_raw(live_server, content, "application/json; charset=utf-8")

    assert response.status_code == 201


def test_oversized_body_is_413_before_it_is_read(live_server):
    """A declared Content-Length over the limit answers 413 at once."""
    parts = urlsplit(live_server.url)
    token = live_server.push_token("my-org", "my-repo", "ci.yml", "build")
    head = (
        "POST /api/v1/metrics HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 50000000\r\n\r\n"
    )

    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head.encode() + b'{"organization": ')
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk

    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 413 " in status_line
    assert b"larger than the limit of 1048576 bytes" in rest


@pytest.mark.parametrize(
    ("old", "new", "detail"),
    [
        ('"run-1"', '"run-\\ud800"', "surrogate"),
        ('"runner"', '"\\udfff"', "surrogate"),
        ('"run_attempt": 1', '"run_attempt": ' + "9" * 5000, "number too long"),
    ],
    ids=["surrogate-name", "surrogate-container", "long-integer"],
)
def test_text_the_database_cannot_hold_is_400(
    live_server, make_push, http, read, old, new, detail
):
    """Lone surrogate escapes and endless integers answer 400, not a server error."""
    text = json.dumps(make_push()).replace(old, new, 1)
    assert new in text

    response = _send_raw(live_server, text.encode())

    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert http.get("/api/v1/debug/metrics", headers=read).json() == []


def test_paired_surrogate_escapes_are_text(live_server, make_push):
    """A correctly paired escape (an emoji) is ordinary text and is stored."""
    text = json.dumps(make_push()).replace('"run-1"', '"run-\\ud83d\\ude80"', 1)

    response = _send_raw(live_server, text.encode())

    assert response.status_code == 201
    assert response.json()["run_id"] == "run-\U0001f680"
