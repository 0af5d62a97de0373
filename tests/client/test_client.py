"""Every client method against a mocked receiver, in sync and async mode."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx
import pytest
import respx

from cisizer.client import (
    AsyncClient,
    CISizerError,
    Client,
    ConfigurationError,
    InvalidArgumentError,
    UnexpectedResponseError,
)
from cisizer.core import (
    CpuPercentile,
    Health,
    Info,
    JobKey,
    MemoryQoS,
    Override,
    SortOrder,
    converter,
)

BASE_URL = "http://cisizer.test"
READ_TOKEN = "read-s3cret"
FROM = datetime(2026, 2, 1, tzinfo=UTC)
TO = datetime(2026, 2, 7, 12, 30, tzinfo=UTC)
JOB = ("my-org", "my-repo", "ci.yml", "build")
RANGE = {"from": "2026-02-01T00:00:00Z", "to": "2026-02-07T12:30:00Z"}

Use = Callable[[Any], Any]


def _json(name: str) -> Use:
    return lambda s: converter.unstructure(getattr(s, name))


def _model(name: str) -> Use:
    return lambda s: getattr(s, name)


def _runs(s: Any) -> Any:
    return [converter.unstructure(s.run)]


@attrs.frozen
class Case:
    """One call of a client method and the exchange it must cause.

    ``call``, ``answer``, ``expected`` and ``body`` take the samples fixture.
    """

    name: str
    call: Callable[[Any, Any], Any]
    method: str
    path: str
    answer: Use
    expected: Use
    params: dict[str, str] = attrs.field(factory=dict)
    body: Use = lambda s: None
    status: int = 200


CASES = [
    Case(
        "health",
        lambda c, s: c.health(),
        "GET",
        "/health",
        lambda s: {"status": "ok"},
        lambda s: Health("ok"),
    ),
    Case(
        "info",
        lambda c, s: c.info(),
        "GET",
        "/api/v1/info",
        lambda s: {
            "version": "0.1.0",
            "auth_mode": "none",
            "ci_provider": "forgejo",
            "forgejo_base_url": "https://git.example",
            "logout_url": None,
        },
        lambda s: Info("0.1.0", "none", "forgejo", "https://git.example", None),
    ),
    Case(
        "create_push_token",
        lambda c, s: c.create_push_token(*JOB),
        "POST",
        "/api/v1/token",
        _json("push_token"),
        _model("push_token"),
        body=lambda s: {
            "organization": "my-org",
            "repository": "my-repo",
            "workflow": "ci.yml",
            "job": "build",
        },
        status=201,
    ),
    Case(
        "create_push_token with a JobKey",
        lambda c, s: c.create_push_token(
            JobKey("my-org", "my-org/my-repo", "ci.yml", "build")
        ),
        "POST",
        "/api/v1/token",
        _json("push_token"),
        _model("push_token"),
        body=lambda s: {
            "organization": "my-org",
            "repository": "my-org/my-repo",
            "workflow": "ci.yml",
            "job": "build",
        },
        status=201,
    ),
    Case(
        "push_metrics",
        lambda c, s: c.push_metrics(s.push),
        "POST",
        "/api/v1/metrics",
        _json("run"),
        _model("run"),
        body=_json("push"),
        status=201,
    ),
    Case(
        "job_metrics",
        lambda c, s: c.job_metrics(*JOB, from_=FROM, to=TO, limit=10, offset=20),
        "GET",
        "/api/v1/metrics/repo/my-org/my-repo/ci.yml/build",
        _runs,
        lambda s: [s.run],
        params={**RANGE, "limit": "10", "offset": "20"},
    ),
    Case(
        "job_metrics with the full repository name",
        lambda c, s: c.job_metrics("my-org", "my-org/my-repo", "ci.yml", "build"),
        "GET",
        "/api/v1/metrics/repo/my-org/my-repo/ci.yml/build",
        lambda s: [],
        lambda s: [],
    ),
    Case(
        "iter_job_metrics",
        lambda c, s: list(c.iter_job_metrics(*JOB, from_=FROM, to=TO, page_size=5)),
        "GET",
        "/api/v1/metrics/repo/my-org/my-repo/ci.yml/build",
        _runs,
        lambda s: [s.run],
        params={**RANGE, "limit": "5", "offset": "0"},
    ),
    Case(
        "runner_metrics",
        lambda c, s: c.runner_metrics("runner-7", from_=FROM, to=TO, limit=1, offset=0),
        "GET",
        "/api/v1/metrics/runner/runner-7",
        _runs,
        lambda s: [s.run],
        params={**RANGE, "limit": "1", "offset": "0"},
    ),
    Case(
        "iter_runner_metrics",
        lambda c, s: list(c.iter_runner_metrics("runner-7", page_size=3)),
        "GET",
        "/api/v1/metrics/runner/runner-7",
        _runs,
        lambda s: [s.run],
        params={"limit": "3", "offset": "0"},
    ),
    Case(
        "debug_metrics",
        lambda c, s: c.debug_metrics(limit=2, offset=4),
        "GET",
        "/api/v1/debug/metrics",
        _runs,
        lambda s: [s.run],
        params={"limit": "2", "offset": "4"},
    ),
    Case(
        "iter_debug_metrics",
        lambda c, s: list(c.iter_debug_metrics(from_=FROM, page_size=7)),
        "GET",
        "/api/v1/debug/metrics",
        _runs,
        lambda s: [s.run],
        params={"from": RANGE["from"], "limit": "7", "offset": "0"},
    ),
    Case(
        "sizing",
        lambda c, s: c.sizing(*JOB),
        "GET",
        "/api/v1/sizing/repo/my-org/my-repo/ci.yml/build",
        _json("sizing"),
        _model("sizing"),
    ),
    Case(
        "sizing with every parameter",
        lambda c, s: c.sizing(
            *JOB,
            runs=10,
            buffer=0,
            cpu_percentile=CpuPercentile.P99,
            cpu_sizing_mode="enforce",
            memory_qos=MemoryQoS.BURSTABLE,
        ),
        "GET",
        "/api/v1/sizing/repo/my-org/my-repo/ci.yml/build",
        _json("sizing"),
        _model("sizing"),
        params={
            "runs": "10",
            "buffer": "0",
            "cpu_percentile": "p99",
            "cpu_sizing_mode": "enforce",
            "memory_qos": "burstable",
        },
    ),
    Case(
        "energy",
        lambda c, s: c.energy(*JOB, from_=FROM, to=TO),
        "GET",
        "/api/v1/energy/repo/my-org/my-repo/ci.yml/build",
        _json("energy"),
        _model("energy"),
        params=RANGE,
    ),
    Case(
        "success_failure_stats",
        lambda c, s: c.success_failure_stats(*JOB, from_=FROM, to=TO),
        "GET",
        "/api/v1/success-failure-stats/repo/my-org/my-repo/ci.yml/build",
        _json("stats"),
        _model("stats"),
        params=RANGE,
    ),
    Case(
        "list_overrides",
        lambda c, s: c.list_overrides(),
        "GET",
        "/api/v1/sizing/overrides",
        lambda s: [converter.unstructure(s.stored_override)],
        lambda s: [s.stored_override],
    ),
    Case(
        "list_overrides with a page",
        lambda c, s: c.list_overrides(limit=10, offset=10),
        "GET",
        "/api/v1/sizing/overrides",
        lambda s: [],
        lambda s: [],
        params={"limit": "10", "offset": "10"},
    ),
    Case(
        "iter_overrides",
        lambda c, s: list(c.iter_overrides(page_size=50)),
        "GET",
        "/api/v1/sizing/overrides",
        lambda s: [converter.unstructure(s.stored_override)],
        lambda s: [s.stored_override],
        params={"limit": "50", "offset": "0"},
    ),
    Case(
        "set_override",
        lambda c, s: c.set_override("my-org", "my-repo", override=s.override),
        "PUT",
        "/api/v1/sizing/overrides/my-org/my-repo",
        _json("stored_override"),
        _model("stored_override"),
        body=_json("override"),
    ),
    Case(
        "set_override at job scope",
        lambda c, s: c.set_override("o", "o/r", "ci.yml", "build", override=s.override),
        "PUT",
        "/api/v1/sizing/overrides/o/r/ci.yml/build",
        _json("stored_override"),
        _model("stored_override"),
        body=_json("override"),
    ),
    Case(
        "delete_override",
        lambda c, s: c.delete_override("my-org"),
        "DELETE",
        "/api/v1/sizing/overrides/my-org",
        lambda s: None,
        lambda s: None,
        status=204,
    ),
    Case(
        "delete_override at workflow scope",
        lambda c, s: c.delete_override("my-org", "my-repo", "ci.yml"),
        "DELETE",
        "/api/v1/sizing/overrides/my-org/my-repo/ci.yml",
        lambda s: None,
        lambda s: None,
        status=204,
    ),
    Case(
        "metrics_overview",
        lambda c, s: c.metrics_overview(from_=FROM, to=TO, limit=5, offset=10),
        "GET",
        "/api/v1/metrics/overview",
        _json("overview"),
        _model("overview"),
        params={**RANGE, "limit": "5", "offset": "10"},
    ),
    Case(
        "iter_metrics_overview",
        lambda c, s: list(c.iter_metrics_overview(from_=FROM, to=TO)),
        "GET",
        "/api/v1/metrics/overview",
        _json("overview"),
        lambda s: list(s.overview.organizations),
        params={**RANGE, "limit": "200", "offset": "0"},
    ),
    Case(
        "organization_metrics",
        lambda c, s: c.organization_metrics("my-org", limit=3),
        "GET",
        "/api/v1/metrics/org/my-org",
        _json("organization_report"),
        _model("organization_report"),
        params={"limit": "3"},
    ),
    Case(
        "iter_organization_metrics",
        lambda c, s: list(c.iter_organization_metrics("my-org", page_size=1)),
        "GET",
        "/api/v1/metrics/org/my-org",
        _json("organization_report"),
        lambda s: list(s.organization_report.repositories),
        params={"limit": "1", "offset": "0"},
    ),
    Case(
        "repository_metrics",
        lambda c, s: c.repository_metrics("my-org", "my-org/my-repo", to=TO),
        "GET",
        "/api/v1/metrics/org/my-org/repo/my-repo",
        _json("repository_report"),
        _model("repository_report"),
        params={"to": RANGE["to"]},
    ),
    Case(
        "iter_repository_metrics",
        lambda c, s: list(c.iter_repository_metrics("my-org", "my-repo")),
        "GET",
        "/api/v1/metrics/org/my-org/repo/my-repo",
        _json("repository_report"),
        lambda s: list(s.repository_report.workflows),
        params={"limit": "200", "offset": "0"},
    ),
    Case(
        "organization_sizing",
        lambda c, s: c.organization_sizing("my-org", from_=FROM),
        "GET",
        "/api/v1/sizing/org/my-org",
        _json("sizing_overview"),
        _model("sizing_overview"),
        params={"from": RANGE["from"]},
    ),
    Case(
        "iter_organization_sizing",
        lambda c, s: list(c.iter_organization_sizing("my-org")),
        "GET",
        "/api/v1/sizing/org/my-org",
        _json("sizing_overview"),
        lambda s: list(s.sizing_overview.jobs),
        params={"limit": "200", "offset": "0"},
    ),
    Case(
        "repository_sizing",
        lambda c, s: c.repository_sizing("my-org", "my-repo", offset=50),
        "GET",
        "/api/v1/sizing/org/my-org/repo/my-repo",
        _json("sizing_overview"),
        _model("sizing_overview"),
        params={"offset": "50"},
    ),
    Case(
        "iter_repository_sizing",
        lambda c, s: list(c.iter_repository_sizing("my-org", "my-repo", page_size=9)),
        "GET",
        "/api/v1/sizing/org/my-org/repo/my-repo",
        _json("sizing_overview"),
        lambda s: list(s.sizing_overview.jobs),
        params={"limit": "9", "offset": "0"},
    ),
    Case(
        "compare_repositories",
        lambda c, s: c.compare_repositories(
            "my-org", sort="runs", order=SortOrder.DESC, limit=20
        ),
        "GET",
        "/api/v1/compare/repos",
        _json("repository_comparison"),
        _model("repository_comparison"),
        params={"org": "my-org", "sort": "runs", "order": "desc", "limit": "20"},
    ),
    Case(
        "iter_compare_repositories",
        lambda c, s: list(c.iter_compare_repositories("my-org", order="asc")),
        "GET",
        "/api/v1/compare/repos",
        _json("repository_comparison"),
        lambda s: list(s.repository_comparison.repositories),
        params={"org": "my-org", "order": "asc", "limit": "200", "offset": "0"},
    ),
    Case(
        "compare_workflows",
        lambda c, s: c.compare_workflows(
            "my-org", "my-org/my-repo", sort="energy_wh", from_=FROM
        ),
        "GET",
        "/api/v1/compare/workflows",
        _json("workflow_comparison"),
        _model("workflow_comparison"),
        params={
            "org": "my-org",
            "repo": "my-repo",
            "sort": "energy_wh",
            "from": RANGE["from"],
        },
    ),
    Case(
        "iter_compare_workflows",
        lambda c, s: list(c.iter_compare_workflows("my-org", "my-repo", sort="runs")),
        "GET",
        "/api/v1/compare/workflows",
        _json("workflow_comparison"),
        lambda s: list(s.workflow_comparison.workflows),
        params={
            "org": "my-org",
            "repo": "my-repo",
            "sort": "runs",
            "limit": "200",
            "offset": "0",
        },
    ),
    Case(
        "list_runners",
        lambda c, s: c.list_runners(from_=FROM, limit=100),
        "GET",
        "/api/v1/runners",
        _json("runner_list"),
        _model("runner_list"),
        params={"from": RANGE["from"], "limit": "100"},
    ),
    Case(
        "iter_runners",
        lambda c, s: list(c.iter_runners(page_size=1000)),
        "GET",
        "/api/v1/runners",
        _json("runner_list"),
        lambda s: list(s.runner_list.runners),
        params={"limit": "1000", "offset": "0"},
    ),
    Case(
        "runners_overview",
        lambda c, s: c.runners_overview(to=TO),
        "GET",
        "/api/v1/runners/overview",
        _json("runner_overview"),
        _model("runner_overview"),
        params={"to": RANGE["to"]},
    ),
    Case(
        "iter_runners_overview",
        lambda c, s: list(c.iter_runners_overview()),
        "GET",
        "/api/v1/runners/overview",
        _json("runner_overview"),
        lambda s: list(s.runner_overview.runners),
        params={"limit": "200", "offset": "0"},
    ),
    Case(
        "runner_report",
        lambda c, s: c.runner_report("runner-7", from_=FROM, to=TO),
        "GET",
        "/api/v1/runners/runner-7",
        _json("runner_report"),
        _model("runner_report"),
        params=RANGE,
    ),
    Case(
        "iter_runner_report",
        lambda c, s: list(c.iter_runner_report("runner-7")),
        "GET",
        "/api/v1/runners/runner-7",
        _json("runner_report"),
        lambda s: list(s.runner_report.organizations),
        params={"limit": "200", "offset": "0"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_method_sends_the_request_and_decodes_the_answer(
    client: Any, api: respx.MockRouter, samples: Any, case: Case
) -> None:
    """Each method sends its method, path, query and body and returns the model."""
    answer = case.answer(samples)
    if answer is None:
        response = httpx.Response(case.status)
    else:
        response = httpx.Response(case.status, json=answer)
    route = api.route(method=case.method, path=case.path).mock(return_value=response)

    result = case.call(client, samples)

    assert result == case.expected(samples)
    assert route.call_count == 1
    request = route.calls.last.request
    assert dict(request.url.params) == case.params
    assert request.headers["Authorization"] == f"Bearer {READ_TOKEN}"
    body = case.body(samples)
    if body is None:
        assert request.content == b""
    else:
        assert json.loads(request.content) == body


def test_cases_cover_every_public_method() -> None:
    """The table above exercises every public method of the client."""
    public = {
        name
        for name in dir(Client)
        if not name.startswith("_") and callable(getattr(Client, name))
    } - {"close"}
    covered = {case.name.split()[0] for case in CASES}

    assert public == covered


def test_push_metrics_sends_the_push_token_given(
    client: Any, api: respx.MockRouter, samples: Any
) -> None:
    """An explicit token= replaces the client's token for the push only."""
    route = api.post("/api/v1/metrics").respond(
        201, json=converter.unstructure(samples.run)
    )
    api.get("/health").respond(json={"status": "ok"})

    client.push_metrics(samples.push, token="push-token")
    client.health()

    assert route.calls.last.request.headers["Authorization"] == "Bearer push-token"
    assert api.calls.last.request.headers["Authorization"] == f"Bearer {READ_TOKEN}"


