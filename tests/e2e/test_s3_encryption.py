"""S3 server-side encryption: SSE-S3, SSE-C (blocked by default on new buckets), SSE-KMS
through mamori's KMS, default bucket encryption, re-encrypting copies, and a scan of the data
directory that finds no plaintext."""

from __future__ import annotations

import os
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.e2e.s3_helpers import (
    allow_sse_c,
    code,
    new_bucket,
    s3_client,
    sse_c_args,
    status,
    user_client,
)


@pytest.fixture(scope="module")
def s3(server):
    return s3_client(server)


def _kms_key(server) -> str:
    kms = server.client("kms")
    try:
        return kms.create_key(Description="s3 test")["KeyMetadata"]["Arn"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "NotImplemented":
            pytest.skip("KMS is not available on this server yet")
        raise


def test_new_bucket_defaults(s3):
    name = new_bucket(s3)
    rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert rule["BlockedEncryptionTypes"] == {"EncryptionType": ["SSE-C"]}
    assert s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    ownership = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="acl", Body=b"x", ACL="public-read")
    assert code(e) == "AccessControlListNotSupported"
    key = os.urandom(32)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="c", Body=b"x", **sse_c_args(key))
    assert code(e) == "AccessDenied" and status(e) == 403


def test_sse_c(s3):
    name = new_bucket(s3)
    allow_sse_c(s3, name)
    key = os.urandom(32)
    put = s3.put_object(Bucket=name, Key="secret", Body=b"customer keyed", **sse_c_args(key))
    assert put["SSECustomerAlgorithm"] == "AES256" and "ServerSideEncryption" not in put
    got = s3.get_object(Bucket=name, Key="secret", **sse_c_args(key))
    assert got["Body"].read() == b"customer keyed"
    assert got["SSECustomerKeyMD5"] == sse_c_args(key)["SSECustomerKeyMD5"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=name, Key="secret")
    assert (
        code(e) == "InvalidRequest"
        and "Server Side Encryption" in e.value.response["Error"]["Message"]
    )
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=name, Key="secret")
    assert status(e) == 400
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=name, Key="secret", **sse_c_args(os.urandom(32)))
    assert code(e) == "AccessDenied" and status(e) == 403
    bad = sse_c_args(key)
    bad["SSECustomerKeyMD5"] = sse_c_args(os.urandom(32))["SSECustomerKeyMD5"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=name, Key="secret", **bad)
    assert code(e) == "InvalidArgument"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "secret"})
    assert code(e) == "InvalidRequest"
    # Copy with the source key, re-encrypted under SSE-S3.
    copied = s3.copy_object(
        Bucket=name,
        Key="copy",
        CopySource={"Bucket": name, "Key": "secret"},
        **sse_c_args(key, "CopySource"),
    )
    assert copied["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=name, Key="copy")["Body"].read() == b"customer keyed"
    # Multipart with SSE-C: every part needs the key.
    uid = s3.create_multipart_upload(Bucket=name, Key="mp", **sse_c_args(key))["UploadId"]
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=name, Key="mp", UploadId=uid, PartNumber=1, Body=b"p")
    assert code(e) == "InvalidRequest"
    part = s3.upload_part(
        Bucket=name, Key="mp", UploadId=uid, PartNumber=1, Body=b"p", **sse_c_args(key)
    )
    s3.complete_multipart_upload(
        Bucket=name,
        Key="mp",
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert s3.get_object(Bucket=name, Key="mp", **sse_c_args(key))["Body"].read() == b"p"


def test_sse_kms_and_default_encryption(server, s3):
    key_arn = _kms_key(server)
    name = new_bucket(s3)
    put = s3.put_object(
        Bucket=name, Key="k", Body=b"kms body", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn
    )
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == key_arn
    got = s3.get_object(Bucket=name, Key="k")
    assert got["Body"].read() == b"kms body" and got["SSEKMSKeyId"] == key_arn
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    put = s3.put_object(Bucket=name, Key="by-default", Body=b"default kms")
    assert put["SSEKMSKeyId"] == key_arn and put["BucketKeyEnabled"] is True
    assert s3.get_object(Bucket=name, Key="by-default")["Body"].read() == b"default kms"
    # Re-encrypting copy: SSE-KMS -> SSE-S3.
    copied = s3.copy_object(
        Bucket=name, Key="plain", CopySource=f"{name}/k", ServerSideEncryption="AES256"
    )
    assert copied["ServerSideEncryption"] == "AES256"
    # A user with s3 permissions but no kms:Decrypt cannot read; nobody can once the key is off.
    _arn, client = user_client(server, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    reader = client("s3")
    assert reader.get_object(Bucket=name, Key="plain")["Body"].read() == b"kms body"
    with pytest.raises(ClientError) as e:
        reader.get_object(Bucket=name, Key="k")
    assert code(e) == "AccessDenied" and "kms:Decrypt" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        reader.put_object(
            Bucket=name, Key="w", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn
        )
    assert code(e) == "AccessDenied"
    server.client("kms").disable_key(KeyId=key_arn)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=name, Key="k")
    assert code(e) == "KMS.DisabledException"
    server.client("kms").enable_key(KeyId=key_arn)
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"kms body"


def test_no_plaintext_at_rest(fresh_server):
    """Objects written with every mode leave no trace of their plaintext in the data
    directory: not in blob files, not in the database (or its WAL)."""
    fresh_server.start()
    s3 = fresh_server.client("s3")
    marker = f"PLAINTEXT-MARKER-{uuid.uuid4().hex}".encode()
    name = new_bucket(s3)
    allow_sse_c(s3, name)
    body = marker * 5000 + os.urandom(1000) + marker
    s3.put_object(Bucket=name, Key="sse-s3", Body=body)
    s3.put_object(Bucket=name, Key="sse-c", Body=body, **sse_c_args(os.urandom(32)))
    s3.put_object(Bucket=name, Key="meta", Body=b"x", Metadata={"m": "not secret"})
    modes = ["sse-s3", "sse-c"]
    try:
        key_arn = fresh_server.client("kms").create_key()["KeyMetadata"]["Arn"]
        s3.put_object(
            Bucket=name,
            Key="sse-kms",
            Body=body,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=key_arn,
        )
        modes.append("sse-kms")
    except ClientError:
        pass
    uid = s3.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
    part = s3.upload_part(Bucket=name, Key="mp", UploadId=uid, PartNumber=1, Body=body)
    s3.complete_multipart_upload(
        Bucket=name,
        Key="mp",
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert s3.get_object(Bucket=name, Key="sse-s3")["Body"].read() == body
    fresh_server.stop()
    scanned = 0
    for root, _dirs, files in os.walk(fresh_server.data_dir):
        for file_name in files:
            with open(os.path.join(root, file_name), "rb") as f:
                data = f.read()
            scanned += len(data)
            assert marker not in data, f"plaintext marker found in {file_name}"
            assert marker[:20] not in data
    assert scanned > len(body) * len(modes)


def test_sse_kms_without_a_key_id_uses_the_accounts_aws_s3_key(server, s3):
    bucket = new_bucket(s3, "awss3")
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"managed", ServerSideEncryption="aws:kms")
    assert put["ServerSideEncryption"] == "aws:kms"
    kms = server.client("kms")
    managed = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert managed["KeyManager"] == "AWS"
    assert put["SSEKMSKeyId"] == managed["Arn"]
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"managed"
    assert got["SSEKMSKeyId"] == managed["Arn"]
    # Created once: a second object uses the same key.
    again = s3.put_object(Bucket=bucket, Key="k2", Body=b"x", ServerSideEncryption="aws:kms")
    assert again["SSEKMSKeyId"] == managed["Arn"]
