"""The bucket-policy rules S3 applies beyond the policy grammar."""

from __future__ import annotations

import json

import pytest

from mamori.services.s3.policy_rules import PolicyRejected, check_bucket_policy


def _policy(action, resource, key: str = "Action") -> str:
    statement = {"Effect": "Allow", "Principal": "*", key: action, "Resource": resource}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("s3:GetObject", "arn:aws:s3:::b/*"),
        ("S3:getobject", "arn:aws:s3:::b/a/b"),
        ("s3:ListBucket", "arn:aws:s3:::b"),
        ("s3:*Object", "arn:aws:s3:::b/*"),
        ("s3:Get*", "arn:aws:s3:::b"),
        (["s3:GetObject", "s3:ListBucket"], ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]),
    ],
)
def test_accepted(action, resource):
    check_bucket_policy(_policy(action, resource), "b")


@pytest.mark.parametrize(
    ("action", "resource", "reason"),
    [
        ("s3:GetObject", "arn:aws:s3:::bb/*", "Policy has invalid resource"),
        ("s3:GetObject", "arn:aws:s3:::b*", "Policy has invalid resource"),
        ("s3:Nothing*", "arn:aws:s3:::b/*", "Policy has invalid action"),
        ("kms:Decrypt", "arn:aws:s3:::b/*", "Policy has invalid action"),
        (
            "s3:ListBucket",
            "arn:aws:s3:::b/*",
            "Action does not apply to any resource(s) in statement",
        ),
        (
            "s3:PutBucket*",
            "arn:aws:s3:::b/*",
            "Action does not apply to any resource(s) in statement",
        ),
    ],
)
def test_rejected(action, resource, reason):
    with pytest.raises(PolicyRejected, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_bucket_policy(_policy(action, resource), "b")


def test_not_action_is_checked_for_names_only():
    check_bucket_policy(_policy("s3:ListBucket", "arn:aws:s3:::b/*", key="NotAction"), "b")
    with pytest.raises(PolicyRejected, match="invalid action"):
        check_bucket_policy(_policy("s3:Bogus", "arn:aws:s3:::b/*", key="NotAction"), "b")