def test_no_token_sends_no_authorization(
    make_client: Callable[..., Any],
    api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a token the client sends no Authorization header at all."""
    monkeypatch.delenv("CISIZER_READ_TOKEN", raising=False)
    route = api.get("/health").respond(json={"status": "ok"})

    make_client(token=None).health()

    assert "Authorization" not in route.calls.last.request.headers


def test_settings_come_from_the_environment(
    make_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CISIZER_URL and CISIZER_READ_TOKEN are used when no argument is given."""
    monkeypatch.setenv("CISIZER_URL", "http://env.test:8080/")
    monkeypatch.setenv("CISIZER_READ_TOKEN", "env-token")

    with respx.mock(base_url="http://env.test:8080") as router:
        route = router.get("/health").respond(json={"status": "ok"})
        client = make_client(base_url=None, token=None)
        health = client.health()

    assert health == Health("ok")
    assert client.base_url == "http://env.test:8080"
    assert route.calls.last.request.headers["Authorization"] == "Bearer env-token"


def test_base_url_with_a_path_prefix_is_kept(make_client: Callable[..., Any]) -> None:
    """A receiver behind a path prefix gets its requests under that prefix."""
    with respx.mock() as router:
        route = router.get("http://proxy.test/cisizer/health").respond(
            json={"status": "ok"}
        )
        make_client(base_url="http://proxy.test/cisizer/").health()

    assert route.call_count == 1


@pytest.mark.parametrize(
    "url", [None, "", "ftp://cisizer.test", "cisizer.test", "http://[::1"]
)
def test_a_missing_or_bad_url_is_a_configuration_error(
    make_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, url: str | None
) -> None:
    """No URL, or one that is not http(s) with a host, fails at construction."""
    monkeypatch.delenv("CISIZER_URL", raising=False)

    with pytest.raises(ConfigurationError) as caught:
        make_client(base_url=url)

    assert isinstance(caught.value, ValueError)
    assert "URL" in str(caught.value)


@pytest.mark.parametrize(
    "url", ["http://cisizer.test/api/v1", "https://proxy.test/cisizer/api/v1/"]
)
def test_a_url_of_the_api_rather_than_the_receiver_is_refused(
    make_client: Callable[..., Any], url: str
) -> None:
    """A URL ending in /api/v1 would double it in every request; it is refused."""
    with pytest.raises(ConfigurationError) as caught:
        make_client(base_url=url)

    assert str(caught.value) == (
        f"receiver URL must be the receiver's root, without /api/v1, got {url!r}"
    )


def test_path_segments_are_percent_encoded(
    client: Any, api: respx.MockRouter, samples: Any
) -> None:
    """A workflow name with a space or a '#' stays one path segment."""
    route = api.get(
        url=f"{BASE_URL}/api/v1/sizing/repo/my-org/my-repo/ci%20main%23.yml/build"
    ).respond(json=converter.unstructure(samples.sizing))

    client.sizing("my-org", "my-repo", "ci main#.yml", "build")

    assert route.call_count == 1


def test_dot_segments_stay_path_segments(client: Any, api: respx.MockRouter) -> None:
    """A job named ".." is sent as %2E%2E, not resolved to the parent path."""
    route = api.get(url__regex=r".*").respond(json={"runs": 0})

    with pytest.raises(UnexpectedResponseError):
        client.energy("my-org", "my-repo", ".", "..")

    raw_path = route.calls.last.request.url.raw_path
    assert raw_path == b"/api/v1/energy/repo/my-org/my-repo/%2E/%2E%2E"


SLASHED_NAMES = [
    ("sizing", "workflow", lambda c: c.sizing("o", "r", ".github/ci.yml", "build")),
    ("sizing", "job", lambda c: c.sizing("o", "r", "ci.yml", "rspec 1/3")),
    ("sizing", "organization", lambda c: c.sizing("grp/sub", "r", "ci.yml", "b")),
    ("job_metrics", "job", lambda c: c.job_metrics("o", "r", "ci.yml", "a/b")),
    (
        "iter_job_metrics",
        "workflow",
        lambda c: list(c.iter_job_metrics("o", "r", "w/x", "b")),
    ),
    ("energy", "job", lambda c: c.energy("o", "r", "ci.yml", "a/b")),
    (
        "success_failure_stats",
        "job",
        lambda c: c.success_failure_stats("o", "r", "ci.yml", "a/b"),
    ),
    (
        "create_push_token",
        "job",
        lambda c: c.create_push_token("o", "o/r", "ci.yml", "a/b"),
    ),
    (
        "create_push_token (JobKey)",
        "organization",
        lambda c: c.create_push_token(JobKey("grp/sub", "grp/sub/r", "w", "j")),
    ),
    ("runner_metrics", "runner", lambda c: c.runner_metrics("pool/7")),
    ("runner_report", "runner", lambda c: c.runner_report("pool/7")),
    (
        "set_override",
        "organization",
        lambda c: c.set_override("grp/sub", override=Override(runs=7)),
    ),
    (
        "set_override",
        "workflow",
        lambda c: c.set_override("o", "r", "w/x", override=Override(runs=7)),
    ),
    ("delete_override", "job", lambda c: c.delete_override("o", "r", "w", "a/b")),
    (
        "organization_metrics",
        "organization",
        lambda c: c.organization_metrics("grp/sub"),
    ),
    (
        "repository_sizing",
        "organization",
        lambda c: c.repository_sizing("grp/sub", "proj"),
    ),
    (
        "compare_repositories",
        "organization",
        lambda c: c.compare_repositories("grp/sub"),
    ),
    (
        "compare_workflows",
        "repository",
        lambda c: c.compare_workflows("grp", "grp/sub/proj"),
    ),
    ("repository_metrics", "repository", lambda c: c.repository_metrics("o", "o/")),
]


@pytest.mark.parametrize(
    ("argument", "call"),
    [(argument, call) for _, argument, call in SLASHED_NAMES],
    ids=[f"{method}-{argument}" for method, argument, _ in SLASHED_NAMES],
)
def test_a_name_with_a_slash_is_refused_before_sending(
    client: Any, api: respx.MockRouter, argument: str, call: Use
) -> None:
    """A '/' in a name raises InvalidArgumentError naming it, and nothing is sent."""
    route = api.route().respond(500)

    with pytest.raises(InvalidArgumentError) as caught:
        call(client)

    assert str(caught.value).startswith(f"{argument}: ")
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, CISizerError)
    assert route.call_count == 0


