"""Trust policies name users and roles by their unique IDs, and only users and roles that exist
(IAM UG, "AWS JSON policy elements: Principal"): through boto3 against a live server."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.e2e.sts_helpers import (
    allow,
    document,
    error_code,
    error_message,
    new_user,
    session_client,
    trust,
    unique,
)

ACCOUNT = "000000000000"


def _delete_user(iam, name: str) -> None:
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)


def _trusted(role: dict) -> object:
    return role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]


def test_a_user_created_again_does_not_inherit_the_trust(server, iam):
    name, user_arn, first = new_user(server)
    user_id = iam.get_user(UserName=name)["User"]["UserId"]
    condition = {"StringEquals": {"aws:PrincipalArn": user_arn}}
    role = iam.create_role(
        RoleName=unique("trusts-user"),
        AssumeRolePolicyDocument=trust({"AWS": user_arn}, Condition=condition),
    )["Role"]
    assert _trusted(role) == user_arn
    first("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="first")

    _delete_user(iam, name)
    shown = iam.get_role(RoleName=role["RoleName"])["Role"]
    # The deleted user shows as its unique ID; the condition's ARN is a string, not a principal.
    assert _trusted(shown) == user_id
    assert shown["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] == condition
    listed = [r for r in iam.list_roles()["Roles"] if r["RoleName"] == role["RoleName"]]
    assert _trusted(listed[0]) == user_id

    _, again_arn, again = new_user(server, name=name)
    assert again_arn == user_arn
    with pytest.raises(ClientError) as err:
        again("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="again")
    assert error_code(err) == "AccessDenied"
    assert _trusted(iam.get_role(RoleName=role["RoleName"])["Role"]) == user_id

    # Saving the ARN again binds the new user.
    iam.update_assume_role_policy(
        RoleName=role["RoleName"], PolicyDocument=trust({"AWS": user_arn})
    )
    again("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="again")
    assert _trusted(iam.get_role(RoleName=role["RoleName"])["Role"]) == user_arn


def test_a_role_created_again_does_not_inherit_the_trust(server, iam):
    _, _, caller = new_user(server, allow("sts:AssumeRole"))
    middle_name = unique("middle")
    account_trust = trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    middle = iam.create_role(RoleName=middle_name, AssumeRolePolicyDocument=account_trust)["Role"]
    iam.put_role_policy(
        RoleName=middle_name, PolicyName="chain", PolicyDocument=document(allow("sts:AssumeRole"))
    )
    target = iam.create_role(
        RoleName=unique("target"), AssumeRolePolicyDocument=trust({"AWS": middle["Arn"]})
    )["Role"]
    hop = caller("sts").assume_role(RoleArn=middle["Arn"], RoleSessionName="hop")
    session_client(server, hop["Credentials"], "sts").assume_role(
        RoleArn=target["Arn"], RoleSessionName="target"
    )

    iam.delete_role_policy(RoleName=middle_name, PolicyName="chain")
    iam.delete_role(RoleName=middle_name)
    assert _trusted(iam.get_role(RoleName=target["RoleName"])["Role"]) == middle["RoleId"]
    recreated = iam.create_role(RoleName=middle_name, AssumeRolePolicyDocument=account_trust)
    assert recreated["Role"]["Arn"] == middle["Arn"]
    iam.put_role_policy(
        RoleName=middle_name, PolicyName="chain", PolicyDocument=document(allow("sts:AssumeRole"))
    )
    hop = caller("sts").assume_role(RoleArn=middle["Arn"], RoleSessionName="hop")
    with pytest.raises(ClientError) as err:
        session_client(server, hop["Credentials"], "sts").assume_role(
            RoleArn=target["Arn"], RoleSessionName="target"
        )
    assert error_code(err) == "AccessDenied"


def test_a_renamed_user_keeps_the_trust_and_shows_its_new_arn(server, iam):
    name, user_arn, client = new_user(server)
    role = iam.create_role(
        RoleName=unique("trusts-renamed"), AssumeRolePolicyDocument=trust({"AWS": [user_arn]})
    )["Role"]
    iam.update_user(UserName=name, NewUserName=name + "-r", NewPath="/moved/")
    new_arn = iam.get_user(UserName=name + "-r")["User"]["Arn"]
    assert new_arn == f"arn:aws:iam::{ACCOUNT}:user/moved/{name}-r"
    assert _trusted(iam.get_role(RoleName=role["RoleName"])["Role"]) == [new_arn]
    client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="renamed")


@pytest.mark.parametrize("kind", ["user", "role"])
def test_a_trust_policy_naming_a_missing_user_or_role_is_refused(server, iam, kind):
    missing = f"arn:aws:iam::{ACCOUNT}:{kind}/{unique('does-not-exist')}"
    name = unique("refused")
    with pytest.raises(ClientError) as err:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust({"AWS": missing}))
    assert error_code(err) == "MalformedPolicyDocument"
    assert error_message(err) == f'Invalid principal in policy: "AWS":"{missing}"'
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as err:
        iam.get_role(RoleName=name)
    assert error_code(err) == "NoSuchEntity"

    original = trust({"Service": "ec2.amazonaws.com"})
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=original)
    with pytest.raises(ClientError) as err:
        iam.update_assume_role_policy(
            RoleName=name, PolicyDocument=trust({"AWS": [f"arn:aws:iam::{ACCOUNT}:root", missing]})
        )
    assert error_code(err) == "MalformedPolicyDocument"
    assert error_message(err) == f'Invalid principal in policy: "AWS":"{missing}"'
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == json.loads(original)


def test_a_role_cannot_trust_itself_before_it_exists(iam):
    name = unique("self")
    arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    with pytest.raises(ClientError) as err:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust({"AWS": arn}))
    assert error_message(err) == f'Invalid principal in policy: "AWS":"{arn}"'
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust({"AWS": ACCOUNT}))
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust({"AWS": arn}))


def test_principals_that_are_not_this_accounts_users_or_roles_are_not_looked_up(iam):
    principals = [
        {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        {"AWS": ACCOUNT},
        {"AWS": f"arn:aws:sts::{ACCOUNT}:assumed-role/no-such-role/session"},
        # An account this server does not host cannot be asked.
        {"AWS": "arn:aws:iam::111122223333:role/elsewhere"},
        {"Service": "lambda.amazonaws.com"},
    ]
    for principal in principals:
        role = iam.create_role(RoleName=unique("ok"), AssumeRolePolicyDocument=trust(principal))
        assert role["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == principal


def test_users_of_another_hosted_account_are_looked_up_there(server, iam):
    other = server.create_account()
    other_iam = make_client(
        server.endpoint,
        "iam",
        aws_access_key_id=other["AccessKeyId"],
        aws_secret_access_key=other["SecretAccessKey"],
    )
    lives_there = other_iam.create_user(UserName=unique("there"))["User"]
    role = iam.create_role(
        RoleName=unique("cross"), AssumeRolePolicyDocument=trust({"AWS": lives_there["Arn"]})
    )["Role"]
    assert _trusted(role) == lives_there["Arn"]
    missing = f"arn:aws:iam::{other['AccountId']}:user/{unique('not-there')}"
    with pytest.raises(ClientError) as err:
        iam.create_role(RoleName=unique("cross"), AssumeRolePolicyDocument=trust({"AWS": missing}))
    assert error_message(err) == f'Invalid principal in policy: "AWS":"{missing}"'
    other_iam.delete_user(UserName=lives_there["UserName"])
    shown = iam.get_role(RoleName=role["RoleName"])["Role"]
    assert _trusted(shown) == lives_there["UserId"]
