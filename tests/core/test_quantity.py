"""Tests of Kubernetes quantity parsing and formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cisizer.core import (
    QuantityError,
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
    parse_quantity,
)

MI = 1024**2
GI = 1024**3


@pytest.mark.parametrize(
    ("millicores", "text"),
    [(960, "960m"), (1000, "1"), (1500, "1500m"), (0, "0"), (10, "10m"), (4000, "4")],
)
def test_format_cpu(millicores: int, text: str) -> None:
    """Whole cores print as integers, anything else in millicores."""
    assert format_cpu(millicores) == text


@pytest.mark.parametrize(
    ("n_bytes", "text"),
    [
        (GI, "1Gi"),
        (960 * MI, "960Mi"),
        (1408 * MI, "1408Mi"),
        (1536 * MI, "1536Mi"),
        (1024 * GI, "1Ti"),
        (1024, "1Ki"),
        (1000, "1000"),
        (1023, "1023"),
        (0, "0"),
        (1024**6, "1Ei"),
    ],
)
def test_format_memory(n_bytes: int, text: str) -> None:
    """Bytes print in the largest exact binary unit, else as a plain number."""
    assert format_memory(n_bytes) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.5", Decimal("1.5")),
        ("1500m", Decimal("1.5")),
        ("2Gi", Decimal(2 * GI)),
        ("500M", Decimal(500_000_000)),
        ("1e3", Decimal(1000)),
        ("1E3", Decimal(1000)),
        ("1E", Decimal(10**18)),
        ("100k", Decimal(100_000)),
        ("1Ki", Decimal(1024)),
        (".5", Decimal("0.5")),
        ("5.", Decimal(5)),
        ("+1", Decimal(1)),
        ("-1", Decimal(-1)),
        ("2.5e-3", Decimal("0.0025")),
        ("0.1Ki", Decimal("102.4")),
        (" 3 ", Decimal(3)),
    ],
)
def test_parse_quantity(text: str, value: Decimal) -> None:
    """Every suffix form of the Kubernetes grammar parses exactly."""
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    "text",
    ["", "Gi", "1GB", "1gi", "1 Gi", "1.2.3", "abc", "1e", "1Ki2", "1e999", "--1"],
)
def test_parse_quantity_rejects(text: str) -> None:
    """Anything outside the grammar raises a QuantityError naming the input."""
    with pytest.raises(QuantityError) as caught:
        parse_quantity(text, "max_cpu")

    assert caught.value.problems[0].path == "max_cpu"
    assert repr(text) in str(caught.value)


def test_parse_quantity_rejects_non_strings() -> None:
    """A number is no quantity string."""
    with pytest.raises(QuantityError):
        parse_quantity(1.5)


@pytest.mark.parametrize(
    ("text", "millicores"),
    [("1.5", 1500), ("960m", 960), ("0.0001", 1), ("2", 2000), ("100u", None)],
)
def test_parse_cpu(text: str, millicores: int | None) -> None:
    """CPU parses to millicores, rounding a fraction up."""
    if millicores is None:
        with pytest.raises(QuantityError):
            parse_cpu(text)
    else:
        assert parse_cpu(text) == millicores


@pytest.mark.parametrize(
    ("text", "n_bytes"),
    [
        ("1Gi", GI),
        ("500M", 500_000_000),
        ("1.5Gi", 1536 * MI),
        ("2000m", 2),
        ("128974848", 128974848),
        ("8Pi", 2**53),
    ],
)
def test_parse_memory(text: str, n_bytes: int) -> None:
    """Memory parses to whole bytes."""
    assert parse_memory(text) == n_bytes


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("-1", "'-1' must not be negative"),
        ("-500m", "'-500m' must not be negative"),
        ("1e30", "'1e30' is more than 8Pi (2**53 bytes)"),
        ("9Ei", "'9Ei' is more than 8Pi (2**53 bytes)"),
        ("9007199254740993", "'9007199254740993' is more than 8Pi (2**53 bytes)"),
        ("500m", "'500m' is not a whole number of bytes"),
        ("1.5", "'1.5' is not a whole number of bytes"),
        ("0.1Gi", "'0.1Gi' is not a whole number of bytes"),
    ],
)
def test_parse_memory_rejects(text: str, why: str) -> None:
    """Negative sizes, fractions of a byte and sizes beyond 2**53 are refused."""
    with pytest.raises(QuantityError) as caught:
        parse_memory(text, "max_memory")

    assert str(caught.value) == f"max_memory: {why}"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1Gi", "'1Gi' uses the memory unit Gi; CPU is cores or millicores"),
        ("2Ki", "'2Ki' uses the memory unit Ki; CPU is cores or millicores"),
        ("999999999999999", "'999999999999999' is more than 1000000 cores"),
        ("1000001", "'1000001' is more than 1000000 cores"),
        ("-1m", "'-1m' must not be negative"),
    ],
)
def test_parse_cpu_rejects(text: str, why: str) -> None:
    """Binary suffixes, negative CPU and more than a million cores are refused."""
    with pytest.raises(QuantityError) as caught:
        parse_cpu(text, "min_cpu")

    assert str(caught.value) == f"min_cpu: {why}"


def test_parse_cpu_bound_is_inclusive() -> None:
    """Exactly one million cores is the largest CPU quantity accepted."""
    assert parse_cpu("1000000") == 10**9
    assert parse_cpu("1M") == 10**9


@given(st.integers(min_value=0, max_value=10**9))
def test_cpu_round_trip(millicores: int) -> None:
    """Formatting then parsing CPU gives back the same millicores."""
    assert parse_cpu(format_cpu(millicores)) == millicores


@given(
    st.one_of(
        st.integers(min_value=0, max_value=2**53),
        st.builds(
            lambda n, p: n * 1024**p,
            st.integers(min_value=0, max_value=2**13),
            st.integers(min_value=0, max_value=4),
        ),
    )
)
def test_memory_round_trip(n_bytes: int) -> None:
    """Formatting then parsing memory gives back the same bytes."""
    assert parse_memory(format_memory(n_bytes)) == n_bytes


@given(
    st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False),
    st.sampled_from(["", "m", "k", "M", "Ki", "Mi", "Gi"]),
)
def test_parse_any_decimal_with_suffix(number: Decimal, suffix: str) -> None:
    """A decimal number with any suffix parses to that number times the unit."""
    units: dict[str, Decimal | int] = {
        "": 1,
        "m": Decimal("0.001"),
        "k": 1000,
        "M": 10**6,
        "Ki": 1024,
    }
    units.update({"Mi": Decimal(MI), "Gi": Decimal(GI)})

    assert parse_quantity(f"{number}{suffix}") == number * units[suffix]
