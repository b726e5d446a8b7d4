"""The optimised SigV4 verifier decides and words everything as the pre-optimisation one did.

``sigv4_reference`` is the verifier as it was before its fast paths. Every case here runs through
both (``extract_signature`` then ``verify``) and must end the same way: the same
``SignatureInfo`` fields, then acceptance, or the same exception (``AuthFailure`` kind, message
and context). The cases are requests botocore signed, then mutated along every boundary of a
fast path (Authorization header spelling, credential scope, dates, SignedHeaders, payload hash,
paths and query strings, presign parameters), each tried as sent (usually a mismatch, whose
error carries the canonical request) and re-signed so that it verifies (for every candidate
canonical request the reference would accept), at several server times and with two secrets.
The optimised verifier runs each case twice, so its caches are exercised cold and warm.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta
from email.utils import format_datetime
from urllib.parse import quote

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from mamori.gateway import sigv4 as fast
from mamori.gateway.auth_errors import AuthFailure
from mamori.protocols.base import HttpRequest

from . import sigv4_reference as reference
from .sigv4_helpers import ACCESS_KEY, SECRET, TOKEN, capture, client, presigned_to_http, to_http

OTHER_SECRET = "another/secret+key-000000000000000000000"
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def copy_of(request: HttpRequest, **changes) -> HttpRequest:
    fields = {
        "method": request.method,
        "path": request.path,
        "query_string": request.query_string,
        "headers": dict(request.headers),
        "body": request.body,
    }
    fields.update(changes)
    return HttpRequest(**fields)


# ----------------------------------------------------------------------------- outcomes


def describe(error: Exception) -> tuple:
    if isinstance(error, AuthFailure):
        return (AuthFailure, error.kind, error.message, error.context)
    return (type(error), str(error))


def info_fields(info) -> tuple:
    values = {f.name: getattr(info, f.name) for f in dataclasses.fields(info)}
    return (values, info.timestamp, info.scope, info.streaming)


def outcomes(module, request: HttpRequest, secret: str, times, body_hashes) -> list:
    try:
        info = module.extract_signature(copy_of(request))
    except Exception as error:  # whatever it is, both must raise it
        return [("extract", describe(error))]
    if info is None:
        return [("anonymous",)]
    results: list = [("extracted", info_fields(info))]
    checks = [(now, max_skew, None) for now, max_skew in times(info)]
    now, max_skew = times(info)[0]
    checks += [(now, max_skew, body_hash) for body_hash in body_hashes]
    for now, max_skew, body_hash in checks:
        try:
            module.verify(
                copy_of(request), info, secret, now=now, max_skew=max_skew, body_hash=body_hash
            )
        except Exception as error:
            results.append(("rejected", describe(error)))
        else:
            results.append(("accepted",))
    return results


def default_times(info):
    """Server times on both sides of each boundary the request's dates define."""
    amz = info.amz_date
    skews = [reference.max_clock_skew(info.service), timedelta(minutes=5)]
    out = [(amz + timedelta(seconds=1), skews[0])]
    for skew in skews:
        for delta in (skew - timedelta(seconds=1), skew, skew + timedelta(seconds=1)):
            out.append((amz + delta, skew))
            out.append((amz - delta, skew))
    if info.expires is not None:
        for delta in (-1, 0, 1):
            out.append((amz + timedelta(seconds=info.expires + delta), skews[0]))
    # A naive "now" is taken as UTC.
    out.append((amz.replace(tzinfo=None) + timedelta(seconds=3), skews[0]))
    return out


def assert_same(request: HttpRequest, secrets=(SECRET, OTHER_SECRET)) -> list:
    """Both verifiers end ``request`` the same way; returns the reference's outcomes."""
    body_hashes = [hashlib.sha256(request.body).hexdigest(), "0" * 64, "0" * 63]
    all_expected = []
    for secret in secrets:
        expected = outcomes(reference, request, secret, default_times, body_hashes)
        for attempt in ("cold", "warm"):
            got = outcomes(fast, request, secret, default_times, body_hashes)
            assert got == expected, (attempt, secret, request)
        all_expected.append(expected)
    return all_expected


