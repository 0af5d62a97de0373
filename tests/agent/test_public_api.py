"""The agent package's public names."""

from __future__ import annotations

import cisizer.agent


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted and lists every public name the package exports."""
    exported = cisizer.agent.__all__
    public = {
        name
        for name in vars(cisizer.agent)
        if not name.startswith("_") and name not in {"annotations"}
    }

    assert exported == sorted(exported)
    assert set(exported) == public
