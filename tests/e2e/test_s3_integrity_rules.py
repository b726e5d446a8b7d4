"""S3 integrity rules, through boto3 and botocore's own S3 signer against a live server:
headers outside the signature, request checksums, aws-chunked lengths, part numbers,
multipart checksum rules and user metadata encoding."""

from __future__ import annotations

import base64
import email.header
import hashlib
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
import zlib

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from tests.e2e.s3_helpers import code, new_bucket, s3_client, status


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


def assert_headers_not_signed(status_code: int, body: bytes) -> None:
    assert status_code == 403
    error = error_of(body)
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == "There were headers present in the request which were not signed"
    assert error["HeadersNotSigned"] == "x-amz-meta-evil, x-amz-storage-class, x-amz-tagging"


def test_header_signed_put_with_unsigned_amz_headers_is_refused(s3, server):
    name = new_bucket(s3)
    url, headers = header_signed("PUT", f"{server.endpoint}/{name}/k", b"abc")
    status_code, body = send("PUT", url, {**headers, **UNSIGNED_EXTRAS}, b"abc")
    assert_headers_not_signed(status_code, body)
    assert s3.list_objects_v2(Bucket=name).get("KeyCount") == 0


def test_presigned_put_with_unsigned_amz_headers_is_refused(s3, server):
    name = new_bucket(s3)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": name, "Key": "k"})
    status_code, body = send("PUT", url, dict(UNSIGNED_EXTRAS), b"abc")
    assert_headers_not_signed(status_code, body)
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
    assert send("PUT", url, {"x-amz-meta-m": "v"}, b"abc")[0] == 200
    assert s3.head_object(Bucket=name, Key="k")["Metadata"] == {"m": "v"}


# --------------------------------------------------------------------------- request checksums

DELETE_BODY = (
    b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>k</Key></Object>'
    b"</Delete>"
)


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def test_delete_objects_without_a_checksum_is_refused(s3, server):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    url, headers = header_signed("POST", f"{server.endpoint}/{name}?delete", DELETE_BODY)
    status_code, body = send("POST", url, headers, DELETE_BODY)
    assert status_code == 400
    assert error_of(body)["Code"] == "InvalidRequest"
    assert error_of(body)["Message"] == "Missing required header for this request: Content-MD5"
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"x"
    # With a Content-MD5 (or a checksum header) the same request deletes.
    md5 = b64(hashlib.md5(DELETE_BODY).digest())
    url, headers = header_signed(
        "POST", f"{server.endpoint}/{name}?delete", DELETE_BODY, {"Content-MD5": md5}
    )
    assert send("POST", url, headers, DELETE_BODY)[0] == 200
    assert s3.list_objects_v2(Bucket=name).get("KeyCount") == 0


def test_wrong_content_md5_on_put_object_tagging_is_bad_digest(s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.put_object_tagging(
            Bucket=name,
            Key="k",
            Tagging={"TagSet": [{"Key": "a", "Value": "b"}]},
            ContentMD5=b64(hashlib.md5(b"something else").digest()),
        )
    assert code(e) == "BadDigest" and status(e) == 400
    assert str(e.value).endswith("The Content-MD5 you specified did not match what we received.")
    assert s3.get_object_tagging(Bucket=name, Key="k")["TagSet"] == []


def test_wrong_checksum_header_on_put_bucket_tagging_is_bad_digest(s3, server):
    name = new_bucket(s3)
    body = b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>"
    wrong = {"x-amz-checksum-sha256": b64(hashlib.sha256(b"other").digest())}
    url, headers = header_signed("PUT", f"{server.endpoint}/{name}?tagging", body, wrong)
    status_code, answer = send("PUT", url, headers, body)
    assert status_code == 400
    assert error_of(answer)["Code"] == "BadDigest"
    assert error_of(answer)["Message"] == (
        "The SHA256 you specified did not match the calculated checksum."
    )
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=name)
    assert code(e) == "NoSuchTagSet"
    # boto3's own checksums are right.
    s3.put_bucket_tagging(
        Bucket=name, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}, ChecksumAlgorithm="SHA256"
    )
    assert s3.get_bucket_tagging(Bucket=name)["TagSet"] == [{"Key": "a", "Value": "b"}]


def test_header_checksum_mismatch_names_the_algorithm_in_upper_case(s3):
    name = new_bucket(s3)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="k", Body=b"abc", ChecksumCRC32="AAAAAA==")
    assert code(e) == "BadDigest"
    assert str(e.value).endswith("The CRC32 you specified did not match the calculated checksum.")


# --------------------------------------------------------------------------- aws-chunked lengths


class UnsignedTrailerSigner(S3SigV4Auth):
    def payload(self, request):
        return "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def aws_chunked(data: bytes) -> tuple[bytes, dict[str, str]]:
    """A one-chunk STREAMING-UNSIGNED-PAYLOAD-TRAILER body with its CRC32 trailer, and the
    headers the documented form sends (Content-Length, set by the client, frames it all)."""
    crc = b64(zlib.crc32(data).to_bytes(4, "big"))
    body = (
        f"{len(data):x}\r\n".encode()
        + data
        + f"\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    )
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-decoded-content-length": str(len(data)),
    }
    return body, headers


