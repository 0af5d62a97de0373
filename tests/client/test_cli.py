"""The cisizer command line against a mocked receiver."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import click
import httpx
import pytest
import respx
from click.testing import CliRunner, Result

from cisizer.client._cli import EXIT_CODES, main
from cisizer.core import MemoryQoS, Override, OverrideScope, converter

BASE_URL = "http://cisizer.test"
TOKEN = "cli-read-token"
SIZING_PATH = "/api/v1/sizing/repo/my-org/my-repo/ci.yml/build"
JOB = ["my-org", "my-repo", "ci.yml", "build"]


def run_cli(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """Run ``cisizer ARGS`` with the mocked receiver in the environment."""
    environment: dict[str, str | None] = {
        "CISIZER_URL": BASE_URL,
        "CISIZER_READ_TOKEN": TOKEN,
    }
    environment.update(env or {})
    return CliRunner().invoke(main, list(args), env=environment)


@pytest.fixture
def cli_api() -> Iterator[respx.MockRouter]:
    """The mocked receiver the command line talks to."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


def test_sizing_prints_a_table(cli_api: respx.MockRouter, samples: Any) -> None:
    """The sizing table shows each container, the total and how it was made."""
    route = cli_api.get(SIZING_PATH).respond(json=converter.unstructure(samples.sizing))

    result = run_cli("sizing", *JOB, "--runs", "10", "--cpu-percentile", "p99")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "CONTAINER", "CPU", "REQUEST", "CPU", "LIMIT", "MEMORY", "REQUEST",
        "MEMORY", "LIMIT",
    ]  # fmt: skip
    assert lines[1].split() == ["runner", "960m", "1", "(advice)", "1Gi", "1Gi"]
    assert lines[2].split() == ["total", "960m", "1", "1Gi", "1Gi"]
    assert "5 run(s) analysed, confidence medium" in result.stdout
    assert "overrides: org" in result.stdout
    request = route.calls.last.request
    assert dict(request.url.params) == {"runs": "10", "cpu_percentile": "p99"}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_sizing_json_is_the_receivers_answer(
    cli_api: respx.MockRouter, samples: Any
) -> None:
    """--json prints the sizing exactly as the receiver sent it."""
    answer = converter.unstructure(samples.sizing)
    cli_api.get(SIZING_PATH).respond(json=answer)

    result = run_cli("sizing", *JOB, "--json")

    assert result.exit_code == 0
    assert json.loads(result.stdout) == answer


def test_url_and_token_options_beat_the_environment(cli_api: respx.MockRouter) -> None:
    """--url and --token are used over CISIZER_URL and CISIZER_READ_TOKEN."""
    with respx.mock() as router:
        route = router.get("http://other.test/health").respond(json={"status": "ok"})
        router.get("http://other.test/api/v1/info").respond(
            json={
                "version": "0.1.0",
                "auth_mode": "none",
                "ci_provider": None,
                "forgejo_base_url": None,
                "logout_url": "https://sso.example/logout",
            }
        )
        result = run_cli("info", "--url", "http://other.test", "--token", "flag-token")

    assert result.exit_code == 0, result.output
    assert route.calls.last.request.headers["Authorization"] == "Bearer flag-token"
    assert [line.split("  ")[0] for line in result.stdout.splitlines()] == [
        "FIELD",
        "health",
        "version",
        "auth mode",
        "ci provider",
        "forgejo base url",
        "logout url",
    ]
    assert result.stdout.splitlines()[-1].split() == [
        "logout",
        "url",
        "https://sso.example/logout",
    ]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (404, 3),
        (401, 4),
        (403, 4),
        (400, 5),
        (413, 5),
        (422, 5),
        (500, 6),
        (503, 6),
        (409, 1),
    ],
)
def test_error_answers_have_distinct_exit_codes(
    cli_api: respx.MockRouter, status: int, code: int
) -> None:
    """Not found, auth, invalid and server errors each exit with their own code."""
    cli_api.get(SIZING_PATH).respond(
        status, json={"title": "Problem", "status": status, "detail": "no runs yet"}
    )

    result = run_cli("sizing", *JOB)

    assert result.exit_code == code
    assert result.stdout == ""
    assert "cisizer: error: " in result.stderr
    assert "no runs yet" in result.stderr


