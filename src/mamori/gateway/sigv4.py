"""AWS Signature Version 4, verified on the server side.

Two steps, so the gateway can look the access key up in between:

* ``extract_signature(request)`` reads what the request claims — the ``Authorization`` header or
  the presigned ``X-Amz-*`` query parameters — checks that the claim is well formed (credential
  scope, dates, ``host`` signed, presign parameters) and returns a ``SignatureInfo``, or ``None``
  for an unsigned request.
* ``verify(request, info, secret, ...)`` checks the time window (clock skew, presign expiry),
  rebuilds the canonical request exactly as the AWS SDKs build it, compares the signature in
  constant time and, when the whole body is at hand, its SHA-256 against
  ``x-amz-content-sha256``.

Failures raise ``AuthFailure``; ``auth_error`` turns one into the answering service's own error.

Canonical URI: S3 signs the path as sent (the SDKs encode each key segment once and do not
normalise), every other service signs the *sent* path URI-encoded once more, after removing dot
segments and empty segments (botocore's ``SigV4Auth``). The first form tried is the one botocore
produces; when it does not match, the other spellings real clients use are tried (an S3 path
with characters left unencoded, a query string signed as sent rather than re-encoded), so only
failing requests pay for the alternatives.

Derived signing keys are cached per (secret, date, region, service): the hot path is one SHA-256
of the canonical request and one HMAC.

Performance: the common requests are verified by fast paths that each accept only input the
general code would treat identically, and fall back to it for anything else: one precompiled
regex for a well-formed ``Authorization`` header (credential scope included), small bounded
caches for what repeats from request to request (parsed ``X-Amz-Date`` values with their
timestamp, parsed ``SignedHeaders`` lists, the keyed HMAC state of each derived key), and no
URI-encoding work for paths and query components made only of unreserved characters.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cached_property, lru_cache
from itertools import islice
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

from mamori.gateway.auth_errors import (
    INCOMPLETE_SIGNATURE,
    MALFORMED,
    PAYLOAD_HASH_MISMATCH,
    PRESIGN_EXPIRED,
    PRESIGN_NOT_YET_VALID,
    SIGNATURE_MISMATCH,
    SKEWED,
    WRONG_SCOPE,
    AuthFailure,
    amz_timestamp,
    auth_error,
    max_clock_skew,
    skew_message,
)
from mamori.protocols.base import HttpRequest
from mamori.regions import KNOWN_REGIONS, is_region

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "STREAMING_SIGNED",
    "STREAMING_SIGNED_TRAILER",
    "STREAMING_UNSIGNED_TRAILER",
    "UNSIGNED_PAYLOAD",
    "AuthFailure",
    "SignatureInfo",
    "auth_error",
    "check_s3_auth_mechanism",
    "check_s3_headers_signed",
    "check_scope",
    "extract_signature",
    "max_clock_skew",
    "signing_key",
    "verify",
]

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_ECDSA = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
STREAMING_ECDSA_TRAILER = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
PAYLOAD_TOKENS = frozenset(
    {
        UNSIGNED_PAYLOAD,
        STREAMING_SIGNED,
        STREAMING_SIGNED_TRAILER,
        STREAMING_UNSIGNED_TRAILER,
        STREAMING_ECDSA,
        STREAMING_ECDSA_TRAILER,
    }
)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_PRESIGN_EXPIRES = 604800  # seven days

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
# Bounds of the module's small caches: entries (a full cache is emptied and refilled), and the
# length of a request-supplied string kept as a key (extraction runs before authentication).
_CACHE_SIZE = 1024
_CACHED_VALUE_MAX = 512
_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
)
_S3_CONTENT_SHA256_HELP = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
    "or a valid sha256 value."
)
_S3_QUERY_PARAMS_HELP = (
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)
_S3_CREDENTIAL_HELP = (
    'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)


@dataclass(frozen=True)
class SignatureInfo:
    """What a signed request claims. ``date``/``region``/``service`` are its credential scope."""

    access_key_id: str
    date: str  # YYYYMMDD
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: datetime  # UTC
    presigned: bool
    expires: int | None
    session_token: str | None
    # The payload hash the signature covers: the x-amz-content-sha256 value (a hex digest,
    # UNSIGNED-PAYLOAD or a STREAMING-* token), else UNSIGNED-PAYLOAD for a presigned S3
    # request, else the SHA-256 of ``request.body`` (what botocore signs for the other services).
    payload_hash: str

    # Cached (``extract_signature`` fills both in when it builds the instance; an instance made
    # otherwise, or by ``dataclasses.replace``, computes them from its fields on first use).
    @cached_property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{TERMINATOR}"

    @cached_property
    def timestamp(self) -> str:
        """X-Amz-Date in ISO-8601 basic format, as it appears in the string to sign."""
        return amz_timestamp(self.amz_date)

    @property
    def streaming(self) -> bool:
        return self.payload_hash.startswith("STREAMING-")


_new_object = object.__new__


def _signature_info(
    access_key_id: str,
    date: str,
    region: str,
    service: str,
    signed_headers: tuple[str, ...],
    signature: str,
    amz_date: datetime,
    presigned: bool,
    expires: int | None,
    session_token: str | None,
    payload_hash: str,
    timestamp: str,
) -> SignatureInfo:
    """``SignatureInfo(...)`` with ``timestamp`` and ``scope`` already cached, built without the
    frozen dataclass's per-field ``object.__setattr__`` (it has no ``__post_init__``; the tests
    check the result equals the constructor's)."""
    info = _new_object(SignatureInfo)
    info.__dict__.update(
        {
            "access_key_id": access_key_id,
            "date": date,
            "region": region,
            "service": service,
            "signed_headers": signed_headers,
            "signature": signature,
            "amz_date": amz_date,
            "presigned": presigned,
            "expires": expires,
            "session_token": session_token,
            "payload_hash": payload_hash,
            "timestamp": timestamp,
            "scope": f"{date}/{region}/{service}/{TERMINATOR}",
        }
    )
    return info


