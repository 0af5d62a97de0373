"""Auth mode oidc: a real OpenID provider on loopback, the login flow and the matrix.

The provider below is small but real: a discovery document, a JWKS, an
authorization endpoint that signs in a configured user at once, and a token
endpoint that checks the client secret, the redirect URI, PKCE (S256) and
that each code is used once, then signs RS256 ID tokens with a key made here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs
import falcon.testing
import httpx
import pytest
from click.testing import CliRunner
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from cisizer.server import AuthMode, Settings, create_app
from cisizer.server._auth import Tier
from cisizer.server._cli import main
from cisizer.server._errors import AuthenticationError, PermissionDeniedError
from cisizer.server._oidc import LOGIN_COOKIE, sessions_from_settings
from cisizer.server._openapi import build_openapi
from cisizer.server._routes import ROUTES
from cisizer.server._session import SESSION_COOKIE, AccessPolicy, User
from cisizer.server._storage import create_engine

READ_TOKEN = "oidc-read-token-" + "r" * 16
HMAC_KEY = "oidc-hmac-key-" + "k" * 32
SESSION_KEY = "oidc-session-key-" + "s" * 32
CLIENT_ID = "cisizer"
CLIENT_SECRET = "client-secret-" + "c" * 16
ALLOWED_GROUP = "ci-admins"
LOGOUT_PATH = "/logged-out"

_NAMES = {
    "org": "my-org",
    "repo": "my-repo",
    "workflow": "ci.yml",
    "job": "build",
    "runner": "runner-7",
    "scope": "org",
}


# --- the OpenID provider -------------------------------------------------------


@attrs.define
class Grant:
    """What the provider remembers of one authorization code."""

    redirect_uri: str
    challenge: str
    method: str
    nonce: str | None
    used: bool = False


@attrs.define
class Provider:
    """A loopback OpenID provider; ``tweak`` spoils the next ID token on purpose."""

    issuer: str = ""
    key: RSAKey = attrs.field(
        factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "provider-1"})
    )
    redirect_uri: str = ""
    user: dict[str, Any] = attrs.field(factory=dict)
    tweak: str | None = None
    grants: dict[str, Grant] = attrs.field(factory=dict)
    token_requests: list[dict[str, str]] = attrs.field(factory=list)

    def id_token(self, nonce: str | None, **changes: Any) -> str:
        """Sign an ID token for the configured user, with ``changes`` applied."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            **self.user,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        key = self.key
        tweak, self.tweak = self.tweak, None
        if tweak == "expired":
            claims.update(iat=now - 7200, exp=now - 3600)
        elif tweak == "issuer":
            claims["iss"] = "http://127.0.0.1:9/other-issuer"
        elif tweak == "audience":
            claims["aud"] = "another-client"
        elif tweak == "nonce":
            claims["nonce"] = "not-the-nonce"
        elif tweak == "key":
            key = RSAKey.generate_key(2048, parameters={"kid": self.key.kid})
        claims.update(changes)
        if tweak == "hs256":
            # HS256 keyed with the client secret: legal in OIDC, refused here.
            secret = OctKey.import_key(CLIENT_SECRET)
            return jwt.encode({"alg": "HS256"}, claims, secret)
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, key)


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._json(
                    200,
                    {
                        "issuer": provider.issuer,
                        "authorization_endpoint": provider.issuer + "/authorize",
                        "token_endpoint": provider.issuer + "/token",
                        "jwks_uri": provider.issuer + "/jwks",
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "code_challenge_methods_supported": ["S256"],
                        "token_endpoint_auth_methods_supported": [
                            "client_secret_basic"
                        ],
                    },
                )
            elif url.path == "/jwks":
                self._json(200, {"keys": [provider.key.as_dict(private=False)]})
            elif url.path == "/authorize":
                self._authorize(query)
            elif url.path == LOGOUT_PATH:
                self._json(200, {"logged_out": True})
            else:
                self._json(404, {"error": "not_found"})

        def _authorize(self, query: dict[str, str]) -> None:
            if (
                query.get("client_id") != CLIENT_ID
                or query.get("redirect_uri") != provider.redirect_uri
                or query.get("response_type") != "code"
            ):
                self._json(400, {"error": "invalid_request"})
                return
            code = secrets.token_urlsafe(16)
            provider.grants[code] = Grant(
                redirect_uri=query["redirect_uri"],
                challenge=query.get("code_challenge", ""),
                method=query.get("code_challenge_method", ""),
                nonce=query.get("nonce"),
            )
            target = (
                query["redirect_uri"]
                + "?"
                + urlencode({"code": code, "state": query.get("state", "")})
            )
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {
                k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()
            }
            provider.token_requests.append(form)
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode())
            if self.headers.get("Authorization") != f"Basic {expected.decode()}":
                self._json(401, {"error": "invalid_client"})
                return
            grant = provider.grants.get(form.get("code", ""))
            if (
                grant is None
                or grant.used
                or form.get("grant_type") != ("authorization_code")
            ):
                self._json(400, {"error": "invalid_grant"})
                return
            grant.used = True
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if (
                grant.method != "S256"
                or challenge != grant.challenge
                or form.get("redirect_uri") != grant.redirect_uri
            ):
                self._json(400, {"error": "invalid_grant"})
                return
            self._json(
                200,
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": provider.id_token(grant.nonce),
                },
            )

    return Handler


