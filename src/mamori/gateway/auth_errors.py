"""Authentication failures, and how each AWS service family words them on the wire.

SigV4 verification (``sigv4.py``) raises one ``AuthFailure`` with a service-neutral *kind*; the
gateway turns it into the answering service's own error with ``auth_error``. AWS does not use
one vocabulary for this: the JSON services (KMS, Logs, ...) answer ``UnrecognizedClientException``
and ``InvalidSignatureException`` with HTTP 400, the query services (STS, IAM, SNS) answer
``InvalidClientTokenId`` and ``SignatureDoesNotMatch`` with 403, the REST-JSON services fronted
like API Gateway (GuardDuty, Inspector, Lambda) use the JSON codes with 403, and S3 has its own
set (``InvalidAccessKeyId``, ``RequestTimeTooSkewed``, ``AuthorizationHeaderMalformed``, ...)
with extra XML fields.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from botocore.model import ServiceModel

from mamori.errors import AwsError

# The kinds of authentication failure (``AuthFailure.kind``).
MISSING_AUTH = "missing_auth"
INCOMPLETE_SIGNATURE = "incomplete_signature"
MALFORMED = "malformed"
UNKNOWN_KEY = "unknown_key"
INACTIVE_KEY = "inactive_key"
SIGNATURE_MISMATCH = "signature_mismatch"
SKEWED = "skewed"
PRESIGN_EXPIRED = "presign_expired"
PRESIGN_NOT_YET_VALID = "presign_not_yet_valid"
INVALID_TOKEN = "invalid_token"
EXPIRED_TOKEN = "expired_token"
PAYLOAD_HASH_MISMATCH = "payload_hash_mismatch"
WRONG_SCOPE = "wrong_scope"  # a credential scoped to another service, or to no real region

KINDS = frozenset(
    {
        MISSING_AUTH,
        INCOMPLETE_SIGNATURE,
        MALFORMED,
        UNKNOWN_KEY,
        INACTIVE_KEY,
        SIGNATURE_MISMATCH,
        SKEWED,
        PRESIGN_EXPIRED,
        PRESIGN_NOT_YET_VALID,
        INVALID_TOKEN,
        EXPIRED_TOKEN,
        PAYLOAD_HASH_MISMATCH,
        WRONG_SCOPE,
    }
)

# Services whose clock-skew window is 15 minutes (the others allow 5): S3, and the global
# query services whose "Signature expired" messages say "- 15 min.".
_FIFTEEN_MINUTE_SERVICES = frozenset({"s3", "sts", "iam"})

SIGNATURE_MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
S3_SIGNATURE_MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."
EXPIRED_TOKEN_MESSAGE = "The security token included in the request is expired"


class AuthFailure(Exception):
    """A request failed authentication.

    ``kind`` is one of ``KINDS``; ``message`` is the text the JSON/query services send (S3 often
    words it differently, see ``auth_error``). ``context`` carries what the error bodies need:
    ``access_key_id``, ``amz_date`` / ``server_time`` (datetimes), ``max_skew`` (timedelta),
    ``expires`` (seconds), ``string_to_sign``, ``canonical_request``, ``signature_provided``,
    ``session_token``, ``client_sha256`` / ``computed_sha256``, and for S3's distinct
    header/presign errors ``s3_code`` / ``s3_message`` / ``s3_status`` / ``s3_fields``.
    """

    def __init__(self, kind: str, message: str = "", **context: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown AuthFailure kind {kind!r}")
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.context: dict[str, Any] = context


_FIVE_MINUTES = timedelta(minutes=5)
_CLOCK_SKEWS = dict.fromkeys(_FIFTEEN_MINUTE_SERVICES, timedelta(minutes=15))


def max_clock_skew(service_name: str) -> timedelta:
    """How far a header-signed request's X-Amz-Date may be from the server clock."""
    return _CLOCK_SKEWS.get(service_name, _FIVE_MINUTES)


