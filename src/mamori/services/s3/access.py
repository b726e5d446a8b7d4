"""Who may do what to a bucket: IAM policies and the bucket policy, through the policy engine,
with Block Public Access applied as S3 does.

* ``BlockPublicPolicy``: a bucket policy that grants public access is refused on the way in.
* ``RestrictPublicBuckets``: while the bucket's policy is public, only principals of the bucket
  owner's account are served through it; anonymous and cross-account callers lose the grant.
* ACLs are disabled (ObjectOwnership ``BucketOwnerEnforced``), so the ACL settings only decide
  whether a request carrying an ACL is refused.

"Public" follows S3's definition: an ``Allow`` statement whose principal is ``*`` (or
``{"AWS": "*"}``) and that is not pinned by a condition on one of the fixed-value keys
(``aws:SourceIp`` with a non-world range, ``aws:SourceArn``, ``aws:SourceVpc(e)``,
``aws:SourceAccount``, ``aws:SourceOwner``, ``aws:PrincipalOrgID``, ``aws:PrincipalAccount``,
``aws:PrincipalArn``, ``aws:userid``, ``s3:DataAccessPointArn``, ``s3:DataAccessPointAccount``,
``s3:x-amz-server-side-encryption-aws-kms-key-id``).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from mamori.iam.principal_binding import evaluation_document
from mamori.services.s3.buckets import Bucket

_FIXED_KEYS = {
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:userid",
    "aws:sourceip",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
}
_FIXED_OPERATORS = {
    "stringequals",
    "stringequalsignorecase",
    "arnequals",
    "arnlike",
    "stringlike",
    "ipaddress",
}


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_is_wildcard(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in _listify(v) for v in principal.values())
    return False


def _pinned(condition: Any) -> bool:
    if not isinstance(condition, dict):
        return False
    for operator, block in condition.items():
        op = operator.lower()
        if op.startswith(("forallvalues:", "foranyvalue:")):
            op = op.split(":", 1)[1]
        if op.endswith("ifexists") or op not in _FIXED_OPERATORS or not isinstance(block, dict):
            continue
        for key, values in block.items():
            key = key.lower()
            if key not in _FIXED_KEYS:
                continue
            values = _listify(values)
            if key == "aws:sourceip":
                if all(_narrow_ip(v) for v in values):
                    return True
            elif all(isinstance(v, str) and "*" not in v and "?" not in v for v in values):
                return True
    return False


def _narrow_ip(value: Any) -> bool:
    try:
        network = ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return False
    return network.prefixlen >= (8 if network.version == 4 else 32)


def is_public(policy_text: str | None) -> bool:
    if not policy_text:
        return False
    try:
        document = json.loads(policy_text)
    except ValueError:
        return False
    for statement in _listify(document.get("Statement") or []):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if "NotPrincipal" in statement:
            return True
        if _principal_is_wildcard(statement.get("Principal")) and not _pinned(
            statement.get("Condition")
        ):
            return True
    return False


def in_owner_account(ctx, bucket: Bucket) -> bool:
    """Whether the caller is an identity of the bucket owner's account (never an anonymous one)."""
    principal = ctx.principal
    return principal.type != "Anonymous" and principal.account_id == bucket.account


def effective_policy(ctx, bucket: Bucket) -> str | None:
    """The bucket policy that takes part in this call, after RestrictPublicBuckets."""
    policy = bucket.policy
    if not policy:
        return None
    bpa = bucket.public_access_block or {}
    if bpa.get("RestrictPublicBuckets") and is_public(policy) and not in_owner_account(ctx, bucket):
        return None
    return evaluation_document(policy, bucket.policy_binding)


def authorize(
    ctx, bucket: Bucket, action: str, key: str | None = None, context: dict | None = None
) -> None:
    resource = bucket.arn if key is None else f"{bucket.arn}/{key}"
    ctx.authorize(
        action,
        resource,
        context,
        resource_policy=effective_policy(ctx, bucket),
        resource_account=bucket.account,
        # S3 explains a denial only to the owner's account ("additional context in access
        # denied errors for requests made to resources within the same AWS account").
        explain_denial=in_owner_account(ctx, bucket),
    )
    if bucket.account != ctx.account_id:
        # A call on another account's bucket is journaled for the bucket owner too (its
        # resources name the owner); same-account calls keep their records as they are.
        ctx.add_resource(bucket.arn, "AWS::S3::Bucket", bucket.account)
