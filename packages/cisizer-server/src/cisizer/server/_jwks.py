"""Signed JWTs from outside: allowed algorithms, remote key sets, refusal reasons.

Shared by auth mode oidc (ID tokens) and gateway (``X-Access-Token``).
Only asymmetric algorithms are ever accepted, so neither ``none`` nor an
HMAC algorithm keyed with a public key (HS/RS confusion) can pass.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import falcon
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import KeySet

from cisizer.server._errors import ConfigurationError

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "JwksCache",
    "check_algorithms",
    "fetch_json",
    "refusal_reason",
]

_LOGGER = logging.getLogger(__name__)

ASYMMETRIC_ALGORITHMS = frozenset(
    {
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
    }
)


def check_algorithms(flag: str, algorithms: tuple[str, ...]) -> None:
    """Raise ConfigurationError unless every algorithm is asymmetric and known."""
    if not algorithms:
        raise ConfigurationError(f"{flag} must name at least one algorithm")
    for name in algorithms:
        if name not in ASYMMETRIC_ALGORITHMS:
            allowed = ", ".join(sorted(ASYMMETRIC_ALGORITHMS))
            raise ConfigurationError(
                f"{flag}: {name!r} is not allowed; use one of {allowed}"
            )


def fetch_json(url: str, timeout: float) -> Any:
    """GET a JSON document from an http(s) URL of the operator's settings."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{url}: not an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, headers={"Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.load(response)


class JwksCache:
    """A key set fetched from a URL, kept for a while and refetched for a new kid.

    Note:
        A token naming an unknown ``kid`` triggers a refetch at once (keys
        rotate), but at most one per ``min_refetch`` seconds, so forged kids
        cannot flood the key server.
    """

    def __init__(
        self,
        url: str,
        *,
        max_age: float = 300.0,
        min_refetch: float = 30.0,
        timeout: float = 5.0,
        fetch: Callable[[str, float], Any] = fetch_json,
    ) -> None:
        """Serve the key set at ``url``, fetched at first use."""
        self._url = url
        self._max_age = max_age
        self._min_refetch = min_refetch
        self._timeout = timeout
        self._fetch = fetch
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._forced_at = float("-inf")

    def keys(self, *, refresh: bool = False) -> KeySet:
        """The key set; ``refresh`` asks for a new copy when the kid is unknown.

        Raises:
            falcon.HTTPServiceUnavailable: the key set cannot be fetched.
        """
        with self._lock:
            now = time.monotonic()
            stale = self._keys is None or now - self._fetched_at > self._max_age
            if refresh and now - self._forced_at > self._min_refetch:
                self._forced_at = now
                stale = True
            if stale:
                self._keys = self._load()
                self._fetched_at = now
            assert self._keys is not None
            return self._keys

    def _load(self) -> KeySet:
        try:
            return KeySet.import_key_set(self._fetch(self._url, self._timeout))
        except (OSError, ValueError, KeyError, TypeError, JoseError) as error:
            _LOGGER.warning("cannot load the key set at %s: %s", self._url, error)
            if self._keys is not None:
                return self._keys
            raise falcon.HTTPServiceUnavailable(
                title="Service unavailable",
                description="key set: the JWKS URL cannot be reached",
                retry_after=5,
            ) from None


def refusal_reason(error: JoseError) -> str:
    """A short reason for a refused token that echoes nothing of the token."""
    if isinstance(error, ExpiredTokenError):
        return "the token has expired"
    if isinstance(error, MissingClaimError):
        return f"claim {error.claim}: missing"
    if isinstance(error, ClaimError):
        return f"claim {error.claim}: not accepted"
    if isinstance(error, BadSignatureError):
        return "the signature does not verify"
    if isinstance(error, UnsupportedAlgorithmError):
        return "the algorithm is not allowed"
    if isinstance(error, InvalidKeyIdError):
        return "no key for the token's kid"
    return "not a valid JWT"
