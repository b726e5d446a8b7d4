"""AssumeRoleWithWebIdentity against a local OIDC issuer (HTTP on 127.0.0.1)."""

from __future__ import annotations

import time

import pytest

from mamori.errors import AwsError
from mamori.iam.principals import anonymous_principal
from mamori.services.sts import webidentity
from tests.sts_unit.conftest import ACCOUNT, call, context, session_principal
from tests.sts_unit.oidc_issuer import LocalIssuer


@pytest.fixture
def issuer():
    local = LocalIssuer("/realm")
    yield local
    local.close()


@pytest.fixture
def web_role(iam, issuer):
    url = issuer.provider_url
    provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{url}"
    iam.oidc[provider_arn] = {"Url": url, "ClientIDList": ["my-client"], "ThumbprintList": []}
    return iam.add_role(
        "web",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{url}:aud": "my-client"},
                        "StringLike": {f"{url}:sub": "user-*"},
                    },
                }
            ],
        },
    )


def assume(runtime, role, token, **params):
    return call(
        runtime,
        anonymous_principal(ACCOUNT),
        "AssumeRoleWithWebIdentity",
        RoleArn=role["Arn"],
        RoleSessionName="web-session",
        WebIdentityToken=token,
        **params,
    )


def test_valid_token(runtime, web_role, issuer):
    out = assume(runtime, web_role, issuer.token())
    assert out["SubjectFromWebIdentityToken"] == "user-123"
    assert out["Audience"] == "my-client"
    assert out["Provider"] == issuer.url
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/web/web-session"
    principal = session_principal(runtime, out["Credentials"])
    assert principal.type == "AssumedRole"
    assert principal.session.web_identity["sub"] == "user-123"
    assert call(runtime, principal, "GetCallerIdentity")["Arn"] == out["AssumedRoleUser"]["Arn"]


def test_trust_conditions_on_sub(runtime, web_role, issuer):
    with pytest.raises(AwsError) as err:
        assume(runtime, web_role, issuer.token(sub="robot-1"))
    assert (err.value.code, err.value.message) == (
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    )


def test_wrong_audience(runtime, web_role, issuer):
    with pytest.raises(AwsError) as err:
        assume(runtime, web_role, issuer.token(aud="someone-else"))
    assert (err.value.code, err.value.message) == (
        "InvalidIdentityToken",
        "Incorrect token audience",
    )


def test_expired_token_uses_the_domain_clock(runtime, web_role, issuer):
    token = issuer.token(lifetime=600)
    runtime.clock.advance(601)
    with pytest.raises(AwsError) as err:
        assume(runtime, web_role, token)
    assert err.value.code == "ExpiredTokenException"
    assert err.value.message.startswith("Token expired: current date/time ")


def test_bad_signature(runtime, web_role, issuer):
    with pytest.raises(AwsError) as err:
        assume(runtime, web_role, issuer.token(key=issuer.foreign_key()))
    assert err.value.code == "InvalidIdentityToken"


def test_not_a_jwt_and_unknown_provider(runtime, web_role, issuer):
    with pytest.raises(AwsError) as err:
        assume(runtime, web_role, "not-a-jwt")
    assert err.value.code == "InvalidIdentityToken"
    with pytest.raises(AwsError) as err:
        assume(runtime, web_role, issuer.token(iss="http://127.0.0.1:1/other"))
    assert err.value.code == "InvalidIdentityToken"
    assert err.value.message.startswith("No OpenIDConnect provider found in your account for ")


def test_unreachable_issuer_is_a_communication_error(runtime, iam):
    local = LocalIssuer()
    url = local.provider_url
    arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{url}"
    iam.oidc[arn] = {"Url": url, "ClientIDList": ["my-client"], "ThumbprintList": []}
    role = iam.add_role(
        "web2",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                }
            ],
        },
    )
    token = local.token()
    local.close()
    with pytest.raises(AwsError) as err:
        assume(runtime, role, token)
    assert err.value.code == "IDPCommunicationError"


def test_http_only_on_loopback():
    webidentity.check_fetchable("https://example.com/x")
    webidentity.check_fetchable("http://127.0.0.1:8080/x")
    webidentity.check_fetchable("http://localhost/x")
    webidentity.check_fetchable("http://[::1]:99/x")
    with pytest.raises(AwsError) as err:
        webidentity.check_fetchable("http://example.com/x")
    assert err.value.code == "IDPCommunicationError"


def test_token_tags_and_source_identity(runtime, iam, issuer):
    url = issuer.provider_url
    arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{url}"
    iam.oidc[arn] = {"Url": url, "ClientIDList": ["my-client"], "ThumbprintList": []}
    role = iam.add_role(
        "webtags",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": arn},
                    "Action": [
                        "sts:AssumeRoleWithWebIdentity",
                        "sts:TagSession",
                        "sts:SetSourceIdentity",
                    ],
                }
            ],
        },
    )
    token = issuer.token(
        **{
            "https://aws.amazon.com/tags": {
                "principal_tags": {"project": ["apollo"]},
                "transitive_tag_keys": ["project"],
            },
            "https://aws.amazon.com/source_identity": "jdoe",
        }
    )
    out = assume(runtime, role, token)
    assert out["SourceIdentity"] == "jdoe"
    principal = session_principal(runtime, out["Credentials"])
    keys = context(runtime, principal, "GetCallerIdentity").condition_keys()
    assert keys["aws:PrincipalTag/project"] == "apollo"
    assert keys["aws:SourceIdentity"] == "jdoe"


def test_nbf_in_future(runtime, web_role, issuer):
    token = issuer.token(nbf=int(time.time()) + 3600, lifetime=7200)
    with pytest.raises(AwsError) as err:
        assume(runtime, web_role, token)
    assert err.value.code == "InvalidIdentityToken"
