"""IAM users and access keys through boto3 and the AWS CLI."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_user_lifecycle(server):
    iam = server.client("iam")
    name = unique("alice")
    created = iam.create_user(UserName=name, Path="/team/", Tags=[{"Key": "dept", "Value": "x"}])
    user = created["User"]
    assert user["Arn"] == f"arn:aws:iam::000000000000:user/team/{name}"
    assert user["UserId"].startswith("AIDA") and len(user["UserId"]) == 21
    assert iam.get_user(UserName=name)["User"]["Tags"] == [{"Key": "dept", "Value": "x"}]
    with pytest.raises(ClientError) as error:
        iam.create_user(UserName=name.upper())
    assert error.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    names = [u["UserName"] for u in iam.list_users(PathPrefix="/team/")["Users"]]
    assert name in names
    iam.update_user(UserName=name, NewUserName=name + "-2")
    assert iam.get_user(UserName=name + "-2")["User"]["UserId"] == user["UserId"]
    iam.delete_user(UserName=name + "-2")
    with pytest.raises(ClientError) as error:
        iam.get_user(UserName=name + "-2")
    assert error.value.response["Error"]["Code"] == "NoSuchEntity"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_list_users_paginates(server):
    iam = server.client("iam")
    prefix = f"/{unique('page')}/"
    for i in range(5):
        iam.create_user(UserName=unique(f"p{i}"), Path=prefix)
    pages = list(
        iam.get_paginator("list_users").paginate(
            PathPrefix=prefix, MaxItems=5, PaginationConfig={"PageSize": 2}
        )
    )
    assert sum(len(p["Users"]) for p in pages) == 5
    assert len(pages) == 3


def test_invalid_input_is_refused(server):
    iam = server.client("iam")
    with pytest.raises(ClientError) as error:
        iam.create_user(UserName="bad name with spaces")
    assert error.value.response["Error"]["Code"] == "ValidationError"


def test_access_keys_work_and_stop_working_when_inactive_or_deleted(server):
    iam = server.client("iam")
    name = unique("keyholder")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["SecretAccessKey"]) == 40
    sts = make_client(
        server.endpoint,
        "sts",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    identity = sts.get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::000000000000:user/{name}"
    assert identity["UserId"].startswith("AIDA")
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    assert "SecretAccessKey" not in listed[0]

    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError) as error:
        sts.get_caller_identity()
    assert error.value.response["Error"]["Code"] == "InvalidClientTokenId"
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Active")
    assert sts.get_caller_identity()["Account"] == "000000000000"

    with pytest.raises(ClientError) as error:
        iam.delete_user(UserName=name)
    assert error.value.response["Error"]["Code"] == "DeleteConflict"
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as error:
        sts.get_caller_identity()
    assert error.value.response["Error"]["Code"] == "InvalidClientTokenId"
    iam.delete_user(UserName=name)


def test_access_key_quota(server):
    iam = server.client("iam")
    name = unique("quota")
    iam.create_user(UserName=name)
    iam.create_access_key(UserName=name)
    iam.create_access_key(UserName=name)
    with pytest.raises(ClientError) as error:
        iam.create_access_key(UserName=name)
    assert error.value.response["Error"]["Code"] == "LimitExceeded"


def test_user_without_policies_is_denied(server):
    iam = server.client("iam")
    name = unique("nopolicy")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    own = make_client(
        server.endpoint,
        "iam",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    with pytest.raises(ClientError) as error:
        own.create_user(UserName=unique("nope"))
    response = error.value.response
    assert response["Error"]["Code"] == "AccessDenied"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["Error"]["Message"].startswith(
        f"User: arn:aws:iam::000000000000:user/{name} is not authorized to perform: iam:CreateUser"
    )