@lru_cache(maxsize=256)
def amz_timestamp(moment: datetime) -> str:
    # Memoised: a busy server formats the same few seconds over and over.
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _window(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min." if seconds % 60 == 0 else f"{seconds} sec."


def skew_message(amz_date: datetime, now: datetime, max_skew: timedelta) -> str:
    """AWS's wording for a request date outside the allowed window, in either direction."""
    if amz_date < now:
        return (
            f"Signature expired: {amz_timestamp(amz_date)} is now earlier than "
            f"{amz_timestamp(now - max_skew)} ({amz_timestamp(now)} - {_window(max_skew)})"
        )
    return (
        f"Signature not yet current: {amz_timestamp(amz_date)} is still later than "
        f"{amz_timestamp(now + max_skew)} ({amz_timestamp(now)} + {_window(max_skew)})"
    )


def service_family(service_model: ServiceModel, protocol: str) -> str:
    """``s3``, ``query``, ``rest`` (REST-JSON/REST-XML other than S3) or ``json`` (JSON, CBOR)."""
    name = service_model.service_name
    signing_name = service_model.metadata.get("signingName") or name
    if name == "s3" or signing_name == "s3":
        return "s3"
    if protocol in ("query", "ec2"):
        return "query"
    if protocol in ("rest-json", "rest-xml"):
        return "rest"
    return "json"


# (code, status, message or None to use the failure's own message) per family and kind.
_JSON = {
    MISSING_AUTH: ("MissingAuthenticationTokenException", 400, "Missing Authentication Token"),
    INCOMPLETE_SIGNATURE: ("IncompleteSignatureException", 400, None),
    MALFORMED: ("IncompleteSignatureException", 400, None),
    UNKNOWN_KEY: ("UnrecognizedClientException", 400, INVALID_TOKEN_MESSAGE),
    INACTIVE_KEY: ("UnrecognizedClientException", 400, INVALID_TOKEN_MESSAGE),
    SIGNATURE_MISMATCH: ("InvalidSignatureException", 400, SIGNATURE_MISMATCH_MESSAGE),
    SKEWED: ("InvalidSignatureException", 400, None),
    PRESIGN_EXPIRED: ("InvalidSignatureException", 400, None),
    PRESIGN_NOT_YET_VALID: ("InvalidSignatureException", 400, None),
    INVALID_TOKEN: ("UnrecognizedClientException", 400, INVALID_TOKEN_MESSAGE),
    EXPIRED_TOKEN: ("ExpiredTokenException", 400, EXPIRED_TOKEN_MESSAGE),
    PAYLOAD_HASH_MISMATCH: ("InvalidSignatureException", 400, SIGNATURE_MISMATCH_MESSAGE),
    WRONG_SCOPE: ("InvalidSignatureException", 400, None),
}
_QUERY = {
    MISSING_AUTH: ("MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
    INCOMPLETE_SIGNATURE: ("IncompleteSignature", 400, None),
    MALFORMED: ("IncompleteSignature", 400, None),
    UNKNOWN_KEY: ("InvalidClientTokenId", 403, INVALID_TOKEN_MESSAGE),
    INACTIVE_KEY: ("InvalidClientTokenId", 403, INVALID_TOKEN_MESSAGE),
    SIGNATURE_MISMATCH: ("SignatureDoesNotMatch", 403, SIGNATURE_MISMATCH_MESSAGE),
    SKEWED: ("SignatureDoesNotMatch", 403, None),
    PRESIGN_EXPIRED: ("SignatureDoesNotMatch", 403, None),
    PRESIGN_NOT_YET_VALID: ("SignatureDoesNotMatch", 403, None),
    INVALID_TOKEN: ("InvalidClientTokenId", 403, INVALID_TOKEN_MESSAGE),
    EXPIRED_TOKEN: ("ExpiredToken", 403, EXPIRED_TOKEN_MESSAGE),
    PAYLOAD_HASH_MISMATCH: ("SignatureDoesNotMatch", 403, SIGNATURE_MISMATCH_MESSAGE),
    WRONG_SCOPE: ("SignatureDoesNotMatch", 403, None),
}
# The API-Gateway-style front of the REST services answers 403 and drops the final period.
_REST = {
    MISSING_AUTH: ("MissingAuthenticationTokenException", 403, "Missing Authentication Token"),
    INCOMPLETE_SIGNATURE: ("IncompleteSignatureException", 403, None),
    MALFORMED: ("IncompleteSignatureException", 403, None),
    UNKNOWN_KEY: ("UnrecognizedClientException", 403, INVALID_TOKEN_MESSAGE[:-1]),
    INACTIVE_KEY: ("UnrecognizedClientException", 403, INVALID_TOKEN_MESSAGE[:-1]),
    SIGNATURE_MISMATCH: ("InvalidSignatureException", 403, SIGNATURE_MISMATCH_MESSAGE),
    SKEWED: ("InvalidSignatureException", 403, None),
    PRESIGN_EXPIRED: ("InvalidSignatureException", 403, None),
    PRESIGN_NOT_YET_VALID: ("InvalidSignatureException", 403, None),
    INVALID_TOKEN: ("UnrecognizedClientException", 403, INVALID_TOKEN_MESSAGE[:-1]),
    EXPIRED_TOKEN: ("ExpiredTokenException", 403, EXPIRED_TOKEN_MESSAGE),
    PAYLOAD_HASH_MISMATCH: ("InvalidSignatureException", 403, SIGNATURE_MISMATCH_MESSAGE),
    WRONG_SCOPE: ("InvalidSignatureException", 403, None),
}
_TABLES = {"json": _JSON, "query": _QUERY, "rest": _REST}


def auth_error(failure: AuthFailure, service_model: ServiceModel, protocol: str) -> AwsError:
    """The error the answering service itself sends for this failure."""
    family = service_family(service_model, protocol)
    if family == "s3":
        return _s3_error(failure)
    code, status, message = _TABLES[family][failure.kind]
    headers = {"x-amzn-ErrorType": code} if family == "rest" else None
    return AwsError(code, message or failure.message, status=status, headers=headers)


def _s3_error(failure: AuthFailure) -> AwsError:
    ctx = failure.context
    kind = failure.kind
    if "s3_code" in ctx:
        return AwsError(
            ctx["s3_code"],
            ctx.get("s3_message", failure.message),
            status=ctx.get("s3_status", 400),
            fields=ctx.get("s3_fields"),
        )
    akid = ctx.get("access_key_id")
    if kind == MISSING_AUTH:
        return AwsError("AccessDenied", "Access Denied", status=403)
    if kind in (INCOMPLETE_SIGNATURE, MALFORMED):
        return AwsError(
            "AuthorizationHeaderMalformed",
            f"The authorization header is malformed; {failure.message}",
            status=400,
        )
    if kind in (UNKNOWN_KEY, INACTIVE_KEY):
        return AwsError(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            status=403,
            fields=_present({"AWSAccessKeyId": akid}),
        )
    if kind == SIGNATURE_MISMATCH:
        fields: dict[str, Any] = {"AWSAccessKeyId": akid}
        sts = ctx.get("string_to_sign")
        if sts is not None:
            fields["StringToSign"] = sts
        fields["SignatureProvided"] = ctx.get("signature_provided")
        if sts is not None:
            fields["StringToSignBytes"] = _spaced_hex(sts)
        creq = ctx.get("canonical_request")
        if creq is not None:
            fields["CanonicalRequest"] = creq
            fields["CanonicalRequestBytes"] = _spaced_hex(creq)
        return AwsError(
            "SignatureDoesNotMatch",
            S3_SIGNATURE_MISMATCH_MESSAGE,
            status=403,
            fields=_present(fields),
        )
    if kind == SKEWED:
        amz_date, now = ctx.get("amz_date"), ctx.get("server_time")
        skew = ctx.get("max_skew") or timedelta(minutes=15)
        return AwsError(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            status=403,
            fields=_present(
                {
                    "RequestTime": amz_timestamp(amz_date) if amz_date else None,
                    "ServerTime": _iso(now) if now else None,
                    "MaxAllowedSkewMilliseconds": int(skew.total_seconds() * 1000),
                }
            ),
        )
    if kind == PRESIGN_EXPIRED:
        amz_date, now, expires = ctx.get("amz_date"), ctx.get("server_time"), ctx.get("expires")
        return AwsError(
            "AccessDenied",
            "Request has expired",
            status=403,
            fields=_present(
                {
                    "X-Amz-Expires": expires,
                    "Expires": _iso(amz_date + timedelta(seconds=expires))
                    if amz_date and expires is not None
                    else None,
                    "ServerTime": _iso(now) if now else None,
                }
            ),
        )
    if kind == PRESIGN_NOT_YET_VALID:
        amz_date, now, expires = ctx.get("amz_date"), ctx.get("server_time"), ctx.get("expires")
        return AwsError(
            "AccessDenied",
            "Request is not valid yet",
            status=403,
            fields=_present(
                {
                    "X-Amz-Date": amz_timestamp(amz_date) if amz_date else None,
                    "Expires": _iso(amz_date + timedelta(seconds=expires))
                    if amz_date and expires is not None
                    else None,
                    "ServerTime": _iso(now) if now else None,
                }
            ),
        )
    if kind == INVALID_TOKEN:
        return AwsError(
            "InvalidToken",
            "The provided token is malformed or otherwise invalid.",
            status=400,
            fields=_present({"Token-0": ctx.get("session_token")}),
        )
    if kind == EXPIRED_TOKEN:
        return AwsError(
            "ExpiredToken",
            "The provided token has expired.",
            status=400,
            fields=_present({"Token-0": ctx.get("session_token")}),
        )
    # PAYLOAD_HASH_MISMATCH
    return AwsError(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        status=400,
        fields=_present(
            {
                "ClientComputedContentSHA256": ctx.get("client_sha256"),
                "S3ComputedContentSHA256": ctx.get("computed_sha256"),
            }
        ),
    )


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _spaced_hex(text: str) -> str:
    return " ".join(f"{b:02x}" for b in text.encode("utf-8"))