@pytest.fixture(scope="module")
def provider(loopback: Any) -> Iterator[Provider]:
    """A real OpenID provider on a free loopback port."""
    state = Provider()
    server, state.issuer = loopback.http(_handler(state))
    yield state
    server.shutdown()
    server.server_close()


# --- the receiver in oidc mode ---------------------------------------------------


@attrs.frozen
class OidcServer:
    """A receiver in oidc mode, its settings and the provider it trusts."""

    url: str
    settings: Settings
    provider: Provider

    def client(self) -> httpx.Client:
        """A browser-like client: follows redirects, keeps cookies."""
        return httpx.Client(base_url=self.url, follow_redirects=True, timeout=30)

    def session_cookie(
        self, groups: tuple[str, ...] = (ALLOWED_GROUP,), **kw: Any
    ) -> str:
        """Seal a session cookie the receiver accepts (or, backdated, refuses)."""
        user = User("user-1", "Ada", "ada@example.com", groups)
        return sessions_from_settings(self.settings).seal(user, **kw)


def _settings(provider: Provider, db_url: str, port: int) -> Settings:
    redirect = f"http://127.0.0.1:{port}/ui/callback"
    return Settings(
        read_token=READ_TOKEN,
        hmac_keys=(HMAC_KEY,),
        db_url=db_url,
        auth_mode=AuthMode.OIDC,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_redirect_url=redirect,
        oidc_allowed_groups=(ALLOWED_GROUP,),
        session_keys=(SESSION_KEY,),
        logout_url=provider.issuer + LOGOUT_PATH,
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def oidc_server(
    request: pytest.FixtureRequest,
    loopback: Any,
    provider: Provider,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OidcServer]:
    """One receiver in oidc mode per database, for the whole module."""
    if request.param == "sqlite":
        db_url = f"sqlite:///{tmp_path_factory.mktemp('oidc') / 'cisizer.db'}"
    else:
        db_url = request.getfixturevalue("_pg_database")
    # Bind first: the redirect URL, and so the settings, name the port.
    server, url = loopback.wsgi(lambda environ, start: [])
    settings = _settings(provider, db_url, server.server_port)
    provider.redirect_uri = settings.oidc_redirect_url or ""
    engine = create_engine(db_url)
    server.set_app(create_app(settings, engine))
    yield OidcServer(url, settings, provider)
    server.shutdown()
    server.server_close()
    engine.dispose()


@pytest.fixture
def user(provider: Provider) -> Iterator[dict[str, Any]]:
    """The user the provider signs in (in the allowed group); reset after the test."""
    provider.user = {
        "sub": "user-1",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "email_verified": True,
        "groups": [ALLOWED_GROUP, "staff"],
    }
    yield provider.user
    provider.tweak = None


@pytest.fixture
def browser(oidc_server: OidcServer) -> Iterator[httpx.Client]:
    """A browser-like client of the receiver: follows redirects, keeps cookies."""
    with oidc_server.client() as client:
        yield client


# --- the login flow ----------------------------------------------------------------


def test_login_flow_signs_in_and_me_answers_the_user(oidc_server, browser, user):
    """Login, provider, callback and /ui/me end with the user's claims."""
    response = browser.get("/ui/login")

    assert response.status_code == 200
    assert str(response.url) == oidc_server.url + "/ui/me"
    assert response.json() == {
        "subject": "user-1",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "groups": [ALLOWED_GROUP, "staff"],
    }
    assert browser.cookies.get(SESSION_COOKIE)
    assert browser.cookies.get(LOGIN_COOKIE) is None


def test_login_uses_pkce_s256_state_and_nonce(oidc_server, user):
    """The authorization request carries S256 PKCE, a state and a nonce."""
    with oidc_server.client() as client:
        response = client.get("/ui/login", follow_redirects=False)

    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert location.path == "/authorize"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32
    assert len(query["nonce"]) >= 32
    assert query["scope"] == "openid profile email"
    assert query["redirect_uri"] == oidc_server.settings.oidc_redirect_url


def test_session_cookie_is_httponly_lax_with_a_lifetime(oidc_server, user):
    """The session cookie is HttpOnly, SameSite=Lax, not Secure on http, 8 h long."""
    with oidc_server.client() as client:
        start = client.get("/ui/login", follow_redirects=False)
        code_url = httpx.get(start.headers["location"]).headers["location"]
        callback = client.get(code_url, follow_redirects=False)

    assert callback.status_code == 303
    assert callback.headers["location"] == "/ui/me"
    cookies = callback.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(SESSION_COOKIE + "="))
    attributes = {part.strip().split("=")[0].lower() for part in session.split(";")}
    assert {"httponly", "max-age", "path"} <= attributes
    assert "samesite=lax" in session.lower()
    assert "max-age=28800" in session.lower()
    assert "secure" not in attributes
    login = next(c for c in cookies if c.startswith(LOGIN_COOKIE + "="))
    assert "expires=thu, 01 jan 1970" in login.lower()


