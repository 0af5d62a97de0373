"""The package's public names: re-exported, sorted and complete."""

from __future__ import annotations

import cisizer.server


def test_all_is_sorted_and_importable():
    """__all__ is sorted and every name in it exists on the package."""
    names = cisizer.server.__all__

    assert list(names) == sorted(names)
    assert all(hasattr(cisizer.server, name) for name in names)


def test_public_classes_are_exported():
    """The settings, app factory, auth tiers and errors are public."""
    assert {
        "AuthMode",
        "ConfigurationError",
        "ServerError",
        "Settings",
        "Tier",
        "build_openapi",
        "create_app",
        "migrate",
    } <= set(cisizer.server.__all__)
