"""Attribute-based access control: the tags and IAM's own keys in the request context.

* ``aws:PrincipalTag/*`` is set from an IAM user's tags (long-term keys and the user's
  GetSessionToken / GetFederationToken sessions), read live: TagUser/UntagUser count from the
  next call.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.iam_domain.helpers import ACCOUNT, allow, doc, trust, unique


def user_keys(iam, name: str) -> dict:
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def session_keys(credentials: dict) -> dict:
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def is_denied(call, *args, **kwargs) -> bool:
    try:
        call(*args, **kwargs)
    except ClientError as error:
        # IAM (query) answers AccessDenied/403, KMS (JSON) AccessDeniedException/400.
        code = error.response["Error"]["Code"]
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        assert (code, status) in (("AccessDenied", 403), ("AccessDeniedException", 400))
        return True
    return False


# aws:PrincipalTag/* of IAM users


def test_user_tags_are_principal_tags_and_count_from_the_next_call(server):
    iam = server.client("iam")
    name = unique("tagged")
    iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "blue"}])
    iam.put_user_policy(
        UserName=name,
        PolicyName="abac",
        PolicyDocument=doc(
            allow("iam:GetUser", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}}),
            # A policy variable: roles named after the user's team.
            allow("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/${{aws:PrincipalTag/team}}-*"),
            # Null: only while the user has a cost-center tag at all.
            allow("iam:ListRoles", Condition={"Null": {"aws:PrincipalTag/cost-center": "false"}}),
        ),
    )
    own = make_client(server.endpoint, "iam", **user_keys(iam, name))
    blue_role, red_role = unique("blue"), unique("red")
    for role in (blue_role, red_role):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())

    assert own.get_user(UserName=name)["User"]["UserName"] == name
    assert own.get_role(RoleName=blue_role)["Role"]["RoleName"] == blue_role
    assert is_denied(own.get_role, RoleName=red_role)
    assert is_denied(own.list_roles, MaxItems=1)

    iam.tag_user(UserName=name, Tags=[{"Key": "cost-center", "Value": "42"}])
    own.list_roles(MaxItems=1)  # the very next call sees the new tag

    iam.untag_user(UserName=name, TagKeys=["team"])
    assert is_denied(own.get_user, UserName=name)
    assert is_denied(own.get_role, RoleName=blue_role)

    iam.tag_user(UserName=name, Tags=[{"Key": "team", "Value": "red"}])
    assert is_denied(own.get_user, UserName=name)
    assert own.get_role(RoleName=red_role)["Role"]["RoleName"] == red_role


def test_sessions_of_a_tagged_user_carry_its_tags(server):
    iam = server.client("iam")
    name = unique("tagged")
    iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "blue"}])
    iam.put_user_policy(
        UserName=name,
        PolicyName="abac",
        PolicyDocument=doc(
            allow(["sts:GetFederationToken", "sts:GetSessionToken"]),
            allow("kms:ListKeys", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}}),
        ),
    )
    sts = make_client(server.endpoint, "sts", **user_keys(iam, name))
    token = sts.get_session_token()["Credentials"]
    federated = sts.get_federation_token(Name="blue-fed", Policy=doc(allow("*")))["Credentials"]
    for credentials in (token, federated):
        make_client(server.endpoint, "kms", **session_keys(credentials)).list_keys()

    iam.untag_user(UserName=name, TagKeys=["team"])
    for credentials in (token, federated):
        kms = make_client(server.endpoint, "kms", **session_keys(credentials))
        assert is_denied(kms.list_keys)
