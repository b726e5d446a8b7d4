"""Identity policies really decide: what IAM stores is what the authorizer enforces.

Issue 3 item 4 (the IAM part): a boundary caps a user; an inline policy allows exactly what it
says; group policies apply; an explicit deny wins; and the simulator agrees with enforcement.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.iam_domain.helpers import ACCOUNT, allow, deny, doc, error_of, unique, user_with_keys

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def denied(excinfo, user: str, action: str) -> str:
    code, message, status = error_of(excinfo)
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith(
        f"User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: {action}"
    )
    return message


def test_boundary_caps_an_administrator(server):
    iam = server.client("iam")
    boundary = iam.create_policy(
        PolicyName=unique("readonly-boundary"),
        PolicyDocument=doc(allow(["iam:Get*", "iam:List*"])),
    )["Policy"]["Arn"]
    name, own = user_with_keys(server, iam)
    iam.attach_user_policy(UserName=name, PolicyArn=ADMIN)
    own.create_user(UserName=unique("made-by-admin"))  # the administrator may

    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=boundary)
    assert own.get_user(UserName=name)["User"]["UserName"] == name
    own.list_users(MaxItems=1)
    with pytest.raises(ClientError) as error:
        own.create_user(UserName=unique("capped"))
    message = denied(error, name, "iam:CreateUser")
    assert message.endswith("because no permissions boundary allows the iam:CreateUser action")

    iam.delete_user_permissions_boundary(UserName=name)
    own.create_user(UserName=unique("uncapped"))


def test_inline_policy_allows_exactly_what_it_says(server):
    iam = server.client("iam")
    name, own = user_with_keys(server, iam)
    with pytest.raises(ClientError) as error:
        own.list_groups()
    denied(error, name, "iam:ListGroups")

    iam.put_user_policy(
        UserName=name,
        PolicyName="only-list-groups",
        PolicyDocument=doc(allow("iam:ListGroups")),
    )
    own.list_groups()
    with pytest.raises(ClientError) as error:
        own.list_roles()
    denied(error, name, "iam:ListRoles")

    # A resource-scoped grant: this user may read itself and no one else.
    iam.put_user_policy(
        UserName=name,
        PolicyName="self",
        PolicyDocument=doc(allow("iam:GetUser", "arn:aws:iam::*:user/${aws:username}")),
    )
    assert own.get_user(UserName=name)["User"]["UserName"] == name
    other = unique("other")
    iam.create_user(UserName=other)
    with pytest.raises(ClientError) as error:
        own.get_user(UserName=other)
    denied(error, name, "iam:GetUser")

    iam.delete_user_policy(UserName=name, PolicyName="only-list-groups")
    with pytest.raises(ClientError) as error:
        own.list_groups()
    denied(error, name, "iam:ListGroups")


def test_group_policies_apply_to_members(server):
    iam = server.client("iam")
    group = unique("readers")
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    name, own = user_with_keys(server, iam)
    with pytest.raises(ClientError):
        own.list_roles()
    iam.add_user_to_group(GroupName=group, UserName=name)
    own.list_roles()
    iam.put_group_policy(
        GroupName=group, PolicyName="tag", PolicyDocument=doc(allow("iam:TagUser"))
    )
    own.tag_user(UserName=name, Tags=[{"Key": "via", "Value": "group"}])
    iam.remove_user_from_group(GroupName=group, UserName=name)
    with pytest.raises(ClientError) as error:
        own.list_roles()
    denied(error, name, "iam:ListRoles")


def test_explicit_deny_wins(server):
    iam = server.client("iam")
    name, own = user_with_keys(server, iam)
    iam.attach_user_policy(UserName=name, PolicyArn=ADMIN)
    own.list_users(MaxItems=1)
    group = unique("deny-group")
    iam.create_group(GroupName=group)
    iam.put_group_policy(
        GroupName=group, PolicyName="no-users", PolicyDocument=doc(deny("iam:ListUsers"))
    )
    iam.add_user_to_group(GroupName=group, UserName=name)
    with pytest.raises(ClientError) as error:
        own.list_users()
    message = denied(error, name, "iam:ListUsers")
    assert message.endswith("with an explicit deny in an identity-based policy")
    own.list_roles(MaxItems=1)  # everything else still allowed


def test_managed_policy_default_version_decides(server):
    iam = server.client("iam")
    name, own = user_with_keys(server, iam)
    arn = iam.create_policy(
        PolicyName=unique("versioned"), PolicyDocument=doc(allow("iam:ListGroups"))
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    own.list_groups()
    iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=doc(allow("iam:ListRoles")), SetAsDefault=True
    )
    own.list_roles()
    with pytest.raises(ClientError):
        own.list_groups()
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    own.list_groups()
    iam.detach_user_policy(UserName=name, PolicyArn=arn)
    with pytest.raises(ClientError):
        own.list_groups()


def test_simulate_principal_policy_agrees_with_enforcement(server):
    iam = server.client("iam")
    name, _own = user_with_keys(server, iam)
    iam.put_user_policy(
        UserName=name,
        PolicyName="kms",
        PolicyDocument=doc(
            allow(["kms:Encrypt", "kms:Decrypt"]),
            deny("kms:ScheduleKeyDeletion"),
        ),
    )
    arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    results = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["kms:Encrypt", "kms:ScheduleKeyDeletion", "kms:CreateKey"],
    )["EvaluationResults"]
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in results}
    assert decisions == {
        "kms:Encrypt": "allowed",
        "kms:ScheduleKeyDeletion": "explicitDeny",
        "kms:CreateKey": "implicitDeny",
    }
    matched = {r["EvalActionName"]: r["MatchedStatements"] for r in results}
    assert matched["kms:Encrypt"][0]["SourcePolicyId"] == "kms"
    assert matched["kms:Encrypt"][0]["SourcePolicyType"] == "user"

    # A boundary given in the call caps the result.
    capped = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["kms:Encrypt"],
        PermissionsBoundaryPolicyInputList=[doc(allow("kms:Decrypt"))],
    )["EvaluationResults"][0]
    assert capped["EvalDecision"] == "implicitDeny"
    assert capped["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}


def test_simulate_custom_policy_with_context(server):
    iam = server.client("iam")
    policy = doc(
        allow(
            "s3:GetObject",
            "arn:aws:s3:::reports/*",
            Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        )
    )

    def decide(ip: str, resource: str) -> str:
        return iam.simulate_custom_policy(
            PolicyInputList=[policy],
            ActionNames=["s3:GetObject"],
            ResourceArns=[resource],
            ContextEntries=[
                {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": [ip], "ContextKeyType": "ip"}
            ],
        )["EvaluationResults"][0]["EvalDecision"]

    assert decide("10.1.2.3", "arn:aws:s3:::reports/q1.csv") == "allowed"
    assert decide("192.168.0.1", "arn:aws:s3:::reports/q1.csv") == "implicitDeny"
    assert decide("10.1.2.3", "arn:aws:s3:::private/q1.csv") == "implicitDeny"
    with pytest.raises(ClientError) as error:
        iam.simulate_custom_policy(PolicyInputList=["{"], ActionNames=["s3:GetObject"])
    assert error_of(error)[0] == "InvalidInput"


def test_simulation_reports_the_context_keys_it_missed(server):
    iam = server.client("iam")
    policy = doc(
        allow(
            "s3:ListBucket",
            "arn:aws:s3:::reports",
            Condition={
                "StringLike": {"s3:prefix": "q1/*"},
                "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                "StringEquals": {"aws:username": "${aws:username}"},
                "Null": {"aws:TokenIssueTime": "true"},
            },
        ),
        # Statements that do not apply to the request are not evaluated: their keys are not
        # missing.
        allow(
            "s3:ListBucket",
            "arn:aws:s3:::other",
            Condition={"Bool": {"aws:SecureTransport": "true"}},
        ),
        allow("kms:Decrypt", Condition={"StringEquals": {"kms:ViaService": "s3.amazonaws.com"}}),
    )
    source_ip = {
        "ContextKeyName": "aws:SourceIp",
        "ContextKeyValues": ["10.1.2.3"],
        "ContextKeyType": "ip",
    }

    def missing(**extra) -> list[str]:
        return iam.simulate_custom_policy(
            PolicyInputList=[policy],
            ActionNames=["s3:ListBucket"],
            ResourceArns=["arn:aws:s3:::reports"],
            **extra,
        )["EvaluationResults"][0]["MissingContextValues"]

    # aws:username is supplied by the simulation itself (its simulated user).
    assert sorted(missing()) == ["aws:SourceIp", "s3:prefix"]
    assert missing(ContextEntries=[source_ip]) == ["s3:prefix"]

    name, _own = user_with_keys(server, iam)
    iam.put_user_policy(UserName=name, PolicyName="reports", PolicyDocument=policy)
    result = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{name}",
        ActionNames=["s3:ListBucket"],
        ResourceArns=["arn:aws:s3:::reports"],
        ContextEntries=[source_ip],
    )["EvaluationResults"][0]
    assert result["MissingContextValues"] == ["s3:prefix"]


def test_always_present_global_keys_are_in_the_request_context(server):
    """aws:PrincipalIsAWSService (false for IAM principals), aws:ResourceAccount and
    aws:UserAgent are in every signed request's context, so AWS's data-perimeter statements
    work: a Deny conditioned on them applies, an Allow conditioned on them allows."""
    iam = server.client("iam")
    name, own = user_with_keys(server, iam)
    iam.put_user_policy(
        UserName=name,
        PolicyName="perimeter",
        PolicyDocument=doc(
            allow(
                "iam:GetUser",
                Condition={
                    "StringEquals": {"aws:ResourceAccount": ACCOUNT},
                    "StringLike": {"aws:UserAgent": "*Boto3*"},
                },
            ),
            allow("iam:ListUsers"),
            deny("iam:ListUsers", Condition={"Bool": {"aws:PrincipalIsAWSService": "false"}}),
            allow("iam:ListRoles"),
            deny("iam:ListRoles", Condition={"StringNotEquals": {"aws:ResourceAccount": ACCOUNT}}),
        ),
    )
    own.get_user(UserName=name)  # allowed only with both keys present and matching
    with pytest.raises(ClientError) as error:
        own.list_users()
    assert denied(error, name, "iam:ListUsers").endswith(
        "with an explicit deny in an identity-based policy"
    )
    own.list_roles(MaxItems=1)  # the caller's own account: the perimeter Deny does not apply
