"""OpenID Connect ID tokens for ``AssumeRoleWithWebIdentity``: discovery, JWKS, verification.

The token's issuer (``iss``) must be registered as an OIDC provider in the role's account (IAM's
provider ``Url`` is the issuer without its scheme; it may carry a port and a path). Its keys come
from the issuer's discovery document (``<iss>/.well-known/openid-configuration`` -> ``jwks_uri``).
Issuers are fetched over HTTPS — except on a loopback address (127.0.0.0/8, ::1, localhost),
where plain HTTP is allowed so tests and air-gapped setups can run a local issuer. Thumbprints are
not checked (AWS no longer relies on them for issuers with trusted certificates either).

Time claims (``exp``, ``nbf``) are checked against the domain clock, so time travel applies.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jwt

from mamori.errors import AwsError

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
FETCH_TIMEOUT = 5.0
JWKS_CACHE_SECONDS = 300.0
MAX_DOCUMENT_BYTES = 1 << 20
# Seconds of tolerance for nbf/iat in the future (issuers' clocks drift).
NBF_LEEWAY = 300


def invalid_token(message: str) -> AwsError:
    return AwsError("InvalidIdentityToken", message, status=400)


def communication_error() -> AwsError:
    return AwsError(
        "IDPCommunicationError",
        "Couldn't retrieve verification key from your identity provider,  please reference "
        "AssumeRoleWithWebIdentity documentation for requirements",
        status=400,
    )


def expired_token(now: datetime, exp: int) -> AwsError:
    expires = datetime.fromtimestamp(exp, UTC)
    return AwsError(
        "ExpiredTokenException",
        f"Token expired: current date/time {_aws_time(now)} must be before the expiration "
        f"date/time {_aws_time(expires)}",
        status=400,
    )


def _aws_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def provider_url(issuer: str) -> str:
    """IAM's provider Url for an issuer: no scheme, no trailing slash."""
    text = issuer.strip()
    for scheme in ("https://", "http://"):
        if text.lower().startswith(scheme):
            text = text[len(scheme) :]
            break
    return text.rstrip("/")


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_fetchable(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return
    raise communication_error()


def fetch_json(url: str) -> dict[str, Any]:
    """GET a JSON document from an identity provider (IDPCommunicationError on any failure)."""
    check_fetchable(url)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
            data = response.read(MAX_DOCUMENT_BYTES + 1)
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ValueError("document too large")
        document = json.loads(data)
    except (OSError, ValueError, urllib.error.URLError):
        raise communication_error() from None
    if not isinstance(document, dict):
        raise communication_error()
    return document


class JwksCache:
    """Key sets by issuer, kept for a few minutes (wall clock) and refetched on an unknown kid."""

    def __init__(self, fetch=fetch_json) -> None:
        self.fetch = fetch
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    def keys(self, issuer: str, *, refresh: bool = False) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(issuer)
        if hit is not None and hit[0] > now and not refresh:
            return hit[1]
        discovery = self.fetch(issuer.rstrip("/") + "/.well-known/openid-configuration")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise communication_error()
        keys = self.fetch(jwks_uri).get("keys")
        if not isinstance(keys, list):
            raise communication_error()
        keys = [k for k in keys if isinstance(k, dict)]
        with self._lock:
            if len(self._entries) > 1000:
                self._entries.clear()
            self._entries[issuer] = (now + JWKS_CACHE_SECONDS, keys)
        return keys


@dataclass(frozen=True)
class UnverifiedToken:
    header: dict[str, Any]
    claims: dict[str, Any]
    issuer: str


def read_token(token: str) -> UnverifiedToken:
    """Header and claims of a JWT, not yet verified (InvalidIdentityToken if it is not one)."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise invalid_token(
            "The ID Token provided is not a valid JWT. (You may see this error if you sent an "
            "Access Token)"
        ) from None
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise invalid_token("The ID Token provided is missing the iss claim.")
    return UnverifiedToken(header, claims, issuer)


def _candidate_keys(keys: list[dict[str, Any]], kid: str | None) -> list[dict[str, Any]]:
    usable = [k for k in keys if k.get("use", "sig") == "sig"]
    if kid is None:
        return usable
    return [k for k in usable if k.get("kid") == kid]


def verify_signature(token: str, unverified: UnverifiedToken, cache: JwksCache) -> None:
    """Check the JWT's signature against the issuer's published keys."""
    alg = unverified.header.get("alg")
    if alg not in ALGORITHMS:
        raise invalid_token(f"Unsupported signing algorithm in the ID Token: {alg}.")
    kid = unverified.header.get("kid")
    candidates = _candidate_keys(cache.keys(unverified.issuer), kid)
    if not candidates and kid is not None:
        candidates = _candidate_keys(cache.keys(unverified.issuer, refresh=True), kid)
    if not candidates:
        raise communication_error()
    for jwk in candidates:
        try:
            key = jwt.PyJWK(jwk, algorithm=alg).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        try:
            jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
            return
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            break
    raise invalid_token("Signature verification failed for the provided ID Token.")


def check_time(claims: dict[str, Any], now: datetime) -> None:
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise invalid_token("The ID Token provided is missing the exp claim.")
    if exp <= now.timestamp():
        raise expired_token(now, int(exp))
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and nbf > now.timestamp() + NBF_LEEWAY:
        raise invalid_token("The ID Token provided is not yet valid (nbf).")


def matched_audience(claims: dict[str, Any], client_ids: list[str]) -> str:
    """The audience the provider accepts (InvalidIdentityToken "Incorrect token audience")."""
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    for value in audiences:
        if isinstance(value, str) and value in client_ids:
            return value
    raise invalid_token("Incorrect token audience")


def condition_keys(url: str, claims: dict[str, Any], audience: str) -> dict[str, Any]:
    """The trust-policy condition keys of a web identity (``<url>:aud``, ``:sub``, ...)."""
    keys: dict[str, Any] = {f"{url}:aud": audience}
    if "sub" in claims:
        keys[f"{url}:sub"] = str(claims["sub"])
    if isinstance(claims.get("azp"), str):
        keys[f"{url}:azp"] = claims["azp"]
    aud = claims.get("aud")
    if isinstance(aud, list):
        keys[f"{url}:oaud"] = [str(a) for a in aud]
    amr = claims.get("amr")
    if isinstance(amr, list):
        keys[f"{url}:amr"] = [str(a) for a in amr]
    return keys
