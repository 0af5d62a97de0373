"""The example files the docs use are valid and do what the docs say."""

from __future__ import annotations

import json
from pathlib import Path

from cisizer.core import RunStatus, parse_push

DOCS = Path(__file__).parents[2] / "docs"
SUMMARY = DOCS / "examples" / "summary.json"


def test_example_summary_is_a_valid_push():
    """docs/examples/summary.json parses as the push of my-org/my-repo ci.yml build."""
    push = parse_push(json.loads(SUMMARY.read_text()))

    assert push.organization == "my-org"
    assert push.repository == "my-org/my-repo"
    assert (push.workflow, push.job, push.run_id) == ("ci.yml", "build", "run-123")
    assert push.status is RunStatus.SUCCESS
    assert push.payload.containers[0].limits is not None
    assert push.payload.containers[0].limits.cpu_cores == 4.0


def test_server_guide_pushes_the_example_summary():
    """The curl session in docs/server.md sends the shipped example file."""
    guide = (DOCS / "server.md").read_text()

    assert "-d @docs/examples/summary.json" in guide
    assert '"repository":"my-repo","workflow":"ci.yml","job":"build"' in guide


def test_example_summary_is_stored_then_repeated(live_server, push):
    """Pushing the example stores it (201), and again answers the same run (200)."""
    body = json.loads(SUMMARY.read_text())

    first = push(body)
    again = push(body)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["payload"]["containers"][0]["name"] == "runner"
