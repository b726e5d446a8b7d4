"""The boundaries of the SigV4 verifier's fast paths and caches.

Each fast path must agree with the general code it short-cuts, on both sides of its boundary;
``test_sigv4_equivalence`` checks whole requests against the pre-optimisation verifier, these
check the pieces directly and the caches' isolation.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote_plus

import botocore.auth
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mamori.gateway import sigv4
from mamori.gateway.auth_errors import AuthFailure, amz_timestamp, max_clock_skew
from mamori.gateway.sigv4 import SignatureInfo, extract_signature, verify
from mamori.protocols.base import HttpRequest

from .sigv4_helpers import ACCESS_KEY, SECRET, capture, to_http

SECRET_B = "a-different-secret-for-the-same-key-00000"
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def signed(
    service: str,
    url: str,
    *,
    secret: str = SECRET,
    region: str = "us-east-1",
    when: datetime | None = None,
    method: str = "GET",
    body: bytes = b"",
    headers: dict | None = None,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> HttpRequest:
    if when is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: when)
    signer_class = S3SigV4Auth if service == "s3" else SigV4Auth
    request = AWSRequest(method, url, data=body, headers=headers or {})
    signer_class(Credentials(ACCESS_KEY, secret), service, region).add_auth(request)
    return to_http(request)


def verdict(request: HttpRequest, secret: str = SECRET, now: datetime | None = None) -> str:
    try:
        info = extract_signature(request)
        verify(
            request,
            info,
            secret,
            now=now or info.amz_date + timedelta(seconds=1),
            max_skew=max_clock_skew(info.service),
            body_hash=None,
        )
    except AuthFailure as failure:
        return failure.kind
    return "ok"


# ----------------------------------------------------------------------------- canonical URI

PATHS = [
    "/",
    "/plain/path-with_unreserved.chars~",
    "/trailing/",
    "/a b/c",
    "/a%20b/c%2Fd",
    "/ünï/日本",
    "/x/./y",
    "/x/../y",
    "/../x",
    "/x/..",
    "/x/.",
    "/.../..a/.b./c.",
    "//double//slashes//",
    "/a+b/c=d;e",
    "/%7E/~",
    "relative/path",
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("service", ["lambda", "s3"])
def test_primary_uri_is_the_general_encoding(path, service):
    general = path if service == "s3" else quote(sigv4._remove_dot_segments(path), safe="/~")
    assert sigv4._primary_uri(path, service) == general
    assert next(sigv4.canonical_uris(path, service)) == general


@pytest.mark.parametrize(
    "path",
    ["/2015-03-31/functions/a%20b/configuration", "/x/./y/../z//w/", "/fn~x", "/ü/日"],
)
def test_non_s3_paths_needing_encoding_or_normalising_verify(path):
    request = signed("lambda", f"http://h{path}")
    assert sigv4._PLAIN_PATH.fullmatch(request.path) is None or path == "/fn~x"
    assert verdict(request) == "ok"
    request.path = request.path.replace("/", "//", 1) if path == "/fn~x" else "/other"
    assert verdict(request) == ("ok" if path == "/fn~x" else "signature_mismatch")


# ----------------------------------------------------------------------------- canonical query

LONG = "v" * 600
QUERIES = [
    "",
    "a=1",
    "b=2&a=1&a=0",
    "e=a+b&f=%2B%20&g=~&h=%7e&i=&j",
    "&&k=&=v",
    "X-Amz-Signature=ab&X-Amz-Date=20240101T000000Z",
    "X%2DAmz%2DSignature=ab&x=1",
    f"long={LONG}&long2={LONG}%20x&{LONG}+k=1",
    "ü=日&%C3%BC=%E6%97%A5",
]


def general_query(query_string: str, presigned: bool) -> str:
    encoded = []
    for pair in query_string.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if presigned and unquote_plus(key) == "X-Amz-Signature":
            continue
        encoded.append(
            (quote(unquote_plus(key), safe="-_.~"), quote(unquote_plus(value), safe="-_.~"))
        )
    return "&".join(f"{k}={v}" for k, v in sorted(encoded))


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("presigned", [False, True])
def test_primary_query_is_the_general_encoding(query, presigned):
    for _ in range(2):  # cold, then from the component cache
        assert sigv4._primary_query(query, presigned) == general_query(query, presigned)
        assert next(sigv4.canonical_query_strings(query, presigned=presigned)) == (
            general_query(query, presigned)
        )


def test_query_values_needing_encoding_verify():
    request = signed("guardduty", "http://h/detector?b=a+b&a=%7E~&c=%2F%20ü&" + LONG + "=1")
    assert verdict(request) == "ok"
    request.query_string = request.query_string.replace("b=a+b", "b=a%20c")
    assert verdict(request) == "signature_mismatch"


# ----------------------------------------------------------------------------- dates


def test_x_amz_date_with_whitespace_verifies_as_before():
    request = capture("kms", "list_keys")
    request.headers["x-amz-date"] = f" {request.headers['x-amz-date']}\t"
    info = extract_signature(request)
    assert info.timestamp == request.headers["x-amz-date"].strip()
    assert verdict(request) == "ok"


@pytest.mark.parametrize(
    "value",
    [
        "20240101".translate(ARABIC_DIGITS) + "T000000Z",  # isdigit() says yes, int() too
        "20241301T000000Z",  # month 13
        "20240101T000000z",
        "20240101T240000Z",
        "²0240101T000000Z",
        "2024-01-01T00:00:00Z",
    ],
)
def test_x_amz_dates_outside_the_cached_form(value):
    request = capture("kms", "list_keys")
    request.headers["x-amz-date"] = value
    parsed = sigv4._parse_basic_date(value)
    try:
        info = extract_signature(request)
    except AuthFailure as failure:
        assert parsed is None or failure.kind == "malformed"  # or a scope mismatch
        if parsed is None:
            assert failure.kind == "incomplete_signature"
            assert failure.message.startswith(
                f"Date must be in ISO-8601 'basic format'. Got '{value}'"
            )
        return
    assert info.amz_date == parsed
    assert info.timestamp == amz_timestamp(parsed)


def test_unicode_digit_date_matches_credential_like_before():
    # The Arabic-Indic spelling of the credential date parses to that same day; its timestamp
    # is in ASCII digits, so the scope check compares it with the ASCII credential date.
    request = capture("kms", "list_keys")
    stamp = request.headers["x-amz-date"]
    request.headers["x-amz-date"] = stamp[:8].translate(ARABIC_DIGITS)
    request.headers["x-amz-date"] += stamp[8:]
    info = extract_signature(request)
    assert info.timestamp == stamp
    assert verdict(request) == "signature_mismatch"  # the header itself is signed as sent


def test_year_below_1000_fails_the_scope_check_as_before():
    # strftime does not pad such a year, so the timestamp never matches a credential date.
    request = capture("kms", "list_keys")
    request.headers["x-amz-date"] = "0999" + request.headers["x-amz-date"][4:]
    stamp = amz_timestamp(sigv4._parse_basic_date(request.headers["x-amz-date"]))
    assert stamp.startswith("999")
    auth = request.headers["authorization"]
    date = auth.split("Credential=")[1].split("/")[1]
    credential_date = request.headers["x-amz-date"][:8]
    request.headers["authorization"] = auth.replace(f"/{date}/", f"/{credential_date}/")
    with pytest.raises(AuthFailure) as caught:
        extract_signature(request)
    assert caught.value.kind == "malformed"
    assert caught.value.message.endswith(f"'{credential_date}' != '{stamp[:8]}', from '{stamp}'.")


def test_date_header_across_midnight(monkeypatch):
    when = datetime(2024, 2, 29, 23, 59, 59)
    request = signed("sts", "http://h/", when=when, monkeypatch=monkeypatch)
    info = extract_signature(request)
    assert (info.date, info.timestamp) == ("20240229", "20240229T235959Z")
    skew = max_clock_skew("sts")
    midnight = datetime(2024, 3, 1, tzinfo=UTC)
    assert verdict(request, now=midnight) == "ok"
    assert verdict(request, now=midnight + skew - timedelta(seconds=2)) == "ok"
    assert verdict(request, now=midnight + skew) == "skewed"
    assert verdict(request, now=when.replace(tzinfo=UTC) - skew) == "ok"
    assert verdict(request, now=when.replace(tzinfo=UTC) - skew - timedelta(seconds=1)) == "skewed"


# ----------------------------------------------------------------------------- caches


def test_a_cached_key_never_verifies_another_secret():
    request = capture("kms", "list_keys")
    assert verdict(request, SECRET) == "ok"  # SECRET's derived key now cached
    assert verdict(request, SECRET_B) == "signature_mismatch"
    assert verdict(request, SECRET) == "ok"
    other = capture("kms", "list_keys", secret=SECRET_B)
    assert verdict(other, SECRET_B) == "ok"  # both cached now
    assert verdict(other, SECRET) == "signature_mismatch"
    assert verdict(request, SECRET_B) == "signature_mismatch"


def test_a_cached_key_is_per_region_service_and_date(monkeypatch):
    day1 = datetime(2024, 1, 1, 12)
    base = signed("kms", "http://h/", when=day1, monkeypatch=monkeypatch)
    assert verdict(base) == "ok"
    for region, service, when in [
        ("eu-west-1", "kms", day1),
        ("us-east-1", "logs", day1),
        ("us-east-1", "kms", day1 + timedelta(days=1)),
    ]:
        request = signed(service, "http://h/", region=region, when=when, monkeypatch=monkeypatch)
        assert verdict(request) == "ok"
        if (region, service) == ("us-east-1", "kms"):
            continue  # the date must match X-Amz-Date: another day cannot be claimed
        # Claiming the cached scope instead of the signed one must fail.
        auth = request.headers["authorization"]
        info = extract_signature(request)
        request.headers["authorization"] = auth.replace(
            f"/{info.date}/{region}/{service}/", f"/{info.date}/us-east-1/kms/"
        )
        assert verdict(request) == "signature_mismatch"
    assert verdict(base, SECRET_B) == "signature_mismatch"


def test_keyed_hmac_matches_hmac_of_the_key():
    key = sigv4.signing_key(SECRET, "20240101", "us-east-1", "kms")
    keyed = sigv4._keyed_hmac(key)
    assert keyed is sigv4._keyed_hmac(key)
    mac = keyed.copy()
    mac.update(b"string to sign")
    assert mac.hexdigest() == sigv4.sign(key, "string to sign")
    assert keyed.copy().hexdigest() == sigv4.sign(key, "")  # the cached state is never fed


def test_caches_stay_bounded():
    for i in range(sigv4._CACHE_SIZE + 5):
        sigv4._keyed_hmac(hashlib.sha256(str(i).encode()).digest())
        sigv4._basic_date(f"2024010{1 + i % 9}T{i // 3600 % 24:02}{i // 60 % 60:02}{i % 60:02}Z")
        sigv4._parse_signed_headers(f"host;x-{i}", presigned=False)
    for cache in (sigv4._KEYED, sigv4._BASIC_DATES, sigv4._SIGNED_HEADERS):
        assert 0 < len(cache) <= sigv4._CACHE_SIZE
    request = capture("kms", "list_keys")
    assert verdict(request) == "ok"


def test_long_request_strings_are_not_kept():
    headers = {f"X-Meta-{i:03}": f"value {i}" for i in range(100)}
    request = signed("kms", "http://h/", headers=headers)
    signed_headers = request.headers["authorization"].split("SignedHeaders=")[1].split(",")[0]
    assert len(signed_headers) > sigv4._CACHED_VALUE_MAX
    assert verdict(request) == verdict(request) == "ok"
    assert signed_headers not in sigv4._SIGNED_HEADERS
    value = "a%20b" * 200
    before = sigv4._recode.cache_info().currsize
    assert sigv4._canonical_component(value) == quote(unquote_plus(value), safe="-_.~")
    assert sigv4._recode.cache_info().currsize == before


def test_signed_headers_cache_keeps_the_host_check():
    request = capture("kms", "list_keys")
    auth = request.headers["authorization"]
    signed_headers = auth.split("SignedHeaders=")[1].split(",")[0]
    assert verdict(request) == "ok"  # now cached
    request.headers["authorization"] = auth.replace(
        f"SignedHeaders={signed_headers}", "SignedHeaders=" + signed_headers.replace("host", "x-h")
    )
    assert verdict(request) == "malformed"


# ----------------------------------------------------------------------------- Authorization


@pytest.mark.parametrize(
    "spelling",
    [
        lambda a: a,
        lambda a: a.replace(", ", ","),
        lambda a: a.replace(", ", " ,\t"),
        lambda a: "  " + a.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256   ") + " ",
        lambda a: a.replace("Credential=", "Credential = "),
    ],
)
def test_authorization_spellings_verify(spelling):
    request = capture("sts", "get_caller_identity")
    fast = sigv4._AUTHORIZATION.fullmatch(request.headers["authorization"])
    assert fast is not None
    request.headers["authorization"] = spelling(request.headers["authorization"])
    assert verdict(request) == "ok"


def test_components_in_another_order_verify():
    request = capture("sts", "get_caller_identity")
    credential, signed_headers, signature = (
        part.split("=", 1)[1]
        for part in request.headers["authorization"].split(" ", 1)[1].split(", ")
    )
    request.headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Signature={signature}, Credential={credential}, "
        f"SignedHeaders={signed_headers}"
    )
    assert sigv4._AUTHORIZATION.fullmatch(request.headers["authorization"]) is None
    assert verdict(request) == "ok"


def test_access_key_with_slash_takes_the_last_four_parts(monkeypatch):
    request = capture("kms", "list_keys")
    request.headers["authorization"] = request.headers["authorization"].replace(
        f"Credential={ACCESS_KEY}/", "Credential=AK/ID/20240101/"
    )
    info = extract_signature(request)
    assert info.access_key_id == "AK/ID/20240101"
    assert info.service == "kms"


# ----------------------------------------------------------------------------- SignatureInfo


def test_fast_signature_info_equals_the_constructor():
    request = capture("kms", "list_keys")
    info = extract_signature(request)
    values = {f.name: getattr(info, f.name) for f in fields(SignatureInfo)}
    built = SignatureInfo(**values)
    assert built == info and hash(built) == hash(info)
    assert set(vars(info)) == {f.name for f in fields(SignatureInfo)} | {"timestamp", "scope"}
    assert (built.timestamp, built.scope) == (info.timestamp, info.scope)
    with pytest.raises(AttributeError):
        info.region = "x"  # still frozen


def test_replaced_signature_info_recomputes_timestamp_and_scope():
    info = extract_signature(capture("kms", "list_keys"))
    moved = replace(info, amz_date=datetime(2024, 1, 1, 1, 2, 3, tzinfo=UTC), region="eu-west-1")
    assert moved.timestamp == "20240101T010203Z"
    assert moved.scope == f"{info.date}/eu-west-1/kms/aws4_request"


def test_max_clock_skew_table():
    for name in ("s3", "sts", "iam"):
        assert max_clock_skew(name) == timedelta(minutes=15)
    for name in ("kms", "logs", "S3", "", "s3-control"):
        assert max_clock_skew(name) == timedelta(minutes=5)


AUTHORIZATIONS = [
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/us-east-1/sts/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "ab" * 32,
    # an access key id with "/" (the scope is its last four parts)
    "AWS4-HMAC-SHA256 Credential=AKID/WITH/SLASH/20261207/eu-west-1/kms/aws4_request,"
    "SignedHeaders=host, Signature=" + "cd" * 32,
    # non-ASCII digits in the date, spaces and commas in the key: the regex decides
    "AWS4-HMAC-SHA256 Credential=AKID/2026120\u0667/us-east-1/sts/aws4_request, "
    "SignedHeaders=host, Signature=00",
    "AWS4-HMAC-SHA256 Credential=AK ID/20261207/us-east-1/sts/aws4_request, SignedHeaders=host, "
    "Signature=00",
    "AWS4-HMAC-SHA256 Credential=AK,ID/20261207/us-east-1/sts/aws4_request",
    "AWS4-HMAC-SHA256 Credential=AKID/2026127/us-east-1/sts/aws4_request",
    "AWS4-HMAC-SHA256 Credential=AKID/20261207//sts/aws4_request",
    "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1",
    # a first claim that fails, a second that matches
    "Credential=bad Credential=AKID/20261207/ap-south-1/s3/aws4_request",
    "AWS4-HMAC-SHA256 Credential=" + "A" * 300 + "/20261207/us-east-1/sts/aws4_request",
    "AWS4-HMAC-SHA256 SignedHeaders=host",
]


@pytest.mark.parametrize("authorization", AUTHORIZATIONS)
def test_credential_scope_without_the_regex_agrees_with_it(authorization):
    from mamori.gateway.routing import CREDENTIAL_SCOPE, credential_scope

    match = CREDENTIAL_SCOPE.search(authorization)
    expected = match.groups() if match else None
    request = HttpRequest(method="GET", path="/", headers={"authorization": authorization})
    assert credential_scope(request) == expected


@pytest.mark.parametrize("authorization", AUTHORIZATIONS[:2])
def test_the_plain_key_header_pattern_finds_what_the_general_one_does(authorization):
    plain = sigv4._AUTHORIZATION_PLAIN_KEY.fullmatch(authorization)
    general = sigv4._AUTHORIZATION.fullmatch(authorization)
    assert general is not None
    assert plain is None or plain.groups() == general.groups()
    assert (plain is None) == ("/WITH/" in authorization)
