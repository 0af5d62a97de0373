"""The receiver's rules for names, repeated so the agent need not load the core."""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_NAME_LENGTH", "clean_name", "is_hidden", "name_problem"]

MAX_NAME_LENGTH = 255

# Control characters, invisible format characters (U+200B, U+202E), lone
# surrogates and line or paragraph separators hide or reorder what a terminal
# or a log line shows; the joiners and the soft hyphen belong to real text
# (emoji sequences, Persian words), as in cisizer.core.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_ALLOWED_FORMAT = frozenset({"\u200c", "\u200d", "\u00ad"})


def is_hidden(char: str) -> bool:
    """Tell whether the receiver refuses ``char`` in a name."""
    if char in _ALLOWED_FORMAT:
        return False
    return unicodedata.category(char) in _HIDDEN_CATEGORIES


def name_problem(value: str, *, allow_slash: bool = False) -> str | None:
    """Return why the receiver would refuse the name ``value``, or ``None``."""
    if not value:
        return "must not be empty"
    if len(value) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters"
    for char in value:
        if is_hidden(char):
            return (
                f"must not contain control or invisible characters such as "
                f"U+{ord(char):04X}"
            )
    if value.isspace():
        return "must not be only whitespace"
    if all(char.isspace() or char in _ALLOWED_FORMAT for char in value):
        return "must not be only invisible characters"
    if not allow_slash and "/" in value:
        return "must not contain '/'"
    return None


def clean_name(value: str) -> str:
    """Return ``value`` made into a name the receiver takes (``/`` allowed).

    Control and invisible characters become ``?``; the result is stripped,
    cut to 255 characters, and ``?`` if nothing visible is left.
    """
    text = "".join("?" if is_hidden(char) else char for char in value).strip()
    text = text[:MAX_NAME_LENGTH].rstrip()
    return "?" if name_problem(text, allow_slash=True) else text
