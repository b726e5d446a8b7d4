"""Managed policies (versions, attachments, AWS managed ones), inline policies and
permissions boundaries through boto3."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.iam_domain.helpers import ACCOUNT, allow, doc, error_of, trust, unique

READ_KMS = doc(allow("kms:Describe*"))


def test_managed_policy_versions(server):
    iam = server.client("iam")
    name = unique("pol")
    policy = iam.create_policy(
        PolicyName=name,
        Path="/team/",
        PolicyDocument=READ_KMS,
        Description="reads keys",
        Tags=[{"Key": "k", "Value": "v"}],
    )["Policy"]
    arn = policy["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/team/{name}"
    assert policy["PolicyId"].startswith("ANPA")
    assert policy["DefaultVersionId"] == "v1" and policy["AttachmentCount"] == 0
    with pytest.raises(ClientError) as error:
        iam.create_policy(PolicyName=name.upper(), PolicyDocument=READ_KMS)
    assert error_of(error) == (
        "EntityAlreadyExists",
        f"A policy called {name.upper()} already exists. Duplicate names are not allowed.",
        409,
    )

    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("kms:List*")))
    assert v2["PolicyVersion"] == {
        **v2["PolicyVersion"],
        "VersionId": "v2",
        "IsDefaultVersion": False,
    }
    iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=doc(allow("kms:Get*")), SetAsDefault=True
    )
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]
    assert version["Document"]["Statement"][0]["Action"] == "kms:Get*"
    assert version["IsDefaultVersion"] is True
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=READ_KMS)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=READ_KMS)
    with pytest.raises(ClientError) as error:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=READ_KMS)
    code, message, status = error_of(error)
    assert (code, status) == ("LimitExceeded", 409)
    assert message.startswith("A managed policy can have up to 5 versions.")
    listed = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in listed] == ["v5", "v4", "v3", "v2", "v1"]

    with pytest.raises(ClientError) as error:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert error_of(error) == (
        "DeleteConflict",
        "Cannot delete the default version of a policy.",
        409,
    )
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    with pytest.raises(ClientError) as error:
        iam.delete_policy(PolicyArn=arn)
    assert error_of(error)[0] == "DeleteConflict"
    for vid in ("v2", "v3", "v4", "v5"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=vid)
    with pytest.raises(ClientError) as error:
        iam.get_policy_version(PolicyArn=arn, VersionId="v2")
    assert error_of(error)[0] == "NoSuchEntity"
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=READ_KMS)
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == [
        "v6",
        "v1",
    ]
    iam.delete_policy_version(PolicyArn=arn, VersionId="v6")

    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "x", "Value": "y"}])
    assert {t["Key"] for t in iam.list_policy_tags(PolicyArn=arn)["Tags"]} == {"k", "x"}
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as error:
        iam.get_policy(PolicyArn=arn)
    assert error_of(error) == ("NoSuchEntity", f"Policy {arn} was not found.", 404)


def test_attachments_and_counts(server):
    iam = server.client("iam")
    user, group, role = unique("au"), unique("ag"), unique("ar")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())
    arn = iam.create_policy(PolicyName=unique("att"), PolicyDocument=READ_KMS)["Policy"]["Arn"]

    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)  # idempotent
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3
    attached = iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    assert attached == [{"PolicyName": arn.rsplit("/", 1)[1], "PolicyArn": arn}]
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == attached
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == attached
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in entities["PolicyUsers"]] == [user]
    assert [g["GroupName"] for g in entities["PolicyGroups"]] == [group]
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [role]
    only_roles = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")
    assert only_roles["PolicyUsers"] == [] and len(only_roles["PolicyRoles"]) == 1

    local = iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]
    assert arn in [p["Arn"] for p in local]

    with pytest.raises(ClientError) as error:
        iam.delete_policy(PolicyArn=arn)
    assert error_of(error) == (
        "DeleteConflict",
        "Cannot delete a policy attached to entities.",
        409,
    )
    with pytest.raises(ClientError) as error:
        iam.delete_role(RoleName=role)
    assert error_of(error) == (
        "DeleteConflict",
        "Cannot delete entity, must detach all policies first.",
        409,
    )

    missing = f"arn:aws:iam::{ACCOUNT}:policy/{unique('nope')}"
    with pytest.raises(ClientError) as error:
        iam.attach_user_policy(UserName=user, PolicyArn=missing)
    assert error_of(error) == (
        "NoSuchEntity",
        f"Policy {missing} does not exist or is not attachable.",
        404,
    )
    with pytest.raises(ClientError) as error:
        iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::nope:policy-thing")
    assert error_of(error)[0] == "InvalidInput"
    with pytest.raises(ClientError) as error:
        iam.detach_user_policy(UserName=user, PolicyArn=missing)
    assert error_of(error)[0] == "NoSuchEntity"

    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    iam.delete_policy(PolicyArn=arn)
    iam.delete_role(RoleName=role)


def test_aws_managed_policies(server):
    iam = server.client("iam")
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    policy = iam.get_policy(PolicyArn=admin)["Policy"]
    assert policy["PolicyName"] == "AdministratorAccess" and policy["IsAttachable"]
    version = iam.get_policy_version(PolicyArn=admin, VersionId=policy["DefaultVersionId"])
    assert version["PolicyVersion"]["Document"]["Statement"] == [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}
    ]
    names = {
        p["PolicyName"]
        for page in iam.get_paginator("list_policies").paginate(Scope="AWS")
        for p in page["Policies"]
    }
    assert {
        "AdministratorAccess",
        "ReadOnlyAccess",
        "PowerUserAccess",
        "IAMFullAccess",
        "IAMReadOnlyAccess",
        "AWSKeyManagementServicePowerUser",
    } <= names
    with pytest.raises(ClientError) as error:
        iam.delete_policy(PolicyArn=admin)
    assert error_of(error)[0] in ("InvalidInput", "AccessDenied")


def test_list_policies_paginates(server):
    iam = server.client("iam")
    path = f"/{unique('pp')}/"
    for _ in range(3):
        iam.create_policy(PolicyName=unique("pg"), Path=path, PolicyDocument=READ_KMS)
    first = iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] and len(first["Policies"]) == 2
    rest = iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=2, Marker=first["Marker"])
    assert not rest["IsTruncated"] and len(rest["Policies"]) == 1


def test_inline_policies(server):
    iam = server.client("iam")
    user, group, role = unique("iu"), unique("ig"), unique("ir")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())
    document = doc(allow("s3:GetObject", "arn:aws:s3:::bucket/*"))
    iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=document)
    iam.put_group_policy(GroupName=group, PolicyName="read", PolicyDocument=document)
    iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=document)

    got = iam.get_user_policy(UserName=user, PolicyName="read")
    assert got["UserName"] == user and got["PolicyDocument"] == json.loads(document)
    assert iam.get_group_policy(GroupName=group, PolicyName="read")["PolicyDocument"] == (
        json.loads(document)
    )
    assert iam.get_role_policy(RoleName=role, PolicyName="read")["RoleName"] == role
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["read"]
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["read"]
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["read"]

    with pytest.raises(ClientError) as error:
        iam.delete_user(UserName=user)
    assert error_of(error) == (
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
        409,
    )
    with pytest.raises(ClientError) as error:
        iam.get_user_policy(UserName=user, PolicyName="other")
    assert error_of(error) == (
        "NoSuchEntity",
        "The user policy with name other cannot be found.",
        404,
    )

    iam.delete_user_policy(UserName=user, PolicyName="read")
    iam.delete_group_policy(GroupName=group, PolicyName="read")
    iam.delete_role_policy(RoleName=role, PolicyName="read")
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == []
    iam.delete_user(UserName=user)
    iam.delete_group(GroupName=group)
    iam.delete_role(RoleName=role)


def test_raw_policy_document_is_url_encoded_on_the_wire(server):
    """IAM returns documents URL-encoded; botocore's handler decodes them (checked raw here)."""
    iam = server.client("iam")
    user = unique("raw")
    iam.create_user(UserName=user)
    document = doc(allow("sqs:SendMessage"))
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=document)
    raw = {}

    def keep(http_response, **_):
        raw["body"] = http_response.text

    iam.meta.events.register("after-call.iam.GetUserPolicy", keep)
    iam.get_user_policy(UserName=user, PolicyName="p")
    assert "%7B%22Version%22%3A" in raw["body"]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("{", "Syntax errors in policy."),
        (
            json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}],
                }
            ),
            "Policy statement must contain resources.",
        ),
        (
            json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}
            ),
            "Policy statement must contain actions.",
        ),
        (
            json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}
                    ],
                }
            ),
            "Policy document should not specify a principal.",
        ),
        (
            json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "getobject", "Resource": "*"}],
                }
            ),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
    ],
)
def test_malformed_policy_documents(server, document, reason):
    iam = server.client("iam")
    user = unique("mal")
    iam.create_user(UserName=user)
    with pytest.raises(ClientError) as error:
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=document)
    assert error_of(error) == ("MalformedPolicyDocument", reason, 400)
    with pytest.raises(ClientError) as error:
        iam.create_policy(PolicyName=unique("mal"), PolicyDocument=document)
    assert error_of(error) == ("MalformedPolicyDocument", reason, 400)


