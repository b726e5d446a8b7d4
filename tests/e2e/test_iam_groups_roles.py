"""IAM groups, roles and instance profiles through boto3."""

from __future__ import annotations

import json

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.iam_domain.helpers import ACCOUNT, error_of, trust, unique


def test_group_lifecycle_and_membership(server):
    iam = server.client("iam")
    group, user = unique("devs"), unique("gm")
    created = iam.create_group(GroupName=group, Path="/eng/")["Group"]
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:group/eng/{group}"
    assert created["GroupId"].startswith("AGPA")
    with pytest.raises(ClientError) as error:
        iam.create_group(GroupName=group.upper())
    assert error_of(error)[0::2] == ("EntityAlreadyExists", 409)

    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    got = iam.get_group(GroupName=group)
    assert [u["UserName"] for u in got["Users"]] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    assert group in [g["GroupName"] for g in iam.list_groups(PathPrefix="/eng/")["Groups"]]

    with pytest.raises(ClientError) as error:
        iam.delete_group(GroupName=group)
    assert error_of(error) == (
        "DeleteConflict",
        "Cannot delete entity, must remove users from group first.",
        409,
    )
    with pytest.raises(ClientError) as error:
        iam.delete_user(UserName=user)
    assert error_of(error)[0] == "DeleteConflict"

    iam.update_group(GroupName=group, NewGroupName=group + "-x", NewPath="/ops/")
    renamed = iam.get_group(GroupName=group + "-x")
    assert renamed["Group"]["Arn"].endswith(f":group/ops/{group}-x")
    assert [u["UserName"] for u in renamed["Users"]] == [user]
    assert iam.list_groups_for_user(UserName=user)["Groups"][0]["GroupName"] == group + "-x"

    iam.remove_user_from_group(GroupName=group + "-x", UserName=user)
    with pytest.raises(ClientError) as error:
        iam.remove_user_from_group(GroupName=group + "-x", UserName=user)
    assert error_of(error)[0] == "NoSuchEntity"
    iam.delete_group(GroupName=group + "-x")
    iam.delete_user(UserName=user)
    with pytest.raises(ClientError) as error:
        iam.get_group(GroupName=group + "-x")
    assert error_of(error) == (
        "NoSuchEntity",
        f"The group with name {group}-x cannot be found.",
        404,
    )


def test_role_lifecycle(server):
    iam = server.client("iam")
    name = unique("app")
    role = iam.create_role(
        RoleName=name,
        Path="/service/",
        AssumeRolePolicyDocument=trust(),
        Description="the app",
        MaxSessionDuration=7200,
        Tags=[{"Key": "team", "Value": "red"}],
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/service/{name}"
    assert role["RoleId"].startswith("AROA")
    # boto3 URL-decodes and parses the trust policy IAM returns.
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"

    got = iam.get_role(RoleName=name)["Role"]
    assert got["MaxSessionDuration"] == 7200
    assert got["Description"] == "the app"
    assert got["Tags"] == [{"Key": "team", "Value": "red"}]
    listed = [r for r in iam.list_roles(PathPrefix="/service/")["Roles"] if r["RoleName"] == name]
    assert listed and "Tags" not in listed[0]

    iam.update_role(RoleName=name, MaxSessionDuration=43200)
    assert iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 43200
    with pytest.raises(ClientError) as error:
        iam.update_role(RoleName=name, MaxSessionDuration=43201)
    assert error_of(error)[0] == "ValidationError"
    unchecked = server.client("iam", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as error:
        unchecked.create_role(
            RoleName=unique("short"), AssumeRolePolicyDocument=trust(), MaxSessionDuration=3599
        )
    assert error_of(error)[0] == "ValidationError"

    described = iam.update_role_description(RoleName=name, Description="new")["Role"]
    assert described["Description"] == "new"

    new_trust = trust({"Service": "lambda.amazonaws.com"})
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=new_trust)
    principal = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]["Statement"][0][
        "Principal"
    ]
    assert principal == {"Service": "lambda.amazonaws.com"}

    iam.tag_role(RoleName=name, Tags=[{"Key": "env", "Value": "prod"}])
    iam.untag_role(RoleName=name, TagKeys=["team"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "env", "Value": "prod"}]

    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as error:
        iam.get_role(RoleName=name)
    assert error_of(error) == ("NoSuchEntity", f"The role with name {name} cannot be found.", 404)


def test_trust_policy_is_validated(server):
    iam = server.client("iam")
    cases = [
        ("not json", "Syntax errors in policy."),
        (
            json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}],
                }
            ),
            "Missing required field Principal",
        ),
        (
            json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": "*"},
                            "Action": "sts:AssumeRole",
                            "Resource": "*",
                        }
                    ],
                }
            ),
            "Has prohibited field Resource",
        ),
    ]
    for document, reason in cases:
        with pytest.raises(ClientError) as error:
            iam.create_role(RoleName=unique("bad"), AssumeRolePolicyDocument=document)
        assert error_of(error) == ("MalformedPolicyDocument", reason, 400)
    name = unique("keep")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust())
    with pytest.raises(ClientError) as error:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument="{}")
    assert error_of(error)[0] == "MalformedPolicyDocument"


def test_instance_profiles(server):
    iam = server.client("iam")
    role, profile = unique("ec2"), unique("prof")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"}))
    created = iam.create_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
    assert created["InstanceProfileId"].startswith("AIPA") and created["Roles"] == []
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    got = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == [role]
    with pytest.raises(ClientError) as error:
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    assert error_of(error)[0] == "EntityAlreadyExists"
    for_role = iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in for_role] == [profile]
    with pytest.raises(ClientError) as error:
        iam.delete_role(RoleName=role)
    assert error_of(error)[0] == "DeleteConflict"
    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=profile)
    iam.delete_role(RoleName=role)
