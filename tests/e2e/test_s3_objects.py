"""S3 buckets and objects through boto3: CRUD, listing, ranges, metadata, checksums,
conditionals, copy, versioning, tagging, errors."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.s3_helpers import bucket_name, code, new_bucket, s3_client, status, virtual_client


@pytest.fixture(scope="module")
def s3(server):
    return s3_client(server)


def test_bucket_lifecycle_and_errors(s3):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=name)
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    s3.create_bucket(Bucket=name)  # us-east-1's legacy answer: 200
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="Bad_Name")
    assert code(e) == "InvalidBucketName"
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=name)
    assert code(e) == "BucketNotEmpty" and status(e) == 409
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=name)
    assert status(e) == 404
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=name, Key="k")
    assert code(e) == "NoSuchBucket"


def test_bucket_in_other_region(server):
    s3 = server.client("s3", region_name="eu-west-1")
    name = bucket_name()
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code(e) == "BucketAlreadyOwnedByYou"
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=bucket_name())
    assert code(e) == "IllegalLocationConstraintException"


def test_put_get_head_metadata_ranges(s3):
    name = new_bucket(s3)
    body = os.urandom(200_000)
    put = s3.put_object(
        Bucket=name,
        Key="dir/obj.bin",
        Body=body,
        ContentType="application/x-test",
        Metadata={"Color": "blue"},
        CacheControl="no-cache",
    )
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ETag"] == etag and put["ServerSideEncryption"] == "AES256"
    got = s3.get_object(Bucket=name, Key="dir/obj.bin")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/x-test" and got["Metadata"] == {"color": "blue"}
    assert got["CacheControl"] == "no-cache" and got["ETag"] == etag
    head = s3.head_object(Bucket=name, Key="dir/obj.bin")
    assert head["ContentLength"] == len(body) and head["ServerSideEncryption"] == "AES256"
    part = s3.get_object(Bucket=name, Key="dir/obj.bin", Range="bytes=65530-131080")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert part["ContentRange"] == f"bytes 65530-131080/{len(body)}"
    assert part["Body"].read() == body[65530:131081]
    assert (
        s3.get_object(Bucket=name, Key="dir/obj.bin", Range="bytes=-10")["Body"].read()
        == body[-10:]
    )
    assert (
        s3.get_object(Bucket=name, Key="dir/obj.bin", Range="bytes=199990-")["Body"].read()
        == body[199990:]
    )
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=name, Key="dir/obj.bin", Range="bytes=300000-")
    assert code(e) == "InvalidRange" and status(e) == 416
    s3.put_object(Bucket=name, Key="empty", Body=b"")
    assert s3.get_object(Bucket=name, Key="empty")["Body"].read() == b""
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=name, Key="missing")
    assert code(e) == "NoSuchKey" and status(e) == 404
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=name, Key="missing")
    assert code(e) == "404"


def test_checksums(s3):
    name = new_bucket(s3)
    for algorithm in ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"):
        put = s3.put_object(
            Bucket=name, Key=algorithm, Body=b"checksum me", ChecksumAlgorithm=algorithm
        )
        value = put[f"Checksum{algorithm}"]
        got = s3.get_object(Bucket=name, Key=algorithm, ChecksumMode="ENABLED")
        assert got[f"Checksum{algorithm}"] == value
        assert got["Body"].read() == b"checksum me"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="bad", Body=b"abc", ChecksumSHA256="A" * 43 + "=")
    assert code(e) == "BadDigest"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="bad", Body=b"abc", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
    assert code(e) == "BadDigest"


def test_conditional_requests(s3):
    name = new_bucket(s3)
    etag = s3.put_object(Bucket=name, Key="c", Body=b"v1")["ETag"]
    assert s3.get_object(Bucket=name, Key="c", IfMatch=etag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=name, Key="c", IfMatch='"nope"')
    assert code(e) == "PreconditionFailed" and status(e) == 412
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=name, Key="c", IfNoneMatch=etag)
    assert status(e) == 304
    # Relative to the object's own time: the shared server's clock may have been moved ahead.
    modified = s3.head_object(Bucket=name, Key="c")["LastModified"]
    future = modified + timedelta(days=1)
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=name, Key="c", IfModifiedSince=future)
    assert status(e) == 304
    past = modified - timedelta(days=1)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=name, Key="c", IfUnmodifiedSince=past)
    assert status(e) == 412
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="c", Body=b"v2", IfNoneMatch="*")
    assert code(e) == "PreconditionFailed"
    s3.put_object(Bucket=name, Key="new", Body=b"n", IfNoneMatch="*")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="c", Body=b"v2", IfMatch='"other"')
    assert code(e) == "PreconditionFailed"
    s3.put_object(Bucket=name, Key="c", Body=b"v2", IfMatch=etag)


def test_listing(s3):
    name = new_bucket(s3)
    keys = ["a/1", "a/2", "a/b/3", "b/1", "c", "d e+f", "z/ü"]
    for key in keys:
        s3.put_object(Bucket=name, Key=key, Body=b"x")
    listed = s3.list_objects_v2(Bucket=name)
    assert [o["Key"] for o in listed["Contents"]] == sorted(keys)
    top = s3.list_objects_v2(Bucket=name, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "b/", "z/"]
    assert [o["Key"] for o in top["Contents"]] == ["c", "d e+f"]
    sub = s3.list_objects_v2(Bucket=name, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in sub["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in sub["CommonPrefixes"]] == ["a/b/"]
    seen, token = [], None
    while True:
        kwargs = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=name, MaxKeys=2, Delimiter="/", **kwargs)
        seen += [o["Key"] for o in page.get("Contents", [])]
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert sorted(seen) == ["a/", "b/", "c", "d e+f", "z/"]
    after = s3.list_objects_v2(Bucket=name, StartAfter="b/1")
    assert [o["Key"] for o in after["Contents"]] == ["c", "d e+f", "z/ü"]
    v1 = s3.list_objects(Bucket=name, MaxKeys=3)
    assert v1["IsTruncated"] and [o["Key"] for o in v1["Contents"]] == ["a/1", "a/2", "a/b/3"]
    paginator = s3.get_paginator("list_objects")
    assert (
        sum(
            len(p.get("Contents", []))
            for p in paginator.paginate(Bucket=name, PaginationConfig={"PageSize": 2})
        )
        == 7
    )


def test_delete_objects_and_copy(s3):
    name = new_bucket(s3)
    for key in ("x1", "x2", "x3"):
        s3.put_object(Bucket=name, Key=key, Body=key.encode(), Metadata={"k": key})
    s3.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "x1"})
    got = s3.get_object(Bucket=name, Key="copy")
    assert got["Body"].read() == b"x1" and got["Metadata"] == {"k": "x1"}
    s3.copy_object(
        Bucket=name,
        Key="copy2",
        CopySource=f"{name}/x2",
        MetadataDirective="REPLACE",
        Metadata={"n": "new"},
        ContentType="text/plain",
    )
    got = s3.get_object(Bucket=name, Key="copy2")
    assert got["Metadata"] == {"n": "new"} and got["ContentType"] == "text/plain"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=name, Key="x3", CopySource=f"{name}/x3")
    assert code(e) == "InvalidRequest"
    result = s3.delete_objects(
        Bucket=name, Delete={"Objects": [{"Key": "x1"}, {"Key": "x2"}, {"Key": "nope"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["nope", "x1", "x2"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == [
        "copy",
        "copy2",
        "x3",
    ]


def test_versioning_and_tagging(s3):
    name = new_bucket(s3)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=name, Key="v", Body=b"one", Tagging="team=red")["VersionId"]
    v2 = s3.put_object(Bucket=name, Key="v", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=name, Key="v")["Body"].read() == b"two"
    assert s3.get_object(Bucket=name, Key="v", VersionId=v1)["Body"].read() == b"one"
    assert s3.get_object_tagging(Bucket=name, Key="v", VersionId=v1)["TagSet"] == [
        {"Key": "team", "Value": "red"}
    ]
    marker = s3.delete_object(Bucket=name, Key="v")
    assert marker["DeleteMarker"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=name, Key="v")
    assert code(e) == "NoSuchKey"
    versions = s3.list_object_versions(Bucket=name)
    assert len(versions["Versions"]) == 2 and len(versions["DeleteMarkers"]) == 1
    s3.delete_object(Bucket=name, Key="v", VersionId=marker["VersionId"])
    assert s3.get_object(Bucket=name, Key="v")["Body"].read() == b"two"
    s3.put_object_tagging(Bucket=name, Key="v", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    assert s3.get_object_tagging(Bucket=name, Key="v")["TagSet"] == [{"Key": "a", "Value": "b"}]
    assert (
        s3.head_object(Bucket=name, Key="v").get("ResponseMetadata")["HTTPHeaders"][
            "x-amz-tagging-count"
        ]
        == "1"
    )


def test_virtual_hosted_and_presigned(server, s3):
    name = new_bucket(s3)
    vs3 = virtual_client(server)
    vs3.put_object(Bucket=name, Key="vh/key.txt", Body=b"virtual")
    assert vs3.get_object(Bucket=name, Key="vh/key.txt")["Body"].read() == b"virtual"
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/vh/key.txt",
        headers={"Host": f"{name}.s3.localhost:{server.port}"},
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(request)  # unsigned: the bucket policy does not allow it
    assert e.value.code == 403
    # SigV4 presigning (botocore presigns with SigV2 unless told; mamori verifies SigV4 only).
    s3 = server.client("s3", config=Config(signature_version="s3v4"))
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": name, "Key": "pre"}, ExpiresIn=300
    )
    with urllib.request.urlopen(
        urllib.request.Request(put_url, data=b"presigned body", method="PUT")
    ) as r:
        assert r.status == 200
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": name, "Key": "pre"}, ExpiresIn=300
    )
    with urllib.request.urlopen(get_url) as r:
        assert r.read() == b"presigned body"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(get_url.replace("Signature=", "Signature=0"))
    assert e.value.code == 403


def test_multipart_upload(s3):
    name = new_bucket(s3)
    upload = s3.create_multipart_upload(Bucket=name, Key="mp", ChecksumAlgorithm="CRC32")
    uid = upload["UploadId"]
    part1 = os.urandom(5 * 1024 * 1024)
    part2 = os.urandom(1234)
    e1 = s3.upload_part(
        Bucket=name, Key="mp", UploadId=uid, PartNumber=1, Body=part1, ChecksumAlgorithm="CRC32"
    )
    e2 = s3.upload_part(
        Bucket=name, Key="mp", UploadId=uid, PartNumber=2, Body=part2, ChecksumAlgorithm="CRC32"
    )
    parts = s3.list_parts(Bucket=name, Key="mp", UploadId=uid)["Parts"]
    assert [p["Size"] for p in parts] == [len(part1), len(part2)]
    assert uid in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=name).get("Uploads", [])]
    done = s3.complete_multipart_upload(
        Bucket=name,
        Key="mp",
        UploadId=uid,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": e1["ETag"], "ChecksumCRC32": e1["ChecksumCRC32"]},
                {"PartNumber": 2, "ETag": e2["ETag"], "ChecksumCRC32": e2["ChecksumCRC32"]},
            ]
        },
    )
    md5s = hashlib.md5(hashlib.md5(part1).digest() + hashlib.md5(part2).digest()).hexdigest()
    assert done["ETag"] == f'"{md5s}-2"'
    body = part1 + part2
    assert s3.get_object(Bucket=name, Key="mp")["Body"].read() == body
    tail = s3.get_object(Bucket=name, Key="mp", Range=f"bytes={len(part1) - 5}-{len(part1) + 5}")
    assert tail["Body"].read() == body[len(part1) - 5 : len(part1) + 6]
    second = s3.get_object(Bucket=name, Key="mp", PartNumber=2)
    assert second["PartsCount"] == 2 and second["Body"].read() == part2
    # Too small a non-final part.
    uid = s3.create_multipart_upload(Bucket=name, Key="small")["UploadId"]
    a = s3.upload_part(Bucket=name, Key="small", UploadId=uid, PartNumber=1, Body=b"a" * 100)
    b = s3.upload_part(Bucket=name, Key="small", UploadId=uid, PartNumber=2, Body=b"b" * 100)
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=name,
            Key="small",
            UploadId=uid,
            MultipartUpload={
                "Parts": [
                    {"PartNumber": 1, "ETag": a["ETag"]},
                    {"PartNumber": 2, "ETag": b["ETag"]},
                ]
            },
        )
    assert code(e) == "EntityTooSmall"
    # UploadPartCopy, then abort.
    copied = s3.upload_part_copy(
        Bucket=name,
        Key="small",
        UploadId=uid,
        PartNumber=3,
        CopySource={"Bucket": name, "Key": "mp"},
        CopySourceRange="bytes=0-99",
    )
    assert copied["CopyPartResult"]["ETag"] == f'"{hashlib.md5(part1[:100]).hexdigest()}"'
    s3.abort_multipart_upload(Bucket=name, Key="small", UploadId=uid)
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=name, Key="small", UploadId=uid)
    assert code(e) == "NoSuchUpload"
