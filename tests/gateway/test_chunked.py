"""aws-chunked bodies: AWS's published vectors, real botocore uploads, and ways to break one."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mamori.errors import AwsError
from mamori.gateway.chunked import (
    CHECKSUM_ALGORITHMS,
    AwsChunkedDecoder,
    decode_body,
    decode_stream,
    decoder_for,
)
from mamori.gateway.sigv4 import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
    extract_signature,
    signing_key,
    verify,
)
from mamori.protocols.base import HttpRequest

from .sigv4_helpers import ACCESS_KEY, SECRET, capture, now_utc, signed_chunked_body, to_http

# ---------------------------------------------------------------- AWS's published examples
# "Signature Calculations for the Authorization Header: Transferring Payload in Multiple
# Chunks" and "... Including Trailing Headers" in the Amazon S3 API reference.

DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_NOW = datetime(2013, 5, 24, 0, 0, 30, tzinfo=UTC)
DOC_DATA = b"a" * 66560


def doc_request(mode: str, signed_headers: str, seed: str, **extra: str) -> HttpRequest:
    headers = {
        "host": "s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": mode,
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "content-length": "66824",
        **extra,
        "authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
        f"s3/aws4_request,SignedHeaders={signed_headers},Signature={seed}",
    }
    return HttpRequest("PUT", "/examplebucket/chunkObject.txt", "", headers)


def doc_body(signatures: list[str], trailer: bytes = b"") -> bytes:
    return (
        b"10000;chunk-signature=%s\r\n" % signatures[0].encode()
        + DOC_DATA[:65536]
        + b"\r\n400;chunk-signature=%s\r\n" % signatures[1].encode()
        + DOC_DATA[65536:]
        + b"\r\n0;chunk-signature=%s\r\n" % signatures[2].encode()
        + trailer
        + b"\r\n"
    )


SIGNED_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
SIGNED_CHUNKS = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
]
TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
TRAILER_CHUNKS = [
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
]
TRAILER_BLOCK = (
    b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
    b"x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n"
)


def verified(request: HttpRequest, secret: str, now: datetime):
    info = extract_signature(request)
    verify(request, info, secret, now=now, max_skew=timedelta(minutes=15), body_hash=None)
    return info


def test_aws_signed_chunk_example():
    request = doc_request(
        STREAMING_SIGNED,
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-storage-class",
        SIGNED_SEED,
    )
    info = verified(request, DOC_SECRET, DOC_NOW)
    decoder = decoder_for(request, info, DOC_SECRET)
    assert decode_body(doc_body(SIGNED_CHUNKS), decoder) == DOC_DATA


@pytest.mark.skipif("crc32c" not in CHECKSUM_ALGORITHMS, reason="no crc32c implementation")
def test_aws_signed_trailer_example():
    request = doc_request(
        STREAMING_SIGNED_TRAILER,
        "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
        "x-amz-storage-class;x-amz-trailer",
        TRAILER_SEED,
        **{"x-amz-trailer": "x-amz-checksum-crc32c"},
    )
    info = verified(request, DOC_SECRET, DOC_NOW)
    decoder = decoder_for(request, info, DOC_SECRET)
    assert decode_body(doc_body(TRAILER_CHUNKS, TRAILER_BLOCK), decoder) == DOC_DATA
    assert decoder.trailers == {"x-amz-checksum-crc32c": "sOO8/Q=="}


def test_aws_example_with_a_bad_chunk_signature():
    request = doc_request(
        STREAMING_SIGNED,
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-storage-class",
        SIGNED_SEED,
    )
    info = verified(request, DOC_SECRET, DOC_NOW)
    body = doc_body(SIGNED_CHUNKS).replace(b"a" * 10, b"b" + b"a" * 9, 1)
    with pytest.raises(AwsError) as caught:
        decode_body(body, decoder_for(request, info, DOC_SECRET))
    assert (caught.value.code, caught.value.status) == ("SignatureDoesNotMatch", 403)


# ---------------------------------------------------------------- botocore's real PutObject


def put_object(body: bytes, **params) -> HttpRequest:
    """PutObject exactly as current botocore sends it over HTTPS: aws-chunked with a trailer."""
    return capture(
        "s3", "put_object", {"Bucket": "b", "Key": "k e/y", "Body": body, **params}, https=True
    )


def decode_request(request: HttpRequest, pieces: int | None = None) -> tuple[bytes, dict]:
    info = verified(request, SECRET, now_utc())
    decoder = decoder_for(request, info, SECRET)
    assert decoder is not None
    if pieces is None:
        return decode_body(request.body, decoder), decoder.trailers
    out = bytearray()
    for i in range(0, len(request.body), pieces):
        out += decoder.feed(request.body[i : i + pieces])
    return bytes(out), decoder.finish()


def test_botocore_put_object_unsigned_trailer_crc32():
    body = bytes(range(256)) * 40
    request = put_object(body)
    assert request.headers["x-amz-content-sha256"] == STREAMING_UNSIGNED_TRAILER
    assert request.headers["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert request.headers["content-encoding"] == "aws-chunked"
    data, trailers = decode_request(request)
    assert data == body
    expected = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert trailers == {"x-amz-checksum-crc32": expected}


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"])
def test_botocore_put_object_each_checksum(algorithm):
    if algorithm.lower() not in CHECKSUM_ALGORITHMS:
        pytest.skip(f"no {algorithm} implementation installed")
    body = b"hello world\n" * 1000
    try:
        request = put_object(body, ChecksumAlgorithm=algorithm)
    except Exception as exc:  # botocore without awscrt refuses CRC32C/CRC64NVME itself
        pytest.skip(f"botocore cannot compute {algorithm}: {exc}")
    assert request.headers["x-amz-trailer"] == f"x-amz-checksum-{algorithm.lower()}"
    data, trailers = decode_request(request, pieces=7)
    assert data == body
    assert f"x-amz-checksum-{algorithm.lower()}" in trailers


def test_botocore_put_object_multiple_chunks_fed_in_odd_pieces():
    body = hashlib.sha256(b"seed").digest() * 100_000  # 3.2 MB: four 1 MiB chunks
    request = put_object(body)
    for pieces in (1 << 20, 65537, 4093):
        data, _ = decode_request(request, pieces)
        assert data == body


def test_botocore_put_object_empty_body():
    request = put_object(b"")
    data, trailers = decode_request(request)
    assert data == b""
    assert trailers == {"x-amz-checksum-crc32": "AAAAAA=="}


def test_decode_stream():
    body = b"x" * 300_000
    request = put_object(body)
    info = verified(request, SECRET, now_utc())

    async def source():
        for i in range(0, len(request.body), 10_000):
            yield request.body[i : i + 10_000]

    async def run():
        return b"".join(
            [p async for p in decode_stream(source(), decoder_for(request, info, SECRET))]
        )

    assert asyncio.run(run()) == body


def test_not_chunked_means_no_decoder():
    request = capture("s3", "put_object", {"Bucket": "b", "Key": "k", "Body": b"abc"})
    info = verified(request, SECRET, now_utc())
    assert decoder_for(request, info, SECRET) is None


def expect(code: str, status: int = 400):
    return pytest.raises(AwsError, match=f"^{code}:")


def test_bad_trailer_checksum():
    request = put_object(b"some object data")
    request.body = request.body.replace(b"some", b"SOME")
    with expect("BadDigest") as caught:
        decode_request(request)
    assert caught.value.message == "The CRC32 you specified did not match the calculated checksum."


def test_malformed_trailer_value():
    request = put_object(b"data")
    start = request.body.index(b"x-amz-checksum-crc32:")
    request.body = request.body[:start] + b"x-amz-checksum-crc32:!!notbase64\r\n\r\n"
    with expect("InvalidRequest"):
        decode_request(request)


def test_missing_declared_trailer():
    request = put_object(b"data")
    start = request.body.index(b"x-amz-checksum-crc32:")
    request.body = request.body[:start] + b"\r\n"
    with expect("MalformedTrailerError"):
        decode_request(request)


def test_truncated_body():
    request = put_object(b"z" * 50_000)
    for cut in (10, 1000, len(request.body) - 3, len(request.body) - 1):
        truncated = HttpRequest(
            request.method, request.path, request.query_string, request.headers, request.body[:cut]
        )
        with expect("IncompleteBody") as caught:
            decode_request(truncated)
        assert caught.value.message == "The request body terminated unexpectedly"


def test_garbage_chunk_header():
    request = put_object(b"z" * 10)
    request.body = b"zz\r\n" + request.body[3:]
    with expect("IncompleteBody"):
        decode_request(request)


def test_decoded_length_mismatch():
    request = put_object(b"q" * 100)
    info = verified(request, SECRET, now_utc())
    request.headers["x-amz-decoded-content-length"] = "99"
    with expect("IncompleteBody") as caught:
        decode_body(request.body, decoder_for(request, info, SECRET))
    assert caught.value.fields["NumberBytesExpected"] == 99
    request.headers["x-amz-decoded-content-length"] = "101"
    with expect("IncompleteBody"):
        decode_body(request.body, decoder_for(request, info, SECRET))


def test_extra_bytes_after_the_end():
    request = put_object(b"q" * 100)
    request.body += b"trailing garbage"
    with expect("IncompleteBody"):
        decode_request(request)


def test_unsupported_trailer_algorithm():
    with expect("InvalidRequest") as caught:
        AwsChunkedDecoder(
            STREAMING_UNSIGNED_TRAILER,
            seed_signature=None,
            signing_key=None,
            amz_date="20240101T000000Z",
            scope="20240101/us-east-1/s3/aws4_request",
            trailer_checksum_header="x-amz-checksum-md5",
            decoded_length=None,
        )
    assert (
        caught.value.message == "The value specified in the x-amz-trailer header is not supported"
    )


def unsigned_decoder(trailer="x-amz-checksum-crc32", decoded_length=None) -> AwsChunkedDecoder:
    return AwsChunkedDecoder(
        STREAMING_UNSIGNED_TRAILER,
        seed_signature=None,
        signing_key=None,
        amz_date="20240101T000000Z",
        scope="20240101/us-east-1/s3/aws4_request",
        trailer_checksum_header=trailer,
        decoded_length=decoded_length,
    )


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_small_chunk_before_the_last():
    first, second = b"a" * 100, b"b" * 9000
    body = (
        b"64\r\n"
        + first
        + b"\r\n"
        + b"2328\r\n"
        + second
        + b"\r\n0\r\n"
        + f"x-amz-checksum-crc32:{crc32_b64(first + second)}\r\n\r\n".encode()
    )
    with expect("InvalidChunkSizeError") as caught:
        decode_body(body, unsigned_decoder())
    assert caught.value.fields == {"Chunk": 2, "BadChunkSize": 100}


def test_undeclared_checksum_trailer_is_refused():
    body = b"3\r\nabc\r\n0\r\n" + f"x-amz-checksum-crc32:{crc32_b64(b'abc')}\r\n\r\n".encode()
    with expect("MalformedTrailerError"):
        decode_body(body, unsigned_decoder(trailer=None))
    assert decode_body(body, unsigned_decoder()) == b"abc"


def test_wrong_trailer_name():
    body = (
        b"3\r\nabc\r\n0\r\nx-amz-checksum-sha256:"
        + base64.b64encode(hashlib.sha256(b"abc").digest())
        + b"\r\n\r\n"
    )
    with expect("MalformedTrailerError"):
        decode_body(body, unsigned_decoder())


# ---------------------------------------------------------------- signed chunks, built here


class StreamingS3Signer(S3SigV4Auth):
    """botocore's S3 signer, declaring an aws-chunked payload as the SDKs that stream do."""

    def __init__(self, credentials, mode):
        super().__init__(credentials, "s3", "us-east-1")
        self._mode = mode

    def payload(self, request):
        return self._mode