# --------------------------------------------------------------------------- keys and hashes


@lru_cache(maxsize=4096)
def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """The derived SigV4 signing key (cached: it changes once a day per scope)."""
    k = _hmac(("AWS4" + secret_access_key).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, TERMINATOR)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.digest(key, msg.encode("utf-8"), "sha256")


# Derived key -> an HMAC-SHA256 object keyed with it and fed nothing: signing a string is a copy
# of it (the keyed state), one update and one digest, cheaper than keying a new HMAC each time.
# Keyed by the derived key itself, so two secrets, dates, regions or services never share one.
_KEYED: dict[bytes, Any] = {}


def _keyed_hmac(key: bytes) -> Any:
    """The keyed HMAC-SHA256 state for ``key``: copy it, update the copy, take its digest."""
    keyed = _KEYED.get(key)
    if keyed is None:
        if len(_KEYED) >= _CACHE_SIZE:
            _KEYED.clear()
        wrapper = hmac.new(key, digestmod="sha256")
        # CPython's hmac.HMAC wraps OpenSSL's HMAC object (``_hmac``; None without OpenSSL).
        # Copying that object directly skips two Python-level calls per signature (~0.6 µs);
        # it has the same copy/update/hexdigest.
        keyed = _KEYED[key] = getattr(wrapper, "_hmac", None) or wrapper
    return keyed