def test_session_cookie_is_secure_for_an_https_receiver(provider):
    """A receiver whose public URL is https sets Secure session cookies."""
    settings = attrs.evolve(
        _settings(provider, "sqlite://", 443),
        oidc_redirect_url="https://ci-sizer.example/ui/callback",
    )
    response_headers = _Headers()
    sessions_from_settings(settings).start(response_headers, User("user-1"))

    assert response_headers.cookie["secure"] is True
    assert response_headers.cookie["same_site"] == "Lax"
    assert response_headers.cookie["http_only"] is True


class _Headers:
    """Catch the one cookie a Sessions object sets."""

    cookie: dict[str, Any]

    def set_cookie(self, name: str, value: str, **attributes: Any) -> None:
        self.cookie = {"name": name, "value": value, **attributes}


def test_login_returns_to_a_local_next_page_only(oidc_server, user):
    """next= sends the user back to a local path; another host is ignored."""
    with oidc_server.client() as client:
        local = client.get("/ui/login", params={"next": "/api/v1/info"})
        foreign = client.get("/ui/login", params={"next": "//evil.example/x"})

    assert str(local.url) == oidc_server.url + "/api/v1/info"
    assert str(foreign.url) == oidc_server.url + "/ui/me"


@pytest.mark.parametrize(
    "tweak", ["expired", "issuer", "audience", "key", "nonce", "hs256"]
)
def test_bad_id_token_is_refused_and_sets_no_session(oidc_server, browser, user, tweak):
    """An expired, foreign-issuer, foreign-audience, foreign-key, wrong-nonce or
    HS256 ID token ends the login with 401 and no session."""
    oidc_server.provider.tweak = tweak
    response = browser.get("/ui/login")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "ID token refused" in response.json()["detail"]
    assert browser.cookies.get(SESSION_COOKIE) is None
    assert browser.get("/ui/me").status_code == 401
    assert browser.get("/api/v1/debug/metrics").status_code == 401