def test_a_slashed_name_says_what_is_wrong(client: Any) -> None:
    """The message quotes the name and says '/' is not allowed in it."""
    with pytest.raises(InvalidArgumentError) as caught:
        client.sizing("my-org", "my-repo", ".gitlab-ci.yml", "rspec 1/3")

    assert str(caught.value) == ("job: must not contain '/' (got 'rspec 1/3')")


def test_a_full_repository_name_is_sent_as_its_short_name(
    client: Any, api: respx.MockRouter, samples: Any
) -> None:
    """'my-org/my-repo' is the repository my-repo of my-org, not a slashed name."""
    route = api.get("/api/v1/sizing/repo/my-org/my-repo/ci.yml/build").respond(
        json=converter.unstructure(samples.sizing)
    )

    client.sizing("my-org", "my-org/my-repo", "ci.yml", "build")

    assert route.call_count == 1


def test_a_repository_of_another_organization_is_refused(client: Any) -> None:
    """A full repository name whose owner is not the organization is refused."""
    with pytest.raises(InvalidArgumentError) as caught:
        client.sizing("my-org", "other-org/my-repo", "ci.yml", "build")

    assert str(caught.value) == (
        "repository: 'other-org/my-repo' is not in organization 'my-org'"
    )


def test_a_nested_repository_name_is_refused(client: Any) -> None:
    """A GitLab subgroup path as repository is refused, saying which forms work."""
    with pytest.raises(InvalidArgumentError) as caught:
        client.set_override("grp", "grp/sub/proj", override=Override(runs=7))

    assert str(caught.value) == (
        "repository: 'grp/sub/proj' must be 'repo' or 'org/repo', with no further '/'"
    )


