"""Push tokens (HS256 JWTs scoped to one job) and the read-token check.

A push token carries the claims ``org``, ``repo`` (full name), ``workflow``,
``job``, ``iat``, ``exp``, ``jti`` and ``aud = "cisizer-push"``.  The first
key signs; every key verifies, so a key can be rotated by putting the new one
first and dropping the old one once its tokens have expired.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cisizer.core._errors import (
    ExpiredTokenError,
    InvalidSignatureError,
    MalformedTokenError,
    ValidationError,
    WrongAudienceError,
)
from cisizer.core._models import JobKey, PushToken
from cisizer.core._validation import _name_problem

__all__ = ["PUSH_TOKEN_AUDIENCE", "PushTokenSigner", "read_token_matches"]

PUSH_TOKEN_AUDIENCE = "cisizer-push"  # noqa: S105 - a claim value, not a secret
_ALGORITHM = "HS256"
_MIN_KEY_BYTES = 32
_SCOPE_CLAIMS = ("org", "repo", "workflow", "job")
_REQUIRED_CLAIMS = [*_SCOPE_CLAIMS, "iat", "exp", "jti", "aud"]

# PERF: PyJWT is imported inside the methods that sign or verify.  It loads
# cryptography when that is installed (about 9 MiB resident), and the agent
# imports this package without ever handling a token.


class PushTokenSigner:
    """Issue and verify push tokens with HMAC-SHA256 keys.

    Args:
        keys: HMAC keys, each at least 32 bytes (RFC 7518 §3.2); the first
            signs, all verify.
        ttl: how long an issued token is accepted.
        leeway: clock skew tolerated when checking ``exp`` and ``iat``.
    """

    def __init__(
        self,
        keys: Sequence[str],
        ttl: timedelta = timedelta(hours=2),
        leeway: timedelta = timedelta(seconds=30),
    ) -> None:
        """Check the keys and settings."""
        if isinstance(keys, str) or not keys:
            raise ValidationError.single("hmac_key", "give at least one key")
        for key in keys:
            if len(key.encode()) < _MIN_KEY_BYTES:
                raise ValidationError.single(
                    "hmac_key", f"must be at least {_MIN_KEY_BYTES} bytes long"
                )
        if ttl <= timedelta(0):
            raise ValidationError.single("token_ttl", "must be positive")
        if leeway < timedelta(0):
            raise ValidationError.single("leeway", "must not be negative")
        self._keys = tuple(keys)
        self.ttl = ttl
        self.leeway = leeway

    def __repr__(self) -> str:
        """Describe the signer without revealing a key."""
        return f"PushTokenSigner(keys=<{len(self._keys)}>, ttl={self.ttl!r})"

    def issue(self, job: JobKey, now: datetime | None = None) -> PushToken:
        """Sign a push token for ``job``, valid from ``now`` for the TTL."""
        issued = int((now or datetime.now(UTC)).timestamp())
        expires = issued + int(self.ttl.total_seconds())
        claims = {
            "org": job.organization,
            "repo": job.repository,
            "workflow": job.workflow,
            "job": job.job,
            "iat": issued,
            "exp": expires,
            "jti": uuid.uuid4().hex,
            "aud": PUSH_TOKEN_AUDIENCE,
        }

        import jwt

        token = jwt.encode(claims, self._keys[0], algorithm=_ALGORITHM)
        return PushToken(
            token=token,
            expires_at=datetime.fromtimestamp(expires, UTC),
            organization=job.organization,
            repository=job.repository,
            workflow=job.workflow,
            job=job.job,
        )

    def verify(self, token: str, now: datetime | None = None) -> JobKey:
        """Check a push token and return the job it is scoped to.

        Raises:
            MalformedTokenError: not a JWT, or a claim missing or mistyped, or
                issued in the future.
            InvalidSignatureError: signed by none of the keys, or not HS256.
            WrongAudienceError: ``aud`` is not ``cisizer-push``.
            ExpiredTokenError: ``exp`` is past, beyond the leeway.
        """
        claims = self._decode(token)

        for claim in _SCOPE_CLAIMS:
            if _name_problem(claims.get(claim)) is not None:
                raise MalformedTokenError(f"claim {claim!r} is not a valid name")
        for claim in ("iat", "exp"):
            value = claims.get(claim)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise MalformedTokenError(f"claim {claim!r} is not a number")
        moment = (now or datetime.now(UTC)).timestamp()
        leeway = self.leeway.total_seconds()
        if claims["exp"] + leeway <= moment:
            raise ExpiredTokenError("push token has expired")
        if claims["iat"] - leeway > moment:
            raise MalformedTokenError("push token is issued in the future")

        return JobKey(
            organization=claims["org"],
            repository=claims["repo"],
            workflow=claims["workflow"],
            job=claims["job"],
        )

    def _decode(self, token: str) -> dict[str, Any]:
        import jwt

        if not isinstance(token, str) or not token:
            raise MalformedTokenError("push token is empty")
        # Time claims are checked by verify() so that callers may pass `now`.
        options: Any = {
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
            "require": _REQUIRED_CLAIMS,
        }
        for key in self._keys:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    key,
                    algorithms=[_ALGORITHM],
                    audience=PUSH_TOKEN_AUDIENCE,
                    options=options,
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.InvalidAlgorithmError:
                raise InvalidSignatureError("push token is not signed HS256") from None
            except jwt.InvalidAudienceError:
                raise WrongAudienceError(
                    f"push token is not for audience {PUSH_TOKEN_AUDIENCE!r}"
                ) from None
            except jwt.MissingRequiredClaimError as error:
                raise MalformedTokenError(
                    f"push token lacks the {error.claim!r} claim"
                ) from None
            except jwt.InvalidTokenError as error:
                raise MalformedTokenError(f"push token is malformed: {error}") from None
            return claims
        raise InvalidSignatureError("push token signature matches no key")


def read_token_matches(given: str, expected: str) -> bool:
    """Compare a presented read token with the configured one in constant time.

    An empty configured token matches nothing.
    """
    if not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
