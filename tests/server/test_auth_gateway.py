"""Auth mode gateway: JWTs in X-Access-Token against a JWKS URL or a PEM key.

A small key server on loopback publishes an RSA and an EC key; tokens are
signed here with those keys, with keys it does not publish, and forged
with ``none`` and with HS256 keyed by the public key (HS/RS confusion).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import attrs
import falcon.testing
import httpx
import pytest
from click.testing import CliRunner
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from cisizer.server import AuthMode, Settings, create_app
from cisizer.server._auth import Tier
from cisizer.server._cli import main
from cisizer.server._openapi import build_openapi
from cisizer.server._routes import ROUTES
from cisizer.server._storage import create_engine

READ_TOKEN = "gateway-read-token-" + "r" * 16
HMAC_KEY = "gateway-hmac-key-" + "k" * 32
ISSUER = "https://gateway.example"
AUDIENCE = "cisizer"
LOGOUT_URL = "https://gateway.example/logout"

_NAMES = {
    "org": "my-org",
    "repo": "my-repo",
    "workflow": "ci.yml",
    "job": "build",
    "runner": "runner-7",
}


@attrs.define
class KeyServer:
    """The gateway's published keys, served as a JWKS on loopback."""

    rsa: RSAKey = attrs.field(
        factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "gw-rsa"})
    )
    ec: ECKey = attrs.field(
        factory=lambda: ECKey.generate_key("P-256", parameters={"kid": "gw-ec"})
    )
    extra: list[Any] = attrs.field(factory=list)
    url: str = ""
    fetches: int = 0

    def jwks(self) -> dict[str, Any]:
        """The published key set (public halves only)."""
        keys = [self.rsa, self.ec, *self.extra]
        return KeySet(keys).as_dict(private=False)  # type: ignore[arg-type]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    """Valid gateway claims, with ``changes`` applied (None removes a claim)."""
    now = int(time.time())
    values: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "email": "ada@example.com",
        "iat": now,
        "exp": now + 300,
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def sign(key: Any, alg: str = "RS256", **changes: Any) -> str:
    """A JWT signed by ``key`` with ``alg``."""
    return jwt.encode(
        {"alg": alg, "kid": key.kid}, claims(**changes), key, algorithms=[alg]
    )


def forge(alg: str, secret: bytes = b"", kid: str = "gw-rsa") -> str:
    """A JWT with ``alg`` none or HS256 keyed by ``secret``, built by hand."""
    header = _b64(json.dumps({"alg": alg, "kid": kid}).encode())
    payload = _b64(json.dumps(claims()).encode())
    signing_input = f"{header}.{payload}".encode()
    if alg == "none":
        return f"{header}.{payload}."
    mac = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(mac)}"


def public_pem(key: Any) -> str:
    """The PEM of a key's public half."""
    return key.as_pem(private=False).decode()