def test_forged_state_is_refused(oidc_server, user):
    """A callback whose state is not the one in the login cookie answers 401."""
    with oidc_server.client() as client:
        start = client.get("/ui/login", follow_redirects=False)
        code_url = httpx.get(start.headers["location"]).headers["location"]
        query = parse_qs(urlsplit(code_url).query)
        forged = client.get(
            "/ui/callback", params={"code": query["code"][0], "state": "forged"}
        )

        assert forged.status_code == 401
        assert forged.json()["detail"] == "login: state does not match"
        assert client.cookies.get(SESSION_COOKIE) is None
        assert client.cookies.get(LOGIN_COOKIE) is None


def test_callback_without_login_cookie_is_refused(oidc_server, user):
    """A callback the browser did not start (no login cookie) answers 401."""
    with oidc_server.client() as client:
        response = client.get("/ui/callback", params={"code": "x", "state": "y"})

    assert response.status_code == 401
    assert "start at /ui/login" in response.json()["detail"]


def test_replayed_callback_code_is_refused(oidc_server, user):
    """A callback URL used a second time, login cookie and all, answers 401."""
    with oidc_server.client() as client:
        start = client.get("/ui/login", follow_redirects=False)
        login_cookie = client.cookies.get(LOGIN_COOKIE)
        code_url = httpx.get(start.headers["location"]).headers["location"]
        first = client.get(code_url, follow_redirects=False)

    with oidc_server.client() as attacker:
        attacker.cookies.set(LOGIN_COOKIE, login_cookie)
        again = attacker.get(code_url, follow_redirects=False)

    assert first.status_code == 303
    assert again.status_code == 401
    assert again.json()["detail"] == "login: this login was already completed"
    assert SESSION_COOKIE not in again.headers.get("set-cookie", "")


def test_provider_refuses_a_code_twice(oidc_server, user):
    """The provider itself refuses a second exchange of a code (invalid_grant)."""
    with oidc_server.client() as client:
        start = client.get("/ui/login", follow_redirects=False)
        code_url = httpx.get(start.headers["location"]).headers["location"]
        client.get(code_url, follow_redirects=False)
    code = parse_qs(urlsplit(code_url).query)["code"][0]
    exchange = oidc_server.provider.token_requests[-1]

    again = httpx.post(
        oidc_server.provider.issuer + "/token",
        data=exchange,
        auth=(CLIENT_ID, CLIENT_SECRET),
    )

    assert exchange["code"] == code
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant"}


def test_user_outside_the_allowed_groups_is_forbidden(oidc_server, browser, user):
    """A user in none of --oidc-allowed-groups gets 403 at the callback, no session."""
    user["groups"] = ["staff"]
    response = browser.get("/ui/login")

    assert response.status_code == 403
    assert "--oidc-allowed-groups" in response.json()["detail"]
    assert browser.cookies.get(SESSION_COOKIE) is None


def test_provider_error_is_refused(oidc_server, user):
    """A callback carrying the provider's error answers 401 naming it."""
    with oidc_server.client() as client:
        start = client.get("/ui/login", follow_redirects=False)
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        response = client.get(
            "/ui/callback", params={"error": "access_denied", "state": state}
        )

    assert response.status_code == 401
    assert response.json()["detail"] == "login: the provider refused (access_denied)"


def test_logout_clears_the_session_and_redirects(oidc_server, browser, user):
    """Logout expires the cookie and redirects to --logout-url."""
    browser.get("/ui/login")

    response = browser.get("/ui/logout", follow_redirects=False)
    followed = browser.get("/ui/logout")
    me = browser.get("/ui/me")

    assert response.status_code == 303
    assert response.headers["location"] == oidc_server.provider.issuer + LOGOUT_PATH
    assert "expires=thu, 01 jan 1970" in response.headers["set-cookie"].lower()
    assert followed.json() == {"logged_out": True}
    assert me.status_code == 401
    assert me.headers["www-authenticate"] == "Bearer"


