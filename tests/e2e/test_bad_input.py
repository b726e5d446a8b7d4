"""Bad input of every kind gets the service's own clear error and changes nothing."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY


def _signed(endpoint: str, service: str, target: str | None, body: bytes, content_type: str):
    headers = {"Content-Type": content_type}
    if target:
        headers["X-Amz-Target"] = target
    request = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), service, "us-east-1").add_auth(request)
    prepared = request.prepare()
    return urllib.request.Request(
        prepared.url, data=body, headers=dict(prepared.headers), method="POST"
    )


def _fail(request) -> tuple[int, bytes, dict]:
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=30)
    return error.value.code, error.value.read(), dict(error.value.headers)


def test_invalid_and_malformed_bodies_get_each_services_own_error(server):
    code, body, _ = _fail(
        _signed(
            server.endpoint,
            "iam",
            None,
            b"Action=CreateUser&Version=2010-05-08&UserName=",
            "application/x-www-form-urlencoded",
        )
    )
    assert code == 400 and b"<Code>ValidationError</Code>" in body
    code, body, _ = _fail(
        _signed(
            server.endpoint,
            "logs",
            "Logs_20140328.DescribeLogGroups",
            b"{not json",
            "application/x-amz-json-1.1",
        )
    )
    assert code == 400
    assert b"SerializationException" in body


def test_oversized_body_is_refused_before_it_is_read(server):
    # Only the headers are sent: the server answers from Content-Length, without reading on.
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("POST", "/")
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("Content-Length", str(17 * 1024 * 1024))
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == 413
    assert b"RequestEntityTooLarge" in body


def test_unknown_json_operation_and_unknown_query_action(server):
    code, body, _ = _fail(
        _signed(
            server.endpoint, "kms", "TrentService.MakeCoffee", b"{}", "application/x-amz-json-1.1"
        )
    )
    assert code == 400 and b"UnknownOperationException" in body
    code, body, _ = _fail(
        _signed(
            server.endpoint,
            "sts",
            None,
            b"Action=MakeCoffee&Version=2011-06-15",
            "application/x-www-form-urlencoded",
        )
    )
    assert code == 400 and b"<Code>InvalidAction</Code>" in body


def test_non_ascii_signature_or_payload_hash_is_a_mismatch_not_a_server_error(server):
    """A signature or payload hash is hex; anything else (latin-1 bytes in a header) is simply a
    wrong signature, answered with the service's own 403/400, never a 500."""
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    request = _signed(server.endpoint, "sts", None, body, "application/x-www-form-urlencoded")
    authorization = request.get_header("Authorization")
    signature = authorization.rsplit("Signature=", 1)[1]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {k: v for k, v in request.header_items() if k.lower() != "authorization"}
    headers["Authorization"] = authorization.replace(signature, "\xe9" * len(signature))
    conn.request("POST", "/", body=body, headers=headers)
    response = conn.getresponse()
    assert response.status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in response.read()

    headers["Authorization"] = authorization
    headers["x-amz-content-sha256"] = "\xe9" * 64
    conn.request("POST", "/", body=body, headers=headers)
    response = conn.getresponse()
    assert response.status in (400, 403)
    assert response.status != 500
    text = response.read()
    assert b"<Code>" in text and b"InternalFailure" not in text
    conn.close()
