"""A small set of AWS managed policies (``arn:aws:iam::aws:policy/...``).

The documents are written here from AWS's published policy references (AWS Managed Policy
Reference Guide). ``ReadOnlyAccess`` is narrowed to the services mamori serves; the others carry
AWS's documented statements. They exist in every account, cannot be changed, and are attached
like customer managed policies.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

CREATED = "2015-02-06T18:39:46+00:00"

_READ_SERVICES = (
    "cloudtrail",
    "cloudwatch",
    "cognito-identity",
    "cognito-idp",
    "config",
    "events",
    "guardduty",
    "iam",
    "inspector2",
    "kms",
    "logs",
    "s3",
    "shield",
    "sts",
    "waf",
    "wafv2",
)


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=4)


def _allow(actions: list[str] | str, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": "*", **extra}


_POLICIES: list[tuple[str, str, str, str]] = [
    # (path, name, description, document)
    (
        "/",
        "AdministratorAccess",
        "Provides full access to AWS services and resources.",
        _doc(_allow("*")),
    ),
    (
        "/",
        "PowerUserAccess",
        "Provides full access to AWS services and resources, but does not allow management of "
        "Users and groups.",
        _doc(
            {
                "Effect": "Allow",
                "NotAction": ["iam:*", "organizations:*", "account:*"],
                "Resource": "*",
            },
            _allow(
                [
                    "account:GetAccountInformation",
                    "account:GetPrimaryEmail",
                    "account:ListRegions",
                    "iam:CreateServiceLinkedRole",
                    "iam:DeleteServiceLinkedRole",
                    "iam:ListRoles",
                    "organizations:DescribeOrganization",
                ]
            ),
        ),
    ),
    (
        "/",
        "ReadOnlyAccess",
        "Provides read-only access to AWS services and resources.",
        _doc(
            _allow(
                sorted(
                    f"{service}:{verb}*"
                    for service in _READ_SERVICES
                    for verb in ("Describe", "Get", "List")
                )
            )
        ),
    ),
    (
        "/job-function/",
        "ViewOnlyAccess",
        "This policy grants permissions to view resources and basic metadata across all AWS "
        "services.",
        _doc(
            _allow(
                sorted(
                    f"{service}:{verb}*"
                    for service in _READ_SERVICES
                    for verb in ("Describe", "List")
                )
            )
        ),
    ),
    (
        "/",
        "IAMFullAccess",
        "Provides full access to IAM via the AWS Management Console.",
        _doc(
            _allow(
                [
                    "iam:*",
                    "organizations:DescribeAccount",
                    "organizations:DescribeOrganization",
                    "organizations:DescribeOrganizationalUnit",
                    "organizations:DescribePolicy",
                    "organizations:ListChildren",
                    "organizations:ListParents",
                    "organizations:ListPoliciesForTarget",
                    "organizations:ListRoots",
                    "organizations:ListPolicies",
                    "organizations:ListTargetsForPolicy",
                ]
            )
        ),
    ),
    (
        "/",
        "IAMReadOnlyAccess",
        "Provides read only access to IAM via the AWS Management Console.",
        _doc(
            _allow(
                [
                    "iam:GenerateCredentialReport",
                    "iam:GenerateServiceLastAccessedDetails",
                    "iam:Get*",
                    "iam:List*",
                    "iam:SimulateCustomPolicy",
                    "iam:SimulatePrincipalPolicy",
                ]
            )
        ),
    ),
    (
        "/",
        "IAMUserChangePassword",
        "Provides the ability for an IAM user to change their own password.",
        _doc(
            {
                "Effect": "Allow",
                "Action": ["iam:ChangePassword"],
                "Resource": ["arn:aws:iam::*:user/${aws:username}"],
            },
            _allow(["iam:GetAccountPasswordPolicy"]),
        ),
    ),
    (
        "/",
        "AWSKeyManagementServicePowerUser",
        "Provides access to AWS Key Management Service (KMS).",
        _doc(
            _allow(
                [
                    "kms:CreateAlias",
                    "kms:CreateKey",
                    "kms:DeleteAlias",
                    "kms:Describe*",
                    "kms:GenerateRandom",
                    "kms:Get*",
                    "kms:List*",
                    "kms:TagResource",
                    "kms:UntagResource",
                    "iam:ListGroups",
                    "iam:ListRoles",
                    "iam:ListUsers",
                ]
            )
        ),
    ),
    (
        "/",
        "AmazonS3FullAccess",
        "Provides full access to all buckets via the AWS Management Console.",
        _doc(_allow(["s3:*", "s3-object-lambda:*"])),
    ),
    (
        "/",
        "AmazonS3ReadOnlyAccess",
        "Provides read only access to all buckets via the AWS Management Console.",
        _doc(
            _allow(
                [
                    "s3:Get*",
                    "s3:List*",
                    "s3:Describe*",
                    "s3-object-lambda:Get*",
                    "s3-object-lambda:List*",
                ]
            )
        ),
    ),
    (
        "/",
        "CloudWatchReadOnlyAccess",
        "Provides read only access to CloudWatch.",
        _doc(
            _allow(
                [
                    "cloudwatch:Describe*",
                    "cloudwatch:Get*",
                    "cloudwatch:List*",
                    "logs:Get*",
                    "logs:List*",
                    "logs:StartQuery",
                    "logs:StopQuery",
                    "logs:Describe*",
                    "logs:TestMetricFilter",
                    "logs:FilterLogEvents",
                    "sns:Get*",
                    "sns:List*",
                ]
            )
        ),
    ),
    (
        "/",
        "AWSCloudTrail_ReadOnlyAccess",
        "Provides read only access to AWS CloudTrail.",
        _doc(
            _allow(
                [
                    "cloudtrail:Get*",
                    "cloudtrail:Describe*",
                    "cloudtrail:List*",
                    "cloudtrail:LookupEvents",
                ]
            )
        ),
    ),
    (
        "/",
        "SecurityAudit",
        "The security audit template grants access to read security configuration metadata.",
        _doc(
            _allow(
                [
                    *sorted(
                        f"{service}:{verb}*"
                        for service in _READ_SERVICES
                        for verb in ("Describe", "Get", "List")
                        if service not in ("s3",)
                    ),
                    "s3:GetBucket*",
                    "s3:ListAllMyBuckets",
                    "s3:GetEncryptionConfiguration",
                ]
            )
        ),
    ),
]


def _policy_id(name: str) -> str:
    digest = hashlib.sha256(b"aws-managed:" + name.encode()).digest()
    return "ANPA" + base64.b32encode(digest).decode()[:17]


def _record(path: str, name: str, description: str, document: str) -> dict[str, Any]:
    return {
        "PolicyName": name,
        "PolicyId": _policy_id(name),
        "Arn": f"arn:aws:iam::aws:policy{path}{name}",
        "Path": path,
        "DefaultVersionId": "v1",
        "Description": description,
        "CreateDate": CREATED,
        "UpdateDate": CREATED,
        "Tags": {},
        "Versions": {"v1": {"Document": document, "CreateDate": CREATED}},
        "AwsManaged": True,
    }


AWS_MANAGED: dict[str, dict[str, Any]] = {
    record["Arn"]: record for record in (_record(*entry) for entry in _POLICIES)
}


def aws_managed(arn: str) -> dict[str, Any] | None:
    return AWS_MANAGED.get(arn)
