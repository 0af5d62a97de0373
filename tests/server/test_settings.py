"""The receiver's settings: energy coefficients and published URLs are checked."""

from __future__ import annotations

import json
import math
import os

import falcon.testing
import pytest
from click.testing import CliRunner

from cisizer.core import ENERGY_PROFILES
from cisizer.server import Settings, create_app
from cisizer.server._cli import main
from cisizer.server._errors import ConfigurationError

READ_TOKEN = "settings-read-token-0123456789abcdef"
HMAC_KEY = "settings-hmac-key-0123456789abcdef0123456789"


def _settings(**values: object) -> Settings:
    return Settings(read_token=READ_TOKEN, hmac_keys=(HMAC_KEY,), **values)


@pytest.fixture
def clean_env(monkeypatch):
    """Remove every CISIZER_ variable so that only the test's settings count."""
    for name in list(os.environ):
        if name.startswith("CISIZER_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    "name",
    [
        "cpu_min_w",
        "cpu_max_w",
        "mem_w_per_gib",
        "pue",
        "grid_g_per_kwh",
        "embodied_g_per_core_hour",
    ],
)
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, -0.5])
def test_energy_coefficients_must_be_finite_and_not_negative(name, value):
    """Infinity, NaN and negative coefficients are refused, naming the flag."""
    flag = "--" + name.replace("_", "-")

    with pytest.raises(ConfigurationError) as caught:
        _settings(**{name: value}).check()

    assert str(caught.value).startswith(f"{flag} must be a finite number from ")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("cpu_max_w", 1000.5),
        ("mem_w_per_gib", 1e308),
        ("grid_g_per_kwh", 5001.0),
        ("embodied_g_per_core_hour", 1e6),
        ("pue", 0.99),
        ("pue", 10.5),
    ],
)
def test_energy_coefficients_have_upper_bounds(name, value):
    """A coefficient past its plausible range is refused, naming the flag."""
    flag = "--" + name.replace("_", "-")

    with pytest.raises(ConfigurationError) as caught:
        _settings(**{name: value}).check()

    assert str(caught.value).startswith(f"{flag} must be a finite number from ")
    assert str(caught.value).endswith(f"not {value}")


def test_largest_coefficients_give_finite_estimates():
    """Every coefficient at its upper bound gives finite figures for a huge fleet."""
    from cisizer.core import estimate_energy

    settings = _settings(
        cpu_min_w=1000.0,
        cpu_max_w=1000.0,
        mem_w_per_gib=1000.0,
        pue=10.0,
        grid_g_per_kwh=5000.0,
        embodied_g_per_core_hour=1000.0,
    )
    settings.check()

    estimate = estimate_energy(
        runs=10**9,
        used_core_seconds=1e18,
        allocated_core_seconds=1e18,
        memory_gib_seconds=1e18,
        profile=settings.energy(),
    )

    assert settings.energy().name == "aws+custom"
    assert math.isfinite(estimate.energy_wh)
    assert math.isfinite(estimate.carbon_g)


def test_zero_coefficients_are_accepted():
    """Zero watts or zero grid intensity is a valid, if unusual, setting."""
    settings = _settings(cpu_min_w=0.0, cpu_max_w=0.0, grid_g_per_kwh=0.0, pue=1.0)

    settings.check()

    assert settings.energy().grid_g_per_kwh == 0.0


def test_cpu_max_w_below_the_profiles_cpu_min_w_is_refused():
    """--cpu-max-w 0.1 is below the aws profile's 0.74 W idle figure."""
    with pytest.raises(ConfigurationError) as caught:
        _settings(cpu_max_w=0.1).check()

    assert str(caught.value).startswith("--cpu-max-w (0.1 W) must not be below")
    assert "--cpu-min-w (0.74 W" in str(caught.value)


def test_cpu_min_w_above_cpu_max_w_is_refused():
    """Both flags set with the idle figure above the busy one is refused."""
    with pytest.raises(ConfigurationError, match="--cpu-max-w"):
        _settings(cpu_min_w=5.0, cpu_max_w=4.0).check()


def test_profile_without_overrides_keeps_its_name():
    """With no coefficient set, estimates name the chosen profile as it is."""
    settings = _settings(energy_profile="gcp")

    assert settings.energy() == ENERGY_PROFILES["gcp"]
    assert settings.energy().name == "gcp"