def string_to_sign(timestamp: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def sign(key: bytes, string: str) -> str:
    return hmac.new(key, string.encode("utf-8"), hashlib.sha256).hexdigest()


def is_sha256_hex(value: str) -> bool:
    return _SHA256_HEX.fullmatch(value) is not None


# --------------------------------------------------------------------------- extraction


def extract_signature(request: HttpRequest) -> SignatureInfo | None:
    """Parse the SigV4 claim of a request; ``None`` when it carries none (anonymous)."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        return _from_header(request, authorization.strip())
    if "X-Amz-" in request.query_string or "x-amz-" in request.query_string:
        query = request.query
        if any(name in query for name in _PRESIGN_PARAMS):
            return _from_query(request, query)
    return None


_ONE_MECHANISM = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
    "string parameter or the Authorization header should be specified"
)
_SIGV2_UNSUPPORTED = (
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
)


def check_s3_auth_mechanism(request: HttpRequest) -> None:
    """S3 refuses to choose between credentials: an Authorization header beside presign query
    parameters (SigV4's ``X-Amz-Algorithm`` or SigV2's ``Signature``), or both of those, is
    InvalidArgument; a SigV2 presigned URL (``Signature``, ``AWSAccessKeyId``, ``Expires``) is
    refused as a SigV2 header is, not taken for an anonymous request."""
    query_string = request.query_string
    if "Signature" not in query_string and "X-Amz-Algorithm" not in query_string:
        return  # also covers "X-Amz-Signature": the query is parsed only when it may matter
    query = request.query
    v4_query = "X-Amz-Algorithm" in query
    v2_query = "Signature" in query
    authorization = request.headers.get("authorization")
    if authorization is not None and (v4_query or v2_query):
        raise _one_mechanism({"ArgumentName": "Authorization", "ArgumentValue": authorization})
    if v4_query and v2_query:
        raise _one_mechanism({"ArgumentName": "Authorization"})
    if v2_query:
        raise _incomplete(
            _SIGV2_UNSUPPORTED, s3_code="InvalidRequest", s3_message=_SIGV2_UNSUPPORTED
        )


# x-amz-* headers S3 accepts outside SignedHeaders: the payload hash is covered by the
# canonical request's last line whether or not the header is listed (AWS does not require it).
_S3_UNSIGNABLE_AMZ_HEADERS = frozenset({"x-amz-content-sha256"})


def check_s3_headers_signed(request: HttpRequest, info: SignatureInfo) -> None:
    """S3 refuses a request carrying an ``x-amz-*`` header its signature does not cover (else
    the holder of a presigned URL could add metadata, tags, ACLs, SSE settings...)."""
    signed = info.signed_headers
    unsigned = [
        name
        for name in request.headers
        if name.startswith("x-amz-")
        and name not in signed
        and name not in _S3_UNSIGNABLE_AMZ_HEADERS
    ]
    if unsigned:
        message = "There were headers present in the request which were not signed"
        raise AuthFailure(
            MALFORMED,
            message,
            s3_code="AccessDenied",
            s3_status=403,
            s3_message=message,
            s3_fields={"HeadersNotSigned": ", ".join(sorted(unsigned))},
        )


def _one_mechanism(fields: dict[str, str]) -> AuthFailure:
    return AuthFailure(
        MALFORMED,
        _ONE_MECHANISM,
        s3_code="InvalidArgument",
        s3_message=_ONE_MECHANISM,
        s3_fields=fields,
    )


def _incomplete(message: str, **context) -> AuthFailure:
    return AuthFailure(INCOMPLETE_SIGNATURE, message, **context)


# A well-formed header as the SDKs write it: the three components in the usual order, separated
# by "," or ", ", each value printable ASCII without "," or "=" (so the general parser below
# would find exactly these values), and a credential that ``_parse_credential`` accepts (the
# access key id may contain "/": the scope is its last four "/"-separated parts, as rsplit
# finds them; the lazy "+?" only finds that one split sooner). Any other header goes through
# the general parser, which words the errors.
_VALUE = r"[!-+\--<>-~]"  # printable ASCII but "," and "="
_SCOPE_PART = r"[!-+\-.0-<>-~]"  # ... and not "/"
_AUTHORIZATION = re.compile(
    rf"AWS4-HMAC-SHA256 Credential=({_VALUE}+?)/([0-9]{{8}})/({_SCOPE_PART}+)/({_SCOPE_PART}+)"
    rf"/aws4_request, ?SignedHeaders=({_VALUE}+), ?Signature=({_VALUE}+)"
)


# The same, for the usual access key id without "/": no lazy match to backtrack through, and
# where it matches, ``_AUTHORIZATION`` would find the same groups (its lazy key stops at the first
# "/", which is where this key ends).
_AUTHORIZATION_PLAIN_KEY = re.compile(
    rf"AWS4-HMAC-SHA256 Credential=({_SCOPE_PART}+)/([0-9]{{8}})/({_SCOPE_PART}+)/"
    rf"({_SCOPE_PART}+)/aws4_request, ?SignedHeaders=({_VALUE}+), ?Signature=({_VALUE}+)"
)


def _from_header(request: HttpRequest, authorization: str) -> SignatureInfo:
    headers = request.headers
    match = _AUTHORIZATION_PLAIN_KEY.fullmatch(authorization) or _AUTHORIZATION.fullmatch(
        authorization
    )
    if match is not None:
        access_key_id, date, region, service, signed, signature = match.groups()
        if not (headers.get("x-amz-date") or headers.get("date")):
            raise _missing_component(
                "Date",
                authorization,
                request,
                {
                    "Credential": f"{access_key_id}/{date}/{region}/{service}/{TERMINATOR}",
                    "SignedHeaders": signed,
                    "Signature": signature,
                },
            )
    else:
        credential, signed, signature = _parse_authorization(request, authorization)
        access_key_id, date, region, service = _parse_credential(credential, presigned=False)
    amz_date, timestamp = _parse_header_date(request)
    if date != timestamp[:8]:
        _check_scope(date, amz_date, presigned=False)
    signed_headers = _SIGNED_HEADERS.get(signed)
    if signed_headers is None:
        signed_headers = _parse_signed_headers(signed, presigned=False)
    payload_hash = _header_payload_hash(request, service, presigned=False)
    return _signature_info(
        access_key_id,
        date,
        region,
        service,
        signed_headers,
        signature,
        amz_date,
        False,
        None,
        headers.get("x-amz-security-token"),
        payload_hash,
        timestamp,
    )


def _parse_authorization(request: HttpRequest, authorization: str) -> tuple[str, str, str]:
    """The general parser: (Credential, SignedHeaders, Signature) of any Authorization header,
    or the error AWS answers for it."""
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != ALGORITHM:
        message = f"Unsupported AWS 'algorithm': '{algorithm}'." if algorithm else ""
        if algorithm.startswith("AWS4-") or not algorithm:
            raise _incomplete(
                message or _missing_components_message(authorization, request),
                s3_code="AuthorizationHeaderMalformed",
                s3_message="The authorization header is malformed; the authorization header "
                "requires three components: Credential, SignedHeaders, and Signature.",
            )
        raise _incomplete(
            _missing_components_message(authorization, request),
            s3_code="InvalidRequest",
            s3_message="The authorization mechanism you have provided is not supported. "
            "Please use AWS4-HMAC-SHA256.",
        )
    components: dict[str, str] = {}
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        name, eq, value = part.partition("=")
        if not eq:
            raise _incomplete(
                f"'{part}' not a valid key=value pair (missing equal-sign) in Authorization "
                f"header: '{authorization}'.",
                s3_code="AuthorizationHeaderMalformed",
                s3_message="The authorization header is malformed; the authorization component "
                f'"{part}" is malformed.',
            )
        components[name.strip()] = value.strip()
    credential = components.get("Credential")
    signed = components.get("SignedHeaders")
    signature = components.get("Signature")
    date_value = request.headers.get("x-amz-date") or request.headers.get("date")
    if not credential or not signed or not signature or not date_value:
        missing = next(
            n
            for n, v in (
                ("Credential", credential),
                ("SignedHeaders", signed),
                ("Signature", signature),
                ("Date", date_value),
            )
            if not v
        )
        raise _missing_component(missing, authorization, request, components)
    return credential, signed, signature


def _missing_component(
    missing: str, authorization: str, request: HttpRequest, components: dict[str, str]
) -> AuthFailure:
    s3 = (
        {
            "s3_code": "AccessDenied",
            "s3_status": 403,
            "s3_message": "AWS authentication requires a valid Date or x-amz-date header",
        }
        if missing == "Date"
        else {
            "s3_code": "AuthorizationHeaderMalformed",
            "s3_message": f"The authorization header is malformed; missing {missing}.",
        }
    )
    return _incomplete(_missing_components_message(authorization, request, components), **s3)


def _missing_components_message(
    authorization: str, request: HttpRequest, components: dict[str, str] | None = None
) -> str:
    components = components or {}
    parts = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not components.get(name)
    ]
    if not (request.headers.get("x-amz-date") or request.headers.get("date")):
        parts.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    parts.append(f"Authorization={authorization}")
    return " ".join(parts)


def _from_query(request: HttpRequest, query: dict[str, list[str]]) -> SignatureInfo:
    values = {name: (query.get(name) or [""])[0] for name in (*_PRESIGN_PARAMS, "X-Amz-Expires")}
    missing = [name for name in _PRESIGN_PARAMS if not values[name]]
    if missing:
        raise _incomplete(
            " ".join(f"AWS query-string parameters must include '{n}'." for n in missing)
            + " Re-examine the query-string parameters.",
            s3_code="AuthorizationQueryParametersError",
            s3_message=_S3_QUERY_PARAMS_HELP,
        )
    if values["X-Amz-Algorithm"] != ALGORITHM:
        raise _incomplete(
            f"Unsupported AWS 'algorithm': '{values['X-Amz-Algorithm']}'.",
            s3_code="AuthorizationQueryParametersError",
            s3_message='X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
        )
    access_key_id, date, region, service = _parse_credential(
        values["X-Amz-Credential"], presigned=True
    )
    parsed = _basic_date(values["X-Amz-Date"])
    if parsed is None:
        raise _incomplete(
            f"Date must be in ISO-8601 'basic format'. Got '{values['X-Amz-Date']}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601",
            s3_code="AuthorizationQueryParametersError",
            s3_message="X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
        )
    amz_date, timestamp = parsed
    if date != timestamp[:8]:
        _check_scope(date, amz_date, presigned=True)
    expires = _parse_expires(values["X-Amz-Expires"], service)
    signed = values["X-Amz-SignedHeaders"]
    signed_headers = _SIGNED_HEADERS.get(signed)
    if signed_headers is None:
        signed_headers = _parse_signed_headers(signed, presigned=True)
    payload_hash = _header_payload_hash(request, service, presigned=True)
    token = (query.get("X-Amz-Security-Token") or [None])[0]
    return _signature_info(
        access_key_id,
        date,
        region,
        service,
        signed_headers,
        values["X-Amz-Signature"],
        amz_date,
        True,
        expires,
        token if token is not None else request.headers.get("x-amz-security-token"),
        payload_hash,
        timestamp,
    )


def check_scope(info: SignatureInfo, signing_name: str, s3_region: str) -> None:
    """Refuse a credential scoped to a region AWS does not have (checked first, as AWS does) or
    to a service other than ``signing_name``, the answering service's. ``s3_region`` is the
    region S3 names as the one expected."""
    if info.service == signing_name and info.region in KNOWN_REGIONS:
        return  # the common case: one comparison and one set lookup
    code, prefix = _s3_prefix(info.presigned)
    if not is_region(info.region):
        raise AuthFailure(
            WRONG_SCOPE,
            f"Credential should be scoped to a valid region, not '{info.region}'. ",
            s3_code=code,
            s3_message=f"{prefix}the region '{info.region}' is wrong; expecting '{s3_region}'",
            s3_fields={"Region": s3_region},
        )
    if info.service != signing_name:
        raise AuthFailure(
            WRONG_SCOPE,
            f"Credential should be scoped to correct service: '{signing_name}'. ",
            s3_code=code,
            s3_message=f'{prefix}incorrect service "{info.service}". This endpoint belongs to '
            f'"{signing_name}".',
        )


def _s3_prefix(presigned: bool) -> tuple[str, str]:
    if presigned:
        return "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter; "
    return "AuthorizationHeaderMalformed", "The authorization header is malformed; "


def _parse_credential(credential: str, *, presigned: bool) -> tuple[str, str, str, str]:
    code, prefix = _s3_prefix(presigned)
    parts = credential.rsplit("/", 4)
    if len(parts) != 5:
        raise AuthFailure(
            MALFORMED,
            f"Credential '{credential}' is malformed; expecting "
            "'<access key>/<YYYYMMDD>/<region>/<service>/aws4_request'.",
            s3_code=code,
            s3_message=prefix + _S3_CREDENTIAL_HELP,
        )
    access_key_id, date, region, service, terminator = parts
    if not access_key_id:
        raise AuthFailure(
            MALFORMED,
            "Credential must have a non-empty access key id.",
            s3_code=code,
            s3_message=prefix + "a non-empty Access Key (AKID) must be provided in the credential.",
        )
    if terminator != TERMINATOR:
        raise AuthFailure(
            MALFORMED,
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{terminator}'.",
            s3_code=code,
            s3_message=prefix
            + f'incorrect terminal "{terminator}". This endpoint uses "aws4_request".',
        )
    if len(date) != 8 or not date.isdigit():
        raise AuthFailure(
            MALFORMED,
            f"Credential date must be in the format YYYYMMDD, not '{date}'.",
            s3_code=code,
            s3_message=prefix + f'incorrect date format "{date}". This date in the credential '
            'must be in the format "yyyyMMdd".',
        )
    if not region:
        raise AuthFailure(
            MALFORMED,
            "Credential should be scoped to a valid region, not ''.",
            s3_code=code,
            s3_message=prefix + _S3_CREDENTIAL_HELP,
        )
    if not service:
        raise AuthFailure(
            MALFORMED,
            "Credential should be scoped to correct service.",
            s3_code=code,
            s3_message=prefix + _S3_CREDENTIAL_HELP,
        )
    return access_key_id, date, region, service


def _parse_basic_date(value: str) -> datetime | None:
    """``YYYYMMDDTHHMMSSZ`` → aware UTC datetime, or None."""
    if len(value) != 16 or value[8] != "T" or value[15] != "Z":
        return None
    digits = value[:8] + value[9:15]
    if not digits.isdigit():
        return None
    try:
        return datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[9:11]),
            int(value[11:13]),
            int(value[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        return None


# X-Amz-Date value -> (datetime, its ``amz_timestamp``), for the values ``_parse_basic_date``
# accepts: a busy server sees the same few seconds over and over.
_BASIC_DATES: dict[str, tuple[datetime, str]] = {}


def _basic_date(value: str) -> tuple[datetime, str] | None:
    """``_parse_basic_date`` (memoised), with the timestamp of the result."""
    entry = _BASIC_DATES.get(value)
    if entry is None:
        parsed = _parse_basic_date(value)
        if parsed is None:
            return None
        if len(_BASIC_DATES) >= _CACHE_SIZE:
            _BASIC_DATES.clear()
        entry = _BASIC_DATES[value] = (parsed, amz_timestamp(parsed))
    return entry


def _parse_header_date(request: HttpRequest) -> tuple[datetime, str]:
    """The request's X-Amz-Date (else Date) header, with its ``amz_timestamp``."""
    raw = request.headers.get("x-amz-date")
    if raw is not None:
        entry = _basic_date(raw.strip())
        if entry is not None:
            return entry
    else:
        raw = request.headers.get("date", "")
        try:
            parsed = parsedate_to_datetime(raw).astimezone(UTC)
        except (TypeError, ValueError, IndexError):
            pass
        else:
            return parsed, amz_timestamp(parsed)
    raise _incomplete(
        f"Date must be in ISO-8601 'basic format'. Got '{raw}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601",
        s3_code="AccessDenied",
        s3_status=403,
        s3_message="AWS authentication requires a valid Date or x-amz-date header",
    )


def _check_scope(date: str, amz_date: datetime, *, presigned: bool) -> None:
    stamp = amz_timestamp(amz_date)
    if date != stamp[:8]:
        if presigned:
            s3 = {
                "s3_code": "AuthorizationQueryParametersError",
                "s3_message": f'Invalid credential date "{date}". This date is not the same as '
                f'X-Amz-Date: "{stamp[:8]}".',
            }
        else:
            s3 = {
                "s3_code": "AuthorizationHeaderMalformed",
                "s3_message": "The authorization header is malformed; Invalid credential date. "
                "Date is not the same as X-Amz-Date.",
            }
        raise AuthFailure(
            MALFORMED,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            f"HTTP: '{date}' != '{stamp[:8]}', from '{stamp}'.",
            **s3,
        )


# SignedHeaders value -> its parsed names, for the values ``_parse_signed_headers`` accepts.
_SIGNED_HEADERS: dict[str, tuple[str, ...]] = {}


def _parse_signed_headers(value: str, *, presigned: bool) -> tuple[str, ...]:
    """The names of a SignedHeaders list (cached in ``_SIGNED_HEADERS`` once accepted)."""
    names = tuple(n.strip().lower() for n in value.split(";") if n.strip())
    if "host" not in names:
        code, _ = _s3_prefix(presigned)
        raise AuthFailure(
            MALFORMED,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            s3_code="AccessDenied" if presigned else code,
            s3_status=403 if presigned else 400,
            s3_message="There were headers present in the request which were not signed"
            if presigned
            else "The authorization header is malformed; 'Host' must be a 'SignedHeader' in the "
            "AWS Authorization.",
        )
    if len(value) <= _CACHED_VALUE_MAX:
        if len(_SIGNED_HEADERS) >= _CACHE_SIZE:
            _SIGNED_HEADERS.clear()
        _SIGNED_HEADERS[value] = names
    return names


def _parse_expires(value: str, service: str) -> int | None:
    if not value:
        if service == "s3":
            raise _incomplete(
                "AWS query-string parameters must include 'X-Amz-Expires'. "
                "Re-examine the query-string parameters.",
                s3_code="AuthorizationQueryParametersError",
                s3_message=_S3_QUERY_PARAMS_HELP,
            )
        return None
    try:
        expires = int(value)
    except ValueError:
        raise AuthFailure(
            MALFORMED,
            f"X-Amz-Expires should be a number, not '{value}'.",
            s3_code="AuthorizationQueryParametersError",
            s3_message="X-Amz-Expires should be a number",
        ) from None
    if expires < 0:
        raise AuthFailure(
            MALFORMED,
            "X-Amz-Expires must be non-negative.",
            s3_code="AuthorizationQueryParametersError",
            s3_message="X-Amz-Expires must be non-negative",
        )
    if expires > MAX_PRESIGN_EXPIRES:
        raise AuthFailure(
            MALFORMED,
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            "X-Amz-Expires must be less than 604800 seconds.",
            s3_code="AuthorizationQueryParametersError",
            s3_message="X-Amz-Expires must be less than a week (in seconds); that is, the given "
            "X-Amz-Expires must be less than 604800 seconds",
        )
    return expires


def _header_payload_hash(request: HttpRequest, service: str, *, presigned: bool) -> str:
    declared = request.headers.get("x-amz-content-sha256")
    if declared is None and presigned:
        declared = (request.query.get("X-Amz-Content-Sha256") or [None])[0]
    if declared is None:
        if service == "s3":
            if presigned:
                return UNSIGNED_PAYLOAD
            raise AuthFailure(
                MALFORMED,
                "Missing required header for this request: x-amz-content-sha256",
                s3_code="InvalidRequest",
                s3_message="Missing required header for this request: x-amz-content-sha256",
            )
        return hashlib.sha256(request.body).hexdigest()
    declared = declared.strip()
    if declared in (STREAMING_ECDSA, STREAMING_ECDSA_TRAILER):
        raise AuthFailure(
            MALFORMED,
            f"mamori does not support SigV4a streaming payloads ({declared}).",
            s3_code="NotImplemented",
            s3_status=501,
            s3_message="A header you provided implies functionality that is not implemented: "
            f"x-amz-content-sha256={declared}",
        )
    if declared not in PAYLOAD_TOKENS and not is_sha256_hex(declared):
        raise AuthFailure(
            MALFORMED,
            _S3_CONTENT_SHA256_HELP,
            s3_code="InvalidArgument",
            s3_message=_S3_CONTENT_SHA256_HELP,
            s3_fields={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": declared},
        )
    return declared


# --------------------------------------------------------------------------- canonical request


# Strings that URI decoding and SigV4 URI encoding both leave unchanged (no "%", no "+", nothing
# outside A-Za-z0-9-_.~), and paths that are also free of dot and empty segments: for these the
# canonical forms are the strings themselves.
_UNRESERVED = re.compile(r"[A-Za-z0-9\-_.~]*")
_PLAIN_PATH = re.compile(r"(?:/(?!\.\.?(?:/|\Z))[A-Za-z0-9\-_.~]+)*/?")


def _uri_encode(text: str, safe: str) -> str:
    return quote(text, safe=safe)


@lru_cache(maxsize=_CACHE_SIZE)
def _recode(component: str) -> str:
    """A query name or value decoded as forms are, then URI-encoded per SigV4."""
    return quote(unquote_plus(component), safe="-_.~")


def _canonical_component(component: str) -> str:
    if _UNRESERVED.fullmatch(component) is not None:
        return component
    if len(component) > _CACHED_VALUE_MAX:
        return quote(unquote_plus(component), safe="-_.~")
    return _recode(component)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 dot-segment removal, plus dropping empty segments (as AWS and botocore do)."""
    if not path:
        return "/"
    out: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if out:
                out.pop()
        else:
            out.append(segment)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and out else ""
    return first + "/".join(out) + last


def _primary_uri(path: str, service: str) -> str:
    """The canonical URI botocore signs (``path`` non-empty)."""
    if service == "s3" or path == "/" or _PLAIN_PATH.fullmatch(path) is not None:
        return path
    return _uri_encode(_remove_dot_segments(path), "/~")


def canonical_uris(path: str, service: str) -> Iterator[str]:
    """Canonical URI candidates, the one botocore signs first; alternates only on demand."""
    path = path or "/"
    primary = _primary_uri(path, service)
    yield primary
    if service == "s3":
        # Clients that left reserved characters unencoded (or encoded ones SigV4 does not):
        # decode each segment and encode it the SigV4 way; %2F inside a segment stays encoded.
        alternate = "/".join(_uri_encode(unquote(seg), "-_.~") for seg in path.split("/"))
    else:
        # Some signers encode the decoded path once instead of the sent path again.
        normalized = _remove_dot_segments(path)
        alternate = "/".join(_uri_encode(unquote(seg), "-_.~") for seg in normalized.split("/"))
    if alternate != primary:
        yield alternate


def _primary_query(query_string: str, presigned: bool) -> str:
    """The canonical query string per the spec (see ``canonical_query_strings``)."""
    if not query_string:
        return ""
    encoded: list[tuple[str, str]] = []
    for pair in query_string.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if _UNRESERVED.fullmatch(key) is not None:
            decoded_key = encoded_key = key
        else:
            decoded_key = unquote_plus(key)
            encoded_key = _uri_encode(decoded_key, "-_.~")
        if presigned and decoded_key == "X-Amz-Signature":
            continue
        encoded.append((encoded_key, _canonical_component(value)))
    encoded.sort()
    return "&".join([f"{k}={v}" for k, v in encoded])


def canonical_query_strings(query_string: str, *, presigned: bool) -> Iterator[str]:
    """Canonical query string candidates: re-encoded per the spec first, then as sent.

    Names and values are decoded the way HTML forms and AWS do (``+`` is a space), then
    URI-encoded per SigV4 (everything but ``A-Za-z0-9-_.~``) and sorted by name, then value.
    """
    primary = _primary_query(query_string, presigned)
    yield primary
    if not query_string:
        return
    raw: list[tuple[str, str]] = []
    for pair in query_string.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if presigned and unquote_plus(key) == "X-Amz-Signature":
            continue
        raw.append((key, value))
    alternate = "&".join(f"{k}={v}" for k, v in sorted(raw))
    if alternate != primary:
        yield alternate


def canonical_headers(request: HttpRequest, signed_headers: tuple[str, ...]) -> str:
    headers = request.headers
    lines = []
    for name in signed_headers:
        value = headers.get(name)
        if value is None:
            value = request.host if name == "host" else ""
        lines.append(f"{name}:{' '.join(value.split())}\n")
    return "".join(lines)


def _canonical_tail(request: HttpRequest, info: SignatureInfo, payload_hash: str) -> str:
    signed = info.signed_headers
    return f"{canonical_headers(request, signed)}\n{';'.join(signed)}\n{payload_hash}"


def _primary_canonical_request(request: HttpRequest, info: SignatureInfo, payload_hash: str):
    """The first of ``canonical_requests``: botocore's spelling."""
    uri = _primary_uri(request.path or "/", info.service)
    query = _primary_query(request.query_string, info.presigned)
    tail = _canonical_tail(request, info, payload_hash)
    return f"{request.method.upper()}\n{uri}\n{query}\n{tail}"


def canonical_requests(request: HttpRequest, info: SignatureInfo, payload_hash: str):
    """Yield canonical request candidates, botocore's spelling first."""
    yield _primary_canonical_request(request, info, payload_hash)
    # Alternate spellings are built only when the primary one did not match.
    head = request.method.upper()
    tail = _canonical_tail(request, info, payload_hash)
    uris = canonical_uris(request.path, info.service)
    queries = canonical_query_strings(request.query_string, presigned=info.presigned)
    first_uri, first_query = next(uris), next(queries)
    all_queries = [first_query, *queries]
    for uri in (first_uri, *uris):
        for query in all_queries:
            if uri is not first_uri or query is not first_query:
                yield f"{head}\n{uri}\n{query}\n{tail}"


# --------------------------------------------------------------------------- verification


def verify(
    request: HttpRequest,
    info: SignatureInfo,
    secret_access_key: str,
    *,
    now: datetime,
    max_skew: timedelta,
    body_hash: str | None,
) -> None:
    """Check the claim in ``info`` against the request and the key's secret; raise AuthFailure.

    ``body_hash`` is the SHA-256 hex of the body when the gateway holds all of it; with a hex
    ``x-amz-content-sha256`` it must match (S3: ``XAmzContentSHA256Mismatch``). For a streamed
    body pass ``None``: the declared hash is what the signature covers, and the body must be
    checked as it streams (``decoder_for`` for aws-chunked bodies, a hashing stream otherwise).
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    _check_time(info, now, max_skew)

    keyed = _keyed_hmac(signing_key(secret_access_key, info.date, info.region, info.service))
    prefix = f"{ALGORITHM}\n{info.timestamp}\n{info.scope}\n"
    provided = info.signature.lower()
    if not provided.isascii():  # never a hex digest; compare_digest refuses non-ASCII str
        provided = ""
    payload_hash = info.payload_hash
    creq = _primary_canonical_request(request, info, payload_hash)
    sts = prefix + hashlib.sha256(creq.encode("utf-8")).hexdigest()
    mac = keyed.copy()
    mac.update(sts.encode("utf-8"))
    if not hmac.compare_digest(mac.hexdigest(), provided):
        first = (creq, sts)
        # The other spellings real clients sign (``canonical_requests`` after its first).
        for creq in islice(canonical_requests(request, info, payload_hash), 1, None):
            sts = prefix + hashlib.sha256(creq.encode("utf-8")).hexdigest()
            mac = keyed.copy()
            mac.update(sts.encode("utf-8"))
            if hmac.compare_digest(mac.hexdigest(), provided):
                break
        else:
            creq, sts = first
            raise AuthFailure(
                SIGNATURE_MISMATCH,
                "The request signature we calculated does not match the signature you provided.",
                access_key_id=info.access_key_id,
                string_to_sign=sts,
                canonical_request=creq,
                signature_provided=info.signature,
            )

    if (
        body_hash is not None
        and is_sha256_hex(payload_hash)
        and not hmac.compare_digest(body_hash.lower(), payload_hash.lower())
    ):
        raise AuthFailure(
            PAYLOAD_HASH_MISMATCH,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            client_sha256=payload_hash,
            computed_sha256=body_hash,
        )


def _check_time(info: SignatureInfo, now: datetime, max_skew: timedelta) -> None:
    amz_date = info.amz_date
    if not info.presigned and -max_skew <= now - amz_date <= max_skew:
        return  # the common case, decided before anything is built for the errors
    context = {"amz_date": amz_date, "server_time": now, "max_skew": max_skew}
    if info.presigned:
        if amz_date > now + max_skew:
            raise AuthFailure(
                PRESIGN_NOT_YET_VALID,
                skew_message(amz_date, now, max_skew),
                expires=info.expires,
                **context,
            )
        if info.expires is not None:
            window = timedelta(seconds=info.expires)
            if now > amz_date + window:
                raise AuthFailure(
                    PRESIGN_EXPIRED,
                    skew_message(amz_date, now, window),
                    expires=info.expires,
                    **context,
                )
        elif now - amz_date > max_skew:
            raise AuthFailure(PRESIGN_EXPIRED, skew_message(amz_date, now, max_skew), **context)
        return
    if abs(now - amz_date) > max_skew:
        raise AuthFailure(SKEWED, skew_message(amz_date, now, max_skew), **context)
