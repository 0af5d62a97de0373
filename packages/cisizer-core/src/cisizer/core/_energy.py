"""Energy and carbon estimates of CI runs (docs/energy.md).

Per run and container, with ``A`` allocated cores, ``u`` average cores used,
``M`` GiB held and ``h`` hours::

    watts  = A * cpu_min_w + u * (cpu_max_w - cpu_min_w) + M * mem_w_per_gib
    energy = watts * h * pue                                            (Wh)
    carbon = energy / 1000 * grid_g_per_kwh + A * h * embodied_g_per_core_hour

Every term is linear in core-seconds and GiB-seconds, so the receiver sums
those per-run columns in SQL and calls :func:`estimate_energy` once.

Sources of the profile numbers:

- ``cpu_min_w``/``cpu_max_w`` (watts per vCPU at idle and at full load): the
  Cloud Carbon Footprint methodology's averages of the SPECpower results for
  each provider's processors: AWS 0.74/3.5, GCP 0.71/4.26 (median), Azure
  0.78/3.76.  ``on-prem`` reuses the AWS figures, as no fleet is known.
- ``mem_w_per_gib``: Cloud Carbon Footprint's 0.392 W per GB of DDR4 (the
  mean of Crucial's and Micron's figures), applied per GiB by this model.
- ``pue``: Cloud Carbon Footprint's provider figures, AWS 1.135, GCP 1.1,
  Azure 1.185; ``on-prem`` takes 1.58, the average annual PUE reported by the
  Uptime Institute Global Data Center Survey 2023.
- ``grid_g_per_kwh``: 475 gCO2e/kWh, the world-average grid intensity
  the model takes by default (IEA); a run's region is unknown, so every
  profile starts from it and operators set their own grid in the server settings.
- ``embodied_g_per_core_hour``: 0.48 g per core-hour, the model's default,
  for every profile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from cisizer.core._errors import Problem, ValidationError
from cisizer.core._models import EnergyEstimate

__all__ = ["ENERGY_PROFILES", "EnergyProfile", "estimate_energy"]

_SECONDS_PER_HOUR = 3600.0


_COEFFICIENTS = (
    "cpu_min_w",
    "cpu_max_w",
    "mem_w_per_gib",
    "pue",
    "grid_g_per_kwh",
    "embodied_g_per_core_hour",
)


@attrs.frozen
class EnergyProfile:
    """Coefficients of the energy and carbon model (docs/energy.md).

    Raises:
        ValidationError: a coefficient is not a finite number >= 0, or
            ``cpu_max_w`` is below ``cpu_min_w``; each problem names its field.
    """

    name: str
    cpu_min_w: float
    cpu_max_w: float
    mem_w_per_gib: float
    pue: float
    grid_g_per_kwh: float
    embodied_g_per_core_hour: float

    def __attrs_post_init__(self) -> None:
        """Refuse coefficients that would make estimates NaN, infinite or odd."""
        problems = []
        for name in _COEFFICIENTS:
            value: object = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(Problem(name, "must be a number"))
            elif not math.isfinite(value):
                problems.append(Problem(name, "must be a finite number"))
            elif value < 0:
                problems.append(Problem(name, "must be >= 0"))
        if not problems and self.cpu_max_w < self.cpu_min_w:
            problems.append(
                Problem(
                    "cpu_max_w",
                    f"must not be below cpu_min_w ({self.cpu_max_w:g} W < "
                    f"{self.cpu_min_w:g} W)",
                )
            )
        if problems:
            raise ValidationError(problems)


def _profile(
    name: str, cpu_min_w: float, cpu_max_w: float, pue: float
) -> EnergyProfile:
    return EnergyProfile(
        name=name,
        cpu_min_w=cpu_min_w,
        cpu_max_w=cpu_max_w,
        mem_w_per_gib=0.392,
        pue=pue,
        grid_g_per_kwh=475.0,
        embodied_g_per_core_hour=0.48,
    )


ENERGY_PROFILES: Mapping[str, EnergyProfile] = MappingProxyType(
    {
        "aws": _profile("aws", 0.74, 3.5, 1.135),
        "gcp": _profile("gcp", 0.71, 4.26, 1.1),
        "azure": _profile("azure", 0.78, 3.76, 1.185),
        "on-prem": _profile("on-prem", 0.74, 3.5, 1.58),
    }
)
"""The named energy profiles: ``aws`` (the default), ``gcp``, ``azure``, ``on-prem``."""


def estimate_energy(
    *,
    runs: int,
    used_core_seconds: float,
    allocated_core_seconds: float,
    memory_gib_seconds: float,
    profile: EnergyProfile | str = "aws",
) -> EnergyEstimate:
    """Estimate energy (Wh) and carbon (gCO2e) from summed run figures.

    ``profile`` is an :class:`EnergyProfile` or the name of one in
    :data:`ENERGY_PROFILES`.

    Note:
        The model counts CPU and memory of the job's containers only; the
        node's share of disks, network and idle capacity is not included.

    Raises:
        ValidationError: an unknown profile name, or a summed figure that is
            not a finite number.
    """
    if isinstance(profile, str):
        if profile not in ENERGY_PROFILES:
            choices = ", ".join(ENERGY_PROFILES)
            raise ValidationError.single("profile", f"must be one of {choices}")
        profile = ENERGY_PROFILES[profile]
    for name, figure in (
        ("used_core_seconds", used_core_seconds),
        ("allocated_core_seconds", allocated_core_seconds),
        ("memory_gib_seconds", memory_gib_seconds),
    ):
        if not math.isfinite(figure):
            raise ValidationError.single(name, "must be a finite number")

    used_hours = used_core_seconds / _SECONDS_PER_HOUR
    allocated_hours = allocated_core_seconds / _SECONDS_PER_HOUR
    gib_hours = memory_gib_seconds / _SECONDS_PER_HOUR
    watt_hours = (
        allocated_hours * profile.cpu_min_w
        + used_hours * (profile.cpu_max_w - profile.cpu_min_w)
        + gib_hours * profile.mem_w_per_gib
    )
    energy = watt_hours * profile.pue
    carbon = (
        energy / 1000 * profile.grid_g_per_kwh
        + allocated_hours * profile.embodied_g_per_core_hour
    )

    return EnergyEstimate(
        runs=runs,
        cpu_core_hours=used_hours,
        allocated_core_hours=allocated_hours,
        memory_gib_hours=gib_hours,
        energy_wh=energy,
        carbon_g=carbon,
        profile=profile.name,
    )
