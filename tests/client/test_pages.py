"""Iterators that walk paginated lists page after page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from cisizer.client import AuthenticationError
from cisizer.client._endpoints import Call
from cisizer.client._pages import Pager
from cisizer.core import converter

PATH = "/api/v1/metrics/repo/my-org/my-repo/ci.yml/build"
JOB = ("my-org", "my-repo", "ci.yml", "build")


def _page(samples: Any, *ids: int) -> httpx.Response:
    return httpx.Response(
        200, json=[converter.unstructure(samples.make_run(i)) for i in ids]
    )


def test_iterator_fetches_until_a_short_page(
    client: Any, api: respx.MockRouter, samples: Any
) -> None:
    """Pages of two, then one: three runs from two requests at offsets 0 and 2."""
    route = api.get(PATH).mock(side_effect=[_page(samples, 5, 4), _page(samples, 3)])

    runs = list(client.iter_job_metrics(*JOB, page_size=2))

    assert [run.id for run in runs] == [5, 4, 3]
    offsets = [call.request.url.params["offset"] for call in route.calls]
    limits = {call.request.url.params["limit"] for call in route.calls}
    assert offsets == ["0", "2"]
    assert limits == {"2"}


def test_iterator_stops_at_an_empty_page(
    client: Any, api: respx.MockRouter, samples: Any
) -> None:
    """A last page that is exactly full is followed by one empty page."""
    route = api.get(PATH).mock(
        side_effect=[_page(samples, 4, 3), _page(samples, 2, 1), _page(samples)]
    )

    runs = list(client.iter_job_metrics(*JOB, page_size=2))

    assert [run.id for run in runs] == [4, 3, 2, 1]
    assert route.call_count == 3


def test_iterator_is_lazy(client: Any, api: respx.MockRouter, samples: Any) -> None:
    """Taking the first run fetches only the first page."""
    route = api.get(PATH).mock(side_effect=[_page(samples, 4, 3), _page(samples, 2)])

    first = next(iter(client.iter_job_metrics(*JOB, page_size=2)))

    assert first.id == 4
    assert route.call_count == 1


def test_iterator_skips_a_run_pushed_onto_the_next_page(
    client: Any, api: respx.MockRouter, samples: Any
) -> None:
    """A newer run arriving between pages does not make a run appear twice."""
    route = api.get(PATH).mock(
        side_effect=[_page(samples, 5, 4), _page(samples, 4, 3), _page(samples)]
    )

    runs = list(client.iter_job_metrics(*JOB, page_size=2))

    assert [run.id for run in runs] == [5, 4, 3]
    assert route.call_count == 3


def test_iterator_raises_the_error_of_a_failing_page(
    make_client: Callable[..., Any], api: respx.MockRouter, samples: Any
) -> None:
    """An error on page two surfaces after the runs of page one."""
    api.get(PATH).mock(
        side_effect=[_page(samples, 2, 1), httpx.Response(401, json={"title": "No"})]
    )
    runs = iter(make_client().iter_job_metrics(*JOB, page_size=2))
    seen = [next(runs).id, next(runs).id]

    with pytest.raises(AuthenticationError):
        next(runs)
    assert seen == [2, 1]


@pytest.mark.parametrize("page_size", [0, 1001])
def test_page_size_outside_the_receivers_range_is_refused(
    client: Any, page_size: int
) -> None:
    """The receiver answers at most 1000 rows, so larger pages are refused."""
    with pytest.raises(ValueError, match="page_size"):
        list(client.iter_debug_metrics(page_size=page_size))


def _runner_page(samples: Any, names: list[str], total: int, offset: int) -> Any:
    row = samples.runner_list.runners[0]
    page = attrs.evolve(
        samples.runner_list,
        runners=tuple(attrs.evolve(row, runner=name) for name in names),
        total=total,
        limit=2,
        offset=offset,
    )
    return httpx.Response(200, json=converter.unstructure(page))


def test_report_iterator_stops_at_the_total(
    client: Any, api: respx.MockRouter, samples: Any
) -> None:
    """A report page's total ends the walk without asking for an empty page."""
    route = api.get("/api/v1/runners").mock(
        side_effect=[
            _runner_page(samples, ["a", "b"], total=3, offset=0),
            _runner_page(samples, ["c"], total=3, offset=2),
        ]
    )

    names = [row.runner for row in client.iter_runners(page_size=2)]

    assert names == ["a", "b", "c"]
    assert [call.request.url.params["offset"] for call in route.calls] == ["0", "2"]


def test_report_iterator_skips_a_row_pushed_onto_the_next_page(
    client: Any, api: respx.MockRouter, samples: Any
) -> None:
    """A runner appearing between pages does not make a row appear twice."""
    api.get("/api/v1/runners").mock(
        side_effect=[
            _runner_page(samples, ["b", "c"], total=3, offset=0),
            _runner_page(samples, ["c", "d"], total=4, offset=2),
        ]
    )

    names = [row.runner for row in client.iter_runners(page_size=2)]

    assert names == ["b", "c", "d"]


@given(
    count=st.integers(min_value=0, max_value=60),
    page_size=st.integers(min_value=1, max_value=25),
    with_total=st.booleans(),
)
def test_pager_yields_every_row_once_in_order(
    count: int, page_size: int, with_total: bool
) -> None:
    """For any list and page size, the pager yields each row once, in order."""
    rows = list(range(count))
    offsets: list[int] = []

    def call_at(limit: int, offset: int) -> Call[Any]:
        offsets.append(offset)
        return Call("GET", "/rows", lambda data: data, params={"limit": str(limit)})

    def fetch(call: Call[Any]) -> dict[str, Any]:
        start = offsets[-1]
        return {"rows": rows[start : start + page_size], "total": count}

    pager: Pager[dict[str, Any], int] = Pager(
        call_at,
        lambda page: page["rows"],
        page_size=page_size,
        total_of=(lambda page: page["total"]) if with_total else (lambda page: None),
        key=lambda row: row,
    )
    seen: list[int] = []
    call = pager.next_call()
    while call is not None:
        seen += pager.take(fetch(call))
        call = pager.next_call()

    assert seen == rows
    full_pages = -(-count // page_size)
    extra = 0 if with_total or count % page_size else 1
    assert len(offsets) == max(1, full_pages + extra)
