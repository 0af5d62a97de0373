"""The docs receiver and the machinery that runs fenced blocks of the docs.

The conventions are described in ``test_docs.py``; this module holds what
makes them work: reading the Markdown, a live receiver for the blocks, the
shell prelude, expected-output matching and the YAML checks.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
JOB = ("my-org", "my-repo", "ci.yml", "build")
MIB = 1024**2
SHELL_LANGUAGES = frozenset({"console", "sh", "bash", "shell"})
DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<body>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent> {0,8})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")


@attrs.frozen
class Block:
    """One fenced block of a Markdown page."""

    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    skip: str | None = None  # the reason, when marked skip
    problem: str | None = None  # a malformed directive

    @property
    def id(self) -> str:
        """``file:line`` relative to the repository root."""
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def read_blocks(path: Path) -> list[Block]:
    """Return every fenced block of a Markdown file, with its directive."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        language = opening["info"].strip().split(" ")[0].lower()
        body: list[str] = []
        end = index + 1
        while end < len(lines):
            closing = lines[end].strip()
            if closing.startswith(fence[0] * len(fence)) and not closing.strip(
                fence[0]
            ):
                break
            body.append(
                lines[end][indent:] if lines[end][:indent].isspace() else lines[end]
            )
            end += 1
        skip, problem = _directive(lines[index - 1] if index else "")
        blocks.append(
            Block(path, index + 1, language, "\n".join(body) + "\n", skip, problem)
        )
        index = end + 1
    return blocks


def _directive(line: str) -> tuple[str | None, str | None]:
    match = DIRECTIVE.match(line)
    if match is None:
        if "docs-test" in line:
            return None, f"malformed docs-test directive: {line.strip()!r}"
        return None, None
    body = match["body"]
    keyword, _, reason = body.partition(":")
    if keyword.strip() != "skip":
        return None, f"unknown docs-test directive {body!r} (known: skip: REASON)"
    if not reason.strip():
        return None, "docs-test skip needs a reason: <!-- docs-test: skip: REASON -->"
    return reason.strip(), None


def all_blocks() -> list[Block]:
    """Every block of README.md and docs/*.md, in file order."""
    return [block for path in DOC_FILES for block in read_blocks(path)]


