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


@pytest.mark.parametrize(
    ("path", "organization", "repository"),
    [
        ("grp/sub/proj", "grp", "grp/sub.proj"),
        ("grp/a/b/proj", "grp", "grp/a.b.proj"),
        ("grp/proj", "grp", "grp/proj"),
    ],
)
def test_gitlab_subgroup_project_belongs_to_top_level_group(
    path: str, organization: str, repository: str
) -> None:
    """A subgroup project is the top group's repository, the rest joined by dots."""
    env = dict(GITLAB, CI_PROJECT_PATH=path, CI_PROJECT_NAMESPACE=path[:-5])

    identity = resolve_identity({}, env)

    assert (identity.organization, identity.repository) == (organization, repository)


def test_given_organization_and_repository_replace_the_gitlab_path() -> None:
    """--organization and --repository override what CI_PROJECT_PATH gives."""
    env = dict(GITLAB, CI_PROJECT_PATH="grp/sub/proj")

    identity = resolve_identity({"organization": "sub", "repository": "sub/proj"}, env)

    assert (identity.organization, identity.repository) == ("sub", "sub/proj")


def test_gitlab_workflow_is_the_config_file_name() -> None:
    """A config path in a directory or another project gives its file name."""
    env = dict(GITLAB, CI_CONFIG_PATH="ci/templates/main.gitlab-ci.yml@grp/tmpl")
    env_plain = dict(GITLAB, CI_CONFIG_PATH="build/ci.yml")

    assert resolve_identity({}, env_plain).workflow == "ci.yml"
    assert resolve_identity({}, env).workflow == "main.gitlab-ci.yml"


def test_gitlab_parallel_legs_are_one_job() -> None:
    """Every leg of a `parallel: 3` job has the job's own name and its own run id."""
    legs = [
        resolve_identity(
            {},
            dict(
                GITLAB,
                CI_JOB_NAME=f"rspec {index}/3",
                CI_NODE_INDEX=str(index),
                CI_NODE_TOTAL="3",
                CI_JOB_ID=str(700 + index),
            ),
        )
        for index in (1, 2, 3)
    ]

    assert [leg.job for leg in legs] == ["rspec", "rspec", "rspec"]
    assert [leg.run_id for leg in legs] == ["555-701", "555-702", "555-703"]


def test_gitlab_job_with_a_slash_is_renamed_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A '/' left in a job name from CI variables becomes '-', said once."""
    env = dict(GITLAB, CI_JOB_NAME="deploy eu/west 1/3", CI_NODE_TOTAL="1")

    with caplog.at_level("WARNING"):
        identity = resolve_identity({}, env)

    assert identity.job == "deploy eu-west 1-3"
    assert len(caplog.records) == 1
    assert "'deploy eu-west 1-3'" in caplog.records[0].getMessage()


@pytest.mark.parametrize(
    ("given", "needle"),
    [
        ({"job": "a/b"}, "job 'a/b' must not contain '/' (--job / CISIZER_JOB)"),
        ({"organization": "grp/sub"}, "--organization / CISIZER_ORGANIZATION"),
        ({"workflow": "   "}, "workflow '   ' must not be only whitespace"),
        ({"runner": "r\u202eunner"}, "U+202E (--runner / CISIZER_RUNNER)"),
        ({"job": "zero\u200bwidth"}, "U+200B (--job / CISIZER_JOB)"),
        ({"repository": "a/b/c"}, "must be 'repo' or 'org/repo'"),
        ({"repository": "other/widgets"}, "must belong to the organization 'acme'"),
    ],
)
def test_given_names_the_receiver_refuses_are_errors(
    given: dict[str, str], needle: str
) -> None:
    """A given name with '/', only blanks or invisible characters is refused."""
    with pytest.raises(IdentityError) as caught:
        resolve_identity(given, GITHUB)

    assert needle in str(caught.value)


def test_run_id_may_hold_a_slash() -> None:
    """A run id is no URL path segment, so '/' is allowed in it."""
    assert resolve_identity({"run_id": "88/2"}, GITHUB).run_id == "88/2"


@pytest.mark.parametrize(
    "name",
    [
        "build",
        "a/b",
        "   ",
        "x\u202ey",
        "z\u200bw",
        "tab\tname",
        "x" * 256,
        "é ü",
        "fam \U0001f468\u200d\U0001f469",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        "co\u00adop",
        "\u200d",
        " \u00ad\u200c ",
        "\ufeffbom",
    ],
)
def test_identity_checks_agree_with_the_receiver(name: str) -> None:
    """A job name the agent accepts is one the core's push validation accepts."""
    from cisizer.core import ValidationError, parse_push

    from .conftest import make_push

    body = make_push()
    body["job"] = name
    try:
        parse_push(body)
    except ValidationError:
        core_accepts = False
    else:
        core_accepts = True
    try:
        resolve_identity({"job": name}, GITHUB)
    except IdentityError:
        agent_accepts = False
    else:
        agent_accepts = True

    assert agent_accepts == core_accepts


@pytest.mark.parametrize(
    ("description", "problem"),
    [
        ("shared\nrunner", "U+000A"),
        ("r" * 300, "at most 255 characters"),
        ("\u200b", "U+200B"),
    ],
)
def test_gitlab_runner_the_receiver_refuses_is_dropped_with_a_warning(
    caplog: pytest.LogCaptureFixture, description: str, problem: str
) -> None:
    """A refused runner from CI variables is left out, said in one WARNING."""
    env = dict(GITLAB, CI_RUNNER_DESCRIPTION=description)

    with caplog.at_level("WARNING"):
        identity = resolve_identity({}, env)

    assert identity.runner is None
    assert identity.job == "test"
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert message.startswith("the runner name from gitlab variables must ")
    assert problem in message


def test_github_runner_name_with_a_newline_is_dropped() -> None:
    """RUNNER_NAME with a newline leaves the runner out instead of the job."""
    identity = resolve_identity({}, dict(GITHUB, RUNNER_NAME="a\nb"))

    assert identity.runner is None
    assert identity.run_id == "9001"


def test_given_runner_the_receiver_refuses_stays_an_error() -> None:
    """A runner given by flag or CISIZER_RUNNER that breaks a rule is refused."""
    with pytest.raises(IdentityError) as caught:
        resolve_identity({"runner": "a\nb"}, GITHUB)

    assert "(--runner / CISIZER_RUNNER)" in str(caught.value)


def test_every_identity_problem_is_named_at_once() -> None:
    """Several bad parts are reported together, not only the first."""
    with pytest.raises(IdentityError) as caught:
        resolve_identity({"job": "a/b", "workflow": "x\u200by"}, GITHUB)

    assert "job 'a/b' must not contain '/'" in str(caught.value)
    assert "U+200B (--workflow / CISIZER_WORKFLOW)" in str(caught.value)


@pytest.mark.parametrize(
    "name",
    [
        "fam \U0001f468\u200d\U0001f469",
        "\U0001f3f3\ufe0f\u200d\U0001f308",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        "co\u00adop",
    ],
)
def test_gitlab_job_names_of_real_text_are_measured(name: str) -> None:
    """Joiners and soft hyphens in a GitLab job name are kept as they are."""
    assert resolve_identity({}, dict(GITLAB, CI_JOB_NAME=name)).job == name
