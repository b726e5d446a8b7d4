"""Micro-benchmark: microseconds per SigV4 verification, per kind of signed request.

Run: .venv/bin/python benchmarks/sigv4_micro.py [--n 20000] [--repeat 5]

For each case it prints the cost of extract_signature + verify (the gateway's hot path, with the
``body_hash`` the gateway would pass) and of verify alone; the best of ``--repeat`` runs. The
cases are the common ones: STS (query protocol, form body), KMS (JSON, x-amz-target), S3 GET and
PUT (x-amz-content-sha256) and an S3 presigned GET URL; plus botocore's own SigV4Auth.add_auth
for the KMS request as a reference point.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mamori.gateway.sigv4 import extract_signature, max_clock_skew, verify
from mamori.protocols.base import HttpRequest

ACCESS_KEY = "AKIAMAMORIBENCHMARK0"
SECRET = "mamori-benchmark-secret-access-key-000000"
REGION = "us-east-1"
ENDPOINT = "http://127.0.0.1:4566"
N = 20_000


def _to_http(aws: AWSRequest) -> HttpRequest:
    prepared = aws.prepare()
    url = urlsplit(prepared.url)
    headers = {
        k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()
    }
    headers.setdefault("host", url.netloc)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    if body:
        headers["content-length"] = str(len(body))
    return HttpRequest(prepared.method, url.path or "/", url.query, headers, bytes(body))


def _credentials() -> Credentials:
    return Credentials(ACCESS_KEY, SECRET)


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
        ENDPOINT + "/",
        data=body,
        headers={
            "X-Amz-Target": "TrentService.Encrypt",
            "Content-Type": "application/x-amz-json-1.1",
            "User-Agent": "Boto3/1.40 md/Botocore#1.40",
        },
    )
    SigV4Auth(_credentials(), "kms", REGION).add_auth(aws)
    return aws, _to_http(aws)


def sts_request() -> HttpRequest:
    body = urlencode({"Action": "GetCallerIdentity", "Version": "2011-06-15"}).encode()
    aws = AWSRequest(
        "POST",
        ENDPOINT + "/",
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "User-Agent": "Boto3/1.40 md/Botocore#1.40",
        },
    )
    SigV4Auth(_credentials(), "sts", REGION).add_auth(aws)
    return _to_http(aws)


def s3_request(method: str, path: str, body: bytes = b"") -> HttpRequest:
    headers = {"User-Agent": "Boto3/1.40 md/Botocore#1.40"}
    if body:
        headers["Content-Type"] = "application/octet-stream"
    aws = AWSRequest(method, ENDPOINT + path, data=body, headers=headers)
    # S3SigV4Auth adds x-amz-content-sha256 (the body's SHA-256 over plain HTTP).
    S3SigV4Auth(_credentials(), "s3", REGION).add_auth(aws)
    return _to_http(aws)


def s3_presigned_get(path: str) -> HttpRequest:
    aws = AWSRequest("GET", ENDPOINT + path)
    S3SigV4QueryAuth(_credentials(), "s3", REGION, expires=3600).add_auth(aws)
    return _to_http(aws)


def per_call_us(fn, n: int, repeat: int) -> float:
    for _ in range(min(n // 10, 1000)):
        fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


def gateway_body_hash(request: HttpRequest, info) -> str | None:
    """What ``Gateway._body_hash`` passes for a fully read body (computed once, outside)."""
    if info.presigned or "x-amz-content-sha256" not in request.headers:
        return None
    if info.payload_hash in ("UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"):
        return None
    if info.payload_hash.startswith("STREAMING-"):
        return None
    return hashlib.sha256(request.body).hexdigest()


def bench_case(name: str, request: HttpRequest, n: int, repeat: int) -> None:
    info = extract_signature(request)
    assert info is not None, name
    now = info.amz_date + timedelta(seconds=1)
    skew = max_clock_skew(info.service)
    body_hash = gateway_body_hash(request, info)
    verify(request, info, SECRET, now=now, max_skew=skew, body_hash=body_hash)  # must pass

    def full() -> None:
        found = extract_signature(request)
        verify(request, found, SECRET, now=now, max_skew=skew, body_hash=body_hash)

    def verify_only() -> None:
        verify(request, info, SECRET, now=now, max_skew=skew, body_hash=body_hash)

    def extract_only() -> None:
        extract_signature(request)

    print(
        f"{name:<28} extract+verify {per_call_us(full, n, repeat):6.1f} µs   "
        f"extract {per_call_us(extract_only, n, repeat):6.1f} µs   "
        f"verify {per_call_us(verify_only, n, repeat):6.1f} µs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=N, help="iterations per timing")
    parser.add_argument("--repeat", type=int, default=5, help="timings per case (best kept)")
    args = parser.parse_args()

    aws, kms = kms_request()
    cases = [
        ("sts GetCallerIdentity (form)", sts_request()),
        ("kms Encrypt (json)", kms),
        ("s3 GetObject", s3_request("GET", "/bench-bucket/some/key.txt")),
        ("s3 PutObject (1 KiB)", s3_request("PUT", "/bench-bucket/some/key.txt", b"x" * 1024)),
        ("s3 GetObject (key to encode)", s3_request("GET", "/bench-bucket/a%20b/%C3%A9t%C3%A9")),
        ("s3 presigned GET", s3_presigned_get("/bench-bucket/some/key.txt")),
    ]
    for name, request in cases:
        bench_case(name, request, args.n, args.repeat)

    signer = SigV4Auth(_credentials(), "kms", REGION)

    def botocore_sign() -> None:
        fresh = AWSRequest("POST", aws.url, data=aws.data, headers=dict(aws.headers))
        signer.add_auth(fresh)

    print(
        f"{'botocore SigV4Auth.add_auth':<28} "
        f"{per_call_us(botocore_sign, args.n // 4, args.repeat):6.1f} µs (kms, reference)"
    )
    print(
        f"(measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.n} iterations, best of "
        f"{args.repeat})"
    )


if __name__ == "__main__":
    main()
