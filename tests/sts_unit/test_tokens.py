"""GetCallerIdentity formats, GetSessionToken, GetFederationToken, GetAccessKeyInfo,
DecodeAuthorizationMessage, and the sessions table."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from mamori.errors import AwsError
from mamori.iam import sessions
from mamori.services.sts.authmessage import authorization_message, encode_authorization_message
from tests.sts_unit.conftest import ACCOUNT, OTHER, call, context, root, session_principal, user

ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def test_caller_identity_of_root_and_user(runtime, iam):
    assert call(runtime, root(), "GetCallerIdentity") == {
        "UserId": ACCOUNT,
        "Account": ACCOUNT,
        "Arn": f"arn:aws:iam::{ACCOUNT}:root",
    }
    alice = user("alice")
    out = call(runtime, alice, "GetCallerIdentity")
    assert out["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert out["UserId"].startswith("AIDA")


def test_session_token_keeps_the_user_identity(runtime, iam):
    alice = user("alice")
    out = call(runtime, alice, "GetSessionToken")
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    remaining = creds["Expiration"] - runtime.clock.now()
    assert timedelta(hours=11, minutes=59) < remaining <= timedelta(hours=12)
    principal = session_principal(runtime, creds)
    assert (principal.type, principal.arn, principal.user_name) == ("IAMUser", alice.arn, "alice")
    assert call(runtime, principal, "GetCallerIdentity")["Arn"] == alice.arn
    keys = context(runtime, principal, "GetCallerIdentity").condition_keys()
    assert keys["aws:MultiFactorAuthPresent"] is False
    # Session credentials may not call GetSessionToken / GetFederationToken again.
    for operation, params in (("GetSessionToken", {}), ("GetFederationToken", {"Name": "fed"})):
        with pytest.raises(AwsError) as err:
            call(runtime, principal, operation, **params)
        assert (err.value.code, err.value.message) == (
            "AccessDenied",
            f"Cannot call {operation} with session credentials",
        )


def test_session_token_durations(runtime, iam):
    alice = user("alice")
    out = call(runtime, alice, "GetSessionToken", DurationSeconds=129600)
    remaining = out["Credentials"]["Expiration"] - runtime.clock.now()
    assert remaining > timedelta(hours=35)
    with pytest.raises(AwsError) as err:
        call(runtime, alice, "GetSessionToken", DurationSeconds=129601)
    assert err.value.code == "ValidationError"
    with pytest.raises(AwsError):
        call(runtime, alice, "GetSessionToken", DurationSeconds=899)
    # The root user's sessions are limited to one hour.
    out = call(runtime, root(), "GetSessionToken", DurationSeconds=7200)
    remaining = out["Credentials"]["Expiration"] - runtime.clock.now()
    assert remaining <= timedelta(hours=1)
    principal = session_principal(runtime, out["Credentials"])
    assert principal.is_root and principal.arn == f"arn:aws:iam::{ACCOUNT}:root"


def test_session_token_with_mfa(runtime, iam):
    alice = user("alice")
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/alice"
    iam.mfa[serial] = "654321"
    iam.allow(
        alice.arn,
        {
            "Effect": "Allow",
            "Action": "iam:DeleteUser",
            "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        },
    )
    with pytest.raises(AwsError):
        context(runtime, alice, "GetCallerIdentity").authorize("iam:DeleteUser", "*")
    with pytest.raises(AwsError) as err:
        call(runtime, alice, "GetSessionToken", SerialNumber=serial, TokenCode="111111")
    assert err.value.code == "AccessDenied"
    with pytest.raises(AwsError):
        call(runtime, alice, "GetSessionToken", SerialNumber=serial)
    out = call(runtime, alice, "GetSessionToken", SerialNumber=serial, TokenCode="654321")
    principal = session_principal(runtime, out["Credentials"])
    assert principal.session.mfa_authenticated
    context(runtime, principal, "GetCallerIdentity").authorize("iam:DeleteUser", "*")


def test_federation_token(runtime, iam):
    alice = user("alice")
    with pytest.raises(AwsError) as err:
        call(runtime, alice, "GetFederationToken", Name="bob")
    assert "sts:GetFederationToken" in err.value.message
    iam.allow(
        alice.arn,
        {"Effect": "Allow", "Action": ["sts:GetFederationToken", "s3:*"], "Resource": "*"},
    )
    out = call(runtime, alice, "GetFederationToken", Name="bob", DurationSeconds=1800)
    assert out["FederatedUser"] == {
        "FederatedUserId": f"{ACCOUNT}:bob",
        "Arn": f"arn:aws:sts::{ACCOUNT}:federated-user/bob",
    }
    fed = session_principal(runtime, out["Credentials"])
    assert fed.type == "FederatedUser"
    assert call(runtime, fed, "GetCallerIdentity") == {
        "UserId": f"{ACCOUNT}:bob",
        "Account": ACCOUNT,
        "Arn": f"arn:aws:sts::{ACCOUNT}:federated-user/bob",
    }
    # No session policy: the federated user can do nothing.
    with pytest.raises(AwsError) as err:
        context(runtime, fed, "GetCallerIdentity").authorize("s3:GetObject", "arn:aws:s3:::b/k")
    assert "no session policy allows" in err.value.message
    # With one: the intersection of the user's policies and the session policy.
    out = call(runtime, alice, "GetFederationToken", Name="bob2", Policy=ALLOW_ALL)
    assert out["PackedPolicySize"] >= 1
    fed2 = context(runtime, session_principal(runtime, out["Credentials"]), "GetCallerIdentity")
    fed2.authorize("s3:GetObject", "arn:aws:s3:::b/k")
    with pytest.raises(AwsError) as err:
        fed2.authorize("kms:Decrypt", "*")
    assert "no identity-based policy allows" in err.value.message


def test_root_federation_token_is_capped(runtime, iam):
    out = call(runtime, root(), "GetFederationToken", Name="rootfed", DurationSeconds=36000)
    assert out["Credentials"]["Expiration"] - runtime.clock.now() <= timedelta(hours=1)


def test_access_key_info(runtime, iam):
    alice = user("alice")
    out = call(runtime, alice, "GetSessionToken")
    # Known keys: their own account; unknown ones: the caller's account (see provider docs).
    assert call(
        runtime, root(), "GetAccessKeyInfo", AccessKeyId=out["Credentials"]["AccessKeyId"]
    ) == {"Account": ACCOUNT}
    assert call(runtime, root(OTHER), "GetAccessKeyInfo", AccessKeyId="ASIAUNKNOWN000000000") == {
        "Account": OTHER
    }
    with pytest.raises(AwsError):
        call(runtime, alice, "GetAccessKeyInfo", AccessKeyId="AKIAUNKNOWN000000000")
    iam.allow(alice.arn, {"Effect": "Allow", "Action": "sts:GetAccessKeyInfo", "Resource": "*"})
    assert call(runtime, alice, "GetAccessKeyInfo", AccessKeyId=runtime.root_credentials[0]) == {
        "Account": ACCOUNT
    }


def test_decode_authorization_message(runtime, iam):
    message = authorization_message(
        allowed=False,
        explicit_deny=False,
        principal_id="AIDAX",
        principal_arn=user("alice").arn,
        action="ec2:RunInstances",
        resource="arn:aws:ec2:us-east-1:000000000000:instance/*",
        context={"aws:SecureTransport": False, "aws:TagKeys": ["a", "b"]},
    )
    encoded = encode_authorization_message(runtime, ACCOUNT, message)
    decoded = json.loads(
        call(runtime, root(), "DecodeAuthorizationMessage", EncodedMessage=encoded)[
            "DecodedMessage"
        ]
    )
    assert decoded["allowed"] is False
    assert decoded["context"]["action"] == "ec2:RunInstances"
    assert decoded["context"]["conditions"]["items"][0] == {
        "key": "aws:SecureTransport",
        "values": {"items": [{"value": "false"}]},
    }
    # Needs sts:DecodeAuthorizationMessage.
    with pytest.raises(AwsError) as err:
        call(runtime, user("bob"), "DecodeAuthorizationMessage", EncodedMessage=encoded)
    assert err.value.code == "AccessDenied"
    # Tampered, foreign or another account's messages are invalid.
    for bad in (encoded[:-4] + "AAAA", "garbage", "mamori1.!!!"):
        with pytest.raises(AwsError) as err:
            call(runtime, root(), "DecodeAuthorizationMessage", EncodedMessage=bad)
        assert err.value.code == "InvalidAuthorizationMessageException"
    with pytest.raises(AwsError) as err:
        call(runtime, root(OTHER), "DecodeAuthorizationMessage", EncodedMessage=encoded)
    assert err.value.code == "InvalidAuthorizationMessageException"


def test_session_facts_roundtrip_and_purge(runtime, iam):
    alice = user("alice")
    role = iam.add_role(
        "rt",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": alice.arn},
                    "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                }
            ],
        },
        tags={"env": "prod"},
    )
    out = call(
        runtime,
        alice,
        "AssumeRole",
        RoleArn=role["Arn"],
        RoleSessionName="rt1",
        Policy=ALLOW_ALL,
        Tags=[{"Key": "k", "Value": "v"}],
        TransitiveTagKeys=["k"],
        SourceIdentity="alice-si",
    )
    principal = session_principal(runtime, out["Credentials"])
    with runtime.store.connect() as conn:
        facts = sessions.load_session(conn, out["Credentials"]["AccessKeyId"])
    assert facts["principal_tags"] == {"env": "prod"}
    rebuilt = sessions.session_from_json(
        sessions.session_to_json(principal.session, principal.tags)
    )
    assert rebuilt == principal.session
    assert principal.tags == {"env": "prod"}
    assert principal.session.policies == (ALLOW_ALL,)
    # Purged a day after expiry; long-term keys are left alone.
    later = out["Credentials"]["Expiration"] + timedelta(days=2)
    assert sessions.purge_expired(runtime.credentials, later) == 1
    assert runtime.credentials.lookup(out["Credentials"]["AccessKeyId"]) is None
    assert runtime.credentials.lookup(runtime.root_credentials[0]) is not None


def test_session_principal_replace_keeps_fields():
    p = replace(user("x"), access_key_id="ASIAX")
    assert p.user_name == "x" and p.session is None