def resigned(request: HttpRequest) -> list[HttpRequest]:
    """``request`` with a signature the reference accepts, once per canonical request candidate
    (so the fallbacks are exercised too); [] when the reference cannot extract it."""
    try:
        info = reference.extract_signature(copy_of(request))
    except AuthFailure:
        return []
    if info is None or not info.signature:
        return []
    key = reference.signing_key(SECRET, info.date, info.region, info.service)
    out = []
    for creq in reference.canonical_requests(copy_of(request), info, info.payload_hash):
        sts = reference.string_to_sign(info.timestamp, info.scope, creq)
        signature = reference.sign(key, sts)
        if info.presigned:
            query = request.query_string.replace(
                f"X-Amz-Signature={info.signature}", f"X-Amz-Signature={signature}"
            )
            if query == request.query_string:
                continue
            out.append(copy_of(request, query_string=query))
        else:
            authorization = request.headers["authorization"]
            if info.signature not in authorization:
                continue
            headers = dict(request.headers)
            headers["authorization"] = authorization.replace(info.signature, signature)
            out.append(copy_of(request, headers=headers))
    return out


def check_variants(variants: list[HttpRequest]) -> int:
    """Run every variant as sent and re-signed; returns how many were accepted somewhere."""
    accepted = 0
    for variant in variants:
        for candidate in [variant, *resigned(variant)]:
            results = assert_same(candidate, secrets=(SECRET,))
            accepted += any(r == ("accepted",) for r in results[0])
        assert_same(variant, secrets=(OTHER_SECRET,))
    return accepted


# ----------------------------------------------------------------------------- mutations


def with_header(request: HttpRequest, name: str, value: str | None) -> HttpRequest:
    headers = dict(request.headers)
    if value is None:
        headers.pop(name, None)
    else:
        headers[name] = value
    return copy_of(request, headers=headers)


def authorization_variants(request: HttpRequest) -> list[HttpRequest]:
    auth = request.headers["authorization"]
    info = reference.extract_signature(copy_of(request))
    credential = f"{info.access_key_id}/{info.date}/{info.region}/{info.service}/aws4_request"
    signed = ";".join(info.signed_headers)
    sig = info.signature
    spellings = [
        auth,
        f"  {auth}\t",
        auth.replace(", ", ","),
        auth.replace(", ", " , "),
        auth.replace(", ", ",  "),
        auth.replace(", ", ",\t"),
        auth.replace(", ", ",\n"),
        auth.replace(", ", ",\x1c"),
        auth.replace(", ", ",\xa0"),
        auth.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256  "),
        auth.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256\t"),
        auth.replace("AWS4-HMAC-SHA256", "aws4-hmac-sha256"),
        auth.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"),
        auth.replace("AWS4-HMAC-SHA256", "AWS"),
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 ",
        "",
        "Bearer abc",
        f"AWS4-HMAC-SHA256 Signature={sig}, SignedHeaders={signed}, Credential={credential}",
        f"AWS4-HMAC-SHA256 SignedHeaders={signed}, Credential={credential}, Signature={sig}",
        auth + ",",
        auth + ", ",
        auth + ", Foo=bar",
        auth + f", Credential={credential}",
        auth.replace("Credential=", "Credential=x, Credential="),
        auth.replace("Credential=", "credential="),
        auth.replace("Credential=", "Credential = "),
        auth.replace("Credential=", "Credential ="),
        auth.replace("Signature=", "Signature= "),
        auth.replace("SignedHeaders=", "SignedHeaders"),
        auth.replace(f"Signature={sig}", "Signature="),
        auth.replace(f", Signature={sig}", ""),
        auth.replace(f"Signature={sig}", f"Signature={sig.upper()}"),
        auth.replace(f"Signature={sig}", f"Signature={sig}="),
        auth.replace(f"Signature={sig}", f"Signature={sig[:-1]}"),
        auth.replace(f"Signature={sig}", f"Signature={sig[:-1]}é"),
        auth.replace(f"Signature={sig}", f"Signature={sig} "),
        auth.replace(f"Signature={sig}", f"Signature= {sig}"),
    ]
    scope = f"/{info.date}/{info.region}/{info.service}/aws4_request"
    for replacement in [
        f"AK/ID{scope}",
        f"AK/ID/20240101{scope}",
        f"{ACCESS_KEY}/x{scope}",
        scope,
        f"AKIÄ{scope}",
        f"AK,ID{scope}",
        f"AK=ID{scope}",
        f"AK ID{scope}",
        f"{ACCESS_KEY}/{info.date.translate(ARABIC_DIGITS)}/{info.region}/{info.service}"
        "/aws4_request",
        f"{ACCESS_KEY}/{info.date}1/{info.region}/{info.service}/aws4_request",
        f"{ACCESS_KEY}/{info.date[:-1]}/{info.region}/{info.service}/aws4_request",
        f"{ACCESS_KEY}/20000101/{info.region}/{info.service}/aws4_request",
        f"{ACCESS_KEY}/{info.date}//{info.service}/aws4_request",
        f"{ACCESS_KEY}/{info.date}/{info.region}//aws4_request",
        f"{ACCESS_KEY}/{info.date}/{info.region}/{info.service}/aws4_request/",
        f"{ACCESS_KEY}/{info.date}/{info.region}/{info.service}/aws4_requesT",
        f"{ACCESS_KEY}/{info.date}/{info.region}/{info.service}",
        f"{ACCESS_KEY}/{info.date}/{info.region}/x/{info.service}/aws4_request",
        f"{ACCESS_KEY}/{info.date}/eu-west-1/{info.service}/aws4_request",
        f"{ACCESS_KEY}/{info.date}/{info.region}/ëu/aws4_request",
    ]:
        spellings.append(auth.replace(f"Credential={credential}", f"Credential={replacement}"))
    for replacement in [
        signed.upper(),
        signed.replace(";", " ; "),
        signed + ";",
        ";" + signed,
        signed.replace(";", ";;"),
        signed.replace("host", "Host"),
        signed.replace("host;", "").replace(";host", ""),
        signed + ";host",
        signed + ";x-not-sent",
        "host",
        "x-host",
    ]:
        spellings.append(auth.replace(f"SignedHeaders={signed}", f"SignedHeaders={replacement}"))
    return [with_header(request, "authorization", value) for value in spellings]


