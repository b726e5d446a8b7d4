"""IAM's rules for entities and their attributes: password character classes, password expiry,
login profiles, tags, the account alias and the account's quotas."""

from __future__ import annotations

import contextlib

import pytest
from botocore.exceptions import ClientError

from tests.iam_domain.helpers import allow, doc, error_of, trust, unique

VIOLATION = (
    "PasswordPolicyViolation",
    "Password does not conform to the account password policy.",
    400,
)


@pytest.fixture
def iam(server):
    """The root user's IAM client; any account password policy set is removed afterwards."""
    client = server.client("iam")
    yield client
    with contextlib.suppress(ClientError):
        client.delete_account_password_policy()


@pytest.mark.parametrize(
    "password",
    [
        "École-école-1!",  # no ASCII uppercase: É is not A to Z
        "ECOLE-ÉCOLß-1!",  # no ASCII lowercase: ß is not a to z
        "Ecole-ecole-²!",  # no number: ² is not 0 to 9
    ],
)
def test_password_character_classes_are_ascii(iam, password):
    iam.update_account_password_policy(
        MinimumPasswordLength=8,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        RequireNumbers=True,
        RequireSymbols=True,
    )
    name = unique("ascii")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as error:
        iam.create_login_profile(UserName=name, Password=password)
    assert error_of(error) == VIOLATION
    iam.create_login_profile(UserName=name, Password="Ecole-ecole-1!")
    with pytest.raises(ClientError) as error:
        iam.update_login_profile(UserName=name, Password=password)
    assert error_of(error) == VIOLATION


def test_default_policy_counts_only_ascii_character_types(iam):
    with contextlib.suppress(ClientError):
        iam.delete_account_password_policy()
    name = unique("default")
    iam.create_user(UserName=name)
    # Three "types" only if É, ß and ² counted: AWS's default policy refuses it.
    with pytest.raises(ClientError) as error:
        iam.create_login_profile(UserName=name, Password="ÉÉÉßßß²²")
    assert error_of(error) == VIOLATION


def test_create_login_profile_requires_a_password(iam):
    name = unique("nopw")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as error:
        iam.create_login_profile(UserName=name)
    assert error_of(error) == (
        "ValidationError",
        "1 validation error detected: Value null at 'password' failed to satisfy constraint: "
        "Member must not be null",
        400,
    )
    with pytest.raises(ClientError) as error:
        iam.get_login_profile(UserName=name)
    assert error_of(error)[0] == "NoSuchEntity"


def test_tag_key_and_value_patterns_are_enforced(iam):
    name = unique("tagpat")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as error:
        iam.tag_user(UserName=name, Tags=[{"Key": "a*b#c", "Value": "ok"}])
    assert error_of(error) == (
        "ValidationError",
        "1 validation error detected: Value 'a*b#c' at 'tags.1.member.key' failed to satisfy "
        r"constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+",
        400,
    )
    with pytest.raises(ClientError) as error:
        iam.tag_user(UserName=name, Tags=[{"Key": "ok", "Value": "<x>"}])
    assert error_of(error)[0::2] == ("ValidationError", 400)
    assert "'tags.1.member.value'" in error_of(error)[1]
    iam.tag_user(UserName=name, Tags=[{"Key": "Équipe 1", "Value": "café:x/y=z+@-_."}])
    assert iam.list_user_tags(UserName=name)["Tags"] == [
        {"Key": "Équipe 1", "Value": "café:x/y=z+@-_."}
    ]


TRUST = trust()
POLICY = doc(allow("s3:GetObject"))


