"""A runtime of our own (no server) with a fake IAM: roles, OIDC providers, MFA codes, policies.

The fake replaces the functions STS calls in IAM's modules (``roles.get_role``,
``oidc.get_oidc_provider``, ``mfa.verify_mfa_code``, ``ManagedPolicies.resolve``) and the
runtime's ``identity_policies``, so the STS provider's logic is tested on its own; the e2e tests
cover the real thing.
"""

from __future__ import annotations

import inspect
import json
import uuid
from dataclasses import dataclass, field

import pytest
from botocore.session import get_session

from mamori.config import Settings
from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from mamori.iam import managed_policies, mfa, oidc, roles
from mamori.iam.policy import parse_policy
from mamori.iam.principals import Principal, root_principal
from mamori.iam.session_limits import check_session_limits
from mamori.protocols.base import HttpRequest
from mamori.runtime import Runtime

ACCOUNT = "000000000000"
OTHER = "111111111111"
_STS = get_session().get_service_model("sts")


@dataclass
class FakeIam:
    roles: dict[tuple[str, str], dict] = field(default_factory=dict)
    oidc: dict[str, dict] = field(default_factory=dict)
    mfa: dict[str, str] = field(default_factory=dict)  # serial -> the one valid code
    managed: dict[str, str] = field(default_factory=dict)  # policy ARN -> default document
    identity: dict[str, list[str]] = field(default_factory=dict)  # user/role ARN -> documents

    def add_role(self, name, trust, *, account=ACCOUNT, max_duration=3600, tags=None, path="/"):
        role = {
            "RoleName": name,
            "RoleId": "AROA" + uuid.uuid4().hex[:17].upper(),
            "Arn": f"arn:aws:iam::{account}:role{path}{name}",
            "Path": path,
            "AssumeRolePolicyDocument": json.dumps(trust),
            "MaxSessionDuration": max_duration,
            "PermissionsBoundary": None,
            "Tags": dict(tags or {}),
        }
        self.roles[(account, name)] = role
        return role

    def allow(self, arn: str, *statements: dict) -> None:
        self.identity.setdefault(arn, []).append(
            json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
        )

    def identity_policies(self, principal: Principal):
        if principal.type in ("AssumedRole", "FederatedUser") and principal.session:
            arn = principal.session.role_arn
        else:
            arn = principal.arn
        return [parse_policy(t) for t in self.identity.get(arn, [])], None


@pytest.fixture
def runtime(tmp_path):
    rt = Runtime(Settings.from_env({}, data_dir=tmp_path / "data", account_id=ACCOUNT))
    yield rt
    rt.close()


@pytest.fixture
def iam(runtime, monkeypatch) -> FakeIam:
    fake = FakeIam()
    monkeypatch.setattr(
        roles, "get_role", lambda rt, conn, account, name: fake.roles.get((account, name))
    )
    monkeypatch.setattr(
        oidc, "get_oidc_provider", lambda rt, conn, account, arn: fake.oidc.get(arn)
    )
    monkeypatch.setattr(
        mfa,
        "verify_mfa_code",
        lambda rt, conn, account, serial, code, now, *, owner: (
            owner is not None and fake.mfa.get(serial) == code
        ),
    )

    def resolve(self, arn):
        text = fake.managed.get(arn)
        return (
            None
            if text is None
            else {"DefaultVersionId": "v1", "Versions": {"v1": {"Document": text}}}
        )

    monkeypatch.setattr(managed_policies.ManagedPolicies, "resolve", resolve)
    runtime.identity_policies = fake.identity_policies
    return fake


def user(name: str, account: str = ACCOUNT) -> Principal:
    return Principal(
        type="IAMUser",
        account_id=account,
        arn=f"arn:aws:iam::{account}:user/{name}",
        principal_id="AIDA" + name.upper().ljust(17, "X")[:17],
        user_name=name,
    )


def root(account: str = ACCOUNT) -> Principal:
    return root_principal(account, "AKIAROOT")


def context(runtime, principal: Principal, operation: str, service: str = "sts"):
    model = _STS if service == "sts" else get_session().get_service_model(service)
    return RequestContext(
        runtime,
        HttpRequest(method="POST", path="/"),
        model.operation_model(operation),
        region="us-east-1",
        principal=principal,
        request_id=str(uuid.uuid4()),
        now=runtime.clock.now(),
        protocol="query",
    )


def call(runtime, principal: Principal, operation: str, **params):
    """Run one STS operation as ``principal`` like the gateway: refused when the principal's
    credential may not call it at all, its transaction committed on success."""
    from botocore import xform_name

    check_session_limits(principal, "sts", operation)
    ctx = context(runtime, principal, operation)
    handler = getattr(runtime.registry.providers["sts"], xform_name(operation))
    try:
        result = handler(ctx, params)
        if inspect.isawaitable(result):
            import asyncio

            result = asyncio.run(result)
    except AwsError:
        ctx.finish(commit=False)
        raise
    ctx.finish(commit=True)
    return result


def session_principal(runtime, credentials: dict) -> Principal:
    credential = runtime.credentials.lookup(credentials["AccessKeyId"])
    assert credential is not None
    return credential.principal


def error_of(excinfo) -> tuple[str, str]:
    return excinfo.value.code, excinfo.value.message