def date_variants(request: HttpRequest) -> list[HttpRequest]:
    stamp = request.headers["x-amz-date"]
    info = reference.extract_signature(copy_of(request))
    out = [
        with_header(request, "x-amz-date", f" {stamp}\t"),
        with_header(request, "x-amz-date", stamp.lower()),
        with_header(request, "x-amz-date", stamp.translate(ARABIC_DIGITS)),
        with_header(request, "x-amz-date", stamp[:4] + "13" + stamp[6:]),
        with_header(request, "x-amz-date", stamp[:-1]),
        with_header(request, "x-amz-date", stamp + "Z"),
        with_header(request, "x-amz-date", stamp.replace("T", " ")),
        with_header(request, "x-amz-date", ""),
        with_header(request, "x-amz-date", info.amz_date.isoformat()),
        with_header(request, "x-amz-date", stamp[:8] + "T240000Z"),
        with_header(request, "x-amz-date", "²" + stamp[1:]),
    ]
    rfc1123 = format_datetime(info.amz_date, usegmt=True)
    without = with_header(request, "x-amz-date", None)
    out += [
        without,
        with_header(without, "date", rfc1123),
        with_header(without, "date", rfc1123.replace("GMT", "-0000")),
        with_header(without, "date", rfc1123.replace("GMT", "+0100")),
        with_header(without, "date", "not a date"),
        with_header(without, "date", ""),
        with_header(with_header(request, "x-amz-date", ""), "date", rfc1123),
    ]
    # A year below 1000 (strftime does not pad it): the credential date as sent.
    old = "0999" + stamp[4:]
    auth = request.headers["authorization"].replace(f"/{info.date}/", f"/{old[:8]}/")
    out.append(with_header(with_header(request, "x-amz-date", old), "authorization", auth))
    return out


def payload_variants(request: HttpRequest) -> list[HttpRequest]:
    declared = request.headers.get("x-amz-content-sha256")
    digest = hashlib.sha256(request.body).hexdigest()
    values = [
        None,
        digest,
        digest.upper(),
        f" {digest} ",
        digest[:-1],
        digest[:-1] + "g",
        digest[:-1] + "٣",
        "UNSIGNED-PAYLOAD",
        "unsigned-payload",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        " STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
        "",
        "garbage",
    ]
    out = [with_header(request, "x-amz-content-sha256", v) for v in values if v != declared]
    out.append(copy_of(request, body=request.body + b"!"))
    return out


def target_variants(request: HttpRequest) -> list[HttpRequest]:
    """Paths, query strings, methods and headers changed after signing."""
    out = [
        copy_of(request, method=request.method.lower()),
        copy_of(request, path=""),
        copy_of(request, path=request.path + "/"),
        copy_of(request, path="/./" + request.path.lstrip("/")),
        copy_of(request, path=request.path.replace("/", "//", 1)),
        copy_of(request, query_string=request.query_string + "&x=1"),
        copy_of(request, query_string="b=2&a=1&&c&=v&d=%7e&e=a+b&f=%2B%20"),
        with_header(request, "host", None),
        with_header(request, "host", request.headers.get("host", "") + "  "),
    ]
    if "content-type" in request.headers:
        value = request.headers["content-type"]
        out.append(with_header(request, "content-type", f"  {value.replace(' ', '   ')}\t"))
    return out


# ----------------------------------------------------------------------------- requests