def test_an_unreachable_receiver_exits_7(cli_api: respx.MockRouter) -> None:
    """A refused connection, after the retries, exits with the transport code."""
    route = cli_api.get(SIZING_PATH).mock(side_effect=httpx.ConnectError("refused"))

    result = run_cli("sizing", *JOB)

    assert result.exit_code == 7
    assert route.call_count == 4
    assert "ConnectError" in result.stderr


def test_an_unexpected_body_exits_6(cli_api: respx.MockRouter) -> None:
    """A 200 that is not a sizing is the receiver's fault: exit 6."""
    cli_api.get(SIZING_PATH).respond(json={"containers": "many"})

    result = run_cli("sizing", *JOB)

    assert result.exit_code == 6
    assert "body is not a Sizing" in result.stderr


@pytest.mark.parametrize("url", [None, ""])
def test_no_url_is_a_usage_error(url: str | None) -> None:
    """Without --url or CISIZER_URL the command exits 2 naming both."""
    result = run_cli("overrides", "list", env={"CISIZER_URL": url})

    assert result.exit_code == 2
    assert result.stderr == (
        "cisizer: error: no receiver URL: pass --url or set CISIZER_URL\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["overrides", "set", "grp/sub", "--runs", "7"],
            "organization: must not contain '/' (got 'grp/sub')",
        ),
        (
            ["overrides", "delete", "grp", "grp/sub/proj"],
            "repository: 'grp/sub/proj' must be 'repo' or 'org/repo', "
            "with no further '/'",
        ),
        (
            ["overrides", "set", "my-org", "other/my-repo", "--runs", "7"],
            "repository: 'other/my-repo' is not in organization 'my-org'",
        ),
        (
            ["sizing", "my-org", "my-repo", ".gitlab-ci.yml", "rspec 1/3"],
            "job: must not contain '/' (got 'rspec 1/3')",
        ),
        (
            ["token", "my-org", "my-repo", ".github/workflows/ci.yml", "build"],
            "workflow: must not contain '/' (got '.github/workflows/ci.yml')",
        ),
        (
            ["metrics", "runner", "pool/7"],
            "runner: must not contain '/' (got 'pool/7')",
        ),
        (
            ["overview", "--org", "grp/sub"],
            "organization: must not contain '/' (got 'grp/sub')",
        ),
        (
            ["metrics", "job", "my-org", "my-repo", "ci.yml", ""],
            "job: must not be empty (got '')",
        ),
    ],
)
def test_a_name_no_request_can_carry_exits_2(args: list[str], message: str) -> None:
    """A '/' or empty name is a bad command line: exit 2, its name, no request."""
    with respx.mock() as router:
        result = run_cli(*args)

    assert result.exit_code == 2
    assert result.stderr == f"cisizer: error: {message}\n"
    assert router.calls.call_count == 0


@pytest.mark.parametrize(
    "args",
    [
        ["sizing", "my-org", "my-repo", "ci.yml"],
        ["sizing", *JOB, "--runs", "0"],
        ["sizing", *JOB, "--cpu-percentile", "p42"],
        ["metrics", "job", *JOB, "--from", "yesterday"],
        ["overrides", "set", "my-org"],
        ["overrides", "delete", "a", "b", "c", "d", "e"],
    ],
)
def test_bad_command_lines_exit_2(args: list[str]) -> None:
    """Missing arguments and bad values are usage errors, exit 2, no request."""
    with respx.mock() as router:
        result = run_cli(*args)

    assert result.exit_code == 2
    assert router.calls.call_count == 0


