"""The cisizer-agent command line, run as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import IDENTITY_ENV, FakeReceiver

AGENT = [sys.executable, "-m", "cisizer.agent"]


def agent_env(
    tmp_path: Path, receiver: FakeReceiver | None, **extra: str
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "CI_", "GITLAB_", "CISIZER_", "RUNNER_"))
    }
    env.update(IDENTITY_ENV)
    env.update(
        CISIZER_SPOOL_DIR=str(tmp_path / "spool"),
        CISIZER_STATE_DIR=str(tmp_path / "state"),
        CISIZER_DOCKER="false",
        CISIZER_TOP_PROCESSES="3",
        CISIZER_INTERVAL="0.2",
        CISIZER_PUSH_TIMEOUT="5",
        CISIZER_PUSH_TOKEN="eyJhbGciOiJIUzI1NiJ9.eyJqb2IiOiJidWlsZCJ9.c2ln",
        CISIZER_URL=receiver.url if receiver else "http://127.0.0.1:9",
    )
    env.update(extra)
    return env


def run_agent(
    args: list[str], env: dict[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AGENT, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(("code", "status"), [(0, "success"), (3, "failure")])
def test_run_keeps_exit_code_and_pushes_status(
    tmp_path: Path, receiver: FakeReceiver, code: int, status: str
) -> None:
    """run exits with the command's code and pushes the matching status."""
    env = agent_env(tmp_path, receiver)

    done = run_agent(
        ["run", "--", sys.executable, "-c", f"raise SystemExit({code})"], env
    )

    assert done.returncode == code
    (request,) = receiver.requests
    assert request["body"]["status"] == status
    assert request["body"]["payload"]["containers"][0]["name"] == "runner"
    assert "summary delivered" in done.stderr
    assert list((tmp_path / "spool").iterdir()) == []


