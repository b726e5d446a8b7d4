"""SigV4 verification against botocore's own signers, and the per-service auth errors."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from mamori.gateway.sigv4 import (
    UNSIGNED_PAYLOAD,
    AuthFailure,
    SignatureInfo,
    auth_error,
    extract_signature,
    max_clock_skew,
    signing_key,
    verify,
)
from mamori.protocols.base import HttpRequest
from mamori.service_models import protocols_of, service_model

from .sigv4_helpers import (
    ACCESS_KEY,
    SECRET,
    TOKEN,
    capture,
    client,
    now_utc,
    presigned_to_http,
    skew,
    to_http,
)

S3V4 = Config(signature_version="s3v4")
ODD_KEYS = [
    "plain.txt",
    "with space/and  two",
    "ünïcödé/日本語.txt",
    "plus+sign",
    "percent%20literal%",
    "tilde~and-_.",
    "double//slash//",
    "/leading-slash",
    "reserved!'()*&$@=;:,?#[]",
]


def check(request: HttpRequest, secret: str = SECRET, *, now: datetime | None = None, body=True):
    info = extract_signature(request)
    assert info is not None
    body_hash = hashlib.sha256(request.body).hexdigest() if body else None
    verify(
        request,
        info,
        secret,
        now=now or now_utc(),
        max_skew=max_clock_skew(info.service),
        body_hash=body_hash,
    )
    return info


def failure(request: HttpRequest, secret: str = SECRET, **kw) -> AuthFailure:
    with pytest.raises(AuthFailure) as caught:
        check(request, secret, **kw)
    return caught.value


def error_for(failure_: AuthFailure, service: str):
    model = service_model(service)
    return auth_error(failure_, model, protocols_of(model)[0])


# ----------------------------------------------------------------------------- positive


def test_kms_json_request_verifies():
    request = capture("kms", "encrypt", {"KeyId": "alias/x", "Plaintext": b"secret"})
    info = check(request)
    assert info.access_key_id == ACCESS_KEY
    assert (info.region, info.service, info.date) == ("us-east-1", "kms", info.timestamp[:8])
    assert "host" in info.signed_headers and "x-amz-target" in info.signed_headers
    assert not info.presigned and info.session_token is None
    # botocore signs the body's SHA-256 for non-S3 services and sends no x-amz-content-sha256.
    assert info.payload_hash == hashlib.sha256(request.body).hexdigest()


def test_kms_verifies_without_body_hash_too():
    request = capture("kms", "list_keys")
    info = extract_signature(request)
    verify(request, info, SECRET, now=now_utc(), max_skew=timedelta(minutes=5), body_hash=None)


@pytest.mark.parametrize(
    ("service", "operation", "params"),
    [
        ("sts", "get_caller_identity", {}),
        (
            "sts",
            "assume_role",
            {"RoleArn": "arn:aws:iam::000000000000:role/r", "RoleSessionName": "s+ / x"},
        ),
        ("iam", "list_users", {"PathPrefix": "/a b/"}),
        (
            "sns",
            "publish",
            {"TopicArn": "arn:aws:sns:us-east-1:000000000000:t", "Message": "ü & ="},
        ),
        ("logs", "describe_log_groups", {}),
        ("guardduty", "list_detectors", {}),
        ("guardduty", "get_findings", {"DetectorId": "d/1 2", "FindingIds": ["f"]}),
        ("lambda", "get_function", {"FunctionName": "my fn:$LATEST"}),
        ("cloudwatch", "list_metrics", {}),
        ("inspector2", "list_findings", {}),
    ],
)
def test_other_services_verify(service, operation, params):
    check(capture(service, operation, params))


@pytest.mark.parametrize("key", ODD_KEYS)
def test_s3_get_with_odd_keys(key):
    request = capture("s3", "get_object", {"Bucket": "bucket", "Key": key})
    info = check(request)
    assert info.service == "s3"
    assert info.payload_hash == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("key", ODD_KEYS)
def test_s3_put_over_http_signs_the_body(key):
    body = b"payload \x00\xff" * 100
    request = capture("s3", "put_object", {"Bucket": "bucket", "Key": key, "Body": body})
    info = check(request)
    assert info.payload_hash == hashlib.sha256(body).hexdigest()


def test_s3_list_with_odd_query_values():
    params = {"Bucket": "b", "Prefix": "a b+c/%/ü~", "Delimiter": "/", "StartAfter": "x=y&z"}
    check(capture("s3", "list_objects_v2", params))


def test_s3_virtual_host_style():
    request = capture(
        "s3",
        "get_object",
        {"Bucket": "bucket", "Key": "a b"},
        config=Config(s3={"addressing_style": "virtual"}),
        endpoint="http://s3.mamori.test:4566",
    )
    assert request.host.startswith("bucket.")
    check(request)


def test_s3_unsigned_payload():
    request = capture(
        "s3",
        "get_object",
        {"Bucket": "bucket", "Key": "k"},
        https=True,
        config=Config(s3={"payload_signing_enabled": False}),
    )
    info = check(request)
    assert info.payload_hash == UNSIGNED_PAYLOAD


def test_non_s3_unsigned_payload_header():
    request = AWSRequest(
        "POST",
        "https://kms.us-east-1.amazonaws.com/",
        data=b"{}",
        headers={"X-Amz-Target": "TrentService.ListKeys"},
    )
    request.context["payload_signing_enabled"] = False
    SigV4Auth(Credentials(ACCESS_KEY, SECRET), "kms", "us-east-1").add_auth(request)
    info = check(to_http(request))
    assert info.payload_hash == UNSIGNED_PAYLOAD


def test_session_token_header():
    request = capture("kms", "list_keys", token=TOKEN)
    info = check(request)
    assert info.session_token == TOKEN
    assert "x-amz-security-token" in info.signed_headers


def test_s3_presigned_get_and_put():
    s3 = client("s3", config=S3V4)
    for key in ODD_KEYS:
        url = s3.generate_presigned_url("get_object", {"Bucket": "b", "Key": key}, ExpiresIn=300)
        info = check(presigned_to_http(url), body=False)
        assert info.presigned and info.expires == 300
        assert info.payload_hash == UNSIGNED_PAYLOAD
    url = s3.generate_presigned_url(
        "put_object", {"Bucket": "b", "Key": "up load", "ContentType": "text/plain"}, ExpiresIn=60
    )
    request = presigned_to_http(url, "PUT", b"any body at all", {"content-type": "text/plain"})
    check(request)


def test_s3_presigned_with_session_token():
    s3 = client("s3", token=TOKEN, config=S3V4)
    url = s3.generate_presigned_url("get_object", {"Bucket": "b", "Key": "k"})
    info = check(presigned_to_http(url))
    assert info.session_token == TOKEN


def test_sts_presigned_get_caller_identity():
    sts = client("sts", token=TOKEN)
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=900, HttpMethod="GET")
    info = check(presigned_to_http(url))
    # Without HttpMethod botocore signs the operation's own method (POST).
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=900)
    check(presigned_to_http(url, "POST"))
    assert failure(presigned_to_http(url, "GET")).kind == "signature_mismatch"
    assert info.presigned and info.service == "sts" and info.session_token == TOKEN


def test_raw_signers_directly():
    creds = Credentials(ACCESS_KEY, SECRET, TOKEN)
    cases = [
        (SigV4Auth(creds, "kms", "eu-west-1"), "POST", "http://h/", b'{"a": 1}'),
        (S3SigV4Auth(creds, "s3", "eu-west-1"), "PUT", "http://h/b/k%20x", b"data"),
        (
            SigV4QueryAuth(creds, "sts", "eu-west-1", expires=60),
            "GET",
            "http://h/?Action=GetCallerIdentity&Version=2011-06-15",
            b"",
        ),
        (S3SigV4QueryAuth(creds, "s3", "eu-west-1", expires=60), "GET", "http://h/b/a%2Bb", b""),
    ]
    for signer, method, url, body in cases:
        request = AWSRequest(method, url, data=body)
        signer.add_auth(request)
        info = check(to_http(request))
        assert info.region == "eu-west-1"


def test_date_header_instead_of_x_amz_date():
    request = AWSRequest("GET", "http://h/", headers={"Date": "Mon, 01 Jan 2024 00:00:00 GMT"})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET), "sts", "us-east-1").add_auth(request)
    http = to_http(request)
    assert "x-amz-date" not in http.headers
    info = extract_signature(http)
    assert info.amz_date.tzinfo is not None
    check(http, now=info.amz_date + timedelta(seconds=30))


def test_anonymous_request_is_none():
    assert extract_signature(HttpRequest("GET", "/bucket/key")) is None
    assert extract_signature(HttpRequest("GET", "/b", "prefix=X-Amz-")) is None


def test_signing_key_is_cached():
    signing_key.cache_clear()
    for _ in range(3):
        check(capture("kms", "list_keys"))
    assert signing_key.cache_info().hits >= 2


# ----------------------------------------------------------------------------- negative

SERVICES = ["kms", "sts", "iam", "s3", "guardduty"]
SAMPLE_CALLS = {
    "kms": ("encrypt", {"KeyId": "k", "Plaintext": b"p"}),
    "sts": ("get_caller_identity", {}),
    "iam": ("list_users", {}),
    "s3": ("put_object", {"Bucket": "b", "Key": "k", "Body": b"object body"}),
    "guardduty": ("list_detectors", {"MaxResults": 5}),
}
EXPECTED = {
    # kind -> service -> (code, status)
    "signature_mismatch": {
        "kms": ("InvalidSignatureException", 400),
        "sts": ("SignatureDoesNotMatch", 403),
        "iam": ("SignatureDoesNotMatch", 403),
        "s3": ("SignatureDoesNotMatch", 403),
        "guardduty": ("InvalidSignatureException", 403),
    },
    "skewed": {
        "kms": ("InvalidSignatureException", 400),
        "sts": ("SignatureDoesNotMatch", 403),
        "iam": ("SignatureDoesNotMatch", 403),
        "s3": ("RequestTimeTooSkewed", 403),
        "guardduty": ("InvalidSignatureException", 403),
    },
    "unknown_key": {
        "kms": ("UnrecognizedClientException", 400),
        "sts": ("InvalidClientTokenId", 403),
        "iam": ("InvalidClientTokenId", 403),
        "s3": ("InvalidAccessKeyId", 403),
        "guardduty": ("UnrecognizedClientException", 403),
    },
    "inactive_key": {
        "kms": ("UnrecognizedClientException", 400),
        "sts": ("InvalidClientTokenId", 403),
        "iam": ("InvalidClientTokenId", 403),
        "s3": ("InvalidAccessKeyId", 403),
        "guardduty": ("UnrecognizedClientException", 403),
    },
    "invalid_token": {
        "kms": ("UnrecognizedClientException", 400),
        "sts": ("InvalidClientTokenId", 403),
        "iam": ("InvalidClientTokenId", 403),
        "s3": ("InvalidToken", 400),
        "guardduty": ("UnrecognizedClientException", 403),
    },
    "expired_token": {
        "kms": ("ExpiredTokenException", 400),
        "sts": ("ExpiredToken", 403),
        "iam": ("ExpiredToken", 403),
        "s3": ("ExpiredToken", 400),
        "guardduty": ("ExpiredTokenException", 403),
    },
    "missing_auth": {
        "kms": ("MissingAuthenticationTokenException", 400),
        "sts": ("MissingAuthenticationToken", 403),
        "iam": ("MissingAuthenticationToken", 403),
        "s3": ("AccessDenied", 403),
        "guardduty": ("MissingAuthenticationTokenException", 403),
    },
    "incomplete_signature": {
        "kms": ("IncompleteSignatureException", 400),
        "sts": ("IncompleteSignature", 400),
        "iam": ("IncompleteSignature", 400),
        "s3": ("AuthorizationHeaderMalformed", 400),
        "guardduty": ("IncompleteSignatureException", 403),
    },
    "payload_hash_mismatch": {
        "kms": ("InvalidSignatureException", 400),
        "sts": ("SignatureDoesNotMatch", 403),
        "iam": ("SignatureDoesNotMatch", 403),
        "s3": ("XAmzContentSHA256Mismatch", 400),
        "guardduty": ("InvalidSignatureException", 403),
    },
    "presign_expired": {
        "kms": ("InvalidSignatureException", 400),
        "sts": ("SignatureDoesNotMatch", 403),
        "iam": ("SignatureDoesNotMatch", 403),
        "s3": ("AccessDenied", 403),
        "guardduty": ("InvalidSignatureException", 403),
    },
}


def assert_error(failure_: AuthFailure, service: str, kind: str):
    assert failure_.kind == kind
    error = error_for(failure_, service)
    assert (error.code, error.status) == EXPECTED[kind][service], (service, error)
    return error


def sample(service: str, **kw) -> HttpRequest:
    operation, params = SAMPLE_CALLS[service]
    return capture(service, operation, params, **kw)


@pytest.mark.parametrize("service", SERVICES)
def test_wrong_secret(service):
    error = assert_error(failure(sample(service), "not-the-secret"), service, "signature_mismatch")
    if service == "s3":
        assert error.message.startswith("The request signature we calculated does not match")
        assert error.fields["AWSAccessKeyId"] == ACCESS_KEY
        assert error.fields["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
        assert error.fields["CanonicalRequest"].startswith("PUT\n/b/k\n")
    else:
        assert error.message == (
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details."
        )


@pytest.mark.parametrize("service", SERVICES)
def test_tampered_body(service):
    request = sample(service)
    request.body = request.body + b" " if request.body else b"x"
    kind = "payload_hash_mismatch" if service == "s3" else "signature_mismatch"
    error = assert_error(failure(request), service, kind)
    if service == "s3":
        assert error.fields["S3ComputedContentSHA256"] == hashlib.sha256(request.body).hexdigest()


@pytest.mark.parametrize("service", SERVICES)
def test_tampered_signed_header(service):
    request = sample(service)
    request.headers["host"] = "evil.example.com"
    assert_error(failure(request), service, "signature_mismatch")


def test_tampered_x_amz_target():
    request = capture("kms", "encrypt", {"KeyId": "k", "Plaintext": b"p"})
    request.headers["x-amz-target"] = "TrentService.Decrypt"
    assert_error(failure(request), "kms", "signature_mismatch")


def test_unsigned_header_can_change():
    request = capture("kms", "list_keys")
    request.headers["user-agent"] = "something else"
    check(request)


@pytest.mark.parametrize("service", ["s3", "guardduty"])
def test_tampered_query(service):
    params = {"s3": {"Bucket": "b", "Prefix": "p"}, "guardduty": {"MaxResults": 5}}[service]
    operation = {"s3": "list_objects_v2", "guardduty": "list_detectors"}[service]
    request = capture(service, operation, params)
    assert request.query_string
    request.query_string = request.query_string.replace("5", "50").replace("prefix=p", "prefix=q")
    assert_error(failure(request), service, "signature_mismatch")


def test_tampered_presigned_query():
    url = client("s3", config=S3V4).generate_presigned_url(
        "get_object", {"Bucket": "b", "Key": "k"}
    )
    assert_error(
        failure(presigned_to_http(url.replace("/b/k", "/b/other"))), "s3", "signature_mismatch"
    )
    longer = url.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200")
    assert_error(failure(presigned_to_http(longer)), "s3", "signature_mismatch")


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("direction", [-1, 1])
def test_skewed_date(service, direction):
    request = sample(service)
    info = extract_signature(request)
    window = skew(service)
    now = info.amz_date + direction * (window + timedelta(seconds=30))
    error = assert_error(failure(request, now=now), service, "skewed")
    if service == "s3":
        assert error.message == (
            "The difference between the request time and the current time is too large."
        )
        assert error.fields["MaxAllowedSkewMilliseconds"] == 900000
        assert error.fields["RequestTime"] == info.timestamp
    else:
        minutes = int(window.total_seconds() // 60)
        if direction > 0:  # the request is older than the window
            assert error.message.startswith(
                f"Signature expired: {info.timestamp} is now earlier than"
            )
            assert error.message.endswith(f" - {minutes} min.)")
        else:
            assert error.message.startswith(
                f"Signature not yet current: {info.timestamp} is still later than"
            )
            assert error.message.endswith(f" + {minutes} min.)")


def test_skew_message_format():
    request = capture("kms", "list_keys")
    info = extract_signature(request)
    info = replace(info, amz_date=datetime(2024, 1, 1, tzinfo=UTC))
    f = failure_from(request, info, now=datetime(2024, 1, 1, 0, 10, tzinfo=UTC))
    assert f.message == (
        "Signature expired: 20240101T000000Z is now earlier than 20240101T000500Z "
        "(20240101T001000Z - 5 min.)"
    )


def failure_from(request, info: SignatureInfo, *, now) -> AuthFailure:
    with pytest.raises(AuthFailure) as caught:
        verify(
            request, info, SECRET, now=now, max_skew=max_clock_skew(info.service), body_hash=None
        )
    return caught.value


def test_within_skew_is_fine():
    request = sample("kms")
    info = extract_signature(request)
    check(request, now=info.amz_date + timedelta(minutes=4))
    check(request, now=info.amz_date - timedelta(minutes=4))


def test_expired_presigned_s3_url():
    url = client("s3", config=S3V4).generate_presigned_url(
        "get_object", {"Bucket": "b", "Key": "k"}, ExpiresIn=60
    )
    request = presigned_to_http(url)
    info = extract_signature(request)
    check(request, now=info.amz_date + timedelta(seconds=59))
    error = assert_error(
        failure(request, now=info.amz_date + timedelta(seconds=61)), "s3", "presign_expired"
    )
    assert error.message == "Request has expired"
    assert error.fields["X-Amz-Expires"] == 60
    assert "Expires" in error.fields and "ServerTime" in error.fields


def test_presigned_s3_url_from_the_future():
    url = client("s3", config=S3V4).generate_presigned_url(
        "get_object", {"Bucket": "b", "Key": "k"}
    )
    request = presigned_to_http(url)
    info = extract_signature(request)
    f = failure(request, now=info.amz_date - timedelta(minutes=20))
    assert f.kind == "presign_not_yet_valid"
    error = error_for(f, "s3")
    assert (error.code, error.status, error.message) == (
        "AccessDenied",
        403,
        "Request is not valid yet",
    )


@pytest.mark.parametrize("service", ["sts", "iam"])
def test_expired_presigned_query_service(service):
    operation = {"sts": "get_caller_identity", "iam": "list_users"}[service]
    url = client(service).generate_presigned_url(operation, ExpiresIn=60, HttpMethod="GET")
    request = presigned_to_http(url)
    info = extract_signature(request)
    error = assert_error(
        failure(request, now=info.amz_date + timedelta(minutes=2)), service, "presign_expired"
    )
    assert error.message.startswith("Signature expired:")


def test_presign_expires_bounds():
    url = client("s3", config=S3V4).generate_presigned_url(
        "get_object", {"Bucket": "b", "Key": "k"}
    )
    for bad in ("604801", "-1", "abc"):
        request = presigned_to_http(url.replace("X-Amz-Expires=3600", f"X-Amz-Expires={bad}"))
        with pytest.raises(AuthFailure) as caught:
            extract_signature(request)
        assert caught.value.kind == "malformed"
        assert error_for(caught.value, "s3").code == "AuthorizationQueryParametersError"
    request = presigned_to_http(url.replace("X-Amz-Expires=3600", "X-Amz-Expires=604800"))
    assert extract_signature(request).expires == 604800


def test_incomplete_presign_params():
    url = client("s3", config=S3V4).generate_presigned_url(
        "get_object", {"Bucket": "b", "Key": "k"}
    )
    without = "&".join(p for p in url.split("?")[1].split("&") if not p.startswith("X-Amz-Date"))
    request = presigned_to_http(url.split("?")[0] + "?" + without)
    with pytest.raises(AuthFailure) as caught:
        extract_signature(request)
    assert caught.value.kind == "incomplete_signature"
    assert error_for(caught.value, "s3").code == "AuthorizationQueryParametersError"
    kms = error_for(caught.value, "kms")
    assert kms.code == "IncompleteSignatureException"
    assert "X-Amz-Date" in kms.message


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_error_table(service, kind):
    f = AuthFailure(kind, "detail message", access_key_id=ACCESS_KEY)
    error = assert_error(f, service, kind)
    assert error.message


def test_unknown_key_messages():
    f = AuthFailure("unknown_key", "", access_key_id="AKIAUNKNOWN")
    assert error_for(f, "kms").message == "The security token included in the request is invalid."
    assert error_for(f, "sts").message == "The security token included in the request is invalid."
    s3 = error_for(f, "s3")
    assert s3.message == "The AWS Access Key Id you provided does not exist in our records."
    assert s3.fields == {"AWSAccessKeyId": "AKIAUNKNOWN"}
    assert error_for(f, "guardduty").headers == {"x-amzn-ErrorType": "UnrecognizedClientException"}


def test_expired_token_messages():
    f = AuthFailure("expired_token", "", session_token=TOKEN)
    assert error_for(f, "kms").message == "The security token included in the request is expired"
    assert error_for(f, "sts").code == "ExpiredToken"
    s3 = error_for(f, "s3")
    assert (s3.code, s3.status, s3.message) == (
        "ExpiredToken",
        400,
        "The provided token has expired.",
    )


def test_json_protocols_of_multi_protocol_services():
    f = AuthFailure("signature_mismatch", "x")
    model = service_model("cloudwatch")
    assert auth_error(f, model, "query").code == "SignatureDoesNotMatch"
    assert auth_error(f, model, "json").code == "InvalidSignatureException"
    assert auth_error(f, model, "smithy-rpc-v2-cbor").code == "InvalidSignatureException"


# ----------------------------------------------------------------------------- malformed


def with_authorization(value: str) -> HttpRequest:
    request = capture("kms", "list_keys")
    request.headers["authorization"] = value
    return request


def extract_failure(request: HttpRequest) -> AuthFailure:
    with pytest.raises(AuthFailure) as caught:
        extract_signature(request)
    return caught.value


def test_missing_components():
    f = extract_failure(
        with_authorization("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kms/aws4_request")
    )
    assert f.kind == "incomplete_signature"
    assert "Authorization header requires 'Signature' parameter." in f.message
    assert "Authorization header requires 'SignedHeaders' parameter." in f.message
    assert error_for(f, "kms").code == "IncompleteSignatureException"
    assert error_for(f, "sts").code == "IncompleteSignature"
    assert error_for(f, "s3").code == "AuthorizationHeaderMalformed"


def test_component_without_equal_sign():
    f = extract_failure(
        with_authorization("AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=ab")
    )
    assert "not a valid key=value pair (missing equal-sign)" in f.message


def test_other_authorization_schemes():
    f = extract_failure(with_authorization("AWS AKIDEXAMPLE:c2lnbmF0dXJl"))
    assert f.kind == "incomplete_signature"
    s3 = error_for(f, "s3")
    assert (s3.code, s3.status) == ("InvalidRequest", 400)


def test_scope_checks():
    request = capture("kms", "list_keys")
    original = request.headers["authorization"]
    info = extract_signature(request)
    bad_terminator = original.replace("/aws4_request", "/aws5_request")
    f = extract_failure(with_authorization(bad_terminator))
    assert f.kind == "malformed" and "aws4_request" in f.message
    other_day = (info.amz_date - timedelta(days=1)).strftime("%Y%m%d")
    f = extract_failure(with_authorization(original.replace(f"/{info.date}/", f"/{other_day}/")))
    assert f.kind == "malformed"
    assert f.message.startswith("Date in Credential scope does not match YYYYMMDD")
    f = extract_failure(
        with_authorization(
            original.replace("SignedHeaders=", "SignedHeaders=x-").replace(";host;", ";")
        )
    )
    assert "'Host'" in f.message
    f = extract_failure(
        with_authorization(original.replace(f"Credential={ACCESS_KEY}", "Credential="))
    )
    assert f.kind == "malformed"


def test_s3_requires_content_sha256():
    request = capture("s3", "get_object", {"Bucket": "b", "Key": "k"})
    del request.headers["x-amz-content-sha256"]
    f = extract_failure(request)
    error = error_for(f, "s3")
    assert (error.code, error.message) == (
        "InvalidRequest",
        "Missing required header for this request: x-amz-content-sha256",
    )


def test_s3_rejects_garbage_content_sha256():
    request = capture("s3", "get_object", {"Bucket": "b", "Key": "k"})
    request.headers["x-amz-content-sha256"] = "not-a-hash"
    error = error_for(extract_failure(request), "s3")
    assert error.code == "InvalidArgument"
    assert error.fields["ArgumentName"] == "x-amz-content-sha256"


def test_bad_x_amz_date():
    request = capture("kms", "list_keys")
    request.headers["x-amz-date"] = "2024-01-01T00:00:00Z"
    f = extract_failure(request)
    assert f.kind == "incomplete_signature"
    assert "ISO-8601" in f.message
    assert error_for(f, "s3").code == "AccessDenied"


def test_json_body_signature_covers_target():
    body = json.dumps({"KeyId": "k"}).encode()
    request = AWSRequest(
        "POST", "http://h/", data=body, headers={"X-Amz-Target": "TrentService.DescribeKey"}
    )
    SigV4Auth(Credentials(ACCESS_KEY, SECRET), "kms", "us-east-1").add_auth(request)
    http = to_http(request)
    check(http)
    http.body = json.dumps({"KeyId": "other"}).encode()
    assert failure(http).kind == "signature_mismatch"
