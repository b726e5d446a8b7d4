"""AWS's IAM policy language and evaluation logic — pure Python, no HTTP, no storage.

API
===

``parse_policy(document: str | bytes | dict, kind: str = "identity") -> Policy``
    Validate and compile a policy document; raises :class:`MalformedPolicy` whose ``reason`` is
    AWS's MalformedPolicyDocument text ("Syntax errors in policy.", "Policy document should not
    specify a principal.", "Missing required field Principal", "Policy statement must contain
    actions.", "Policy statement must contain resources.", "Invalid principal in policy",
    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.", "The policy
    failed legacy parsing", "Unknown field X", "Statement IDs (SID) in a single policy must be
    unique.", "Has prohibited field Resource", ...; the constants are in
    :mod:`mamori.iam.policy.errors`).

    ``kind``:

    * ``identity`` — user/group/role policies: no ``Principal``; ``Resource`` required.
    * ``resource`` — key, bucket, queue ... policies: ``Principal``/``NotPrincipal`` required.
      Unknown fields and bad effects get S3's wording ("Unknown field X", "Invalid effect: X").
    * ``trust`` — role trust policies: ``Principal`` required, no ``Resource``, ``sts:`` actions.
    * ``boundary``, ``session`` — as ``identity``.
    * ``scp`` — as ``identity``, but ``Resource`` may be omitted (it then means ``*``).

    Compiled policies are cached by ``(kind, text)`` (an LRU of 4096 entries): evaluating a
    policy seen before costs no parsing. Versions ``2012-10-17`` and ``2008-10-17`` (and none,
    which behaves as 2008-10-17) are accepted; policy variables exist only in 2012-10-17.
    IAM's own "Policy document must be version 2012-10-17 or greater." for managed policies is the
    caller's check (``Policy.version``; the text is ``errors.VERSION_2012``). Size limits are the
    caller's job.

``RequestFacts(action, resource, principal_arn, principal_account, principal_type, role_arn=None,
service_principal=None, context={})``
    ``principal_type`` is one of ``Root``, ``IAMUser``, ``AssumedRole``, ``FederatedUser``,
    ``AWSService``, ``Anonymous``. ``Root`` is a property of the facts: the root user's identity
    evaluation allows everything in its own account and across accounts (resource policies,
    ``resource_policy_required`` key policies and SCPs still apply). For an ``AssumedRole``
    session ``role_arn`` is the role's ARN; for a ``FederatedUser`` session it may carry the ARN of
    the IAM user who federated. ``context`` maps condition keys (compared case-insensitively) to
    ``str | list[str] | bool | int | float | datetime | bytes``. ``aws:PrincipalArn``,
    ``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:username`` (IAM users) and
    ``aws:PrincipalServiceName`` are derived from the facts unless the context gives them.

``PolicySet(identity=(), resource=None, resource_account=None, resource_policy_required=False,
boundary=None, session=None, scps=None)``
    ``scps`` is one list of policies per level of the organisation hierarchy; every level must
    allow. Pass ``None`` outside an organisation and for the management account (SCPs do not
    apply there) — that decision is the caller's.

``evaluate(facts, policies) -> Decision``
    ``Decision(allowed, reason)`` with ``reason`` one of ``allowed``, ``explicit_deny_identity``,
    ``explicit_deny_resource``, ``explicit_deny_scp``, ``explicit_deny_boundary``,
    ``explicit_deny_session``, ``no_allow_identity``, ``no_allow_resource``, ``no_allow_scp``,
    ``no_allow_boundary``, ``no_allow_session``; ``Decision.denial_message(principal_arn, action,
    resource)`` gives AWS's text ("User: ... is not authorized to perform: kms:Decrypt on
    resource: ... because no identity-based policy allows the kms:Decrypt action", "... with an
    explicit deny in a service control policy", ...).

The evaluation rules are described in :mod:`mamori.iam.policy.evaluation`, matching in
:mod:`mamori.iam.policy.matching`, conditions in :mod:`mamori.iam.policy.conditions`, variables
in :mod:`mamori.iam.policy.variables`.
"""

from mamori.iam.policy.document import Policy, Statement, parse_policy, policy_cache_info
from mamori.iam.policy.errors import MalformedPolicy
from mamori.iam.policy.evaluation import (
    Decision,
    PolicySet,
    RequestFacts,
    evaluate,
    request_context,
)

__all__ = [
    "Decision",
    "MalformedPolicy",
    "Policy",
    "PolicySet",
    "RequestFacts",
    "Statement",
    "evaluate",
    "parse_policy",
    "policy_cache_info",
    "request_context",
]