def send_aws_chunked(method: str, url: str, data: bytes) -> tuple[int, bytes]:
    body, headers = aws_chunked(data)
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    UnsignedTrailerSigner(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "s3", REGION).add_auth(
        request
    )
    prepared = request.prepare()
    headers = {**dict(prepared.headers), "Content-Length": str(len(body))}
    return send(method, prepared.url, headers, body)


def test_aws_chunked_put_object_with_framed_content_length(s3, server):
    name = new_bucket(s3)
    status_code, answer = send_aws_chunked("PUT", f"{server.endpoint}/{name}/k", b"hello world")
    assert status_code == 200, answer
    got = s3.get_object(Bucket=name, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"hello world"
    assert got["ChecksumCRC32"] == b64(zlib.crc32(b"hello world").to_bytes(4, "big"))


def test_aws_chunked_upload_part_with_framed_content_length(s3, server):
    name = new_bucket(s3)
    upload = s3.create_multipart_upload(Bucket=name, Key="k")["UploadId"]
    url = f"{server.endpoint}/{name}/k?partNumber=1&uploadId={upload}"
    status_code, answer = send_aws_chunked("PUT", url, b"hello world")
    assert status_code == 200, answer
    parts = s3.list_parts(Bucket=name, Key="k", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 11)]


# --------------------------------------------------------------------------- part numbers


def test_part_number_one_of_a_plain_object_is_a_partial_answer(s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"0123456789")
    got = s3.get_object(Bucket=name, Key="k", PartNumber=1)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == "bytes 0-9/10"
    assert got["Body"].read() == b"0123456789"
    head = s3.head_object(Bucket=name, Key="k", PartNumber=1)
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert head["ContentRange"] == "bytes 0-9/10" and head["ContentLength"] == 10
    assert "PartsCount" not in head
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=name, Key="k", PartNumber=2)
    assert status(e) == 416


def test_one_part_multipart_object_counts_its_part(s3):
    name = new_bucket(s3)
    upload = s3.create_multipart_upload(Bucket=name, Key="k")["UploadId"]
    etag = s3.upload_part(Bucket=name, Key="k", UploadId=upload, PartNumber=1, Body=b"abc")["ETag"]
    s3.complete_multipart_upload(
        Bucket=name,
        Key="k",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    head = s3.head_object(Bucket=name, Key="k", PartNumber=1)
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert head["PartsCount"] == 1
    assert head["ContentRange"] == "bytes 0-2/3"


# --------------------------------------------------------------------------- multipart checksums


def test_checksum_type_needs_a_checksum_algorithm(s3):
    name = new_bucket(s3)
    with pytest.raises(ClientError) as e:
        s3.create_multipart_upload(Bucket=name, Key="k", ChecksumType="FULL_OBJECT")
    assert code(e) == "InvalidRequest"
    assert str(e.value).endswith(
        "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
    )
    assert s3.list_multipart_uploads(Bucket=name).get("Uploads", []) == []


def sha256_upload(s3) -> tuple[str, str]:
    name = new_bucket(s3)
    upload = s3.create_multipart_upload(Bucket=name, Key="k", ChecksumAlgorithm="SHA256")
    return name, upload["UploadId"]


def test_part_of_a_sha256_upload_needs_a_sha256_checksum(s3, server):
    name, upload = sha256_upload(s3)
    url = f"{server.endpoint}/{name}/k?partNumber=1&uploadId={upload}"
    signed_url, headers = header_signed("PUT", url, b"abc")
    status_code, body = send("PUT", signed_url, headers, b"abc")
    assert status_code == 400
    assert error_of(body)["Code"] == "InvalidRequest"
    assert error_of(body)["Message"] == (
        "Checksum Type mismatch occurred, expected checksum Type: sha256, "
        "actual checksum Type: null"
    )
    assert s3.list_parts(Bucket=name, Key="k", UploadId=upload).get("Parts", []) == []
    with pytest.raises(ClientError) as e:
        s3.upload_part(
            Bucket=name,
            Key="k",
            UploadId=upload,
            PartNumber=1,
            Body=b"abc",
            ChecksumAlgorithm="CRC32",
        )
    assert str(e.value).endswith("expected checksum Type: sha256, actual checksum Type: crc32")
    s3.upload_part(
        Bucket=name, Key="k", UploadId=upload, PartNumber=1, Body=b"abc", ChecksumAlgorithm="SHA256"
    )


def test_complete_of_a_sha256_upload_needs_each_part_checksum(s3):
    name, upload = sha256_upload(s3)
    part = s3.upload_part(
        Bucket=name, Key="k", UploadId=upload, PartNumber=1, Body=b"abc", ChecksumAlgorithm="SHA256"
    )
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=name,
            Key="k",
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        )
    assert code(e) == "InvalidRequest"
    assert str(e.value).endswith(
        "The upload was created using a sha256 checksum. The complete request must include the "
        "checksum for each part. It was missing for part 1 in the request."
    )
    with_checksum = {
        "PartNumber": 1,
        "ETag": part["ETag"],
        "ChecksumSHA256": part["ChecksumSHA256"],
    }
    s3.complete_multipart_upload(
        Bucket=name, Key="k", UploadId=upload, MultipartUpload={"Parts": [with_checksum]}
    )
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"abc"


