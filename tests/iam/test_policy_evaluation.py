"""Table-driven tests of the policy evaluation logic.

Each row: an id, the request facts, the policies, the expected reason ("allowed" or the denial
reason) and ``cites``: the AWS documentation behaviour or example it checks. "IAM UG" is the AWS
IAM User Guide; "KMS DG" the AWS KMS Developer Guide; "Orgs UG" the AWS Organizations User Guide.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mamori.iam.policy import Decision, PolicySet, evaluate, parse_policy

from .helpers import (
    ALICE,
    BOB,
    FED,
    KEY,
    ROLE,
    ROOT_A,
    ROOT_B,
    SESSION,
    A,
    B,
    Case,
    P,
    R,
    S,
    T,
    admin,
    allow,
    anon,
    deny,
    fed,
    ids,
    root,
    session,
    svc,
    user,
)

EVAL = "IAM UG: policy evaluation logic"
RBP_TABLE = "IAM UG: policy evaluation logic, 'Resource-based policies' table (same account)"
XACCT = "IAM UG: cross-account policy evaluation logic"
OPS = "IAM UG: condition operators"
MULTI = "IAM UG: multivalued context keys (ForAllValues/ForAnyValue)"
VARS = "IAM UG: policy variables"
RES = "IAM UG: JSON policy elements: Resource, wildcards in resource ARNs"
KMS = "KMS DG: key policies (the key policy must allow; 'Enable IAM User Permissions')"
SCP = "Orgs UG / IAM UG: service control policies"
BOUND = "IAM UG: permissions boundaries for IAM entities"
SESS = "IAM UG: session policies"

CASES: list[Case] = []


def case(id, facts, policies, reason, cites):
    CASES.append(Case(id, facts, policies, reason, cites))


# --- Basics: implicit deny, explicit allow, explicit deny -------------------------------------
case(
    "no-policies-implicit-deny",
    user("s3:ListAllMyBuckets"),
    ids(),
    "no_allow_identity",
    f"{EVAL}: 'By default, all requests are implicitly denied'",
)
case(
    "identity-allow",
    user("s3:ListAllMyBuckets"),
    ids(P(allow("s3:ListAllMyBuckets"))),
    "allowed",
    f"{EVAL}: 'An explicit allow in an identity-based ... policy overrides this default'",
)
case(
    "deny-overrides-allow-same-policy",
    user("s3:DeleteBucket", "arn:aws:s3:::b"),
    ids(P(allow("s3:*"), deny("s3:DeleteBucket"))),
    "explicit_deny_identity",
    f"{EVAL}: 'An explicit deny in any policy overrides any allows'",
)
case(
    "deny-in-group-policy-overrides-user-allow",
    user("s3:DeleteBucket", "arn:aws:s3:::b"),
    ids([P(allow("*")), P(deny("s3:Delete*"))]),
    "explicit_deny_identity",
    f"{EVAL}: identity policies include 'policies from groups to which the user belongs'",
)
case(
    "allow-in-any-attached-policy",
    user("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{A}:q"),
    ids([P(allow("sns:Publish")), P(allow("sqs:SendMessage"))]),
    "allowed",
    f"{EVAL}: 'AWS checks all of those policies for at least one Allow'",
)
_CARLOS_ID = P(
    allow(
        [
            "s3:GetBucketLocation",
            "s3:GetAccountPublicAccessBlock",
            "s3:ListAccessPoints",
            "s3:ListAllMyBuckets",
        ],
        "arn:aws:s3:::*",
        sid="AllowS3ListRead",
    ),
    allow(
        "s3:*", ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"], sid="AllowS3Self"
    ),
    deny("s3:*", "arn:aws:s3:::*log*", sid="DenyS3Logs"),
)
_CARLOS_BUCKET = R(
    allow(
        "s3:*",
        ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"],
        principal={"AWS": f"arn:aws:iam::{A}:user/carlossalazar"},
    )
)
case(
    "carlos-logs-bucket-denied",
    user("s3:PutObject", "arn:aws:s3:::carlossalazar-logs/file.txt", name="carlossalazar"),
    ids(_CARLOS_ID, resource=_CARLOS_BUCKET, resource_account=A),
    "explicit_deny_identity",
    f"{EVAL}: example identity-based and resource-based policy evaluation (Carlos, -logs bucket)",
)
case(
    "carlos-own-bucket-allowed",
    user("s3:PutObject", "arn:aws:s3:::carlossalazar/file.txt", name="carlossalazar"),
    ids(_CARLOS_ID, resource=_CARLOS_BUCKET, resource_account=A),
    "allowed",
    f"{EVAL}: example (Carlos) 'Both the identity-based policy and the resource-based "
    "policy allow'",
)
case(
    "carlos-bucket-policy-alone-allows",
    user("s3:GetObject", "arn:aws:s3:::carlossalazar/file.txt", name="carlossalazar"),
    ids(resource=_CARLOS_BUCKET, resource_account=A),
    "allowed",
    f"{EVAL}: 'If one of the policy types allows the request and the other doesn't, "
    "the request is still allowed'",
)
_GETLIST = P(
    allow(["iam:Get*", "iam:List*"], sid="AllowGetList"),
    deny("iam:*Report", sid="DenyReports"),
)
case(
    "explicit-implicit-getlist-allowed",
    user("iam:GetUser", ALICE),
    ids(_GETLIST),
    "allowed",
    "IAM UG: the difference between explicit and implicit denies (AllowGetList)",
)
case(
    "explicit-implicit-createpolicy-implicit",
    user("iam:CreatePolicy"),
    ids(_GETLIST),
    "no_allow_identity",
    "IAM UG: explicit vs implicit denies: 'iam:CreatePolicy are implicitly denied'",
)
case(
    "explicit-implicit-report-explicit",
    user("iam:GetOrganizationsAccessReport"),
    ids(_GETLIST),
    "explicit_deny_identity",
    "IAM UG: explicit vs implicit denies: DenyReports denies iam:GetOrganizationsAccessReport",
)
case(
    "explicit-implicit-report-other-allow-still-denied",
    user("iam:GenerateCredentialReport"),
    ids([_GETLIST, P(allow("iam:GenerateCredentialReport"))]),
    "explicit_deny_identity",
    "IAM UG: explicit vs implicit denies: another policy granting reports is still denied",
)

# --- Action matching ---------------------------------------------------------------------------
ACT = "IAM UG: JSON policy elements: Action"
case(
    "action-case-insensitive",
    user("kms:Encrypt", KEY),
    ids(P(allow("KMS:encrypt"))),
    "allowed",
    f"{ACT}: 'The prefix and the action name are case insensitive'",
)
case(
    "action-prefix-wildcard",
    user("s3:GetObject", "arn:aws:s3:::b/k"),
    ids(P(allow("s3:Get*"))),
    "allowed",
    f"{ACT}: multi-character wildcard 's3:Get*'",
)
case(
    "action-prefix-wildcard-other-verb",
    user("s3:PutObject", "arn:aws:s3:::b/k"),
    ids(P(allow("s3:Get*"))),
    "no_allow_identity",
    f"{ACT}: 's3:Get*' does not cover s3:PutObject",
)
case(
    "action-star-everything",
    user("cloudwatch:PutMetricData"),
    ids(P(allow("*"))),
    "allowed",
    f'{ACT}: \'"Action": "*"\' allows all actions',
)
case(
    "action-infix-wildcard",
    user("iam:CreateAccessKey", ALICE),
    ids(P(allow("iam:*AccessKey*"))),
    "allowed",
    f"{ACT}: example 'iam:*AccessKey*'",
)
case(
    "action-question-mark",
    user("sqs:SendMessage"),
    ids(P(allow("sqs:?endMessage"))),
    "allowed",
    f"{ACT}: single-character wildcard '?'",
)
case(
    "action-question-mark-one-char-only",
    user("sqs:SendMessage"),
    ids(P(allow("sqs:?Message"))),
    "no_allow_identity",
    f"{ACT}: '?' matches exactly one character",
)
case(
    "action-list",
    user("sqs:ReceiveMessage"),
    ids(P(allow(["sqs:SendMessage", "sqs:ReceiveMessage"]))),
    "allowed",
    f"{ACT}: a list of actions",
)
case(
    "action-other-service-same-verb",
    user("iam:ListUsers"),
    ids(P(allow("kms:List*"))),
    "no_allow_identity",
    f"{ACT}: the service prefix must match",
)
case(
    "action-deny-wildcard",
    user("s3:DeleteBucket", "arn:aws:s3:::b"),
    ids(P(allow("*"), deny("s3:*"))),
    "explicit_deny_identity",
    f"{ACT}: 's3:*' in a Deny statement",
)

# --- Resource matching ---------------------------------------------------------------------------
_DEMO = "arn:aws:s3:::amzn-s3-demo-bucket"
_TESTGLOB = P(allow("s3:GetObject", f"{_DEMO}/*/test/*"))
case(
    "resource-exact",
    user("sqs:SendMessage", f"arn:aws:sqs:us-east-2:{A}:queue1"),
    ids(P(allow("sqs:SendMessage", f"arn:aws:sqs:us-east-2:{A}:queue1"))),
    "allowed",
    f"{RES}: a specific SQS queue",
)
case(
    "resource-user-name-case-sensitive",
    user("iam:GetUser", f"arn:aws:iam::{A}:user/bob"),
    ids(P(allow("iam:GetUser", f"arn:aws:iam::{A}:user/Bob"))),
    "no_allow_identity",
    f"{RES}: 'In the Resource element, the IAM user name is case sensitive'",
)
for _key, _expect in (
    ("1///test///object.jpg", "allowed"),
    ("/test/object.jpg", "allowed"),
    ("1/test/", "allowed"),
    ("1-test/object.jpg", "no_allow_identity"),
    ("test/object.jpg", "no_allow_identity"),
    ("1/2/test.jpg", "no_allow_identity"),
):
    case(
        f"resource-s3-glob-{_key.replace('/', '_')}",
        user("s3:GetObject", f"{_DEMO}/{_key}"),
        ids(_TESTGLOB),
        _expect,
        f"{RES}: example 'amzn-s3-demo-bucket/*/test/*' against '{_key}'",
    )
case(
    "resource-region-wildcard",
    user("kms:Decrypt", KEY),
    ids(P(allow("kms:Decrypt", f"arn:aws:kms:*:{A}:key/*"))),
    "allowed",
    f"{RES}: wildcard within an ARN segment (region)",
)
case(
    "resource-region-wildcard-other-account",
    user("kms:Decrypt", KEY.replace(A, B)),
    ids(P(allow("kms:Decrypt", f"arn:aws:kms:*:{A}:key/*"))),
    "no_allow_identity",
    f"{RES}: other segments still have to match",
)
case(
    "resource-trailing-star-spans-colons",
    user("kms:Decrypt", KEY),
    ids(P(allow("kms:Decrypt", "arn:aws:kms:*"))),
    "allowed",
    f"{RES}: 'If the * wildcard is the last character of a resource ARN segment, it can "
    "expand to match beyond the colon boundaries'",
)
case(
    "resource-star-matches-star",
    user("kms:ListKeys", "*"),
    ids(P(allow("kms:ListKeys", "*"))),
    "allowed",
    f'{RES}: actions without resource-level permissions use "Resource": "*"',
)
case(
    "resource-arn-does-not-match-star-request",
    user("kms:ListKeys", "*"),
    ids(P(allow("kms:ListKeys", f"arn:aws:kms:*:{A}:key/*"))),
    "no_allow_identity",
    f'{RES}: an action that does not support resource-level permissions needs "*"',
)
case(
    "resource-list-second-entry",
    user("s3:ListBucket", "arn:aws:s3:::b2"),
    ids(P(allow("s3:ListBucket", ["arn:aws:s3:::b1", "arn:aws:s3:::b2"]))),
    "allowed",
    f"{RES}: a list of resources",
)
case(
    "resource-question-mark",
    user("s3:ListBucket", "arn:aws:s3:::bucket-a"),
    ids(P(allow("s3:ListBucket", "arn:aws:s3:::bucket-?"))),
    "allowed",
    f"{RES}: '?' any single character",
)
case(
    "resource-question-mark-not-two",
    user("s3:ListBucket", "arn:aws:s3:::bucket-ab"),
    ids(P(allow("s3:ListBucket", "arn:aws:s3:::bucket-?"))),
    "no_allow_identity",
    f"{RES}: '?' is exactly one character",
)
case(
    "resource-part-star-crosses-colons",
    user("logs:PutLogEvents", f"arn:aws:logs:us-east-1:{A}:log-group:/app/web:log-stream:i-1"),
    ids(P(allow("logs:PutLogEvents", f"arn:aws:logs:us-east-1:{A}:log-group:/app/*"))),
    "allowed",
    f"{RES}: '*' in the resource part expands over '/' and ':'",
)
case(
    "resource-iam-path",
    user("iam:GetUser", f"arn:aws:iam::{A}:user/accounting/carol"),
    ids(P(allow("iam:GetUser", f"arn:aws:iam::{A}:user/accounting/*"))),
    "allowed",
    f"{RES}: example 'all IAM users whose path is /accounting'",
)

# --- NotAction / NotResource -------------------------------------------------------------------
NA = "IAM UG: JSON policy elements: NotAction"
NR = "IAM UG: JSON policy elements: NotResource"
case(
    "notaction-allow-all-but-iam",
    user("s3:ListAllMyBuckets"),
    ids(P(S("Allow", not_action="iam:*", resource="*"))),
    "allowed",
    f"{NA}: example 'allow access to all services except IAM'",
)
case(
    "notaction-allow-all-but-iam-iam-denied",
    user("iam:CreateUser", f"arn:aws:iam::{A}:user/x"),
    ids(P(S("Allow", not_action="iam:*", resource="*"))),
    "no_allow_identity",
    f"{NA}: 'IAM actions are implicitly denied' by the NotAction allow",
)
_MFA_DENY = S(
    "Deny",
    not_action=["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices"],
    resource="*",
    condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
)
case(
    "notaction-deny-without-mfa",
    user("s3:GetObject", "arn:aws:s3:::b/k"),
    ids(P(allow("*"), _MFA_DENY)),
    "explicit_deny_identity",
    f"{NA}: example 'deny access to all except listed actions unless MFA' (keys: no MFA key)",
)
case(
    "notaction-deny-mfa-present",
    user("s3:GetObject", "arn:aws:s3:::b/k", ctx={"aws:MultiFactorAuthPresent": True}),
    ids(P(allow("*"), _MFA_DENY)),
    "allowed",
    f"{NA}: with MFA the NotAction deny does not apply",
)
case(
    "notaction-deny-listed-action-not-denied",
    user("iam:EnableMFADevice", ALICE),
    ids(P(allow("*"), _MFA_DENY)),
    "allowed",
    f"{NA}: actions named in NotAction are outside the Deny",
)
_HR = P(
    S(
        "Allow",
        "s3:*",
        not_resource=["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"],
    )
)
case(
    "notresource-allow-other",
    user("s3:GetObject", "arn:aws:s3:::HRBucket/Team/x"),
    ids(_HR),
    "allowed",
    f"{NR}: example 'everything except the HRBucket/Payroll folder'",
)
case(
    "notresource-allow-excluded",
    user("s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/x"),
    ids(_HR),
    "no_allow_identity",
    f"{NR}: the excluded resources are not allowed",
)
case(
    "notresource-deny-others",
    user("s3:PutObject", "arn:aws:s3:::other/k"),
    ids(P(allow("s3:*"), S("Deny", "s3:*", not_resource="arn:aws:s3:::mybucket/*"))),
    "explicit_deny_identity",
    f"{NR}: Deny with NotResource denies every resource but the listed ones",
)
case(
    "notresource-deny-listed-allowed",
    user("s3:PutObject", "arn:aws:s3:::mybucket/k"),
    ids(P(allow("s3:*"), S("Deny", "s3:*", not_resource="arn:aws:s3:::mybucket/*"))),
    "allowed",
    f"{NR}: the listed resource is outside the Deny",
)

# --- Conditions: string ---------------------------------------------------------------------
_JOBCAT = P(
    allow(
        "iam:*AccessKey*",
        f"arn:aws:iam::{A}:user/*",
        condition={"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
    )
)
case(
    "string-equals-tag",
    user("iam:CreateAccessKey", BOB, ctx={"aws:PrincipalTag/job-category": "iamuser-admin"}),
    ids(_JOBCAT),
    "allowed",
    f"{OPS}: StringEquals example aws:PrincipalTag/job-category",
)
case(
    "string-equals-tag-missing",
    user("iam:CreateAccessKey", BOB),
    ids(_JOBCAT),
    "no_allow_identity",
    f"{OPS}: 'If a user without the tag attempts ... the condition returns false'",
)
case(
    "string-equals-case-sensitive",
    user("iam:CreateAccessKey", BOB, ctx={"aws:PrincipalTag/job-category": "IAMUser-Admin"}),
    ids(_JOBCAT),
    "no_allow_identity",
    f"{OPS}: StringEquals 'Exact matching, case sensitive'",
)
case(
    "string-equals-ignore-case",
    user("iam:CreateAccessKey", BOB, ctx={"aws:PrincipalTag/job-category": "IAMUser-Admin"}),
    ids(
        P(
            allow(
                "iam:*AccessKey*",
                condition={
                    "StringEqualsIgnoreCase": {"aws:PrincipalTag/job-category": "iamuser-admin"}
                },
            )
        )
    ),
    "allowed",
    f"{OPS}: StringEqualsIgnoreCase 'Exact matching, ignoring case'",
)
_REGION_DENY = P(
    allow("*"),
    S(
        "Deny",
        not_action=["iam:*", "organizations:*", "sts:*"],
        condition={"StringNotEquals": {"aws:RequestedRegion": ["eu-central-1", "eu-west-1"]}},
    ),
)
case(
    "string-not-equals-region-denied",
    user("ec2:RunInstances", ctx={"aws:RequestedRegion": "us-east-1"}),
    ids(_REGION_DENY),
    "explicit_deny_identity",
    "IAM UG: example 'AWS: Denies access to AWS based on the requested Region'",
)
case(
    "string-not-equals-region-allowed",
    user("ec2:RunInstances", ctx={"aws:RequestedRegion": "eu-west-1"}),
    ids(_REGION_DENY),
    "allowed",
    "IAM UG: example 'Denies access based on the requested Region' (listed region)",
)
case(
    "string-not-equals-missing-key-true",
    user("ec2:RunInstances"),
    ids(_REGION_DENY),
    "explicit_deny_identity",
    f"{OPS}: 'If the policy condition requires that the key is not matched ... and the right "
    "key is not present, the condition is true'",
)
case(
    "string-not-equals-global-service-exempt",
    user("iam:ListUsers", ctx={"aws:RequestedRegion": "us-east-1"}),
    ids(_REGION_DENY),
    "allowed",
    "IAM UG: example 'Denies access based on the requested Region' (NotAction global services)",
)
_HOME = P(
    allow(
        "s3:ListBucket",
        "arn:aws:s3:::BUCKET-NAME",
        condition={"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}},
    )
)
case(
    "string-like-home-prefix",
    user("s3:ListBucket", "arn:aws:s3:::BUCKET-NAME", ctx={"s3:prefix": "home/alice/"}),
    ids(_HOME),
    "allowed",
    f"{OPS}: StringLike example with policy variable (home directory)",
)
case(
    "string-like-home-prefix-other-user",
    user("s3:ListBucket", "arn:aws:s3:::BUCKET-NAME", ctx={"s3:prefix": "home/bob/"}),
    ids(_HOME),
    "no_allow_identity",
    f"{OPS}: StringLike home directory example, another user's folder",
)
case(
    "string-like-empty-prefix",
    user("s3:ListBucket", "arn:aws:s3:::BUCKET-NAME", ctx={"s3:prefix": ""}),
    ids(_HOME),
    "allowed",
    f'{OPS}: StringLike home directory example, the root listing ("")',
)
_INSTTYPE = {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}
case(
    "string-like-ifexists-present",
    user("ec2:RunInstances", ctx={"ec2:InstanceType": "t2.micro"}),
    ids(P(allow("ec2:RunInstances", condition={"StringLikeIfExists": _INSTTYPE}))),
    "allowed",
    f"{OPS}: ...IfExists example (RunInstance) with an allowed instance type",
)
case(
    "string-like-ifexists-absent",
    user("ec2:RunInstances", "arn:aws:ec2:us-east-1::image/ami-1"),
    ids(P(allow("ec2:RunInstances", condition={"StringLikeIfExists": _INSTTYPE}))),
    "allowed",
    f"{OPS}: ...IfExists 'If the key is not present, evaluate the condition element as true'",
)
case(
    "string-like-without-ifexists-absent",
    user("ec2:RunInstances", "arn:aws:ec2:us-east-1::image/ami-1"),
    ids(P(allow("ec2:RunInstances", condition={"StringLike": _INSTTYPE}))),
    "no_allow_identity",
    f"{OPS}: ...IfExists example 'THISPOLICYDOESNOTWORK' (resources without the key)",
)
case(
    "string-like-ifexists-wrong-value",
    user("ec2:RunInstances", ctx={"ec2:InstanceType": "c5.large"}),
    ids(P(allow("ec2:RunInstances", condition={"StringLikeIfExists": _INSTTYPE}))),
    "no_allow_identity",
    f"{OPS}: ...IfExists still tests the key when it is present",
)
case(
    "string-not-like",
    user("s3:GetObject", "arn:aws:s3:::b/k", ctx={"aws:UserAgent": "aws-cli/2.15"}),
    ids(P(allow("s3:GetObject", condition={"StringNotLike": {"aws:UserAgent": "*curl*"}}))),
    "allowed",
    f"{OPS}: StringNotLike negated case-sensitive matching",
)
case(
    "string-not-like-matching-value",
    user("s3:GetObject", "arn:aws:s3:::b/k", ctx={"aws:UserAgent": "curl/8.0"}),
    ids(P(allow("s3:GetObject", condition={"StringNotLike": {"aws:UserAgent": "*curl*"}}))),
    "no_allow_identity",
    f"{OPS}: StringNotLike is false when a value matches",
)
case(
    "multiple-values-or",
    user("ec2:RunInstances", ctx={"aws:RequestedRegion": "us-west-2"}),
    ids(
        P(
            allow(
                "ec2:*",
                condition={"StringEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}},
            )
        )
    ),
    "allowed",
    "IAM UG: Condition element, 'multiple values for one key are evaluated using a logical OR'",
)
_SNS = P(
    allow(
        "sns:Subscribe",
        condition={
            "StringLike": {"sns:endpoint": "https://example.com/${aws:username}/"},
            "StringEquals": {"sns:Protocol": "https"},
        },
    )
)
case(
    "multiple-operators-and-all-true",
    user(
        "sns:Subscribe",
        ctx={"sns:Endpoint": "https://example.com/alice/", "sns:Protocol": "https"},
    ),
    ids(_SNS),
    "allowed",
    f"{VARS}: SNS topic example (sns:endpoint with ${{aws:username}} and sns:Protocol)",
)
case(
    "multiple-operators-and-one-false",
    user(
        "sns:Subscribe",
        ctx={"sns:Endpoint": "https://example.com/alice/", "sns:Protocol": "http"},
    ),
    ids(_SNS),
    "no_allow_identity",
    "IAM UG: Condition element, 'multiple condition operators ... evaluated using a logical AND'",
)
case(
    "multiple-keys-and",
    user("s3:PutObject", "arn:aws:s3:::b/k", ctx={"s3:x-amz-acl": "private"}),
    ids(
        P(
            allow(
                "s3:PutObject",
                condition={
                    "StringEquals": {
                        "s3:x-amz-acl": "private",
                        "s3:x-amz-server-side-encryption": "aws:kms",
                    }
                },
            )
        )
    ),
    "no_allow_identity",
    "IAM UG: Condition element, 'multiple keys in a single condition operator ... logical AND'",
)

# --- Conditions: numeric ------------------------------------------------------------------
_MAXKEYS = P(
    allow(
        "s3:ListBucket",
        "arn:aws:s3:::example_bucket",
        condition={"NumericLessThanEquals": {"s3:max-keys": "10"}},
    )
)
for _n, _expect in ((10, "allowed"), ("7", "allowed"), (11, "no_allow_identity")):
    case(
        f"numeric-lte-max-keys-{_n}",
        user("s3:ListBucket", "arn:aws:s3:::example_bucket", ctx={"s3:max-keys": _n}),
        ids(_MAXKEYS),
        _expect,
        f"{OPS}: NumericLessThanEquals example (s3:max-keys up to 10)",
    )
case(
    "numeric-missing-key",
    user("s3:ListBucket", "arn:aws:s3:::example_bucket"),
    ids(_MAXKEYS),
    "no_allow_identity",
    f"{OPS}: numeric 'If the key ... is not present in the request context, the values do "
    "not match'",
)
case(
    "numeric-equals-decimal",
    user("x:Do", ctx={"x:count": 1}),
    ids(P(allow("x:Do", condition={"NumericEquals": {"x:count": "1.0"}}))),
    "allowed",
    f"{OPS}: NumericEquals compares integer or decimal values",
)
case(
    "numeric-not-equals",
    user("x:Do", ctx={"x:count": "6"}),
    ids(P(allow("x:Do", condition={"NumericNotEquals": {"x:count": 5}}))),
    "allowed",
    f"{OPS}: NumericNotEquals negated matching",
)
case(
    "numeric-greater-than-mfa-age-deny",
    user("ec2:StopInstances", ctx={"aws:MultiFactorAuthAge": 7200}),
    ids(
        P(
            allow("ec2:*"),
            deny(
                "ec2:StopInstances",
                condition={"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}},
            ),
        )
    ),
    "explicit_deny_identity",
    "IAM UG: global condition keys, aws:MultiFactorAuthAge with NumericGreaterThan",
)
case(
    "numeric-greater-than-equals",
    user("x:Do", ctx={"x:n": 3600}),
    ids(P(allow("x:Do", condition={"NumericGreaterThanEquals": {"x:n": "3600"}}))),
    "allowed",
    f"{OPS}: NumericGreaterThanEquals",
)
case(
    "numeric-less-than-non-number",
    user("x:Do", ctx={"x:n": "ten"}),
    ids(P(allow("x:Do", condition={"NumericLessThan": {"x:n": "100"}}))),
    "no_allow_identity",
    f"{OPS}: a value that is not a number does not match a numeric operator",
)

# --- Conditions: date ------------------------------------------------------------------------
_DATES = P(
    allow(
        "service-prefix:action-name",
        condition={
            "DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"},
            "DateLessThan": {"aws:CurrentTime": "2020-06-30T23:59:59Z"},
        },
    )
)
case(
    "date-window-inside",
    user("service-prefix:action-name", ctx={"aws:CurrentTime": datetime(2020, 5, 15, tzinfo=UTC)}),
    ids(_DATES),
    "allowed",
    "IAM UG: example 'AWS: Allows access based on date and time'",
)
case(
    "date-window-after",
    user("service-prefix:action-name", ctx={"aws:CurrentTime": datetime(2020, 7, 1, tzinfo=UTC)}),
    ids(_DATES),
    "no_allow_identity",
    "IAM UG: example 'Allows access based on date and time' (outside the window)",
)
_TOKEN = P(
    allow(
        "iam:*AccessKey*",
        condition={"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
    )
)
case(
    "date-token-issue-time-absent-for-keys",
    user("iam:CreateAccessKey", ALICE),
    ids(_TOKEN),
    "no_allow_identity",
    f"{OPS}: DateGreaterThan aws:TokenIssueTime 'if an IAM user attempts ... the request is "
    "denied'",
)
case(
    "date-token-issue-time-session",
    session("iam:CreateAccessKey", ALICE, ctx={"aws:TokenIssueTime": "2020-03-01T10:00:00Z"}),
    ids(_TOKEN),
    "allowed",
    f"{OPS}: aws:TokenIssueTime present with temporary credentials",
)
case(
    "date-epoch-policy-value",
    user("x:Do", ctx={"aws:CurrentTime": datetime(2020, 12, 31, 12, tzinfo=UTC)}),
    ids(P(allow("x:Do", condition={"DateLessThan": {"aws:CurrentTime": "1609459200"}}))),
    "allowed",
    f"{OPS}: date values 'in epoch (UNIX) time'",
)
case(
    "date-epoch-context-value",
    user("x:Do", ctx={"aws:EpochTime": 1609459201}),
    ids(P(allow("x:Do", condition={"DateGreaterThan": {"aws:EpochTime": "2021-01-01T00:00:00Z"}}))),
    "allowed",
    f"{OPS}: date operators with aws:EpochTime",
)
case(
    "date-offset-in-context",
    user("x:Do", ctx={"aws:CurrentTime": "2020-06-30T23:30:00-02:00"}),
    ids(
        P(allow("x:Do", condition={"DateGreaterThan": {"aws:CurrentTime": "2020-07-01T00:00:00Z"}}))
    ),
    "allowed",
    f"{OPS}: W3C ISO 8601 dates with time zone offsets",
)
case(
    "date-equals",
    user("x:Do", ctx={"x:when": "2021-03-04T05:06:07Z"}),
    ids(P(allow("x:Do", condition={"DateEquals": {"x:when": "2021-03-04T05:06:07Z"}}))),
    "allowed",
    f"{OPS}: DateEquals matching a specific date",
)
case(
    "date-not-equals",
    user("x:Do", ctx={"x:when": "2021-03-04T05:06:08Z"}),
    ids(P(allow("x:Do", condition={"DateNotEquals": {"x:when": "2021-03-04T05:06:07Z"}}))),
    "allowed",
    f"{OPS}: DateNotEquals negated matching",
)
case(
    "date-less-than-equals-boundary",
    user("x:Do", ctx={"x:when": datetime(2021, 3, 4, tzinfo=UTC)}),
    ids(P(allow("x:Do", condition={"DateLessThanEquals": {"x:when": "2021-03-04"}}))),
    "allowed",
    f"{OPS}: DateLessThanEquals 'at or before'",
)
case(
    "date-greater-than-equals-before",
    user("x:Do", ctx={"x:when": datetime(2021, 3, 3, tzinfo=UTC)}),
    ids(P(allow("x:Do", condition={"DateGreaterThanEquals": {"x:when": "2021-03-04"}}))),
    "no_allow_identity",
    f"{OPS}: DateGreaterThanEquals 'at or after'",
)

# --- Conditions: Bool, Binary ------------------------------------------------------------------
_TLS = P(
    allow("s3:*"),
    S(
        "Deny",
        "s3:*",
        ["arn:aws:s3:::DOC-EXAMPLE-BUCKET", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
        condition={"Bool": {"aws:SecureTransport": "false"}},
        sid="BooleanExample",
    ),
)
case(
    "bool-secure-transport-false-denied",
    user("s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/k", ctx={"aws:SecureTransport": False}),
    ids(_TLS),
    "explicit_deny_identity",
    f"{OPS}: Bool example 'deny all S3 actions ... if the request is not over SSL'",
)
case(
    "bool-secure-transport-true",
    user("s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/k", ctx={"aws:SecureTransport": True}),
    ids(_TLS),
    "allowed",
    f"{OPS}: Bool example, TLS request not denied",
)
case(
    "bool-json-boolean-value",
    user("x:Do", ctx={"aws:SecureTransport": "true"}),
    ids(P(allow("x:Do", condition={"Bool": {"aws:SecureTransport": True}}))),
    "allowed",
    f'{OPS}: Bool compares to "true"/"false"',
)
case(
    "bool-ifexists-mfa-absent-denied",
    user("ec2:DescribeInstances"),
    ids(
        P(
            allow("*"),
            deny("*", condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
        )
    ),
    "explicit_deny_identity",
    "IAM UG: example 'Allows MFA-authenticated IAM users to manage their own credentials' "
    "(BoolIfExists denies long-term keys)",
)
case(
    "binary-equals",
    user("x:Do", ctx={"x:blob": b"BinaryValueInBase64"}),
    ids(P(allow("x:Do", condition={"BinaryEquals": {"x:blob": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}))),
    "allowed",
    f"{OPS}: BinaryEquals 'compares ... byte for byte against a base-64 encoded representation'",
)
case(
    "binary-equals-different",
    user("x:Do", ctx={"x:blob": b"OtherValue"}),
    ids(P(allow("x:Do", condition={"BinaryEquals": {"x:blob": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}))),
    "no_allow_identity",
    f"{OPS}: BinaryEquals, different bytes",
)

# --- Conditions: IP address --------------------------------------------------------------------
_IPALLOW = P(allow("iam:*AccessKey*", condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))
case(
    "ip-in-range",
    user("iam:ListAccessKeys", ctx={"aws:SourceIp": "203.0.113.10"}),
    ids(_IPALLOW),
    "allowed",
    f"{OPS}: IpAddress example 203.0.113.0/24",
)
case(
    "ip-out-of-range",
    user("iam:ListAccessKeys", ctx={"aws:SourceIp": "198.51.100.1"}),
    ids(_IPALLOW),
    "no_allow_identity",
    f"{OPS}: IpAddress, address outside the range",
)
case(
    "ip-missing-vpc-endpoint",
    user("iam:ListAccessKeys"),
    ids(_IPALLOW),
    "no_allow_identity",
    f"{OPS}: aws:SourceIp absent (VPC endpoint) 'the condition returns false'",
)
_DENYIP = P(
    allow("*"),
    deny(
        "*",
        condition={
            "NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]},
            "Bool": {"aws:ViaAWSService": "false"},
        },
    ),
)
case(
    "not-ip-deny-outside",
    user("s3:GetObject", ctx={"aws:SourceIp": "198.51.100.7", "aws:ViaAWSService": False}),
    ids(_DENYIP),
    "explicit_deny_identity",
    "IAM UG: example 'AWS: Denies access to AWS based on the source IP'",
)
case(
    "not-ip-deny-inside",
    user("s3:GetObject", ctx={"aws:SourceIp": "192.0.2.9", "aws:ViaAWSService": False}),
    ids(_DENYIP),
    "allowed",
    "IAM UG: example 'Denies access based on the source IP' (allowed range)",
)
case(
    "not-ip-deny-via-service",
    user("s3:GetObject", ctx={"aws:SourceIp": "198.51.100.7", "aws:ViaAWSService": True}),
    ids(_DENYIP),
    "allowed",
    "IAM UG: example 'Denies access based on the source IP' (aws:ViaAWSService true)",
)
case(
    "ip-v6-range",
    user("x:Do", ctx={"aws:SourceIp": "2001:db8:1234:5678::1"}),
    ids(
        P(
            allow(
                "x:Do",
                condition={
                    "IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}
                },
            )
        )
    ),
    "allowed",
    f"{OPS}: example mixing IPv4 and IPv6 addresses",
)
case(
    "ip-v4-not-in-v6",
    user("x:Do", ctx={"aws:SourceIp": "10.0.0.1"}),
    ids(P(allow("x:Do", condition={"IpAddress": {"aws:SourceIp": "::/0"}}))),
    "no_allow_identity",
    f"{OPS}: an IPv4 address is not in an IPv6 range",
)
case(
    "ip-default-prefix-32",
    user("x:Do", ctx={"aws:SourceIp": "203.0.113.6"}),
    ids(P(allow("x:Do", condition={"IpAddress": {"aws:SourceIp": "203.0.113.5"}}))),
    "no_allow_identity",
    f"{OPS}: 'If you specify an IP address without the associated routing prefix, IAM "
    "uses ... /32'",
)
case(
    "not-ip-missing-key-true",
    user("x:Do"),
    ids(P(allow("x:Do", condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))),
    "allowed",
    f"{OPS}: negated operators are true when the key is absent",
)

# --- Conditions: ARN ---------------------------------------------------------------------------
_TOPIC = f"arn:aws:sns:us-east-2:{A}:TOPIC-ID"
_QUEUE = f"arn:aws:sqs:us-east-2:{A}:QUEUE-ID"
_SQSPOL = R(
    S(
        "Allow",
        "SQS:SendMessage",
        _QUEUE,
        principal={"Service": "sns.amazonaws.com"},
        condition={"ArnEquals": {"aws:SourceArn": _TOPIC}},
    )
)
case(
    "arn-equals-source-arn",
    svc("sqs:SendMessage", _QUEUE, service="sns.amazonaws.com", ctx={"aws:SourceArn": _TOPIC}),
    ids(resource=_SQSPOL, resource_account=A),
    "allowed",
    f"{OPS}: ARN operators example (SQS queue policy, aws:SourceArn of the SNS topic)",
)
case(
    "arn-equals-other-topic",
    svc(
        "sqs:SendMessage", _QUEUE, service="sns.amazonaws.com", ctx={"aws:SourceArn": _TOPIC + "2"}
    ),
    ids(resource=_SQSPOL, resource_account=A),
    "no_allow_resource",
    f"{OPS}: ArnEquals with another topic",
)
_ODD = f"arn:aws:someservice:us-east-2:999999999999:store/abc:{A}:finance/document.txt"
case(
    "arn-like-segmentwise-fails",
    user("x:Do", ctx={"x:arn": _ODD}),
    ids(P(allow("x:Do", condition={"ArnLike": {"x:arn": f"arn:aws:someservice:*:{A}:finance/*"}}))),
    "no_allow_identity",
    f"{OPS}: 'With an ArnLike condition, which matches elements between colons, the match fails'",
)
case(
    "string-like-same-pattern-succeeds",
    user("x:Do", ctx={"x:arn": _ODD}),
    ids(
        P(
            allow(
                "x:Do", condition={"StringLike": {"x:arn": f"arn:aws:someservice:*:{A}:finance/*"}}
            )
        )
    ),
    "allowed",
    f"{OPS}: 'With a StringLike condition, the match succeeds'",
)
case(
    "arn-like-region-wildcard",
    user("x:Do", ctx={"aws:SourceArn": f"arn:aws:cloudtrail:eu-west-1:{A}:trail/main"}),
    ids(
        P(
            allow(
                "x:Do",
                condition={"ArnLike": {"aws:SourceArn": f"arn:aws:cloudtrail:*:{A}:trail/*"}},
            )
        )
    ),
    "allowed",
    f"{OPS}: ArnLike, each component may hold wildcards",
)
case(
    "arn-like-case-sensitive",
    user("x:Do", ctx={"aws:SourceArn": f"arn:aws:cloudtrail:eu-west-1:{A}:trail/Main"}),
    ids(
        P(
            allow(
                "x:Do",
                condition={"ArnLike": {"aws:SourceArn": f"arn:aws:cloudtrail:*:{A}:trail/main"}},
            )
        )
    ),
    "no_allow_identity",
    f"{OPS}: ArnEquals/ArnLike 'Case-sensitive matching of the ARN'",
)
case(
    "arn-not-like-missing-key",
    user("x:Do"),
    ids(P(allow("x:Do", condition={"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::*"}}))),
    "allowed",
    f"{OPS}: 'If the policy condition requires that the key is not matched, such as ... "
    "ArnNotLike, and the right key is not present, the condition is true'",
)
case(
    "arn-not-equals-matching",
    user("x:Do", ctx={"aws:SourceArn": "arn:aws:s3:::logs"}),
    ids(P(allow("x:Do", condition={"ArnNotEquals": {"aws:SourceArn": "arn:aws:s3:::logs"}}))),
    "no_allow_identity",
    f"{OPS}: ArnNotEquals negated matching",
)

# --- Conditions: Null ----------------------------------------------------------------------
_NULLTOKEN = P(allow("ec2:*", condition={"Null": {"aws:TokenIssueTime": "true"}}))
case(
    "null-true-long-term-keys",
    user("ec2:DescribeInstances"),
    ids(_NULLTOKEN),
    "allowed",
    f"{OPS}: Null example 'the user must not be using temporary credentials'",
)
case(
    "null-true-temporary-credentials",
    session("ec2:DescribeInstances", ctx={"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}),
    ids(_NULLTOKEN),
    "no_allow_identity",
    f"{OPS}: Null example, temporary credentials have aws:TokenIssueTime",
)
case(
    "null-false-key-present",
    user("ec2:CreateTags", ctx={"aws:RequestTag/Owner": "alice"}),
    ids(P(allow("ec2:CreateTags", condition={"Null": {"aws:RequestTag/Owner": "false"}}))),
    "allowed",
    f"{OPS}: Null false 'the key exists and its value is not null'",
)
case(
    "null-deny-missing-tag",
    user("ec2:RunInstances"),
    ids(
        P(
            allow("ec2:*"),
            deny("ec2:RunInstances", condition={"Null": {"aws:RequestTag/CostCenter": "true"}}),
        )
    ),
    "explicit_deny_identity",
    f"{OPS}: Null true in a Deny requires the tag",
)

# --- Conditions: set operators --------------------------------------------------------------
_THREAD = "arn:aws:dynamodb:us-east-1:111122223333:table/Thread"
_FORALL = P(
    allow(
        "dynamodb:GetItem",
        _THREAD,
        condition={
            "ForAllValues:StringLike": {
                "dynamodb:requestedAttributes": ["PostDateTime", "Message", "Tags"]
            }
        },
    )
)
_FORANY = P(
    allow("dynamodb:*"),
    deny(
        "dynamodb:PutItem",
        _THREAD,
        condition={
            "ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID", "PostDateTime"]}
        },
    ),
)
case(
    "forallvalues-subset",
    user(
        "dynamodb:GetItem",
        _THREAD,
        ctx={"dynamodb:requestedAttributes": ["PostDateTime", "Message"]},
    ),
    ids(_FORALL),
    "allowed",
    f"{MULTI}: ForAllValues example, attributes PostDateTime and Message",
)
case(
    "forallvalues-not-subset",
    user(
        "dynamodb:GetItem",
        _THREAD,
        ctx={"dynamodb:requestedAttributes": ["PostDateTime", "UserName"]},
    ),
    ids(_FORALL),
    "no_allow_identity",
    f"{MULTI}: ForAllValues example, 'There's no match for UserName'",
)
case(
    "forallvalues-missing-key-true",
    user("dynamodb:GetItem", _THREAD),
    ids(_FORALL),
    "allowed",
    f"{MULTI}: ForAllValues returns true when the key is absent",
)
case(
    "forallvalues-empty-set-true",
    user("dynamodb:GetItem", _THREAD, ctx={"dynamodb:requestedAttributes": []}),
    ids(_FORALL),
    "allowed",
    f"{MULTI}: 'If the key values in the request resolve to an empty data set ... ForAllValues "
    "returns true'",
)
case(
    "foranyvalue-deny-one-match",
    user(
        "dynamodb:PutItem",
        _THREAD,
        ctx={"dynamodb:requestedAttributes": ["UserName", "Message", "PostDateTime"]},
    ),
    ids(_FORANY),
    "explicit_deny_identity",
    f"{MULTI}: ForAnyValue example, PostDateTime matches so the Deny applies",
)
case(
    "foranyvalue-deny-no-match",
    user("dynamodb:PutItem", _THREAD, ctx={"dynamodb:requestedAttributes": ["UserName"]}),
    ids(_FORANY),
    "allowed",
    f"{MULTI}: ForAnyValue example, 'the request is not denied by this policy'",
)
case(
    "foranyvalue-empty-set-false",
    user("dynamodb:PutItem", _THREAD, ctx={"dynamodb:requestedAttributes": []}),
    ids(_FORANY),
    "allowed",
    f"{MULTI}: empty data set, 'ForAnyValue returns false'",
)
case(
    "foranyvalue-missing-key-false",
    user("x:Do"),
    ids(P(allow("x:Do", condition={"ForAnyValue:StringEquals": {"aws:TagKeys": "Department"}}))),
    "no_allow_identity",
    f"{MULTI}: ForAnyValue on an absent key is false",
)
_TAGKEYS = P(
    allow(
        "ec2:CreateTags",
        condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["Department", "Project"]}},
    )
)
case(
    "forallvalues-tag-keys-allowed",
    user("ec2:CreateTags", ctx={"aws:TagKeys": ["Project"]}),
    ids(_TAGKEYS),
    "allowed",
    "IAM UG: controlling access during AWS requests, aws:TagKeys with ForAllValues",
)
case(
    "forallvalues-tag-keys-extra-key",
    user("ec2:CreateTags", ctx={"aws:TagKeys": ["Project", "Secret"]}),
    ids(_TAGKEYS),
    "no_allow_identity",
    "IAM UG: aws:TagKeys with ForAllValues, an unlisted key",
)
case(
    "forallvalues-string-not-equals",
    user("x:Tag", ctx={"aws:TagKeys": ["a", "secret"]}),
    ids(P(allow("x:Tag", condition={"ForAllValues:StringNotEquals": {"aws:TagKeys": "secret"}}))),
    "no_allow_identity",
    f"{MULTI}: ForAllValues with a negated operator: every value must differ",
)
case(
    "foranyvalue-string-not-equals",
    user("x:Tag", ctx={"aws:TagKeys": ["a", "secret"]}),
    ids(P(allow("x:Tag", condition={"ForAnyValue:StringNotEquals": {"aws:TagKeys": "secret"}}))),
    "allowed",
    f"{MULTI}: ForAnyValue with a negated operator: one value differing is enough",
)
case(
    "forallvalues-ifexists-missing",
    user("x:Tag"),
    ids(P(allow("x:Tag", condition={"ForAllValues:StringEqualsIfExists": {"aws:TagKeys": "a"}}))),
    "allowed",
    f"{OPS}: ...IfExists with a set operator, absent key",
)
case(
    "condition-key-case-insensitive",
    user("x:Do", ctx={"aws:CurrentTime": datetime(2020, 5, 1, tzinfo=UTC)}),
    ids(
        P(allow("x:Do", condition={"DateGreaterThan": {"AWS:currenttime": "2020-01-01T00:00:00Z"}}))
    ),
    "allowed",
    f"{VARS}: 'Key names are case-insensitive ... aws:CurrentTime is equivalent to "
    "AWS:currenttime'",
)

# --- Policy variables ---------------------------------------------------------------------
_OWNKEYS = P(allow("iam:*AccessKey*", f"arn:aws:iam::{A}:user/${{aws:username}}"))
case(
    "var-username-own-user",
    user("iam:CreateAccessKey", ALICE),
    ids(_OWNKEYS),
    "allowed",
    f"{VARS}: example 'iam:*AccessKey*' on user/${{aws:username}}",
)
case(
    "var-username-other-user",
    user("iam:CreateAccessKey", BOB),
    ids(_OWNKEYS),
    "no_allow_identity",
    f"{VARS}: ${{aws:username}} resolves to the caller only",
)
case(
    "var-username-absent-for-role",
    session("iam:CreateAccessKey", f"arn:aws:iam::{A}:user/app"),
    ids(_OWNKEYS),
    "no_allow_identity",
    f"{VARS}: principal key values: aws:username 'not present' for assumed roles",
)
_S3HOME = P(allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::mybucket/${aws:username}/*"))
case(
    "var-s3-home",
    user("s3:GetObject", "arn:aws:s3:::mybucket/alice/notes.txt"),
    ids(_S3HOME),
    "allowed",
    f"{VARS}: example 'arn:aws:s3:::mybucket/${{aws:username}}/*'",
)
case(
    "var-s3-home-other",
    user("s3:GetObject", "arn:aws:s3:::mybucket/bob/notes.txt"),
    ids(_S3HOME),
    "no_allow_identity",
    f"{VARS}: another user's home directory",
)
case(
    "var-2008-version-literal",
    user("s3:GetObject", "arn:aws:s3:::mybucket/alice/notes.txt"),
    ids(P(allow("s3:GetObject", "arn:aws:s3:::mybucket/${aws:username}/*"), version="2008-10-17")),
    "no_allow_identity",
    f"{VARS}: 'Earlier versions of the policy language don't support policy variables'",
)
case(
    "var-no-version-literal",
    user("s3:GetObject", "arn:aws:s3:::mybucket/${aws:username}/x"),
    ids(P(allow("s3:GetObject", "arn:aws:s3:::mybucket/${aws:username}/*"), version=None)),
    "allowed",
    f"{VARS}: without Version 'variables like ${{aws:username}} are treated as literal strings'",
)
case(
    "var-principal-tag-in-resource",
    user("s3:ListBucket", "arn:aws:s3:::bucket/hr", ctx={"aws:PrincipalTag/department": "hr"}),
    ids(P(allow("s3:ListBucket", "arn:aws:s3:::bucket/${aws:PrincipalTag/department}"))),
    "allowed",
    f"{VARS}: tags as policy variables, 'arn:aws:s3:::bucket/${{aws:PrincipalTag/department}}'",
)
_OWNER = P(
    allow(
        ["ec2:StartInstances", "ec2:StopInstances"],
        condition={"StringEquals": {"ec2:ResourceTag/Owner": "${aws:username}"}},
    )
)
case(
    "var-condition-resource-tag-owner",
    user("ec2:StopInstances", ctx={"ec2:ResourceTag/Owner": "alice"}),
    ids(_OWNER),
    "allowed",
    "IAM UG: example 'EC2: Start or stop instances based on tags' (Owner = ${aws:username})",
)
case(
    "var-condition-resource-tag-other-owner",
    user("ec2:StopInstances", ctx={"ec2:ResourceTag/Owner": "bob"}),
    ids(_OWNER),
    "no_allow_identity",
    "IAM UG: example 'EC2: Start or stop instances based on tags', another owner",
)
_ABAC = P(
    allow(
        "secretsmanager:GetSecretValue",
        condition={"StringEquals": {"aws:ResourceTag/project": "${aws:PrincipalTag/project}"}},
    )
)
case(
    "var-abac-tags-match",
    session(
        "secretsmanager:GetSecretValue",
        ctx={"aws:ResourceTag/project": "pegasus", "aws:PrincipalTag/project": "pegasus"},
    ),
    ids(_ABAC),
    "allowed",
    "IAM UG: ABAC tutorial, aws:ResourceTag/project = ${aws:PrincipalTag/project}",
)
case(
    "var-abac-principal-tag-missing",
    session("secretsmanager:GetSecretValue", ctx={"aws:ResourceTag/project": "pegasus"}),
    ids(_ABAC),
    "no_allow_identity",
    f"{VARS}: an unresolvable variable makes the value not match",
)
case(
    "var-star-literal",
    user("s3:GetObject", "arn:aws:s3:::bucket/*"),
    ids(P(allow("s3:GetObject", "arn:aws:s3:::bucket/${*}"))),
    "allowed",
    f"{VARS}: special characters '${{*}} - use where you need an * (asterisk) character'",
)
case(
    "var-star-literal-not-wildcard",
    user("s3:GetObject", "arn:aws:s3:::bucket/abc"),
    ids(P(allow("s3:GetObject", "arn:aws:s3:::bucket/${*}"))),
    "no_allow_identity",
    f"{VARS}: '${{*}}' is a literal asterisk, not a wildcard",
)
case(
    "var-question-literal",
    user("x:Do", ctx={"x:v": "ab"}),
    ids(P(allow("x:Do", condition={"StringLike": {"x:v": "a${?}"}}))),
    "no_allow_identity",
    f"{VARS}: '${{?}}' is a literal question mark",
)
case(
    "var-dollar-literal",
    user("x:Do", ctx={"x:v": "cost$"}),
    ids(P(allow("x:Do", condition={"StringEquals": {"x:v": "cost${$}"}}))),
    "allowed",
    f"{VARS}: '${{$}} - use where you need a $ (dollar sign) character'",
)
case(
    "var-default-value",
    user("s3:GetObject", "arn:aws:s3:::team-none/x"),
    ids(P(allow("s3:GetObject", "arn:aws:s3:::team-${aws:PrincipalTag/team, 'none'}/*"))),
    "allowed",
    f"{VARS}: specifying default values '${{aws:userid, 'anonymous'}}'",
)
case(
    "var-userid-from-context",
    session(
        "s3:GetObject", "arn:aws:s3:::home/AROAEXAMPLE:s1/f", ctx={"aws:userid": "AROAEXAMPLE:s1"}
    ),
    ids(P(allow("s3:GetObject", "arn:aws:s3:::home/${aws:userid}/*"))),
    "allowed",
    f"{VARS}: aws:userid 'role-id:caller-specified-role-name' for assumed roles",
)
case(
    "var-source-ip-in-resource",
    user("s3:PutObject", "arn:aws:s3:::logs/203.0.113.9/x", ctx={"aws:SourceIp": "203.0.113.9"}),
    ids(P(allow("s3:PutObject", "arn:aws:s3:::logs/${aws:SourceIp}/*"))),
    "allowed",
    f"{VARS}: request information that you can use for policy variables (aws:SourceIp)",
)

# --- Resource-based policies, same account --------------------------------------------------
_B1 = "arn:aws:s3:::b1"
_OBJ = "arn:aws:s3:::b1/k"


def _bucket(principal, effect="Allow", action="s3:GetObject", condition=None):
    return R(S(effect, action, [_B1, f"{_B1}/*"], principal=principal, condition=condition))


_S3ONLY_BOUNDARY = P(allow("ec2:*"))
case(
    "rbp-user-arn-no-identity",
    user("s3:GetObject", _OBJ),
    ids(resource=_bucket({"AWS": ALICE}), resource_account=A),
    "allowed",
    f"{RBP_TABLE}: IAM user ARN named directly",
)
case(
    "rbp-user-arn-boundary-implicit-deny",
    user("s3:GetObject", _OBJ),
    ids(resource=_bucket({"AWS": ALICE}), resource_account=A, boundary=_S3ONLY_BOUNDARY),
    "allowed",
    f"{RBP_TABLE}: 'resource-based policies that grant permissions to an IAM user ARN ... are not "
    "limited by an implicit deny in an identity-based policy or permissions boundary'",
)
case(
    "rbp-role-arn-no-limits",
    session("s3:GetObject", _OBJ),
    ids(resource=_bucket({"AWS": ROLE}), resource_account=A),
    "allowed",
    f"{RBP_TABLE}: IAM role ARN named, no boundary or session policy",
)
case(
    "rbp-role-arn-boundary-implicit-deny",
    session("s3:GetObject", _OBJ),
    ids(resource=_bucket({"AWS": ROLE}), resource_account=A, boundary=_S3ONLY_BOUNDARY),
    "no_allow_boundary",
    f"{RBP_TABLE}: 'Resource-based policies that grant permissions to an IAM role ARN are limited "
    "by an implicit deny in a permissions boundary'",
)
case(
    "rbp-role-arn-session-policy-implicit-deny",
    session("s3:GetObject", _OBJ),
    ids(resource=_bucket({"AWS": ROLE}), resource_account=A, session=[P(allow("ec2:*"))]),
    "no_allow_session",
    f"{RBP_TABLE}: role ARN grants are limited by an implicit deny in a session policy",
)
case(
    "rbp-session-arn-boundary-implicit-deny",
    session("s3:GetObject", _OBJ),
    ids(resource=_bucket({"AWS": SESSION}), resource_account=A, boundary=_S3ONLY_BOUNDARY),
    "allowed",
    f"{RBP_TABLE}: 'Permissions granted directly to a session are not limited by an implicit deny "
    "in ... a permissions boundary'",
)
case(
    "rbp-session-arn-session-policy-implicit-deny",
    session("s3:GetObject", _OBJ),
    ids(resource=_bucket({"AWS": SESSION}), resource_account=A, session=[P(allow("ec2:*"))]),
    "allowed",
    f"{SESS}: 'A resource-based policy can specify the ARN of the session ... not limited by the "
    "session policies'",
)
case(
    "rbp-account-principal-needs-identity",
    user("s3:GetObject", _OBJ),
    ids(resource=_bucket({"AWS": ROOT_A}), resource_account=A),
    "no_allow_identity",
    "IAM UG: Principal element, AWS account principals ('delegates ... to the account')",
)
case(
    "rbp-account-principal-with-identity",
    user("s3:GetObject", _OBJ),
    ids(P(allow("s3:GetObject")), resource=_bucket({"AWS": ROOT_A}), resource_account=A),
    "allowed",
    "IAM UG: Principal element, account principal plus an identity-based allow",
)
case(
    "rbp-public-star",
    user("s3:GetObject", _OBJ),
    ids(resource=_bucket("*"), resource_account=A),
    "allowed",
    "IAM UG: Principal element, 'Principal: *' grants everyone",
)
case(
    "rbp-deny-named-user",
    user("s3:GetObject", _OBJ),
    ids(admin(), resource=_bucket({"AWS": ALICE}, effect="Deny"), resource_account=A),
    "explicit_deny_resource",
    f"{EVAL}: explicit deny in a resource-based policy",
)
case(
    "rbp-deny-account-denies-users",
    user("s3:GetObject", _OBJ),
    ids(admin(), resource=_bucket({"AWS": A}, effect="Deny"), resource_account=A),
    "explicit_deny_resource",
    "IAM UG: Principal element, a statement naming the account applies to all its identities",
)
case(
    "rbp-deny-role-denies-sessions",
    session("s3:GetObject", _OBJ),
    ids(admin(), resource=_bucket({"AWS": ROLE}, effect="Deny"), resource_account=A),
    "explicit_deny_resource",
    "IAM UG: Principal element, role principals (a role's sessions are covered)",
)
case(
    "rbp-other-user-only",
    user("s3:GetObject", _OBJ),
    ids(resource=_bucket({"AWS": BOB}), resource_account=A),
    "no_allow_identity",
    f"{EVAL}: a resource-based policy that names someone else does not grant",
)
case(
    "rbp-federated-user-arn-direct",
    fed("s3:GetObject", _OBJ),
    ids(resource=_bucket({"AWS": FED}), resource_account=A, session=[P(allow("ec2:*"))]),
    "allowed",
    f"{RBP_TABLE}: federated user session ARN 'grant permissions directly to the session'",
)
case(
    "rbp-federated-via-iam-user-arn",
    fed("s3:GetObject", _OBJ),
    ids(resource=_bucket({"AWS": BOB}), resource_account=A, session=[P(allow("ec2:*"))]),
    "no_allow_session",
    f"{RBP_TABLE}: 'if a resource-based policy grants permission to the ARN of the IAM user who "
    "federated, then requests ... are limited by an implicit deny in a ... session policy'",
)
case(
    "rbp-condition-not-met-falls-to-identity",
    user("s3:GetObject", _OBJ, ctx={"aws:SecureTransport": False}),
    ids(
        resource=_bucket({"AWS": ALICE}, condition={"Bool": {"aws:SecureTransport": "true"}}),
        resource_account=A,
    ),
    "no_allow_identity",
    f"{EVAL}: a statement applies only when its conditions match",
)

case(
    "rbp-unique-id-principal",
    user("s3:GetObject", _OBJ, ctx={"aws:userid": "AIDAJQABLZS4A3QDU576Q"}),
    ids(resource=_bucket({"AWS": "AIDAJQABLZS4A3QDU576Q"}), resource_account=A),
    "allowed",
    "IAM UG: Principal element, 'IAM converts the ARN to the user's unique principal ID'",
)
case(
    "rbp-notprincipal-allow-grants-others",
    user("s3:GetObject", _OBJ),
    ids(
        resource=R(S("Allow", "s3:GetObject", f"{_B1}/*", not_principal={"AWS": BOB})),
        resource_account=A,
    ),
    "allowed",
    "IAM UG: NotPrincipal with Allow 'allows all principals except the one named'",
)
case(
    "rbp-service-principal-star",
    svc("s3:PutObject", _OBJ, service="logging.s3.amazonaws.com"),
    ids(resource=_bucket("*", action="s3:PutObject"), resource_account=A),
    "allowed",
    "IAM UG: Principal element, 'Principal: *' includes service principals",
)

# --- Cross-account -------------------------------------------------------------------------
_XB = "arn:aws:s3:::bucket-in-b"
_XOBJ = f"{_XB}/k"


def _xbucket(principal, effect="Allow"):
    return R(S(effect, "s3:*", [_XB, f"{_XB}/*"], principal=principal))


case(
    "xacct-both-allow-account-principal",
    user("s3:GetObject", _XOBJ),
    ids(P(allow("s3:GetObject")), resource=_xbucket({"AWS": ROOT_A}), resource_account=B),
    "allowed",
    f"{XACCT}: 'the identity-based policy ... and the resource-based policy ... must allow'",
)
case(
    "xacct-no-resource-policy",
    user("s3:GetObject", _XOBJ),
    ids(P(allow("s3:GetObject")), resource_account=B),
    "no_allow_resource",
    f"{XACCT}: without a resource-based policy in the trusting account the request is denied",
)
case(
    "xacct-resource-names-user-no-identity",
    user("s3:GetObject", _XOBJ),
    ids(resource=_xbucket({"AWS": ALICE}), resource_account=B),
    "no_allow_identity",
    f"{XACCT}: the requesting account's identity-based policy must also allow",
)
case(
    "xacct-bare-account-id",
    user("s3:GetObject", _XOBJ),
    ids(P(allow("s3:*")), resource=_xbucket({"AWS": A}), resource_account=B),
    "allowed",
    "IAM UG: Principal element, account principal as a bare account ID",
)
case(
    "xacct-role-arn",
    session("s3:PutObject", _XOBJ),
    ids(P(allow("s3:PutObject")), resource=_xbucket({"AWS": ROLE}), resource_account=B),
    "allowed",
    f"{XACCT}: a resource-based policy naming the role of the calling session",
)
case(
    "xacct-other-account-named",
    user("s3:GetObject", _XOBJ),
    ids(P(allow("s3:*")), resource=_xbucket({"AWS": ROOT_B}), resource_account=B),
    "no_allow_resource",
    f"{XACCT}: a resource-based policy trusting only its own account",
)
case(
    "xacct-public-with-identity",
    user("s3:GetObject", _XOBJ),
    ids(P(allow("s3:*")), resource=_xbucket("*"), resource_account=B),
    "allowed",
    f"{XACCT}: 'Principal: *' in the other account plus an identity allow",
)
case(
    "xacct-public-without-identity",
    user("s3:GetObject", _XOBJ),
    ids(resource=_xbucket("*"), resource_account=B),
    "no_allow_identity",
    f"{XACCT}: an IAM principal from another account still needs its own identity allow",
)
case(
    "xacct-explicit-deny-resource",
    user("s3:GetObject", _XOBJ),
    ids(
        P(allow("s3:*")),
        resource=R(
            S("Allow", "s3:*", f"{_XB}/*", principal={"AWS": ROOT_A}),
            S("Deny", "s3:GetObject", f"{_XB}/*", principal={"AWS": ALICE}),
        ),
        resource_account=B,
    ),
    "explicit_deny_resource",
    f"{XACCT}: an explicit deny in the trusting account's resource policy",
)
case(
    "xacct-root-user-of-trusted-account",
    root("s3:GetObject", _XOBJ),
    ids(resource=_xbucket({"AWS": ROOT_A}), resource_account=B),
    "allowed",
    f"{EVAL}: root user has full access in its account; the bucket trusts that account",
)
case(
    "xacct-session-arn-still-needs-session-policy",
    session("s3:GetObject", _XOBJ),
    ids(
        P(allow("s3:*")),
        resource=_xbucket({"AWS": SESSION}),
        resource_account=B,
        session=[P(allow("ec2:*"))],
    ),
    "no_allow_session",
    f"{XACCT}: across accounts the session's own permissions (session policy) must allow",
)
case(
    "xacct-boundary-applies",
    user("s3:GetObject", _XOBJ),
    ids(
        P(allow("s3:*")),
        resource=_xbucket({"AWS": ALICE}),
        resource_account=B,
        boundary=P(allow("ec2:*")),
    ),
    "no_allow_boundary",
    f"{XACCT}: the requesting principal's permissions boundary still limits",
)

# --- Permissions boundaries -----------------------------------------------------------------
_SHIRLEY_BOUNDARY = P(allow(["s3:*", "cloudwatch:*", "ec2:*"]))
case(
    "boundary-example-createuser-denied",
    user("iam:CreateUser", f"arn:aws:iam::{A}:user/new", name="ShirleyRodriguez"),
    ids(P(allow("iam:CreateUser")), boundary=_SHIRLEY_BOUNDARY),
    "no_allow_boundary",
    f"{BOUND}: example, boundary allows S3/CloudWatch/EC2, identity allows iam:CreateUser",
)
case(
    "boundary-intersection-allowed",
    user("s3:GetObject", "arn:aws:s3:::b/k", name="ShirleyRodriguez"),
    ids(P(allow("s3:GetObject")), boundary=_SHIRLEY_BOUNDARY),
    "allowed",
    f"{BOUND}: 'the entity can perform only the actions that are allowed by both'",
)
case(
    "boundary-does-not-grant",
    user("ec2:RunInstances", name="ShirleyRodriguez"),
    ids(P(allow("s3:*")), boundary=_SHIRLEY_BOUNDARY),
    "no_allow_identity",
    f"{BOUND}: 'Permissions boundaries ... do not grant permissions on their own'",
)
case(
    "boundary-explicit-deny",
    user("s3:DeleteBucket", "arn:aws:s3:::b"),
    ids(admin(), boundary=P(allow("*"), deny("s3:DeleteBucket"))),
    "explicit_deny_boundary",
    f"{BOUND}: an explicit deny in the boundary",
)
case(
    "boundary-role-session",
    session("kms:Decrypt", KEY),
    ids(P(allow("kms:*")), boundary=P(allow("kms:Encrypt"))),
    "no_allow_boundary",
    f"{BOUND}: a role's boundary limits its sessions",
)
case(
    "boundary-with-condition",
    user("s3:GetObject", "arn:aws:s3:::b/k", ctx={"aws:RequestedRegion": "us-east-1"}),
    ids(
        P(allow("s3:*")),
        boundary=P(allow("*", condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})),
    ),
    "no_allow_boundary",
    f"{BOUND}: boundary statements are evaluated with their conditions",
)

# --- Session policies -------------------------------------------------------------------
case(
    "session-intersection-allowed",
    session("s3:GetObject", "arn:aws:s3:::b/k"),
    ids(P(allow("s3:*")), session=[P(allow("s3:GetObject"))]),
    "allowed",
    f"{SESS}: 'the intersection of the IAM entity's identity-based policy and the session "
    "policies'",
)
case(
    "session-policy-no-allow",
    session("s3:PutObject", "arn:aws:s3:::b/k"),
    ids(P(allow("s3:*")), session=[P(allow("s3:GetObject"))]),
    "no_allow_session",
    f"{EVAL}: 'If a session policy is present and does not allow the requested action, then the "
    "request is implicitly denied'",
)
case(
    "session-policy-explicit-deny",
    session("s3:DeleteObject", "arn:aws:s3:::b/k"),
    ids(P(allow("s3:*")), session=[P(allow("s3:*"), deny("s3:Delete*"))]),
    "explicit_deny_session",
    f"{EVAL}: explicit deny in a session policy",
)
case(
    "session-policy-cannot-grant",
    session("ec2:RunInstances"),
    ids(P(allow("s3:*")), session=[P(allow("*"))]),
    "no_allow_identity",
    f"{SESS}: 'You cannot use session policies to grant more permissions than those allowed by the "
    "identity-based policy'",
)
case(
    "session-none-role-session-allowed",
    session("s3:GetObject", "arn:aws:s3:::b/k"),
    ids(P(allow("s3:*"))),
    "allowed",
    f"{EVAL}: 'If there is no session policy ... If the principal is a role session, then the "
    "request is Allowed'",
)
case(
    "session-none-federated-user-denied",
    fed("s3:GetObject", "arn:aws:s3:::b/k"),
    ids(P(allow("s3:*"))),
    "no_allow_session",
    f"{EVAL}: no session policy and not a role session, 'the request is implicitly denied'",
)
case(
    "session-federated-with-policy",
    fed("s3:GetObject", "arn:aws:s3:::b/k"),
    ids(P(allow("s3:*")), session=[P(allow("s3:Get*"))]),
    "allowed",
    "STS API: GetFederationToken, permissions are the intersection of user and session policies",
)
case(
    "session-several-policies-any-allows",
    session("sqs:SendMessage"),
    ids(P(allow("sqs:*")), session=[P(allow("sns:*")), P(allow("sqs:SendMessage"))]),
    "allowed",
    "STS API: AssumeRole Policy and PolicyArns (inline and managed session policies)",
)

# --- Service control policies -----------------------------------------------------------------
_FULL = P(allow("*"))
case(
    "scp-full-access-identity-allows",
    user("s3:GetObject", "arn:aws:s3:::b/k"),
    ids(P(allow("s3:*")), scps=[[_FULL]]),
    "allowed",
    f"{SCP}: FullAWSAccess plus an identity allow",
)
case(
    "scp-explicit-deny-beats-admin",
    user("iam:CreateAccessKey", ALICE),
    ids(admin(), scps=[[_FULL, P(deny("iam:CreateAccessKey"))]]),
    "explicit_deny_scp",
    f"{SCP}: 'with an explicit deny in a service control policy' even for administrators",
)
case(
    "scp-no-allow",
    user("kms:Decrypt", KEY),
    ids(admin(), scps=[[P(allow("s3:*"))]]),
    "no_allow_scp",
    f"{EVAL}: 'If the enforcement code does not find any applicable Allow statements in the SCPs, "
    "then the request is implicitly denied'",
)
case(
    "scp-every-level-must-allow",
    user("kms:Decrypt", KEY),
    ids(admin(), scps=[[_FULL], [P(allow("s3:*"))], [_FULL]]),
    "no_allow_scp",
    "Orgs UG: SCP evaluation, 'every level ... must explicitly allow'",
)
case(
    "scp-every-level-allows",
    user("s3:GetObject", "arn:aws:s3:::b/k"),
    ids(admin(), scps=[[_FULL], [P(allow("s3:*"))], [P(allow("s3:Get*"))]]),
    "allowed",
    "Orgs UG: SCP evaluation, an action allowed at every level",
)
case(
    "scp-applies-to-member-root",
    root("iam:CreateUser", f"arn:aws:iam::{A}:user/x"),
    ids(scps=[[_FULL, P(deny("iam:*"))]]),
    "explicit_deny_scp",
    f"{EVAL}: 'The SCP maximum applies to principals in member accounts, including each AWS "
    "account root user'",
)
case(
    "scp-does-not-grant",
    user("s3:GetObject", "arn:aws:s3:::b/k"),
    ids(scps=[[_FULL]]),
    "no_allow_identity",
    f"{SCP}: 'SCPs don't grant permissions'",
)
case(
    "scp-none-management-account-root",
    root("organizations:LeaveOrganization"),
    ids(scps=None),
    "allowed",
    f"{SCP}: SCPs do not affect the management account (caller passes scps=None)",
)
_EU_ONLY = P(
    S(
        "Deny",
        not_action=["iam:*", "organizations:*", "sts:*", "support:*"],
        condition={"StringNotEquals": {"aws:RequestedRegion": ["eu-central-1", "eu-west-1"]}},
        sid="DenyAllOutsideEU",
    )
)
case(
    "scp-deny-outside-eu",
    user("ec2:RunInstances", ctx={"aws:RequestedRegion": "us-east-1"}),
    ids(admin(), scps=[[_FULL, _EU_ONLY]]),
    "explicit_deny_scp",
    "Orgs UG: example SCP 'Deny access to AWS based on the requested AWS Region'",
)
case(
    "scp-deny-outside-eu-global-service",
    user("iam:ListRoles", ctx={"aws:RequestedRegion": "us-east-1"}),
    ids(admin(), scps=[[_FULL, _EU_ONLY]]),
    "allowed",
    "Orgs UG: example SCP 'DenyAllOutsideEU' exempts global services via NotAction",
)
case(
    "scp-not-applied-to-service-principal",
    svc("s3:PutObject", "arn:aws:s3:::trail/AWSLogs/x"),
    ids(
        resource=R(
            S(
                "Allow",
                "s3:PutObject",
                "arn:aws:s3:::trail/*",
                principal={"Service": "cloudtrail.amazonaws.com"},
            )
        ),
        resource_account=A,
        scps=[[P(deny("s3:*"))]],
    ),
    "allowed",
    f"{EVAL}: 'SCPs apply to principals of the account where the SCPs are attached' (not services)",
)

# --- KMS key policies (the key policy must allow) ---------------------------------------------
_DEFAULT_KEY_POLICY = R(
    S("Allow", "kms:*", "*", principal={"AWS": ROOT_A}, sid="Enable IAM User Permissions")
)
case(
    "kms-default-key-policy-iam-allows",
    user("kms:Encrypt", KEY),
    ids(P(allow("kms:Encrypt", KEY)), resource=_DEFAULT_KEY_POLICY, resource_policy_required=True),
    "allowed",
    f"{KMS}: the default key policy enables IAM policies",
)
case(
    "kms-default-key-policy-no-iam",
    user("kms:Encrypt", KEY),
    ids(resource=_DEFAULT_KEY_POLICY, resource_policy_required=True),
    "no_allow_identity",
    f"{KMS}: with the account principal, IAM policies must allow",
)
_ONLY_BOB = R(S("Allow", "kms:*", "*", principal={"AWS": BOB}))
case(
    "kms-key-policy-without-root-iam-ignored",
    user("kms:Encrypt", KEY),
    ids(admin(), resource=_ONLY_BOB, resource_policy_required=True),
    "no_allow_resource",
    f"{KMS}: 'Unless the key policy explicitly allows it, you cannot use IAM policies to allow "
    "access to a KMS key'",
)
case(
    "kms-key-policy-names-user",
    user("kms:Encrypt", KEY, name="bob"),
    ids(resource=_ONLY_BOB, resource_policy_required=True),
    "allowed",
    f"{KMS}: a key policy statement naming the user grants without IAM policies",
)
case(
    "kms-root-locked-out",
    root("kms:ScheduleKeyDeletion", KEY),
    ids(resource=_ONLY_BOB, resource_policy_required=True),
    "no_allow_resource",
    f"{KMS}: without the root statement even the account root user cannot use the key",
)
case(
    "kms-root-default-policy",
    root("kms:ScheduleKeyDeletion", KEY),
    ids(resource=_DEFAULT_KEY_POLICY, resource_policy_required=True),
    "allowed",
    f"{KMS}: the default key policy gives the account (root) full access",
)
case(
    "kms-role-arn-with-boundary",
    session("kms:Decrypt", KEY),
    ids(
        resource=R(S("Allow", "kms:Decrypt", "*", principal={"AWS": ROLE})),
        resource_policy_required=True,
        boundary=P(allow("s3:*")),
    ),
    "no_allow_boundary",
    f"{KMS} + {RBP_TABLE}: a role ARN grant is limited by the boundary",
)
_EC_POLICY = R(
    S(
        "Allow",
        ["kms:Encrypt", "kms:Decrypt"],
        "*",
        principal={"AWS": ALICE},
        condition={"StringEquals": {"kms:EncryptionContext:Department": "IT"}},
    )
)
case(
    "kms-encryption-context-match",
    user("kms:Decrypt", KEY, ctx={"kms:EncryptionContext:Department": "IT"}),
    ids(resource=_EC_POLICY, resource_policy_required=True),
    "allowed",
    "KMS DG: condition keys, kms:EncryptionContext:context-key",
)
case(
    "kms-encryption-context-mismatch",
    user("kms:Decrypt", KEY, ctx={"kms:EncryptionContext:Department": "Sales"}),
    ids(resource=_EC_POLICY, resource_policy_required=True),
    "no_allow_resource",
    "KMS DG: kms:EncryptionContext:context-key, another value",
)
case(
    "kms-cross-account-key",
    user("kms:Decrypt", KEY.replace(A, B)),
    ids(
        P(allow("kms:Decrypt", KEY.replace(A, B))),
        resource=R(S("Allow", "kms:Decrypt", "*", principal={"AWS": ROOT_A})),
        resource_account=B,
        resource_policy_required=True,
    ),
    "allowed",
    "KMS DG: allowing users in other accounts to use a KMS key (key policy + IAM policy)",
)
case(
    "kms-cross-account-key-no-iam",
    user("kms:Decrypt", KEY.replace(A, B)),
    ids(
        resource=R(S("Allow", "kms:Decrypt", "*", principal={"AWS": ROOT_A})),
        resource_account=B,
        resource_policy_required=True,
    ),
    "no_allow_identity",
    "KMS DG: cross-account use also needs an IAM policy in the external account",
)
case(
    "kms-key-policy-explicit-deny",
    user("kms:Decrypt", KEY),
    ids(
        admin(),
        resource=R(
            S("Allow", "kms:*", "*", principal={"AWS": ROOT_A}),
            S("Deny", "kms:Decrypt", "*", principal="*"),
        ),
        resource_policy_required=True,
    ),
    "explicit_deny_resource",
    f"{KMS}: an explicit deny in the key policy",
)

# --- Root user, services, anonymous -----------------------------------------------------------
case(
    "root-no-policies",
    root("iam:CreateUser", f"arn:aws:iam::{A}:user/x"),
    ids(),
    "allowed",
    f"{EVAL}: 'with the exception of the AWS account root user, which has full access'",
)
case(
    "root-resource-policy-deny",
    root("s3:DeleteBucket", _B1),
    ids(resource=_bucket("*", effect="Deny", action="s3:DeleteBucket"), resource_account=A),
    "explicit_deny_resource",
    f"{EVAL}: an explicit deny in a resource-based policy applies to the root user too",
)
_TRAIL_BUCKET = R(
    S(
        "Allow",
        "s3:GetBucketAcl",
        "arn:aws:s3:::trail-bucket",
        principal={"Service": "cloudtrail.amazonaws.com"},
        sid="AWSCloudTrailAclCheck20150319",
    ),
    S(
        "Allow",
        "s3:PutObject",
        f"arn:aws:s3:::trail-bucket/AWSLogs/{A}/*",
        principal={"Service": "cloudtrail.amazonaws.com"},
        condition={
            "StringEquals": {
                "s3:x-amz-acl": "bucket-owner-full-control",
                "aws:SourceArn": f"arn:aws:cloudtrail:us-east-1:{A}:trail/main",
            }
        },
        sid="AWSCloudTrailWrite20150319",
    ),
)
_TRAIL_CTX = {
    "s3:x-amz-acl": "bucket-owner-full-control",
    "aws:SourceArn": f"arn:aws:cloudtrail:us-east-1:{A}:trail/main",
}
case(
    "service-cloudtrail-bucket-policy",
    svc("s3:PutObject", f"arn:aws:s3:::trail-bucket/AWSLogs/{A}/x.json.gz", ctx=_TRAIL_CTX),
    ids(resource=_TRAIL_BUCKET, resource_account=A),
    "allowed",
    "CloudTrail UG: Amazon S3 bucket policy for CloudTrail (service principal)",
)
case(
    "service-cloudtrail-wrong-acl",
    svc(
        "s3:PutObject",
        f"arn:aws:s3:::trail-bucket/AWSLogs/{A}/x.json.gz",
        ctx={**_TRAIL_CTX, "s3:x-amz-acl": "private"},
    ),
    ids(resource=_TRAIL_BUCKET, resource_account=A),
    "no_allow_resource",
    "CloudTrail UG: bucket policy condition s3:x-amz-acl bucket-owner-full-control",
)
case(
    "service-other-service",
    svc("s3:GetBucketAcl", "arn:aws:s3:::trail-bucket", service="config.amazonaws.com"),
    ids(resource=_TRAIL_BUCKET, resource_account=A),
    "no_allow_resource",
    "IAM UG: Principal element, AWS service principals must be named",
)
case(
    "service-no-resource-policy",
    svc("s3:GetBucketAcl", "arn:aws:s3:::trail-bucket"),
    ids(),
    "no_allow_resource",
    "IAM UG: Principal element, services act only through resource-based policies",
)
case(
    "anonymous-public-read",
    anon("s3:GetObject", _OBJ),
    ids(resource=_bucket("*"), resource_account=A),
    "allowed",
    'IAM UG: Principal element, anonymous users \'"Principal": "*"\'',
)
case(
    "anonymous-aws-star",
    anon("s3:GetObject", _OBJ),
    ids(resource=_bucket({"AWS": "*"}), resource_account=A),
    "allowed",
    'IAM UG: Principal element, \'"Principal": { "AWS": "*" }\' is equivalent for anonymous',
)
case(
    "anonymous-account-principal",
    anon("s3:GetObject", _OBJ),
    ids(resource=_bucket({"AWS": ROOT_A}), resource_account=A),
    "no_allow_resource",
    "IAM UG: Principal element, an account principal does not cover anonymous requests",
)
case(
    "anonymous-no-policy",
    anon("s3:GetObject", _OBJ),
    ids(),
    "no_allow_resource",
    "S3 UG: anonymous access needs a bucket policy",
)

# --- NotPrincipal -----------------------------------------------------------------------
_NP_BUCKET = "arn:aws:s3:::BUCKETNAME"
_NP_USER = R(
    S(
        "Deny",
        "s3:*",
        [_NP_BUCKET, f"{_NP_BUCKET}/*"],
        not_principal={"AWS": [f"arn:aws:iam::{B}:user/Bob", ROOT_B]},
    ),
    S("Allow", "s3:*", [_NP_BUCKET, f"{_NP_BUCKET}/*"], principal={"AWS": ROOT_B}),
)
NP = "IAM UG: JSON policy elements: NotPrincipal"
case(
    "notprincipal-bob-not-denied",
    user("s3:GetObject", f"{_NP_BUCKET}/k", name="Bob", account=B),
    ids(P(allow("s3:*")), resource=_NP_USER, resource_account=A),
    "allowed",
    f"{NP}: example 'IAM user in the same or a different account' (Bob is excluded)",
)
case(
    "notprincipal-other-user-denied",
    user("s3:GetObject", f"{_NP_BUCKET}/k", name="Carol", account=B),
    ids(P(allow("s3:*")), resource=_NP_USER, resource_account=A),
    "explicit_deny_resource",
    f"{NP}: 'explicitly denied to all principals except for the ones specified'",
)
case(
    "notprincipal-user-without-account-denied",
    user("s3:GetObject", f"{_NP_BUCKET}/k", name="Bob", account=B),
    ids(
        P(allow("s3:*")),
        resource=R(
            S(
                "Deny",
                "s3:*",
                f"{_NP_BUCKET}/*",
                not_principal={"AWS": f"arn:aws:iam::{B}:user/Bob"},
            ),
            S("Allow", "s3:*", f"{_NP_BUCKET}/*", principal={"AWS": ROOT_B}),
        ),
        resource_account=A,
    ),
    "explicit_deny_resource",
    f"{NP}: 'you must also specify the account ARN of the not-denied principal. Otherwise, the "
    "policy might deny access to the entire account'",
)
_NP_ROLE = R(
    S(
        "Deny",
        "s3:*",
        "arn:aws:s3:::Bucket_AccountAudit/*",
        not_principal={
            "AWS": [
                f"arn:aws:sts::{B}:assumed-role/cross-account-read-only-role/cross-account-audit-app",
                f"arn:aws:iam::{B}:role/cross-account-read-only-role",
                ROOT_B,
            ]
        },
    ),
    S("Allow", "s3:GetObject", "arn:aws:s3:::Bucket_AccountAudit/*", principal={"AWS": ROOT_B}),
)
case(
    "notprincipal-role-session-excluded",
    session(
        "s3:GetObject",
        "arn:aws:s3:::Bucket_AccountAudit/r.csv",
        role="cross-account-read-only-role",
        sess="cross-account-audit-app",
        account=B,
    ),
    ids(P(allow("s3:GetObject")), resource=_NP_ROLE, resource_account=A),
    "allowed",
    f"{NP}: example 'IAM role in the same or different account'",
)
case(
    "notprincipal-other-session-denied",
    session(
        "s3:GetObject",
        "arn:aws:s3:::Bucket_AccountAudit/r.csv",
        role="cross-account-read-only-role",
        sess="someone-else",
        account=B,
    ),
    ids(P(allow("s3:GetObject")), resource=_NP_ROLE, resource_account=A),
    "explicit_deny_resource",
    f"{NP}: 'you cannot use a wildcard (*) to mean all sessions'",
)

# --- Role trust policies ------------------------------------------------------------------
TRUST = "IAM UG: roles, trust policies (a role trust policy must allow)"
_TARGET = f"arn:aws:iam::{A}:role/target"
case(
    "trust-account-root-with-identity",
    user("sts:AssumeRole", _TARGET),
    ids(
        P(allow("sts:AssumeRole", _TARGET)),
        resource=T(S("Allow", "sts:AssumeRole", None, principal={"AWS": ROOT_A})),
        resource_policy_required=True,
    ),
    "allowed",
    f"{TRUST}: trusting the account delegates to IAM policies",
)
case(
    "trust-account-root-without-identity",
    user("sts:AssumeRole", _TARGET),
    ids(
        resource=T(S("Allow", "sts:AssumeRole", None, principal={"AWS": ROOT_A})),
        resource_policy_required=True,
    ),
    "no_allow_identity",
    f"{TRUST}: the user also needs sts:AssumeRole permission",
)
case(
    "trust-names-user",
    user("sts:AssumeRole", _TARGET),
    ids(
        resource=T(S("Allow", "sts:AssumeRole", None, principal={"AWS": ALICE})),
        resource_policy_required=True,
    ),
    "allowed",
    f"{TRUST} + {RBP_TABLE}: a trust policy naming the user directly",
)
case(
    "trust-service",
    svc("sts:AssumeRole", _TARGET, service="ec2.amazonaws.com"),
    ids(
        resource=T(S("Allow", "sts:AssumeRole", None, principal={"Service": "ec2.amazonaws.com"})),
        resource_policy_required=True,
    ),
    "allowed",
    f"{TRUST}: service role trust policy (ec2.amazonaws.com)",
)
case(
    "trust-cross-account",
    user("sts:AssumeRole", _TARGET, account=B, name="dev"),
    ids(
        P(allow("sts:AssumeRole", _TARGET)),
        resource=T(S("Allow", "sts:AssumeRole", None, principal={"AWS": ROOT_B})),
        resource_account=A,
        resource_policy_required=True,
    ),
    "allowed",
    f"{TRUST}: cross-account role (tutorial: delegate access across accounts)",
)
case(
    "trust-cross-account-untrusted",
    user("sts:AssumeRole", _TARGET, account=B, name="dev"),
    ids(
        P(allow("sts:AssumeRole", _TARGET)),
        resource=T(S("Allow", "sts:AssumeRole", None, principal={"AWS": ROOT_A})),
        resource_account=A,
        resource_policy_required=True,
    ),
    "no_allow_resource",
    f"{TRUST}: an account not named in the trust policy cannot assume the role",
)
_EXTID = T(
    S(
        "Allow",
        "sts:AssumeRole",
        None,
        principal={"AWS": ROOT_B},
        condition={"StringEquals": {"sts:ExternalId": "Unique-ID-1234"}},
    )
)
case(
    "trust-external-id",
    user("sts:AssumeRole", _TARGET, account=B, ctx={"sts:ExternalId": "Unique-ID-1234"}),
    ids(admin(), resource=_EXTID, resource_account=A, resource_policy_required=True),
    "allowed",
    "IAM UG: how to use an external ID when granting access to a third party",
)
case(
    "trust-external-id-missing",
    user("sts:AssumeRole", _TARGET, account=B),
    ids(admin(), resource=_EXTID, resource_account=A, resource_policy_required=True),
    "no_allow_resource",
    "IAM UG: external ID, a request without sts:ExternalId is denied",
)


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_evaluation_table(c: Case) -> None:
    decision = evaluate(c.facts, c.policies)
    assert decision == Decision(c.allowed, c.reason), c.cites


def test_table_is_large_and_unique() -> None:
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)
    assert all(c.cites for c in CASES)


# --- Denial messages ------------------------------------------------------------------------
_MSG_RES = f"arn:aws:kms:us-east-1:{A}:key/abc"


@pytest.mark.parametrize(
    ("reason", "tail"),
    [
        ("no_allow_identity", "because no identity-based policy allows the kms:Decrypt action"),
        ("no_allow_resource", "because no resource-based policy allows the kms:Decrypt action"),
        ("no_allow_scp", "because no service control policy allows the kms:Decrypt action"),
        ("no_allow_boundary", "because no permissions boundary allows the kms:Decrypt action"),
        ("no_allow_session", "because no session policy allows the kms:Decrypt action"),
        ("explicit_deny_identity", "with an explicit deny in an identity-based policy"),
        ("explicit_deny_resource", "with an explicit deny in a resource-based policy"),
        ("explicit_deny_scp", "with an explicit deny in a service control policy"),
        ("explicit_deny_boundary", "with an explicit deny in a permissions boundary"),
        ("explicit_deny_session", "with an explicit deny in a session policy"),
    ],
)
def test_denial_messages(reason: str, tail: str) -> None:
    msg = Decision(False, reason).denial_message(ALICE, "kms:Decrypt", _MSG_RES)
    assert msg == (
        f"User: {ALICE} is not authorized to perform: kms:Decrypt on resource: {_MSG_RES} {tail}"
    )


def test_denial_message_from_evaluation() -> None:
    facts = user("kms:Decrypt", _MSG_RES)
    decision = evaluate(facts, PolicySet(identity=[P(allow("kms:Encrypt"))]))
    assert decision.denial_message(facts.principal_arn, facts.action, facts.resource) == (
        "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:Decrypt on "
        "resource: arn:aws:kms:us-east-1:111122223333:key/abc because no identity-based policy "
        "allows the kms:Decrypt action"
    )


def test_allowed_decision_has_no_message() -> None:
    with pytest.raises(ValueError):
        Decision(True, "allowed").denial_message(ALICE, "kms:Decrypt", _MSG_RES)


def test_explicit_property() -> None:
    assert Decision(False, "explicit_deny_scp").explicit
    assert not Decision(False, "no_allow_scp").explicit


def test_repeated_evaluation_uses_cached_policy() -> None:
    doc = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}'
    assert parse_policy(doc) is parse_policy(doc)
    assert parse_policy(doc, "identity") is not parse_policy(doc, "session")
