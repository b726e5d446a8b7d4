"""The one place access is decided: a call's facts and policies, handed to the policy engine.

Providers call ``ctx.authorize(action, resource, context, resource_policy=...)``; this module
collects the principal's identity policies and permissions boundary (from IAM), its session
policies (from its STS session), the global condition keys of the request, and asks
``mamori.iam.policy.evaluate``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from mamori.errors import AwsError
from mamori.iam.policy import Policy, PolicySet, RequestFacts, evaluate, parse_policy
from mamori.iam.policy.deferred import DeferredKeys
from mamori.iam.principals import Principal

# (identity policies, permissions boundary) of a principal; IAM supplies the real source.
IdentityPolicySource = Callable[[Principal], tuple[list[Policy], Policy | None]]


def no_identity_policies(principal: Principal) -> tuple[list[Policy], Policy | None]:
    return [], None


def global_condition_keys(
    principal: Principal,
    *,
    now: datetime,
    source_ip: str,
    secure: bool,
    region: str,
    user_agent: str | None = None,
) -> dict[str, Any]:
    """The request's global condition keys (aws:*), as AWS sets them for this principal.

    ``aws:ResourceAccount`` depends on the resource of each check: :func:`authorize` adds it."""
    keys: dict[str, Any] = {
        "aws:CurrentTime": now,
        "aws:EpochTime": int(now.timestamp()),
        "aws:SourceIp": source_ip,
        "aws:SecureTransport": secure,
        "aws:RequestedRegion": region,
        "aws:PrincipalArn": principal.arn,
        "aws:PrincipalAccount": principal.account_id,
        "aws:userid": principal.principal_id,
        "aws:ViaAWSService": False,
    }
    if user_agent is not None:  # "always included in the request context"
        keys["aws:UserAgent"] = user_agent
    if principal.type != "Anonymous":
        # Present in every signed request: false for IAM principals (AWS's data-perimeter Deny
        # statements exclude service principals with it), true only for service principals.
        keys["aws:PrincipalIsAWSService"] = False
    if principal.type == "IAMUser" and principal.user_name:
        keys["aws:username"] = principal.user_name
    tags = dict(principal.tags)
    session = principal.session
    # aws:TokenIssueTime and aws:MultiFactorAuthPresent exist only in requests signed with
    # temporary credentials; with long-term access keys (IAM users' and the root user's) they
    # are absent, which is why AWS recommends BoolIfExists for MFA conditions.
    # aws:MultiFactorAuthAge exists only when the session was authenticated with MFA.
    if session is not None:
        tags.update(session.tags)
        keys["aws:TokenIssueTime"] = session.issued
        keys["aws:MultiFactorAuthPresent"] = session.mfa_authenticated
        if session.mfa_authenticated_at is not None:
            keys["aws:MultiFactorAuthAge"] = int(
                (now - session.mfa_authenticated_at).total_seconds()
            )
        if session.source_identity:
            keys["aws:SourceIdentity"] = session.source_identity
        if principal.type == "AssumedRole" and session.role_arn:
            keys["aws:PrincipalArn"] = session.role_arn
    for key, value in tags.items():
        keys[f"aws:PrincipalTag/{key}"] = value
    return keys


def _merged_keys(
    request_keys: Mapping[str, Any],
    context: Mapping[str, Any] | None,
    resource_account: str | None = None,
) -> dict[str, Any]:
    merged = dict(request_keys)
    if resource_account:  # the account that owns the resource (always present for KMS, S3, IAM)
        merged["aws:ResourceAccount"] = resource_account
    if context:
        merged.update(context)
    return merged


def session_policies(principal: Principal) -> list[Policy] | None:
    session = principal.session
    if session is None or not session.has_session_policy:
        return None
    return [parse_policy(text, "session") for text in session.policies]


def access_denied_code(protocol: str) -> str:
    # Query and REST-XML services say AccessDenied; the JSON services AccessDeniedException.
    return "AccessDenied" if protocol in ("query", "rest-xml") else "AccessDeniedException"


def authorize(
    principal: Principal,
    action: str,
    resource: str,
    *,
    identity_source: IdentityPolicySource,
    request_keys: Mapping[str, Any],
    context: Mapping[str, Any] | None = None,
    resource_policy: Policy | str | None = None,
    resource_account: str | None = None,
    resource_policy_required: bool = False,
    protocol: str = "json",
    explain_denial: bool = True,
) -> None:
    """Raise AccessDenied (AWS's message) unless the policies allow ``action`` on ``resource``.

    ``explain_denial=False`` gives the plain "Access Denied" that S3 answers callers outside the
    resource owner's account (it explains denials only within the account)."""
    identity, boundary = ([], None) if principal.is_root else identity_source(principal)
    if isinstance(resource_policy, str):
        resource_policy = parse_policy(resource_policy, "resource")
    # Either mapping may itself be deferred: nothing is built unless a statement reads a key.
    merged = DeferredKeys(partial(_merged_keys, request_keys, context, resource_account))
    session = principal.session
    facts = RequestFacts(
        action=action,
        resource=resource,
        principal_arn=principal.arn,
        principal_account=principal.account_id,
        principal_type=principal.type,
        role_arn=session.role_arn if session is not None else None,
        context=merged,
    )
    decision = evaluate(
        facts,
        PolicySet(
            identity=identity,
            resource=resource_policy,
            resource_account=resource_account,
            resource_policy_required=resource_policy_required,
            boundary=boundary,
            session=session_policies(principal),
        ),
    )
    if not decision.allowed:
        message = (
            decision.denial_message(principal.arn, action, resource)
            if explain_denial
            else "Access Denied"
        )
        raise AwsError(access_denied_code(protocol), message, status=403)
