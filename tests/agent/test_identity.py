"""Job identity from flags, CISIZER_* variables and the CI's own variables."""

from __future__ import annotations

import pytest

from cisizer.agent import Identity, IdentityError, detect_ci, resolve_identity

GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/widgets",
    "GITHUB_REPOSITORY_OWNER": "acme",
    "GITHUB_WORKFLOW": "CI",
    "GITHUB_WORKFLOW_REF": "acme/widgets/.github/workflows/ci.yml@refs/heads/main",
    "GITHUB_JOB": "build",
    "GITHUB_RUN_ID": "9001",
    "GITHUB_RUN_ATTEMPT": "2",
    "RUNNER_NAME": "runner-7",
}

GITLAB = {
    "GITLAB_CI": "true",
    "CI_PROJECT_PATH": "acme/widgets",
    "CI_PROJECT_NAMESPACE": "acme",
    "CI_CONFIG_PATH": "ci/pipeline.yml",
    "CI_JOB_NAME": "test",
    "CI_PIPELINE_ID": "555",
    "CI_JOB_ID": "777",
    "CI_RUNNER_DESCRIPTION": "shared-runner-3",
}


def test_github_actions_variables_name_the_job() -> None:
    """GitHub Actions variables give org, repo, workflow file, job, run and runner."""
    identity = resolve_identity({}, GITHUB)

    assert identity == Identity(
        organization="acme",
        repository="acme/widgets",
        workflow="ci.yml",
        job="build",
        run_id="9001",
        run_attempt=2,
        runner="runner-7",
        ci="github",
    )


def test_forgejo_actions_uses_workflow_file_name_without_ref() -> None:
    """Forgejo sets GITHUB_WORKFLOW to the file name and no WORKFLOW_REF."""
    env = {k: v for k, v in GITHUB.items() if k != "GITHUB_WORKFLOW_REF"}
    env.update(GITHUB_WORKFLOW=".forgejo/workflows/test.yaml", FORGEJO_ACTIONS="true")

    identity = resolve_identity({}, env)

    assert identity.workflow == "test.yaml"
    assert identity.ci == "forgejo"


def test_gitlab_variables_name_the_job() -> None:
    """GitLab CI variables give the project, config file, job, pipeline and runner."""
    identity = resolve_identity({}, GITLAB)

    assert identity == Identity(
        organization="acme",
        repository="acme/widgets",
        workflow="pipeline.yml",
        job="test",
        run_id="555-777",
        run_attempt=1,
        runner="shared-runner-3",
        ci="gitlab",
    )


def test_gitlab_default_config_path_is_gitlab_ci_yml() -> None:
    """Without CI_CONFIG_PATH the workflow is GitLab's default file name."""
    env = {k: v for k, v in GITLAB.items() if k != "CI_CONFIG_PATH"}

    assert resolve_identity({}, env).workflow == ".gitlab-ci.yml"


def test_given_values_win_over_ci_variables() -> None:
    """A flag or CISIZER_* value replaces what the CI variables say."""
    identity = resolve_identity(
        {"job": "lint", "run_attempt": 3, "runner": None}, GITHUB
    )

    assert (identity.job, identity.run_attempt, identity.runner) == (
        "lint",
        3,
        "runner-7",
    )


def test_missing_identity_names_each_flag_and_variable() -> None:
    """The error lists every missing part with its flag and variable."""
    with pytest.raises(IdentityError) as caught:
        resolve_identity({"organization": "acme"}, {})

    message = str(caught.value)
    assert "no CI system detected" in message
    assert "--repository / CISIZER_REPOSITORY" in message
    assert "--run-id / CISIZER_RUN_ID" in message
    assert "--organization" not in message


def test_bad_run_attempt_is_an_identity_error() -> None:
    """A run attempt that is not a positive whole number is refused."""
    with pytest.raises(IdentityError, match="whole number"):
        resolve_identity({}, dict(GITHUB, GITHUB_RUN_ATTEMPT="two"))
    with pytest.raises(IdentityError, match="at least 1"):
        resolve_identity({"run_attempt": 0}, GITHUB)


def test_no_ci_detected_without_ci_variables() -> None:
    """An environment with no CI variables names no CI system."""
    assert detect_ci({"HOME": "/root"}) == (None, {})


def test_names_the_receiver_would_refuse_are_refused_early() -> None:
    """Overlong names and control characters are an identity error up front."""
    with pytest.raises(IdentityError, match="--job / CISIZER_JOB"):
        resolve_identity({"job": "x" * 256}, GITHUB)
    with pytest.raises(IdentityError, match="--runner / CISIZER_RUNNER"):
        resolve_identity({"runner": "bad\nname"}, GITHUB)
