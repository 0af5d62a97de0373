"""Tests of percentiles, time-weighted averages and summaries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cisizer.core import (
    ValidationError,
    percentile,
    summarize,
    time_weighted_average,
)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4], 50, 2.5),
        ([1, 2, 3, 4], 75, 3.25),
        ([1, 2, 3, 4], 0, 1.0),
        ([1, 2, 3, 4], 100, 4.0),
        (list(range(1, 11)), 95, 9.55),
        (list(range(1, 11)), 99, 9.91),
        ([10, 20], 95, 19.5),
        ([5], 99, 5.0),
        ([3, 1, 2], 50, 2.0),
        ([0, 100], 25, 25.0),
    ],
)
def test_percentile_hand_computed(
    values: list[float], q: float, expected: float
) -> None:
    """Percentiles interpolate linearly between order statistics like numpy."""
    assert percentile(values, q) == pytest.approx(expected)


@pytest.mark.parametrize(("values", "q"), [([], 50), ([1.0], 101), ([1.0], -1)])
def test_percentile_rejects(values: list[float], q: float) -> None:
    """No values or a q outside 0-100 is an error."""
    with pytest.raises(ValidationError):
        percentile(values, q)


def test_time_weighted_average() -> None:
    """Each sample counts for the time until the next; the last closes the span."""
    # 1.0 held for 1 s, 3.0 held for 3 s, 100.0 ends the series.
    assert time_weighted_average([1.0, 3.0, 100.0], [0.0, 1.0, 4.0]) == 2.5


def test_time_weighted_average_equal_times() -> None:
    """Samples all taken at one instant average plainly."""
    assert time_weighted_average([1.0, 2.0], [5.0, 5.0]) == 1.5
    assert time_weighted_average([7.0], [5.0]) == 7.0


@pytest.mark.parametrize(
    ("values", "timestamps"),
    [([1.0, 2.0], [0.0]), ([1.0, 2.0], [1.0, 0.0]), ([float("nan")], [0.0])],
)
def test_time_weighted_average_rejects(
    values: list[float], timestamps: list[float]
) -> None:
    """Mismatched lengths, backwards time and NaN are errors."""
    with pytest.raises(ValidationError):
        time_weighted_average(values, timestamps)


def test_summarize() -> None:
    """A summary has the peak, the mean and the four percentiles."""
    stats = summarize([1.0, 2.0, 3.0, 4.0])
    assert stats.peak == 4.0
    assert stats.avg == 2.5
    assert stats.p50 == 2.5
    assert stats.p75 == 3.25
    assert stats.p95 == pytest.approx(3.85)
    assert stats.p99 == pytest.approx(3.97)


def test_summarize_time_weighted() -> None:
    """With timestamps the average is time-weighted."""
    stats = summarize([1.0, 3.0, 100.0], [0.0, 1.0, 4.0])

    assert stats.avg == 2.5
    assert stats.peak == 100.0


samples = st.lists(
    st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=50
)


@given(samples)
def test_summary_is_ordered(values: list[float]) -> None:
    """The statistics never exceed the peak and rise with the percentile."""
    stats = summarize(values)

    assert stats.p50 is not None
    assert stats.p75 is not None
    assert stats.p95 is not None
    assert stats.p99 is not None
    assert stats.avg is not None
    assert min(values) <= stats.p50 <= stats.p75 <= stats.p95 <= stats.p99
    assert stats.p99 <= stats.peak == max(values)
    assert min(values) <= stats.avg <= stats.peak
