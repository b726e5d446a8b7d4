"""A bucket lives in one region: a request signed for another region is refused with the error
that names the bucket's region (AuthorizationHeaderMalformed, or for a presigned URL
AuthorizationQueryParametersError, with ``<Region>`` and ``x-amz-bucket-region``), and SDKs
follow it: a boto3 client or the AWS CLI configured for the wrong region reaches the bucket by
signing again for the right one, as against AWS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from xml.etree import ElementTree

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from tests.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from tests.e2e.s3_helpers import bucket_name

WEST = "eu-west-1"
CREDENTIALS = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)


def _send(request: AWSRequest) -> tuple[int, dict[str, str], bytes]:
    prepared = request.prepare()
    raw = urllib.request.Request(
        prepared.url, data=prepared.body, headers=dict(prepared.headers), method=prepared.method
    )
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _signed(server, method: str, path: str, region: str, body: bytes = b""):
    request = AWSRequest(method=method, url=server.endpoint + path, data=body)
    S3SigV4Auth(CREDENTIALS, "s3", region).add_auth(request)
    return _send(request)


def _error(body: bytes) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ElementTree.fromstring(body)}


@pytest.fixture(scope="module")
def west_bucket(server) -> str:
    west = server.client("s3", region_name=WEST)
    name = bucket_name("west")
    west.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": WEST})
    west.put_object(Bucket=name, Key="k", Body=b"in the west")
    return name


def test_a_request_signed_for_another_region_names_the_buckets_region(server, west_bucket):
    status, headers, body = _signed(server, "GET", f"/{west_bucket}/k", "us-east-1")
    assert status == 400
    assert headers["x-amz-bucket-region"] == WEST
    error = _error(body)
    assert error["Code"] == "AuthorizationHeaderMalformed"
    assert error["Message"] == (
        "The authorization header is malformed; the region 'us-east-1' is wrong; "
        "expecting 'eu-west-1'"
    )
    assert error["Region"] == WEST


def test_a_head_request_gets_the_region_header_without_a_body(server, west_bucket):
    status, headers, body = _signed(server, "HEAD", f"/{west_bucket}/k", "us-east-1")
    assert (status, body) == (400, b"")
    assert headers["x-amz-bucket-region"] == WEST


def test_a_write_signed_for_another_region_changes_nothing(server, west_bucket):
    status, _, body = _signed(server, "PUT", f"/{west_bucket}/other", "us-east-1", b"x")
    assert status == 400 and _error(body)["Code"] == "AuthorizationHeaderMalformed"
    west = server.client("s3", region_name=WEST)
    listed = west.list_objects_v2(Bucket=west_bucket)["Contents"]
    assert [item["Key"] for item in listed] == ["k"]


def test_the_right_region_is_served(server, west_bucket):
    status, _, body = _signed(server, "GET", f"/{west_bucket}/k", WEST)
    assert (status, body) == (200, b"in the west")


def test_a_presigned_url_for_another_region_is_refused(server, west_bucket):
    east = server.client("s3", region_name="us-east-1", config=Config(signature_version="s3v4"))
    # boto3 presigns for the region it is configured for (no request, so no redirect)
    url = east.generate_presigned_url("get_object", Params={"Bucket": west_bucket, "Key": "k"})
    assert "us-east-1" in url
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            pytest.fail(f"answered {response.status}")
    except urllib.error.HTTPError as error:
        assert error.code == 400
        assert error.headers["x-amz-bucket-region"] == WEST
        found = _error(error.read())
    assert found["Code"] == "AuthorizationQueryParametersError"
    assert found["Message"] == (
        "Error parsing the X-Amz-Credential parameter; the region 'us-east-1' is wrong; "
        "expecting 'eu-west-1'"
    )
    assert found["Region"] == WEST


def test_get_bucket_location_answers_from_any_region(server, west_bucket):
    east = server.client("s3", region_name="us-east-1")
    assert east.get_bucket_location(Bucket=west_bucket)["LocationConstraint"] == WEST


def test_an_unknown_bucket_is_still_no_such_bucket(server):
    status, _, body = _signed(server, "GET", f"/{bucket_name('none')}/k", "us-east-1")
    assert status == 404 and _error(body)["Code"] == "NoSuchBucket"


def test_boto3_in_the_wrong_region_follows_to_the_buckets_region(server, west_bucket):
    east = server.client("s3", region_name="us-east-1")
    assert east.get_object(Bucket=west_bucket, Key="k")["Body"].read() == b"in the west"
    assert east.head_object(Bucket=west_bucket, Key="k")["ContentLength"] == len(b"in the west")
    assert east.head_bucket(Bucket=west_bucket)["BucketRegion"] == WEST
    east.put_object(Bucket=west_bucket, Key="from-east", Body=b"redirected")
    west = server.client("s3", region_name=WEST)
    assert west.get_object(Bucket=west_bucket, Key="from-east")["Body"].read() == b"redirected"


def test_the_cli_in_the_wrong_region_follows_to_the_buckets_region(server, west_bucket, tmp_path):
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    env.pop("AWS_PROFILE", None)
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "awscli",
            "--endpoint-url",
            server.endpoint,
            "s3api",
            "list-objects-v2",
            "--bucket",
            west_bucket,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert "k" in [item["Key"] for item in json.loads(listed.stdout)["Contents"]]
