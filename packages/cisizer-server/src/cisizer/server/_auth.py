"""Who may call what: the auth tier of each route and the credential checks.

Each route of :data:`cisizer.server._routes.ROUTES` names its :class:`Tier`;
:class:`AuthMiddleware` asks the :class:`Authenticator` of the configured
auth mode to admit the request for that tier before the responder runs.
A mode is one class here, so ``oidc`` and ``gateway`` plug in beside
:class:`NoneModeAuthenticator` without touching the routes.

=========== ====================================================
tier        who may call in mode ``none``
=========== ====================================================
open        anyone
read_token  the Bearer read token
push_token  a Bearer push token (its scope is checked against the body)
relaxed     the Bearer read token (oidc/gateway: also a session)
strict      the Bearer read token (oidc/gateway: a session only)
=========== ====================================================
"""

from __future__ import annotations

import enum
from typing import Any, Protocol

import attrs
import falcon

from cisizer.core import JobKey, PushTokenSigner, read_token_matches
from cisizer.server._errors import AuthenticationError, ConfigurationError
from cisizer.server._settings import AuthMode, Settings

__all__ = [
    "AuthMiddleware",
    "Authenticator",
    "NoneModeAuthenticator",
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
    """Who made a request: ``kind`` is ``anonymous``, ``read_token`` or ``push_token``.

    ``job`` is the scope of a push token, ``None`` for every other kind.
    """

    kind: str
    job: JobKey | None = None


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
    """Auth mode ``none``: the Bearer read token, and push tokens for ingest."""

    def __init__(self, read_token: str, signer: PushTokenSigner) -> None:
        """Check credentials against ``read_token`` and the push token ``signer``."""
        self._read_token = read_token
        self._signer = signer

    def authenticate(self, req: falcon.Request, tier: Tier) -> Principal:
        """Return who is calling, or raise when the tier is not met."""
        if tier is Tier.OPEN:
            return ANONYMOUS

        token = _bearer(req)
        if token is None:
            raise AuthenticationError("Authorization: a Bearer token is required")

        if tier is Tier.PUSH_TOKEN:
            # A TokenError from verify() is answered 401 by the error handlers.
            return Principal("push_token", self._signer.verify(token))

        if not read_token_matches(token, self._read_token):
            raise AuthenticationError("Authorization: the read token is required")
        return Principal("read_token")


def build_authenticator(settings: Settings, signer: PushTokenSigner) -> Authenticator:
    """Build the authenticator of the configured auth mode."""
    if settings.auth_mode is AuthMode.NONE:
        return NoneModeAuthenticator(settings.read_token, signer)
    # TODO: the oidc and gateway modes are not built yet; until they are, the
    # receiver refuses to start in them rather than run unprotected.
    raise ConfigurationError(
        f"--auth-mode {settings.auth_mode.value} is not supported yet; use none"
    )


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
    return {
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


def security_requirements(tier: Tier, mode: AuthMode) -> list[dict[str, list[str]]]:
    """The OpenAPI ``security`` of an operation of ``tier`` in ``mode``."""
    if tier is Tier.OPEN:
        return []
    if tier is Tier.PUSH_TOKEN:
        return [{"pushToken": []}]
    return [{"readToken": []}]
