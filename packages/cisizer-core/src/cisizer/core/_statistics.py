"""Statistics over raw samples: peak, time-weighted average, percentiles.

Percentiles use linear interpolation between order statistics, numpy's
default (``method="linear"``, Hyndman and Fan type 7): for ``n`` sorted values
``x[0] <= ... <= x[n-1]`` and ``q`` in 0-100, the rank is
``h = (n - 1) * q / 100`` and the result
``x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])``.
So p50 of ``[1, 2, 3, 4]`` is 2.5 and p95 of ``1..10`` is 9.55.

The time-weighted average treats the series as a step function: each sample
holds until the next one, so it is weighted by the time until the next
sample.  The last sample ends the series and has no weight.  When all
samples share one instant (or there is just one) the plain mean is used.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from cisizer.core._errors import ValidationError
from cisizer.core._models import Stats

__all__ = ["percentile", "summarize", "time_weighted_average"]


def _check_values(values: Sequence[float]) -> None:
    if not values:
        raise ValidationError.single("values", "must not be empty")
    if not all(math.isfinite(value) for value in values):
        raise ValidationError.single("values", "must all be finite numbers")


def _interpolate(ordered: Sequence[float], q: float) -> float:
    rank = (len(ordered) - 1) * q / 100
    below = math.floor(rank)
    fraction = rank - below
    if fraction == 0:
        return float(ordered[below])
    low, high = ordered[below], ordered[below + 1]
    return min(low + fraction * (high - low), float(high))


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (0-100) of ``values``, numpy's linear way.

    Raises:
        ValidationError: ``values`` is empty or not finite, or ``q`` is
            outside 0-100.
    """
    _check_values(values)
    if not 0 <= q <= 100:
        raise ValidationError.single("q", "must be between 0 and 100")

    return _interpolate(sorted(values), q)


def time_weighted_average(
    values: Sequence[float], timestamps: Sequence[float]
) -> float:
    """Average ``values`` weighting each by the seconds until the next sample.

    ``timestamps`` are seconds (any origin) in non-decreasing order, one per
    value.

    Raises:
        ValidationError: empty input, lengths differ, or time runs backwards.
    """
    _check_values(values)
    if len(values) != len(timestamps):
        raise ValidationError.single("timestamps", "must be as many as the values")
    if any(later < earlier for earlier, later in itertools.pairwise(timestamps)):
        raise ValidationError.single("timestamps", "must not decrease")

    span = timestamps[-1] - timestamps[0]
    if span <= 0:
        return math.fsum(values) / len(values)
    weighted = math.fsum(
        value * (following - current)
        for value, (current, following) in zip(
            values, itertools.pairwise(timestamps), strict=False
        )
    )
    return weighted / span


def summarize(
    values: Sequence[float], timestamps: Sequence[float] | None = None
) -> Stats:
    """Compute peak, average, p50, p75, p95 and p99 of a series of samples.

    The average is time-weighted when ``timestamps`` are given, else the
    plain mean.

    Raises:
        ValidationError: as :func:`percentile` and
            :func:`time_weighted_average`.
    """
    _check_values(values)
    if timestamps is None:
        average = math.fsum(values) / len(values)
    else:
        average = time_weighted_average(values, timestamps)

    ordered = sorted(values)
    average = min(max(average, ordered[0]), ordered[-1])
    return Stats(
        peak=float(ordered[-1]),
        avg=average,
        p50=_interpolate(ordered, 50),
        p75=_interpolate(ordered, 75),
        p95=_interpolate(ordered, 95),
        p99=_interpolate(ordered, 99),
    )
