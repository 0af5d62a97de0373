"""Who may call what: the auth tier of each route and the credential checks.

Each route of :data:`cisizer.server._routes.ROUTES` names its :class:`Tier`;
:class:`AuthMiddleware` asks the :class:`Authenticator` of the configured
auth mode to admit the request for that tier before the responder runs.
A mode is one class here, so ``oidc`` and ``gateway`` plug in beside
:class:`NoneModeAuthenticator` without touching the routes.

=========== ===================== =========================================
tier        mode ``none``         modes ``oidc`` and ``gateway``
=========== ===================== =========================================
open        anyone                anyone
read_token  the Bearer read token the Bearer read token
push_token  a Bearer push token   a Bearer push token (scope checked later)
relaxed     the Bearer read token a person (session cookie or gateway JWT)
                                  or the Bearer read token
strict      the Bearer read token a person only
=========== ===================== =========================================

A person is the session cookie in mode ``oidc`` and the JWT in
``X-Access-Token`` in mode ``gateway``.  401 means no credential, or one
that does not verify; 403 means a credential that verifies but is not of
a kind the tier takes (the read token on a strict route), a person the
allow-lists leave out, or a push token of another job.  The token and
ingest routes look at ``Authorization`` only, as in mode ``none``.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import Any, Protocol

import attrs
import falcon

from cisizer.core import JobKey, PushToken, PushTokenSigner, read_token_matches
from cisizer.server._errors import (
    BEARER_CHALLENGE,
    GATEWAY_CHALLENGE,
    AuthenticationError,
    PermissionDeniedError,
)
from cisizer.server._gateway import GATEWAY_HEADER, GatewayVerifier, load_public_key
from cisizer.server._jwks import JwksCache
from cisizer.server._oidc import sessions_from_settings
from cisizer.server._session import SESSION_COOKIE, Sessions, User
from cisizer.server._settings import AuthMode, Settings

__all__ = [
    "AuthMiddleware",
    "Authenticator",
    "GatewayModeAuthenticator",
    "NoneModeAuthenticator",
    "OidcModeAuthenticator",
    "Principal",
    "Tier",
    "build_authenticator",
    "security_requirements",
    "security_schemes",
]


class Tier(enum.StrEnum):
    """The kind of credential a route asks for (API reference, auth table)."""

    OPEN = "open"
    READ_TOKEN = "read_token"  # noqa: S105 - a tier name, not a secret
    PUSH_TOKEN = "push_token"  # noqa: S105 - a tier name, not a secret
    RELAXED = "relaxed"
    STRICT = "strict"


@attrs.frozen
class Principal:
    """Who made a request, by the kind of credential it carried.

    ``kind`` is ``anonymous``, ``read_token``, ``push_token``, ``session``
    (mode oidc) or ``gateway``.  ``job`` is the scope of a push token and
    ``token`` the push token as checked (with its expiry), ``user`` the
    person of a session or gateway JWT; each is ``None`` for every other
    kind.
    """

    kind: str
    job: JobKey | None = None
    user: User | None = None
    token: PushToken | None = attrs.field(default=None, repr=False)


ANONYMOUS = Principal("anonymous")


class Authenticator(Protocol):
    """Admit a request for a tier, or raise AuthenticationError."""

    def authenticate(self, req: falcon.Request, tier: Tier) -> Principal:
        """Return who is calling, or raise when the tier is not met."""
        ...


def _bearer(req: falcon.Request) -> str | None:
    header = req.get_header("Authorization")
    if header is None:
        return None
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip()


class NoneModeAuthenticator:
    """Auth mode ``none``: the Bearer read token, and push tokens for ingest.

    A push token is admitted here until ``grace`` after it expired; the
    ingest responder then checks that it had not expired when the run
    started, which only the body tells.
    """

    def __init__(
        self,
        read_token: str,
        signer: PushTokenSigner,
        grace: timedelta = timedelta(0),
    ) -> None:
        """Check credentials against ``read_token`` and the push token ``signer``."""
        self._read_token = read_token
        self._signer = signer
        self._grace = grace

    def authenticate(self, req: falcon.Request, tier: Tier) -> Principal:
        """Return who is calling, or raise when the tier is not met."""
        if tier is Tier.OPEN:
            return ANONYMOUS

        token = _bearer(req)
        if token is None:
            raise AuthenticationError("Authorization: a Bearer token is required")

        if tier is Tier.PUSH_TOKEN:
            if read_token_matches(token, self._read_token):
                raise AuthenticationError(
                    "a push token is required (this looks like the read token)"
                )
            # A TokenError from check() is answered 401 by the error handlers.
            checked = self._signer.check(token, grace=self._grace)
            job = JobKey(
                checked.organization,
                checked.repository,
                checked.workflow,
                checked.job,
            )
            return Principal("push_token", job, token=checked)

        if not read_token_matches(token, self._read_token):
            raise AuthenticationError("Authorization: the read token is required")
        return Principal("read_token")


class _PersonModeAuthenticator:
    """What modes oidc and gateway share: tokens as in mode none, people beside."""

    kind = "person"
    missing = "a credential is required"
    challenge = BEARER_CHALLENGE

    def __init__(
        self,
        read_token: str,
        signer: PushTokenSigner,
        grace: timedelta = timedelta(0),
    ) -> None:
        """Check machine credentials against ``read_token`` and ``signer``."""
        self._machines = NoneModeAuthenticator(read_token, signer, grace)
        self._read_token = read_token

    def person(self, req: falcon.Request) -> User | None:
        """The person the request carries, None if none; raise if it does not verify."""
        raise NotImplementedError

    def authenticate(self, req: falcon.Request, tier: Tier) -> Principal:
        """Return who is calling, or raise when the tier is not met."""
        if tier in (Tier.OPEN, Tier.READ_TOKEN, Tier.PUSH_TOKEN):
            return self._machines.authenticate(req, tier)

        token = _bearer(req)
        read = token is not None and read_token_matches(token, self._read_token)
        if read and tier is Tier.RELAXED:
            return Principal("read_token")

        user = self.person(req)
        if user is not None:
            return Principal(self.kind, user=user)
        if read:
            raise PermissionDeniedError(
                f"the read token is not accepted here; {self.missing}"
            )
        if token is not None:
            raise AuthenticationError("Authorization: not the read token")
        raise AuthenticationError(self.missing, challenge=self.challenge)


class OidcModeAuthenticator(_PersonModeAuthenticator):
    """Auth mode ``oidc``: the session cookie for people, tokens for programs."""

    kind = "session"
    missing = f"sign in at /ui/login (the {SESSION_COOKIE} cookie is missing)"

    def __init__(
        self,
        read_token: str,
        signer: PushTokenSigner,
        sessions: Sessions,
        grace: timedelta = timedelta(0),
    ) -> None:
        """Read people from ``sessions``."""
        super().__init__(read_token, signer, grace)
        self._sessions = sessions

    def person(self, req: falcon.Request) -> User | None:
        """The user of the session cookie, None without one."""
        return self._sessions.user(req)


class GatewayModeAuthenticator(_PersonModeAuthenticator):
    """Auth mode ``gateway``: the proxy's JWT for people, tokens for programs."""

    kind = "gateway"
    missing = f"{GATEWAY_HEADER}: a gateway JWT is required"
    challenge = GATEWAY_CHALLENGE

    def __init__(
        self,
        read_token: str,
        signer: PushTokenSigner,
        verifier: GatewayVerifier,
        grace: timedelta = timedelta(0),
    ) -> None:
        """Verify people with ``verifier``."""
        super().__init__(read_token, signer, grace)
        self._verifier = verifier

    def person(self, req: falcon.Request) -> User | None:
        """The user of the gateway JWT, None without one."""
        token = (req.get_header(GATEWAY_HEADER) or "").strip()
        scheme, _, rest = token.partition(" ")
        if scheme.lower() == "bearer":
            # Some gateways forward the token with its scheme; take it either way.
            token = rest.strip()
        if not token:
            return None
        return self._verifier.verify(token)


