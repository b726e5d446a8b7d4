"""Helpers for the SigV4 tests: botocore signs, mamori verifies.

``capture`` builds a real boto3 client pointed at an address nothing listens on and stops the
call at ``before-send``, so the request is exactly what botocore puts on the wire; ``to_http``
turns it into the gateway's ``HttpRequest``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from mamori.protocols.base import HttpRequest

ACCESS_KEY = "AKIAMAMORISIGV4TEST1"
SECRET = "mamori/sigv4+test-secret-key-0000000000"
TOKEN = "FwoGZXIvYXdzEMamoriSessionToken+/=="
REGION = "us-east-1"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class Captured(Exception):
    def __init__(self, request) -> None:
        super().__init__("captured")
        self.request = request


def _raise(request, **_kwargs):
    raise Captured(request)


def client(
    service: str,
    *,
    https: bool = False,
    token: str | None = None,
    config=None,
    endpoint: str | None = None,
    **kw,
):
    session = boto3.session.Session(
        aws_access_key_id=kw.pop("access_key", ACCESS_KEY),
        aws_secret_access_key=kw.pop("secret", SECRET),
        aws_session_token=token,
        region_name=kw.pop("region", REGION),
    )
    config = (config or Config()).merge(Config(retries={"max_attempts": 1}))
    endpoint = endpoint or ("https://127.0.0.1:1" if https else "http://127.0.0.1:1")
    made = session.client(service, endpoint_url=endpoint, config=config)
    made.meta.events.register("before-send", _raise)
    return made


def capture(service: str, operation: str, params: dict | None = None, **kw) -> HttpRequest:
    made = client(service, **kw)
    with pytest.raises(Captured) as caught:
        getattr(made, operation)(**(params or {}))
    return to_http(caught.value.request)


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def to_http(prepared) -> HttpRequest:
    """An AWSPreparedRequest / AWSRequest as the gateway would receive it."""
    if hasattr(prepared, "prepare"):
        prepared = prepared.prepare()
    url = urlsplit(prepared.url)
    headers: dict[str, str] = {}
    for name, value in prepared.headers.items():
        headers[name.lower()] = _text(value)
    headers.setdefault("host", url.netloc)
    body = prepared.body
    if body is None:
        data = b""
    elif isinstance(body, bytes | bytearray):
        data = bytes(body)
    elif isinstance(body, str):
        data = body.encode("utf-8")
    else:
        data = body.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
    if data and "content-length" not in headers and "transfer-encoding" not in headers:
        headers["content-length"] = str(len(data))
    return HttpRequest(
        method=prepared.method,
        path=url.path or "/",
        query_string=url.query,
        headers=headers,
        body=data,
    )


def presigned_to_http(
    url: str, method: str = "GET", body: bytes = b"", headers=None
) -> HttpRequest:
    parts = urlsplit(url)
    all_headers = {"host": parts.netloc, **(headers or {})}
    return HttpRequest(method, parts.path, parts.query, all_headers, body)


def now_utc() -> datetime:
    return datetime.now(UTC)


def skew(service: str) -> timedelta:
    return timedelta(minutes=15 if service in ("s3", "sts", "iam") else 5)


# ---------------------------------------------------------------- signed aws-chunked bodies


def chunk_signature(key: bytes, amz_date: str, scope: str, previous: str, data: bytes) -> str:
    string = "\n".join(
        [
            "AWS4-HMAC-SHA256-PAYLOAD",
            amz_date,
            scope,
            previous,
            EMPTY_SHA256,
            hashlib.sha256(data).hexdigest(),
        ]
    )
    return hmac.new(key, string.encode(), hashlib.sha256).hexdigest()


def trailer_signature(key: bytes, amz_date: str, scope: str, previous: str, trailers) -> str:
    canonical = "".join(f"{name}:{value}\n" for name, value in trailers)
    string = "\n".join(
        [
            "AWS4-HMAC-SHA256-TRAILER",
            amz_date,
            scope,
            previous,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    return hmac.new(key, string.encode(), hashlib.sha256).hexdigest()


def signed_chunked_body(
    data: bytes,
    *,
    key: bytes,
    amz_date: str,
    scope: str,
    seed: str,
    chunk_size: int = 65536,
    trailers: list[tuple[str, str]] | None = None,
) -> bytes:
    """Frame ``data`` per STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER), signing each chunk."""
    out = bytearray()
    previous = seed
    pieces = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    for piece in pieces:
        previous = chunk_signature(key, amz_date, scope, previous, piece)
        out += b"%x;chunk-signature=%s\r\n" % (len(piece), previous.encode())
        if piece:
            out += piece + b"\r\n"
    if trailers is not None:
        for name, value in trailers:
            out += f"{name}:{value}\r\n".encode()
        signature = trailer_signature(key, amz_date, scope, previous, trailers)
        out += f"x-amz-trailer-signature:{signature}\r\n".encode()
    out += b"\r\n"
    return bytes(out)
