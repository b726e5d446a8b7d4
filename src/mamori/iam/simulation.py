"""SimulatePrincipalPolicy and SimulateCustomPolicy: the policy engine that authorizes every
request (:func:`mamori.iam.policy.evaluate`), asked about hypothetical requests."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.utils import parse_timestamp

from mamori.errors import AwsError
from mamori.iam.policy import (
    MalformedPolicy,
    Policy,
    PolicySet,
    RequestFacts,
    evaluate,
    parse_policy,
    request_context,
)


@dataclass
class Source:
    """A policy taking part in a simulation and where it came from (MatchedStatements)."""

    policy: Policy
    source_id: str
    source_type: str  # user, group, role, aws-managed, user-managed, resource, none


@dataclass
class Simulation:
    principal_arn: str
    principal_account: str
    principal_type: str = "IAMUser"
    role_arn: str | None = None
    identity: list[Source] = field(default_factory=list)
    boundary: list[Source] = field(default_factory=list)
    resource_policy: Source | None = None
    resource_owner: str | None = None
    context: dict[str, Any] = field(default_factory=dict)


def parse_input(text: str, kind: str) -> Policy:
    try:
        return parse_policy(text, kind)
    except MalformedPolicy as error:
        raise AwsError("InvalidInputException", error.reason) from None


def _value(value: str, type_name: str) -> Any:
    base = type_name.removesuffix("List")
    try:
        if base == "numeric":
            number = float(value)
            return int(number) if number.is_integer() else number
        if base == "boolean":
            return value.strip().lower() == "true"
        if base == "date":
            return parse_timestamp(value)
        if base == "binary":
            return base64.b64decode(value)
    except (ValueError, TypeError) as error:
        raise AwsError(
            "InvalidInputException", f"Invalid value {value!r} for context key type {type_name}."
        ) from error
    return value


def context_from_entries(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """ContextEntries as request-context keys (typed as the evaluation compares them)."""
    context: dict[str, Any] = {}
    for entry in entries:
        type_name = entry.get("ContextKeyType", "string")
        values = [_value(v, type_name) for v in entry.get("ContextKeyValues", [])]
        if type_name.endswith("List"):
            context[entry["ContextKeyName"]] = values
        elif values:
            context[entry["ContextKeyName"]] = values[0]
    return context


def combined_boundary(sources: list[Source]) -> Policy | None:
    if not sources:
        return None
    if len(sources) == 1:
        return sources[0].policy
    statements: list[Any] = []
    for source in sources:
        raw = source.policy.document.get("Statement", [])
        statements.extend(raw if isinstance(raw, list) else [raw])
    text = json.dumps({"Version": "2012-10-17", "Statement": statements})
    return parse_policy(text, "boundary")


def _eval_decision(allowed: bool, reason: str) -> str:
    if allowed:
        return "allowed"
    return "explicitDeny" if reason.startswith("explicit_deny_") else "implicitDeny"


def _matches(sources: list[Source], action: str, resource: str, ctx, allow: bool) -> list[dict]:
    matched = []
    for source in sources:
        for statement in source.policy.statements:
            if (
                statement.allow == allow
                and statement.matches_action(action)
                and statement.matches_rest(resource, ctx)
            ):
                matched.append(
                    {"SourcePolicyId": source.source_id, "SourcePolicyType": source.source_type}
                )
                break
    return matched


def missing_context_values(
    policies: list[Policy], action: str, resource: str, ctx: Mapping[str, Any]
) -> list[str]:
    """The condition keys that the statements applying to ``action`` on ``resource`` test and
    the request context (``ctx``, lower-cased keys) lacks, as the policies spell them. Keys
    tested only for existence (``Null``, ``...IfExists``) are not required."""
    missing: dict[str, str] = {}
    for policy in policies:
        for statement in policy.statements:
            if not (statement.matches_action(action) and statement.matches_resource(resource, ctx)):
                continue
            for condition in statement.conditions:
                if condition.key in ctx or condition.if_exists or condition.family == "null":
                    continue
                missing.setdefault(condition.key, condition.key_name)
    return list(missing.values())


def simulate(sim: Simulation, actions: list[str], resources: list[str]) -> list[dict[str, Any]]:
    boundary = combined_boundary(sim.boundary)
    resource_policy = sim.resource_policy.policy if sim.resource_policy else None
    results = []
    for action in actions:
        for resource in resources or ["*"]:
            facts = RequestFacts(
                action=action,
                resource=resource,
                principal_arn=sim.principal_arn,
                principal_account=sim.principal_account,
                principal_type=sim.principal_type,
                role_arn=sim.role_arn,
                context=sim.context,
            )
            decision = evaluate(
                facts,
                PolicySet(
                    identity=[s.policy for s in sim.identity],
                    resource=resource_policy,
                    resource_account=sim.resource_owner,
                    boundary=boundary,
                ),
            )
            ctx = request_context(facts)
            sources = list(sim.identity)
            if sim.resource_policy is not None:
                sources.append(sim.resource_policy)
            verdict = _eval_decision(decision.allowed, decision.reason)
            if verdict == "implicitDeny":
                matched: list[dict] = []
            else:
                pool = sources + (sim.boundary if verdict == "explicitDeny" else [])
                matched = _matches(pool, action.lower(), resource, ctx, verdict == "allowed")
            policies = [source.policy for source in sources + sim.boundary]
            missing = missing_context_values(policies, action.lower(), resource, ctx)
            result: dict[str, Any] = {
                "EvalActionName": action,
                "EvalResourceName": resource,
                "EvalDecision": verdict,
                "MatchedStatements": matched,
                "MissingContextValues": missing,
                "EvalDecisionDetails": {},
            }
            if boundary is not None:
                result["PermissionsBoundaryDecisionDetail"] = {
                    "AllowedByPermissionsBoundary": decision.reason
                    not in ("no_allow_boundary", "explicit_deny_boundary")
                }
            results.append(result)
    return results