def test_info_reports_the_mode_and_logout_url(oidc_server):
    """/api/v1/info says oidc and the logout URL."""
    info = httpx.get(oidc_server.url + "/api/v1/info").json()

    assert info["auth_mode"] == "oidc"
    assert info["logout_url"] == oidc_server.provider.issuer + LOGOUT_PATH


def test_unreachable_provider_answers_502(provider, tmp_path):
    """A provider nobody answers makes /ui/login a 502 problem, not a 500."""
    settings = attrs.evolve(
        _settings(provider, f"sqlite:///{tmp_path / 'x.db'}", 8080),
        oidc_issuer="http://127.0.0.1:9",
    )
    client = falcon.testing.TestClient(create_app(settings))

    response = client.simulate_get("/ui/login")

    assert response.status_code == 502
    assert response.json["detail"] == (
        "OpenID provider: discovery document unreachable"
    )


def test_discovery_of_another_issuer_answers_502(provider, tmp_path):
    """A discovery document naming another issuer is not trusted."""
    port = urlsplit(provider.issuer).port
    settings = attrs.evolve(
        _settings(provider, f"sqlite:///{tmp_path / 'x.db'}", 8080),
        oidc_issuer=f"http://localhost:{port}",
    )
    client = falcon.testing.TestClient(create_app(settings))

    response = client.simulate_get("/ui/login")

    assert response.status_code == 502
    assert response.json["detail"] == (
        "OpenID provider: discovery document names another issuer"
    )


# --- the matrix: every route, every credential --------------------------------------


def _route_path(route: Any) -> str:
    return route.path.format(**_NAMES)


def _body(route: Any) -> dict[str, Any] | None:
    if route.path == "/api/v1/token":
        return {
            "organization": "my-org",
            "repository": "my-repo",
            "workflow": "ci.yml",
            "job": "build",
        }
    if route.path == "/api/v1/metrics":
        return {"organization": "my-org"}
    if route.method == "PUT":
        return {"runs": 3}
    return None


def _tamper(value: str) -> str:
    middle = len(value) // 2
    flipped = "A" if value[middle] != "A" else "B"
    return value[:middle] + flipped + value[middle + 1 :]


def _credentials(server: OidcServer) -> dict[str, tuple[dict[str, str], str | None]]:
    """Each credential as (headers, session cookie)."""
    provider = server.provider
    now = int(time.time())
    user = {"sub": "user-1", "groups": [ALLOWED_GROUP]}
    provider.user = user

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    session = server.session_cookie()
    ttl = int(server.settings.session_ttl.total_seconds())
    other = RSAKey.generate_key(2048)
    return {
        "none": ({}, None),
        "read": (bearer(READ_TOKEN), None),
        "session": ({}, session),
        "tampered_session": ({}, _tamper(session)),
        "expired_session": ({}, server.session_cookie(at=now - ttl - 60)),
        "denied_session": ({}, server.session_cookie(groups=("staff",))),
        "id_token_as_bearer": (bearer(provider.id_token("n")), None),
        "expired_jwt": (bearer(provider.id_token("n", exp=now - 3600)), None),
        "other_issuer_jwt": (bearer(provider.id_token("n", iss="http://x")), None),
        "other_audience_jwt": (bearer(provider.id_token("n", aud="other")), None),
        "other_key_jwt": (bearer(jwt.encode({"alg": "RS256"}, user, other)), None),
    }


def _expected(tier: Tier, credential: str) -> int | str:
    """What the API reference table prescribes: ok, 401 or 403."""
    if tier is Tier.OPEN:
        return "ok"
    if tier in (Tier.READ_TOKEN, Tier.PUSH_TOKEN):
        # Token and ingest routes look at the Authorization header only.
        return "ok" if (tier, credential) == (Tier.READ_TOKEN, "read") else 401
    if credential == "session":
        return "ok"
    if credential == "read":
        return "ok" if tier is Tier.RELAXED else 403
    if credential == "denied_session":
        return 403
    return 401


