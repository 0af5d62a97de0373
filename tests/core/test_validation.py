"""Tests of push, token-request and override validation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cisizer.core import (
    MAX_RUN_SECONDS,
    Override,
    Problem,
    PushTokenRequest,
    RunStatus,
    ValidationError,
    check_name,
    parse_datetime,
    parse_override,
    parse_push,
    parse_push_token_request,
    qualify_repository,
)


def problems_of(data: object) -> list[str]:
    """Return the problems parse_push reports, as 'path: message' strings."""
    with pytest.raises(ValidationError) as caught:
        parse_push(data)
    return [str(problem) for problem in caught.value.problems]


def test_parse_push_reads_the_design_example(push_body: dict[str, Any]) -> None:
    """The DESIGN §3.1 example parses into the values it states."""
    push = parse_push(push_body)

    assert push.repository == "my-org/my-repo"
    assert push.status is RunStatus.SUCCESS
    assert push.runner == "runner-7"
    assert push.payload.start_time == datetime(
        2026, 2, 6, 14, 30, 2, 185000, tzinfo=UTC
    )
    container = push.payload.containers[0]
    assert container.cpu_cores.p99 == 2.006
    assert container.memory_bytes.p75 is None
    assert container.limits is not None
    assert container.limits.memory_bytes == 4294967296
    assert push.payload.processes is not None
    assert push.payload.processes[0].peak_memory_bytes == 104857600


def test_parse_push_defaults(push_body: dict[str, Any]) -> None:
    """Absent or null optional fields take their documented defaults."""
    del push_body["run_attempt"]
    push_body["runner"] = None
    push_body["status"] = None
    payload = push_body["payload"]
    for key in ("interval_seconds", "cpu_total_percent"):
        del payload[key]
    payload["processes"] = None
    payload["containers"][0]["limits"] = None
    payload["containers"][0]["cpu_cores"]["p50"] = None

    push = parse_push(push_body)

    assert push.run_attempt == 1
    assert push.runner is None
    assert push.status is RunStatus.UNKNOWN
    assert push.payload.interval_seconds is None
    assert push.payload.processes is None
    assert push.payload.containers[0].limits is None
    assert push.payload.containers[0].cpu_cores.p50 is None


def test_parse_push_qualifies_bare_repository(push_body: dict[str, Any]) -> None:
    """A bare repository name gets the organization as its owner."""
    push_body["repository"] = "my-repo"

    assert parse_push(push_body).repository == "my-org/my-repo"


def test_parse_push_accepts_ints_for_floats(push_body: dict[str, Any]) -> None:
    """JSON integers are fine where a float is expected."""
    push_body["payload"]["duration_seconds"] = 20
    push_body["payload"]["containers"][0]["cpu_cores"]["peak"] = 3

    push = parse_push(push_body)

    assert push.payload.duration_seconds == 20.0
    assert isinstance(push.payload.containers[0].cpu_cores.peak, float)


def test_parse_push_lists_every_problem(push_body: dict[str, Any]) -> None:
    """Every fault is reported at once, each with its path."""
    push_body["repository"] = "other-org/my-repo"
    push_body["job"] = ""
    push_body["workflow"] = "x" * 256
    push_body["run_id"] = "run\n1"
    push_body["run_attempt"] = 0
    push_body["status"] = "passed"
    push_body["extra"] = 1
    payload = push_body["payload"]
    payload["end_time"] = "2026-02-06T14:30:00Z"
    payload["sample_count"] = True
    container = payload["containers"][0]
    container["cpu_cores"]["peak"] = -1
    container["cpu_cores"]["p95"] = float("nan")
    container["memory_bytes"]["avg"] = float("inf")
    container["limits"]["memory_bytes"] = 1.5
    container["oom_kills"] = "0"
    del container["name"]
    payload["processes"][0]["peak_cpu_percent"] = None

    assert problems_of(push_body) == [
        "extra: is not a known field",
        "workflow: must be at most 255 characters",
        "job: must not be empty",
        "run_id: must not contain control characters",
        "repository: owner 'other-org' does not match organization 'my-org'",
        "run_attempt: must be >= 1",
        "status: must be one of success, failure, cancelled, unknown",
        "payload.sample_count: must be an integer",
        "payload.containers[0].name: is required",
        "payload.containers[0].cpu_cores.peak: must be >= 0",
        "payload.containers[0].cpu_cores.p95: must be a finite number",
        "payload.containers[0].memory_bytes.avg: must be a finite number",
        "payload.containers[0].limits.memory_bytes: must be an integer",
        "payload.containers[0].oom_kills: must be an integer",
        "payload.processes[0].peak_cpu_percent: must not be null",
        "payload.end_time: must not be before start_time",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda b: b.pop("payload"), ["payload: is required"]),
        (lambda b: b.update(payload=[]), ["payload: must be a JSON object"]),
        (lambda b: b.update(run_attempt=1.0), ["run_attempt: must be an integer"]),
        (lambda b: b.update(run_attempt="2"), ["run_attempt: must be an integer"]),
        (lambda b: b.update(organization=None), ["organization: must not be null"]),
        (lambda b: b.update(runner=7), ["runner: must be a string"]),
        (
            lambda b: b.update(repository="a/b/c"),
            ["repository: must be 'repo' or 'org/repo'"],
        ),
        (
            lambda b: b["payload"].update(containers=[]),
            ["payload.containers: must list at least one container"],
        ),
        (
            lambda b: b["payload"].update(containers={}),
            ["payload.containers: must be a JSON array"],
        ),
        (
            lambda b: b["payload"]["containers"].append(b["payload"]["containers"][0]),
            ["payload.containers[1].name: repeats an earlier container name"],
        ),
        (
            lambda b: b["payload"].update(start_time="2026-02-06T14:30:02"),
            [
                "payload.start_time: must be an RFC 3339 date-time with a time "
                "zone, e.g. 2026-02-06T14:30:02Z"
            ],
        ),
        (
            lambda b: b["payload"]["containers"][0]["cpu_cores"].update(peak=False),
            ["payload.containers[0].cpu_cores.peak: must be a number"],
        ),
        (
            lambda b: b["payload"]["containers"][0]["memory_bytes"].update(p42=1),
            ["payload.containers[0].memory_bytes.p42: is not a known field"],
        ),
        (
            lambda b: b["payload"].update(duration_seconds=-0.5),
            ["payload.duration_seconds: must be >= 0"],
        ),
    ],
)
def test_parse_push_rejects(
    push_body: dict[str, Any], change: Any, expected: list[str]
) -> None:
    """Each kind of bad body is named with the field's path."""
    change(push_body)

    assert problems_of(push_body) == expected


