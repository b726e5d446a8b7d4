"""S3 access control: bucket policies with IAM policies and S3 condition keys, Block Public
Access, anonymous access."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.s3_helpers import code, new_bucket, policy, s3_client, status, user_client


@pytest.fixture(scope="module")
def s3(server):
    return s3_client(server)


def test_deny_unless_kms_policy(s3):
    name = new_bucket(s3)
    s3.put_bucket_policy(
        Bucket=name,
        Policy=policy(
            {
                "Sid": "DenyUnencrypted",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{name}/*",
                "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
            }
        ),
    )
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="plain", Body=b"x")
    assert code(e) == "AccessDenied" and status(e) == 403
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=name, Key="aes", Body=b"x", ServerSideEncryption="AES256")
    assert code(e) == "AccessDenied"
    assert "Deny" in s3.get_bucket_policy(Bucket=name)["Policy"]
    assert s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is False
    s3.delete_bucket_policy(Bucket=name)
    s3.put_object(Bucket=name, Key="plain", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.get_bucket_policy(Bucket=name)
    assert code(e) == "NoSuchBucketPolicy"
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=name, Policy="not json")
    assert code(e) == "MalformedPolicy"


def test_bucket_policy_grants_user_and_prefix_condition(server, s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="public/a", Body=b"a")
    s3.put_object(Bucket=name, Key="private/b", Body=b"b")
    arn, client = user_client(server)
    user = client("s3")
    with pytest.raises(ClientError) as e:
        user.get_object(Bucket=name, Key="public/a")
    assert code(e) == "AccessDenied"
    s3.put_bucket_policy(
        Bucket=name,
        Policy=policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": arn},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{name}/public/*",
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": arn},
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{name}",
                "Condition": {"StringEquals": {"s3:prefix": "public/"}},
            },
        ),
    )
    assert user.get_object(Bucket=name, Key="public/a")["Body"].read() == b"a"
    with pytest.raises(ClientError) as e:
        user.get_object(Bucket=name, Key="private/b")
    assert code(e) == "AccessDenied"
    assert [o["Key"] for o in user.list_objects_v2(Bucket=name, Prefix="public/")["Contents"]] == [
        "public/a"
    ]
    with pytest.raises(ClientError) as e:
        user.list_objects_v2(Bucket=name)
    assert code(e) == "AccessDenied"


def test_block_public_access_and_anonymous(server, s3):
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="index.html", Body=b"<h1>hi</h1>")
    public = policy(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{name}/*",
        }
    )
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=name, Policy=public)
    assert code(e) == "AccessDenied" and "BlockPublicPolicy" in e.value.response["Error"]["Message"]
    anonymous = server.client("s3", config=Config(signature_version=UNSIGNED))
    with pytest.raises(ClientError) as e:
        anonymous.get_object(Bucket=name, Key="index.html")
    assert status(e) == 403
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_policy(Bucket=name, Policy=public)
    assert s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is True
    with pytest.raises(ClientError) as e:  # RestrictPublicBuckets: the public grant is ignored
        anonymous.get_object(Bucket=name, Key="index.html")
    assert status(e) == 403
    s3.delete_public_access_block(Bucket=name)
    assert anonymous.get_object(Bucket=name, Key="index.html")["Body"].read() == b"<h1>hi</h1>"
    with urllib.request.urlopen(f"{server.endpoint}/{name}/index.html") as response:
        assert response.read() == b"<h1>hi</h1>"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(
            urllib.request.Request(f"{server.endpoint}/{name}/x", data=b"x", method="PUT")
        )
    assert e.value.code == 403
    with pytest.raises(ClientError) as e:
        anonymous.list_objects_v2(Bucket=name)
    assert status(e) == 403


def test_identity_policy_with_encryption_condition(server, s3):
    name = new_bucket(s3)
    _arn, client = user_client(
        server,
        {
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{name}/*",
            "Condition": {"StringEquals": {"s3:x-amz-server-side-encryption": "AES256"}},
        },
    )
    user = client("s3")
    user.put_object(Bucket=name, Key="ok", Body=b"x", ServerSideEncryption="AES256")
    with pytest.raises(ClientError) as e:
        user.put_object(Bucket=name, Key="no", Body=b"x")
    assert code(e) == "AccessDenied"
