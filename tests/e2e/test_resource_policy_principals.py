"""Key and bucket policies name users and roles by their unique IDs, and only users and roles
that exist (IAM UG, "AWS JSON policy elements: Principal": the ARN "transforms to the ... unique
principal ID when you save the policy"): through boto3 against a live server."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.e2e.s3_helpers import new_bucket
from tests.e2e.sts_helpers import error_code, error_message, new_user, unique

ACCOUNT = "000000000000"
ROOT_ADMIN = {
    "Sid": "root",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _grant(principal: str, actions, resource: str = "*") -> dict:
    return {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": actions,
        "Resource": resource,
    }


def _delete_user(iam, name: str) -> None:
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)


def _named(document: str, index: int) -> object:
    return json.loads(document)["Statement"][index]["Principal"]["AWS"]


def test_key_policy_grant_is_not_inherited_by_a_user_created_again(server):
    iam, kms = server.client("iam"), server.client("kms")
    name, user_arn, first = new_user(server)
    user_id = iam.get_user(UserName=name)["User"]["UserId"]
    text = _policy(ROOT_ADMIN, _grant(user_arn, ["kms:Encrypt", "kms:DescribeKey"]))
    key = kms.create_key(Policy=text)["KeyMetadata"]["Arn"]
    first("kms").encrypt(KeyId=key, Plaintext=b"x")
    assert kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"] == text

    _delete_user(iam, name)
    shown = kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    assert _named(shown, 1) == user_id
    _, _, again = new_user(server, name=name)
    with pytest.raises(ClientError) as err:
        again("kms").encrypt(KeyId=key, Plaintext=b"x")
    assert error_code(err) == "AccessDeniedException"

    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=text)
    again("kms").encrypt(KeyId=key, Plaintext=b"x")


def test_key_policy_naming_a_missing_role_is_refused(server):
    kms = server.client("kms")
    missing = f"arn:aws:iam::{ACCOUNT}:role/{unique('no-such-role')}"
    bad = _policy(ROOT_ADMIN, _grant(missing, "kms:Decrypt"))
    with pytest.raises(ClientError) as err:
        kms.create_key(Policy=bad)
    assert error_code(err) == "MalformedPolicyDocumentException"
    assert error_message(err) == "Policy contains a statement with one or more invalid principals."
    key = kms.create_key(Policy=_policy(ROOT_ADMIN))["KeyMetadata"]["Arn"]
    with pytest.raises(ClientError) as err:
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=bad)
    assert error_code(err) == "MalformedPolicyDocumentException"
    assert kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"] == _policy(ROOT_ADMIN)


def test_bucket_policy_grant_is_not_inherited_by_a_user_created_again(server):
    iam, s3 = server.client("iam"), server.client("s3")
    bucket = new_bucket(s3, "bound")
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    name, user_arn, first = new_user(server)
    user_id = iam.get_user(UserName=name)["User"]["UserId"]
    text = _policy(_grant(user_arn, "s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
    s3.put_bucket_policy(Bucket=bucket, Policy=text)
    assert first("s3").get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == text

    _delete_user(iam, name)
    assert _named(s3.get_bucket_policy(Bucket=bucket)["Policy"], 0) == user_id
    _, _, again = new_user(server, name=name)
    with pytest.raises(ClientError) as err:
        again("s3").get_object(Bucket=bucket, Key="k")
    assert error_code(err) == "AccessDenied"


def test_bucket_policy_naming_a_missing_user_is_refused(server):
    s3 = server.client("s3")
    bucket = new_bucket(s3, "refused")
    missing = f"arn:aws:iam::{ACCOUNT}:user/{unique('no-such-user')}"
    with pytest.raises(ClientError) as err:
        s3.put_bucket_policy(
            Bucket=bucket,
            Policy=_policy(_grant(missing, "s3:GetObject", f"arn:aws:s3:::{bucket}/*")),
        )
    assert error_code(err) == "MalformedPolicy"
    assert error_message(err) == "Invalid principal in policy"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as err:
        s3.get_bucket_policy(Bucket=bucket)
    assert error_code(err) == "NoSuchBucketPolicy"