# --- the docs receiver -------------------------------------------------------


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the receiver answers /health, or fail with its log."""
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the docs receiver exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the docs receiver did not come up:\n{log.read_text()}")


@attrs.frozen
class DocsReceiver:
    """A ``cisizer-server serve`` on SQLite that the blocks talk to."""

    url: str
    db_path: Path
    read_token: str
    hmac_key: str
    push_token: str

    @property
    def address(self) -> str:
        """``host:port`` of the receiver."""
        return self.url.removeprefix("http://")

    def reset(self) -> None:
        """Empty the database, then store the five example runs again."""
        import sqlite3

        with sqlite3.connect(self.db_path, timeout=15) as connection:
            tables = [
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
                if row[0] != "alembic_version" and not row[0].startswith("sqlite_")
            ]
            for table in tables:
                connection.execute(f'DELETE FROM "{table}"')
        connection.close()
        self._seed()

    def _seed(self) -> None:
        from cisizer.client import Client
        from cisizer.core import (
            ContainerSummary,
            Limits,
            Push,
            RunStatus,
            Stats,
            Summary,
        )

        end = datetime(2026, 2, 6, 14, 30, 22, tzinfo=UTC)
        with Client(self.url, self.push_token) as client:
            for number in range(1, 6):
                finished = end - timedelta(days=5 - number)
                runner = ContainerSummary(
                    name="runner",
                    cpu_cores=Stats(peak=0.83, avg=0.6, p50=0.7, p95=0.8),
                    memory_bytes=Stats(peak=700 * MIB, avg=600 * MIB, p95=690 * MIB),
                    limits=Limits(cpu_cores=2.0, memory_bytes=2048 * MIB),
                )
                client.push_metrics(
                    Push(
                        organization=JOB[0],
                        repository=JOB[1],
                        workflow=JOB[2],
                        job=JOB[3],
                        run_id=f"run-{number}",
                        runner="runner-7",
                        status=RunStatus.SUCCESS,
                        payload=Summary(
                            start_time=finished - timedelta(minutes=5),
                            end_time=finished,
                            duration_seconds=300.0,
                            sample_count=150,
                            interval_seconds=2.0,
                            containers=(runner,),
                        ),
                    )
                )


def _die_with_parent() -> None:
    # A receiver must not outlive a test run that was killed.
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@pytest.fixture(scope="session")
def docs_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocsReceiver]:
    """Serve the receiver with the real command line, on a free loopback port."""
    from cisizer.core import JobKey, PushTokenSigner

    directory = tmp_path_factory.mktemp("docs-receiver")
    db_path = directory / "cisizer.db"
    read_token = "docs-read-token-" + secrets.token_hex(12)
    hmac_key = secrets.token_hex(32)
    url = f"http://127.0.0.1:{free_port()}"
    log = directory / "receiver.log"
    env = {
        **os.environ,
        "CISIZER_READ_TOKEN": read_token,
        "CISIZER_HMAC_KEY": hmac_key,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("cisizer-server")),
                "serve",
                "--db-url",
                f"sqlite:///{db_path}",
                "--bind",
                url.removeprefix("http://"),
                "--workers",
                "1",
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    try:
        wait_for_health(url, process, log)
        signer = PushTokenSigner([hmac_key])
        key = JobKey(JOB[0], f"{JOB[0]}/{JOB[1]}", JOB[2], JOB[3])
        push_token = signer.issue(key).token
        yield DocsReceiver(url, db_path, read_token, hmac_key, push_token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def scratch_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory standing for the repository root: its entries link to the checkout.

    Blocks read ``docs/examples/...`` and install ``./packages/...`` through
    the links, while what they write (keys, databases) stays out of the
    checkout.
    """
    root = tmp_path_factory.mktemp("docs-root")
    for entry in ROOT.iterdir():
        if entry.name in {".git", ".venv", ".nox"} or entry.name.endswith(".db"):
            continue
        (root / entry.name).symlink_to(entry)
    return root


@pytest.fixture(scope="session")
def install_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway virtualenv for ``pip install`` lines, seeing the dev venv's packages.

    It is made with ``--system-site-packages`` and a ``.pth`` file adding the
    running interpreter's site-packages, so the packages' dependencies are
    already there and an install only builds and copies the CI Sizer wheels.
    Its ``pip`` is the dev venv's pip aimed at it (``pip --python``), which
    spares installing pip into it.
    """
    venv = tmp_path_factory.mktemp("docs-venv") / "venv"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "venv",
            "--without-pip",
            "--system-site-packages",
            str(venv),
        ],
        check=True,
    )
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [
            str(python),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dev_purelib = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "_cisizer_dev.pth").write_text(
        f"import site; site.addsitedir({dev_purelib!r})\n", encoding="utf-8"
    )
    for name in ("pip", "pip3"):
        wrapper = venv / "bin" / name
        wrapper.write_text(
            f'#!/bin/sh\nexec {sys.executable} -m pip --python {python} "$@"\n',
            encoding="utf-8",
        )
        wrapper.chmod(0o755)
    return venv


# --- running shell blocks ----------------------------------------------------


# Placeholders a reader replaces by hand, and what the harness puts instead.
def substitute(text: str) -> str:
    """Point the docs' example addresses and tokens at the docs receiver."""
    text = re.sub(r"(?:localhost|127\.0\.0\.1):8080\b", "${CISIZER_DOCS_ADDR}", text)
    text = re.sub(r"https://cisizer\.example(?![\w.-])", "${CISIZER_URL}", text)
    return text


def substitute_python(text: str, receiver: DocsReceiver) -> str:
    """Point a Python snippet's example receiver and token at the docs receiver."""
    text = re.sub(r"(?:localhost|127\.0\.0\.1):8080\b", receiver.address, text)
    text = re.sub(r"https://cisizer\.example(?![\w.-])", receiver.url, text)
    return text.replace('"READ-TOKEN"', repr(receiver.read_token))


