"""Push tokens (HS256 JWTs scoped to one job) and the read-token check.

A push token carries the claims ``org``, ``repo`` (full name), ``workflow``,
``job``, ``iat``, ``exp``, ``jti`` and ``aud = "cisizer-push"``; an ``nbf``
claim is honoured when present, and ``exp`` may lie at most
:attr:`PushTokenSigner.MAX_TTL` (plus the leeway) after ``iat``: a fixed
ceiling rather than the current TTL, so that lowering the TTL, or receivers
with different TTLs sharing a key, keep accepting the tokens already issued.
The first key signs; every key verifies, so a key can be rotated by putting
the new one first and dropping the old one once its tokens have expired.
"""

from __future__ import annotations

import hmac
import math
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
from cisizer.core._validation import _name_problem, _repository_problem

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
        ttl: how long an issued token is accepted, at most :attr:`MAX_TTL`.
        leeway: clock skew tolerated when checking ``exp`` and ``iat``.
    """

    #: The longest TTL a signer takes, and the longest lifetime (``exp - iat``)
    #: a verified token may have, whatever TTL issued it.
    MAX_TTL = timedelta(days=30)

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
        if ttl > self.MAX_TTL:
            raise ValidationError.single(
                "token_ttl", f"must be at most {self.MAX_TTL.days} days"
            )
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

    def verify(
        self,
        token: str,
        now: datetime | None = None,
        *,
        valid_at: datetime | None = None,
        grace: timedelta = timedelta(0),
    ) -> JobKey:
        """Check a push token and return the job it is scoped to.

        By default the token must not have expired at ``now``.  A job may
        outlast its token: with ``valid_at`` (when the run started) the token
        is also accepted up to ``grace`` after it expired, provided it had not
        expired at ``valid_at``.

        Raises:
            MalformedTokenError: not a JWT, a claim missing or mistyped, issued
                in the future, not valid yet (``nbf``), or living longer than
                :attr:`MAX_TTL`.
            InvalidSignatureError: signed by none of the keys, or not HS256.
            WrongAudienceError: ``aud`` is not ``cisizer-push``.
            ExpiredTokenError: expired at ``valid_at``, or ``now`` is past the
                grace, each beyond the leeway.
        """
        moment = now or datetime.now(UTC)
        checked = self.check(token, moment, grace=grace)
        self.check_valid_at(checked, moment if valid_at is None else valid_at)

        return JobKey(
            organization=checked.organization,
            repository=checked.repository,
            workflow=checked.workflow,
            job=checked.job,
        )

    def check(
        self,
        token: str,
        now: datetime | None = None,
        *,
        grace: timedelta = timedelta(0),
    ) -> PushToken:
        """Check all of a push token but when its run started; return its claims.

        This is the first half of :meth:`verify` with ``valid_at``, for a
        caller that learns when the run started only later: the token is
        accepted until ``grace`` after it expired, and the caller then calls
        :meth:`check_valid_at` with the run's start.

        Raises:
            MalformedTokenError, InvalidSignatureError, WrongAudienceError:
                as :meth:`verify`.
            ExpiredTokenError: ``now`` is past expiry plus the leeway and
                ``grace``.
        """
        if grace < timedelta(0):
            raise ValidationError.single("grace", "must not be negative")
        claims = self._decode(token)

        for claim in _SCOPE_CLAIMS:
            value = claims.get(claim)
            if claim == "repo":
                problem = _repository_problem(value)
                if problem is None and "/" not in str(value):
                    problem = "is not a full name"
            else:
                problem = _name_problem(value)
            if problem is not None:
                raise MalformedTokenError(f"claim {claim!r} is not a valid name")
        for claim in ("iat", "exp", "nbf"):
            if claim == "nbf" and claim not in claims:
                continue
            value = claims.get(claim)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise MalformedTokenError(f"claim {claim!r} is not a number")
        moment = (now or datetime.now(UTC)).timestamp()
        leeway = self.leeway.total_seconds()
        issued, expires = claims["iat"], claims["exp"]
        if issued - leeway > moment:
            raise MalformedTokenError("push token is issued in the future")
        if claims.get("nbf", issued) - leeway > moment:
            raise MalformedTokenError("push token is not valid yet")
        if expires - issued > self.MAX_TTL.total_seconds() + leeway:
            raise MalformedTokenError(
                f"push token lives longer than {self.MAX_TTL.days} days"
            )
        if expires + leeway + grace.total_seconds() <= moment:
            raise ExpiredTokenError("push token has expired")

        return PushToken(
            token=token,
            expires_at=datetime.fromtimestamp(expires, UTC),
            organization=claims["org"],
            repository=claims["repo"],
            workflow=claims["workflow"],
            job=claims["job"],
        )

    def check_valid_at(self, token: PushToken, moment: datetime) -> None:
        """Raise ExpiredTokenError unless ``token`` had not expired at ``moment``."""
        if token.expires_at + self.leeway <= moment:
            raise ExpiredTokenError("push token has expired")

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