def build_authenticator(settings: Settings, signer: PushTokenSigner) -> Authenticator:
    """Build the authenticator of the configured auth mode.

    Raises:
        ConfigurationError: a setting of the mode is missing or wrong.
    """
    if settings.auth_mode is AuthMode.OIDC:
        sessions = sessions_from_settings(settings)
        return OidcModeAuthenticator(
            settings.read_token, signer, sessions, settings.push_grace
        )
    if settings.auth_mode is AuthMode.GATEWAY:
        assert settings.gateway_issuer is not None
        assert settings.gateway_audience is not None
        verifier = GatewayVerifier(
            issuer=settings.gateway_issuer,
            audience=settings.gateway_audience,
            algorithms=settings.gateway_algorithms,
            public_key=(
                load_public_key("--gateway-public-key", settings.gateway_public_key)
                if settings.gateway_public_key
                else None
            ),
            jwks=(
                JwksCache(settings.gateway_jwks_url)
                if settings.gateway_jwks_url
                else None
            ),
        )
        return GatewayModeAuthenticator(
            settings.read_token, signer, verifier, settings.push_grace
        )
    return NoneModeAuthenticator(settings.read_token, signer, settings.push_grace)


class AuthMiddleware:
    """Admit each request for the tier its route declares."""

    def __init__(self, authenticator: Authenticator) -> None:
        """Use ``authenticator`` for every routed request."""
        self._authenticator = authenticator

    def process_resource(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        """Set ``req.context.principal`` or raise before the responder runs."""
        tiers: dict[str, Tier] | None = getattr(resource, "tiers", None)
        # A method without a responder is open here so that Falcon answers 405.
        tier = Tier.OPEN if tiers is None else tiers.get(req.method, Tier.OPEN)
        req.context.principal = self._authenticator.authenticate(req, tier)


def security_schemes(mode: AuthMode) -> dict[str, Any]:
    """The OpenAPI security schemes a receiver in ``mode`` accepts."""
    schemes: dict[str, Any] = {
        "readToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "The pre-shared read token (--read-token).",
        },
        "pushToken": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A push token from POST /api/v1/token, scoped to one job.",
        },
    }
    if mode is AuthMode.OIDC:
        schemes["sessionCookie"] = {
            "type": "apiKey",
            "in": "cookie",
            "name": SESSION_COOKIE,
            "description": "The session set by signing in at /ui/login.",
        }
    if mode is AuthMode.GATEWAY:
        schemes["gatewayToken"] = {
            "type": "apiKey",
            "in": "header",
            "name": GATEWAY_HEADER,
            "description": "A JWT from the authenticating gateway in front.",
        }
    return schemes


def security_requirements(tier: Tier, mode: AuthMode) -> list[dict[str, list[str]]]:
    """The OpenAPI ``security`` of an operation of ``tier`` in ``mode``."""
    if tier is Tier.OPEN:
        return []
    if tier is Tier.PUSH_TOKEN:
        return [{"pushToken": []}]
    if tier is Tier.READ_TOKEN or mode is AuthMode.NONE:
        return [{"readToken": []}]
    person = "sessionCookie" if mode is AuthMode.OIDC else "gatewayToken"
    if tier is Tier.RELAXED:
        return [{person: []}, {"readToken": []}]
    return [{person: []}]
