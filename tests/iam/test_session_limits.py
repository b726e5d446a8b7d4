"""The limits of temporary credentials by session kind (mamori.iam.session_limits), and the MFA
condition keys of long-term and temporary credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mamori.errors import AwsError
from mamori.iam.authorizer import global_condition_keys
from mamori.iam.principals import Principal, Session, root_principal
from mamori.iam.session_limits import (
    FEDERATION_TOKEN,
    LONG_TERM,
    ROLE_SESSION,
    SESSION_TOKEN,
    check_session_limits,
    session_kind,
)

A = "111122223333"
NOW = datetime(2025, 1, 1, tzinfo=UTC)
USER = Principal("IAMUser", A, f"arn:aws:iam::{A}:user/alice", "AIDAALICE", user_name="alice")


def with_session(principal: Principal, **facts) -> Principal:
    return Principal(
        principal.type,
        principal.account_id,
        principal.arn,
        principal.principal_id,
        user_name=principal.user_name,
        session=Session(issued=NOW, expires=NOW + timedelta(hours=1), **facts),
    )


SESSION_NO_MFA = with_session(USER)
SESSION_MFA = with_session(USER, mfa_authenticated=True, mfa_authenticated_at=NOW)
ROOT_SESSION = with_session(root_principal(A, "AKIAROOT"))
FEDERATED = Principal(
    "FederatedUser",
    A,
    f"arn:aws:sts::{A}:federated-user/bob",
    f"{A}:bob",
    session=Session(issued=NOW, expires=NOW + timedelta(hours=1), role_arn=USER.arn),
)
ROLE = Principal(
    "AssumedRole",
    A,
    f"arn:aws:sts::{A}:assumed-role/app/s1",
    "AROAAPP:s1",
    session=Session(
        issued=NOW, expires=NOW + timedelta(hours=1), role_arn=f"arn:aws:iam::{A}:role/app"
    ),
)


def refusal(principal: Principal, service: str, operation: str) -> tuple[str, str, int] | None:
    try:
        check_session_limits(principal, service, operation)
    except AwsError as error:
        return error.code, error.message, error.status
    return None


def test_session_kinds():
    assert session_kind(USER) == LONG_TERM
    assert session_kind(root_principal(A, "AKIAROOT")) == LONG_TERM
    assert session_kind(SESSION_NO_MFA) == SESSION_TOKEN
    assert session_kind(ROOT_SESSION) == SESSION_TOKEN
    assert session_kind(FEDERATED) == FEDERATION_TOKEN
    assert session_kind(ROLE) == ROLE_SESSION


IAM_REFUSAL = ("InvalidClientTokenId", "The security token included in the request is invalid", 403)


@pytest.mark.parametrize(
    ("principal", "refused"),
    [
        (USER, False),
        (SESSION_NO_MFA, True),
        (ROOT_SESSION, True),
        (SESSION_MFA, False),
        (FEDERATED, True),
        (ROLE, False),
    ],
)
def test_iam_refuses_session_tokens_without_mfa_and_federation_tokens(principal, refused):
    assert refusal(principal, "iam", "ListUsers") == (IAM_REFUSAL if refused else None)


STS_OPERATIONS = (
    "AssumeRole",
    "AssumeRoleWithWebIdentity",
    "DecodeAuthorizationMessage",
    "GetAccessKeyInfo",
    "GetCallerIdentity",
    "GetFederationToken",
    "GetSessionToken",
)


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        (USER, set(STS_OPERATIONS)),
        (SESSION_NO_MFA, {"AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity"}),
        (SESSION_MFA, {"AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity"}),
        (FEDERATED, {"AssumeRoleWithWebIdentity", "GetCallerIdentity"}),
        (
            ROLE,
            set(STS_OPERATIONS) - {"GetFederationToken", "GetSessionToken"},
        ),
    ],
)
def test_sts_operations_each_session_kind_may_call(principal, allowed):
    for operation in STS_OPERATIONS:
        expected = (
            None
            if operation in allowed
            else ("AccessDenied", f"Cannot call {operation} with session credentials", 403)
        )
        assert refusal(principal, "sts", operation) == expected, operation


def test_other_services_are_not_limited():
    for principal in (SESSION_NO_MFA, FEDERATED, ROLE):
        assert refusal(principal, "kms", "ListKeys") is None


def keys_of(principal: Principal) -> dict:
    return global_condition_keys(
        principal, now=NOW + timedelta(minutes=5), source_ip="127.0.0.1", secure=False, region="r"
    )


def test_mfa_keys_exist_only_for_temporary_credentials():
    for long_term in (USER, root_principal(A, "AKIAROOT")):
        keys = keys_of(long_term)
        assert "aws:MultiFactorAuthPresent" not in keys
        assert "aws:MultiFactorAuthAge" not in keys
        assert "aws:TokenIssueTime" not in keys
    keys = keys_of(SESSION_NO_MFA)
    assert keys["aws:MultiFactorAuthPresent"] is False
    assert "aws:MultiFactorAuthAge" not in keys
    keys = keys_of(SESSION_MFA)
    assert keys["aws:MultiFactorAuthPresent"] is True
    assert keys["aws:MultiFactorAuthAge"] == 300
