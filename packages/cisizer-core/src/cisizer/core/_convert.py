"""The one cattrs converter, and RFC 3339 date-times.

``converter.unstructure(model)`` gives data ready for :func:`json.dumps`:
date-times as RFC 3339 UTC strings ending in ``Z``, enums as their values,
tuples as lists, ``None`` as ``null``, and a whole float such as
``18567168.0`` as the integer ``18567168``, so a number pushed as an integer
comes back as one.  ``converter.structure(data, Cls)``
builds models from such data.  It is meant for trusted data (a client reading
the receiver's answers, the receiver reading its own rows); untrusted pushes go
through :func:`cisizer.core.parse_push`, which reports every problem.
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import cattrs

from cisizer.core._errors import ValidationError

__all__ = ["CisizerConverter", "converter", "format_datetime", "parse_datetime"]

_MAX_EXACT_INT = 2**53

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ]"
    r"(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<zone>[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def format_datetime(value: datetime) -> str:
    """Render a date-time as RFC 3339 in UTC with a ``Z``.

    Fractions of a second are kept: milliseconds when that is exact, else
    microseconds, and none when the value falls on a whole second.

    Note:
        A naive date-time is taken to be UTC already (SQLite, for one, hands
        back naive values for what was stored as UTC).
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)

    if value.microsecond == 0:
        timespec = "seconds"
    elif value.microsecond % 1000 == 0:
        timespec = "milliseconds"
    else:
        timespec = "microseconds"
    return value.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def parse_datetime(text: object, path: str = "") -> datetime:
    """Parse an RFC 3339 date-time into an aware UTC ``datetime``.

    Accepts ``Z`` or a numeric offset (``+02:00``), a ``T``, ``t`` or space
    between date and time, and any number of fraction digits (beyond six they
    are cut, as ``datetime`` keeps microseconds).

    Raises:
        ValidationError: ``text`` is not a string, has no time zone, or names
            no real date and time; the problem carries ``path``.
    """
    if not isinstance(text, str):
        raise ValidationError.single(path, "must be an RFC 3339 date-time string")
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValidationError.single(
            path,
            "must be an RFC 3339 date-time with a time zone, e.g. 2026-02-06T14:30:02Z",
        )

    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    zone = match["zone"].upper().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(
            f"{match['date']}T{match['time']}.{fraction}{zone}"
        )
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValidationError.single(path, "is not a real date and time") from None


class CisizerConverter(cattrs.Converter):
    """The cattrs converter between CI Sizer models and JSON-ready data."""

    def __init__(self) -> None:
        """Register the date-time and collection hooks of the wire format."""
        super().__init__(
            unstruct_collection_overrides={tuple: list},
            omit_if_default=False,
        )
        # StrEnum also subclasses str, whose pass-through hook would win.
        self.register_unstructure_hook(enum.Enum, _enum_value)
        self.register_unstructure_hook(enum.StrEnum, _enum_value)
        self.register_unstructure_hook(datetime, format_datetime)
        self.register_structure_hook(datetime, _structure_datetime)
        self.register_unstructure_hook(float, _whole_float_as_int)
        self.register_unstructure_hook(timedelta, timedelta.total_seconds)
        self.register_structure_hook(timedelta, _structure_timedelta)


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def _whole_float_as_int(value: object) -> object:
    # Models built in code may hold an int where a float is declared.  Only up
    # to 2**53 is every whole float an integer that JSON readers agree on;
    # larger ones stay floats rather than become long digit strings.
    if not isinstance(value, float):
        return value
    if value.is_integer() and abs(value) <= _MAX_EXACT_INT:
        return int(value)
    return value


def _structure_datetime(value: Any, _: type) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    return parse_datetime(value)


def _structure_timedelta(value: Any, _: type) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return timedelta(seconds=float(value))


converter = CisizerConverter()
"""The one converter: ``unstructure`` for JSON-ready data, ``structure`` back."""