def test_managed_policies_need_version_2012(server):
    iam = server.client("iam")
    old = json.dumps({"Version": "2008-10-17", "Statement": [allow("s3:*")]})
    with pytest.raises(ClientError) as error:
        iam.create_policy(PolicyName=unique("old"), PolicyDocument=old)
    assert error_of(error) == (
        "MalformedPolicyDocument",
        "Policy document must be version 2012-10-17 or greater.",
        400,
    )


def test_policy_size_limits(server):
    iam = server.client("iam")
    user, role = unique("big"), unique("bigrole")
    iam.create_user(UserName=user)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())

    def sized(n_actions: int) -> str:
        return doc(allow([f"s3:GetObjectVersion{i:04d}" for i in range(n_actions)]))

    assert 2048 < len(sized(80)) < 5120
    with pytest.raises(ClientError) as error:
        iam.put_user_policy(UserName=user, PolicyName="big", PolicyDocument=sized(80))
    assert error_of(error) == (
        "LimitExceeded",
        f"Maximum policy size of 2048 bytes exceeded for user {user}",
        409,
    )
    iam.put_role_policy(RoleName=role, PolicyName="big", PolicyDocument=sized(80))
    # Whitespace does not count.
    spaced = json.dumps(json.loads(sized(60)), indent=12)
    assert len(spaced) > 2048
    iam.put_user_policy(UserName=user, PolicyName="spaced", PolicyDocument=spaced)
    with pytest.raises(ClientError) as error:
        iam.create_policy(PolicyName=unique("huge"), PolicyDocument=sized(250))
    assert error_of(error) == ("LimitExceeded", "Cannot exceed quota for PolicySize: 6144", 409)


def test_permissions_boundaries(server):
    iam = server.client("iam")
    boundary = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    user = unique("bu")
    created = iam.create_user(UserName=user, PermissionsBoundary=boundary)["User"]
    assert created["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy",
        "PermissionsBoundaryArn": boundary,
    }
    iam.delete_user_permissions_boundary(UserName=user)
    assert "PermissionsBoundary" not in iam.get_user(UserName=user)["User"]
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=boundary)
    assert iam.get_user(UserName=user)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"]

    role = unique("br")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(), PermissionsBoundary=boundary)
    assert iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == (
        boundary
    )
    iam.delete_role_permissions_boundary(RoleName=role)
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=boundary)
    usage = iam.get_policy(PolicyArn=boundary)["Policy"]["PermissionsBoundaryUsageCount"]
    assert usage >= 2

    missing = f"arn:aws:iam::{ACCOUNT}:policy/{unique('none')}"
    with pytest.raises(ClientError) as error:
        iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=missing)
    assert error_of(error) == (
        "NoSuchEntity",
        f"Scope ARN: {missing} does not exist or is not attachable.",
        404,
    )
