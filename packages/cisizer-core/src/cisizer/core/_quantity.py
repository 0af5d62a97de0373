"""Kubernetes resource quantities: parse any of them, format canonically.

The grammar is the one ``k8s.io/apimachinery/pkg/api/resource`` accepts::

    quantity  = [sign] number [suffix]
    number    = digits | digits "." [digits] | "." digits
    suffix    = "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"      (powers of 1024)
              | "m" | "k" | "M" | "G" | "T" | "P" | "E"      (powers of 1000)
              | ("e" | "E") [sign] digits                     (power of ten)

CPU is formatted in millicores (``960m``) or whole cores (``1``); memory in
the largest binary unit that divides it exactly (``1Gi``, ``960Mi``), or as a
plain number of bytes when none does, as the API server echoes them.

:func:`parse_cpu` and :func:`parse_memory` are stricter than Kubernetes, as
their values become sizing clamps: no binary suffix on CPU (``1Gi`` cores is
a slip, not a size), only whole bytes (``500m`` bytes), and at most
1,000,000 cores or 8Pi (2**53 bytes), so every figure stays an integer that
JSON readers hold exactly.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal

from cisizer.core._errors import Problem, QuantityError

__all__ = [
    "format_cpu",
    "format_memory",
    "parse_cpu",
    "parse_memory",
    "parse_quantity",
]

_MAX_LENGTH = 64
_MAX_EXPONENT = 30
_MAX_CPU_MILLICORES = 10**9
_MAX_MEMORY_BYTES = 2**53

_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)"
    r"|[eE](?P<exponent>[+-]?\d+)"
    r"|(?P<decimal>[mkMGTPE]))?",
    re.ASCII,
)

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_BY_SIZE = sorted(_BINARY.items(), key=lambda item: -item[1])

# Enough digits that no input the length limit lets through is ever rounded.
_EXACT = decimal.Context(prec=200, rounding=decimal.ROUND_CEILING)


def _error(path: str, text: object, why: str) -> QuantityError:
    return QuantityError((Problem(path, f"{text!r} {why}"),))


def parse_quantity(text: object, path: str = "") -> Decimal:
    """Parse a Kubernetes quantity (``1.5``, ``1500m``, ``2Gi``, ``1e3``) exactly.

    Raises:
        QuantityError: ``text`` is not a quantity in the Kubernetes grammar.
    """
    return _parse(text, path)[0]


def _parse(text: object, path: str) -> tuple[Decimal, str | None]:
    """Return the quantity's exact value and its binary suffix, if any."""
    if not isinstance(text, str):
        raise _error(path, text, "is not a Kubernetes quantity string")
    stripped = text.strip()
    if len(stripped) > _MAX_LENGTH:
        raise _error(path, text[:20] + "...", "is too long for a quantity")
    match = _QUANTITY.fullmatch(stripped)
    if match is None:
        raise _error(
            path, text, "is not a Kubernetes quantity (e.g. 1.5, 500m, 2Gi, 1e3)"
        )

    number = Decimal(match["number"])
    with decimal.localcontext(_EXACT):
        binary = match["binary"]
        if binary:
            return number * Decimal(1024) ** _BINARY[binary], binary
        if match["exponent"]:
            exponent = int(match["exponent"])
            if abs(exponent) > _MAX_EXPONENT:
                raise _error(path, text, "has an exponent out of range")
            return number.scaleb(exponent), None
        if match["decimal"]:
            return number.scaleb(_DECIMAL[match["decimal"]]), None
        return +number, None


def parse_cpu(text: str, path: str = "") -> int:
    """Parse a CPU quantity into millicores, rounding a fraction up.

    Raises:
        QuantityError: not a quantity, a binary suffix (``Ki``, ``Mi``, ...),
            negative, or more than 1,000,000 cores.
    """
    value, binary = _parse(text, path)
    if binary:
        raise _error(
            path, text, f"uses the memory unit {binary}; CPU is cores or millicores"
        )
    if value < 0:
        raise _error(path, text, "must not be negative")
    with decimal.localcontext(_EXACT):
        millicores = value * 1000
    if millicores > _MAX_CPU_MILLICORES:
        raise _error(path, text, f"is more than {_MAX_CPU_MILLICORES // 1000} cores")
    return int(millicores.to_integral_value(rounding=decimal.ROUND_CEILING))


def parse_memory(text: str, path: str = "") -> int:
    """Parse a memory quantity into a whole number of bytes.

    Raises:
        QuantityError: not a quantity, negative, a fraction of a byte (``500m``,
            ``1.5``), or more than 8Pi (2**53 bytes).
    """
    value, _ = _parse(text, path)
    if value < 0:
        raise _error(path, text, "must not be negative")
    if value > _MAX_MEMORY_BYTES:
        raise _error(path, text, "is more than 8Pi (2**53 bytes)")
    if value != value.to_integral_value():
        raise _error(path, text, "is not a whole number of bytes")
    return int(value)


def format_cpu(millicores: int) -> str:
    """Format millicores canonically: ``1`` for whole cores, else ``1500m``."""
    if millicores % 1000 == 0:
        return str(millicores // 1000)
    return f"{millicores}m"


def format_memory(n_bytes: int) -> str:
    """Format bytes in the largest exact binary unit (``1Gi``, ``960Mi``).

    A value no binary unit divides (or zero) is a plain number of bytes.
    """
    if n_bytes != 0:
        for suffix, power in _BINARY_BY_SIZE:
            unit = 1024**power
            if n_bytes % unit == 0:
                return f"{n_bytes // unit}{suffix}"
    return str(n_bytes)