@pytest.mark.parametrize(
    ("job", "message"),
    [
        ("", "job: must not be empty (got '')"),
        (" ", "job: must not be only whitespace (got ' ')"),
        (
            "a\u202eb",
            "job: must not contain invisible characters such as U+202E "
            "(got 'a\\u202eb')",
        ),
        (
            "x" * 256,
            f"job: must be at most 255 characters (got '{'x' * 59}…')",
        ),
    ],
)
def test_an_invalid_name_is_refused_with_the_receivers_rule(
    client: Any, api: respx.MockRouter, job: str, message: str
) -> None:
    """A name the receiver would refuse fails the same way, without a request."""
    route = api.route().respond(500)

    with pytest.raises(InvalidArgumentError) as caught:
        client.energy("my-org", "my-repo", "ci.yml", job)

    assert str(caught.value) == message
    assert route.call_count == 0


def test_a_runner_named_overview_has_no_report(
    client: Any, api: respx.MockRouter
) -> None:
    """runner_report("overview") is refused instead of decoding the fleet."""
    route = api.route().respond(500)

    with pytest.raises(InvalidArgumentError) as caught:
        client.runner_report("overview")

    assert str(caught.value) == (
        "runner: 'overview' has no report of its own, since "
        "/api/v1/runners/overview is the fleet overview"
    )
    assert route.call_count == 0


