"""Which CI job the agent measures: flags, ``CISIZER_*`` variables, CI variables."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import attrs

from cisizer.agent._errors import IdentityError
from cisizer.agent._names import name_problem as _name_problem

__all__ = ["Identity", "detect_ci", "resolve_identity"]

# Each identity field, the flag that sets it and its CISIZER_* variable.
FIELDS: dict[str, tuple[str, str]] = {
    "organization": ("--organization", "CISIZER_ORGANIZATION"),
    "repository": ("--repository", "CISIZER_REPOSITORY"),
    "workflow": ("--workflow", "CISIZER_WORKFLOW"),
    "job": ("--job", "CISIZER_JOB"),
    "run_id": ("--run-id", "CISIZER_RUN_ID"),
    "run_attempt": ("--run-attempt", "CISIZER_RUN_ATTEMPT"),
    "runner": ("--runner", "CISIZER_RUNNER"),
}

_REQUIRED = ("organization", "repository", "workflow", "job", "run_id")

_log = logging.getLogger(__name__)

# Parts naming URL path segments may not hold '/'; a run id may.
_NO_SLASH = ("organization", "workflow", "job", "runner")


@attrs.frozen
class Identity:
    """The natural key of one job run, plus the runner it ran on."""

    organization: str
    repository: str
    workflow: str
    job: str
    run_id: str
    run_attempt: int = 1
    runner: str | None = None
    ci: str | None = None


def _basename(path: str) -> str:
    return path.rstrip("/").rpartition("/")[2]


def _github(env: Mapping[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    repository = env.get("GITHUB_REPOSITORY", "")
    if repository:
        found["repository"] = repository
        owner = env.get("GITHUB_REPOSITORY_OWNER") or repository.partition("/")[0]
        found["organization"] = owner

    # GITHUB_WORKFLOW_REF is "owner/repo/.github/workflows/ci.yml@refs/heads/main";
    # GITHUB_WORKFLOW is the display name on GitHub but the file on Forgejo.
    ref = env.get("GITHUB_WORKFLOW_REF", "")
    if ref:
        found["workflow"] = _basename(ref.partition("@")[0])
    elif env.get("GITHUB_WORKFLOW"):
        found["workflow"] = _basename(env["GITHUB_WORKFLOW"])

    for field, name in (
        ("job", "GITHUB_JOB"),
        ("run_id", "GITHUB_RUN_ID"),
        ("run_attempt", "GITHUB_RUN_ATTEMPT"),
        ("runner", "RUNNER_NAME"),
    ):
        if env.get(name):
            found[field] = env[name]

    return found


def _gitlab(env: Mapping[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    # A project in a subgroup (grp/sub/proj) belongs to its top-level group;
    # the rest of its path becomes the repository name, grp/sub.proj, since
    # a name in a URL path cannot hold '/'.
    path = env.get("CI_PROJECT_PATH", "").strip("/")
    if path:
        top, _, rest = path.partition("/")
        found["organization"] = top
        found["repository"] = f"{top}/{rest.replace('/', '.')}" if rest else top
    # A configuration kept in another project reads "ci.yml@group/project".
    config = env.get("CI_CONFIG_PATH") or ".gitlab-ci.yml"
    found["workflow"] = _basename(config.partition("@")[0]) or ".gitlab-ci.yml"
    if env.get("CI_JOB_NAME"):
        found["job"] = _gitlab_job(env)

    # A retried GitLab job keeps its pipeline but gets a new job id, so both
    # make the run id; otherwise a retry would be taken for a repeated push.
    pipeline, job_id = env.get("CI_PIPELINE_ID"), env.get("CI_JOB_ID")
    if pipeline and job_id:
        found["run_id"] = f"{pipeline}-{job_id}"
    elif pipeline or job_id:
        found["run_id"] = pipeline or job_id or ""
    if env.get("CI_RUNNER_DESCRIPTION"):
        found["runner"] = env["CI_RUNNER_DESCRIPTION"]

    return found


def _gitlab_job(env: Mapping[str, str]) -> str:
    # The legs of a `parallel: N` job are named "rspec 1/3", "rspec 2/3", ...;
    # they are one job (sized together), told apart by their job ids.
    name = env["CI_JOB_NAME"]
    total, index = env.get("CI_NODE_TOTAL", ""), env.get("CI_NODE_INDEX", "")
    suffix = f" {index}/{total}"
    if total.isdigit() and int(total) > 1 and name.endswith(suffix):
        name = name.removesuffix(suffix)
    return name


def detect_ci(env: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    """Return the CI system named by the environment and the identity it gives."""
    if env.get("GITLAB_CI") or env.get("CI_PROJECT_PATH"):
        return "gitlab", _gitlab(env)
    if env.get("GITHUB_ACTIONS") or env.get("GITHUB_REPOSITORY"):
        ci = (
            "forgejo"
            if env.get("FORGEJO_ACTIONS") or env.get("GITEA_ACTIONS")
            else None
        )
        return ci or "github", _github(env)

    return None, {}


def _repository_problem(value: str, organization: str) -> str | None:
    owner, slash, name = value.partition("/")
    if not slash:
        return _name_problem(value) or _name_problem(
            f"{organization}/{value}", allow_slash=True
        )
    if _name_problem(owner) or _name_problem(name):
        return "must be 'repo' or 'org/repo'"
    if owner != organization:
        return f"must belong to the organization {organization!r}"
    return _name_problem(value, allow_slash=True)


def resolve_identity(
    given: Mapping[str, str | int | None], env: Mapping[str, str]
) -> Identity:
    """Return the job identity: given values first, then the CI's variables.

    ``given`` holds the flag or ``CISIZER_*`` values (``None`` when unset);
    the CI system's own variables fill the gaps.  A missing required part
    raises :class:`IdentityError` naming the flag and variable that set it.
    """
    ci, detected = detect_ci(env)
    values: dict[str, str] = {}
    derived: list[str] = []
    for field in FIELDS:
        value = given.get(field)
        if value is not None and str(value) != "":
            values[field] = str(value)
        elif detected.get(field):
            values[field] = detected[field]
            derived.append(field)

    problems: list[str] = []
    missing = [field for field in _REQUIRED if not values.get(field)]
    if missing:
        hints = ", ".join(f"{FIELDS[f][0]} / {FIELDS[f][1]}" for f in missing)
        where = f"{ci} variables" if ci else "no CI system detected"
        problems.append(f"missing job identity ({where}); set {hints}")

    replaced = [f for f in derived if f in _NO_SLASH and "/" in values[f]]
    for field in replaced:
        values[field] = values[field].replace("/", "-")
    if replaced:
        _log.warning(
            "'/' cannot appear in a %s name; using %s",
            " or ".join(replaced),
            ", ".join(f"{field} {values[field]!r}" for field in replaced),
        )

    # The receiver refuses such names; better said now than after the job.
    for field, value in list(values.items()):
        if field == "run_attempt":
            continue
        if field == "repository":
            problem = _repository_problem(value, values.get("organization", ""))
        else:
            problem = _name_problem(value, allow_slash=field not in _NO_SLASH)
        if problem is not None and field == "runner" and field in derived:
            # The runner is optional: a job is better measured without it.
            _log.warning(
                "the runner name from %s variables %s; the summary names no "
                "runner (set --runner / CISIZER_RUNNER to name one)",
                ci,
                problem,
            )
            del values[field]
            continue
        if problem is not None:
            flag, variable = FIELDS[field]
            shown = f" {value!r}" if len(value) <= 64 else ""
            where = (
                f"from {ci} variables; set {flag} / {variable}"
                if field in derived
                else f"{flag} / {variable}"
            )
            problems.append(f"{field}{shown} {problem} ({where})")

    attempt_text = values.get("run_attempt", "1")
    try:
        attempt = int(attempt_text)
    except ValueError:
        problems.append(f"run attempt must be a whole number, got {attempt_text!r}")
        attempt = 1
    if attempt < 1:
        problems.append(f"run attempt must be at least 1, got {attempt}")
    if problems:
        raise IdentityError("; ".join(problems))

    return Identity(
        organization=values["organization"],
        repository=values["repository"],
        workflow=values["workflow"],
        job=values["job"],
        run_id=values["run_id"],
        run_attempt=attempt,
        runner=values.get("runner"),
        ci=ci,
    )