def signed_upload(data: bytes, mode: str, *, trailer: str | None = None, chunk_size=65536):
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(data)),
    }
    if trailer:
        headers["X-Amz-Trailer"] = trailer
    aws = AWSRequest("PUT", "http://127.0.0.1:4566/bucket/some%20key", headers=headers)
    StreamingS3Signer(Credentials(ACCESS_KEY, SECRET), mode).add_auth(aws)
    request = to_http(aws)
    info = verified(request, SECRET, now_utc())
    assert info.payload_hash == mode
    key = signing_key(SECRET, info.date, info.region, info.service)
    trailers = None
    if trailer:
        trailers = [(trailer, crc32_b64(data))]
    request.body = signed_chunked_body(
        data,
        key=key,
        amz_date=info.timestamp,
        scope=info.scope,
        seed=info.signature,
        chunk_size=chunk_size,
        trailers=trailers,
    )
    return request, info


def test_signed_chunks_round_trip():
    data = bytes(range(256)) * 1000
    request, info = signed_upload(data, STREAMING_SIGNED)
    assert decode_body(request.body, decoder_for(request, info, SECRET)) == data


def test_signed_chunks_with_trailer_round_trip():
    data = b"trailer data " * 10_000
    request, info = signed_upload(data, STREAMING_SIGNED_TRAILER, trailer="x-amz-checksum-crc32")
    decoder = decoder_for(request, info, SECRET)
    assert decode_body(request.body, decoder) == data
    assert decoder.trailers == {"x-amz-checksum-crc32": crc32_b64(data)}


