"""AssumeRoleWithSAML through boto3 and the AWS CLI (unsigned calls) with a test SAML IdP."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from lxml import etree

from tests.conftest import REGION, make_client
from tests.e2e.sts_helpers import (
    allow,
    document,
    error_code,
    error_message,
    require_iam,
    server_now,
    session_client,
    time_travel,
    unique,
)
from tests.sts_unit.saml_idp import ATTR, SAML, SamlIdP, encode

ACCOUNT = "000000000000"
SIGNIN_AUD = {"StringEquals": {"saml:aud": "https://signin.aws.amazon.com/saml"}}


@dataclass
class Federation:
    idp: SamlIdP
    provider_arn: str
    role: dict

    @property
    def role_value(self) -> str:
        return f"{self.role['Arn']},{self.provider_arn}"


def anonymous_sts(server):
    return make_client(server.endpoint, "sts", config=Config(signature_version=UNSIGNED))


def federation(server, *, actions="sts:AssumeRoleWithSAML", condition=None, policy=None):
    """A SAML provider for a new IdP and a role trusting it (console-style trust policy)."""
    require_iam(server, "list_saml_providers")
    iam = server.client("iam")
    idp = SamlIdP()
    provider_arn = iam.create_saml_provider(
        Name=unique("idp"), SAMLMetadataDocument=idp.metadata()
    )["SAMLProviderArn"]
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": actions,
        "Condition": condition or SIGNIN_AUD,
    }
    role = iam.create_role(
        RoleName=unique("saml-role"), AssumeRolePolicyDocument=document(statement)
    )["Role"]
    iam.put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="p",
        PolicyDocument=policy or document(allow("iam:ListRoles")),
    )
    return Federation(idp, provider_arn, role)


@pytest.fixture(scope="module")
def fed(server):
    return federation(server)


def assertion(server, fed: Federation, *, whole_response=False, **kwargs) -> str:
    kwargs.setdefault("roles", [fed.role_value])
    response = fed.idp.response(now=server_now(server), **kwargs)
    return encode(fed.idp.sign(response, whole_response=whole_response))


def assume(server, fed: Federation, saml_assertion: str, **params):
    return anonymous_sts(server).assume_role_with_saml(
        RoleArn=fed.role["Arn"],
        PrincipalArn=fed.provider_arn,
        SAMLAssertion=saml_assertion,
        **params,
    )


def refused(server, fed, saml_assertion, **params):
    with pytest.raises(ClientError) as err:
        assume(server, fed, saml_assertion, **params)
    return err


# Success


@pytest.mark.parametrize("whole_response", [False, True], ids=["assertion", "response"])
def test_signed_assertion_gives_working_credentials(server, fed, whole_response):
    out = assume(server, fed, assertion(server, fed, whole_response=whole_response))
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{fed.role['RoleName']}/saml-user"
    assert out["AssumedRoleUser"]["Arn"] == arn
    assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{fed.role['RoleId']}:saml-user"
    assert out["Subject"] == "alice@example.com"
    assert out["SubjectType"] == "persistent"
    assert out["Issuer"] == fed.idp.entity_id
    assert out["Audience"] == "https://signin.aws.amazon.com/saml"
    assert "PackedPolicySize" not in out
    name = fed.provider_arn.rsplit("/", 1)[1]
    digest = hashlib.sha1(f"{fed.idp.entity_id}{ACCOUNT}/{name}".encode()).digest()
    assert out["NameQualifier"] == base64.b64encode(digest).decode()
    expiry = out["Credentials"]["Expiration"] - server_now(server)
    assert timedelta(minutes=59) < expiry <= timedelta(hours=1)

    me = session_client(server, out["Credentials"], "sts").get_caller_identity()
    assert me["Arn"] == arn
    iam = session_client(server, out["Credentials"], "iam")
    iam.list_roles(MaxItems=1)  # the role's policy allows it
    with pytest.raises(ClientError) as err:
        iam.list_users()
    assert error_code(err) == "AccessDenied"


def test_the_aws_cli(server, fed, tmp_path):
    path = tmp_path / "assertion.b64"
    path.write_text(assertion(server, fed))
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "awscli",
            "--endpoint-url",
            server.endpoint,
            "sts",
            "assume-role-with-saml",
            "--role-arn",
            fed.role["Arn"],
            "--principal-arn",
            fed.provider_arn,
            "--saml-assertion",
            f"file://{path}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["AssumedRoleUser"]["Arn"].endswith(f"/{fed.role['RoleName']}/saml-user")
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")


# Signatures and XML


def test_tampered_assertion_is_refused(server, fed):
    xml = etree.tostring(
        fed.idp.sign(fed.idp.response(now=server_now(server), roles=[fed.role_value]))
    )
    tampered = xml.replace(b"alice@example.com", b"mallory@example.com")
    assert tampered != xml
    err = refused(server, fed, encode(tampered))
    assert error_code(err) == "InvalidIdentityToken"
    assert error_message(err) == "Response signature invalid"


def test_signed_by_another_key_is_refused(server, fed):
    impostor = SamlIdP(fed.idp.entity_id)  # same issuer, its own key
    signed = impostor.sign(impostor.response(now=server_now(server), roles=[fed.role_value]))
    err = refused(server, fed, encode(signed))
    assert error_code(err) == "InvalidIdentityToken"


def test_unsigned_response_is_refused(server, fed):
    err = refused(
        server, fed, encode(fed.idp.response(now=server_now(server), roles=[fed.role_value]))
    )
    assert error_code(err) == "InvalidIdentityToken"


def test_injected_unsigned_assertion_is_refused(server, fed):
    """Signature wrapping: an unsigned assertion for another subject beside the signed one."""
    now = server_now(server)
    response = fed.idp.sign(fed.idp.response(now=now, roles=[fed.role_value]))
    evil = fed.idp.response(
        now=now, roles=[fed.role_value], subject="mallory@example.com", session_name="mallory"
    ).find(f"{{{SAML}}}Assertion")
    response.insert(2, evil)  # before the signed one
    err = refused(server, fed, encode(response))
    assert error_code(err) == "InvalidIdentityToken"


@pytest.mark.parametrize("same_id", [False, True], ids=["own-id", "copied-id"])
def test_wrapped_signed_assertion_is_refused(server, fed, same_id):
    """Signature wrapping: the signed assertion hidden in an Extensions element and an unsigned
    one in its place (with an ID of its own, or the signed one's)."""
    now = server_now(server)
    response = fed.idp.sign(fed.idp.response(now=now, roles=[fed.role_value]))
    signed = response.find(f"{{{SAML}}}Assertion")
    evil = fed.idp.response(
        now=now, roles=[fed.role_value], subject="mallory@example.com", session_name="mallory"
    ).find(f"{{{SAML}}}Assertion")
    if same_id:
        evil.set("ID", signed.get("ID"))
    extensions = etree.Element("{urn:oasis:names:tc:SAML:2.0:protocol}Extensions")
    response.replace(signed, evil)
    extensions.append(signed)
    response.insert(1, extensions)
    err = refused(server, fed, encode(response))
    assert error_code(err) == "InvalidIdentityToken"


def test_doctype_and_entities_are_refused(server, fed):
    xml = etree.tostring(
        fed.idp.sign(fed.idp.response(now=server_now(server), roles=[fed.role_value]))
    )
    with_entity = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + xml
    )
    err = refused(server, fed, encode(with_entity))
    assert error_code(err) == "InvalidIdentityToken"


