"""Request-body integrity on S3's non-streaming operations, as the model's ``httpChecksum``
trait describes them: a ``Content-MD5`` or ``x-amz-checksum-<algorithm>`` header must match
the body, and an operation marked ``requestChecksumRequired`` needs one of them. (PutObject and
UploadPart verify their streamed bodies as they store them.)"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.chunked import CHECKSUM_ALGORITHMS
from mamori.services.s3.errors import bad_digest, invalid_digest

#: x-amz-checksum-<name> headers -> (algorithm as the API names it, digest size in bytes).
CHECKSUM_HEADERS = {
    "x-amz-checksum-crc32": ("CRC32", 4),
    "x-amz-checksum-crc32c": ("CRC32C", 4),
    "x-amz-checksum-crc64nvme": ("CRC64NVME", 8),
    "x-amz-checksum-sha1": ("SHA1", 20),
    "x-amz-checksum-sha256": ("SHA256", 32),
}


def checks_body(http_checksum: dict[str, Any]) -> bool:
    """Whether an operation's body carries request checksums (its ``httpChecksum`` trait
    names a request algorithm member)."""
    return "requestAlgorithmMember" in http_checksum


def check_checksum_headers(headers: dict[str, str]) -> None:
    """At most one x-amz-checksum-* header, and an x-amz-sdk-checksum-algorithm that names
    the algorithm of the checksum the request carries (header or trailer)."""
    if sum(name in CHECKSUM_HEADERS for name in headers) > 1:
        raise _invalid(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    sdk_algorithm = headers.get("x-amz-sdk-checksum-algorithm")
    if sdk_algorithm is None:
        return
    sent = sent_checksum_algorithm(headers)
    if sent is None:
        raise _invalid(
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or "
            "x-amz-trailer headers were found."
        )
    if sdk_algorithm.strip().upper() != sent:
        raise _invalid("Value for x-amz-sdk-checksum-algorithm header is invalid.")


def verify_body(http_checksum: dict[str, Any], headers: dict[str, str], body: bytes) -> None:
    """Raise S3's error when the body's declared digests are wrong, or a required one is
    missing (``headers`` with lower-case names)."""
    md5 = headers.get("content-md5")
    declared = [name for name in headers if name in CHECKSUM_HEADERS]
    if md5 is None and not declared and not _trailer_checksum(headers):
        if http_checksum.get("requestChecksumRequired"):
            message = "Missing required header for this request: Content-MD5"
            raise AwsError("InvalidRequest", message, status=400)
        return
    if md5 is not None:
        verify_md5(md5, hashlib.md5(body).digest())
    for name in declared:
        verify_checksum(name, headers[name], body)


def verify_md5(given: str, md5: bytes) -> None:
    """A Content-MD5 value against the MD5 of what was received."""
    try:
        claimed = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_digest() from None
    if len(claimed) != 16:
        raise invalid_digest()
    if not hmac.compare_digest(claimed, md5):
        raise bad_digest()


def verify_checksum(header: str, value: str, body: bytes) -> None:
    algorithm, size = CHECKSUM_HEADERS[header]
    try:
        claimed = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        claimed = b""
    if len(claimed) != size:
        raise AwsError("InvalidRequest", f"Value for {header} header is invalid.", status=400)
    factory = CHECKSUM_ALGORITHMS.get(algorithm.lower())
    if factory is None:
        raise AwsError(
            "InvalidRequest", f"Checksum algorithm {algorithm} is not supported.", status=400
        )
    hasher = factory()
    hasher.update(body)
    if not hmac.compare_digest(hasher.digest(), claimed):
        raise bad_digest(algorithm)


def sent_checksum_algorithm(headers: dict[str, str]) -> str | None:
    """The algorithm (API name) of the checksum a request carries: an x-amz-checksum-* header
    or the trailer it declares."""
    trailer = headers.get("x-amz-trailer", "").strip().lower()
    for name in (trailer, *headers):
        if name in CHECKSUM_HEADERS:
            return CHECKSUM_HEADERS[name][0]
    return None


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidRequest", message, status=400)


def _trailer_checksum(headers: dict[str, str]) -> bool:
    """A checksum trailer (verified by the gateway's aws-chunked decoder) counts as one."""
    return headers.get("x-amz-trailer", "").strip().lower() in CHECKSUM_HEADERS