def test_token_prints_only_the_token(cli_api: respx.MockRouter, samples: Any) -> None:
    """cisizer token prints the token alone on stdout, for $(…) in scripts."""
    route = cli_api.post("/api/v1/token").respond(
        json=converter.unstructure(samples.push_token)
    )

    result = run_cli("token", *JOB)

    assert result.exit_code == 0
    assert result.stdout == "eyJ.push.token\n"
    assert "expires at 2026-02-06T16:30:00+00:00" in result.stderr
    assert json.loads(route.calls.last.request.content) == {
        "organization": "my-org",
        "repository": "my-repo",
        "workflow": "ci.yml",
        "job": "build",
    }


def test_metrics_job_lists_runs(cli_api: respx.MockRouter, samples: Any) -> None:
    """cisizer metrics job shows one line per run with its peaks."""
    route = cli_api.get("/api/v1/metrics/repo/my-org/my-repo/ci.yml/build").respond(
        json=[
            converter.unstructure(samples.make_run(2)),
            converter.unstructure(samples.run),
        ]
    )

    result = run_cli(
        "metrics", "job", *JOB, "--from", "2026-02-01", "--to", "2026-02-07T00:00:00Z",
        "--limit", "2",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].split() == [
        "2", "my-org/my-repo/ci.yml/build", "run-2#1", "success", "runner-7",
        "2026-02-06T14:30:22Z", "20.0s", "2.01", "17.7Mi",
    ]  # fmt: skip
    assert len(lines) == 3
    assert dict(route.calls.last.request.url.params) == {
        "from": "2026-02-01T00:00:00Z",
        "to": "2026-02-07T00:00:00Z",
        "limit": "2",
    }


def test_metrics_job_all_walks_every_page(
    cli_api: respx.MockRouter, samples: Any
) -> None:
    """--all fetches page after page and prints every run as JSON."""
    pages = [[samples.make_run(3), samples.make_run(2)], [samples.make_run(1)]]
    route = cli_api.get("/api/v1/metrics/repo/my-org/my-repo/ci.yml/build").mock(
        side_effect=[httpx.Response(200, json=converter.unstructure(p)) for p in pages]
    )

    result = run_cli("metrics", "job", *JOB, "--all", "--limit", "2", "--json")

    assert result.exit_code == 0, result.output
    assert [run["id"] for run in json.loads(result.stdout)] == [3, 2, 1]
    assert route.call_count == 2


def test_metrics_runner_lists_runs(cli_api: respx.MockRouter, samples: Any) -> None:
    """cisizer metrics runner queries the runner's runs."""
    route = cli_api.get("/api/v1/metrics/runner/runner-7").respond(
        json=[converter.unstructure(samples.run)]
    )

    result = run_cli("metrics", "runner", "runner-7", "--json")

    assert result.exit_code == 0
    assert json.loads(result.stdout) == [converter.unstructure(samples.run)]
    assert route.call_count == 1


def test_metrics_energy_prints_the_figures(
    cli_api: respx.MockRouter, samples: Any
) -> None:
    """cisizer metrics energy shows watt-hours and grams of CO2e."""
    cli_api.get("/api/v1/energy/repo/my-org/my-repo/ci.yml/build").respond(
        json=converter.unstructure(samples.energy)
    )

    result = run_cli("metrics", "energy", *JOB)

    assert result.exit_code == 0
    assert "energy (Wh)           1.60" in result.stdout
    assert "carbon (gCO2e)        0.90" in result.stdout


def test_metrics_stats_prints_counts_and_rate(
    cli_api: respx.MockRouter, samples: Any
) -> None:
    """cisizer metrics stats shows runs per status and the success rate."""
    cli_api.get(
        "/api/v1/success-failure-stats/repo/my-org/my-repo/ci.yml/build"
    ).respond(json=converter.unstructure(samples.stats))

    result = run_cli("metrics", "stats", *JOB)

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["success", "3", "75.0%"]
    assert lines[2].split() == ["failure", "1", "25.0%"]
    assert lines[-1] == "4 run(s), success rate 75.0%"


