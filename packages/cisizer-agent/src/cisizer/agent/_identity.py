"""Which CI job the agent measures: flags, ``CISIZER_*`` variables, CI variables."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from cisizer.agent._errors import IdentityError

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
    path = env.get("CI_PROJECT_PATH", "")
    if path:
        found["repository"] = path
        found["organization"] = env.get("CI_PROJECT_NAMESPACE") or (
            path.rpartition("/")[0] or path
        )
    found["workflow"] = _basename(env.get("CI_CONFIG_PATH") or ".gitlab-ci.yml")
    if env.get("CI_JOB_NAME"):
        found["job"] = env["CI_JOB_NAME"]

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
    for field in FIELDS:
        value = given.get(field)
        if value is not None and str(value) != "":
            values[field] = str(value)
        elif detected.get(field):
            values[field] = detected[field]

    missing = [field for field in _REQUIRED if not values.get(field)]
    if missing:
        hints = ", ".join(f"{FIELDS[f][0]} / {FIELDS[f][1]}" for f in missing)
        where = f"{ci} variables" if ci else "no CI system detected"
        raise IdentityError(f"missing job identity ({where}); set {hints}")

    # The receiver refuses such names; better said now than after the job.
    for field, value in values.items():
        if len(value) > 255 or any(ord(c) < 32 or ord(c) == 127 for c in value):
            flag, variable = FIELDS[field]
            raise IdentityError(
                f"{field} must be at most 255 characters without control "
                f"characters ({flag} / {variable})"
            )

    attempt_text = values.get("run_attempt", "1")
    try:
        attempt = int(attempt_text)
    except ValueError:
        raise IdentityError(
            f"run attempt must be a whole number, got {attempt_text!r}"
        ) from None
    if attempt < 1:
        raise IdentityError(f"run attempt must be at least 1, got {attempt}")

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
