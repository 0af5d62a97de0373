"""The receiver's settings: one frozen object built from flags and variables."""

from __future__ import annotations

import enum
from datetime import timedelta

import attrs

from cisizer.core import ENERGY_PROFILES, EnergyProfile
from cisizer.server._errors import ConfigurationError

__all__ = ["AuthMode", "Settings"]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MIN_HMAC_KEY_BYTES = 32


class AuthMode(enum.StrEnum):
    """How the receiver authenticates people and programs (DESIGN §4)."""

    NONE = "none"
    OIDC = "oidc"
    GATEWAY = "gateway"


@attrs.frozen(kw_only=True)
class Settings:
    """Every setting of the receiver; the CLI fills it from flags and ``CISIZER_*``.

    ``hmac_keys``: the first key signs push tokens, all of them verify, so a
    key can be rotated by putting the new one first.
    """

    read_token: str = attrs.field(repr=False)
    hmac_keys: tuple[str, ...] = attrs.field(repr=False, converter=tuple)
    db_url: str = "sqlite:///cisizer.db"
    token_ttl: timedelta = timedelta(hours=2)
    auth_mode: AuthMode = attrs.field(default=AuthMode.NONE, converter=AuthMode)
    ci_provider: str | None = None
    forgejo_base_url: str | None = None
    logout_url: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    energy_profile: str = "aws"
    cpu_min_w: float | None = None
    cpu_max_w: float | None = None
    mem_w_per_gib: float | None = None
    pue: float | None = None
    grid_g_per_kwh: float | None = None
    embodied_g_per_core_hour: float | None = None
    migrate: bool = True

    def check(self) -> None:
        """Raise ConfigurationError naming the first flag that is missing or wrong."""
        if not self.read_token:
            raise ConfigurationError("--read-token (CISIZER_READ_TOKEN) is required")
        if not self.hmac_keys or not all(self.hmac_keys):
            raise ConfigurationError("--hmac-key (CISIZER_HMAC_KEY) is required")
        if any(len(key.encode()) < MIN_HMAC_KEY_BYTES for key in self.hmac_keys):
            raise ConfigurationError(
                f"--hmac-key (CISIZER_HMAC_KEY) must be at least "
                f"{MIN_HMAC_KEY_BYTES} bytes (RFC 7518 section 3.2)"
            )
        if self.token_ttl <= timedelta(0):
            raise ConfigurationError("--token-ttl must be positive")
        if self.max_body_bytes < 1024:
            raise ConfigurationError("--max-body-bytes must be at least 1024")
        if self.energy_profile not in ENERGY_PROFILES:
            names = ", ".join(sorted(ENERGY_PROFILES))
            raise ConfigurationError(f"--energy-profile must be one of {names}")
        for name in ("cpu_min_w", "cpu_max_w", "mem_w_per_gib", "pue"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                flag = "--" + name.replace("_", "-")
                raise ConfigurationError(f"{flag} must be >= 0")

    def energy(self) -> EnergyProfile:
        """The energy profile named by ``energy_profile`` with any coefficient set."""
        profile = ENERGY_PROFILES[self.energy_profile]
        changes = {
            name: getattr(self, name)
            for name in (
                "cpu_min_w",
                "cpu_max_w",
                "mem_w_per_gib",
                "pue",
                "grid_g_per_kwh",
                "embodied_g_per_core_hour",
            )
            if getattr(self, name) is not None
        }
        return attrs.evolve(profile, **changes)
