"""docs/limitations.md and the shortcoming marks in the code name each other.

STYLE.md asks that every ``TODO:``, ``NOTE:`` and ``PERF:`` comment in the
packages be listed in docs/limitations.md. An item names its mark as
``(`cisizer/agent/_cgroup.py`, `TODO:`)``; each such reference must point
at a file holding that mark, and each mark must be referenced.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "limitations.md"
MARK = re.compile(r"#\s*(TODO|NOTE|PERF|XXX|FIXME):")
REFERENCE = re.compile(r"`(cisizer/[\w/]+\.py)`,\s*`(TODO|NOTE|PERF|XXX|FIXME):`")


def marks_in_code() -> set[tuple[str, str]]:
    """(path below ``src``, mark) of every shortcoming comment in the packages."""
    found = set()
    for source in sorted(ROOT.glob("packages/*/src")):
        for path in sorted(source.glob("cisizer/**/*.py")):
            relative = path.relative_to(source).as_posix()
            for mark in MARK.findall(path.read_text(encoding="utf-8")):
                found.add((relative, mark))
    return found


def references() -> set[tuple[str, str]]:
    """(path, mark) pairs that docs/limitations.md names."""
    text = " ".join(PAGE.read_text(encoding="utf-8").split())
    return set(REFERENCE.findall(text))


def test_every_mark_is_listed() -> None:
    """Each TODO, NOTE or PERF comment of the packages has an item naming it."""
    assert marks_in_code() - references() == set()


def test_every_listed_mark_exists() -> None:
    """Each item's file and mark are still in the code."""
    assert references() - marks_in_code() == set()