@pytest.mark.parametrize("body", [[], "x", None, 3])
def test_parse_push_needs_an_object(body: object) -> None:
    """A body that is not a JSON object is one problem about the whole body."""
    assert problems_of(body) == ["must be a JSON object"]


def test_parse_push_accepts_equal_start_and_end(push_body: dict[str, Any]) -> None:
    """A run that ends the instant it starts is valid."""
    payload = push_body["payload"]
    payload["end_time"] = payload["start_time"]
    payload["duration_seconds"] = 0

    push = parse_push(push_body)

    assert push.payload.end_time == push.payload.start_time
    assert push.payload.duration_seconds == 0.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "must not be empty"),
        ("a" * 256, "must be at most 255 characters"),
        ("tab\there", "must not contain control characters"),
        ("del\x7f", "must not contain control characters"),
        ("build\u202egnp.exe", "must not contain invisible characters such as U+202E"),
        ("bu\u200bild", "must not contain invisible characters such as U+200B"),
        ("line\u2028break", "must not contain invisible characters such as U+2028"),
        ("   ", "must not be only whitespace"),
        ("\u3000", "must not be only whitespace"),
        ("rspec 1/3", "must not contain '/'"),
        (None, "must be a string"),
    ],
)
def test_check_name_rejects(value: object, message: str) -> None:
    """Empty, over-long, blank, slashed and hidden-character names are refused."""
    with pytest.raises(ValidationError) as caught:
        check_name(value, "job")

    assert caught.value.problems == (Problem("job", message),)


