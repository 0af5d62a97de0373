"""Run queries: newest first, pages, time ranges, runner and debug views."""

from __future__ import annotations

import pytest

JOB_RUNS = "/api/v1/metrics/repo/my-org/my-repo/ci.yml/build"


@pytest.fixture
def three_runs(push, make_push):
    """Store three runs of one job ending at 14:40, 14:50 and 15:00."""
    for number, end in enumerate((10, 20, 30), start=1):
        response = push(make_push(run_id=f"run-{number}", end=end))
        assert response.status_code == 201
    return ["run-3", "run-2", "run-1"]


def _ids(response):
    assert response.status_code == 200, response.text
    return [run["run_id"] for run in response.json()]


def test_job_runs_are_newest_first(http, read, three_runs):
    """The job's runs come back ordered by end_time, newest first."""
    assert _ids(http.get(JOB_RUNS, headers=read)) == three_runs


def test_pushed_out_of_order_still_newest_first(http, read, push, make_push):
    """Order follows end_time, not the order runs arrived in."""
    push(make_push(run_id="late", end=30))
    push(make_push(run_id="early", end=10))

    assert _ids(http.get(JOB_RUNS, headers=read)) == ["late", "early"]


def test_limit_and_offset_page_through(http, read, three_runs):
    """limit and offset select a window of the newest-first list."""
    page = http.get(JOB_RUNS, params={"limit": 2, "offset": 1}, headers=read)
    past_end = http.get(JOB_RUNS, params={"offset": 3}, headers=read)

    assert _ids(page) == ["run-2", "run-1"]
    assert _ids(past_end) == []


def test_time_range_is_inclusive_on_end_time(http, read, three_runs):
    """from and to bound end_time, both ends included."""
    params = {"from": "2026-02-06T14:50:00Z", "to": "2026-02-06T15:00:00Z"}
    offset = {"from": "2026-02-06T15:45:00+01:00"}

    assert _ids(http.get(JOB_RUNS, params=params, headers=read)) == ["run-3", "run-2"]
    assert _ids(http.get(JOB_RUNS, params=offset, headers=read)) == ["run-3", "run-2"]


def test_other_jobs_are_not_listed(http, read, push, make_push):
    """A job's list holds only that job's runs."""
    push(make_push(run_id="a"))
    push(make_push(run_id="b", job="test"))
    push(make_push(run_id="c", repository="other-repo"))

    assert _ids(http.get(JOB_RUNS, headers=read)) == ["a"]


def test_runner_view_lists_its_runs(http, read, push, make_push):
    """The runner view lists every job's runs on that runner, newest first."""
    push(make_push(run_id="a", runner="r1", end=10))
    push(make_push(run_id="b", runner="r2", end=20))
    push(make_push(run_id="c", runner="r1", job="test", end=30))

    response = http.get("/api/v1/metrics/runner/r1", headers=read)

    assert _ids(response) == ["c", "a"]


def test_debug_lists_everything(http, read, push, make_push):
    """The debug view lists all runs of all jobs."""
    push(make_push(run_id="a", end=10))
    push(make_push(run_id="b", organization="org-2", repository="repo", end=20))

    response = http.get("/api/v1/debug/metrics", headers=read)

    assert _ids(response) == ["b", "a"]
    assert response.json()[0]["repository"] == "org-2/repo"


def test_unknown_job_is_an_empty_list(http, read):
    """A job without runs answers an empty list, not 404."""
    assert _ids(http.get(JOB_RUNS, headers=read)) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-06T14:50:00"}, "to"),
        ({"from": "2026-02-07T00:00:00Z", "to": "2026-02-06T00:00:00Z"}, "from"),
        ({"sort": "asc"}, "sort"),
        ([("limit", "1"), ("limit", "2")], "limit"),
    ],
)
def test_bad_query_values_are_400(http, read, params, field):
    """A bad query value answers 400 naming the parameter."""
    response = http.get(JOB_RUNS, params=params, headers=read)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/metrics/repo/my-org/my%01repo/ci.yml/build", "repo"),
        ("/api/v1/metrics/repo/my-org/my-repo/ci.yml/" + "j" * 256, "job"),
        ("/api/v1/metrics/runner/r%0a1", "runner"),
    ],
)
def test_bad_path_names_are_400(http, read, path, field):
    """Control characters or over-long names in the path answer 400 naming it."""
    response = http.get(path, headers=read)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}: ")


def test_limit_maximum_is_accepted(http, read, three_runs):
    """limit=1000 is the largest page and is allowed."""
    assert len(_ids(http.get(JOB_RUNS, params={"limit": 1000}, headers=read))) == 3


def test_unencoded_plus_in_an_offset_gets_a_hint(http, read):
    """A '+' sent raw arrives as a space; the 400 says to send it as %2B."""
    response = http.get(f"{JOB_RUNS}?from=2026-02-06T15:45:00+01:00", headers=read)

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "from: must be an RFC 3339 date-time with a time zone; a '+' in a query "
        "string is read as a space, so send +01:00 as %2B01:00"
    )


@pytest.mark.parametrize("name", ["limit", "offset", "from", "to"])
def test_blank_query_value_is_400(http, read, name):
    """A parameter given without a value is refused, not ignored."""
    response = http.get(f"{JOB_RUNS}?{name}=", headers=read)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{name}: ")
