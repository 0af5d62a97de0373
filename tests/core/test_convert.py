"""Tests of the converter and RFC 3339 date-times."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cisizer.core import (
    CpuPercentile,
    Run,
    RunStatus,
    Sizing,
    SizingParams,
    Stats,
    ValidationError,
    converter,
    format_datetime,
    parse_datetime,
    parse_push,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (
            datetime(2026, 2, 6, 14, 30, 2, 185000, tzinfo=UTC),
            "2026-02-06T14:30:02.185Z",
        ),
        (datetime(2026, 2, 6, 14, 30, 2, tzinfo=UTC), "2026-02-06T14:30:02Z"),
        (datetime(2026, 2, 6, 14, 30, 2, 5, tzinfo=UTC), "2026-02-06T14:30:02.000005Z"),
        (
            datetime(2026, 2, 6, 16, 30, tzinfo=timezone(timedelta(hours=2))),
            "2026-02-06T14:30:00Z",
        ),
        (datetime(2026, 2, 6, 14, 30), "2026-02-06T14:30:00Z"),
    ],
)
def test_format_datetime(value: datetime, text: str) -> None:
    """Date-times render in UTC with a Z, keeping exact fractions."""
    assert format_datetime(value) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (
            "2026-02-06T14:30:02.185Z",
            datetime(2026, 2, 6, 14, 30, 2, 185000, tzinfo=UTC),
        ),
        ("2026-02-06t14:30:02z", datetime(2026, 2, 6, 14, 30, 2, tzinfo=UTC)),
        ("2026-02-06 16:30:02+02:00", datetime(2026, 2, 6, 14, 30, 2, tzinfo=UTC)),
        (
            "2026-02-06T14:30:02.123456789Z",
            datetime(2026, 2, 6, 14, 30, 2, 123456, tzinfo=UTC),
        ),
        ("2026-02-06T09:30:02-05:00", datetime(2026, 2, 6, 14, 30, 2, tzinfo=UTC)),
    ],
)
def test_parse_datetime(text: str, value: datetime) -> None:
    """RFC 3339 text with Z or an offset parses to the same UTC instant."""
    parsed = parse_datetime(text)

    assert parsed == value
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-06T14:30:02",
        "2026-02-06",
        "yesterday",
        "2026-02-30T00:00:00Z",
        "9999-12-31T23:59:59-01:00",
        "",
        5,
    ],
)
def test_parse_datetime_rejects(text: object) -> None:
    """Text without a zone, impossible dates and non-strings are refused."""
    with pytest.raises(ValidationError) as caught:
        parse_datetime(text, "from")

    assert caught.value.problems[0].path == "from"


@given(st.datetimes(timezones=st.just(UTC)))
def test_datetime_round_trip(value: datetime) -> None:
    """Formatting then parsing gives back the same instant."""
    assert parse_datetime(format_datetime(value)) == value


def test_unstructure_push_is_json_ready(push_body: dict[str, Any]) -> None:
    """A parsed push unstructures to its body, absent statistics as null."""
    push = parse_push(push_body)

    data = converter.unstructure(push)

    cpu_total = {"peak": 99.1, "avg": 60.2, "p50": 58.0, "p75": None, "p95": 97.3}
    push_body["payload"]["cpu_total_percent"] = {**cpu_total, "p99": None}
    memory = push_body["payload"]["containers"][0]["memory_bytes"]
    memory.update(p75=None, p99=None)
    assert data == push_body
    assert json.loads(json.dumps(data)) == data


def test_structure_run_from_json(push_body: dict[str, object]) -> None:
    """A stored run read from JSON becomes a Run with aware times and enums."""
    data = {"id": 1, "received_at": "2026-02-06T14:30:23.056Z", **push_body}

    run = converter.structure(data, Run)

    assert run.id == 1
    assert run.received_at == datetime(2026, 2, 6, 14, 30, 23, 56000, tzinfo=UTC)
    assert run.status is RunStatus.SUCCESS
    assert run.payload.containers[0].cpu_cores.p95 == 2.004
    assert run.payload.containers[0].limits is not None
    assert run.payload.containers[0].limits.memory_bytes == 4294967296
    assert converter.unstructure(run)["received_at"] == "2026-02-06T14:30:23.056Z"


def test_structure_sizing_round_trip() -> None:
    """A sizing answer survives unstructure and structure unchanged."""
    data = {
        "containers": [
            {
                "name": "runner",
                "cpu": {
                    "request": "960m",
                    "limit": "1",
                    "request_millicores": 960,
                    "limit_millicores": 1000,
                    "enforced": False,
                },
                "memory": {
                    "request": "1Gi",
                    "limit": "1Gi",
                    "request_bytes": 1073741824,
                    "limit_bytes": 1073741824,
                    "enforced": True,
                },
            }
        ],
        "total": {
            "cpu": {
                "request": "960m",
                "limit": "1",
                "request_millicores": 960,
                "limit_millicores": 1000,
            },
            "memory": {
                "request": "1Gi",
                "limit": "1Gi",
                "request_bytes": 1073741824,
                "limit_bytes": 1073741824,
            },
        },
        "meta": {
            "runs_analyzed": 1,
            "buffer_percent": 20,
            "cpu_percentile": "p95",
            "cpu_sizing_mode": "observe",
            "memory_qos": "guaranteed",
            "confidence": "low",
            "oom_runs": 0,
            "overrides": ["org"],
        },
    }

    sizing = converter.structure(data, Sizing)

    assert sizing.meta.overrides == ("org",)
    assert converter.unstructure(sizing) == data


def test_enums_unstructure_to_plain_strings() -> None:
    """Enum members become their plain string values, not enum objects."""
    data = converter.unstructure(SizingParams(cpu_percentile=CpuPercentile.P99))

    assert data["cpu_percentile"] == "p99"
    assert type(data["cpu_percentile"]) is str
    assert type(converter.unstructure(RunStatus.FAILURE)) is str


def test_whole_floats_unstructure_as_integers(push_body: dict[str, Any]) -> None:
    """Memory pushed as integers comes back as integers in the JSON text."""
    data = converter.unstructure(parse_push(push_body))
    text = json.dumps(data)

    container = data["payload"]["containers"][0]
    assert container["memory_bytes"]["peak"] == 18567168
    assert type(container["memory_bytes"]["peak"]) is int
    assert '"peak": 18567168,' in text
    assert type(container["limits"]["cpu_cores"]) is int
    assert type(data["payload"]["duration_seconds"]) is int
    assert container["cpu_cores"]["peak"] == 2.007
    assert type(container["cpu_cores"]["peak"]) is float


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (18567168.0, "18567168"),
        (-0.0, "0"),
        (0.5, "0.5"),
        (2.0**53, "9007199254740992"),
    ],
)
def test_whole_float_text(value: float, expected: str) -> None:
    """Whole floats up to 2**53 become integers; fractions stay as they are."""
    assert json.dumps(converter.unstructure(value)) == expected


def test_huge_whole_float_stays_a_float() -> None:
    """A whole float beyond 2**53 stays a float instead of a long digit string."""
    assert converter.unstructure(1e300) == 1e300
    assert type(converter.unstructure(2.0**54)) is float


def test_integers_structure_into_float_fields(push_body: dict[str, Any]) -> None:
    """Stored runs whose floats came back as integers structure to floats again."""
    data = converter.unstructure(parse_push(push_body))
    data = {
        "id": 7,
        "received_at": "2026-02-06T14:30:23Z",
        **json.loads(json.dumps(data)),
    }

    run = converter.structure(data, Run)

    peak = run.payload.containers[0].memory_bytes.peak
    assert peak == 18567168.0
    assert type(peak) is float
    assert run.payload.duration_seconds == 20.0
    assert converter.unstructure(run)["payload"] == data["payload"]


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_round_trip(value: float) -> None:
    """Every finite float survives unstructure, JSON text and float()."""
    assert float(json.loads(json.dumps(converter.unstructure(value)))) == value


def test_ints_in_float_fields_unstructure_unchanged() -> None:
    """A model built in code with an int where a float is declared keeps the int."""
    stats = Stats(peak=18567168, avg=2.5)  # type: ignore[arg-type]

    data = converter.unstructure(stats)

    assert (data["peak"], data["avg"]) == (18567168, 2.5)
    assert type(data["peak"]) is int