def test_an_override_scope_needs_every_wider_part(client: Any) -> None:
    """A job override without its workflow is refused before any request."""
    with pytest.raises(InvalidArgumentError, match="wider"):
        client.delete_override("my-org", "my-repo", None, "build")


def test_create_push_token_needs_a_key_or_four_names(client: Any) -> None:
    """Half a job key is a TypeError, not a request with holes."""
    with pytest.raises(TypeError):
        client.create_push_token("my-org", "my-repo")


def test_timeout_is_sent_with_every_request(
    make_client: Callable[..., Any], api: respx.MockRouter
) -> None:
    """The default 10 s timeout, or the one given, applies to each request."""
    route = api.get("/health").respond(json={"status": "ok"})

    make_client().health()
    default = route.calls.last.request.extensions["timeout"]
    make_client(timeout=2.5).health()
    chosen = route.calls.last.request.extensions["timeout"]

    assert default == {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}
    assert chosen == {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}


def test_sync_client_uses_an_injected_http_client_and_leaves_it_open() -> None:
    """An httpx.Client passed in carries its own headers and is not closed."""
    http = httpx.Client(headers={"X-Tenant": "blue"})
    with respx.mock(base_url=BASE_URL) as router:
        route = router.get("/health").respond(json={"status": "ok"})
        with Client(BASE_URL, READ_TOKEN, http_client=http) as client:
            client.health()

    assert route.calls.last.request.headers["X-Tenant"] == "blue"
    assert not http.is_closed
    http.close()