def test_every_route_answers_every_credential_as_the_table_says(oidc_server, user):
    """Each route and credential gets ok, 401 or 403 as the auth table prescribes."""
    credentials = _credentials(oidc_server)
    failures = []

    with httpx.Client(base_url=oidc_server.url, timeout=30) as client:
        for route in ROUTES:
            for name, (headers, cookie) in credentials.items():
                client.cookies.clear()
                if cookie is not None:
                    client.cookies.set(SESSION_COOKIE, cookie)
                response = client.request(
                    route.method, _route_path(route), json=_body(route), headers=headers
                )
                expected = _expected(route.tier, name)
                status = response.status_code
                if expected == "ok":
                    wrong = status in (401, 403) or status >= 500
                else:
                    wrong = status != expected or (
                        status == 401 and "www-authenticate" not in response.headers
                    )
                if wrong:
                    failures.append((route.method, route.path, name, expected, status))

    assert failures == []


def test_ui_routes_need_the_session(oidc_server, user):
    """/ui/me answers 401 without a session, for a tampered one and the read token."""
    session = oidc_server.session_cookie()
    with httpx.Client(base_url=oidc_server.url) as client:
        none = client.get("/ui/me")
        read = client.get("/ui/me", headers={"Authorization": f"Bearer {READ_TOKEN}"})
        client.cookies.set(SESSION_COOKIE, _tamper(session))
        tampered = client.get("/ui/me")
        client.cookies.set(SESSION_COOKIE, session)
        valid = client.get("/ui/me")

    assert [none.status_code, read.status_code, tampered.status_code] == [401] * 3
    assert valid.json()["subject"] == "user-1"


def test_a_login_cookie_is_no_session_cookie(oidc_server, user):
    """A login cookie's sealed value, sent as the session cookie, answers 401."""
    with oidc_server.client() as client:
        client.get("/ui/login", follow_redirects=False)
        login = client.cookies.get(LOGIN_COOKIE)

    with httpx.Client(base_url=oidc_server.url) as client:
        client.cookies.set(SESSION_COOKIE, login)
        response = client.get("/api/v1/debug/metrics")

    assert response.status_code == 401
    assert response.json()["detail"] == "session cookie: invalid or expired"


# --- OpenAPI and configuration ------------------------------------------------------


def test_openapi_declares_session_and_read_token_per_tier():
    """Oidc mode: relaxed routes take the session or read token, strict the session."""
    document = build_openapi("1.0", AuthMode.OIDC)
    schemes = document["components"]["securitySchemes"]
    expected = {
        Tier.OPEN: [],
        Tier.READ_TOKEN: [{"readToken": []}],
        Tier.PUSH_TOKEN: [{"pushToken": []}],
        Tier.RELAXED: [{"sessionCookie": []}, {"readToken": []}],
        Tier.STRICT: [{"sessionCookie": []}],
    }

    assert schemes["sessionCookie"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The session set by signing in at /ui/login.",
    }
    for route in ROUTES:
        if route.in_schema:
            operation = document["paths"][route.path][route.method.lower()]
            assert operation["security"] == expected[route.tier], route.path
    assert set(document["paths"]) >= {"/ui/login", "/ui/callback", "/ui/me"}
    assert document["paths"]["/ui/me"]["get"]["security"] == [{"sessionCookie": []}]


def test_openapi_of_mode_none_has_no_person_schemes():
    """Mode none declares only the read and push tokens, and no /ui routes."""
    document = build_openapi("1.0", AuthMode.NONE)

    assert set(document["components"]["securitySchemes"]) == {"readToken", "pushToken"}
    assert not any(path.startswith("/ui/") for path in document["paths"])


_FLAGS = {
    "--oidc-issuer": "http://127.0.0.1:9",
    "--oidc-client-id": CLIENT_ID,
    "--oidc-client-secret": CLIENT_SECRET,
    "--oidc-redirect-url": "http://127.0.0.1:8080/ui/callback",
    "--session-key": SESSION_KEY,
}


