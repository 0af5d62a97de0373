"""Tests of the core error tree."""

from __future__ import annotations

import pytest

from cisizer.core import (
    CoreError,
    ExpiredTokenError,
    InvalidSignatureError,
    MalformedTokenError,
    NoHistoryError,
    Problem,
    QuantityError,
    TokenError,
    ValidationError,
    WrongAudienceError,
)


def test_validation_error_joins_problems() -> None:
    """A validation error's text is every problem as 'path: message', joined."""
    error = ValidationError(
        [Problem("job", "must not be empty"), Problem("runs", "must be <= 100")]
    )

    assert str(error) == "job: must not be empty; runs: must be <= 100"
    assert error.problems == (
        Problem("job", "must not be empty"),
        Problem("runs", "must be <= 100"),
    )


def test_problem_without_path_is_just_the_message() -> None:
    """A problem about the whole body renders as its message alone."""
    assert str(ValidationError.single("", "must be a JSON object")) == (
        "must be a JSON object"
    )


@pytest.mark.parametrize(
    ("error", "bases"),
    [
        (ValidationError, (CoreError, ValueError)),
        (QuantityError, (ValidationError, ValueError)),
        (NoHistoryError, (CoreError, LookupError)),
        (TokenError, (CoreError, ValueError)),
        (MalformedTokenError, (TokenError,)),
        (InvalidSignatureError, (TokenError,)),
        (ExpiredTokenError, (TokenError,)),
        (WrongAudienceError, (TokenError,)),
    ],
)
def test_error_tree(error: type[Exception], bases: tuple[type, ...]) -> None:
    """Each error sits in the tree drawn in the errors module and a builtin."""
    assert all(issubclass(error, base) for base in bases)