def test_check_name_accepts() -> None:
    """A 255-character name, inner spaces, unicode and allowed slashes pass."""
    assert check_name("a" * 255, "job") == "a" * 255
    assert check_name(" ci.yml ü ", "workflow") == " ci.yml ü "
    assert check_name("refs/pull/7", "run_id", allow_slash=True) == "refs/pull/7"


def test_check_name_allow_slash_keeps_other_rules() -> None:
    """Allowing '/' still refuses blank and hidden-character names."""
    with pytest.raises(ValidationError, match="run_id: must not be only whitespace"):
        check_name(" \t ".replace("\t", " "), "run_id", allow_slash=True)
    with pytest.raises(ValidationError, match="U\\+200B"):
        check_name("a/\u200b", "run_id", allow_slash=True)


# Real text that needs a format character: emoji joined by U+200D, a Persian
# word with U+200C, and a word with a soft hyphen (U+00AD).
TEXT_NAMES = [
    "fam \U0001f468\u200d\U0001f469",
    "\U0001f3f3\ufe0f\u200d\U0001f308",
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
    "co\u00adoperation",
]


@pytest.mark.parametrize("name", TEXT_NAMES)
def test_check_name_accepts_joiners_and_soft_hyphen(name: str) -> None:
    """ZWJ emoji sequences, ZWNJ in Persian and soft hyphens are real names."""
    assert name in {"fam 👨‍👩", "🏳️‍🌈", "می‌خواهم", "co­operation"}
    assert check_name(name, "job") == name
    assert check_name(f"{name}/x", "run_id", allow_slash=True) == f"{name}/x"


@pytest.mark.parametrize("name", TEXT_NAMES)
def test_parse_push_keeps_joiners_in_every_name(
    push_body: dict[str, Any], name: str
) -> None:
    """Every name of a push, and a token request's, stores such text unchanged."""
    push_body["workflow"] = name
    push_body["job"] = name
    push_body["runner"] = name
    push_body["repository"] = f"my-org/{name}"
    push_body["payload"]["processes"][0]["name"] = name

    push = parse_push(push_body)
    request = parse_push_token_request(
        {"organization": name, "repository": name, "workflow": name, "job": name}
    )

    assert (push.workflow, push.job, push.runner) == (name, name, name)
    assert push.repository == f"my-org/{name}"
    assert push.payload.processes is not None
    assert push.payload.processes[0].name == name
    assert request.repository == f"{name}/{name}"


@pytest.mark.parametrize(
    "char",
    [
        *(chr(code) for code in range(0x202A, 0x202F)),
        *(chr(code) for code in range(0x2066, 0x206A)),
        "\u200e",
        "\u200f",
        "\u061c",
        "\u200b",
        "\u2060",
        "\ufeff",
        "\u2062",
        "\u180e",
        "\U000e0001",
    ],
)
def test_check_name_refuses_other_format_characters(char: str) -> None:
    """Bidi controls, zero-width spaces and other format characters stay refused."""
    message = f"must not contain invisible characters such as U+{ord(char):04X}"

    for name in TEXT_NAMES:
        with pytest.raises(ValidationError) as caught:
            check_name(name + char, "job")
        assert caught.value.problems == (Problem("job", message),)


@pytest.mark.parametrize(
    ("char", "message"),
    [
        ("\x00", "must not contain control characters"),
        ("\x1b", "must not contain control characters"),
        ("\n", "must not contain control characters"),
        ("\x85", "must not contain control characters"),
        ("\ud800", "must not contain invisible characters such as U+D800"),
        ("\udfff", "must not contain invisible characters such as U+DFFF"),
        ("\u2028", "must not contain invisible characters such as U+2028"),
        ("\u2029", "must not contain invisible characters such as U+2029"),
    ],
)
def test_check_name_refuses_controls_next_to_joiners(char: str, message: str) -> None:
    """Control characters, lone surrogates and separators stay refused in text."""
    for name in TEXT_NAMES:
        with pytest.raises(ValidationError) as caught:
            check_name(char + name, "job")
        assert caught.value.problems == (Problem("job", message),)