@pytest.mark.parametrize("missing", sorted(_FLAGS))
def test_missing_oidc_flag_stops_startup(missing, tmp_path: Path):
    """serve in oidc mode without one required flag exits 2 naming it."""
    args = ["serve", "--auth-mode", "oidc", "--read-token", READ_TOKEN]
    args += ["--hmac-key", HMAC_KEY, "--db-url", f"sqlite:///{tmp_path / 'x.db'}"]
    for flag, value in _FLAGS.items():
        if flag != missing:
            args += [flag, value]

    result = CliRunner().invoke(main, args, env={})

    assert result.exit_code == 2
    assert missing in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--oidc-issuer", "http://id.example", "must be an https:// URL"),
        ("--oidc-redirect-url", "http://127.0.0.1/other", "must end in /ui/callback"),
        ("--session-key", "short", "at least 32 bytes"),
        ("--oidc-scopes", "profile email", "must include openid"),
    ],
)
def test_wrong_oidc_flag_stops_startup(flag, value, message, tmp_path: Path):
    """A wrong oidc flag stops startup with a message naming it."""
    values = {**_FLAGS, flag: value}
    args = ["serve", "--auth-mode", "oidc", "--read-token", READ_TOKEN]
    args += ["--hmac-key", HMAC_KEY, "--db-url", f"sqlite:///{tmp_path / 'x.db'}"]
    for name, given in values.items():
        args += [name, given]

    result = CliRunner().invoke(main, args, env={})

    assert result.exit_code == 2
    assert flag in result.output
    assert message in result.output


# --- sealed cookies and allow-lists -------------------------------------------------


def test_session_key_rotation_keeps_old_sessions(provider):
    """A cookie sealed with the old key opens once a new key is put first."""
    old = _settings(provider, "sqlite://", 8080)
    rotated = attrs.evolve(
        old, session_keys=("new-session-key-" + "n" * 32, *old.session_keys)
    )
    cookie = sessions_from_settings(old).seal(User("user-1", groups=(ALLOWED_GROUP,)))
    request = falcon.testing.create_req(
        headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}
    )

    user = sessions_from_settings(rotated).user(request)

    assert user == User("user-1", groups=(ALLOWED_GROUP,))


def test_session_from_another_key_is_refused(provider):
    """A cookie sealed with a key the receiver does not hold answers 401."""
    settings = _settings(provider, "sqlite://", 8080)
    other = attrs.evolve(settings, session_keys=("other-session-key-" + "o" * 32,))
    cookie = sessions_from_settings(other).seal(User("user-1", groups=(ALLOWED_GROUP,)))
    request = falcon.testing.create_req(
        headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}
    )

    with pytest.raises(AuthenticationError, match="session cookie: invalid or expired"):
        sessions_from_settings(settings).user(request)


@pytest.mark.parametrize(
    ("email", "verified", "groups", "allowed"),
    [
        ("ada@example.com", True, (), True),
        ("ADA@Example.com", True, (), True),
        ("ada@example.com", False, (), False),
        ("bob@example.com", True, (), False),
        ("bob@example.com", True, ("ci-admins",), True),
        (None, True, ("staff",), False),
    ],
)
def test_allow_lists_admit_a_group_or_a_verified_email(
    email, verified, groups, allowed
):
    """A person passes with an allowed group or a verified allowed email."""
    policy = AccessPolicy(groups=("ci-admins",), emails=("ada@example.com",))
    user = User("u", email=email, groups=groups, email_verified=verified)

    if allowed:
        policy.check(user)
    else:
        with pytest.raises(PermissionDeniedError):
            policy.check(user)


def test_no_allow_list_admits_everyone():
    """Without allow-lists every signed-in person passes."""
    assert AccessPolicy().check(User("anyone")) is None


def test_huge_group_lists_keep_the_cookie_small(provider):
    """A person in hundreds of groups gets a cookie under 4 KiB, allowed groups kept."""
    sessions = sessions_from_settings(_settings(provider, "sqlite://", 8080))
    groups = (*(f"team-{n:04d}" for n in range(400)), ALLOWED_GROUP)
    response = _Headers()

    sessions.start(response, User("user-1", groups=groups))

    cookie = response.cookie["value"]
    request = falcon.testing.create_req(
        headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}
    )
    assert len(cookie) < 4000
    assert sessions.user(request) == User("user-1", groups=(ALLOWED_GROUP,))
