"""The receiver's settings: one frozen object built from flags and variables."""

from __future__ import annotations

import enum
import math
from datetime import timedelta
from urllib.parse import urlsplit

import attrs

from cisizer.core import ENERGY_PROFILES, EnergyProfile, PushTokenSigner
from cisizer.server._errors import ConfigurationError

__all__ = ["AuthMode", "Settings"]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# The CI systems whose variables the agent reads, as /api/v1/info names them.
CI_PROVIDERS = ("forgejo", "github", "gitlab")
# Each coefficient's range, wide enough for any real hardware and grid yet
# small enough that no sum over a fleet's runs overflows a float.
ENERGY_COEFFICIENTS = {
    "cpu_min_w": (0.0, 1000.0),
    "cpu_max_w": (0.0, 1000.0),
    "mem_w_per_gib": (0.0, 1000.0),
    "pue": (1.0, 10.0),
    "grid_g_per_kwh": (0.0, 5000.0),
    "embodied_g_per_core_hour": (0.0, 1000.0),
}
MAX_PUSH_GRACE = timedelta(days=7)
MAX_SESSION_TTL = timedelta(days=30)
MIN_HMAC_KEY_BYTES = 32
MIN_READ_TOKEN_LENGTH = 16


class AuthMode(enum.StrEnum):
    """How the receiver authenticates people and programs (docs/configuration.md)."""

    NONE = "none"
    OIDC = "oidc"
    GATEWAY = "gateway"