@pytest.mark.parametrize("name", ["\u200d", "\u200c\u200d", " \u00ad ", "\u3000\u200d"])
def test_check_name_refuses_only_joiners(name: str) -> None:
    """A name made only of joiners, soft hyphens and spaces shows nothing."""
    with pytest.raises(ValidationError) as caught:
        check_name(name, "job")

    assert caught.value.problems == (
        Problem("job", "must not be only invisible characters"),
    )


@pytest.mark.parametrize("field", ["organization", "workflow", "job", "runner"])
def test_parse_push_refuses_slash_in_path_names(
    push_body: dict[str, Any], field: str
) -> None:
    """Names that become URL path segments may not contain '/'."""
    push_body[field] = "rspec 1/3"
    if field == "organization":
        push_body["repository"] = "my-repo"

    assert problems_of(push_body) == [f"{field}: must not contain '/'"]


def test_parse_push_allows_slash_in_run_id_and_containers(
    push_body: dict[str, Any],
) -> None:
    """Run ids, container and process names may contain '/'."""
    push_body["run_id"] = "pipelines/42"
    payload = push_body["payload"]
    payload["containers"][0]["name"] = "docker/runner"
    payload["processes"][0]["name"] = "/usr/bin/cc1"
    payload["processes"][0]["container"] = "docker/runner"

    push = parse_push(push_body)

    assert push.run_id == "pipelines/42"
    assert push.payload.containers[0].name == "docker/runner"
    assert push.payload.processes is not None
    assert push.payload.processes[0].name == "/usr/bin/cc1"


@pytest.mark.parametrize(
    ("repository", "message"),
    [
        ("grp/sub/proj", "must be 'repo' or 'org/repo'"),
        ("/my-repo", "must be 'repo' or 'org/repo'"),
        ("my-org/", "must be 'repo' or 'org/repo'"),
        ("my-org/ ", "must be 'repo' or 'org/repo'"),
        (" ", "must not be only whitespace"),
        ("my-org/re\u202epo", "must not contain invisible characters such as U+202E"),
    ],
)
def test_parse_push_repository_forms(
    push_body: dict[str, Any], repository: str, message: str
) -> None:
    """A repository is 'repo' or 'org/repo' with two valid, non-empty parts."""
    push_body["repository"] = repository

    assert problems_of(push_body) == [f"repository: {message}"]


def test_parse_push_refuses_blank_and_hidden_names(push_body: dict[str, Any]) -> None:
    """Whitespace-only names and format characters are refused in every name."""
    push_body["job"] = "  "
    push_body["run_id"] = "\u200b"
    push_body["payload"]["containers"][0]["name"] = "\t"
    push_body["payload"]["processes"][0]["name"] = "cc1\u202e"

    assert problems_of(push_body) == [
        "job: must not be only whitespace",
        "run_id: must not contain invisible characters such as U+200B",
        "payload.containers[0].name: must not contain control characters",
        "payload.processes[0].name: must not contain invisible characters such as"
        " U+202E",
    ]


def test_qualify_repository() -> None:
    """Bare names are qualified, matching full names kept, others refused."""
    assert qualify_repository("my-org", "my-repo") == "my-org/my-repo"
    assert qualify_repository("my-org", "my-org/my-repo") == "my-org/my-repo"
    with pytest.raises(ValidationError, match="repo: owner 'x' does not match"):
        qualify_repository("my-org", "x/my-repo", path="repo")
    with pytest.raises(ValidationError, match="must be 'repo' or 'org/repo'"):
        qualify_repository("my-org", "my-org/")
    with pytest.raises(ValidationError, match="repo: must be 'repo' or 'org/repo'"):
        qualify_repository("grp", "grp/sub/proj", path="repo")
    with pytest.raises(ValidationError, match="at most 255 characters"):
        qualify_repository("o" * 200, "r" * 100)


def test_parse_push_token_request() -> None:
    """A token request is qualified just like a push."""
    request = parse_push_token_request(
        {
            "organization": "my-org",
            "repository": "my-repo",
            "workflow": "ci.yml",
            "job": "build",
        }
    )

    assert request == PushTokenRequest("my-org", "my-org/my-repo", "ci.yml", "build")


