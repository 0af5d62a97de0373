"""The docs harness holds to its conventions: what fails, fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def _blocks(harness: Any, tmp_path: Path, text: str) -> list[Any]:
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return list(harness.read_blocks(page))


def test_a_skip_carries_its_reason(harness: Any, tmp_path: Path) -> None:
    """The line before a fence skips it with the reason given."""
    text = (
        "<!-- docs-test: skip: needs a cluster -->\n```console\nkubectl get pods\n```\n"
    )
    (block,) = _blocks(harness, tmp_path, text)
    assert (block.language, block.skip, block.problem) == (
        "console",
        "needs a cluster",
        None,
    )
    assert block.line == 2


@pytest.mark.parametrize(
    "directive",
    [
        "<!-- docs-test: skip -->",
        "<!-- docs-test: skip:   -->",
        "<!-- docs-test: serve -->",
        "<!-- docs-test skip: no colon -->",
    ],
)
def test_a_bad_directive_is_a_problem(
    harness: Any, tmp_path: Path, directive: str
) -> None:
    """A skip without a reason, or an unknown directive, is reported."""
    (block,) = _blocks(harness, tmp_path, f"{directive}\n```sh\ntrue\n```\n")
    assert block.skip is None
    assert block.problem is not None


def test_transcripts_split_commands_and_output(harness: Any) -> None:
    """Continuation lines belong to their command; the rest is its output."""
    text = "$ echo a \\\n    b\na b\n\n$ true\n"
    commands = harness.transcript_commands(text)
    assert [(c.text, c.expected) for c in commands] == [
        ("echo a \\\n    b", ("a b",)),
        ("true", ()),
    ]


@pytest.mark.parametrize(
    ("expected", "actual", "matches"),
    [
        (
            ("expires at 2026-02-06T16:30:00+00:00",),
            "expires at 2027-01-01T00:00:00Z",
            True,
        ),
        (("delivered as run ...",), "delivered as run 42", True),
        (("first", "...", "last"), "first\nx\ny\nlast\n", True),
        (("first", "...", "last"), "first\nlast", True),
        (("960m",), "970m", False),
        (("a",), "a\nb", False),
        (('{"a": 1, "b": "..."}',), '{"b": [1, 2], "a": 1}', True),
        (('{"a": 1}',), '{"a": 1.5}', False),
        (('{"a": 1}',), '{"a": 1, "c": 2}', False),
    ],
)
def test_output_matching(
    harness: Any, expected: tuple[str, ...], actual: str, matches: bool
) -> None:
    """Wildcards, timestamps and JSON compare as documented, and no looser."""
    assert harness.output_matches(expected, actual) is matches


@pytest.mark.parametrize(
    ("text", "kind", "problem"),
    [
        (
            "- run: cisizer-agent start\n- run: make\n"
            "- if: always()\n  run: cisizer-agent stop\n",
            "step list",
            None,
        ),
        (
            "- run: cisizer-agent start\n- run: cisizer-agent stop\n",
            "step list",
            "if: always()",
        ),
        (
            "jobs:\n  build:\n    steps:\n      - run: make\n",
            "workflow",
            "calls neither",
        ),
        (
            "jobs:\n  build:\n    steps:\n      - run: cisizer-agent run -- make\n",
            "workflow",
            None,
        ),
        (
            "before_script: [cisizer-agent start]\n"
            'after_script: [cisizer-agent stop --status "$CI_JOB_STATUS"]\n',
            "GitLab CI",
            None,
        ),
        (
            "build:\n  before_script: [cisizer-agent start]\n  script: [make]\n",
            "GitLab CI",
            "after_script",
        ),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: r}\n"
            "spec:\n  template:\n    spec:\n      containers:\n"
            "        - name: receiver\n          image: x\n",
            "Kubernetes manifest",
            "container receiver has no resources",
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {}\n",
            "Kubernetes manifest",
            "metadata.name",
        ),
        ("issuer: https://dex\nstaticClients: []\n", "Dex config", None),
        ("runner:\n  capacity: 1\n", "unknown", "unclassified"),
    ],
)
def test_yaml_checks(harness: Any, text: str, kind: str, problem: str | None) -> None:
    """Each kind of YAML passes when complete and names what it lacks."""
    found, problems = harness.check_yaml(text)
    assert found == kind
    if problem is None:
        assert problems == []
    else:
        assert any(problem in line for line in problems), problems


def _block(harness: Any, language: str, text: str) -> Any:
    return harness.Block(harness.ROOT / "docs" / "example.md", 1, language, text)


def test_a_refused_request_fails_the_block(harness: Any, check_doc_block: Any) -> None:
    """curl runs with --fail-with-body, so a 401 is a failure, body shown."""
    block = _block(
        harness, "console", "curl -s http://localhost:8080/api/v1/debug/metrics\n"
    )
    with pytest.raises(AssertionError, match="a Bearer token is required"):
        check_doc_block(block)


def test_a_transcript_with_other_output_fails(
    harness: Any, check_doc_block: Any
) -> None:
    """The shown output is compared with what the command prints."""
    check_doc_block(_block(harness, "console", "$ echo 960m\n960m\n"))
    with pytest.raises(AssertionError, match="--- got"):
        check_doc_block(_block(harness, "console", "$ echo 970m\n960m\n"))


def test_a_served_receiver_answers_at_localhost_8080(
    harness: Any, check_doc_block: Any
) -> None:
    """After `cisizer-server serve`, localhost:8080 is that receiver."""
    text = (
        'export CISIZER_READ_TOKEN="$(openssl rand -hex 24)"\n'
        "cisizer-server serve --bind 0.0.0.0:8080\n"
        'curl -s -H "Authorization: Bearer $CISIZER_READ_TOKEN" \\\n'
        "  http://localhost:8080/api/v1/debug/metrics | grep -qx '\\[\\]'\n"
    )
    check_doc_block(_block(harness, "console", text))


def test_python_runs_top_level_await(harness: Any, check_doc_block: Any) -> None:
    """A snippet with async with and await runs under asyncio.run."""
    text = (
        "from cisizer.client import AsyncClient\n\n"
        "async with AsyncClient() as client:\n"
        '    sizing = await client.sizing("my-org", "my-repo", "ci.yml", "build")\n'
        "assert sizing.meta.runs_analyzed == 5, sizing\n"
    )
    check_doc_block(_block(harness, "python", text))


def test_a_fence_inside_a_list_item_is_read(harness: Any, tmp_path: Path) -> None:
    """An indented fence is a block too, its indentation taken off."""
    text = "1. Install:\n\n   ```sh\n   pip install x\n   ```\n"
    (block,) = _blocks(harness, tmp_path, text)
    assert (block.language, block.text, block.line) == ("sh", "pip install x\n", 3)