@pytest.mark.parametrize(
    "tag", [{"Key": "aws:reserved", "Value": "x"}, {"Key": "ok", "Value": "AWS:reserved"}]
)
def test_reserved_aws_prefix_is_refused_on_every_taggable_resource(iam, tag):
    user, role = unique("res"), unique("res")
    iam.create_user(UserName=user)
    policy = iam.create_policy(PolicyName=unique("res"), PolicyDocument=POLICY)["Policy"]["Arn"]
    attempts = {
        "CreateUser": lambda: iam.create_user(UserName=unique("res"), Tags=[tag]),
        "TagUser": lambda: iam.tag_user(UserName=user, Tags=[tag]),
        "CreateRole": lambda: iam.create_role(
            RoleName=role, AssumeRolePolicyDocument=TRUST, Tags=[tag]
        ),
        "TagPolicy": lambda: iam.tag_policy(PolicyArn=policy, Tags=[tag]),
        "CreateInstanceProfile": lambda: iam.create_instance_profile(
            InstanceProfileName=unique("res"), Tags=[tag]
        ),
    }
    for operation, attempt in attempts.items():
        with pytest.raises(ClientError) as error:
            attempt()
        code, message, status = error_of(error)
        assert (code, status) == ("InvalidInput", 400), operation
        assert "aws:" in message
    assert iam.list_user_tags(UserName=user)["Tags"] == []
    assert iam.list_policy_tags(PolicyArn=policy)["Tags"] == []
    with pytest.raises(ClientError) as error:
        iam.get_role(RoleName=role)
    assert error_of(error)[0] == "NoSuchEntity"


def test_tag_keys_are_case_insensitive_only_for_users_and_roles(iam):
    policy = iam.create_policy(
        PolicyName=unique("case"), PolicyDocument=POLICY, Tags=[{"Key": "Costcenter", "Value": "1"}]
    )["Policy"]["Arn"]
    iam.tag_policy(PolicyArn=policy, Tags=[{"Key": "costcenter", "Value": "2"}])
    assert sorted(t["Key"] for t in iam.list_policy_tags(PolicyArn=policy)["Tags"]) == [
        "Costcenter",
        "costcenter",
    ]
    iam.untag_policy(PolicyArn=policy, TagKeys=["COSTCENTER", "costcenter"])
    assert iam.list_policy_tags(PolicyArn=policy)["Tags"] == [{"Key": "Costcenter", "Value": "1"}]
    profile = unique("case")
    iam.create_instance_profile(
        InstanceProfileName=profile,
        Tags=[{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}],
    )
    assert len(iam.list_instance_profile_tags(InstanceProfileName=profile)["Tags"]) == 2
    user = unique("case")
    iam.create_user(UserName=user, Tags=[{"Key": "Department", "Value": "finance"}])
    iam.tag_user(UserName=user, Tags=[{"Key": "department", "Value": "hr"}])
    assert iam.list_user_tags(UserName=user)["Tags"] == [{"Key": "department", "Value": "hr"}]
    with pytest.raises(ClientError) as error:
        iam.create_role(
            RoleName=unique("case"),
            AssumeRolePolicyDocument=TRUST,
            Tags=[{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}],
        )
    assert error_of(error)[0] == "InvalidInput"


def test_account_alias_cannot_be_a_12_digit_number(iam):
    before = iam.list_account_aliases()["AccountAliases"]
    with pytest.raises(ClientError) as error:
        iam.create_account_alias(AccountAlias="111122223333")
    assert error_of(error) == (
        "ValidationError",
        "The specified value for accountAlias is invalid. It cannot be a 12-digit number.",
        400,
    )
    assert iam.list_account_aliases()["AccountAliases"] == before


def test_account_entity_quotas_are_enforced(fresh_server):
    fresh_server.start()
    iam = fresh_server.client("iam")
    for i in range(300):
        iam.create_group(GroupName=f"g{i}")
    with pytest.raises(ClientError) as error:
        iam.create_group(GroupName="one-too-many")
    assert error_of(error) == (
        "LimitExceeded",
        "Cannot exceed quota for GroupsPerAccount: 300",
        409,
    )
    groups = iam.get_paginator("list_groups").paginate().build_full_result()["Groups"]
    assert len(groups) == 300
    assert iam.get_account_summary()["SummaryMap"]["GroupsQuota"] == 300
    iam.delete_group(GroupName="g0")
    iam.create_group(GroupName="one-too-many")  # room again


def test_login_profile_follows_a_case_only_rename(iam):
    name = unique("case").lower()
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password="Corr3ct-Horse!")
    iam.update_user(UserName=name, NewUserName=name.upper())
    profile = iam.get_login_profile(UserName=name.upper())["LoginProfile"]
    assert profile["UserName"] == name.upper()
