"""Micro-benchmark: microseconds per SigV4 verification of a typical KMS Encrypt request.

Run: .venv/bin/python benchmarks/sigv4_micro.py
Prints the cost of extract_signature + verify (the gateway's hot path), of verify alone, and of
botocore's own SigV4Auth.add_auth for the same request as a reference point.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mamori.gateway.sigv4 import extract_signature, verify
from mamori.protocols.base import HttpRequest

SECRET = "mamori-benchmark-secret-access-key-000000"
N = 20_000


def kms_request() -> tuple[AWSRequest, HttpRequest]:
    body = json.dumps(
        {
            "KeyId": "alias/benchmark",
            "Plaintext": "aGVsbG8gd29ybGQ=",
            "EncryptionContext": {"a": "b"},
        }
    ).encode()
    aws = AWSRequest(
        "POST",
        "http://127.0.0.1:4566/",
        data=body,
        headers={
            "X-Amz-Target": "TrentService.Encrypt",
            "Content-Type": "application/x-amz-json-1.1",
            "User-Agent": "Boto3/1.40 md/Botocore#1.40",
        },
    )
    SigV4Auth(Credentials("AKIAMAMORIBENCHMARK0", SECRET), "kms", "us-east-1").add_auth(aws)
    prepared = aws.prepare()
    headers = {
        k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()
    }
    headers["host"] = "127.0.0.1:4566"
    headers["content-length"] = str(len(body))
    return aws, HttpRequest("POST", "/", "", headers, body)


def per_call_us(fn, n: int = N) -> float:
    for _ in range(min(n // 10, 1000)):
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    aws, request = kms_request()
    info = extract_signature(request)
    now = info.amz_date + timedelta(seconds=1)
    skew = timedelta(minutes=5)
    body_hash = hashlib.sha256(request.body).hexdigest()

    def full() -> None:
        found = extract_signature(request)
        verify(request, found, SECRET, now=now, max_skew=skew, body_hash=None)

    def verify_only() -> None:
        verify(request, info, SECRET, now=now, max_skew=skew, body_hash=body_hash)

    signer = SigV4Auth(Credentials("AKIAMAMORIBENCHMARK0", SECRET), "kms", "us-east-1")

    def botocore_sign() -> None:
        fresh = AWSRequest("POST", aws.url, data=aws.data, headers=dict(aws.headers))
        signer.add_auth(fresh)

    print(f"extract_signature + verify : {per_call_us(full):7.1f} µs per request")
    print(f"verify alone               : {per_call_us(verify_only):7.1f} µs per request")
    print(f"botocore SigV4Auth.add_auth: {per_call_us(botocore_sign, N // 4):7.1f} µs (reference)")
    print(f"(measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {N} iterations)")


if __name__ == "__main__":
    main()
