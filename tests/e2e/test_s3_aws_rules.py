"""S3 rules found by comparing mamori with AWS's documentation, through boto3: conditional
batch deletes, what a copy carries over, delimiter and upload paging, key length, ACLs,
delete-marker headers, ETags of encrypted objects and range rules."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from tests.e2e.s3_helpers import allow_sse_c, code, new_bucket, s3_client, sse_c_args, status

WRONG_ETAG = '"00000000000000000000000000000000"'


@pytest.fixture(scope="module")
def s3(server):
    return s3_client(server)


def versioned_bucket(s3) -> str:
    name = new_bucket(s3)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def test_delete_objects_checks_each_etag(s3):
    name = new_bucket(s3)
    etags = {k: s3.put_object(Bucket=name, Key=k, Body=k.encode())["ETag"] for k in "abc"}
    result = s3.delete_objects(
        Bucket=name,
        Delete={
            "Objects": [
                {"Key": "a", "ETag": WRONG_ETAG},
                {"Key": "b", "ETag": etags["b"]},
                {"Key": "c", "ETag": etags["c"].strip('"')},
                {"Key": "missing", "ETag": WRONG_ETAG},
            ]
        },
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["b", "c"]
    errors = {e["Key"]: (e["Code"], e["Message"]) for e in result["Errors"]}
    assert errors == {
        "a": (
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        ),
        "missing": ("NoSuchKey", "The specified key does not exist."),
    }
    assert s3.get_object(Bucket=name, Key="a")["Body"].read() == b"a"


def test_directory_bucket_delete_conditions_never_delete(s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"hello")
    result = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "k", "Size": 99}]})
    assert [e["Code"] for e in result["Errors"]] == ["NotImplemented"]
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=name, Key="k", IfMatchSize=99)
    assert code(e) == "NotImplemented" and status(e) == 501
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"hello"


def test_delete_objects_of_a_delete_marker_version_says_so(s3):
    name = versioned_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    marker = s3.delete_object(Bucket=name, Key="k")["VersionId"]
    result = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "k", "VersionId": marker}]})
    assert result["Deleted"] == [
        {"Key": "k", "VersionId": marker, "DeleteMarker": True, "DeleteMarkerVersionId": marker}
    ]
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"x"


def test_copy_takes_storage_class_from_the_request_never_from_the_source(s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="src", Body=b"x", StorageClass="STANDARD_IA")
    s3.copy_object(Bucket=name, Key="plain", CopySource={"Bucket": name, "Key": "src"})
    s3.copy_object(
        Bucket=name,
        Key="glacier",
        CopySource={"Bucket": name, "Key": "src"},
        StorageClass="GLACIER_IR",
    )
    assert "StorageClass" not in s3.head_object(Bucket=name, Key="plain")  # STANDARD
    assert s3.head_object(Bucket=name, Key="glacier")["StorageClass"] == "GLACIER_IR"
    listed = {o["Key"]: o["StorageClass"] for o in s3.list_objects_v2(Bucket=name)["Contents"]}
    assert listed == {"glacier": "GLACIER_IR", "plain": "STANDARD", "src": "STANDARD_IA"}


def test_copy_onto_itself_changing_only_the_storage_class(s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"x", Metadata={"m": "1"})
    s3.copy_object(
        Bucket=name, Key="k", CopySource={"Bucket": name, "Key": "k"}, StorageClass="ONEZONE_IA"
    )
    head = s3.head_object(Bucket=name, Key="k")
    assert head["StorageClass"] == "ONEZONE_IA" and head["Metadata"] == {"m": "1"}
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=name, Key="k", CopySource={"Bucket": name, "Key": "k"})
    assert code(e) == "InvalidRequest"


def test_copy_does_not_carry_the_website_redirect(s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="src", Body=b"x", WebsiteRedirectLocation="/old")
    s3.copy_object(Bucket=name, Key="plain", CopySource={"Bucket": name, "Key": "src"})
    s3.copy_object(
        Bucket=name,
        Key="given",
        CopySource={"Bucket": name, "Key": "src"},
        WebsiteRedirectLocation="/new",
    )
    assert "WebsiteRedirectLocation" not in s3.head_object(Bucket=name, Key="plain")
    assert s3.head_object(Bucket=name, Key="given")["WebsiteRedirectLocation"] == "/new"
    assert s3.head_object(Bucket=name, Key="src")["WebsiteRedirectLocation"] == "/old"


def _all_version_pages(s3, name: str, max_keys: int, **fixed) -> list[dict]:
    pages, markers = [], {}
    while True:
        page = s3.list_object_versions(Bucket=name, MaxKeys=max_keys, **fixed, **markers)
        pages.append(page)
        if not page["IsTruncated"]:
            return pages
        markers = {"KeyMarker": page["NextKeyMarker"]}
        if "NextVersionIdMarker" in page:
            markers["VersionIdMarker"] = page["NextVersionIdMarker"]


def test_list_object_versions_pages_common_prefixes_as_one_entry(s3):
    name = versioned_bucket(s3)
    for _ in range(3):
        s3.put_object(Bucket=name, Key="a/x", Body=b"1")
    s3.put_object(Bucket=name, Key="b", Body=b"1")
    s3.put_object(Bucket=name, Key="c/y", Body=b"1")
    s3.delete_object(Bucket=name, Key="d")
    first = s3.list_object_versions(Bucket=name, Delimiter="/", MaxKeys=2)
    assert first["CommonPrefixes"] == [{"Prefix": "a/"}]
    assert [v["Key"] for v in first["Versions"]] == ["b"] and first["IsTruncated"]
    one = s3.list_object_versions(Bucket=name, Delimiter="/", MaxKeys=1)
    assert one["CommonPrefixes"] == [{"Prefix": "a/"}] and "Versions" not in one
    assert one["IsTruncated"] and one["NextKeyMarker"] == "a/"
    for max_keys in (1, 2, 3, 1000):
        seen = []
        for page in _all_version_pages(s3, name, max_keys, Delimiter="/"):
            assert (
                len(page.get("CommonPrefixes", []))
                + len(page.get("Versions", []))
                + len(page.get("DeleteMarkers", []))
                <= max_keys
            )
            seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            seen += [v["Key"] for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        assert sorted(seen) == ["a/", "b", "c/", "d"], max_keys
        versions = []
        for page in _all_version_pages(s3, name, max_keys):
            versions += [v["VersionId"] for v in page.get("Versions", [])]
            versions += [v["VersionId"] for v in page.get("DeleteMarkers", [])]
        assert len(versions) == len(set(versions)) == 6, max_keys


def _all_upload_pages(s3, name: str, max_uploads: int, **fixed) -> list[dict]:
    pages, markers = [], {}
    while True:
        page = s3.list_multipart_uploads(Bucket=name, MaxUploads=max_uploads, **fixed, **markers)
        pages.append(page)
        if not page["IsTruncated"]:
            return pages
        markers = {"KeyMarker": page["NextKeyMarker"]}
        if "NextUploadIdMarker" in page:
            markers["UploadIdMarker"] = page["NextUploadIdMarker"]


def test_list_multipart_uploads_pages_visit_every_upload_once_in_initiation_order(s3):
    name = new_bucket(s3)
    started = [s3.create_multipart_upload(Bucket=name, Key="k")["UploadId"] for _ in range(6)]
    started += [s3.create_multipart_upload(Bucket=name, Key=key)["UploadId"] for key in "lm"]
    for max_uploads in (1, 2, 5, 1000):
        seen = []
        for page in _all_upload_pages(s3, name, max_uploads):
            assert len(page.get("Uploads", [])) <= max_uploads
            seen += [u["UploadId"] for u in page.get("Uploads", [])]
        assert seen == started, max_uploads
    # Without an UploadIdMarker, the uploads of the KeyMarker itself are skipped.
    after_k = s3.list_multipart_uploads(Bucket=name, KeyMarker="k")["Uploads"]
    assert [u["Key"] for u in after_k] == ["l", "m"]


def test_list_multipart_uploads_pages_common_prefixes(s3):
    name = new_bucket(s3)
    for key in ("a/1", "a/2", "b", "c/1"):
        s3.create_multipart_upload(Bucket=name, Key=key)
    first = s3.list_multipart_uploads(Bucket=name, Delimiter="/", MaxUploads=1)
    assert first["CommonPrefixes"] == [{"Prefix": "a/"}] and "Uploads" not in first
    assert first["IsTruncated"] and first["NextKeyMarker"] == "a/"
    seen = []
    for page in _all_upload_pages(s3, name, 1, Delimiter="/"):
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        seen += [u["Key"] for u in page.get("Uploads", [])]
    assert seen == ["a/", "b", "c/"]


def test_keys_longer_than_1024_utf8_bytes_are_refused_by_every_creating_operation(s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="src", Body=b"x")
    longest = "é" * 512  # 1,024 bytes
    too_long = "é" * 512 + "x"
    s3.put_object(Bucket=name, Key=longest, Body=b"x")
    attempts = [
        lambda: s3.put_object(Bucket=name, Key=too_long, Body=b"x"),
        lambda: s3.put_object(Bucket=name, Key="k" * 1025, Body=b"x"),
        lambda: s3.copy_object(
            Bucket=name, Key=too_long, CopySource={"Bucket": name, "Key": "src"}
        ),
        lambda: s3.create_multipart_upload(Bucket=name, Key=too_long),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as e:
            attempt()
        assert (code(e), status(e)) == ("KeyTooLongError", 400)
        assert e.value.response["Error"]["Message"] == "Your key is too long"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]]
    assert sorted(keys) == sorted([longest, "src"])
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=name)


def test_reads_of_a_delete_marker_carry_its_last_modified(s3):
    name = versioned_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    marker = s3.delete_object(Bucket=name, Key="k")["VersionId"]
    listed = s3.list_object_versions(Bucket=name)["DeleteMarkers"][0]["LastModified"]
    expected = listed.strftime("%a, %d %b %Y %H:%M:%S GMT")
    for read in (s3.head_object, s3.get_object):
        for version, want in ({"VersionId": marker}, 405), ({}, 404):
            with pytest.raises(ClientError) as e:
                read(Bucket=name, Key="k", **version)
            headers = e.value.response["ResponseMetadata"]["HTTPHeaders"]
            assert status(e) == want
            assert headers["x-amz-delete-marker"] == "true"
            assert headers["last-modified"] == expected
            assert headers["x-amz-version-id"] == marker


def _quoted_md5(body: bytes) -> str:
    return f'"{hashlib.md5(body).hexdigest()}"'


def test_sse_kms_and_sse_c_objects_get_etags_that_are_not_their_md5(s3):
    name = new_bucket(s3)
    allow_sse_c(s3, name)
    body = b"hello world"
    customer = sse_c_args(os.urandom(32))
    plain = s3.put_object(Bucket=name, Key="s3", Body=body)["ETag"]
    kms = s3.put_object(Bucket=name, Key="kms", Body=body, ServerSideEncryption="aws:kms")["ETag"]
    ssec = s3.put_object(Bucket=name, Key="ssec", Body=body, **customer)["ETag"]
    assert plain == _quoted_md5(body)
    for etag in (kms, ssec):
        assert etag != _quoted_md5(body) and len(etag.strip('"')) == 32
        int(etag.strip('"'), 16)
    head = s3.head_object(Bucket=name, Key="kms", IfMatch=kms)
    assert head["ETag"] == kms
    assert s3.list_objects_v2(Bucket=name, Prefix="kms")["Contents"][0]["ETag"] == kms
    copied = s3.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "kms"})
    assert copied["CopyObjectResult"]["ETag"] == _quoted_md5(body)  # the copy is SSE-S3
    with pytest.raises(ClientError) as e:
        s3.put_object(
            Bucket=name,
            Key="bad",
            Body=body,
            ServerSideEncryption="aws:kms",
            ContentMD5=base64.b64encode(hashlib.md5(b"other").digest()).decode(),
        )
    assert code(e) == "BadDigest"


def test_sse_kms_upload_parts_get_etags_that_are_not_their_md5(s3):
    name = new_bucket(s3)
    part = os.urandom(5 * 1024 * 1024)
    upload = s3.create_multipart_upload(Bucket=name, Key="k", ServerSideEncryption="aws:kms")
    etags = [
        s3.upload_part(Bucket=name, Key="k", UploadId=upload["UploadId"], PartNumber=n, Body=body)[
            "ETag"
        ]
        for n, body in ((1, part), (2, b"tail"))
    ]
    assert etags[0] != _quoted_md5(part) and etags[1] != _quoted_md5(b"tail")
    done = s3.complete_multipart_upload(
        Bucket=name,
        Key="k",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]},
    )
    assert done["ETag"].endswith('-2"')
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == part + b"tail"


def test_upload_part_copy_range_must_be_first_last(s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="src", Body=b"0123456789")
    upload = s3.create_multipart_upload(Bucket=name, Key="m")["UploadId"]
    source = {"Bucket": name, "Key": "src"}
    for bad in ("bytes=-3", "bytes=4-", "bytes=5-2", "bytes=0-1,3-4"):
        with pytest.raises(ClientError) as e:
            s3.upload_part_copy(
                Bucket=name,
                Key="m",
                UploadId=upload,
                PartNumber=1,
                CopySource=source,
                CopySourceRange=bad,
            )
        assert (code(e), status(e)) == ("InvalidArgument", 400), bad
        assert e.value.response["Error"]["Message"] == (
            "The x-amz-copy-source-range value must be of the form bytes=first-last where "
            "first and last are the zero-based offsets of the first and last bytes to copy"
        )
    assert not s3.list_parts(Bucket=name, Key="m", UploadId=upload).get("Parts")
    s3.upload_part_copy(
        Bucket=name,
        Key="m",
        UploadId=upload,
        PartNumber=1,
        CopySource=source,
        CopySourceRange="bytes=2-4",
    )
    part = s3.list_parts(Bucket=name, Key="m", UploadId=upload)["Parts"][0]
    assert part["Size"] == 3


def test_get_object_refuses_part_number_with_range(s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"0123456789")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=name, Key="k", PartNumber=1, Range="bytes=0-1")
    assert (code(e), status(e)) == ("InvalidRequest", 400)
    assert e.value.response["Error"]["Message"] == (
        "Cannot specify both Range header and partNumber query parameter"
    )
    assert s3.get_object(Bucket=name, Key="k", PartNumber=1)["Body"].read() == b"0123456789"