def test_an_overridden_coefficient_marks_the_profile_custom():
    """One coefficient set on aws reports aws+custom and uses the new value."""
    profile = _settings(grid_g_per_kwh=50.0).energy()

    assert profile.name == "aws+custom"
    assert profile.grid_g_per_kwh == 50.0
    assert profile.cpu_max_w == ENERGY_PROFILES["aws"].cpu_max_w


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "/logout",
        "logout",
        "ftp://example.com/logout",
        "https://",
        "http://[::1",
    ],
)
@pytest.mark.parametrize("name", ["logout_url", "forgejo_base_url"])
def test_published_urls_must_be_absolute_http_urls(url, name):
    """A script URL, a relative path or another scheme is refused."""
    with pytest.raises(ConfigurationError) as caught:
        _settings(**{name: url}).check()

    flag = "--" + name.replace("_", "-")
    assert str(caught.value) == f"{flag} must be an absolute http:// or https:// URL"


@pytest.mark.parametrize(
    "url", ["https://sso.example.com/logout?next=/", "http://intranet:8080/bye"]
)
@pytest.mark.parametrize("name", ["logout_url", "forgejo_base_url"])
def test_absolute_published_urls_are_accepted(url, name):
    """An absolute http or https URL is published as given."""
    settings = _settings(**{name: url})

    settings.check()

    assert getattr(settings, name) == url


@pytest.mark.parametrize("provider", ["jenkins", "GitHub", ""])
def test_unknown_ci_provider_is_refused(provider):
    """Only the CI systems the agent knows may be published as the provider."""
    with pytest.raises(ConfigurationError) as caught:
        _settings(ci_provider=provider).check()

    assert str(caught.value) == "--ci-provider must be one of forgejo, github, gitlab"


def test_create_app_refuses_bad_energy_settings(tmp_path):
    """create_app checks the settings too, before touching the database."""
    settings = _settings(db_url=f"sqlite:///{tmp_path / 'never.db'}", pue=math.inf)

    with pytest.raises(ConfigurationError, match=r"^--pue must be a finite"):
        create_app(settings)

    assert not (tmp_path / "never.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--grid-g-per-kwh", "inf"],
            "--grid-g-per-kwh must be a finite number from 0 to 5000, not inf",
        ),
        (
            ["--cpu-min-w", "nan"],
            "--cpu-min-w must be a finite number from 0 to 1000, not nan",
        ),
        (
            ["--grid-g-per-kwh", "1e308"],
            "--grid-g-per-kwh must be a finite number from 0 to 5000, not 1e+308",
        ),
        (["--pue", "0"], "--pue must be a finite number from 1 to 10, not 0.0"),
        (["--pue", "1e308"], "--pue must be a finite number from 1 to 10, not 1e+308"),
        (
            ["--embodied-g-per-core-hour", "1001"],
            "--embodied-g-per-core-hour must be a finite number from 0 to 1000, "
            "not 1001.0",
        ),
        (["--cpu-max-w", "0.1"], "--cpu-max-w (0.1 W) must not be below"),
        (
            ["--logout-url", "javascript:alert(1)"],
            "--logout-url must be an absolute http:// or https:// URL",
        ),
    ],
)
def test_serve_stops_with_exit_2_naming_the_flag(clean_env, tmp_path, args, message):
    """A bad energy coefficient or logout URL stops serve before it starts."""
    result = CliRunner().invoke(
        main,
        [
            "serve",
            "--read-token",
            READ_TOKEN,
            "--hmac-key",
            HMAC_KEY,
            "--db-url",
            f"sqlite:///{tmp_path / 'never.db'}",
            *args,
        ],
    )

    assert result.exit_code == 2
    assert f"cisizer-server: error: {message}" in result.output


def test_energy_answers_name_the_custom_profile(tmp_path):
    """An energy estimate with a coefficient set says aws+custom, in valid JSON."""
    settings = _settings(db_url=f"sqlite:///{tmp_path / 'e.db'}", pue=2.0)
    client = falcon.testing.TestClient(create_app(settings))

    result = client.simulate_get(
        "/api/v1/energy/repo/my-org/my-repo/ci.yml/build",
        headers={"Authorization": f"Bearer {READ_TOKEN}"},
    )

    assert result.status_code == 200
    assert json.loads(result.text)["profile"] == "aws+custom"
    assert json.loads(result.text)["energy_wh"] == 0.0