KEYS = [
    "plain.txt",
    "with space/and  two",
    "ünïcödé/日本語.txt",
    "plus+sign",
    "percent%20literal%",
    "tilde~and-_.",
    "double//slash//",
    "/leading-slash",
    "dots/./and/../x",
    "reserved!'()*&$@=;:,?#[]",
]

HEADER_SIGNED = {
    "kms encrypt": lambda: capture("kms", "encrypt", {"KeyId": "alias/x", "Plaintext": b"p"}),
    "kms session token": lambda: capture("kms", "list_keys", token=TOKEN),
    "sts form": lambda: capture("sts", "get_caller_identity"),
    "sts assume role": lambda: capture(
        "sts",
        "assume_role",
        {"RoleArn": "arn:aws:iam::000000000000:role/r", "RoleSessionName": "s+ / x"},
    ),
    "iam form": lambda: capture("iam", "list_users", {"PathPrefix": "/a b/"}),
    "guardduty query": lambda: capture("guardduty", "list_detectors", {"MaxResults": 5}),
    "guardduty path": lambda: capture(
        "guardduty", "get_findings", {"DetectorId": "d/1 2", "FindingIds": ["f"]}
    ),
    "lambda path": lambda: capture("lambda", "get_function", {"FunctionName": "my fn:$LATEST"}),
    "s3 put": lambda: capture("s3", "put_object", {"Bucket": "b", "Key": "k", "Body": b"body"}),
    "s3 list": lambda: capture(
        "s3",
        "list_objects_v2",
        {"Bucket": "b", "Prefix": "a b+c/%/ü~", "Delimiter": "/", "StartAfter": "x=y&z"},
    ),
    "s3 unsigned": lambda: capture(
        "s3",
        "get_object",
        {"Bucket": "b", "Key": "k"},
        https=True,
        config=Config(s3={"payload_signing_enabled": False}),
    ),
}
HEADER_SIGNED.update(
    {
        f"s3 get {key!r}": (
            lambda key=key: capture("s3", "get_object", {"Bucket": "b", "Key": key})
        )
        for key in KEYS
    }
)


def raw_signed(signer, method: str, url: str, body: bytes = b"", headers=None) -> HttpRequest:
    request = AWSRequest(method, url, data=body, headers=headers or {})
    signer.add_auth(request)
    return to_http(request)


CREDENTIALS = Credentials(ACCESS_KEY, SECRET)
RAW_SIGNED = {
    "raw rest path": lambda: raw_signed(
        SigV4Auth(CREDENTIALS, "lambda", "us-east-1"),
        "GET",
        "http://h/2015-03-31/functions/a%20b%2Fc/./x/../configuration//",
    ),
    "raw rest plain path": lambda: raw_signed(
        SigV4Auth(CREDENTIALS, "lambda", "us-east-1"), "GET", "http://h/2015-03-31/functions/f~x"
    ),
    "raw rest dots": lambda: raw_signed(
        SigV4Auth(CREDENTIALS, "guardduty", "us-east-1"), "GET", "http://h/.../..a/.b./c"
    ),
    "raw rest query": lambda: raw_signed(
        SigV4Auth(CREDENTIALS, "guardduty", "us-east-1"),
        "GET",
        "http://h/detector?b=2&a=1&a=0&e=a+b&f=%2B%20&g=~&h=%7E&i=",
    ),
    "raw s3 key": lambda: raw_signed(
        S3SigV4Auth(CREDENTIALS, "s3", "eu-west-1"), "PUT", "http://h/b/k%20x", b"data"
    ),
}

PRESIGNED = {
    f"s3 presigned get {key!r}": (
        lambda key=key: presigned_to_http(
            client("s3", config=Config(signature_version="s3v4")).generate_presigned_url(
                "get_object", {"Bucket": "b", "Key": key}, ExpiresIn=300
            )
        )
    )
    for key in KEYS[:6]
}
PRESIGNED.update(
    {
        "s3 presigned token": lambda: presigned_to_http(
            client(
                "s3", token=TOKEN, config=Config(signature_version="s3v4")
            ).generate_presigned_url("get_object", {"Bucket": "b", "Key": "k"})
        ),
        "s3 presigned put": lambda: presigned_to_http(
            client("s3", config=Config(signature_version="s3v4")).generate_presigned_url(
                "put_object", {"Bucket": "b", "Key": "up load", "ContentType": "text/plain"}
            ),
            "PUT",
            b"body",
            {"content-type": "text/plain"},
        ),
        "sts presigned": lambda: presigned_to_http(
            client("sts", token=TOKEN).generate_presigned_url(
                "get_caller_identity", ExpiresIn=900, HttpMethod="GET"
            )
        ),
        "raw sts presigned": lambda: to_http(
            _signed_query(
                SigV4QueryAuth(CREDENTIALS, "sts", "eu-west-1", expires=60),
                "http://h/?Action=GetCallerIdentity&Version=2011-06-15",
            )
        ),
        "raw s3 presigned": lambda: to_http(
            _signed_query(
                S3SigV4QueryAuth(CREDENTIALS, "s3", "eu-west-1", expires=60), "http://h/b/a%2Bb"
            )
        ),
    }
)


