"""Attribute-based access control: the tags and IAM's own keys in the request context.

* ``aws:PrincipalTag/*`` is set from an IAM user's tags (long-term keys and the user's
  GetSessionToken / GetFederationToken sessions), read live: TagUser/UntagUser count from the
  next call.
* IAM's own keys: ``iam:PermissionsBoundary``, ``iam:PolicyARN``, ``aws:RequestTag/*`` and
  ``aws:TagKeys`` from the request; ``aws:ResourceTag/*`` and ``iam:ResourceTag/*`` of the user
  or role acted on (also on ``sts:AssumeRole``).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.iam_domain.helpers import (
    ACCOUNT,
    SAML_METADATA,
    allow,
    deny,
    doc,
    trust,
    unique,
    user_with_keys,
)


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


# IAM's own keys: what the request asks for


def test_request_keys_permissions_boundary_policy_arn_and_tags(server):
    iam = server.client("iam")
    boundary = iam.create_policy(PolicyName=unique("boundary"), PolicyDocument=doc(allow("s3:*")))[
        "Policy"
    ]["Arn"]
    other = iam.create_policy(PolicyName=unique("other"), PolicyDocument=doc(allow("s3:*")))[
        "Policy"
    ]["Arn"]
    bounded = {"StringEquals": {"iam:PermissionsBoundary": boundary}}
    name, own = user_with_keys(server, iam)
    iam.put_user_policy(
        UserName=name,
        PolicyName="delegated-admin",
        PolicyDocument=doc(
            allow(["iam:CreateUser", "iam:PutUserPermissionsBoundary"], Condition=bounded),
            allow("iam:AttachUserPolicy", Condition={"ArnEquals": {"iam:PolicyARN": boundary}}),
            allow(
                ["iam:TagUser", "iam:CreateRole"],
                Condition={
                    "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]},
                    "StringEquals": {"aws:RequestTag/team": "blue"},
                },
            ),
            allow(
                "iam:UntagUser", Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}
            ),
        ),
    )

    made = unique("bounded")
    own.create_user(UserName=made, PermissionsBoundary=boundary)
    assert is_denied(own.create_user, UserName=unique("unbounded"))
    assert is_denied(own.create_user, UserName=unique("other"), PermissionsBoundary=other)
    own.put_user_permissions_boundary(UserName=made, PermissionsBoundary=boundary)
    assert is_denied(own.put_user_permissions_boundary, UserName=made, PermissionsBoundary=other)

    own.attach_user_policy(UserName=made, PolicyArn=boundary)
    assert is_denied(own.attach_user_policy, UserName=made, PolicyArn=other)

    own.tag_user(UserName=made, Tags=[{"Key": "team", "Value": "blue"}])
    assert is_denied(own.tag_user, UserName=made, Tags=[{"Key": "team", "Value": "red"}])
    assert is_denied(own.tag_user, UserName=made, Tags=[{"Key": "owner", "Value": "blue"}])
    own.untag_user(UserName=made, TagKeys=["team"])
    assert is_denied(own.untag_user, UserName=made, TagKeys=["owner"])
    assert iam.list_user_tags(UserName=made)["Tags"] == []

    role = unique("role")
    own.create_role(
        RoleName=role, AssumeRolePolicyDocument=trust(), Tags=[{"Key": "team", "Value": "blue"}]
    )
    assert is_denied(own.create_role, RoleName=unique("untagged"), AssumeRolePolicyDocument=trust())


def test_negated_condition_on_a_request_key_denies_only_what_differs(server):
    iam = server.client("iam")
    boundary = iam.create_policy(PolicyName=unique("boundary"), PolicyDocument=doc(allow("s3:*")))[
        "Policy"
    ]["Arn"]
    name, own = user_with_keys(server, iam)
    iam.put_user_policy(
        UserName=name,
        PolicyName="require-boundary",
        PolicyDocument=doc(
            allow("iam:CreateUser"),
            deny(
                "iam:CreateUser",
                Condition={"StringNotEquals": {"iam:PermissionsBoundary": boundary}},
            ),
        ),
    )
    own.create_user(UserName=unique("bounded"), PermissionsBoundary=boundary)
    assert is_denied(own.create_user, UserName=unique("unbounded"))


# IAM's own keys: the user or role acted on


def test_resource_tags_and_boundary_of_users_and_roles(server):
    iam = server.client("iam")
    boundary = iam.create_policy(PolicyName=unique("boundary"), PolicyDocument=doc(allow("s3:*")))[
        "Policy"
    ]["Arn"]
    blue = [{"Key": "team", "Value": "blue"}]
    red = [{"Key": "team", "Value": "red"}]
    name, own = user_with_keys(server, iam)
    iam.put_user_policy(
        UserName=name,
        PolicyName="team-blue",
        PolicyDocument=doc(
            allow(
                ["iam:GetUser", "iam:CreateAccessKey"],
                Condition={"StringEquals": {"iam:ResourceTag/team": "blue"}},
            ),
            allow("iam:GetRole", Condition={"StringEquals": {"aws:ResourceTag/team": "blue"}}),
            allow(
                "iam:PutRolePolicy",
                Condition={"StringEquals": {"iam:PermissionsBoundary": boundary}},
            ),
        ),
    )
    blue_user, red_user = unique("blue"), unique("red")
    iam.create_user(UserName=blue_user, Tags=blue)
    iam.create_user(UserName=red_user, Tags=red)
    assert own.get_user(UserName=blue_user)["User"]["UserName"] == blue_user
    assert is_denied(own.get_user, UserName=red_user)
    own.create_access_key(UserName=blue_user)
    assert is_denied(own.create_access_key, UserName=red_user)

    blue_role, red_role = unique("blue"), unique("red")
    iam.create_role(
        RoleName=blue_role,
        AssumeRolePolicyDocument=trust(),
        Tags=blue,
        PermissionsBoundary=boundary,
    )
    iam.create_role(RoleName=red_role, AssumeRolePolicyDocument=trust(), Tags=red)
    assert own.get_role(RoleName=blue_role)["Role"]["RoleName"] == blue_role
    assert is_denied(own.get_role, RoleName=red_role)

    inline = doc(allow("s3:GetObject"))
    own.put_role_policy(RoleName=blue_role, PolicyName="p", PolicyDocument=inline)
    assert is_denied(own.put_role_policy, RoleName=red_role, PolicyName="p", PolicyDocument=inline)


def test_resource_tags_of_policies_providers_instance_profiles_and_mfa_devices(server):
    """aws:ResourceTag/* is set from the tags of every taggable IAM resource acted on, not only
    users and roles; a resource that does not exist is still refused before it is looked up."""
    iam = server.client("iam")
    blue = [{"Key": "team", "Value": "blue"}]
    red = [{"Key": "team", "Value": "red"}]
    name, own = user_with_keys(server, iam)
    actions = [
        "iam:GetPolicy",
        "iam:TagPolicy",
        "iam:GetOpenIDConnectProvider",
        "iam:GetSAMLProvider",
        "iam:GetInstanceProfile",
        "iam:ListMFADeviceTags",
    ]
    iam.put_user_policy(
        UserName=name,
        PolicyName="team-blue",
        PolicyDocument=doc(
            allow(actions, Condition={"StringEquals": {"aws:ResourceTag/team": "blue"}})
        ),
    )
    tagged = {}
    for team, tags in (("blue", blue), ("red", red)):
        policy = iam.create_policy(
            PolicyName=unique(team), PolicyDocument=doc(allow("s3:GetObject")), Tags=tags
        )["Policy"]["Arn"]
        oidc = iam.create_open_id_connect_provider(
            Url=f"https://{unique(team)}.example.com",
            ClientIDList=["app"],
            ThumbprintList=["a" * 40],
            Tags=tags,
        )["OpenIDConnectProviderArn"]
        saml = iam.create_saml_provider(
            Name=unique(team), SAMLMetadataDocument=SAML_METADATA, Tags=tags
        )["SAMLProviderArn"]
        profile = unique(team)
        iam.create_instance_profile(InstanceProfileName=profile, Tags=tags)
        device = iam.create_virtual_mfa_device(VirtualMFADeviceName=unique(team), Tags=tags)
        tagged[team] = (policy, oidc, saml, profile, device["VirtualMFADevice"]["SerialNumber"])

    for team, expect_denied in (("blue", False), ("red", True)):
        policy, oidc, saml, profile, serial = tagged[team]
        calls = [
            (own.get_policy, {"PolicyArn": policy}),
            (own.tag_policy, {"PolicyArn": policy, "Tags": [{"Key": "k", "Value": "v"}]}),
            (own.get_open_id_connect_provider, {"OpenIDConnectProviderArn": oidc}),
            (own.get_saml_provider, {"SAMLProviderArn": saml}),
            (own.get_instance_profile, {"InstanceProfileName": profile}),
            (own.list_mfa_device_tags, {"SerialNumber": serial}),
        ]
        for call, kwargs in calls:
            assert is_denied(call, **kwargs) is expect_denied, (team, call.__name__)

    # a policy that does not exist has no tags: refused, not reported missing
    missing = f"arn:aws:iam::{ACCOUNT}:policy/{unique('missing')}"
    assert is_denied(own.get_policy, PolicyArn=missing)


def test_assume_role_by_matching_role_and_principal_tags(server):
    """The IAM ABAC tutorial: a user may assume the roles of its own project."""
    iam = server.client("iam")
    name = unique("dev")
    iam.create_user(UserName=name, Tags=[{"Key": "access-project", "Value": "peg"}])
    iam.put_user_policy(
        UserName=name,
        PolicyName="assume-own-project",
        PolicyDocument=doc(
            allow(
                "sts:AssumeRole",
                f"arn:aws:iam::{ACCOUNT}:role/access-*",
                Condition={
                    "StringEquals": {
                        "iam:ResourceTag/access-project": "${aws:PrincipalTag/access-project}"
                    }
                },
            )
        ),
    )
    sts = make_client(server.endpoint, "sts", **user_keys(iam, name))
    own_role, other_role = unique("access-peg"), unique("access-uni")
    iam.create_role(
        RoleName=own_role,
        AssumeRolePolicyDocument=trust(),
        Tags=[{"Key": "access-project", "Value": "peg"}],
    )
    iam.create_role(
        RoleName=other_role,
        AssumeRolePolicyDocument=trust(),
        Tags=[{"Key": "access-project", "Value": "uni"}],
    )
    arn = f"arn:aws:iam::{ACCOUNT}:role/"
    sts.assume_role(RoleArn=arn + own_role, RoleSessionName="abac")
    assert is_denied(sts.assume_role, RoleArn=arn + other_role, RoleSessionName="abac")
