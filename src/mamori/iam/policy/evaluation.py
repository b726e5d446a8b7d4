"""AWS's policy evaluation logic (IAM UG, "Policy evaluation logic" and "Cross-account policy
evaluation logic").

Order of evaluation, for a principal that is not a service or anonymous:

1. **Explicit deny** in any applicable policy — SCPs, the resource-based policy, identity-based
   policies, the permissions boundary, session policies — ends evaluation with a deny.
2. **SCPs**: every level of the organisation hierarchy (``PolicySet.scps``, one list per level)
   must have an applicable ``Allow``; ``scps=None`` means "not in an organisation" or "the
   management account" (SCPs never restrict it) — the caller decides. The root user of a member
   account is subject to SCPs.
3. **Resource-based policy**, same account (IAM UG, "Resource-based policies" table):
   a statement naming the caller *directly* (its IAM user ARN, its role-session ARN, its
   federated-user ARN, ``"*"``, its service principal) allows, whatever the identity policies,
   boundary and session policies say. Naming the *role ARN* of a session (or, for a federated user
   session, the ARN of the IAM user who federated, passed as ``role_arn``) counts as an identity
   grant: the boundary and session policies still have to allow. Naming the account
   (``arn:aws:iam::ACCOUNT:root`` or ``"ACCOUNT"``) delegates to the account's IAM policies.
4. **Identity path**: some identity-based policy allows (the root user needs none: "all requests
   are implicitly denied with the exception of the AWS account root user"), then the permissions
   boundary if any, then session policies: a role session with no session policy is allowed, a
   *federated user* session with none is denied ("If the principal is a role session, then the
   request is Allowed. Otherwise, the request is implicitly denied"). ``session=None`` and an
   empty sequence both mean "no session policy".

Cross-account (``resource_account`` differs from the principal's account): the resource-based
policy must name the caller (directly, by role ARN, or by its account) **and** the identity path
must allow. ``resource_policy_required`` (KMS key policies, role trust policies) applies the
cross-account rule within the account too: without a key-policy statement naming the caller or its
account, nothing allows — not even the root user.

Service principals and anonymous callers have no identity: only a resource-based policy naming
them (``"Service"`` or ``"*"``) allows, and SCPs do not apply to them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from mamori.iam.policy.deferred import DeferredKeys
from mamori.iam.policy.document import (
    MATCH_ACCOUNT,
    MATCH_DIRECT,
    MATCH_ROLE,
    NO_MATCH,
    Policy,
    PolicyGroup,
    policy_group,
)

PRINCIPAL_TYPES = ("Root", "IAMUser", "AssumedRole", "FederatedUser", "AWSService", "Anonymous")

_PRINCIPAL_TYPE_KEY = {
    "Root": "Account",
    "IAMUser": "User",
    "AssumedRole": "AssumedRole",
    "FederatedUser": "FederatedUser",
    "Anonymous": "Anonymous",
}


@dataclass(frozen=True)
class RequestFacts:
    """What is being asked, by whom, with which request context."""

    action: str
    resource: str
    principal_arn: str
    principal_account: str
    principal_type: str
    role_arn: str | None = None
    service_principal: str | None = None
    context: Mapping[str, object] = field(default_factory=dict)


@dataclass
class PolicySet:
    """Every policy that applies to one request."""

    identity: Sequence[Policy] = ()
    resource: Policy | None = None
    resource_account: str | None = None
    resource_policy_required: bool = False
    boundary: Policy | None = None
    session: Sequence[Policy] | None = None
    scps: Sequence[Sequence[Policy]] | None = None


_EXPLICIT_TEXT = {
    "identity": "an identity-based policy",
    "resource": "a resource-based policy",
    "scp": "a service control policy",
    "boundary": "a permissions boundary",
    "session": "a session policy",
}
_NO_ALLOW_TEXT = {
    "identity": "identity-based policy",
    "resource": "resource-based policy",
    "scp": "service control policy",
    "boundary": "permissions boundary",
    "session": "session policy",
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    @property
    def explicit(self) -> bool:
        return self.reason.startswith("explicit_deny_")

    def denial_message(self, principal_arn: str, action: str, resource: str) -> str:
        """AWS's AccessDenied text, e.g. "User: arn:... is not authorized to perform: kms:Decrypt
        on resource: arn:... because no identity-based policy allows the kms:Decrypt action"."""
        if self.allowed:
            raise ValueError("an allowed decision has no denial message")
        head = (
            f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
        )
        if self.reason.startswith("explicit_deny_"):
            return f"{head} with an explicit deny in {_EXPLICIT_TEXT[self.reason[14:]]}"
        return f"{head} because no {_NO_ALLOW_TEXT[self.reason[9:]]} allows the {action} action"


ALLOWED = Decision(True, "allowed")
_D = {
    reason: Decision(False, reason)
    for reason in (
        "explicit_deny_identity",
        "explicit_deny_resource",
        "explicit_deny_scp",
        "explicit_deny_boundary",
        "explicit_deny_session",
        "no_allow_identity",
        "no_allow_resource",
        "no_allow_scp",
        "no_allow_boundary",
        "no_allow_session",
    )
}