def test_overrides_list(cli_api: respx.MockRouter, samples: Any) -> None:
    """cisizer overrides list shows each scope and its settings."""
    cli_api.get("/api/v1/sizing/overrides").respond(
        json=[converter.unstructure(samples.stored_override)]
    )

    result = run_cli("overrides", "list")

    assert result.exit_code == 0
    assert result.stdout.splitlines()[1].split() == [
        "repo",
        "my-org/my-repo",
        "runs=10,",
        "cpu_sizing_mode=enforce,",
        "max_memory=8Gi",
        "2026-02-06",
        "09:00:00+00:00",
    ]


def test_overrides_list_names_each_scope_once(
    cli_api: respx.MockRouter, samples: Any
) -> None:
    """Org, repo, workflow and job scopes read my-org/my-repo/ci.yml/build."""
    scopes = [
        OverrideScope("my-org"),
        OverrideScope("my-org", "my-org/my-repo"),
        OverrideScope("my-org", "my-org/my-repo", "ci.yml"),
        OverrideScope("my-org", "my-org/my-repo", "ci.yml", "build"),
    ]
    stored = [attrs.evolve(samples.stored_override, scope=scope) for scope in scopes]
    cli_api.get("/api/v1/sizing/overrides").respond(json=converter.unstructure(stored))

    result = run_cli("overrides", "list")

    assert result.exit_code == 0, result.output
    assert [line.split()[:2] for line in result.stdout.splitlines()[1:]] == [
        ["org", "my-org"],
        ["repo", "my-org/my-repo"],
        ["workflow", "my-org/my-repo/ci.yml"],
        ["job", "my-org/my-repo/ci.yml/build"],
    ]


def test_overrides_list_fetches_one_page_or_all(
    cli_api: respx.MockRouter, samples: Any
) -> None:
    """--limit and --offset ask for one page; --all walks every page."""
    rows = [
        converter.unstructure(
            attrs.evolve(samples.stored_override, scope=OverrideScope(org))
        )
        for org in ("a", "b", "c")
    ]
    route = cli_api.get("/api/v1/sizing/overrides").mock(
        side_effect=[
            httpx.Response(200, json=rows[:1]),
            httpx.Response(200, json=rows[:2]),
            httpx.Response(200, json=rows[2:]),
        ]
    )

    page = run_cli("overrides", "list", "--limit", "1", "--offset", "3")
    every = run_cli("overrides", "list", "--all", "--limit", "2", "--json")

    assert page.exit_code == 0, page.output
    assert len(page.stdout.splitlines()) == 2
    assert every.exit_code == 0, every.output
    assert json.loads(every.stdout) == rows
    assert [dict(call.request.url.params) for call in route.calls] == [
        {"limit": "1", "offset": "3"},
        {"limit": "2", "offset": "0"},
        {"limit": "2", "offset": "2"},
    ]