# Claims


def test_expired_assertion(server, fed):
    now = server_now(server)
    response = fed.idp.response(
        now=now - timedelta(minutes=20), roles=[fed.role_value], lifetime=timedelta(minutes=5)
    )
    err = refused(server, fed, encode(fed.idp.sign(response)))
    assert error_code(err) == "ExpiredTokenException"
    assert error_message(err) == "Response has expired"


def test_wrong_audience(server, fed):
    err = refused(server, fed, assertion(server, fed, audience="https://other.example.com/sp"))
    assert error_code(err) == "InvalidIdentityToken"


def test_wrong_recipient(server, fed):
    err = refused(server, fed, assertion(server, fed, recipient="https://evil.example.com/saml"))
    assert error_code(err) == "InvalidIdentityToken"


def test_regional_recipient_is_accepted_and_is_saml_aud(server):
    regional = "https://eu-west-1.signin.aws.amazon.com/saml"
    fed = federation(server, condition={"StringEquals": {"saml:aud": regional}})
    out = assume(server, fed, assertion(server, fed, recipient=regional))
    assert out["Audience"] == regional
    err = refused(server, fed, assertion(server, fed))  # the global sign-in URL: not allowed
    assert error_code(err) == "AccessDenied"


def test_issuer_not_of_the_provider(server, fed):
    err = refused(server, fed, assertion(server, fed, issuer="https://someone-else.example.com"))
    assert error_code(err) == "InvalidIdentityToken"
    assert error_message(err) == "Issuer not present in specified provider"


def test_role_not_in_the_assertion(server, fed):
    other = f"arn:aws:iam::{ACCOUNT}:role/someone-else,{fed.provider_arn}"
    err = refused(server, fed, assertion(server, fed, roles=[other]))
    assert error_code(err) == "AccessDenied"
    assert error_message(err) == "Not authorized to perform sts:AssumeRoleWithSAML"


def test_role_value_in_either_order(server, fed):
    swapped = f"{fed.provider_arn},{fed.role['Arn']}"
    out = assume(server, fed, assertion(server, fed, roles=["arn:aws:iam::1:role/x,y", swapped]))
    assert out["AssumedRoleUser"]["Arn"].endswith("/saml-user")