def test_parse_push_token_request_refuses_subgroup_organization() -> None:
    """A GitLab subgroup path is no organization: '/' is refused up front."""
    with pytest.raises(ValidationError) as caught:
        parse_push_token_request(
            {
                "organization": "grp/sub",
                "repository": "proj",
                "workflow": ".gitlab-ci.yml",
                "job": "rspec 1/3",
            }
        )

    assert str(caught.value) == (
        "organization: must not contain '/'; job: must not contain '/'"
    )


def test_parse_push_token_request_problems() -> None:
    """Missing, unknown and empty fields of a token request are all listed."""
    with pytest.raises(ValidationError) as caught:
        parse_push_token_request({"organization": "my-org", "job": "", "ttl": 5})

    assert str(caught.value) == (
        "ttl: is not a known field; repository: is required; "
        "workflow: is required; job: must not be empty"
    )


def test_parse_override_canonicalises_quantities() -> None:
    """Override quantities parse and come back in canonical form."""
    override = parse_override(
        {
            "runs": 10,
            "buffer_percent": 0,
            "cpu_percentile": "p99",
            "cpu_sizing_mode": "enforce",
            "memory_qos": "burstable",
            "min_cpu": "0.5",
            "max_cpu": 4,
            "min_memory": "1024Mi",
            "max_memory": None,
        }
    )

    assert override.runs == 10
    assert override.buffer_percent == 0
    assert override.cpu_percentile == "p99"
    assert override.min_cpu == "500m"
    assert override.max_cpu == "4"
    assert override.min_memory == "1Gi"
    assert override.max_memory is None


def test_parse_override_empty() -> None:
    """An empty override inherits everything."""
    assert parse_override({}) == Override()


def test_parse_override_problems() -> None:
    """Ranges, enums, quantities, min <= max and unknown fields are checked."""
    with pytest.raises(ValidationError) as caught:
        parse_override(
            {
                "runs": 101,
                "buffer_percent": 1001,
                "cpu_percentile": "p90",
                "cpu_sizing_mode": "strict",
                "memory_qos": 1,
                "min_cpu": "2",
                "max_cpu": "1",
                "min_memory": "lots",
                "max_memory": "-1Gi",
                "buffer": 5,
            }
        )

    assert [str(problem) for problem in caught.value.problems] == [
        "buffer: is not a known field",
        "runs: must be <= 100",
        "buffer_percent: must be <= 1000",
        "cpu_percentile: must be one of peak, p99, p95, p75, p50, avg",
        "cpu_sizing_mode: must be one of observe, enforce",
        "memory_qos: must be one of guaranteed, burstable",
        "min_memory: 'lots' is not a Kubernetes quantity (e.g. 1.5, 500m, 2Gi, 1e3)",
        "max_memory: '-1Gi' must not be negative",
        "min_cpu: must not be greater than max_cpu",
    ]


def test_parse_push_caps_huge_numbers(push_body: dict[str, Any]) -> None:
    """Numbers beyond any real run are refused so stored sums cannot overflow."""
    container = push_body["payload"]["containers"][0]
    container["memory_bytes"]["peak"] = 1e300
    container["limits"]["memory_bytes"] = 2**63

    assert problems_of(push_body) == [
        "payload.containers[0].memory_bytes.peak: must be <= 1e+15",
        "payload.containers[0].limits.memory_bytes: must be <= 9007199254740992",
    ]


NOW = datetime(2026, 2, 6, 14, 30, 22, tzinfo=UTC)


def test_parse_push_refuses_end_time_in_the_future(push_body: dict[str, Any]) -> None:
    """An end_time more than 5 minutes after the receiver's clock is refused."""
    payload = push_body["payload"]
    payload["start_time"] = "9999-12-31T23:59:39Z"
    payload["end_time"] = "9999-12-31T23:59:59Z"

    with pytest.raises(ValidationError) as caught:
        parse_push(push_body, now=NOW)

    assert str(caught.value) == (
        "payload.end_time: is in the future "
        "(more than 5 minutes after the receiver's clock)"
    )


