"""The SigV4 credential scope, against a live server: a signature is good only for the service it
was scoped to and for a region AWS has; and the ways S3 refuses to guess which credential counts
(two auth mechanisms at once, Signature Version 2 query strings)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY

FORM = "application/x-www-form-urlencoded"
CALLER = b"Action=GetCallerIdentity&Version=2011-06-15"
LIST_KEYS = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.ListKeys"}
CREDENTIALS = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)


def send(request: AWSRequest) -> tuple[int, bytes]:
    prepared = request.prepare()
    raw = urllib.request.Request(
        prepared.url, data=prepared.body, headers=dict(prepared.headers), method=prepared.method
    )
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def signed(endpoint, service, body=b"", headers=None, region="us-east-1", method="POST", path="/"):
    request = AWSRequest(method=method, url=endpoint + path, data=body, headers=headers or {})
    SigV4Auth(CREDENTIALS, service, region).add_auth(request)
    return send(request)


def s3_signed(endpoint, region="us-east-1", path="/"):
    request = AWSRequest(method="GET", url=endpoint + path)
    S3SigV4Auth(CREDENTIALS, "s3", region).add_auth(request)
    return send(request)


# The service


@pytest.mark.parametrize("scoped_to", ["kms", "iam", "foo"])
def test_sts_refuses_a_signature_scoped_to_another_service(server, scoped_to):
    status, body = signed(server.endpoint, scoped_to, CALLER, {"Content-Type": FORM})
    assert status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in body
    assert b"<Message>Credential should be scoped to correct service: 'sts'. </Message>" in body


def test_iam_refuses_a_signature_scoped_to_sts(server):
    body = b"Action=ListUsers&Version=2010-05-08"
    status, answer = signed(server.endpoint, "sts", body, {"Content-Type": FORM})
    assert status == 403
    assert b"Credential should be scoped to correct service: 'iam'. " in answer


@pytest.mark.parametrize("scoped_to", ["sts", "iam", "foo"])
def test_kms_refuses_a_signature_scoped_to_another_service(server, scoped_to):
    status, body = signed(server.endpoint, scoped_to, b"{}", LIST_KEYS)
    assert status == 400
    assert b'"InvalidSignatureException"' in body
    assert b"Credential should be scoped to correct service: 'kms'. " in body


def test_a_presigned_url_scoped_to_another_service_is_refused(server):
    request = AWSRequest(method="GET", url=server.endpoint + "/?" + CALLER.decode())
    SigV4QueryAuth(CREDENTIALS, "kms", "us-east-1", expires=300).add_auth(request)
    status, body = send(request)
    assert status == 403
    assert b"Credential should be scoped to correct service: 'sts'. " in body


# The region


def test_kms_refuses_a_region_aws_does_not_have(server):
    kms = server.client("kms", region_name="xx-fake-9")
    with pytest.raises(ClientError) as err:
        kms.create_key()
    assert err.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert err.value.response["Error"]["Message"] == (
        "Credential should be scoped to a valid region, not 'xx-fake-9'. "
    )
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Nothing was created anywhere.
    listed = server.client("kms").list_keys()["Keys"]
    assert all(":xx-fake-9:" not in key["KeyArn"] for key in listed)


def test_sts_refuses_a_region_aws_does_not_have(server):
    status, body = signed(server.endpoint, "sts", CALLER, {"Content-Type": FORM}, "xx-fake-9")
    assert status == 403
    assert b"Credential should be scoped to a valid region, not 'xx-fake-9'. " in body


def test_real_regions_are_accepted_including_ones_newer_than_botocore(server):
    for region in ("eu-west-1", "ap-southeast-7", "us-gov-west-1", "eu-central-9"):
        status, _ = signed(server.endpoint, "sts", CALLER, {"Content-Type": FORM}, region)
        assert status == 200, region


def test_s3_names_the_region_it_expects(server):
    status, body = s3_signed(server.endpoint, region="xx-fake-9")
    assert status == 400
    assert b"<Code>AuthorizationHeaderMalformed</Code>" in body
    assert (
        b"<Message>The authorization header is malformed; the region 'xx-fake-9' is wrong; "
        b"expecting 'us-east-1'</Message>" in body
    )
    assert b"<Region>us-east-1</Region>" in body


def test_s3_presigned_url_with_a_region_aws_does_not_have(server):
    request = AWSRequest(method="GET", url=server.endpoint + "/")
    S3SigV4QueryAuth(CREDENTIALS, "s3", "xx-fake-9", expires=300).add_auth(request)
    status, body = send(request)
    assert status == 400
    assert b"<Code>AuthorizationQueryParametersError</Code>" in body
    assert (
        b"Error parsing the X-Amz-Credential parameter; the region 'xx-fake-9' is wrong; "
        b"expecting 'us-east-1'" in body
    )


# S3: one credential, and a Signature Version 4 one

ONE_MECHANISM = (
    b"<Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
    b"Signature query string parameter or the Authorization header should be specified</Message>"
)


def test_s3_refuses_an_authorization_header_beside_a_presigned_query(server):
    presigned = AWSRequest(method="GET", url=server.endpoint + "/")
    S3SigV4QueryAuth(CREDENTIALS, "s3", "us-east-1", expires=300).add_auth(presigned)
    both = AWSRequest(method="GET", url=presigned.prepare().url)
    S3SigV4Auth(CREDENTIALS, "s3", "us-east-1").add_auth(both)
    status, body = send(both)
    assert status == 400
    assert b"<Code>InvalidArgument</Code>" in body
    assert ONE_MECHANISM in body
    assert b"<ArgumentName>Authorization</ArgumentName>" in body
    assert b"<ArgumentValue>AWS4-HMAC-SHA256 Credential=" in body


def test_s3_refuses_a_valid_header_beside_a_bogus_query_signature(server):
    request = AWSRequest(
        method="GET",
        url=server.endpoint + "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=deadbeef",
    )
    S3SigV4Auth(CREDENTIALS, "s3", "us-east-1").add_auth(request)
    status, body = send(request)
    assert status == 400
    assert ONE_MECHANISM in body


def test_s3_refuses_a_signature_version_2_presigned_url(server):
    url = (
        server.endpoint
        + f"/?AWSAccessKeyId={ACCESS_KEY_ID}&Expires=4102444800&Signature=bm90LWEtc2lnbmF0dXJl"
    )
    status, body = send(AWSRequest(method="GET", url=url))
    assert status == 400
    assert b"<Code>InvalidRequest</Code>" in body
    assert (
        b"<Message>The authorization mechanism you have provided is not supported. "
        b"Please use AWS4-HMAC-SHA256.</Message>" in body
    )
