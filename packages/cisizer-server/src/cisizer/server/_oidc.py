"""Auth mode oidc: sign people in with an OpenID provider, then keep a session.

``GET /ui/login`` starts the authorization-code flow with PKCE (S256),
``state`` and ``nonce``; the three are kept for ten minutes in a sealed
login cookie.  ``GET /ui/callback`` checks ``state``, exchanges the code
(Authlib's OAuth 2 client), verifies the ID token (signature against the
provider's JWKS, issuer, audience, expiry and nonce, with joserfc and
Authlib's ``CodeIDToken``), applies the allow-lists and sets the session
cookie.  ``/ui/logout`` ends the session, ``/ui/me`` shows who is signed in.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import falcon
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jws import JWSRegistry

from cisizer.server._errors import AuthenticationError
from cisizer.server._jwks import (
    ASYMMETRIC_ALGORITHMS,
    JwksCache,
    fetch_json,
    refusal_reason,
)
from cisizer.server._session import (
    AccessPolicy,
    CookieSealer,
    Sessions,
    User,
    expire_cookie,
)
from cisizer.server._settings import Settings

__all__ = [
    "CALLBACK_PATH",
    "LOGIN_COOKIE",
    "OidcLogin",
    "OidcProvider",
    "add_login_routes",
    "login_openapi_paths",
    "sessions_from_settings",
]

_LOGGER = logging.getLogger(__name__)

CALLBACK_PATH = "/ui/callback"
LOGIN_COOKIE = "cisizer_login"
LOGIN_TTL = timedelta(minutes=10)
LEEWAY_SECONDS = 60
_ERROR_CODE = re.compile(r"[a-z_]{1,64}", re.ASCII)


class ProviderUnavailableError(falcon.HTTPBadGateway):
    """The OpenID provider cannot be reached or answers nonsense."""

    def __init__(self, what: str) -> None:
        """Say which of the provider's documents failed."""
        super().__init__(title="Bad gateway", description=f"OpenID provider: {what}")