@pytest.fixture(scope="module")
def keys(loopback: Any) -> Iterator[KeyServer]:
    """The gateway's key server on a free loopback port."""
    state = KeyServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            state.fetches += 1
            data = json.dumps(state.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server, url = loopback.http(Handler)
    state.url = f"{url}/jwks"
    yield state
    server.shutdown()
    server.server_close()


def _settings(db_url: str, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "read_token": READ_TOKEN,
        "hmac_keys": (HMAC_KEY,),
        "db_url": db_url,
        "auth_mode": AuthMode.GATEWAY,
        "gateway_issuer": ISSUER,
        "gateway_audience": AUDIENCE,
        "logout_url": LOGOUT_URL,
    }
    values.update(changes)
    return Settings(**values)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def gateway_url(
    request: pytest.FixtureRequest,
    loopback: Any,
    keys: KeyServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """One receiver in gateway mode (JWKS URL) per database, for the whole module."""
    if request.param == "sqlite":
        db_url = f"sqlite:///{tmp_path_factory.mktemp('gateway') / 'cisizer.db'}"
    else:
        db_url = request.getfixturevalue("_pg_database")
    engine = create_engine(db_url)
    app = create_app(_settings(db_url, gateway_jwks_url=keys.url), engine)
    server, url = loopback.wsgi(app)
    yield url
    server.shutdown()
    server.server_close()
    engine.dispose()


@pytest.fixture
def pem_app(keys: KeyServer, tmp_path: Path) -> falcon.testing.TestClient:
    """A receiver in gateway mode that trusts the RSA key given as PEM."""
    db_url = f"sqlite:///{tmp_path / 'cisizer.db'}"
    settings = _settings(db_url, gateway_public_key=public_pem(keys.rsa))
    return falcon.testing.TestClient(create_app(settings))


# --- the matrix: every route, every credential --------------------------------------


@pytest.fixture(scope="module")
def credentials(keys: KeyServer) -> dict[str, dict[str, str]]:
    """Each credential as the headers that carry it."""
    other = RSAKey.generate_key(2048, parameters={"kid": "gw-rsa"})
    pem = public_pem(keys.rsa).encode()
    now = int(time.time())

    def gateway(token: str) -> dict[str, str]:
        return {"X-Access-Token": token}

    return {
        "none": {},
        "read": {"Authorization": f"Bearer {READ_TOKEN}"},
        "gateway": gateway(sign(keys.rsa)),
        "gateway_es256": gateway(sign(keys.ec, "ES256")),
        "expired": gateway(sign(keys.rsa, iat=now - 7200, exp=now - 3600)),
        "other_issuer": gateway(sign(keys.rsa, iss="https://other.example")),
        "other_audience": gateway(sign(keys.rsa, aud="another-service")),
        "other_key": gateway(sign(other)),
        "not_yet_valid": gateway(sign(keys.rsa, nbf=now + 3600)),
        "no_exp": gateway(sign(keys.rsa, exp=None)),
        "no_sub": gateway(sign(keys.rsa, sub=None)),
        "alg_not_allowed": gateway(sign(keys.rsa, "RS384")),
        "alg_none": gateway(forge("none")),
        "hs256_with_public_key": gateway(forge("HS256", pem)),
        "not_a_jwt": gateway("not-a-jwt"),
        "gateway_as_bearer": {"Authorization": f"Bearer {sign(keys.rsa)}"},
    }


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


def _expected(tier: Tier, credential: str) -> int | str:
    """What the API reference table prescribes: ok, 401 or 403."""
    if tier is Tier.OPEN:
        return "ok"
    if tier in (Tier.READ_TOKEN, Tier.PUSH_TOKEN):
        # Token and ingest routes look at the Authorization header only.
        return "ok" if (tier, credential) == (Tier.READ_TOKEN, "read") else 401
    if credential in ("gateway", "gateway_es256"):
        return "ok"
    if credential == "read":
        return "ok" if tier is Tier.RELAXED else 403
    return 401


def test_every_route_answers_every_credential_as_the_table_says(
    gateway_url, credentials
):
    """Each route and credential gets ok, 401 or 403 as the auth table prescribes."""
    failures = []

    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        for route in ROUTES:
            for name, headers in credentials.items():
                response = client.request(
                    route.method,
                    route.path.format(**_NAMES),
                    json=_body(route),
                    headers=headers,
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


@pytest.mark.parametrize(
    ("credential", "detail"),
    [
        ("expired", "X-Access-Token: the token has expired"),
        ("other_issuer", "X-Access-Token: claim iss: not accepted"),
        ("other_audience", "X-Access-Token: claim aud: not accepted"),
        ("other_key", "X-Access-Token: the signature does not verify"),
        ("no_exp", "X-Access-Token: claim exp: missing"),
        ("alg_none", "X-Access-Token: the algorithm is not allowed"),
        ("hs256_with_public_key", "X-Access-Token: the algorithm is not allowed"),
    ],
)
def test_refusal_says_why_without_echoing_the_token(
    gateway_url, credentials, credential, detail
):
    """A refused gateway JWT answers 401 with a reason and none of the token."""
    headers = credentials[credential]

    response = httpx.get(gateway_url + "/api/v1/debug/metrics", headers=headers)

    assert response.status_code == 401
    assert response.json()["detail"] == detail
    assert response.headers["WWW-Authenticate"] == (
        'Gateway realm="cisizer", header="X-Access-Token"'
    )
    assert headers["X-Access-Token"] not in response.text


def test_read_token_on_a_strict_route_is_forbidden(gateway_url):
    """The read token is valid but not accepted on strict routes: 403."""
    response = httpx.get(
        gateway_url + "/api/v1/debug/metrics",
        headers={"Authorization": f"Bearer {READ_TOKEN}"},
    )

    assert response.status_code == 403
    assert "X-Access-Token" in response.json()["detail"]


def test_rotated_key_is_fetched_at_first_use(gateway_url, keys):
    """A token signed by a key newly added to the JWKS is accepted at once."""
    new = RSAKey.generate_key(2048, parameters={"kid": "gw-rsa-2"})
    keys.extra.append(new)
    try:
        response = httpx.get(
            gateway_url + "/api/v1/debug/metrics",
            headers={"X-Access-Token": sign(new)},
        )
    finally:
        keys.extra.remove(new)

    assert response.status_code == 200


def test_unknown_kids_do_not_flood_the_key_server(gateway_url, keys):
    """Many tokens naming unknown kids cause at most one refetch."""
    fetches = keys.fetches
    strangers = [
        sign(RSAKey.generate_key(2048, parameters={"kid": f"stranger-{n}"}))
        for n in range(3)
    ]

    statuses = [
        httpx.get(
            gateway_url + "/api/v1/debug/metrics", headers={"X-Access-Token": token}
        ).status_code
        for token in strangers
    ]

    assert statuses == [401, 401, 401]
    assert keys.fetches - fetches <= 1


def test_info_reports_the_mode_and_logout_url(gateway_url):
    """/api/v1/info says gateway and the logout URL."""
    info = httpx.get(gateway_url + "/api/v1/info").json()

    assert info["auth_mode"] == "gateway"
    assert info["logout_url"] == LOGOUT_URL


def test_no_ui_routes_in_gateway_mode(gateway_url):
    """The /ui login routes exist only in oidc mode."""
    assert httpx.get(gateway_url + "/ui/login").status_code == 404


# --- a PEM public key instead of a JWKS URL ----------------------------------------


def test_pem_key_admits_its_tokens_and_refuses_others(pem_app, keys):
    """With --gateway-public-key, its tokens pass; another key and HS256 do not."""
    pem = public_pem(keys.rsa).encode()
    other = RSAKey.generate_key(2048, parameters={"kid": "other"})

    def status(token: str) -> int:
        return pem_app.simulate_get(
            "/api/v1/debug/metrics", headers={"X-Access-Token": token}
        ).status_code

    assert status(sign(keys.rsa)) == 200
    assert status("Bearer " + sign(keys.rsa)) == 200
    assert status(jwt.encode({"alg": "RS256"}, claims(), keys.rsa)) == 200
    assert status(sign(other)) == 401
    assert status(sign(keys.ec, "ES256")) == 401
    assert status(forge("HS256", pem)) == 401
    assert status(forge("none")) == 401


def test_unreachable_jwks_answers_503(tmp_path: Path):
    """A JWKS URL nobody answers gives 503 with Retry-After, not 401 or 500."""
    db_url = f"sqlite:///{tmp_path / 'cisizer.db'}"
    app = create_app(_settings(db_url, gateway_jwks_url="http://127.0.0.1:9/jwks"))
    client = falcon.testing.TestClient(app)
    key = RSAKey.generate_key(2048, parameters={"kid": "k"})

    response = client.simulate_get(
        "/api/v1/debug/metrics", headers={"X-Access-Token": sign(key)}
    )

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


# --- OpenAPI and configuration ------------------------------------------------------


def test_openapi_declares_gateway_and_read_token_per_tier():
    """Gateway mode: relaxed routes take the JWT or read token, strict the JWT."""
    document = build_openapi("1.0", AuthMode.GATEWAY)
    expected = {
        Tier.OPEN: [],
        Tier.READ_TOKEN: [{"readToken": []}],
        Tier.PUSH_TOKEN: [{"pushToken": []}],
        Tier.RELAXED: [{"gatewayToken": []}, {"readToken": []}],
        Tier.STRICT: [{"gatewayToken": []}],
    }

    scheme = document["components"]["securitySchemes"]["gatewayToken"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == (
        "apiKey",
        "header",
        "X-Access-Token",
    )
    for route in ROUTES:
        if route.in_schema:
            operation = document["paths"][route.path][route.method.lower()]
            assert operation["security"] == expected[route.tier], route.path
            if route.tier is Tier.STRICT:
                assert "403" in operation["responses"]
    assert not any(path.startswith("/ui/") for path in document["paths"])


def _serve_args(tmp_path: Path, **flags: str) -> list[str]:
    args = ["serve", "--auth-mode", "gateway", "--read-token", READ_TOKEN]
    args += ["--hmac-key", HMAC_KEY, "--db-url", f"sqlite:///{tmp_path / 'x.db'}"]
    for flag, value in flags.items():
        args += ["--" + flag.replace("_", "-"), value]
    return args


_GATEWAY_FLAGS = {
    "gateway_jwks_url": "https://gateway.example/jwks",
    "gateway_issuer": ISSUER,
    "gateway_audience": AUDIENCE,
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"gateway_jwks_url": None}, "--gateway-jwks-url or --gateway-public-key"),
        ({"gateway_issuer": None}, "--gateway-issuer is required"),
        ({"gateway_audience": None}, "--gateway-audience is required"),
        ({"gateway_algorithms": "RS256,HS256"}, "--gateway-algorithms: 'HS256'"),
        ({"gateway_algorithms": "none"}, "--gateway-algorithms: 'none'"),
        ({"gateway_jwks_url": "http://gateway.example/jwks"}, "--gateway-jwks-url"),
        ({"gateway_public_key": "/no/such.pem"}, "--gateway-public-key"),
    ],
)
def test_gateway_misconfiguration_stops_startup(tmp_path, changes, message):
    """A missing or unsafe gateway flag exits 2 with a message naming it."""
    flags = {**_GATEWAY_FLAGS, **changes}
    if "gateway_public_key" in changes:
        del flags["gateway_jwks_url"]
    args = _serve_args(
        tmp_path, **{name: value for name, value in flags.items() if value}
    )

    result = CliRunner().invoke(main, args, env={})

    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_pem_text_that_is_no_key_stops_startup(tmp_path):
    """A --gateway-public-key that is not a PEM public key exits 2 naming the flag."""
    flags = {**_GATEWAY_FLAGS, "gateway_public_key": "-----BEGIN junk-----"}
    del flags["gateway_jwks_url"]

    result = CliRunner().invoke(main, _serve_args(tmp_path, **flags), env={})

    assert result.exit_code == 2
    assert "--gateway-public-key: not a PEM public key" in result.output


def test_pem_file_is_read(tmp_path, keys):
    """--gateway-public-key may name a PEM file; the receiver reads it at start."""
    from cisizer.server._cli import _settings as settings_from_options

    path = tmp_path / "gateway.pem"
    path.write_text(public_pem(keys.rsa))

    settings = settings_from_options(
        {
            "hmac_keys": (HMAC_KEY,),
            "read_token": READ_TOKEN,
            "gateway_public_key": str(path),
            "gateway_algorithms": "RS256, ES256",
        }
    )

    assert settings.gateway_public_key == public_pem(keys.rsa)
    assert settings.gateway_algorithms == ("RS256", "ES256")