def test_overrides_set_sends_the_settings(
    cli_api: respx.MockRouter, samples: Any
) -> None:
    """cisizer overrides set PUTs only the settings given, at the scope named."""
    stored = attrs.evolve(
        samples.stored_override,
        scope=OverrideScope("my-org", "my-org/my-repo", "ci.yml"),
    )
    route = cli_api.put("/api/v1/sizing/overrides/my-org/my-repo/ci.yml").respond(
        json=converter.unstructure(stored)
    )

    result = run_cli(
        "overrides", "set", "my-org", "my-repo", "ci.yml",
        "--runs", "10", "--buffer", "30", "--memory-qos", "burstable",
        "--max-memory", "8Gi",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    expected = Override(
        runs=10, buffer_percent=30, memory_qos=MemoryQoS.BURSTABLE, max_memory="8Gi"
    )
    body = json.loads(route.calls.last.request.content)
    assert body == converter.unstructure(expected)
    assert result.stdout == "override set at workflow scope: my-org/my-repo/ci.yml\n"


def test_overrides_delete(cli_api: respx.MockRouter) -> None:
    """cisizer overrides delete removes the override at the scope named."""
    route = cli_api.delete("/api/v1/sizing/overrides/my-org").respond(204)

    result = run_cli("overrides", "delete", "my-org")

    assert result.exit_code == 0
    assert route.call_count == 1
    assert result.stdout == "override deleted: my-org\n"


@pytest.mark.parametrize("repo", ["my-repo", "my-org/my-repo"])
def test_overrides_delete_names_the_scope_once(
    cli_api: respx.MockRouter, repo: str
) -> None:
    """A short or full repository name deletes and prints my-org/my-repo/…."""
    route = cli_api.delete(
        "/api/v1/sizing/overrides/my-org/my-repo/ci.yml/build"
    ).respond(204)

    result = run_cli("overrides", "delete", "my-org", repo, "ci.yml", "build")
    as_json = run_cli(
        "overrides", "delete", "my-org", repo, "ci.yml", "build", "--json"
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == "override deleted: my-org/my-repo/ci.yml/build\n"
    assert json.loads(as_json.stdout) == {"deleted": "my-org/my-repo/ci.yml/build"}
    assert route.call_count == 2


def test_overrides_delete_of_a_missing_override_exits_3(
    cli_api: respx.MockRouter,
) -> None:
    """Deleting an override that does not exist is not found: exit 3."""
    cli_api.delete("/api/v1/sizing/overrides/my-org").respond(
        404, json={"title": "Not found", "detail": "no override at org scope"}
    )

    result = run_cli("overrides", "delete", "my-org")

    assert result.exit_code == 3


def _commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


@pytest.mark.parametrize("command", list(_commands(main)), ids=" ".join)
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    """--help works on every command and group, and lists the exit codes."""
    result = run_cli(*command, "--help")

    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ")
    assert "3  not found" in result.stdout


def test_token_help_shows_the_shell_line_as_plain_text() -> None:
    """cisizer token --help shows the export line verbatim, without backticks."""
    result = run_cli("token", "--help")

    assert result.exit_code == 0
    assert "`" not in result.stdout
    assert (
        "\n    export CISIZER_PUSH_TOKEN=$(cisizer token ORG REPO WORKFLOW JOB)\n"
        in result.stdout
    )


@pytest.mark.parametrize("command", list(_commands(main)), ids=" ".join)
def test_help_has_no_markup(command: tuple[str, ...]) -> None:
    """No --help text shows reStructuredText backticks or a backspace mark."""
    result = run_cli(*command, "--help")

    assert "``" not in result.stdout
    assert "\b" not in result.stdout


@pytest.mark.parametrize("group", ["", "metrics", "overrides"])
def test_command_lists_show_whole_summaries(group: str) -> None:
    """Each command a group lists has its one-line summary, not a cut-off one."""
    result = run_cli(*group.split(), "--help")

    listed = result.stdout.split("Commands:\n")[1].split("\n\n")[0].splitlines()
    assert listed
    assert [line for line in listed if not line.endswith(".")] == []
    assert [line for line in listed if line.endswith("...")] == []


def test_overrides_set_usage_names_the_scope() -> None:
    """overrides set --help shows ORG [REPO [WORKFLOW [JOB]]] and each setting."""
    result = run_cli("overrides", "set", "--help")

    assert result.stdout.startswith(
        "Usage: main overrides set [OPTIONS] ORG [REPO [WORKFLOW [JOB]]]\n"
    )
    help_text = " ".join(result.stdout.split())
    assert "--cpu-percentile [peak|p99|p95|p75|p50|avg] CPU statistic" in help_text
    assert "--cpu-sizing-mode [observe|enforce] Whether the CPU limit" in help_text
    assert "--memory-qos [guaranteed|burstable] Kubernetes QoS class" in help_text


def test_exit_codes_are_distinct() -> None:
    """Each documented exit code has one meaning."""
    assert sorted(EXIT_CODES) == list(range(8))


def test_overview_shows_global_and_per_organization_kpis(
    cli_api: respx.MockRouter, samples: Any
) -> None:
    """cisizer overview prints an all row, one row per org and the page."""
    route = cli_api.get("/api/v1/metrics/overview").respond(
        json=converter.unstructure(samples.overview)
    )

    result = run_cli("overview", "--from", "2026-02-01")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["ORGANIZATION", "RUNS", "SUCCESS"]
    assert lines[1].split() == [
        "all", "4", "75.0%", "10m00s", "2.00", "0.50", "700.0Mi", "6.4", "3.6",
        "2026-02-06T14:40:00Z",
    ]  # fmt: skip
    assert lines[2].split()[0] == "my-org"
    assert lines[-1] == "rows 1-1 of 1"
    assert dict(route.calls.last.request.url.params) == {"from": "2026-02-01T00:00:00Z"}


def test_overview_of_an_org_and_a_repository(
    cli_api: respx.MockRouter, samples: Any
) -> None:
    """--org shows repositories; --org with --repo shows workflows and jobs."""
    cli_api.get("/api/v1/metrics/org/my-org").respond(
        json=converter.unstructure(samples.organization_report)
    )
    cli_api.get("/api/v1/metrics/org/my-org/repo/my-repo").respond(
        json=converter.unstructure(samples.repository_report)
    )

    org = run_cli("overview", "--org", "my-org")
    repo = run_cli("overview", "--org", "my-org", "--repo", "my-repo")

    assert org.exit_code == 0, org.output
    assert org.stdout.splitlines()[2].split()[0] == "my-org/my-repo"
    assert repo.exit_code == 0, repo.output
    names = [line.split()[0] for line in repo.stdout.splitlines()[1:4]]
    assert names == ["all", "ci.yml", "ci.yml/build"]


def test_overview_repo_without_org_is_a_usage_error() -> None:
    """--repo alone cannot name a repository: exit 2."""
    result = run_cli("overview", "--repo", "my-repo")

    assert result.exit_code == 2


def test_overview_all_gathers_every_row(
    cli_api: respx.MockRouter, samples: Any
) -> None:
    """--all --json prints one report holding the rows of every page."""
    row = samples.overview.organizations[0]

    def page(names: list[str], offset: int) -> httpx.Response:
        rows = tuple(attrs.evolve(row, organization=name) for name in names)
        report = attrs.evolve(
            samples.overview, organizations=rows, total=3, limit=2, offset=offset
        )
        return httpx.Response(200, json=converter.unstructure(report))

    cli_api.get("/api/v1/metrics/overview").mock(
        side_effect=[page(["a"], 0), page(["a", "b"], 0), page(["c"], 2)]
    )

    result = run_cli("overview", "--all", "--limit", "2", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [row["organization"] for row in report["organizations"]] == ["a", "b", "c"]
    assert (report["total"], report["limit"], report["offset"]) == (3, 3, 0)


def test_sizing_overview_shows_jobs_and_savings(
    cli_api: respx.MockRouter, samples: Any
) -> None:
    """cisizer sizing-overview ORG REPO lists each job with its savings."""
    cli_api.get("/api/v1/sizing/org/my-org/repo/my-repo").respond(
        json=converter.unstructure(samples.sizing_overview)
    )

    result = run_cli("sizing-overview", "my-org", "my-repo")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].split() == [
        "my-org/my-repo/ci.yml/build", "4", "960m", "1Gi", "4.0", "4.0Gi",
        "+3.00", "+3.00Gi",
    ]  # fmt: skip


def test_compare_sends_sort_and_order(cli_api: respx.MockRouter, samples: Any) -> None:
    """cisizer compare ORG REPO asks for workflows sorted as given."""
    route = cli_api.get("/api/v1/compare/workflows").respond(
        json=converter.unstructure(samples.workflow_comparison)
    )

    result = run_cli(
        "compare", "my-org", "my-repo", "--sort", "energy_wh", "--order", "asc"
    )

    assert result.exit_code == 0, result.output
    assert dict(route.calls.last.request.url.params) == {
        "org": "my-org",
        "repo": "my-repo",
        "sort": "energy_wh",
        "order": "asc",
    }
    assert result.stdout.splitlines()[1].split()[0] == "ci.yml"
    assert result.stdout.endswith("rows 1-1 of 1, sorted by energy_wh asc\n")


def test_compare_repositories(cli_api: respx.MockRouter, samples: Any) -> None:
    """cisizer compare ORG compares the organization's repositories."""
    cli_api.get("/api/v1/compare/repos").respond(
        json=converter.unstructure(samples.repository_comparison)
    )

    result = run_cli("compare", "my-org")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].split()[0] == "my-org/my-repo"


def test_runners_lists_known_runners(cli_api: respx.MockRouter, samples: Any) -> None:
    """cisizer runners lists each runner with its runs and when it was seen."""
    cli_api.get("/api/v1/runners").respond(
        json=converter.unstructure(samples.runner_list)
    )

    result = run_cli("runners")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].split() == [
        "runner-7", "4", "2026-02-01T00:00:00Z", "2026-02-06T14:40:00Z",
    ]  # fmt: skip