@attrs.frozen(kw_only=True)
class Settings:
    """Every setting of the receiver; the CLI fills it from flags and ``CISIZER_*``.

    ``hmac_keys``: the first key signs push tokens, all of them verify, so a
    key can be rotated by putting the new one first; ``session_keys`` do the
    same for the session cookies of auth mode ``oidc``.  The ``oidc_*`` and
    ``session_*`` settings matter in mode ``oidc`` only, the ``gateway_*``
    ones in mode ``gateway`` only; :meth:`check` requires those of the mode.
    """

    read_token: str = attrs.field(repr=False)
    hmac_keys: tuple[str, ...] = attrs.field(repr=False, converter=tuple)
    db_url: str = "sqlite:///cisizer.db"
    token_ttl: timedelta = timedelta(hours=2)
    push_grace: timedelta = timedelta(hours=6)
    body_timeout: float = 10.0
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
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = attrs.field(default=None, repr=False)
    oidc_redirect_url: str | None = None
    oidc_scopes: tuple[str, ...] = attrs.field(
        default=("openid", "profile", "email"), converter=tuple
    )
    oidc_allowed_groups: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    oidc_allowed_emails: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    oidc_groups_claim: str = "groups"
    session_keys: tuple[str, ...] = attrs.field(default=(), repr=False, converter=tuple)
    session_ttl: timedelta = timedelta(hours=8)
    gateway_jwks_url: str | None = None
    gateway_public_key: str | None = None
    gateway_issuer: str | None = None
    gateway_audience: str | None = None
    gateway_algorithms: tuple[str, ...] = attrs.field(
        default=("RS256", "ES256"), converter=tuple
    )

    def check(self) -> None:
        """Raise ConfigurationError naming the first flag that is missing or wrong."""
        if not self.read_token:
            raise ConfigurationError("--read-token (CISIZER_READ_TOKEN) is required")
        if len(self.read_token) < MIN_READ_TOKEN_LENGTH:
            raise ConfigurationError(
                f"--read-token (CISIZER_READ_TOKEN) must be at least "
                f"{MIN_READ_TOKEN_LENGTH} characters"
            )
        if not self.hmac_keys or not all(self.hmac_keys):
            raise ConfigurationError("--hmac-key (CISIZER_HMAC_KEY) is required")
        if any(len(key.encode()) < MIN_HMAC_KEY_BYTES for key in self.hmac_keys):
            raise ConfigurationError(
                f"--hmac-key (CISIZER_HMAC_KEY) must be at least "
                f"{MIN_HMAC_KEY_BYTES} bytes (RFC 7518 section 3.2)"
            )
        if not timedelta(0) < self.token_ttl <= PushTokenSigner.MAX_TTL:
            raise ConfigurationError(
                f"--token-ttl must be positive and at most "
                f"{PushTokenSigner.MAX_TTL.days} days"
            )
        if not timedelta(0) <= self.push_grace <= MAX_PUSH_GRACE:
            raise ConfigurationError(
                f"--push-grace must be from 0 to {MAX_PUSH_GRACE.days} days"
            )
        if not 0 < self.body_timeout <= 3600:
            raise ConfigurationError("--body-timeout must be between 0 and 3600 s")
        if self.max_body_bytes < 1024:
            raise ConfigurationError("--max-body-bytes must be at least 1024")
        if self.energy_profile not in ENERGY_PROFILES:
            names = ", ".join(sorted(ENERGY_PROFILES))
            raise ConfigurationError(f"--energy-profile must be one of {names}")
        if self.ci_provider is not None and self.ci_provider not in CI_PROVIDERS:
            names = ", ".join(CI_PROVIDERS)
            raise ConfigurationError(f"--ci-provider must be one of {names}")
        for name in ("forgejo_base_url", "logout_url"):
            value = getattr(self, name)
            if value is not None:
                _check_absolute_url(name, value)
        self._check_energy()
        if self.auth_mode is AuthMode.OIDC:
            self._check_oidc()
        if self.auth_mode is AuthMode.GATEWAY:
            self._check_gateway()

    def _check_oidc(self) -> None:
        for name in (
            "oidc_issuer",
            "oidc_client_id",
            "oidc_client_secret",
            "oidc_redirect_url",
        ):
            if not getattr(self, name):
                raise ConfigurationError(f"{_flag(name)} is required in oidc mode")
        _check_url("oidc_issuer", self.oidc_issuer)
        _check_url("oidc_redirect_url", self.oidc_redirect_url)
        assert self.oidc_redirect_url is not None
        if not urlsplit(self.oidc_redirect_url).path.endswith("/ui/callback"):
            raise ConfigurationError(
                "--oidc-redirect-url must end in /ui/callback, the receiver's "
                "callback route"
            )
        if "openid" not in self.oidc_scopes:
            raise ConfigurationError("--oidc-scopes must include openid")
        if not self.session_keys or not all(self.session_keys):
            raise ConfigurationError(
                "--session-key (CISIZER_SESSION_KEY) is required in oidc mode"
            )
        if any(len(key.encode()) < MIN_HMAC_KEY_BYTES for key in self.session_keys):
            raise ConfigurationError(
                f"--session-key (CISIZER_SESSION_KEY) must be at least "
                f"{MIN_HMAC_KEY_BYTES} bytes"
            )
        if not timedelta(0) < self.session_ttl <= MAX_SESSION_TTL:
            raise ConfigurationError(
                f"--session-ttl must be positive and at most "
                f"{MAX_SESSION_TTL.days} days"
            )

    def _check_gateway(self) -> None:
        if not self.gateway_jwks_url and not self.gateway_public_key:
            raise ConfigurationError(
                "--gateway-jwks-url or --gateway-public-key is required in gateway mode"
            )
        if self.gateway_jwks_url and self.gateway_public_key:
            raise ConfigurationError(
                "give only one of --gateway-jwks-url and --gateway-public-key"
            )
        if self.gateway_jwks_url:
            _check_url("gateway_jwks_url", self.gateway_jwks_url)
        for name in ("gateway_issuer", "gateway_audience"):
            if not getattr(self, name):
                raise ConfigurationError(f"{_flag(name)} is required in gateway mode")

    def _check_energy(self) -> None:
        for name, (low, high) in ENERGY_COEFFICIENTS.items():
            value = getattr(self, name)
            if value is None or (math.isfinite(value) and low <= value <= high):
                continue
            raise ConfigurationError(
                f"{_flag(name)} must be a finite number from {low:g} to {high:g}, "
                f"not {value}"
            )
        profile = ENERGY_PROFILES[self.energy_profile]
        cpu_min_w = profile.cpu_min_w if self.cpu_min_w is None else self.cpu_min_w
        cpu_max_w = profile.cpu_max_w if self.cpu_max_w is None else self.cpu_max_w
        if cpu_max_w < cpu_min_w:
            raise ConfigurationError(
                f"--cpu-max-w ({cpu_max_w} W) must not be below --cpu-min-w "
                f"({cpu_min_w} W, {self.energy_profile} profile or flag)"
            )

    def energy(self) -> EnergyProfile:
        """The energy profile named by ``energy_profile`` with any coefficient set.

        A profile with a coefficient set is named ``<profile>+custom`` (e.g.
        ``aws+custom``), so that estimates do not claim the plain profile.
        """
        profile = ENERGY_PROFILES[self.energy_profile]
        changes = {
            name: getattr(self, name)
            for name in ENERGY_COEFFICIENTS
            if getattr(self, name) is not None
        }
        if not changes:
            return profile
        return attrs.evolve(profile, name=f"{profile.name}+custom", **changes)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _check_absolute_url(name: str, value: str) -> None:
    """Require an absolute http(s) URL, so no script or relative path is published."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        host = None
    if not host or parts.scheme not in ("http", "https"):
        raise ConfigurationError(
            f"{_flag(name)} must be an absolute http:// or https:// URL"
        )


def _check_url(name: str, value: str | None) -> None:
    """Require https, or http to a loopback host (development and tests)."""
    parts = urlsplit(value or "")
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not parts.hostname or not (
        parts.scheme == "https" or (parts.scheme == "http" and loopback)
    ):
        raise ConfigurationError(
            f"{_flag(name)} must be an https:// URL (http:// only for localhost)"
        )