class OidcProvider:
    """The OpenID provider: discovery document, keys and the code exchange."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_url: str,
        scopes: tuple[str, ...],
        timeout: float = 10.0,
    ) -> None:
        """Talk to ``issuer`` as the client ``client_id``."""
        self.issuer = issuer
        self.client_id = client_id
        self._client_secret = client_secret
        self._redirect_url = redirect_url
        self._scopes = scopes
        self._timeout = timeout
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._jwks: JwksCache | None = None

    def metadata(self) -> dict[str, Any]:
        """The discovery document, fetched once and checked against the issuer."""
        with self._lock:
            if self._metadata is None:
                self._metadata = self._discover()
                self._jwks = JwksCache(
                    self._metadata["jwks_uri"], timeout=self._timeout
                )
            return self._metadata

    def _discover(self) -> dict[str, Any]:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            document = fetch_json(url, self._timeout)
        except (OSError, ValueError) as error:
            _LOGGER.warning("cannot load the discovery document %s: %s", url, error)
            raise ProviderUnavailableError("discovery document unreachable") from None
        if not isinstance(document, dict):
            raise ProviderUnavailableError("discovery document is not an object")
        # OpenID Connect Discovery 1.0, section 4.3: the issuer must match.
        if str(document.get("issuer", "")).rstrip("/") != self.issuer.rstrip("/"):
            raise ProviderUnavailableError("discovery document names another issuer")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(name), str):
                raise ProviderUnavailableError(f"discovery document has no {name}")
        return document

    def _client(self) -> Any:
        methods = self.metadata().get(
            "token_endpoint_auth_methods_supported", ["client_secret_basic"]
        )
        method = (
            "client_secret_post"
            if "client_secret_basic" not in methods and "client_secret_post" in methods
            else "client_secret_basic"
        )
        return OAuth2Session(
            client_id=self.client_id,
            client_secret=self._client_secret,
            scope=" ".join(self._scopes),
            redirect_uri=self._redirect_url,
            code_challenge_method="S256",
            token_endpoint_auth_method=method,
            default_timeout=self._timeout,
        )

    def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        """The provider URL that starts a login with PKCE, state and nonce."""
        endpoint = self.metadata()["authorization_endpoint"]
        with self._client() as client:
            url, _ = client.create_authorization_url(
                endpoint, state=state, code_verifier=code_verifier, nonce=nonce
            )
        return str(url)

    def exchange(self, code: str, code_verifier: str) -> Mapping[str, Any]:
        """Trade an authorization code for the provider's tokens.

        Raises:
            AuthenticationError: the provider refuses the code (used, expired,
                or the PKCE verifier does not match).
        """
        endpoint = self.metadata()["token_endpoint"]
        try:
            with self._client() as client:
                token = client.fetch_token(
                    endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                )
        except OAuthError as error:
            reason = error.error if _ERROR_CODE.fullmatch(error.error or "") else "?"
            raise AuthenticationError(
                f"login: the provider refused the code ({reason})"
            ) from None
        except OSError as error:
            _LOGGER.warning("token endpoint %s failed: %s", endpoint, error)
            raise ProviderUnavailableError("token endpoint unreachable") from None
        except ValueError:
            raise ProviderUnavailableError("token endpoint answered no JSON") from None
        return dict(token)

    def verify_id_token(self, token: Mapping[str, Any], nonce: str) -> dict[str, Any]:
        """Verify the ID token of a token response and return its claims.

        Raises:
            AuthenticationError: no ID token, or its signature, issuer,
                audience, expiry or nonce is wrong.
            ProviderUnavailableError: the provider's key set is unreachable.
        """
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise AuthenticationError("login: the provider sent no ID token")
        metadata = self.metadata()
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [name for name in offered if name in ASYMMETRIC_ALGORITHMS]
        registry = JWSRegistry(
            algorithms=algorithms or ["RS256"], strict_check_header=False
        )
        assert self._jwks is not None
        try:
            try:
                decoded = jwt.decode(id_token, self._jwks.keys(), registry=registry)
            except InvalidKeyIdError:
                keys = self._jwks.keys(refresh=True)
                decoded = jwt.decode(id_token, keys, registry=registry)
        except falcon.HTTPServiceUnavailable:
            raise ProviderUnavailableError("key set unreachable") from None
        except JoseError as error:
            raise AuthenticationError(
                f"login: ID token refused: {refusal_reason(error)}"
            ) from None
        except ValueError:
            raise AuthenticationError("login: ID token is not a JWT") from None
        try:
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {
                    "iss": {"essential": True, "value": metadata["issuer"]},
                    "aud": {"essential": True, "value": self.client_id},
                },
                {
                    "nonce": nonce,
                    "client_id": self.client_id,
                    "access_token": token.get("access_token"),
                },
            )
            claims.validate(leeway=LEEWAY_SECONDS)
        except JoseError as error:
            raise AuthenticationError(
                f"login: ID token refused: {refusal_reason(error)}"
            ) from None
        except (ValueError, TypeError, KeyError):
            raise AuthenticationError("login: ID token refused: bad claims") from None
        return dict(claims)


class _OnceOnly:
    """Remember values for a while so that each is accepted once.

    Note:
        The memory is per process. A callback replayed to another gunicorn
        worker or replica passes this check, and is then refused by the
        provider, which must not exchange a code twice (RFC 6749 4.1.2).
    """

    def __init__(self, ttl: timedelta, capacity: int = 10_000) -> None:
        self._ttl = ttl.total_seconds()
        self._capacity = capacity
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, value: str) -> bool:
        """Return True the first time ``value`` is claimed, False after."""
        now = time.monotonic()
        with self._lock:
            if value in self._seen:
                return False
            if len(self._seen) >= self._capacity:
                self._seen = {k: t for k, t in self._seen.items() if t > now}
            while len(self._seen) >= self._capacity:
                del self._seen[next(iter(self._seen))]
            self._seen[value] = now + self._ttl
            return True


def _base_path(redirect_url: str) -> str:
    path = urlsplit(redirect_url).path
    return path[: -len(CALLBACK_PATH)] if path.endswith(CALLBACK_PATH) else ""


def _safe_next(value: str | None, default: str) -> str:
    """A local path to return to after login; anything else gives ``default``."""
    if (
        not value
        or len(value) > 2048
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(char) < 0x21 for char in value)
    ):
        return default
    return value


def sessions_from_settings(settings: Settings) -> Sessions:
    """The session cookie of a receiver in auth mode oidc."""
    assert settings.oidc_redirect_url is not None
    return Sessions(
        settings.session_keys,
        settings.session_ttl,
        AccessPolicy(settings.oidc_allowed_groups, settings.oidc_allowed_emails),
        secure=settings.oidc_redirect_url.startswith("https://"),
        path=_base_path(settings.oidc_redirect_url) or "/",
    )


class OidcLogin:
    """The ``/ui/*`` responders: login, callback, logout and me."""

    def __init__(
        self, settings: Settings, provider: OidcProvider | None = None
    ) -> None:
        """Sign people in with the provider ``settings`` name."""
        assert settings.oidc_issuer is not None
        assert settings.oidc_client_id is not None
        assert settings.oidc_client_secret is not None
        assert settings.oidc_redirect_url is not None
        self._provider = provider or OidcProvider(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            redirect_url=settings.oidc_redirect_url,
            scopes=settings.oidc_scopes,
        )
        self._groups_claim = settings.oidc_groups_claim
        self._logout_url = settings.logout_url
        self._sessions = sessions_from_settings(settings)
        self._login = CookieSealer(settings.session_keys, "login")
        self._used_states = _OnceOnly(LOGIN_TTL)
        self._policy = AccessPolicy(
            settings.oidc_allowed_groups, settings.oidc_allowed_emails
        )
        self._secure = settings.oidc_redirect_url.startswith("https://")
        self._base = _base_path(settings.oidc_redirect_url)

    def on_get_login(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Redirect to the provider with a fresh state, nonce and PKCE challenge."""
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        code_verifier = secrets.token_urlsafe(64)
        target = _safe_next(req.get_param("next"), self._base + "/ui/me")

        url = self._provider.authorization_url(
            state=state, nonce=nonce, code_verifier=code_verifier
        )

        login = {"state": state, "nonce": nonce, "verifier": code_verifier}
        resp.set_cookie(
            LOGIN_COOKIE,
            self._login.seal({**login, "next": target}),
            max_age=int(LOGIN_TTL.total_seconds()),
            path=self._base + CALLBACK_PATH,
            secure=self._secure,
            http_only=True,
            same_site="Lax",
        )
        resp.set_header("Cache-Control", "no-store")
        resp.status = falcon.HTTP_302
        resp.location = url

    def on_get_callback(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Finish a login: check state, exchange the code, verify the ID token."""
        resp.set_header("Cache-Control", "no-store")
        expire_cookie(
            resp, LOGIN_COOKIE, path=self._base + CALLBACK_PATH, secure=self._secure
        )
        values = req.get_cookie_values(LOGIN_COOKIE)
        if not values:
            raise AuthenticationError(
                "login: none in progress or it expired; start at /ui/login"
            )
        login = self._login.open(values[0], LOGIN_TTL)
        state = req.get_param("state") or ""
        if not hmac.compare_digest(state.encode(), str(login["state"]).encode()):
            raise AuthenticationError("login: state does not match")
        if not self._used_states.claim(state):
            raise AuthenticationError("login: this login was already completed")
        error = req.get_param("error")
        if error is not None:
            reason = error if _ERROR_CODE.fullmatch(error) else "?"
            raise AuthenticationError(f"login: the provider refused ({reason})")
        code = req.get_param("code")
        if not code:
            raise AuthenticationError("login: the callback has no code")

        token = self._provider.exchange(code, str(login["verifier"]))
        claims = self._provider.verify_id_token(token, str(login["nonce"]))
        user = User.from_claims(claims, self._groups_claim)
        self._policy.check(user)

        self._sessions.start(resp, user)
        _LOGGER.info("signed in: subject=%s", user.subject)
        resp.status = falcon.HTTP_303
        resp.location = _safe_next(str(login.get("next")), self._base + "/ui/me")

    def on_get_logout(self, req: falcon.Request, resp: falcon.Response) -> None:
        """End the session; redirect to ``--logout-url`` when it is set."""
        self._sessions.end(resp)
        resp.set_header("Cache-Control", "no-store")
        if self._logout_url:
            resp.status = falcon.HTTP_303
            resp.location = self._logout_url
        else:
            resp.status = falcon.HTTP_204

    def on_get_me(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer the signed-in user, or 401."""
        user = self._sessions.user(req)
        if user is None:
            raise AuthenticationError("session: none; sign in at /ui/login")
        resp.set_header("Cache-Control", "no-store")
        resp.content_type = falcon.MEDIA_JSON
        resp.text = json.dumps(user.to_json())


def add_login_routes(
    app: falcon.App[falcon.Request, falcon.Response], settings: Settings
) -> None:
    """Serve ``/ui/login``, ``/ui/callback``, ``/ui/logout`` and ``/ui/me``."""
    login = OidcLogin(settings)
    for name in ("login", "callback", "logout", "me"):
        app.add_route(f"/ui/{name}", login, suffix=name)


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}
            }
        },
    }


def login_openapi_paths() -> dict[str, dict[str, Any]]:
    """The OpenAPI path items of the ``/ui/*`` routes (auth mode oidc)."""

    def get(
        operation_id: str,
        summary: str,
        responses: dict[str, Any],
        security: list[dict[str, list[str]]] | None = None,
        parameters: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        operation: dict[str, Any] = {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["login"],
            "security": security or [],
            "responses": responses,
        }
        if parameters:
            operation["parameters"] = parameters
        return {"get": operation}

    user = {
        "type": "object",
        "required": ["subject", "name", "email", "groups"],
        "properties": {
            "subject": {"type": "string"},
            "name": {"type": "string", "nullable": True},
            "email": {"type": "string", "nullable": True},
            "groups": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": False,
    }
    return {
        "/ui/login": get(
            "login",
            "Start signing in with the OpenID provider",
            {"302": {"description": "Redirect to the provider"}},
            parameters=[
                {
                    "name": "next",
                    "in": "query",
                    "required": False,
                    "description": "Local path to return to after signing in.",
                    "schema": {"type": "string"},
                }
            ],
        ),
        "/ui/callback": get(
            "login_callback",
            "Finish signing in (the provider redirects here)",
            {
                "303": {"description": "Signed in; redirect to the next page"},
                "401": _problem("State, code or ID token refused"),
                "403": _problem("Not in the allowed groups or emails"),
                "502": _problem("The provider cannot be reached"),
            },
        ),
        "/ui/logout": get(
            "logout",
            "Sign out",
            {
                "204": {"description": "Signed out"},
                "303": {"description": "Signed out; redirect to --logout-url"},
            },
        ),
        "/ui/me": get(
            "me",
            "The signed-in user",
            {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": user}},
                },
                "401": _problem("Not signed in"),
                "403": _problem("Not in the allowed groups or emails"),
            },
            security=[{"sessionCookie": []}],
        ),
    }