PRELUDE = r"""
# Every request a block makes must succeed: curl fails on an HTTP error,
# still printing the receiver's problem document.
curl() { command curl --fail-with-body "$@"; }

# `cisizer-server serve` runs in the background on a free port; the block
# goes on once /health answers, and later requests to localhost:8080 reach
# this receiver.
_cisizer_docs_servers=()
cisizer-server() {
    if [ "${1:-}" != serve ]; then command cisizer-server "$@"; return; fi
    local port log pid waited=0
    port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
    log="$CISIZER_DOCS_TMP/serve-$port.log"
    # One worker: once /health answers, every worker is up, and a stop
    # cannot catch one half-booted (gunicorn would wait 30 s for it).
    command cisizer-server "$@" --bind "127.0.0.1:$port" --workers 1 \
        >"$log" 2>&1 &
    pid=$!
    _cisizer_docs_servers+=("$pid")
    until command curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            # It stopped, as a documented error does: show what it said.
            local status=0
            wait "$pid" || status=$?
            cat "$log" >&2
            return "$status"
        fi
        waited=$((waited + 1))
        if [ "$waited" -gt 300 ]; then
            echo "docs-test: cisizer-server serve did not come up in 30 s:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    CISIZER_DOCS_ADDR="127.0.0.1:$port"
}
_cisizer_docs_stop() {
    local pid
    for pid in "${_cisizer_docs_servers[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${_cisizer_docs_servers[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap _cisizer_docs_stop EXIT
"""


