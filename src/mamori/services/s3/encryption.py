"""Which server-side encryption a write gets, and the data key a read needs.

A write names its encryption with headers (``x-amz-server-side-encryption`` AES256 / aws:kms,
``...-aws-kms-key-id``, ``...-context``, ``...-bucket-key-enabled``, or the three SSE-C
``...-customer-*`` headers); without them the bucket's default encryption applies. The result is
the object's ``crypto`` record (what the store keeps: never a plaintext key, never the customer
key) plus the plaintext data key for the body, and the response headers reporting it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from mamori.errors import AwsError
from mamori.services.s3 import crypto
from mamori.services.s3.buckets import Bucket, bucket_arn
from mamori.services.s3.errors import (
    SSE_C_REQUIRED,
    access_denied,
    invalid_argument,
    invalid_request,
)

SSE_S3 = "AES256"
SSE_KMS = "aws:kms"
SSE_KMS_DSSE = "aws:kms:dsse"
SSE_C = "SSE-C"


@dataclass
class Sse:
    mode: str
    data_key: bytes
    record: dict[str, Any]
    headers: dict[str, Any] = field(default_factory=dict)


# --- customer keys -------------------------------------------------------------------------------


def customer_key(algorithm: str | None, key_b64: str | None, key_md5: str | None) -> bytes | None:
    """The SSE-C key of a request (validated as S3 does), or None when none was given."""
    if algorithm is None and key_b64 is None and key_md5 is None:
        return None
    if algorithm is None:
        raise invalid_request(
            "Requests specifying Server Side Encryption with Customer provided keys must provide "
            "a valid encryption algorithm."
        )
    if algorithm != "AES256":
        raise AwsError(
            "InvalidEncryptionAlgorithmError",
            "The Encryption request you specified is not valid. Supported value: AES256.",
            status=400,
        )
    if not key_b64:
        raise invalid_request(
            "Requests specifying Server Side Encryption with Customer provided keys must provide "
            "an appropriate secret key."
        )
    try:
        key = base64.b64decode(key_b64, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise invalid_argument("The secret key was invalid for the specified algorithm.")
    if not key_md5:
        raise invalid_request(
            "Requests specifying Server Side Encryption with Customer provided keys must provide "
            "the client calculated MD5 of the secret key."
        )
    expected = base64.b64encode(hashlib.md5(key, usedforsecurity=False).digest()).decode()
    if not hmac.compare_digest(expected, key_md5.strip()):
        raise invalid_argument(
            "The calculated MD5 hash of the key did not match the hash that was provided."
        )
    return key


def _key_md5(key: bytes) -> str:
    return base64.b64encode(hashlib.md5(key, usedforsecurity=False).digest()).decode()


# --- KMS -----------------------------------------------------------------------------------------


def _kms_api():
    try:
        from mamori.services.kms import api  # built beside S3; imported only when needed
    except ImportError:
        raise AwsError(
            "NotImplemented",
            "SSE-KMS needs mamori's KMS, which this server does not have yet.",
            status=501,
        ) from None
    return api


def kms_error(error: AwsError) -> AwsError:
    """A KMS error as S3 reports it (``KMS.DisabledException``, AccessDenied, ...)."""
    code = error.code
    if code in ("AccessDeniedException", "AccessDenied"):
        return AwsError("AccessDenied", error.message, status=403)
    if code.startswith("KMS."):
        return error
    status = error.status if error.status and error.status < 500 else 400
    if not error.sender_fault:
        status = error.status or 500
    return AwsError(f"KMS.{code}", error.message, status=status, sender_fault=error.sender_fault)


def _generate(ctx, key_id: str, context: dict[str, str]) -> tuple[bytes, bytes, str]:
    api = _kms_api()
    try:
        return api.generate_data_key(ctx, key_id, context, via_service="s3")
    except AwsError as error:
        raise kms_error(error) from None


def _decrypt(ctx, blob: bytes, context: dict[str, str]) -> bytes:
    api = _kms_api()
    try:
        plaintext, _arn = api.decrypt(ctx, blob, context, via_service="s3")
    except AwsError as error:
        raise kms_error(error) from None
    return plaintext


def _default_kms_key(ctx) -> str:
    api = _kms_api()
    try:
        return api.default_service_key(ctx, "s3")
    except AwsError as error:
        raise kms_error(error) from None


def _context_header(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        value = json.loads(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise invalid_argument(
            "The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 "
            "string holding JSON which represents a string-string map"
        )
    return value


# --- writes --------------------------------------------------------------------------------------


@dataclass
class WriteRequest:
    """The encryption a write asked for (already validated)."""

    mode: str | None  # None: the bucket default
    kms_key_id: str | None = None
    kms_context: dict[str, str] = field(default_factory=dict)
    bucket_key: bool | None = None
    customer_key: bytes | None = None


def write_request(params: dict[str, Any]) -> WriteRequest:
    sse = params.get("ServerSideEncryption")
    key = customer_key(
        params.get("SSECustomerAlgorithm"),
        params.get("SSECustomerKey"),
        params.get("SSECustomerKeyMD5"),
    )
    if key is not None:
        if sse is not None:
            raise invalid_argument(
                "Server Side Encryption with Customer provided key is incompatible with the "
                "encryption method specified"
            )
        return WriteRequest(SSE_C, customer_key=key)
    if sse is not None and sse not in (SSE_S3, SSE_KMS, SSE_KMS_DSSE):
        raise invalid_argument("The encryption method specified is not supported")
    kms_key_id = params.get("SSEKMSKeyId")
    context = _context_header(params.get("SSEKMSEncryptionContext"))
    if (kms_key_id or context) and sse not in (SSE_KMS, SSE_KMS_DSSE):
        raise invalid_argument(
            "Server Side Encryption with AWS Key Management Service key id is specified but "
            "the encryption method is not aws:kms"
            if kms_key_id
            else "Encryption context is only supported with aws:kms"
        )
    return WriteRequest(
        sse, kms_key_id=kms_key_id, kms_context=context, bucket_key=params.get("BucketKeyEnabled")
    )


def check_sse_c_allowed(bucket: Bucket, request: WriteRequest) -> None:
    if request.mode == SSE_C and bucket.sse_c_blocked:
        raise access_denied(
            "Requests specifying Server Side Encryption with Customer provided keys are blocked "
            "for this bucket (its default encryption's BlockedEncryptionTypes includes SSE-C; "
            "PutBucketEncryption with BlockedEncryptionTypes NONE allows them)."
        )


def new_sse(
    ctx, conn, server_key: crypto.ServerKey, bucket: Bucket, key: str, request: WriteRequest
) -> Sse:
    """Create the data key of a new object (or multipart upload) and its crypto record."""
    data_key = crypto.new_data_key()
    if request.mode == SSE_C:
        k = request.customer_key
        assert k is not None
        return Sse(
            SSE_C,
            data_key,
            {
                "mode": SSE_C,
                "wrapped": crypto.wrap(k, data_key, b"sse-c"),
                "proof": crypto.customer_key_proof(k),
            },
            {"SSECustomerAlgorithm": "AES256", "SSECustomerKeyMD5": _key_md5(k)},
        )
    mode = request.mode
    kms_key_id = request.kms_key_id
    context = dict(request.kms_context)
    bucket_key = request.bucket_key
    if mode is None:
        rule = bucket.default_rule
        default = rule.get("ApplyServerSideEncryptionByDefault") or {"SSEAlgorithm": SSE_S3}
        mode = default.get("SSEAlgorithm", SSE_S3)
        kms_key_id = default.get("KMSMasterKeyID")
        if bucket_key is None:
            bucket_key = bool(rule.get("BucketKeyEnabled"))
    if mode == SSE_S3:
        wrapped = crypto.wrap(server_key.get(conn), data_key, b"sse-s3")
        return Sse(
            SSE_S3, data_key, {"mode": SSE_S3, "wrapped": wrapped}, {"ServerSideEncryption": SSE_S3}
        )
    # SSE-KMS (DSSE-KMS is kept as single-layer KMS encryption, reported as requested).
    if not kms_key_id:
        kms_key_id = _default_kms_key(ctx)
    bucket_key = bool(bucket_key) and mode == SSE_KMS
    if bucket_key:
        context.setdefault("aws:s3:arn", bucket_arn(bucket.name))
        level_key, blob, key_arn = _generate(ctx, kms_key_id, context)
        wrapped = crypto.wrap(level_key, data_key, b"bucket-key")
        record = {
            "mode": mode,
            "key_arn": key_arn,
            "kms_blob": crypto.b64(blob),
            "context": context,
            "bucket_key": True,
            "wrapped": wrapped,
        }
    else:
        context.setdefault("aws:s3:arn", f"{bucket_arn(bucket.name)}/{key}")
        data_key, blob, key_arn = _generate(ctx, kms_key_id, context)
        record = {
            "mode": mode,
            "key_arn": key_arn,
            "kms_blob": crypto.b64(blob),
            "context": context,
        }
    headers = {
        "ServerSideEncryption": mode,
        "SSEKMSKeyId": key_arn,
        "BucketKeyEnabled": bucket_key or None,
    }
    if request.kms_context:
        headers["SSEKMSEncryptionContext"] = base64.b64encode(
            json.dumps(context, separators=(",", ":")).encode()
        ).decode()
    return Sse(mode, data_key, record, headers)


def etag_of(record: dict[str, Any] | None, md5: bytes) -> str:
    """The ETag of a body (object or part) written under ``record``: its MD5 for SSE-S3; for
    SSE-KMS and SSE-C not an MD5 of the data (as S3 documents), in the same 32-hex form."""
    if record is not None and record["mode"] != SSE_S3:
        return secrets.token_hex(16)
    return md5.hex()


# --- reads ---------------------------------------------------------------------------------------


def response_headers(
    record: dict[str, Any] | None, customer: bytes | None = None
) -> dict[str, Any]:
    if not record:
        return {}
    mode = record["mode"]
    if mode == SSE_C:
        headers: dict[str, Any] = {"SSECustomerAlgorithm": "AES256"}
        if customer is not None:
            headers["SSECustomerKeyMD5"] = _key_md5(customer)
        return headers
    if mode == SSE_S3:
        return {"ServerSideEncryption": SSE_S3}
    return {
        "ServerSideEncryption": mode,
        "SSEKMSKeyId": record["key_arn"],
        "BucketKeyEnabled": True if record.get("bucket_key") else None,
    }


def read_customer_key(record: dict[str, Any] | None, algorithm, key_b64, key_md5) -> bytes | None:
    """Check the SSE-C headers of a read against the object (S3's errors when they don't fit)."""
    key = customer_key(algorithm, key_b64, key_md5)
    is_ssec = bool(record) and record["mode"] == SSE_C
    if is_ssec and key is None:
        raise invalid_request(SSE_C_REQUIRED)
    if not is_ssec and key is not None:
        raise invalid_request("The encryption parameters are not applicable to this object.")
    if key is not None and not crypto.customer_key_matches(key, record["proof"]):
        raise access_denied("Access Denied")
    return key


def data_key(
    ctx, conn, server_key: crypto.ServerKey, record: dict[str, Any], customer: bytes | None
) -> bytes:
    """The plaintext data key of an object, after every check its mode requires."""
    mode = record["mode"]
    try:
        if mode == SSE_C:
            assert customer is not None
            return crypto.unwrap(customer, record["wrapped"], b"sse-c")
        if mode == SSE_S3:
            return crypto.unwrap(server_key.get(conn), record["wrapped"], b"sse-s3")
        plaintext = _decrypt(ctx, crypto.unb64(record["kms_blob"]), record.get("context") or {})
        if record.get("bucket_key"):
            return crypto.unwrap(plaintext, record["wrapped"], b"bucket-key")
        return plaintext
    except crypto.BodyIntegrityError:
        raise access_denied("Access Denied") from None