def test_signed_chunk_data_is_held_until_verified():
    data = b"m" * 100_000
    request, info = signed_upload(data, STREAMING_SIGNED)
    decoder = decoder_for(request, info, SECRET)
    assert decoder.feed(request.body[:50_000]) == b""  # first chunk incomplete: nothing released
    rest = decoder.feed(request.body[50_000:])
    assert rest == data
    decoder.finish()


def test_tampered_signed_chunk():
    data = b"n" * 100_000
    request, info = signed_upload(data, STREAMING_SIGNED)
    tampered = request.body.replace(b"n" * 5, b"N" + b"n" * 4, 1)
    decoder = decoder_for(request, info, SECRET)
    with expect("SignatureDoesNotMatch", 403) as caught:
        decoder.feed(tampered)
    assert caught.value.status == 403


def test_reordered_or_dropped_signed_chunks():
    data = b"r" * 200_000
    request, info = signed_upload(data, STREAMING_SIGNED, chunk_size=65536)
    first = request.body.index(b"\r\n10000;") + 2
    second = request.body.index(b"\r\n10000;", first) + 2
    dropped = request.body[:first] + request.body[second:]
    with expect("SignatureDoesNotMatch"):
        decode_body(dropped, decoder_for(request, info, SECRET))


def test_wrong_secret_breaks_every_chunk():
    data = b"s" * 10_000
    request, info = signed_upload(data, STREAMING_SIGNED)
    with expect("SignatureDoesNotMatch"):
        decode_body(request.body, decoder_for(request, info, "another secret"))


def test_tampered_signed_trailer():
    data = b"t" * 10_000
    request, info = signed_upload(data, STREAMING_SIGNED_TRAILER, trailer="x-amz-checksum-crc32")
    good = crc32_b64(data).encode()
    bad = crc32_b64(b"other").encode()
    with expect("SignatureDoesNotMatch"):
        decode_body(request.body.replace(good, bad), decoder_for(request, info, SECRET))


def test_missing_chunk_signature():
    data = b"u" * 100
    request, info = signed_upload(data, STREAMING_SIGNED)
    unsigned = b"64\r\n" + data + b"\r\n0\r\n\r\n"
    with expect("IncompleteBody"):
        decode_body(unsigned, decoder_for(request, info, SECRET))


def test_truncated_signed_body():
    data = b"v" * 70_000
    request, info = signed_upload(data, STREAMING_SIGNED)
    with expect("IncompleteBody"):
        decode_body(request.body[:-2], decoder_for(request, info, SECRET))
