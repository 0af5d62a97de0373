"""Auth mode gateway: the JWT an authenticating proxy puts in ``X-Access-Token``.

The token is verified with joserfc against ``--gateway-public-key`` (PEM)
or the key set at ``--gateway-jwks-url``; only the asymmetric algorithms
of ``--gateway-algorithms`` are accepted, so neither ``none`` nor an HMAC
algorithm keyed with the public key (HS/RS confusion) can pass.  ``iss``,
``aud``, ``exp`` and ``sub`` are required; ``nbf`` and ``iat`` are checked
when present.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import Key, import_key
from joserfc.jws import JWSRegistry

from cisizer.server._errors import (
    GATEWAY_CHALLENGE,
    AuthenticationError,
    ConfigurationError,
)
from cisizer.server._jwks import JwksCache, check_algorithms, refusal_reason
from cisizer.server._session import User

__all__ = ["GATEWAY_HEADER", "GatewayVerifier", "load_public_key"]

GATEWAY_HEADER = "X-Access-Token"
LEEWAY_SECONDS = 30


def load_public_key(flag: str, pem: str) -> Key:
    """Import a PEM public key, or raise ConfigurationError naming ``flag``."""
    try:
        public = load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise ConfigurationError(f"{flag}: not a PEM public key") from None
    if isinstance(public, rsa.RSAPublicKey):
        return import_key(pem, "RSA")
    if isinstance(public, ec.EllipticCurvePublicKey):
        return import_key(pem, "EC")
    if isinstance(public, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return import_key(pem, "OKP")
    raise ConfigurationError(f"{flag}: use an RSA, EC or Ed25519 public key")


class GatewayVerifier:
    """Verify gateway JWTs and say who they name."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithms: tuple[str, ...],
        public_key: Key | None = None,
        jwks: JwksCache | None = None,
        groups_claim: str = "groups",
    ) -> None:
        """Check tokens of ``issuer`` for ``audience`` with a key or a key set."""
        if (public_key is None) == (jwks is None):
            raise ConfigurationError(
                "give one of --gateway-public-key and --gateway-jwks-url"
            )
        check_algorithms("--gateway-algorithms", algorithms)
        self._issuer = issuer
        self._audience = audience
        self._registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
        self._public_key = public_key
        self._jwks = jwks
        self._groups_claim = groups_claim

    def verify(self, token: str) -> User:
        """Return the user ``token`` names, or raise AuthenticationError."""
        try:
            decoded = self._decode(token)
            claims = jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self._issuer},
                aud={"essential": True, "value": self._audience},
                exp={"essential": True},
                sub={"essential": True},
            )
            claims.validate(decoded.claims)
        except JoseError as error:
            raise AuthenticationError(
                f"{GATEWAY_HEADER}: {refusal_reason(error)}",
                challenge=GATEWAY_CHALLENGE,
            ) from None
        except ValueError:
            raise AuthenticationError(
                f"{GATEWAY_HEADER}: not a JWT", challenge=GATEWAY_CHALLENGE
            ) from None
        return User.from_claims(decoded.claims, self._groups_claim)

    def _decode(self, token: str) -> jwt.Token:
        if self._public_key is not None:
            return jwt.decode(token, self._public_key, registry=self._registry)
        assert self._jwks is not None
        try:
            return jwt.decode(token, self._jwks.keys(), registry=self._registry)
        except InvalidKeyIdError:
            keys = self._jwks.keys(refresh=True)
            return jwt.decode(token, keys, registry=self._registry)