def block_env(receiver: DocsReceiver, venv: Path | None, tmp: Path) -> dict[str, str]:
    """The environment every executed block gets."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CISIZER_", "GITHUB_", "GITLAB_", "CI_", "RUNNER_"))
        and key not in {"DOCKER_HOST", "VIRTUAL_ENV"}
    }
    paths = [str(Path(sys.executable).parent)]
    if venv is not None:
        paths.insert(0, str(venv / "bin"))
    env.update(
        PATH=os.pathsep.join([*paths, env.get("PATH", "")]),
        PYTHONUNBUFFERED="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        # The packages build with hatchling: taken from the dev venv when it is
        # there, instead of a fresh build environment for every install.
        **(
            {"PIP_NO_BUILD_ISOLATION": "0"}
            if importlib.util.find_spec("hatchling") is not None
            else {}
        ),
        CISIZER_URL=receiver.url,
        CISIZER_DOCS_ADDR=receiver.address,
        CISIZER_DOCS_TMP=str(tmp),
        CISIZER_READ_TOKEN=receiver.read_token,
        READ_TOKEN=receiver.read_token,
        CISIZER_HMAC_KEY=receiver.hmac_key,
        HMAC_KEY=receiver.hmac_key,
        CISIZER_PUSH_TOKEN=receiver.push_token,
        PUSH_TOKEN=receiver.push_token,
        CISIZER_DB_URL=f"sqlite:///{tmp / 'cisizer.db'}",
        XDG_CACHE_HOME=str(tmp / "cache"),
        RUNNER_TEMP=str(tmp),
    )
    return env


def run_process(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a block's process in its own session; kill the session when it ends."""
    process = subprocess.Popen(
        args,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"block did not finish within {timeout} s:\n{output}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    return subprocess.CompletedProcess(args, process.returncode, output, None)


# --- `$ ` blocks: commands and their expected output -------------------------


@attrs.frozen
class Command:
    """One ``$ `` command of a block and the output shown after it."""

    line: int  # 0-based line within the block
    text: str
    expected: tuple[str, ...]


def is_transcript(text: str) -> bool:
    """Tell whether a shell block shows ``$ `` prompts and output."""
    return any(line.startswith("$ ") for line in text.splitlines())


def transcript_commands(text: str) -> list[Command]:
    """Split a ``$ `` block into commands (with continuation lines) and outputs."""
    lines = text.splitlines()
    commands: list[Command] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith("$ "):
            if line.strip():
                raise ValueError(f"output before the first '$ ' command: {line!r}")
            index += 1
            continue
        start = index
        command = [line[2:]]
        while command[-1].endswith("\\") and index + 1 < len(lines):
            index += 1
            command.append(lines[index])
        index += 1
        expected: list[str] = []
        while index < len(lines) and not lines[index].startswith("$ "):
            expected.append(lines[index])
            index += 1
        while expected and not expected[-1].strip():
            expected.pop()
        commands.append(Command(start, "\n".join(command), tuple(expected)))
    return commands


TIMESTAMP = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"


def _line_pattern(expected: str) -> re.Pattern[str]:
    pattern = ""
    for part in re.split(f"({TIMESTAMP}|\\.\\.\\.)", expected.rstrip()):
        if part == "...":
            pattern += ".*"
        elif re.fullmatch(TIMESTAMP, part):
            pattern += TIMESTAMP
        else:
            pattern += re.escape(part)
    return re.compile(pattern)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def json_matches(expected: Any, actual: Any) -> bool:
    """Compare parsed JSON; the string ``"..."`` in ``expected`` matches anything."""
    if expected == "...":
        return True
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(json_matches(expected[key], actual[key]) for key in expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(map(json_matches, expected, actual))
        )
    return type(expected) is type(actual) and expected == actual


def output_matches(expected: tuple[str, ...], actual: str) -> bool:
    """Match output lines; ``...`` is any text, a lone ``...`` any lines.

    Output shown as a JSON object or list is compared as parsed JSON instead,
    layout and key order aside.
    """
    shown = "\n".join(expected).strip()
    if shown[:1] in "{[" and shown and (wanted := _json(shown)) is not None:
        return json_matches(wanted, _json(actual))
    got = [line.rstrip() for line in actual.rstrip().splitlines()]
    want = list(expected)

    def match(i: int, j: int) -> bool:
        if i == len(want):
            return j == len(got)
        if want[i].strip() == "...":
            return any(match(i + 1, k) for k in range(j, len(got) + 1))
        return (
            j < len(got)
            and _line_pattern(want[i]).fullmatch(got[j]) is not None
            and match(i + 1, j + 1)
        )

    return match(0, 0)


def transcript_script(commands: list[Command], outputs: Path) -> str:
    """A bash script running each command, its output and status kept apart."""
    parts = ["set -uo pipefail"]
    for number, command in enumerate(commands):
        parts.append(
            f"{{\n{command.text}\n}} >{outputs}/{number}.out 2>&1\n"
            f"echo $? >{outputs}/{number}.status"
        )
    return "\n".join(parts) + "\n"


# --- YAML --------------------------------------------------------------------

WORKLOAD_KINDS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def _commands(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(_commands(item) for item in value)
    return value if isinstance(value, str) else ""


def check_steps(steps: Any, where: str) -> list[str]:
    """Check a GitHub/Forgejo step list brackets or wraps the job with the agent."""
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        return [f"{where}: steps must be a list of mappings"]
    runs = [_commands(step.get("run")) for step in steps]
    if any("cisizer-agent run" in run for run in runs):
        return []
    starts = [i for i, run in enumerate(runs) if "cisizer-agent start" in run]
    stops = [i for i, run in enumerate(runs) if "cisizer-agent stop" in run]
    if not starts or not stops:
        return [
            f"{where}: calls neither `cisizer-agent run` nor both "
            "`cisizer-agent start` and `cisizer-agent stop`"
        ]
    problems = []
    if min(stops) < max(starts):
        problems.append(f"{where}: `cisizer-agent stop` comes before `start`")
    for index in stops:
        condition = str(steps[index].get("if", ""))
        if "always()" not in condition:
            problems.append(
                f"{where}: the `cisizer-agent stop` step needs `if: always()`, "
                "or it is skipped when the job fails"
            )
    return problems


def check_workflow(document: dict[str, Any]) -> list[str]:
    """Check every job of a GitHub/Forgejo workflow."""
    problems: list[str] = []
    for name, job in document["jobs"].items():
        if not isinstance(job, dict):
            problems.append(f"jobs.{name}: must be a mapping")
        elif "uses" in job:
            continue  # a reusable workflow: its own file brackets its steps
        else:
            problems += check_steps(job.get("steps"), f"jobs.{name}.steps")
    return problems


GITLAB_KEYWORDS = {
    "default", "stages", "variables", "include", "workflow", "image", "services",
    "before_script", "after_script", "cache", "pages",
}  # fmt: skip


def check_gitlab(document: dict[str, Any]) -> list[str]:
    """Check a GitLab CI file measures its jobs with before/after_script or run."""
    default = (
        document.get("default", {}) if isinstance(document.get("default"), dict) else {}
    )
    top_before = _commands(document.get("before_script", default.get("before_script")))
    top_after = _commands(document.get("after_script", default.get("after_script")))
    jobs = {
        name: job
        for name, job in document.items()
        if name not in GITLAB_KEYWORDS
        and not str(name).startswith(".")
        and isinstance(job, dict)
    }
    scopes = list(jobs.items()) or [("(top level)", {})]
    problems = []
    for name, job in scopes:
        before = _commands(job.get("before_script")) or top_before
        after = _commands(job.get("after_script")) or top_after
        script = _commands(job.get("script"))
        if "cisizer-agent run" in script:
            continue
        if "cisizer-agent start" not in before or "cisizer-agent stop" not in after:
            problems.append(
                f"{name}: needs `cisizer-agent start` in before_script and "
                "`cisizer-agent stop` in after_script (or `cisizer-agent run` "
                "in script)"
            )
    return problems


def check_manifest(document: dict[str, Any], number: int) -> list[str]:
    """Check a Kubernetes object names itself and sizes its containers."""
    where = f"document {number}"
    problems = [
        f"{where}: missing {field}"
        for field in ("apiVersion", "kind")
        if not document.get(field)
    ]
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        problems.append(f"{where}: missing metadata.name")
    path = WORKLOAD_KINDS.get(str(document.get("kind")))
    if path is None:
        return problems
    spec: Any = document
    for key in path:
        spec = spec.get(key) if isinstance(spec, dict) else None
    containers = spec.get("containers") if isinstance(spec, dict) else None
    if not isinstance(containers, list) or not containers:
        return [*problems, f"{where}: {'.'.join(path)}.containers is missing"]
    for container in containers:
        resources = container.get("resources") if isinstance(container, dict) else None
        name = container.get("name", "?") if isinstance(container, dict) else "?"
        if not isinstance(resources, dict) or not (
            resources.get("requests") or resources.get("limits")
        ):
            problems.append(f"{where}: container {name} has no resources")
    return problems


def parse_yaml(text: str) -> list[Any]:
    """Parse every document of a YAML block."""
    import yaml

    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def check_yaml(text: str) -> tuple[str, list[str]]:
    """Classify parsed YAML and check it; return the kind and the problems."""
    documents = parse_yaml(text)
    if not documents:
        return "empty", ["the block holds no YAML document"]
    first = documents[0]
    if isinstance(first, list):
        return "step list", check_steps(first, "steps")
    if not isinstance(first, dict):
        return "unknown", [f"unclassified YAML (a {type(first).__name__})"]
    if any("apiVersion" in doc or "kind" in doc for doc in documents):
        problems = []
        for number, doc in enumerate(documents, 1):
            problems += check_manifest(doc, number)
        return "Kubernetes manifest", problems
    if isinstance(first.get("jobs"), dict):
        return "workflow", check_workflow(first)
    if (
        "before_script" in first
        or "after_script" in first
        or any(isinstance(job, dict) and "script" in job for job in first.values())
    ):
        return "GitLab CI", check_gitlab(first)
    if "issuer" in first and ("staticClients" in first or "connectors" in first):
        return "Dex config", []
    return "unknown", [
        "unclassified YAML: not a workflow, step list, GitLab CI file, "
        "Kubernetes manifest or Dex config; classify it in tests/docs or mark "
        "it `<!-- docs-test: skip: REASON -->` (it is then only parsed)"
    ]


def check_json(text: str) -> None:
    """Parse a JSON block."""
    json.loads(text)


# --- collection and the check of one block -----------------------------------

PYTHON_LANGUAGES = frozenset({"python", "py"})
YAML_LANGUAGES = frozenset({"yaml", "yml"})
PARSED_LANGUAGES = frozenset({"json", "toml"})
CHECKED_LANGUAGES = (
    SHELL_LANGUAGES | PYTHON_LANGUAGES | YAML_LANGUAGES | PARSED_LANGUAGES
)


@pytest.fixture(scope="session")
def harness() -> Any:
    """This module, for the tests of the conventions themselves."""
    return sys.modules[__name__]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give ``doc_block`` every checked block of the docs, with ``file:line`` ids."""
    if "doc_block" in metafunc.fixturenames:
        blocks = [b for b in all_blocks() if b.language in CHECKED_LANGUAGES]
        metafunc.parametrize("doc_block", blocks, ids=[b.id for b in blocks])


PYTHON_RUNNER = r"""
import ast, asyncio, inspect, sys
path = sys.argv[1]
code = compile(open(path, encoding="utf-8").read(), path, "exec",
               flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
namespace = {"__name__": "__main__"}
if code.co_flags & inspect.CO_COROUTINE:
    asyncio.run(eval(code, namespace))
else:
    exec(code, namespace)
"""


@pytest.fixture
def check_doc_block(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    scratch_root: Path,
) -> Any:
    """Return the check of one block: run it, or parse and inspect it."""

    def check(block: Block) -> None:
        if block.problem is not None:
            pytest.fail(f"{block.id}: {block.problem}")
        if block.language in YAML_LANGUAGES and block.skip is not None:
            parse_yaml(block.text)
        elif block.language in YAML_LANGUAGES:
            kind, problems = check_yaml(block.text)
            assert not problems, f"{block.id} ({kind}):\n" + "\n".join(problems)
        elif block.language == "json":
            check_json(block.text)
        elif block.language == "toml":
            tomllib.loads(block.text)
        if block.skip is not None:
            pytest.skip(block.skip)
        if block.language in SHELL_LANGUAGES:
            _run_shell(block, request, tmp_path, scratch_root)
        elif block.language in PYTHON_LANGUAGES:
            _run_python(block, request, tmp_path, scratch_root)

    return check


def _environment(
    block: Block, request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[DocsReceiver, dict[str, str]]:
    receiver: DocsReceiver = request.getfixturevalue("docs_receiver")
    receiver.reset()
    venv: Path | None = None
    if re.search(r"\bpip3? install\b", block.text):
        venv = request.getfixturevalue("install_venv")
    return receiver, block_env(receiver, venv, tmp_path)


def _run_shell(
    block: Block, request: pytest.FixtureRequest, tmp_path: Path, root: Path
) -> None:
    _, env = _environment(block, request, tmp_path)
    script = tmp_path / "block.sh"
    if not is_transcript(block.text):
        text = "set -euo pipefail\n" + PRELUDE + substitute(block.text)
        script.write_text(text, encoding="utf-8")
        result = run_process(["bash", str(script)], env, root)
        assert result.returncode == 0, (
            f"{block.id} exited {result.returncode}:\n{result.stdout}"
        )
        return

    # Only the commands: the output shows what a reader would see.
    commands = [
        attrs.evolve(command, text=substitute(command.text))
        for command in transcript_commands(block.text)
    ]
    outputs = Path(tempfile.mkdtemp(prefix="outputs-", dir=tmp_path))
    script.write_text(PRELUDE + transcript_script(commands, outputs), encoding="utf-8")
    result = run_process(["bash", str(script)], env, root)
    assert result.returncode == 0, f"{block.id}: the shell failed:\n{result.stdout}"
    for number, command in enumerate(commands):
        where = f"{block.id} line {block.line + 1 + command.line}: $ {command.text}"
        output = (outputs / f"{number}.out").read_text(encoding="utf-8")
        status = int((outputs / f"{number}.status").read_text())
        matches = output_matches(command.expected, output)
        assert matches, (
            f"{where}\n--- expected\n"
            + "\n".join(command.expected)
            + f"\n--- got (exit status {status})\n{output}"
        )
        assert status == 0 or command.expected, (
            f"{where}\nexited {status} without documented output:\n{output}"
        )


def _run_python(
    block: Block, request: pytest.FixtureRequest, tmp_path: Path, root: Path
) -> None:
    receiver, env = _environment(block, request, tmp_path)
    snippet = tmp_path / "block.py"
    snippet.write_text(substitute_python(block.text, receiver), encoding="utf-8")
    runner = tmp_path / "run_block.py"
    runner.write_text(PYTHON_RUNNER, encoding="utf-8")
    result = run_process([sys.executable, str(runner), str(snippet)], env, root)
    assert result.returncode == 0, (
        f"{block.id} exited {result.returncode}:\n{result.stdout}"
    )