# --------------------------------------------------------------------------- checksum headers


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (
            {
                "x-amz-checksum-crc32": "NSRBwg==",
                "x-amz-checksum-sha1": "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=",
            },
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        ),
        (
            {"x-amz-checksum-crc32": "NSRBwg==", "x-amz-sdk-checksum-algorithm": "SHA256"},
            "Value for x-amz-sdk-checksum-algorithm header is invalid.",
        ),
        (
            {"x-amz-sdk-checksum-algorithm": "CRC32"},
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or "
            "x-amz-trailer headers were found.",
        ),
    ],
)
def test_inconsistent_checksum_headers_are_refused(s3, server, headers, message):
    name = new_bucket(s3)
    url, signed = header_signed("PUT", f"{server.endpoint}/{name}/k", b"abc", headers)
    status_code, body = send("PUT", url, signed, b"abc")
    assert status_code == 400
    assert error_of(body)["Code"] == "InvalidRequest"
    assert error_of(body)["Message"] == message
    assert s3.list_objects_v2(Bucket=name).get("KeyCount") == 0


# --------------------------------------------------------------------------- user metadata


def test_rfc2047_metadata_is_decoded_and_non_ascii_returned_encoded(s3, server):
    name = new_bucket(s3)
    s3.put_object(
        Bucket=name, Key="k", Body=b"x", Metadata={"q": "=?UTF-8?Q?caf=C3=A9?=", "plain": "a b"}
    )
    encoded = "=?UTF-8?b?Y2Fmw6k=?="
    assert s3.head_object(Bucket=name, Key="k")["Metadata"] == {"q": encoded, "plain": "a b"}
    assert s3.get_object(Bucket=name, Key="k")["Metadata"] == {"q": encoded, "plain": "a b"}
    decoded = email.header.make_header(email.header.decode_header(encoded))
    assert str(decoded) == "café"
    # A raw header byte outside ASCII is read as ISO-8859-1 and returned encoded too.
    url, headers = header_signed(
        "PUT", f"{server.endpoint}/{name}/raw", b"x", {"x-amz-meta-r": "é"}
    )
    assert send("PUT", url, headers, b"x")[0] == 200
    assert s3.head_object(Bucket=name, Key="raw")["Metadata"] == {"r": "=?UTF-8?b?w6k=?="}


# --------------------------------------------------------------------------- default checksum


def crc64nvme(data: bytes) -> str:
    from awscrt import checksums

    return b64(checksums.crc64nvme(data).to_bytes(8, "big"))


def test_object_uploaded_without_a_checksum_gets_a_crc64nvme(server):
    s3 = s3_client(
        server,
        config=Config(request_checksum_calculation="when_required", retries={"max_attempts": 1}),
    )
    name = new_bucket(s3)
    put = s3.put_object(Bucket=name, Key="k", Body=b"hello world")
    assert put["ChecksumCRC64NVME"] == crc64nvme(b"hello world")
    assert put["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket=name, Key="k", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == crc64nvme(b"hello world")
    assert head["ChecksumType"] == "FULL_OBJECT"
    copy = s3.copy_object(Bucket=name, Key="c", CopySource={"Bucket": name, "Key": "k"})
    assert copy["CopyObjectResult"]["ChecksumCRC64NVME"] == crc64nvme(b"hello world")


def test_multipart_upload_without_a_checksum_gets_a_full_object_crc64nvme(server):
    s3 = s3_client(
        server,
        config=Config(request_checksum_calculation="when_required", retries={"max_attempts": 1}),
    )
    name = new_bucket(s3)
    first, second = b"a" * (5 * 1024 * 1024), b"the rest"
    created = s3.create_multipart_upload(Bucket=name, Key="big")
    assert "ChecksumAlgorithm" not in created  # nothing was asked for
    upload = created["UploadId"]
    etags = []
    for number, body in enumerate((first, second), start=1):
        part = s3.upload_part(Bucket=name, Key="big", UploadId=upload, PartNumber=number, Body=body)
        assert part["ChecksumCRC64NVME"] == crc64nvme(body)
        etags.append({"PartNumber": number, "ETag": part["ETag"]})
    listed = s3.list_parts(Bucket=name, Key="big", UploadId=upload)["Parts"]
    assert [p["ChecksumCRC64NVME"] for p in listed] == [crc64nvme(first), crc64nvme(second)]
    done = s3.complete_multipart_upload(
        Bucket=name, Key="big", UploadId=upload, MultipartUpload={"Parts": etags}
    )
    whole = crc64nvme(first + second)
    assert (done["ChecksumCRC64NVME"], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    head = s3.head_object(Bucket=name, Key="big", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == (whole, "FULL_OBJECT")
    got = s3.get_object(Bucket=name, Key="big", ChecksumMode="ENABLED")
    assert got["Body"].read() == first + second  # botocore validated the checksum it was given
