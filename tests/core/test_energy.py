"""Tests of the energy and carbon estimates."""

from __future__ import annotations

import math

import attrs
import pytest

from cisizer.core import ENERGY_PROFILES, ValidationError, estimate_energy


def test_design_check() -> None:
    """DESIGN §6: 4 cores at 50 % for 10 minutes is 1.60 Wh with AWS figures."""
    estimate = estimate_energy(
        runs=1,
        used_core_seconds=2 * 600,
        allocated_core_seconds=4 * 600,
        memory_gib_seconds=0,
        profile="aws",
    )

    assert round(estimate.energy_wh, 2) == 1.60
    assert estimate.energy_wh == pytest.approx(1.6041333)
    assert estimate.cpu_core_hours == pytest.approx(1 / 3)
    assert estimate.allocated_core_hours == pytest.approx(2 / 3)
    # 1.6041 Wh at 475 g/kWh plus 2/3 core-hour at 0.48 g.
    assert estimate.carbon_g == pytest.approx(0.7619633 + 0.32)
    assert estimate.profile == "aws"
    assert estimate.runs == 1


def test_memory_term() -> None:
    """One GiB held for an hour adds 0.392 W x PUE."""
    estimate = estimate_energy(
        runs=3,
        used_core_seconds=0,
        allocated_core_seconds=0,
        memory_gib_seconds=3600,
        profile=ENERGY_PROFILES["gcp"],
    )

    assert estimate.memory_gib_hours == 1.0
    assert estimate.energy_wh == pytest.approx(0.392 * 1.1)
    assert estimate.carbon_g == pytest.approx(0.392 * 1.1 / 1000 * 475)


def test_linear_in_runs() -> None:
    """Summing two runs' figures gives the sum of their estimates."""
    one = estimate_energy(
        runs=1,
        used_core_seconds=100,
        allocated_core_seconds=400,
        memory_gib_seconds=50,
        profile="azure",
    )
    two = estimate_energy(
        runs=2,
        used_core_seconds=200,
        allocated_core_seconds=800,
        memory_gib_seconds=100,
        profile="azure",
    )

    assert two.energy_wh == pytest.approx(2 * one.energy_wh)
    assert two.carbon_g == pytest.approx(2 * one.carbon_g)


def test_profiles() -> None:
    """The four named profiles carry their documented coefficients."""
    assert sorted(ENERGY_PROFILES) == ["aws", "azure", "gcp", "on-prem"]
    aws, gcp = ENERGY_PROFILES["aws"], ENERGY_PROFILES["gcp"]
    assert (aws.cpu_min_w, aws.cpu_max_w, aws.mem_w_per_gib, aws.pue) == (
        0.74,
        3.5,
        0.392,
        1.135,
    )
    assert (aws.grid_g_per_kwh, aws.embodied_g_per_core_hour) == (475.0, 0.48)
    assert (gcp.cpu_min_w, gcp.cpu_max_w, gcp.pue) == (0.71, 4.26, 1.1)
    assert ENERGY_PROFILES["azure"].pue == 1.185
    assert ENERGY_PROFILES["on-prem"].pue == 1.58
    assert all(name == profile.name for name, profile in ENERGY_PROFILES.items())


def test_custom_profile() -> None:
    """An operator's own coefficients are used as given."""
    profile = attrs.evolve(ENERGY_PROFILES["aws"], name="eu", grid_g_per_kwh=0.0)

    estimate = estimate_energy(
        runs=1,
        used_core_seconds=0,
        allocated_core_seconds=3600,
        memory_gib_seconds=0,
        profile=profile,
    )

    assert estimate.profile == "eu"
    assert estimate.carbon_g == pytest.approx(0.48)


def test_unknown_profile() -> None:
    """An unknown profile name is a validation error listing the choices."""
    with pytest.raises(ValidationError, match="aws, gcp, azure, on-prem"):
        estimate_energy(
            runs=0,
            used_core_seconds=0,
            allocated_core_seconds=0,
            memory_gib_seconds=0,
            profile="mars",
        )


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        ({"grid_g_per_kwh": math.inf}, ["grid_g_per_kwh: must be a finite number"]),
        ({"cpu_min_w": math.nan}, ["cpu_min_w: must be a finite number"]),
        ({"pue": -math.inf}, ["pue: must be a finite number"]),
        ({"mem_w_per_gib": -0.1}, ["mem_w_per_gib: must be >= 0"]),
        (
            {"embodied_g_per_core_hour": "0.48"},
            ["embodied_g_per_core_hour: must be a number"],
        ),
        (
            {"cpu_max_w": 0.1},
            ["cpu_max_w: must not be below cpu_min_w (0.1 W < 0.74 W)"],
        ),
        (
            {"cpu_min_w": math.nan, "cpu_max_w": math.inf},
            [
                "cpu_min_w: must be a finite number",
                "cpu_max_w: must be a finite number",
            ],
        ),
    ],
)
def test_profile_refuses_bad_coefficients(
    changes: dict[str, object], problems: list[str]
) -> None:
    """Non-finite, negative or mistyped coefficients and max < min are refused."""
    with pytest.raises(ValidationError) as caught:
        attrs.evolve(ENERGY_PROFILES["aws"], **changes)

    assert [str(problem) for problem in caught.value.problems] == problems


def test_profile_accepts_equal_cpu_figures_and_zero_grid() -> None:
    """cpu_max_w equal to cpu_min_w and a carbon-free grid are valid coefficients."""
    profile = attrs.evolve(
        ENERGY_PROFILES["aws"], cpu_max_w=0.74, grid_g_per_kwh=0, pue=1
    )

    estimate = estimate_energy(
        runs=1,
        used_core_seconds=3600,
        allocated_core_seconds=3600,
        memory_gib_seconds=0,
        profile=profile,
    )

    assert estimate.energy_wh == pytest.approx(0.74)
    assert estimate.carbon_g == pytest.approx(0.48)


def test_estimate_refuses_non_finite_figures() -> None:
    """A NaN or infinite summed figure is refused instead of yielding NaN carbon."""
    with pytest.raises(ValidationError, match=r"^memory_gib_seconds: must be a finite"):
        estimate_energy(
            runs=1,
            used_core_seconds=0,
            allocated_core_seconds=0,
            memory_gib_seconds=math.inf,
        )