def test_session_name_is_required_and_checked(server, fed):
    err = refused(server, fed, assertion(server, fed, session_name=None))
    assert error_code(err) == "InvalidIdentityToken"
    err = refused(server, fed, assertion(server, fed, session_name="has space"))
    assert error_code(err) == "InvalidIdentityToken"
    assert error_message(err) == (
        "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}"
    )


def test_unknown_provider(server, fed):
    missing = f"arn:aws:iam::{ACCOUNT}:saml-provider/{unique('missing')}"
    saml_assertion = assertion(server, fed, roles=[f"{fed.role['Arn']},{missing}"])
    with pytest.raises(ClientError) as err:
        anonymous_sts(server).assume_role_with_saml(
            RoleArn=fed.role["Arn"], PrincipalArn=missing, SAMLAssertion=saml_assertion
        )
    assert error_code(err) == "InvalidIdentityToken"


# Trust policy, duration, tags


def test_trust_condition_not_met(server):
    fed = federation(server, condition={"StringEquals": {"saml:sub": "bob@example.com"}})
    err = refused(server, fed, assertion(server, fed))
    assert error_code(err) == "AccessDenied"
    assert error_message(err) == "Not authorized to perform sts:AssumeRoleWithSAML"
    out = assume(server, fed, assertion(server, fed, subject="bob@example.com"))
    assert out["Subject"] == "bob@example.com"


def test_session_duration_attribute_does_not_shorten_api_credentials(server, fed):
    """SessionDuration is for console sessions: these credentials last DurationSeconds."""
    console_only = {ATTR + "SessionDuration": ["900"]}
    out = assume(server, fed, assertion(server, fed, attributes=console_only), DurationSeconds=3600)
    expiry = out["Credentials"]["Expiration"] - server_now(server)
    assert timedelta(minutes=59) < expiry <= timedelta(minutes=60)
    client = session_client(server, out["Credentials"], "sts")
    time_travel(server, 901)
    client.get_caller_identity()  # still valid after the console's 15 minutes
    time_travel(server, 3600)
    with pytest.raises(ClientError) as err:
        client.get_caller_identity()
    assert error_code(err) == "ExpiredToken"


def test_duration_seconds_beyond_the_role_maximum(server, fed):
    err = refused(server, fed, assertion(server, fed), DurationSeconds=7200)
    assert error_code(err) == "ValidationError"


def test_principal_tags_become_session_tags(server):
    policy = document(
        allow("iam:ListRoles", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}})
    )
    fed = federation(server, actions=["sts:AssumeRoleWithSAML", "sts:TagSession"], policy=policy)
    for team, allowed in (("blue", True), ("red", False)):
        tags = {ATTR + "PrincipalTag:team": [team]}
        out = assume(server, fed, assertion(server, fed, attributes=tags))
        assert out["PackedPolicySize"] > 0
        iam = session_client(server, out["Credentials"], "iam")
        if allowed:
            iam.list_roles(MaxItems=1)
        else:
            with pytest.raises(ClientError) as err:
                iam.list_roles(MaxItems=1)
            assert error_code(err) == "AccessDenied"


def test_tags_need_tag_session_in_the_trust_policy(server, fed):
    tags = {ATTR + "PrincipalTag:team": ["blue"]}
    err = refused(server, fed, assertion(server, fed, attributes=tags))
    assert error_code(err) == "AccessDenied"


# The journal


def test_journal_names_the_saml_user_and_never_the_assertion(server, fed):
    saml_assertion = assertion(server, fed)
    out = assume(server, fed, saml_assertion)
    request_id = out["ResponseMetadata"]["RequestId"]
    ct = server.client("cloudtrail")
    record = None
    deadline = time.monotonic() + 5
    while record is None and time.monotonic() < deadline:
        page = ct.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AssumeRoleWithSAML"}]
        )
        for event in page["Events"]:
            candidate = json.loads(event["CloudTrailEvent"])
            if candidate["requestID"] == request_id:
                record, text = candidate, event["CloudTrailEvent"]
        time.sleep(0.05)
    assert record is not None, "the call was not journaled"
    qualifier = out["NameQualifier"]
    assert record["userIdentity"] == {
        "type": "SAMLUser",
        "principalId": f"{qualifier}:alice@example.com",
        "userName": "alice@example.com",
        "identityProvider": qualifier,
    }
    assert record["recipientAccountId"] == ACCOUNT
    assert record["requestParameters"]["roleArn"] == fed.role["Arn"]
    assert {r["ARN"] for r in record["resources"]} == {fed.role["Arn"], fed.provider_arn}
    # No part of the assertion (a bearer credential) reaches the record.
    for piece in (saml_assertion[:40], saml_assertion[-40:], saml_assertion[1000:1040]):
        assert piece not in text
    assert "SignatureValue" not in text and "X509Certificate" not in text
    assert out["Credentials"]["SessionToken"] not in text