def test_flags_win_over_cisizer_variables_over_ci_variables(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """A flag beats CISIZER_*, which beats the GitHub variables it shadows."""
    env = agent_env(
        tmp_path,
        receiver,
        GITHUB_ACTIONS="true",
        GITHUB_REPOSITORY="acme/widgets",
        GITHUB_WORKFLOW_REF="acme/widgets/.github/workflows/release.yml@refs/tags/v1",
        GITHUB_JOB="package",
        GITHUB_RUN_ID="1000",
        GITHUB_RUN_ATTEMPT="4",
        RUNNER_NAME="gh-runner-2",
    )
    for name in ("CISIZER_WORKFLOW", "CISIZER_JOB", "CISIZER_RUN_ID"):
        del env[name]
    env["CISIZER_JOB"] = "from-variable"

    done = run_agent(["run", "--run-id", "from-flag", "--", "true"], env)

    assert done.returncode == 0
    body = receiver.requests[0]["body"]
    assert (body["workflow"], body["job"], body["run_id"]) == (
        "release.yml",
        "from-variable",
        "from-flag",
    )
    assert (body["run_attempt"], body["runner"]) == (4, "gh-runner-2")


def test_missing_identity_still_runs_the_command(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """Without an identity the command runs unmeasured and keeps its exit code."""
    env = agent_env(tmp_path, receiver)
    del env["CISIZER_JOB"]

    done = run_agent(["run", "--", sys.executable, "-c", "print('hi'); exit(5)"], env)

    assert done.returncode == 5
    assert done.stdout == "hi\n"
    assert "--job / CISIZER_JOB" in done.stderr
    assert receiver.requests == []


def test_unknown_command_exits_127(tmp_path: Path, receiver: FakeReceiver) -> None:
    """A command that does not exist exits 127, as a shell would, and is a failure."""
    done = run_agent(
        ["run", "--", "no-such-command-xyz"], agent_env(tmp_path, receiver)
    )

    assert done.returncode == 127
    assert receiver.requests[0]["body"]["status"] == "failure"


SLEEPER = """
import signal, sys, time
if sys.argv[1] == "trap":
    signal.signal(signal.SIGINT, lambda *a: sys.exit(130))
open(sys.argv[2], "w").write("ready")
time.sleep(30)
"""


def start_wrapped(
    tmp_path: Path, receiver: FakeReceiver, mode: str
) -> subprocess.Popen[str]:
    ready = tmp_path / "ready"
    agent = subprocess.Popen(
        [*AGENT, "run", "--", sys.executable, "-c", SLEEPER, mode, str(ready)],
        env=agent_env(tmp_path, receiver),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ready.exists()
    return agent


@pytest.mark.parametrize(
    ("mode", "signum", "code"),
    [("plain", signal.SIGTERM, 128 + 15), ("trap", signal.SIGINT, 130)],
)
def test_signal_is_forwarded_and_run_is_cancelled(
    tmp_path: Path, receiver: FakeReceiver, mode: str, signum: int, code: int
) -> None:
    """SIGTERM/SIGINT reach the command; its exit code stays; the run is cancelled."""
    agent = start_wrapped(tmp_path, receiver, mode)

    agent.send_signal(signum)
    _, stderr = agent.communicate(timeout=20)

    assert agent.returncode == code
    assert receiver.requests[0]["body"]["status"] == "cancelled"
    assert "summary delivered" in stderr


def test_unreachable_receiver_never_fails_the_job(tmp_path: Path) -> None:
    """With the receiver down the command's exit code stays; the summary is spooled."""
    env = agent_env(tmp_path, None, CISIZER_PUSH_TIMEOUT="0.5")

    done = run_agent(["run", "--", "true"], env)

    assert done.returncode == 0
    assert "kept at" in done.stderr
    assert len(list((tmp_path / "spool").glob("*.json"))) == 1


def test_start_then_stop_pushes_with_status(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """start returns at once; stop ends the sampler and pushes with its status."""
    env = agent_env(tmp_path, receiver)

    started = run_agent(["start"], env)
    time.sleep(0.5)
    stopped = run_agent(["stop", "--status", "failure"], env)

    assert started.returncode == 0
    assert "sampling in the background" in started.stderr
    assert stopped.returncode == 0
    assert "summary delivered" in stopped.stderr
    (request,) = receiver.requests
    assert request["body"]["status"] == "failure"
    assert request["body"]["payload"]["sample_count"] >= 2
    assert not (tmp_path / "state" / "sampler.pid").exists()


def test_start_without_identity_starts_nothing(tmp_path: Path) -> None:
    """start without an identity names what is missing and leaves the job be."""
    env = agent_env(tmp_path, None)
    del env["CISIZER_REPOSITORY"]

    done = run_agent(["start"], env)

    assert done.returncode == 0
    assert "--repository / CISIZER_REPOSITORY" in done.stderr
    assert "this job is not measured" in done.stderr
    assert not (tmp_path / "state" / "sampler.pid").exists()


def test_stop_without_start_reports_and_succeeds(tmp_path: Path) -> None:
    """stop with nothing started says so and exits 0."""
    done = run_agent(["stop"], agent_env(tmp_path, None))

    assert done.returncode == 0
    assert "no sampler was started" in done.stderr


def test_flush_sends_what_run_spooled(tmp_path: Path, receiver: FakeReceiver) -> None:
    """A summary spooled while the receiver was down is sent by flush, once."""
    down = agent_env(tmp_path, None, CISIZER_PUSH_TIMEOUT="0.2")
    run_agent(["run", "--", "true"], down)

    first = run_agent(["flush", "--url", receiver.url], agent_env(tmp_path, receiver))
    second = run_agent(["flush", "--url", receiver.url], agent_env(tmp_path, receiver))

    assert "summary delivered" in first.stderr
    assert "nothing to send" in second.stderr
    assert len(receiver.requests) == 1


def test_snapshot_prints_json_of_the_runner(tmp_path: Path) -> None:
    """snapshot prints the own container and processes as JSON."""
    done = run_agent(["snapshot", "--interval", "0.2"], agent_env(tmp_path, None))

    data = json.loads(done.stdout)
    assert done.returncode == 0
    assert data["containers"][0]["name"] == "runner"
    assert data["containers"][0]["memory_bytes"] > 0
    assert len(data["processes"]) == 3
    assert data["interval_seconds"] == 0.2


def test_snapshot_reports_the_interval_it_sampled(tmp_path: Path) -> None:
    """A longer --interval is cut to 1 s, and the snapshot says 1 s."""
    started = time.monotonic()
    done = run_agent(["snapshot", "--interval", "10"], agent_env(tmp_path, None))

    assert done.returncode == 0
    assert json.loads(done.stdout)["interval_seconds"] == 1.0
    assert time.monotonic() - started < 8


def test_help_names_each_variable(tmp_path: Path) -> None:
    """run --help shows every option with its CISIZER_* variable."""
    done = run_agent(["run", "--help"], agent_env(tmp_path, None))

    for variable in (
        "CISIZER_URL",
        "CISIZER_PUSH_TOKEN",
        "CISIZER_INTERVAL",
        "CISIZER_SPOOL_DIR",
        "CISIZER_PUSH_TIMEOUT",
        "CISIZER_CGROUP",
        "CISIZER_TOP_PROCESSES",
        "CISIZER_CONTAINER_NAME",
        "CISIZER_RUN_ATTEMPT",
    ):
        assert variable in done.stdout


def test_later_run_sends_earlier_spooled_summaries(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """A run retries what an earlier run left in the spool, in the background."""
    down = agent_env(tmp_path, None, CISIZER_PUSH_TIMEOUT="0.2", CISIZER_RUN_ID="1")
    run_agent(["run", "--", "true"], down)
    up = agent_env(tmp_path, receiver, CISIZER_RUN_ID="2")

    run_agent(["run", "--", "true"], up)
    spool = tmp_path / "spool"
    deadline = time.monotonic() + 15
    # The detached flush removes the file only after the receiver answered.
    while time.monotonic() < deadline and (
        len(receiver.requests) < 2 or list(spool.glob("*.json"))
    ):
        time.sleep(0.05)

    assert sorted(r["body"]["run_id"] for r in receiver.requests) == ["1", "2"]
    assert list((tmp_path / "spool").glob("*.json")) == []


@pytest.mark.parametrize(
    ("variable", "value", "names"),
    [
        ("CISIZER_INTERVAL", "0.01", "--interval / CISIZER_INTERVAL"),
        ("CISIZER_TOP_PROCESSES", "abc", "--top-processes / CISIZER_TOP_PROCESSES"),
        ("CISIZER_DOCKER", "maybe", "--docker / CISIZER_DOCKER"),
        ("CISIZER_SPOOL_DIR", "<file>", "--spool-dir / CISIZER_SPOOL_DIR"),
        ("CISIZER_LOG_LEVEL", "loud", "--log-level / CISIZER_LOG_LEVEL"),
    ],
)
def test_bad_option_value_runs_the_command_unmeasured(
    tmp_path: Path, receiver: FakeReceiver, variable: str, value: str, names: str
) -> None:
    """A bad CISIZER_* value is said once; the command runs and keeps its code."""
    if value == "<file>":
        value = str(tmp_path / "a-file")
        Path(value).write_text("")
    env = agent_env(tmp_path, receiver, **{variable: value})

    done = run_agent(["run", "--", "sh", "-c", "echo RAN; exit 3"], env)

    assert done.returncode == 3
    assert done.stdout == "RAN\n"
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"cisizer-agent: error: invalid value for {names}: ")
    assert line.endswith("; running the command without measuring it")
    assert receiver.requests == []


def test_bad_flag_without_separator_still_runs_the_command(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """A bad flag before a command given without `--` runs that command bare."""
    env = agent_env(tmp_path, receiver)

    done = run_agent(["run", "--interval", "0", "sh", "-c", "exit 6"], env)

    assert done.returncode == 6
    assert "invalid value for --interval / CISIZER_INTERVAL" in done.stderr
    assert receiver.requests == []


def test_unknown_option_is_not_taken_for_the_command(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """An unknown option before `--` is reported; the command after `--` runs."""
    done = run_agent(
        ["run", "--bogus", "--", "sh", "-c", "echo RAN"],
        agent_env(tmp_path, receiver),
    )

    assert done.returncode == 0
    assert done.stdout == "RAN\n"
    assert "No such option '--bogus'" in done.stderr


def test_options_after_the_command_belong_to_it(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """Without `--`, everything after the command's name is the command's."""
    done = run_agent(
        ["run", "sh", "-c", "echo $0", "--interval"], agent_env(tmp_path, receiver)
    )

    assert done.returncode == 0
    assert done.stdout == "--interval\n"
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    "args", [["run"], ["run", "--"], ["run", "--interval", "0"], ["run", "--bogus"]]
)
def test_bad_option_without_command_is_a_usage_error(
    tmp_path: Path, args: list[str]
) -> None:
    """With no command a bad value is a plain usage error, exit code 2."""
    env = agent_env(tmp_path, None, CISIZER_INTERVAL="0.01")

    done = run_agent(args, env)

    assert done.returncode == 2
    assert "Usage:" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--bogus"], "No such option '--bogus'"),
        (["--interval", "0"], "invalid value for --interval / CISIZER_INTERVAL"),
        (["--bogus", "--interval", "1", "--no-docker"], "No such option '--bogus'"),
    ],
)
def test_bad_option_before_a_command_without_dashes_runs_it(
    tmp_path: Path, options: list[str], named: str
) -> None:
    """Without "--" the command is still found after a bad option, and runs."""
    done = run_agent(["run", *options, "sh", "-c", "exit 3"], agent_env(tmp_path, None))

    assert done.returncode == 3
    assert named in done.stderr
    assert "running the command without measuring it" in done.stderr


@pytest.mark.parametrize("url", ["notaurl", "ftp://host", "http://"])
def test_run_with_a_bad_url_runs_the_command_unmeasured(
    tmp_path: Path, url: str
) -> None:
    """A malformed receiver URL is named up front; the command runs as usual."""
    done = run_agent(
        ["run", "--", "sh", "-c", "exit 5"], agent_env(tmp_path, None, CISIZER_URL=url)
    )

    assert done.returncode == 5
    assert f"--url / CISIZER_URL: {url!r} is not an http://" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "spool").exists()


def test_start_with_a_bad_url_starts_nothing(tmp_path: Path) -> None:
    """start names a malformed receiver URL's flag, starts nothing and exits 0."""
    done = run_agent(["start", "--url", "notaurl"], agent_env(tmp_path, None))

    assert done.returncode == 0
    assert "--url / CISIZER_URL: 'notaurl' is not an http://" in done.stderr
    assert not (tmp_path / "state" / "sampler.pid").exists()


@pytest.mark.parametrize(
    "args", [["start", "--interval", "0"], ["start", "--bogus"], ["start", "extra"]]
)
def test_start_with_a_bad_option_starts_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    """A bad option or stray argument is said; the CI step still succeeds."""
    done = run_agent(args, agent_env(tmp_path, None))

    assert done.returncode == 0
    assert "this job is not measured" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "state" / "sampler.pid").exists()
    stopped = run_agent(["stop"], agent_env(tmp_path, None))
    assert stopped.returncode == 0


def test_flush_with_a_bad_url_says_why_per_file(tmp_path: Path) -> None:
    """flush to a malformed URL keeps each file and says why, without a traceback."""
    from cisizer.agent import Spool

    from .conftest import make_push

    spool = Spool(tmp_path / "spool")
    paths = [spool.write(make_push(r), url=None, token="t") for r in ("1", "2")]

    done = run_agent(["flush", "--url", "notaurl"], agent_env(tmp_path, None))

    assert done.returncode == 0
    assert done.stderr.splitlines() == [
        f"cisizer-agent: summary kept at {path} for a later retry: receiver URL "
        "'notaurl' is not an http:// or https:// URL with a host"
        for path in paths
    ]
    assert spool.paths() == paths


@pytest.mark.parametrize(
    ("given", "status", "warned"),
    [
        ("failed", "failure", False),
        ("Canceled", "cancelled", False),
        ("SUCCESS", "success", False),
        ("", "unknown", True),
        ("skipped", "unknown", True),
    ],
)
def test_stop_takes_gitlab_statuses_and_any_other_as_unknown(
    tmp_path: Path, receiver: FakeReceiver, given: str, status: str, warned: bool
) -> None:
    """stop maps GitLab's spellings, warns once on others, and always pushes."""
    env = agent_env(tmp_path, receiver)

    run_agent(["start"], env)
    stopped = run_agent(["stop", "--status", given], env)

    assert stopped.returncode == 0
    assert stopped.stderr.count("WARNING") == (1 if warned else 0)
    assert "summary delivered" in stopped.stderr
    (request,) = receiver.requests
    assert request["body"]["status"] == status


def test_stop_with_bad_options_still_stops_the_sampler(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """Bad options are warned about once; the sampler ends with the good ones."""
    env = agent_env(tmp_path, receiver)

    run_agent(["start"], env)
    stopped = run_agent(
        ["stop", "--timeout", "soon", "--bogus", "--status", "failed"], env
    )

    assert stopped.returncode == 0
    assert stopped.stderr.count("warning") == 1
    assert "'--bogus'; using the defaults for what cannot be read" in stopped.stderr
    assert "summary delivered" in stopped.stderr
    (request,) = receiver.requests
    assert request["body"]["status"] == "failure"
    assert not (tmp_path / "state" / "sampler.pid").exists()


def test_start_reports_every_configuration_problem_at_once(tmp_path: Path) -> None:
    """A token that is no JWT, a bad URL and a missing job are all named."""
    env = agent_env(tmp_path, None, CISIZER_PUSH_TOKEN="garbage", CISIZER_URL="ftp://x")
    del env["CISIZER_JOB"]

    done = run_agent(["start"], env)

    assert done.returncode == 0
    assert "--push-token / CISIZER_PUSH_TOKEN is not a push token" in done.stderr
    assert "--url / CISIZER_URL: 'ftp://x'" in done.stderr
    assert "--job / CISIZER_JOB" in done.stderr
    assert "garbage" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "state" / "sampler.pid").exists()


def test_run_with_a_malformed_token_runs_the_command_unmeasured(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """run with a token that is no JWT says so and keeps the command's code."""
    env = agent_env(tmp_path, receiver, CISIZER_PUSH_TOKEN="a.b")

    done = run_agent(["run", "--", "sh", "-c", "exit 5"], env)

    assert done.returncode == 5
    assert "is not a push token" in done.stderr
    assert "running the command without measuring it" in done.stderr
    assert receiver.requests == []


def test_run_with_a_bad_runner_flag_runs_the_command_unmeasured(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """A runner given by flag that the receiver refuses is an error naming it."""
    env = agent_env(tmp_path, receiver)

    done = run_agent(["run", "--runner", "a/b", "--", "true"], env)

    assert done.returncode == 0
    assert "(--runner / CISIZER_RUNNER)" in done.stderr
    assert receiver.requests == []


def test_start_with_a_bad_runner_variable_starts_nothing(tmp_path: Path) -> None:
    """start refuses a CISIZER_RUNNER the receiver would refuse, exiting 0."""
    env = agent_env(tmp_path, None, CISIZER_RUNNER="x" * 300)

    done = run_agent(["start"], env)

    assert done.returncode == 0
    assert not (tmp_path / "state" / "sampler.pid").exists()
    assert "must be at most 255 characters (--runner / CISIZER_RUNNER)" in done.stderr


def test_gitlab_runner_description_that_is_refused_is_dropped(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """A GitLab runner description with a newline is left out, with one warning."""
    env = agent_env(
        tmp_path, receiver, GITLAB_CI="true", CI_RUNNER_DESCRIPTION="shared\nrunner"
    )

    done = run_agent(["run", "--", "true"], env)

    assert done.returncode == 0
    assert done.stderr.count("WARNING") == 1
    assert "the runner name from gitlab variables" in done.stderr
    (request,) = receiver.requests
    assert request["body"]["runner"] is None


def test_flush_of_a_corrupt_file_says_it_could_not_read_it_once(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """A spool file that is not JSON is set aside with one ERROR line."""
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    (spool / "123-abc.json").write_text("{not json")

    done = run_agent(["flush"], agent_env(tmp_path, receiver))

    assert done.returncode == 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("cisizer-agent: ERROR: could not read 123-abc.json: ")
    assert "refused" not in done.stderr
    assert (spool / "rejected" / "123-abc.json").exists()
    assert receiver.requests == []


def test_stop_with_bad_variables_still_stops_the_sampler(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """Bad CISIZER_STOP_TIMEOUT and CISIZER_LOG_LEVEL are warned about, not fatal."""
    env = agent_env(tmp_path, receiver)

    run_agent(["start"], env)
    stopped = run_agent(
        ["stop"],
        dict(env, CISIZER_STOP_TIMEOUT="soon", CISIZER_LOG_LEVEL="loud"),
    )

    assert stopped.returncode == 0
    assert "CISIZER_STOP_TIMEOUT 'soon' is not a number of seconds" in stopped.stderr
    assert "CISIZER_LOG_LEVEL 'loud' is not one of" in stopped.stderr
    assert "summary delivered" in stopped.stderr
    (request,) = receiver.requests
    assert request["body"]["status"] == "unknown"
