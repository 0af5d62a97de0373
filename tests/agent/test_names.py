"""Names the agent makes fit the receiver's rules before it pushes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cisizer.agent import Identity, build_push
from cisizer.agent._names import clean_name, name_problem
from cisizer.core import (
    ContainerSummary,
    ProcessSummary,
    Stats,
    Summary,
    check_name,
    parse_push,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ev\nil", "ev?il"),
        ("zero\u200bwidth", "zero?width"),
        ("  \u202espaced\t ", "?spaced?"),
        ("x" * 300, "x" * 255),
        ("", "?"),
        ("   ", "?"),
        ("\u200d", "?"),
        ("fam \U0001f468\u200d\U0001f469", "fam \U0001f468\u200d\U0001f469"),
        (
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        ),
        ("co\u00adop", "co\u00adop"),
        ("ns/app", "ns/app"),
    ],
)
def test_clean_name_replaces_hidden_characters_and_bounds_length(
    raw: str, clean: str
) -> None:
    """Control and invisible characters become '?', joiners and soft hyphens stay."""
    assert clean_name(raw) == clean
    assert name_problem(clean_name(raw), allow_slash=True) is None


def test_push_with_odd_process_and_container_names_is_accepted() -> None:
    """A process renamed to hold a newline is pushed as a name the core accepts."""
    summary = Summary(
        start_time=datetime(2026, 2, 6, 14, 30, 2, tzinfo=UTC),
        end_time=datetime(2026, 2, 6, 14, 30, 22, tzinfo=UTC),
        duration_seconds=20.0,
        sample_count=21,
        containers=(
            ContainerSummary(
                name="svc\u200b",
                cpu_cores=Stats(peak=1.5, avg=1.0),
                memory_bytes=Stats(peak=1048576.0, avg=524288.0),
            ),
        ),
        processes=(
            ProcessSummary(
                name="ev\nil",
                container="svc\u200b",
                peak_cpu_percent=90.0,
                avg_cpu_percent=40.0,
                peak_memory_bytes=4096,
            ),
            ProcessSummary(
                name="\x00" * 2 + "y" * 400,
                container=None,
                peak_cpu_percent=10.0,
                avg_cpu_percent=5.0,
                peak_memory_bytes=1024,
            ),
        ),
    )
    identity = Identity("acme", "acme/widgets", "ci.yml", "build", "42")

    body = build_push(identity, "success", summary)
    push = parse_push(body)

    assert push.payload.containers[0].name == "svc?"
    assert push.payload.processes is not None
    first, second = push.payload.processes
    assert (first.name, first.container) == ("ev?il", "svc?")
    assert second.name == "??" + "y" * 253
    assert second.container is None


@given(st.text(max_size=300))
def test_clean_names_are_names_the_core_accepts(raw: str) -> None:
    """Whatever a process calls itself, its cleaned name passes the core's check."""
    cleaned = clean_name(raw)

    assert check_name(cleaned, "name", allow_slash=True) == cleaned
    assert name_problem(cleaned, allow_slash=True) is None


@given(st.text(max_size=260))
def test_name_rules_agree_with_the_core(raw: str) -> None:
    """The agent's copy of the name rules accepts exactly what the core accepts."""
    try:
        check_name(raw, "name", allow_slash=True)
    except ValueError:
        core_accepts = False
    else:
        core_accepts = True

    assert (name_problem(raw, allow_slash=True) is None) == core_accepts