def test_parse_push_allows_five_minutes_of_clock_skew(
    push_body: dict[str, Any],
) -> None:
    """An end_time up to 5 minutes ahead of now, or any time without now, passes."""
    skewed = parse_push(push_body, now=datetime(2026, 2, 6, 14, 25, 23, tzinfo=UTC))
    naive_now = parse_push(push_body, now=datetime(2026, 2, 6, 14, 26))

    assert skewed.payload.end_time == datetime(
        2026, 2, 6, 14, 30, 22, 190000, tzinfo=UTC
    )
    assert naive_now.payload.duration_seconds == 20.0
    with pytest.raises(ValidationError, match="is in the future"):
        parse_push(push_body, now=datetime(2026, 2, 6, 14, 25, 22, tzinfo=UTC))


@pytest.mark.parametrize(
    ("duration", "window_end", "ok"),
    [
        (20.0, "2026-02-06T14:30:22.190Z", True),
        (21.0, "2026-02-06T14:30:22.190Z", True),
        (21.1, "2026-02-06T14:30:22.190Z", False),
        (99999, "2026-02-06T14:30:22.190Z", False),
        (3636.0, "2026-02-06T15:30:02.185Z", True),
        (3637.0, "2026-02-06T15:30:02.185Z", False),
    ],
)
def test_parse_push_checks_duration_against_times(
    push_body: dict[str, Any], duration: float, window_end: str, ok: bool
) -> None:
    """duration_seconds must match end - start within 1 s or 1 %, the larger."""
    payload = push_body["payload"]
    payload["duration_seconds"] = duration
    payload["end_time"] = window_end

    if ok:
        assert parse_push(push_body).payload.duration_seconds == duration
    else:
        window = (
            parse_datetime(window_end) - parse_datetime(payload["start_time"])
        ).total_seconds()
        assert problems_of(push_body) == [
            f"payload.duration_seconds: must match end_time - start_time "
            f"({window:g} s) within 1 s or 1 %"
        ]


@pytest.mark.parametrize(
    ("start", "end", "duration"),
    [
        ("2026-01-30T14:30:22Z", "2026-02-06T14:30:22Z", 604800),
        ("2026-01-30T14:30:22Z", "2026-02-06T14:30:22Z", 604000),
        ("2026-02-06T14:30:02Z", "2026-02-06T14:30:22Z", 20.5),
    ],
)
def test_parse_push_accepts_runs_up_to_seven_days(
    push_body: dict[str, Any], start: str, end: str, duration: float
) -> None:
    """A run of exactly 7 days (604800 s) is the longest accepted."""
    payload = push_body["payload"]
    payload.update(start_time=start, end_time=end, duration_seconds=duration)

    push = parse_push(push_body, now=NOW)

    assert MAX_RUN_SECONDS == 604800
    assert push.payload.start_time == parse_datetime(start)
    assert push.payload.duration_seconds == duration


def test_parse_push_refuses_a_start_in_1970(push_body: dict[str, Any]) -> None:
    """A start read from a clock at 1970, with a duration to match, is refused."""
    payload = push_body["payload"]
    payload["start_time"] = "1970-01-01T00:00:00Z"
    payload["end_time"] = "2026-02-06T14:30:22Z"
    payload["duration_seconds"] = 1770388222

    assert problems_of(push_body) == [
        "payload.duration_seconds: must be at most 604800 s (7 days), "
        "the longest run accepted",
        "payload.start_time: must be at most 7 days (604800 s) before end_time, "
        "the longest run accepted (got 1.77039e+09 s)",
    ]


def test_parse_push_refuses_a_window_just_over_seven_days(
    push_body: dict[str, Any],
) -> None:
    """A start one second more than 7 days before the end names start_time."""
    payload = push_body["payload"]
    payload["start_time"] = "2026-01-30T14:30:21Z"
    payload["end_time"] = "2026-02-06T14:30:22Z"
    payload["duration_seconds"] = 20.0

    assert problems_of(push_body) == [
        "payload.start_time: must be at most 7 days (604800 s) before end_time, "
        "the longest run accepted (got 604801 s)",
    ]


