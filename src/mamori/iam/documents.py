"""Policy documents on their way into IAM: validated by the policy engine, sized as IAM sizes
them (whitespace does not count), and refused with IAM's own errors."""

from __future__ import annotations

import json
from typing import Any

from mamori.errors import AwsError
from mamori.iam.policy import MalformedPolicy, Policy, parse_policy
from mamori.iam.policy import errors as policy_errors

# IAM and STS quotas (IAM UG, "IAM and AWS STS quotas"): characters, whitespace excluded.
MANAGED_POLICY_SIZE = 6144
TRUST_POLICY_SIZE = 2048
INLINE_SIZE = {"user": 2048, "group": 5120, "role": 10240}


def size(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def as_text(document: Any) -> str:
    """The document text a caller sent (boto3 sends a string; tolerate a dict)."""
    if isinstance(document, str):
        return document
    return json.dumps(document)


def malformed(reason: str) -> AwsError:
    return AwsError("MalformedPolicyDocumentException", reason)


def validate(text: str, kind: str = "identity", *, managed: bool = False) -> Policy:
    """Parse ``text`` as a policy of ``kind``; MalformedPolicyDocument with AWS's reason."""
    try:
        policy = parse_policy(text, kind)
    except MalformedPolicy as error:
        raise malformed(error.reason) from None
    if managed and policy.version != "2012-10-17":
        raise malformed(policy_errors.VERSION_2012)
    return policy


def check_managed_size(text: str) -> None:
    if size(text) > MANAGED_POLICY_SIZE:
        raise AwsError(
            "LimitExceededException",
            f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_SIZE}",
        )


def check_trust_size(text: str) -> None:
    if size(text) > TRUST_POLICY_SIZE:
        raise AwsError(
            "LimitExceededException",
            f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_SIZE}",
        )


def check_inline_size(kind: str, entity_name: str, documents: dict[str, str]) -> None:
    """The aggregate size of an entity's inline policies (a per-entity quota in IAM)."""
    limit = INLINE_SIZE[kind]
    if sum(size(text) for text in documents.values()) > limit:
        raise AwsError(
            "LimitExceededException",
            f"Maximum policy size of {limit} bytes exceeded for {kind} {entity_name}",
        )
