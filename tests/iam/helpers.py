"""Builders shared by the policy tests."""

from __future__ import annotations

from dataclasses import dataclass

from mamori.iam.policy import PolicySet, RequestFacts, parse_policy

A = "111122223333"
B = "444455556666"
ALICE = f"arn:aws:iam::{A}:user/alice"
BOB = f"arn:aws:iam::{A}:user/bob"
ROLE = f"arn:aws:iam::{A}:role/app"
SESSION = f"arn:aws:sts::{A}:assumed-role/app/s1"
ROOT_A = f"arn:aws:iam::{A}:root"
ROOT_B = f"arn:aws:iam::{B}:root"
KEY = f"arn:aws:kms:us-east-1:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
FED = f"arn:aws:sts::{A}:federated-user/bob"


def S(
    effect: str = "Allow",
    action: object = None,
    resource: object = "*",
    *,
    not_action: object = None,
    not_resource: object = None,
    principal: object = None,
    not_principal: object = None,
    condition: dict | None = None,
    sid: str | None = None,
) -> dict:
    st: dict = {"Effect": effect}
    if sid is not None:
        st["Sid"] = sid
    if principal is not None:
        st["Principal"] = principal
    if not_principal is not None:
        st["NotPrincipal"] = not_principal
    if not_action is not None:
        st["NotAction"] = not_action
    else:
        st["Action"] = action
    if not_resource is not None:
        st["NotResource"] = not_resource
    elif resource is not None:
        st["Resource"] = resource
    if condition is not None:
        st["Condition"] = condition
    return st


def P(*statements: dict, kind: str = "identity", version: str | None = "2012-10-17"):
    doc: dict = {"Statement": list(statements)}
    if version is not None:
        doc = {"Version": version, **doc}
    return parse_policy(doc, kind)


def R(*statements: dict, version: str | None = "2012-10-17"):
    return P(*statements, kind="resource", version=version)


def T(*statements: dict):
    return P(*statements, kind="trust")


def allow(action, resource="*", **kw) -> dict:
    return S("Allow", action, resource, **kw)


def deny(action, resource="*", **kw) -> dict:
    return S("Deny", action, resource, **kw)


def admin():
    return P(allow("*"))


def user(action, resource="*", *, name="alice", account=A, ctx=None) -> RequestFacts:
    return RequestFacts(
        action=action,
        resource=resource,
        principal_arn=f"arn:aws:iam::{account}:user/{name}",
        principal_account=account,
        principal_type="IAMUser",
        context=ctx or {},
    )


def session(action, resource="*", *, role="app", sess="s1", account=A, ctx=None) -> RequestFacts:
    return RequestFacts(
        action=action,
        resource=resource,
        principal_arn=f"arn:aws:sts::{account}:assumed-role/{role}/{sess}",
        principal_account=account,
        principal_type="AssumedRole",
        role_arn=f"arn:aws:iam::{account}:role/{role}",
        context=ctx or {},
    )


def fed(action, resource="*", *, name="bob", account=A, ctx=None, via_user=True) -> RequestFacts:
    return RequestFacts(
        action=action,
        resource=resource,
        principal_arn=f"arn:aws:sts::{account}:federated-user/{name}",
        principal_account=account,
        principal_type="FederatedUser",
        role_arn=f"arn:aws:iam::{account}:user/{name}" if via_user else None,
        context=ctx or {},
    )


def root(action, resource="*", *, account=A, ctx=None) -> RequestFacts:
    return RequestFacts(
        action=action,
        resource=resource,
        principal_arn=f"arn:aws:iam::{account}:root",
        principal_account=account,
        principal_type="Root",
        context=ctx or {},
    )


def svc(action, resource="*", *, service="cloudtrail.amazonaws.com", ctx=None) -> RequestFacts:
    return RequestFacts(
        action=action,
        resource=resource,
        principal_arn=service,
        principal_account="",
        principal_type="AWSService",
        service_principal=service,
        context=ctx or {},
    )


def anon(action, resource="*", *, ctx=None) -> RequestFacts:
    return RequestFacts(
        action=action,
        resource=resource,
        principal_arn="*",
        principal_account="",
        principal_type="Anonymous",
        context=ctx or {},
    )


@dataclass
class Case:
    id: str
    facts: RequestFacts
    policies: PolicySet
    reason: str
    cites: str

    @property
    def allowed(self) -> bool:
        return self.reason == "allowed"


def ids(identity=(), **kw) -> PolicySet:
    if not isinstance(identity, (list, tuple)):
        identity = [identity]
    return PolicySet(identity=list(identity), **kw)
