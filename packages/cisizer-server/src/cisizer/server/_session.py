"""People signed in through OIDC or a gateway, and the sealed cookies that carry them.

A cookie value is a Fernet token (AES-128-CBC encrypted, HMAC-SHA256
signed, timestamped) of a small JSON object.  Each ``--session-key`` is
stretched with HKDF into one Fernet key per purpose, so a login cookie can
never be replayed as a session cookie; the first key seals, every key
opens, which lets a key be rotated.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import falcon
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cisizer.server._errors import AuthenticationError, PermissionDeniedError

__all__ = [
    "SESSION_COOKIE",
    "AccessPolicy",
    "CookieSealer",
    "Sessions",
    "User",
    "expire_cookie",
    "open_user",
    "seal_user",
]


@attrs.frozen
class User:
    """A person: the subject of an ID token or gateway JWT and what it says of them."""

    subject: str
    name: str | None = None
    email: str | None = None
    groups: tuple[str, ...] = ()
    email_verified: bool = True

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any], groups_claim: str) -> User:
        """Read a user from verified JWT claims; ``groups_claim`` names the groups.

        Raises:
            AuthenticationError: the claims have no ``sub``.
        """
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthenticationError("token: the sub claim is missing")
        name = claims.get("name") or claims.get("preferred_username")
        email = claims.get("email")
        return cls(
            subject=subject,
            name=name if isinstance(name, str) else None,
            email=email if isinstance(email, str) else None,
            groups=_groups(claims.get(groups_claim)),
            email_verified=claims.get("email_verified") is not False,
        )

    def to_json(self) -> dict[str, Any]:
        """The user as ``/ui/me`` answers it."""
        return {
            "subject": self.subject,
            "name": self.name,
            "email": self.email,
            "groups": list(self.groups),
        }


def _groups(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _as_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


def _lowercase(values: Iterable[str]) -> frozenset[str]:
    return frozenset(value.lower() for value in values)


@attrs.frozen
class AccessPolicy:
    """Who may use the receiver once signed in: ``--oidc-allowed-groups``/``-emails``.

    With neither list every signed-in person is allowed; with either, a
    person must be in one of the groups or have one of the (verified)
    email addresses.
    """

    groups: frozenset[str] = attrs.field(default=frozenset(), converter=_as_set)
    emails: frozenset[str] = attrs.field(default=frozenset(), converter=_lowercase)

    def check(self, user: User) -> None:
        """Raise PermissionDeniedError unless ``user`` is allowed."""
        if not self.groups and not self.emails:
            return
        if self.groups.intersection(user.groups):
            return
        email = (user.email or "").lower()
        if email and user.email_verified and email in self.emails:
            return
        raise PermissionDeniedError(
            f"user {user.subject}: not in --oidc-allowed-groups or "
            "--oidc-allowed-emails"
        )


def _fernet(secret: str, purpose: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"cisizer {purpose} cookie v1".encode(),
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


class CookieSealer:
    """Seal JSON objects into cookie values for one purpose, and open them again."""

    def __init__(self, keys: Sequence[str], purpose: str) -> None:
        """Derive the keys of ``purpose`` from ``keys`` (the first one seals)."""
        self._fernet = MultiFernet([_fernet(key, purpose) for key in keys])
        self._purpose = purpose

    def seal(self, data: Mapping[str, Any], at: int | None = None) -> str:
        """Encrypt and sign ``data``; ``at`` (Unix seconds) backdates it for tests."""
        plain = json.dumps(data, separators=(",", ":")).encode()
        if at is None:
            return self._fernet.encrypt(plain).decode("ascii")
        return self._fernet.encrypt_at_time(plain, at).decode("ascii")

    def open(self, value: str, ttl: timedelta) -> dict[str, Any]:
        """Return the sealed object, or raise AuthenticationError.

        The object must have been sealed at most ``ttl`` ago with one of
        the keys and for this purpose; anything else (tampered, truncated,
        expired, from another key) is refused alike.
        """
        try:
            plain = self._fernet.decrypt(value.encode("ascii"), ttl=_seconds(ttl))
            data = json.loads(plain)
        except (InvalidToken, UnicodeError, ValueError):
            raise AuthenticationError(
                f"{self._purpose} cookie: invalid or expired"
            ) from None
        if not isinstance(data, dict):
            raise AuthenticationError(f"{self._purpose} cookie: invalid or expired")
        return data


def _seconds(ttl: timedelta) -> int:
    return max(1, int(ttl.total_seconds()))


def seal_user(sealer: CookieSealer, user: User, at: int | None = None) -> str:
    """The session cookie value of ``user``."""
    return sealer.seal(
        {
            "sub": user.subject,
            "name": user.name,
            "email": user.email,
            "groups": list(user.groups),
            "email_verified": user.email_verified,
        },
        at,
    )


def open_user(sealer: CookieSealer, value: str, ttl: timedelta) -> User:
    """The user a session cookie carries, or raise AuthenticationError."""
    return User.from_claims(sealer.open(value, ttl), "groups")


SESSION_COOKIE = "cisizer_session"
MAX_COOKIE_CHARS = 3800


class Sessions:
    """The session cookie: who is signed in, for how long, on which paths.

    Note:
        The cookie is ``HttpOnly`` and ``SameSite=Lax``, and ``Secure`` when
        the receiver's public URL (from ``--oidc-redirect-url``) is https.
    """

    def __init__(
        self,
        keys: Sequence[str],
        ttl: timedelta,
        policy: AccessPolicy,
        *,
        secure: bool,
        path: str = "/",
    ) -> None:
        """Seal sessions with ``keys`` for ``ttl``; admit whom ``policy`` allows."""
        self._sealer = CookieSealer(keys, "session")
        self._ttl = ttl
        self._policy = policy
        self._secure = secure
        self._path = path

    def user(self, req: falcon.Request) -> User | None:
        """The signed-in user, or None without a session cookie.

        Raises:
            AuthenticationError: the cookie is tampered with or expired.
            PermissionDeniedError: the user is not allowed (any more).
        """
        values = req.get_cookie_values(SESSION_COOKIE)
        if not values:
            return None
        user = open_user(self._sealer, values[0], self._ttl)
        self._policy.check(user)
        return user

    def start(self, resp: falcon.Response, user: User) -> None:
        """Set the session cookie of ``user``.

        Note:
            Browsers keep at most 4 KiB per cookie. When a person's groups
            would make the cookie larger, only the groups named by the
            allow-list are kept, which is all the receiver decides by.
        """
        value = seal_user(self._sealer, user)
        if len(value) > MAX_COOKIE_CHARS:
            kept = tuple(group for group in user.groups if group in self._policy.groups)
            value = seal_user(self._sealer, attrs.evolve(user, groups=kept))
        resp.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=int(self._ttl.total_seconds()),
            path=self._path,
            secure=self._secure,
            http_only=True,
            same_site="Lax",
        )

    def end(self, resp: falcon.Response) -> None:
        """Expire the session cookie."""
        expire_cookie(resp, SESSION_COOKIE, path=self._path, secure=self._secure)

    def seal(self, user: User, at: int | None = None) -> str:
        """A session cookie value for ``user``; ``at`` backdates it (tests)."""
        return seal_user(self._sealer, user, at)


def expire_cookie(resp: falcon.Response, name: str, *, path: str, secure: bool) -> None:
    """Tell the browser to drop cookie ``name`` at ``path``."""
    resp.set_cookie(
        name,
        "",
        max_age=0,
        expires=datetime(1970, 1, 1, tzinfo=UTC),
        path=path,
        secure=secure,
        http_only=True,
        same_site="Lax",
    )
