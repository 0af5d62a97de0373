"""Encoded slashes in the undecoded request path (gunicorn's RAW_URI)."""

from __future__ import annotations

import pytest

from cisizer.server._errors import InvalidRequestError
from cisizer.server._input import check_raw_path
from cisizer.server._routes import ROUTES

TEMPLATES = [route.path for route in ROUTES]


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("/api/v1/sizing/repo/o/r/ci.yml/rspec%201%2F3", "job"),
        ("/api/v1/metrics/repo/o/r%2fx/ci.yml/build?limit=5", "repo"),
        ("/api/v1/runners/a%2Fb", "runner"),
        ("/api/v1/nothing/a%2Fb", "path"),
    ],
)
def test_encoded_slash_names_the_parameter(raw, name):
    """The error names the route parameter whose segment holds %2F."""
    with pytest.raises(InvalidRequestError) as caught:
        check_raw_path(raw, TEMPLATES)

    assert str(caught.value) == f"{name}: must not contain an encoded slash (%2F)"


@pytest.mark.parametrize(
    "raw",
    [
        "/api/v1/compare/workflows?org=acme&repo=acme%2Fweb",
        "/api/v1/sizing/repo/o/r/ci.yml/a%252Fb",
        "/swagger/static/a%2Fb",
        "/health",
    ],
)
def test_other_paths_pass(raw):
    """Query strings, double-encoded slashes and paths outside the API pass."""
    assert check_raw_path(raw, TEMPLATES) is None