def test_parse_push_refuses_a_duration_over_seven_days(
    push_body: dict[str, Any],
) -> None:
    """A duration above 604800 s is refused by itself, not as a mismatch."""
    payload = push_body["payload"]
    payload["start_time"] = "2026-01-30T14:30:22Z"
    payload["end_time"] = "2026-02-06T14:30:22Z"
    payload["duration_seconds"] = 604800.5

    assert problems_of(push_body) == [
        "payload.duration_seconds: must be at most 604800 s (7 days), "
        "the longest run accepted",
    ]


@pytest.mark.parametrize("interval", [0, 0.0, -1])
def test_parse_push_refuses_an_interval_not_above_zero(
    push_body: dict[str, Any], interval: float
) -> None:
    """A sampling interval must be positive when given; null means unknown."""
    push_body["payload"]["interval_seconds"] = interval

    expected = "must be > 0" if interval == 0 else "must be >= 0"
    assert problems_of(push_body) == [f"payload.interval_seconds: {expected}"]

    push_body["payload"]["interval_seconds"] = 0.05
    assert parse_push(push_body).payload.interval_seconds == 0.05


def test_parse_push_refuses_zero_limits(push_body: dict[str, Any]) -> None:
    """A CPU or memory limit of 0 is refused; null still means unknown."""
    limits = push_body["payload"]["containers"][0]["limits"]
    limits["cpu_cores"] = 0
    limits["memory_bytes"] = 0

    assert problems_of(push_body) == [
        "payload.containers[0].limits.cpu_cores: must be > 0",
        "payload.containers[0].limits.memory_bytes: must be > 0",
    ]

    limits["cpu_cores"] = None
    limits["memory_bytes"] = None
    parsed = parse_push(push_body).payload.containers[0].limits

    assert parsed is not None
    assert (parsed.cpu_cores, parsed.memory_bytes) == (None, None)


def test_parse_override_refuses_meaningless_quantities() -> None:
    """Zero maxima, CPU in memory units, fractional bytes and huge CPU are refused."""
    with pytest.raises(ValidationError) as caught:
        parse_override({"max_cpu": "0", "max_memory": 0, "min_cpu": "1Gi"})

    assert [str(problem) for problem in caught.value.problems] == [
        "min_cpu: '1Gi' uses the memory unit Gi; CPU is cores or millicores",
        "max_cpu: must be > 0",
        "max_memory: must be > 0",
    ]

    with pytest.raises(ValidationError) as caught:
        parse_override({"min_memory": "500m", "min_cpu": "999999999999999"})

    assert [str(problem) for problem in caught.value.problems] == [
        "min_cpu: '999999999999999' is more than 1000000 cores",
        "min_memory: '500m' is not a whole number of bytes",
    ]


def test_parse_override_bounds_and_zero_minimum() -> None:
    """A zero minimum and the largest bounds, 1M cores and 8Pi, are accepted."""
    override = parse_override(
        {"min_cpu": 0, "max_cpu": "1000000", "min_memory": "0", "max_memory": "8Pi"}
    )

    assert (override.min_cpu, override.max_cpu) == ("0", "1000000")
    assert (override.min_memory, override.max_memory) == ("0", "8Pi")


def test_statistics_above_the_peak_or_out_of_order_are_refused(
    push_body: dict[str, Any],
) -> None:
    """A p95 above the peak would size from a figure the series never reached."""
    cpu = push_body["payload"]["containers"][0]["cpu_cores"]
    cpu.update(peak=1.7, p50=0.9, p75=0.8, p95=99, p99=None, avg=1.8)
    memory = push_body["payload"]["containers"][0]["memory_bytes"]
    memory.clear()
    memory.update(peak=100, avg=100, p99=100)

    with pytest.raises(ValidationError) as raised:
        parse_push(push_body)

    path = "payload.containers[0].cpu_cores"
    assert [(p.path, p.message) for p in raised.value.problems] == [
        (f"{path}.avg", "must be <= peak (1.7), got 1.8"),
        (f"{path}.p75", "must be >= p50 (0.9), got 0.8"),
        (f"{path}.p95", "must be <= peak (1.7), got 99"),
    ]
