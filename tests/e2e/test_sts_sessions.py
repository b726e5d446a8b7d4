"""STS through boto3 against a live server: identities, AssumeRole and its trust policies,
session policies, expiry with time travel, GetSessionToken with MFA, federation tokens."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.e2e.sts_helpers import (
    allow,
    document,
    enable_mfa,
    error_code,
    error_message,
    new_user,
    require_iam,
    server_now,
    session_client,
    time_travel,
    totp,
    trust,
    unique,
)

ACCOUNT = "000000000000"


def make_role(iam, principal, *, actions="sts:AssumeRole", max_duration=None, **trust_extra):
    name = unique("sts-role")
    params = {
        "RoleName": name,
        "AssumeRolePolicyDocument": trust(principal, actions, **trust_extra),
    }
    if max_duration:
        params["MaxSessionDuration"] = max_duration
    return iam.create_role(**params)["Role"]


def test_caller_identity_of_every_identity_type(server, iam):
    sts = server.client("sts")
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    name, user_arn, client = new_user(server, allow(["sts:AssumeRole", "sts:GetFederationToken"]))
    me = client("sts").get_caller_identity()
    assert me["Arn"] == user_arn == f"arn:aws:iam::{ACCOUNT}:user/{name}"
    assert me["UserId"].startswith("AIDA") and me["Account"] == ACCOUNT

    role = make_role(iam, {"AWS": user_arn})
    out = client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="who-am-i")
    assumed = session_client(server, out["Credentials"], "sts").get_caller_identity()
    assert assumed["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['RoleName']}/who-am-i"
    assert assumed["UserId"] == f"{role['RoleId']}:who-am-i"
    assert assumed["UserId"].startswith("AROA")
    assert out["AssumedRoleUser"] == {"AssumedRoleId": assumed["UserId"], "Arn": assumed["Arn"]}

    fed = client("sts").get_federation_token(Name="fed-who")
    fed_me = session_client(server, fed["Credentials"], "sts").get_caller_identity()
    assert fed_me["Arn"] == f"arn:aws:sts::{ACCOUNT}:federated-user/fed-who"
    assert fed_me["UserId"] == f"{ACCOUNT}:fed-who"
    assert fed["FederatedUser"] == {"FederatedUserId": fed_me["UserId"], "Arn": fed_me["Arn"]}


def test_assume_role_allowed_and_denied_by_trust_policy(server, iam):
    _, trusted_arn, trusted = new_user(server)
    _, other_arn, other = new_user(server, allow("sts:AssumeRole"))
    role = make_role(iam, {"AWS": trusted_arn})
    # Trusted by ARN in the same account: no identity policy needed.
    out = trusted("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="ok-session")
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")
    # An identity policy alone does not get past a trust policy naming someone else.
    with pytest.raises(ClientError) as err:
        other("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="no-session")
    assert error_code(err) == "AccessDenied"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error_message(err).startswith(
        f"User: {other_arn} is not authorized to perform: sts:AssumeRole on resource: {role['Arn']}"
    )
    # A role that does not exist: the same AccessDenied.
    with pytest.raises(ClientError) as err:
        trusted("sts").assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{unique('missing')}", RoleSessionName="xx"
        )
    assert error_code(err) == "AccessDenied"


def test_account_trust_needs_the_identity_policy(server, iam):
    role = make_role(iam, {"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    _, _, without = new_user(server)
    _, _, with_policy = new_user(server, allow("sts:AssumeRole", role["Arn"]))
    with pytest.raises(ClientError) as err:
        without("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="nope")
    assert "because no identity-based policy allows the sts:AssumeRole action" in error_message(err)
    with_policy("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="yes")


def test_assumed_role_credentials_expire(server, iam):
    _, user_arn, client = new_user(server)
    role = make_role(iam, {"AWS": user_arn})
    iam.put_role_policy(
        RoleName=role["RoleName"], PolicyName="list", PolicyDocument=document(allow("iam:List*"))
    )
    out = client("sts").assume_role(
        RoleArn=role["Arn"], RoleSessionName="short", DurationSeconds=900
    )
    expiration = out["Credentials"]["Expiration"]
    assert 890 <= (expiration - server_now(server)).total_seconds() <= 900
    role_iam = session_client(server, out["Credentials"], "iam")
    role_sts = session_client(server, out["Credentials"], "sts")
    role_iam.list_users(MaxItems=1)
    assert role_sts.get_caller_identity()["Arn"].endswith("/short")
    time_travel(server, 901)
    with pytest.raises(ClientError) as err:
        role_sts.get_caller_identity()
    assert error_code(err) == "ExpiredToken"
    with pytest.raises(ClientError) as err:
        role_iam.list_users(MaxItems=1)
    assert error_code(err) == "ExpiredToken"


def test_session_policy_narrows_the_role(server, iam):
    _, user_arn, client = new_user(server)
    role = make_role(iam, {"AWS": user_arn})
    iam.put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="read",
        PolicyDocument=document(allow(["iam:List*", "iam:Get*"])),
    )
    out = client("sts").assume_role(
        RoleArn=role["Arn"],
        RoleSessionName="narrow",
        Policy=document(allow("iam:ListUsers")),
    )
    assert 0 < out["PackedPolicySize"] <= 100
    narrowed = session_client(server, out["Credentials"], "iam")
    narrowed.list_users(MaxItems=1)
    with pytest.raises(ClientError) as err:
        narrowed.get_user(UserName=user_arn.rsplit("/", 1)[1])
    assert error_code(err) == "AccessDenied"
    assert error_message(err).endswith("because no session policy allows the iam:GetUser action")
    # The same role without a session policy may GetUser.
    full = client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="full")
    session_client(server, full["Credentials"], "iam").get_user(UserName=user_arn.rsplit("/", 1)[1])


def test_malformed_session_policy(server, iam):
    _, user_arn, client = new_user(server)
    role = make_role(iam, {"AWS": user_arn})
    with pytest.raises(ClientError) as err:
        client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="bad", Policy="{nope")
    assert error_code(err) == "MalformedPolicyDocument"
    assert error_message(err) == "Syntax errors in policy."


def test_root_cannot_assume_a_role(server, iam):
    role = make_role(iam, {"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    with pytest.raises(ClientError) as err:
        server.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="root-try")
    assert error_code(err) == "AccessDenied"
    assert error_message(err) == "Roles may not be assumed by root accounts."


def test_duration_limits(server, iam):
    _, user_arn, client = new_user(server)
    role = make_role(iam, {"AWS": user_arn}, max_duration=7200)
    sts = client("sts")
    out = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="long", DurationSeconds=7200)
    remaining = (out["Credentials"]["Expiration"] - server_now(server)).total_seconds()
    assert 7190 <= remaining <= 7200
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="longer", DurationSeconds=7201)
    assert error_code(err) == "ValidationError"
    assert error_message(err) == (
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    )
    # Below the model's minimum: botocore would refuse it before sending; the server too.
    unchecked = client("sts", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as err:
        unchecked.assume_role(RoleArn=role["Arn"], RoleSessionName="short", DurationSeconds=899)
    assert error_code(err) == "ValidationError"
    # Role chaining: one hour at most.
    second = make_role(iam, {"AWS": role["Arn"]}, max_duration=43200)
    chained_sts = session_client(server, out["Credentials"], "sts")
    with pytest.raises(ClientError) as err:
        chained_sts.assume_role(
            RoleArn=second["Arn"], RoleSessionName="chain", DurationSeconds=3601
        )
    assert "1 hour session limit for roles assumed by role chaining" in error_message(err)
    chained_sts.assume_role(RoleArn=second["Arn"], RoleSessionName="chain")


def test_session_token_with_mfa_satisfies_multifactor_condition(server, iam):
    require_iam(server, "list_virtual_mfa_devices")
    name, user_arn, client = new_user(
        server,
        allow(
            "iam:ListRoles",
            Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        ),
    )
    serial, seed = enable_mfa(server, iam, name)
    step = int(server_now(server).timestamp()) // 30  # the codes used to enable it are spent
    with pytest.raises(ClientError) as err:
        client("iam").list_roles()
    assert error_code(err) == "AccessDenied"
    plain = client("sts").get_session_token(DurationSeconds=900)
    with pytest.raises(ClientError):
        session_client(server, plain["Credentials"], "iam").list_roles()
    with pytest.raises(ClientError) as err:
        client("sts").get_session_token(SerialNumber=serial, TokenCode="000000")
    assert error_code(err) == "AccessDenied"
    out = client("sts").get_session_token(SerialNumber=serial, TokenCode=totp(seed, step + 1))
    mfa_session = session_client(server, out["Credentials"], "iam")
    mfa_session.list_roles()
    me = session_client(server, out["Credentials"], "sts").get_caller_identity()
    assert me["Arn"] == user_arn
    # Session credentials may not get another session token.
    with pytest.raises(ClientError) as err:
        session_client(server, out["Credentials"], "sts").get_session_token()
    assert error_code(err) == "AccessDenied"


def test_federated_user_needs_a_session_policy(server, iam):
    _, _, client = new_user(server, allow(["sts:GetFederationToken", "kms:ListKeys"]))
    bare = client("sts").get_federation_token(Name=unique("fed")[:32])
    with pytest.raises(ClientError) as err:
        session_client(server, bare["Credentials"], "kms").list_keys()
    assert "no session policy allows" in error_message(err)
    scoped = client("sts").get_federation_token(
        Name=unique("fed")[:32], Policy=document(allow("kms:*")), DurationSeconds=900
    )
    session_client(server, scoped["Credentials"], "kms").list_keys(Limit=1)
    # Anything beyond the user's own policy stays denied.
    with pytest.raises(ClientError) as err:
        session_client(server, scoped["Credentials"], "kms").list_aliases()
    assert "no identity-based policy allows" in error_message(err)


def test_access_key_info_and_authorization_messages(server, iam):
    sts = server.client("sts")
    _, _, client = new_user(server)
    key = client("sts")._request_signer._credentials.access_key
    assert sts.get_access_key_info(AccessKeyId=key)["Account"] == ACCOUNT
    assert sts.get_access_key_info(AccessKeyId="AKIAUNKNOWNKEY000000")["Account"] == ACCOUNT
    with pytest.raises(ClientError) as err:
        sts.decode_authorization_message(EncodedMessage="not-a-mamori-message")
    assert error_code(err) == "InvalidAuthorizationMessageException"
    with pytest.raises(ClientError) as err:
        client("sts").decode_authorization_message(EncodedMessage="whatever")
    assert error_code(err) == "AccessDenied"


def test_session_tags_become_principal_tags(server, iam):
    _, user_arn, client = new_user(server)
    role = make_role(iam, {"AWS": user_arn}, actions=["sts:AssumeRole", "sts:TagSession"])
    iam.put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="by-tag",
        PolicyDocument=document(
            allow("iam:ListUsers", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}})
        ),
    )
    blue = client("sts").assume_role(
        RoleArn=role["Arn"], RoleSessionName="blue", Tags=[{"Key": "team", "Value": "blue"}]
    )
    red = client("sts").assume_role(
        RoleArn=role["Arn"], RoleSessionName="red", Tags=[{"Key": "team", "Value": "red"}]
    )
    session_client(server, blue["Credentials"], "iam").list_users(MaxItems=1)
    with pytest.raises(ClientError):
        session_client(server, red["Credentials"], "iam").list_users(MaxItems=1)
    # Without sts:TagSession in the trust policy, tags are refused.
    plain = make_role(iam, {"AWS": user_arn})
    with pytest.raises(ClientError) as err:
        client("sts").assume_role(
            RoleArn=plain["Arn"], RoleSessionName="tagged", Tags=[{"Key": "a", "Value": "b"}]
        )
    assert "sts:TagSession" in error_message(err)


def test_cross_account_role_needs_both_trust_and_identity_policy(server):
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "mamori.cli",
            "accounts",
            "create",
            "--data-dir",
            str(server.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    other = json.loads(created.stdout)
    other_iam = make_client(
        server.endpoint,
        "iam",
        aws_access_key_id=other["AccessKeyId"],
        aws_secret_access_key=other["SecretAccessKey"],
    )
    trusted = other_iam.create_role(
        RoleName=unique("shared"), AssumeRolePolicyDocument=trust({"AWS": "000000000000"})
    )["Role"]
    other_iam.put_role_policy(
        RoleName=trusted["RoleName"],
        PolicyName="read",
        PolicyDocument=document(allow("iam:ListUsers")),
    )
    other_iam.create_user(UserName="lives-in-other-account")
    untrusted = other_iam.create_role(
        RoleName=unique("closed"), AssumeRolePolicyDocument=trust({"AWS": "111111111111"})
    )["Role"]

    # Trusted by the other account, but no identity policy of the caller allows it.
    _, _, nobody = new_user(server)
    with pytest.raises(ClientError) as err:
        nobody("sts").assume_role(RoleArn=trusted["Arn"], RoleSessionName="xx")
    assert error_code(err) == "AccessDenied"
    # Both sides allow: the session acts inside the other account.
    _, _, caller = new_user(server, allow("sts:AssumeRole", [trusted["Arn"], untrusted["Arn"]]))
    session = caller("sts").assume_role(RoleArn=trusted["Arn"], RoleSessionName="cross")
    identity = session_client(server, session["Credentials"], "sts").get_caller_identity()
    assert identity["Account"] == other["AccountId"]
    users = session_client(server, session["Credentials"], "iam").list_users()["Users"]
    assert "lives-in-other-account" in {u["UserName"] for u in users}
    # Identity policy allows, but the role's trust policy names another account.
    with pytest.raises(ClientError) as err:
        caller("sts").assume_role(RoleArn=untrusted["Arn"], RoleSessionName="xx")
    assert error_code(err) == "AccessDenied"


def test_json_document_roundtrip_sanity():
    assert json.loads(trust({"AWS": "*"}))["Statement"][0]["Action"] == "sts:AssumeRole"
