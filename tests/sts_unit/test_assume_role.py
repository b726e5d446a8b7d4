"""AssumeRole's rules against the policy engine, with a fake IAM (see conftest)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from mamori.errors import AwsError
from tests.sts_unit.conftest import (
    ACCOUNT,
    OTHER,
    call,
    context,
    root,
    session_principal,
    user,
)


def trust(principal, *actions, condition=None):
    statement = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": list(actions) or ["sts:AssumeRole"],
    }
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_trusted_user_gets_an_asia_session_with_expiry(runtime, iam):
    alice = user("alice")
    role = iam.add_role("app", trust({"AWS": alice.arn}))
    out = call(runtime, alice, "AssumeRole", RoleArn=role["Arn"], RoleSessionName="s1")
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert creds["SessionToken"]
    assert out["AssumedRoleUser"] == {
        "AssumedRoleId": f"{role['RoleId']}:s1",
        "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1",
    }
    assert "PackedPolicySize" not in out
    remaining = creds["Expiration"] - runtime.clock.now()
    assert timedelta(seconds=3590) < remaining <= timedelta(seconds=3600)

    credential = runtime.credentials.lookup(creds["AccessKeyId"])
    assert credential.secret_access_key == creds["SecretAccessKey"]
    assert credential.expires == creds["Expiration"]
    principal = credential.principal
    assert principal.type == "AssumedRole"
    assert principal.arn == out["AssumedRoleUser"]["Arn"]
    assert principal.session.role_arn == role["Arn"]
    assert principal.session.session_name == "s1"
    assert not principal.session.has_session_policy


def test_untrusted_user_is_denied_even_with_identity_permission(runtime, iam):
    bob = user("bob")
    role = iam.add_role("app2", trust({"AWS": user("alice").arn}))
    iam.allow(bob.arn, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    with pytest.raises(AwsError) as err:
        call(runtime, bob, "AssumeRole", RoleArn=role["Arn"], RoleSessionName="ss")
    assert err.value.code == "AccessDenied"
    assert err.value.status == 403
    assert f"User: {bob.arn} is not authorized to perform: sts:AssumeRole" in err.value.message


def test_account_trust_delegates_to_identity_policy(runtime, iam):
    carol = user("carol")
    role = iam.add_role("acct", trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    with pytest.raises(AwsError) as err:
        call(runtime, carol, "AssumeRole", RoleArn=role["Arn"], RoleSessionName="ss")
    assert "no identity-based policy allows the sts:AssumeRole action" in err.value.message
    iam.allow(carol.arn, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]})
    call(runtime, carol, "AssumeRole", RoleArn=role["Arn"], RoleSessionName="ss")


def test_cross_account_needs_trust_and_identity(runtime, iam):
    dave = user("dave", OTHER)
    role = iam.add_role("shared", trust({"AWS": dave.arn}))
    # Trusted by name, but no identity policy in the caller's account: denied.
    with pytest.raises(AwsError) as err:
        call(runtime, dave, "AssumeRole", RoleArn=role["Arn"], RoleSessionName="xx")
    assert "no identity-based policy allows" in err.value.message
    iam.allow(dave.arn, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    out = call(runtime, dave, "AssumeRole", RoleArn=role["Arn"], RoleSessionName="xx")
    assert out["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/")
    # Identity policy alone, role trusting someone else: denied.
    other = iam.add_role("shared2", trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    with pytest.raises(AwsError) as err:
        call(runtime, dave, "AssumeRole", RoleArn=other["Arn"], RoleSessionName="xx")
    assert "no resource-based policy allows" in err.value.message


def test_root_cannot_assume_a_role(runtime, iam):
    role = iam.add_role("r", trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    with pytest.raises(AwsError) as err:
        call(runtime, root(), "AssumeRole", RoleArn=role["Arn"], RoleSessionName="ss")
    assert (err.value.code, err.value.message, err.value.status) == (
        "AccessDenied",
        "Roles may not be assumed by root accounts.",
        403,
    )


def test_unknown_role_is_access_denied_and_bad_arn_a_validation_error(runtime, iam):
    with pytest.raises(AwsError) as err:
        call(
            runtime,
            user("a"),
            "AssumeRole",
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/nope",
            RoleSessionName="ss",
        )
    assert err.value.code == "AccessDenied"
    with pytest.raises(AwsError) as err:
        call(
            runtime, user("a"), "AssumeRole", RoleArn="arn:aws:s3:::bucket-x", RoleSessionName="ss"
        )
    assert err.value.code == "ValidationError"


@pytest.mark.parametrize(
    ("duration", "max_duration", "ok"),
    [(900, 3600, True), (3600, 3600, True), (3601, 3600, False), (43200, 43200, True)],
)
def test_duration_limits(runtime, iam, duration, max_duration, ok):
    alice = user("alice")
    role = iam.add_role(f"d{duration}", trust({"AWS": alice.arn}), max_duration=max_duration)
    params = {"RoleArn": role["Arn"], "RoleSessionName": "ss", "DurationSeconds": duration}
    if ok:
        creds = call(runtime, alice, "AssumeRole", **params)["Credentials"]
        remaining = (creds["Expiration"] - runtime.clock.now()).total_seconds()
        assert duration - 5 < remaining <= duration
    else:
        with pytest.raises(AwsError) as err:
            call(runtime, alice, "AssumeRole", **params)
        assert err.value.code == "ValidationError"
        assert err.value.message == (
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        )


def test_role_chaining_is_capped_at_one_hour_and_keeps_source_identity(runtime, iam):
    alice = user("alice")
    first = iam.add_role(
        "first", trust({"AWS": alice.arn}, "sts:AssumeRole", "sts:SetSourceIdentity")
    )
    second = iam.add_role(
        "second",
        trust({"AWS": first["Arn"]}, "sts:AssumeRole", "sts:SetSourceIdentity"),
        max_duration=43200,
    )
    out = call(
        runtime,
        alice,
        "AssumeRole",
        RoleArn=first["Arn"],
        RoleSessionName="aa",
        SourceIdentity="alice",
    )
    assert out["SourceIdentity"] == "alice"
    session = session_principal(runtime, out["Credentials"])
    with pytest.raises(AwsError) as err:
        call(
            runtime,
            session,
            "AssumeRole",
            RoleArn=second["Arn"],
            RoleSessionName="bb",
            DurationSeconds=7200,
        )
    assert err.value.message == (
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
        "role chaining."
    )
    out2 = call(runtime, session, "AssumeRole", RoleArn=second["Arn"], RoleSessionName="bb")
    assert out2["SourceIdentity"] == "alice"
    chained = session_principal(runtime, out2["Credentials"])
    assert chained.session.source_identity == "alice"
    keys = context(runtime, chained, "GetCallerIdentity").condition_keys()
    assert keys["aws:SourceIdentity"] == "alice"
    assert keys["aws:PrincipalArn"] == second["Arn"]


def test_source_identity_needs_set_source_identity_permission(runtime, iam):
    alice = user("alice")
    role = iam.add_role("nosi", trust({"AWS": alice.arn}))
    with pytest.raises(AwsError) as err:
        call(
            runtime,
            alice,
            "AssumeRole",
            RoleArn=role["Arn"],
            RoleSessionName="ss",
            SourceIdentity="al",
        )
    assert "sts:SetSourceIdentity" in err.value.message


def test_external_id_condition(runtime, iam):
    vendor = user("vendor", OTHER)
    iam.allow(vendor.arn, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    role = iam.add_role(
        "ext",
        trust({"AWS": OTHER}, condition={"StringEquals": {"sts:ExternalId": "secret-42"}}),
    )
    with pytest.raises(AwsError):
        call(runtime, vendor, "AssumeRole", RoleArn=role["Arn"], RoleSessionName="ss")
    with pytest.raises(AwsError):
        call(
            runtime,
            vendor,
            "AssumeRole",
            RoleArn=role["Arn"],
            RoleSessionName="ss",
            ExternalId="nope",
        )
    call(
        runtime,
        vendor,
        "AssumeRole",
        RoleArn=role["Arn"],
        RoleSessionName="ss",
        ExternalId="secret-42",
    )


def test_session_policy_narrows_the_role(runtime, iam):
    alice = user("alice")
    role = iam.add_role("reader", trust({"AWS": alice.arn}))
    iam.allow(
        role["Arn"], {"Effect": "Allow", "Action": ["iam:List*", "iam:Get*"], "Resource": "*"}
    )
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}],
        }
    )
    out = call(
        runtime, alice, "AssumeRole", RoleArn=role["Arn"], RoleSessionName="ss", Policy=policy
    )
    assert 0 < out["PackedPolicySize"] < 100
    session = session_principal(runtime, out["Credentials"])
    ctx = context(runtime, session, "GetCallerIdentity")
    ctx.authorize("iam:ListUsers", "arn:aws:iam::000000000000:user/")
    with pytest.raises(AwsError) as err:
        ctx.authorize("iam:GetUser", "arn:aws:iam::000000000000:user/x")
    assert err.value.message.endswith("because no session policy allows the iam:GetUser action")
    # Without a session policy the role's own permissions apply.
    plain = session_principal(
        runtime,
        call(runtime, alice, "AssumeRole", RoleArn=role["Arn"], RoleSessionName="pp")[
            "Credentials"
        ],
    )
    context(runtime, plain, "GetCallerIdentity").authorize(
        "iam:GetUser", "arn:aws:iam::000000000000:user/x"
    )


def test_managed_session_policy_by_arn(runtime, iam):
    alice = user("alice")
    role = iam.add_role("managed", trust({"AWS": alice.arn}))
    iam.allow(role["Arn"], {"Effect": "Allow", "Action": "iam:*", "Resource": "*"})
    arn = f"arn:aws:iam::{ACCOUNT}:policy/OnlyList"
    iam.managed[arn] = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}],
        }
    )
    out = call(
        runtime,
        alice,
        "AssumeRole",
        RoleArn=role["Arn"],
        RoleSessionName="ss",
        PolicyArns=[{"arn": arn}],
    )
    ctx = context(runtime, session_principal(runtime, out["Credentials"]), "GetCallerIdentity")
    ctx.authorize("iam:ListRoles")
    with pytest.raises(AwsError):
        ctx.authorize("iam:DeleteRole")
    with pytest.raises(AwsError) as err:
        call(
            runtime,
            alice,
            "AssumeRole",
            RoleArn=role["Arn"],
            RoleSessionName="ss",
            PolicyArns=[{"arn": f"arn:aws:iam::{ACCOUNT}:policy/Missing"}],
        )
    assert err.value.code == "MalformedPolicyDocument"


def test_malformed_and_too_large_session_policies(runtime, iam):
    alice = user("alice")
    role = iam.add_role("mal", trust({"AWS": alice.arn}))
    with pytest.raises(AwsError) as err:
        call(
            runtime,
            alice,
            "AssumeRole",
            RoleArn=role["Arn"],
            RoleSessionName="ss",
            Policy="{not json",
        )
    assert (err.value.code, err.value.message) == (
        "MalformedPolicyDocument",
        "Syntax errors in policy.",
    )
    with pytest.raises(AwsError) as err:
        call(
            runtime,
            alice,
            "AssumeRole",
            RoleArn=role["Arn"],
            RoleSessionName="ss",
            Policy=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]}
            ),
        )
    assert err.value.message == "Policy statement must contain resources."
    import random

    rng = random.Random(7)
    tags = [
        {
            "Key": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(128)),
            "Value": "".join(
                rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(256)
            ),
        }
        for _ in range(50)
    ]
    with pytest.raises(AwsError) as err:
        call(runtime, alice, "AssumeRole", RoleArn=role["Arn"], RoleSessionName="ss", Tags=tags)
    assert err.value.code == "PackedPolicyTooLarge"
    assert err.value.message.startswith("Packed policy consumes ")


def test_session_tags_need_tag_session_and_become_principal_tags(runtime, iam):
    alice = user("alice")
    plain = iam.add_role("tagless", trust({"AWS": alice.arn}))
    tags = [{"Key": "team", "Value": "blue"}, {"Key": "cost", "Value": "42"}]
    with pytest.raises(AwsError) as err:
        call(runtime, alice, "AssumeRole", RoleArn=plain["Arn"], RoleSessionName="ss", Tags=tags)
    assert "sts:TagSession" in err.value.message
    role = iam.add_role(
        "tagged",
        trust(
            {"AWS": alice.arn},
            "sts:AssumeRole",
            "sts:TagSession",
            condition={
                "StringEquals": {"aws:RequestTag/team": "blue"},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["team", "cost"]},
            },
        ),
        tags={"team": "role-default", "env": "dev"},
    )
    out = call(
        runtime,
        alice,
        "AssumeRole",
        RoleArn=role["Arn"],
        RoleSessionName="ss",
        Tags=tags,
        TransitiveTagKeys=["team"],
    )
    assert out["PackedPolicySize"] >= 1
    session = session_principal(runtime, out["Credentials"])
    keys = context(runtime, session, "GetCallerIdentity").condition_keys()
    assert keys["aws:PrincipalTag/team"] == "blue"  # the session tag overrides the role tag
    assert keys["aws:PrincipalTag/env"] == "dev"
    assert keys["aws:PrincipalTag/cost"] == "42"
    # A tag value the trust policy does not accept.
    with pytest.raises(AwsError):
        call(
            runtime,
            alice,
            "AssumeRole",
            RoleArn=role["Arn"],
            RoleSessionName="ss",
            Tags=[{"Key": "team", "Value": "red"}],
        )
    # Transitive tags pass on through role chaining and cannot be overridden.
    next_role = iam.add_role(
        "next", trust({"AWS": role["Arn"]}, "sts:AssumeRole", "sts:TagSession")
    )
    chained = call(runtime, session, "AssumeRole", RoleArn=next_role["Arn"], RoleSessionName="nn")
    chained_principal = session_principal(runtime, chained["Credentials"])
    assert chained_principal.session.tags == {"team": "blue"}
    assert chained_principal.session.transitive_tag_keys == ("team",)
    with pytest.raises(AwsError) as err:
        call(
            runtime,
            session,
            "AssumeRole",
            RoleArn=next_role["Arn"],
            RoleSessionName="nn",
            Tags=[{"Key": "team", "Value": "green"}],
        )
    assert err.value.code == "ValidationError"


def test_transitive_keys_must_be_tags(runtime, iam):
    alice = user("alice")
    role = iam.add_role("tk", trust({"AWS": alice.arn}, "sts:AssumeRole", "sts:TagSession"))
    with pytest.raises(AwsError) as err:
        call(
            runtime,
            alice,
            "AssumeRole",
            RoleArn=role["Arn"],
            RoleSessionName="ss",
            Tags=[{"Key": "a", "Value": "b"}],
            TransitiveTagKeys=["c"],
        )
    assert err.value.code == "ValidationError"


def test_mfa_sets_multifactor_auth_present(runtime, iam):
    alice = user("alice")
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/alice"
    iam.mfa[serial] = "123456"
    role = iam.add_role(
        "mfa", trust({"AWS": alice.arn}, condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    )
    with pytest.raises(AwsError):
        call(runtime, alice, "AssumeRole", RoleArn=role["Arn"], RoleSessionName="ss")
    with pytest.raises(AwsError) as err:
        call(
            runtime,
            alice,
            "AssumeRole",
            RoleArn=role["Arn"],
            RoleSessionName="ss",
            SerialNumber=serial,
            TokenCode="000000",
        )
    assert (
        err.value.message == "MultiFactorAuthentication failed with invalid MFA one time pass code."
    )
    out = call(
        runtime,
        alice,
        "AssumeRole",
        RoleArn=role["Arn"],
        RoleSessionName="ss",
        SerialNumber=serial,
        TokenCode="123456",
    )
    session = session_principal(runtime, out["Credentials"])
    keys = context(runtime, session, "GetCallerIdentity").condition_keys()
    assert keys["aws:MultiFactorAuthPresent"] is True
    assert keys["aws:MultiFactorAuthAge"] >= 0


def test_role_path_and_arn_must_match(runtime, iam):
    alice = user("alice")
    role = iam.add_role("pathed", trust({"AWS": alice.arn}), path="/team/")
    assert role["Arn"].endswith(":role/team/pathed")
    out = call(runtime, alice, "AssumeRole", RoleArn=role["Arn"], RoleSessionName="ss")
    # The assumed-role ARN carries no path.
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/pathed/ss"
    with pytest.raises(AwsError):
        call(
            runtime,
            alice,
            "AssumeRole",
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/pathed",
            RoleSessionName="ss",
        )


def test_federated_user_cannot_assume_role(runtime, iam):
    alice = user("alice")
    role = iam.add_role("fed", trust({"AWS": "*"}))
    iam.allow(alice.arn, {"Effect": "Allow", "Action": "sts:*", "Resource": "*"})
    fed = call(
        runtime,
        alice,
        "GetFederationToken",
        Name="fed-user",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    with pytest.raises(AwsError) as err:
        call(
            runtime,
            session_principal(runtime, fed["Credentials"]),
            "AssumeRole",
            RoleArn=role["Arn"],
            RoleSessionName="ss",
        )
    assert err.value.code == "AccessDenied"