def _signed_query(signer, url: str) -> AWSRequest:
    request = AWSRequest("GET", url)
    signer.add_auth(request)
    return request


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", sorted(HEADER_SIGNED) + sorted(RAW_SIGNED))
def test_header_signed_requests_end_the_same(name):
    request = {**HEADER_SIGNED, **RAW_SIGNED}[name]()
    assert assert_same(request)[0][-1] != ("rejected",)
    variants = (
        authorization_variants(request)
        + date_variants(request)
        + payload_variants(request)
        + target_variants(request)
    )
    accepted = check_variants(variants)
    assert accepted > len(variants) // 4  # the re-signed variants verify


def query_param_variants(request: HttpRequest) -> list[HttpRequest]:
    pairs = [pair.partition("=") for pair in request.query_string.split("&")]
    names = [name for name, _, _ in pairs]

    def replaced(name: str, value: str | None) -> HttpRequest:
        out = []
        for key, eq, old in pairs:
            if key != name:
                out.append(f"{key}{eq}{old}")
            elif value is not None:
                out.append(f"{key}={value}")
        return copy_of(request, query_string="&".join(out))

    values = dict((name, value) for name, _, value in pairs)
    date = values.get("X-Amz-Date", "")
    credential = values.get("X-Amz-Credential", "")
    out = [
        copy_of(request, query_string=request.query_string + "&X-Amz-Date=20000101T000000Z"),
        copy_of(request, query_string="X-Amz-Date=20000101T000000Z&" + request.query_string),
        copy_of(request, query_string=request.query_string + f"&X-Amz-Content-Sha256={'a' * 64}"),
        copy_of(
            request, query_string=request.query_string + "&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD"
        ),
        copy_of(request, query_string=request.query_string + "&x=a+b%2f%7e~"),
        copy_of(request, query_string=request.query_string.replace("%2F", "%2f")),
        copy_of(request, query_string=request.query_string.replace("X-Amz-", "x-amz-")),
        copy_of(request, query_string=request.query_string + "&X%2DAmz%2DSignature=00"),
        with_header(request, "x-amz-security-token", TOKEN),
        with_header(request, "x-amz-content-sha256", "e" * 64),
    ]
    for name in names:
        out.append(replaced(name, None))
        out.append(replaced(name, ""))
    for value in (
        "",
        "-1",
        "0",
        "604800",
        "604801",
        "abc",
        "1.5",
        "+5",
        " 5",
        "5".translate(ARABIC_DIGITS),
    ):
        out.append(replaced("X-Amz-Expires", quote(value)))
    for value in (
        date.lower(),
        "%20" + date,
        date.translate(ARABIC_DIGITS),
        date[:4] + "13" + date[6:],
        "20000101T000000Z",
        "0999" + date[4:],
    ):
        out.append(replaced("X-Amz-Date", value))
    for value in (
        credential.replace("%2F", "/"),
        credential.replace("aws4_request", "aws4_reques"),
        credential.replace(ACCESS_KEY, ""),
        "AK%2FID%2F" + credential.split("%2F", 1)[1],
        credential + "%2F",
        "garbage",
    ):
        out.append(replaced("X-Amz-Credential", value))
    for value in ("host", "HOST", "content-type%3Bhost", "x-other", "host%3Bx-not-sent"):
        out.append(replaced("X-Amz-SignedHeaders", value))
    out.append(replaced("X-Amz-Algorithm", "AWS4-HMAC-SHA1"))
    out.append(replaced("X-Amz-Signature", "ZZ"))
    return out


@pytest.mark.parametrize("name", sorted(PRESIGNED))
def test_presigned_requests_end_the_same(name):
    request = PRESIGNED[name]()
    assert_same(request)
    variants = query_param_variants(request) + target_variants(request)
    accepted = check_variants(variants)
    assert accepted > 0


def test_requests_without_a_signature_end_the_same():
    for query in ("", "prefix=X-Amz-", "X-Amz-Foo=1", "x-amz-date=1", "a=b&X-Amz-Signature="):
        request = HttpRequest("GET", "/b/k", query, {"host": "h"})
        assert_same(request)