@pytest.mark.asyncio
async def test_async_client_uses_an_injected_http_client_and_leaves_it_open() -> None:
    """An httpx.AsyncClient passed in carries its own headers and is not closed."""
    http = httpx.AsyncClient(headers={"X-Tenant": "blue"})
    with respx.mock(base_url=BASE_URL) as router:
        route = router.get("/health").respond(json={"status": "ok"})
        async with AsyncClient(BASE_URL, READ_TOKEN, http_client=http) as client:
            await client.health()

    assert route.calls.last.request.headers["X-Tenant"] == "blue"
    assert not http.is_closed
    await http.aclose()


def test_sync_context_manager_closes_its_own_http_client() -> None:
    """Leaving the with block closes the connections the client opened."""
    with Client(BASE_URL, READ_TOKEN) as client:
        http = client._http

    assert http.is_closed


@pytest.mark.asyncio
async def test_async_context_manager_closes_its_own_http_client() -> None:
    """Leaving the async with block closes the connections the client opened."""
    async with AsyncClient(BASE_URL, READ_TOKEN) as client:
        http = client._http

    assert http.is_closed


def test_repr_shows_the_url_but_never_the_token(client: Any) -> None:
    """The client's repr names the receiver and hides the token."""
    text = repr(getattr(client, "wrapped", client))

    assert BASE_URL in text
    assert READ_TOKEN not in text
