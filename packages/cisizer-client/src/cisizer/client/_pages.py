"""Walking a paginated list page after page."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Generic, TypeVar

from cisizer.client._endpoints import Call
from cisizer.core import OverrideScope, Run, StoredOverride

__all__ = ["MAX_PAGE_SIZE", "Pager", "override_key", "run_key"]

P = TypeVar("P")
I = TypeVar("I")  # noqa: E741

MAX_PAGE_SIZE = 1000


class Pager(Generic[P, I]):
    """Decides which page to fetch next and which of its items are new.

    ``items_of`` picks the items out of a page; ``total_of`` returns the
    page's ``total`` when the endpoint reports one, else ``None``, in which
    case a short page is the last.  ``key`` identifies an item, so that one
    pushed ahead by newer rows between two fetches is not yielded twice.
    """

    def __init__(
        self,
        call_at: Callable[[int, int], Call[P]],
        items_of: Callable[[P], Sequence[I]],
        *,
        page_size: int,
        total_of: Callable[[P], int | None] = lambda page: None,
        key: Callable[[I], Hashable] | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        self._call_at = call_at
        self._items_of = items_of
        self._total_of = total_of
        self._key = key
        self._page_size = page_size
        self._offset: int | None = 0
        self._previous: set[Hashable] = set()

    def next_call(self) -> Call[P] | None:
        """Return the call for the next page, or ``None`` after the last."""
        if self._offset is None:
            return None
        return self._call_at(self._page_size, self._offset)

    def take(self, page: P) -> Iterable[I]:
        """Return the new items of ``page`` and move on to the next page."""
        items = list(self._items_of(page))
        total = self._total_of(page)
        assert self._offset is not None
        offset = self._offset + len(items)

        if not items:
            self._offset = None
        elif total is not None:
            self._offset = offset if offset < total else None
        else:
            self._offset = offset if len(items) >= self._page_size else None

        if self._key is None:
            return items
        seen, self._previous = self._previous, {self._key(item) for item in items}
        return [item for item in items if self._key(item) not in seen]


def run_key(run: Run) -> int:
    """Identify a stored run by its id."""
    return run.id


def override_key(stored: StoredOverride) -> OverrideScope:
    """Identify a stored override by its scope."""
    return stored.scope
