"""S3 integrity rules, through boto3 and botocore's own S3 signer against a live server:
headers outside the signature, request checksums, aws-chunked lengths, part numbers,
multipart checksum rules and user metadata encoding."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from tests.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from tests.e2e.s3_helpers import new_bucket, s3_client


@pytest.fixture(scope="module")
def s3(server):
    return s3_client(server, config=Config(signature_version="s3v4", retries={"max_attempts": 1}))


def send(method: str, url: str, headers: dict, body: bytes = b"") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body or None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def header_signed(method: str, url: str, body: bytes = b"", headers: dict | None = None):
    """The URL and headers botocore's S3 signer produces for this request."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    request.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    credentials = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    S3SigV4Auth(credentials, "s3", REGION).add_auth(request)
    prepared = request.prepare()
    return prepared.url, dict(prepared.headers)


def error_of(body: bytes) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(body)}


UNSIGNED_EXTRAS = {
    "x-amz-meta-evil": "1",
    "x-amz-tagging": "a=b",
    "x-amz-storage-class": "GLACIER",
}


def assert_headers_not_signed(status: int, body: bytes) -> None:
    assert status == 403
    error = error_of(body)
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == "There were headers present in the request which were not signed"
    assert error["HeadersNotSigned"] == "x-amz-meta-evil, x-amz-storage-class, x-amz-tagging"


def test_header_signed_put_with_unsigned_amz_headers_is_refused(s3, server):
    name = new_bucket(s3)
    url, headers = header_signed("PUT", f"{server.endpoint}/{name}/k", b"abc")
    status, body = send("PUT", url, {**headers, **UNSIGNED_EXTRAS}, b"abc")
    assert_headers_not_signed(status, body)
    assert s3.list_objects_v2(Bucket=name).get("KeyCount") == 0


def test_presigned_put_with_unsigned_amz_headers_is_refused(s3, server):
    name = new_bucket(s3)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": name, "Key": "k"})
    status, body = send("PUT", url, dict(UNSIGNED_EXTRAS), b"abc")
    assert_headers_not_signed(status, body)
    assert s3.list_objects_v2(Bucket=name).get("KeyCount") == 0
    # The URL as issued still works, with or without an (unsigned) payload hash header.
    assert send("PUT", url, {}, b"abc")[0] == 200
    assert send("PUT", url, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, b"abc")[0] == 200
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"abc"


def test_presigned_put_with_signed_amz_headers_applies_them(s3, server):
    name = new_bucket(s3)
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": name, "Key": "k", "Metadata": {"m": "v"}}
    )
    status, _ = send("PUT", url, {"x-amz-meta-m": "v"}, b"abc")
    assert status == 200
    assert s3.head_object(Bucket=name, Key="k")["Metadata"] == {"m": "v"}