def test_runners_overview_shows_utilisation(
    cli_api: respx.MockRouter, samples: Any
) -> None:
    """cisizer runners --overview shows per-runner and fleet utilisation."""
    cli_api.get("/api/v1/runners/overview").respond(
        json=converter.unstructure(samples.runner_overview)
    )

    result = run_cli("runners", "--overview")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].split()[:3] == ["runner-7", "12.5%", "4"]
    assert "1 active runner(s), 4 run(s), utilisation 12.5%" in result.stdout


def test_runners_of_one_runner(cli_api: respx.MockRouter, samples: Any) -> None:
    """cisizer runners RUNNER shows the runner per organization."""
    cli_api.get("/api/v1/runners/runner-7").respond(
        json=converter.unstructure(samples.runner_report)
    )

    result = run_cli("runners", "runner-7", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == converter.unstructure(samples.runner_report)


def test_runners_with_a_runner_and_overview_is_a_usage_error() -> None:
    """A runner name and --overview together are ambiguous: exit 2."""
    result = run_cli("runners", "runner-7", "--overview")

    assert result.exit_code == 2


DOCS = Path(__file__).parents[2] / "docs" / "client.md"


def _documented_commands() -> list[tuple[tuple[str, ...], set[str]]]:
    """Return each command of the docs' command table and the flags it shows."""
    commands = []
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `cisizer "):
            continue
        synopsis = line.split("`")[1]
        words = synopsis.split()[1:]
        path = tuple(itertools.takewhile(lambda w: re.fullmatch("[a-z-]+", w), words))
        commands.append((path, set(re.findall(r"--[a-z-]+", synopsis))))
    return commands


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def _flags(command: click.Command) -> set[str]:
    return {opt for param in command.params for opt in param.opts if opt[:2] == "--"}


def test_docs_list_every_command_with_real_flags() -> None:
    """docs/client.md names each command once, with flags the command has."""
    documented = _documented_commands()
    leaves = [path for path in _commands(main) if path and not _is_group(path)]

    assert sorted(path for path, _ in documented) == sorted(leaves)
    for path, flags in documented:
        assert flags <= _flags(_command(path)), path


def test_docs_name_the_listing_commands() -> None:
    """The commands with --all are the ones the docs call listing commands."""
    text = " ".join(DOCS.read_text(encoding="utf-8").split())
    sentence = text.split("The listing commands (")[1].split(")")[0]
    named = {tuple(name.strip("` ").split()) for name in sentence.split(",")}
    paging = {
        path
        for path in _commands(main)
        if path and not _is_group(path) and "--all" in _flags(_command(path))
    }

    assert named == paging
    assert {path for path in paging if "--from" not in _flags(_command(path))} == {
        ("overrides", "list")
    }


def _is_group(path: tuple[str, ...]) -> bool:
    return isinstance(_command(path), click.Group)