def request_context(facts: RequestFacts) -> dict[str, object]:
    """The request context with lower-cased keys, plus the keys the facts themselves imply
    (``aws:PrincipalArn`` — the role ARN for a role session —, ``aws:PrincipalAccount``,
    ``aws:PrincipalType``, ``aws:username`` for IAM users, ``aws:PrincipalServiceName``).
    Values given in ``facts.context`` win."""
    ctx = {str(k).lower(): v for k, v in facts.context.items()}
    ptype = facts.principal_type
    if ptype != "AWSService" and ptype != "Anonymous":
        if "aws:principalarn" not in ctx:
            ctx["aws:principalarn"] = (
                facts.role_arn if ptype == "AssumedRole" and facts.role_arn else facts.principal_arn
            )
        ctx.setdefault("aws:principalaccount", facts.principal_account)
        if ptype == "IAMUser" and "aws:username" not in ctx:
            ctx["aws:username"] = facts.principal_arn.rsplit("/", 1)[-1]
    key = _PRINCIPAL_TYPE_KEY.get(ptype)
    if key is not None:
        ctx.setdefault("aws:principaltype", key)
    if facts.service_principal:
        ctx.setdefault("aws:principalservicename", facts.service_principal)
    return ctx


def _deny_hit(statements, resource: str, ctx) -> bool:
    for st in statements:  # noqa: SIM110 - hot path
        if st.matches_rest(resource, ctx):
            return True
    return False


def _allow_hit(statements, resource: str, ctx) -> bool:
    for st in statements:  # noqa: SIM110 - hot path
        if st.matches_rest(resource, ctx):
            return True
    return False


def _resource_denies(policy: Policy, facts, action, resource, ctx) -> bool:
    for st in policy.for_action(action)[0]:
        if st.principal_level(facts, ctx) != NO_MATCH and st.matches_rest(resource, ctx):
            return True
    return False


def _resource_level(policy: Policy, facts, action, resource, ctx) -> int:
    best = NO_MATCH
    for st in policy.for_action(action)[1]:
        level = st.principal_level(facts, ctx)
        if level > best and st.matches_rest(resource, ctx):
            best = level
            if best == MATCH_DIRECT:
                break
    return best


def _group(policies) -> PolicyGroup:
    return policy_group(policies if type(policies) is tuple else tuple(policies))


def evaluate(facts: RequestFacts, policies: PolicySet) -> Decision:
    """Decide one request; see the module docstring for the order of evaluation."""
    action = facts.action.lower()
    resource = facts.resource
    # Built only if a condition or a policy variable reads it.
    ctx = DeferredKeys(partial(request_context, facts))
    ptype = facts.principal_type
    has_identity = ptype != "AWSService" and ptype != "Anonymous"

    # 1. Explicit denies anywhere.
    scp_levels = None
    if has_identity and policies.scps is not None:
        scp_levels = [_group(level).for_action(action) for level in policies.scps]
        for denies, _ in scp_levels:
            if denies and _deny_hit(denies, resource, ctx):
                return _D["explicit_deny_scp"]
    rp = policies.resource
    if rp is not None and _resource_denies(rp, facts, action, resource, ctx):
        return _D["explicit_deny_resource"]
    identity = boundary = session = None
    if has_identity:
        identity = _group(policies.identity).for_action(action)
        if identity[0] and _deny_hit(identity[0], resource, ctx):
            return _D["explicit_deny_identity"]
        if policies.boundary is not None:
            boundary = policies.boundary.for_action(action)
            if boundary[0] and _deny_hit(boundary[0], resource, ctx):
                return _D["explicit_deny_boundary"]
        if policies.session:
            session = _group(policies.session).for_action(action)
            if session[0] and _deny_hit(session[0], resource, ctx):
                return _D["explicit_deny_session"]

    # 2. Every SCP level must allow.
    if scp_levels is not None:
        for _, allows in scp_levels:
            if not _allow_hit(allows, resource, ctx):
                return _D["no_allow_scp"]

    # 3. Resource-based policy.
    level = NO_MATCH
    if rp is not None:
        level = _resource_level(rp, facts, action, resource, ctx)
    if not has_identity:
        return ALLOWED if level == MATCH_DIRECT else _D["no_allow_resource"]

    same_account = (
        policies.resource_account is None or policies.resource_account == facts.principal_account
    )
    if same_account:
        if level == MATCH_DIRECT:
            return ALLOWED
        if level == MATCH_ROLE:
            return _limits(ptype, boundary, session, resource, ctx)
        if policies.resource_policy_required and level != MATCH_ACCOUNT:
            return _D["no_allow_resource"]
    elif level == NO_MATCH:
        # Cross-account: both sides must allow.
        return _D["no_allow_resource"]

    # 4. Identity path.
    if ptype != "Root" and not _allow_hit(identity[1], resource, ctx):
        return _D["no_allow_identity"]
    return _limits(ptype, boundary, session, resource, ctx)


def _limits(ptype, boundary, session, resource, ctx) -> Decision:
    if boundary is not None and ptype != "Root" and not _allow_hit(boundary[1], resource, ctx):
        return _D["no_allow_boundary"]
    if ptype == "AssumedRole" or ptype == "FederatedUser":
        if session is not None:
            if not _allow_hit(session[1], resource, ctx):
                return _D["no_allow_session"]
        elif ptype == "FederatedUser":
            return _D["no_allow_session"]
    return ALLOWED


__all__ = [
    "ALLOWED",
    "MATCH_ACCOUNT",
    "MATCH_DIRECT",
    "MATCH_ROLE",
    "NO_MATCH",
    "PRINCIPAL_TYPES",
    "Decision",
    "PolicySet",
    "RequestFacts",
    "evaluate",
    "request_context",
]
