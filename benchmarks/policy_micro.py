"""Micro-benchmark of the policy engine: µs per ``evaluate`` call.

A realistic principal: 20 attached identity policies (several statements each, many with
conditions), a permissions boundary, two SCP levels, a KMS key policy and a session policy.
Run: ``.venv/bin/python benchmarks/policy_micro.py``. Prints timings; asserts nothing.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from mamori.iam.policy import PolicySet, RequestFacts, evaluate, parse_policy

A = "111122223333"
KEY = f"arn:aws:kms:us-east-1:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SERVICES = ["s3", "ec2", "dynamodb", "sqs", "sns", "logs", "cloudwatch", "lambda", "iam", "kms"]


def arn(svc: str, region: str, rest: str) -> str:
    if svc == "s3":
        return f"arn:aws:s3:::{rest}"
    if svc == "iam":
        return f"arn:aws:iam::{A}:role/{rest}"
    return f"arn:aws:{svc}:{region}:{A}:{rest}"


def identity_policy(i: int) -> str:
    svc = SERVICES[i % len(SERVICES)]
    statements = [
        {
            "Sid": f"Read{i}",
            "Effect": "Allow",
            "Action": [f"{svc}:Get*", f"{svc}:List*", f"{svc}:Describe*"],
            "Resource": arn(svc, "*", "*"),
        },
        {
            "Sid": f"Write{i}",
            "Effect": "Allow",
            "Action": [f"{svc}:Put*", f"{svc}:Create*"],
            "Resource": [
                arn(svc, "us-east-1", f"team-{i}/*"),
                arn(svc, "*", "${aws:PrincipalTag/team}/*"),
            ],
            "Condition": {
                "StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]},
                "Bool": {"aws:SecureTransport": "true"},
            },
        },
        {
            "Sid": f"Tagged{i}",
            "Effect": "Allow",
            "Action": f"{svc}:*",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:ResourceTag/project": "${aws:PrincipalTag/project}"},
                "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]},
                "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
            },
        },
        {
            "Sid": f"NoDelete{i}",
            "Effect": "Deny",
            "Action": f"{svc}:Delete*",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    ]
    if svc == "kms":
        statements.append(
            {
                "Sid": "UseKeys",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": f"arn:aws:kms:*:{A}:key/*",
                "Condition": {"StringLike": {"kms:ViaService": ["s3.*.amazonaws.com"]}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def main() -> None:
    identity_texts = [identity_policy(i) for i in range(20)]
    boundary_text = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": [f"{s}:*" for s in SERVICES], "Resource": "*"},
                {"Effect": "Deny", "Action": "iam:*User*", "Resource": "*"},
            ],
        }
    )
    scp_texts = [
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": "*"},
                    {
                        "Effect": "Deny",
                        "NotAction": ["iam:*", "organizations:*", "sts:*", "support:*"],
                        "Resource": "*",
                        "Condition": {
                            "StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}
                        },
                    },
                ],
            }
        ),
    ]
    key_policy_text = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "Allow use of the key",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{A}:role/app"},
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                },
            ],
        }
    )
    session_text = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
    )

    # First parse (cold) vs cached parse.
    t0 = time.perf_counter()
    identity = [parse_policy(t) for t in identity_texts]
    cold = (time.perf_counter() - t0) / len(identity_texts) * 1e6
    n = 20000
    t0 = time.perf_counter()
    for _ in range(n // 20):
        for t in identity_texts:
            parse_policy(t)
    warm = (time.perf_counter() - t0) / n * 1e6

    policies = PolicySet(
        identity=identity,
        resource=parse_policy(key_policy_text, "resource"),
        resource_account=A,
        resource_policy_required=True,
        boundary=parse_policy(boundary_text, "boundary"),
        session=[parse_policy(session_text, "session")],
        scps=[[parse_policy(scp_texts[0], "scp")], [parse_policy(t, "scp") for t in scp_texts]],
    )
    ctx = {
        "aws:SourceIp": "10.1.2.3",
        "aws:SecureTransport": True,
        "aws:RequestedRegion": "us-east-1",
        "aws:CurrentTime": datetime(2025, 1, 1, tzinfo=UTC),
        "aws:PrincipalTag/team": "payments",
        "aws:PrincipalTag/project": "pegasus",
        "aws:ResourceTag/project": "pegasus",
        "kms:ViaService": "s3.us-east-1.amazonaws.com",
    }
    scenarios = {
        "kms:Decrypt, role session, all policy types (allowed)": RequestFacts(
            "kms:Decrypt",
            KEY,
            f"arn:aws:sts::{A}:assumed-role/app/s1",
            A,
            "AssumedRole",
            role_arn=f"arn:aws:iam::{A}:role/app",
            context=ctx,
        ),
        "s3:PutObject, IAM user, 20 policies + boundary + SCPs (allowed)": RequestFacts(
            "s3:PutObject",
            "arn:aws:s3:::team-0/x",
            f"arn:aws:iam::{A}:user/alice",
            A,
            "IAMUser",
            context=ctx,
        ),
        "sqs:DeleteQueue, IAM user (explicit deny)": RequestFacts(
            "sqs:DeleteQueue",
            f"arn:aws:sqs:us-east-1:{A}:q",
            f"arn:aws:iam::{A}:user/alice",
            A,
            "IAMUser",
            context=ctx,
        ),
        "secretsmanager:GetSecretValue, IAM user (implicit deny, scans all)": RequestFacts(
            "secretsmanager:GetSecretValue",
            "*",
            f"arn:aws:iam::{A}:user/alice",
            A,
            "IAMUser",
            context=ctx,
        ),
    }
    user_policies = PolicySet(identity=identity, boundary=policies.boundary, scps=policies.scps)
    print(f"parse_policy: {cold:8.1f} µs cold (first parse), {warm:6.2f} µs cached")
    for name, facts in scenarios.items():
        ps = policies if facts.action.startswith("kms") else user_policies
        decision = evaluate(facts, ps)
        for _ in range(2000):
            evaluate(facts, ps)
        n = 20000
        t0 = time.perf_counter()
        for _ in range(n):
            evaluate(facts, ps)
        us = (time.perf_counter() - t0) / n * 1e6
        print(f"evaluate: {us:6.2f} µs  {decision.reason:<20} {name}")


if __name__ == "__main__":
    main()
