"""What temporary credentials may call, through boto3 against a live server: the limits AWS puts
on GetSessionToken and GetFederationToken credentials (no IAM, almost no STS), MFA condition
keys of long-term keys, and federation tokens of the root user."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.e2e.sts_helpers import (
    allow,
    document,
    enable_mfa,
    error_code,
    error_message,
    new_user,
    server_now,
    session_client,
    totp,
    trust,
    unique,
)

ACCOUNT = "000000000000"
IAM_INVALID_TOKEN = "The security token included in the request is invalid"


def refused_by_iam(server, credentials) -> ClientError:
    with pytest.raises(ClientError) as err:
        session_client(server, credentials, "iam").list_users(MaxItems=1)
    response = err.value.response
    assert response["Error"]["Code"] == "InvalidClientTokenId"
    assert response["Error"]["Message"] == IAM_INVALID_TOKEN
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return err.value


def sts_refuses(server, credentials, method: str, operation: str, **params) -> None:
    with pytest.raises(ClientError) as err:
        getattr(session_client(server, credentials, "sts"), method)(**params)
    assert error_code(err) == "AccessDenied"
    assert error_message(err) == f"Cannot call {operation} with session credentials"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def journaled(server, event_name: str, request_id: str, timeout: float = 2.0) -> dict:
    """The CloudTrail record of one call."""
    trail = server.client("cloudtrail")
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        page = trail.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": event_name}]
        )
        for event in page["Events"]:
            record = json.loads(event["CloudTrailEvent"])
            if record["requestID"] == request_id:
                return record
        time.sleep(0.05)
    pytest.fail(f"no {event_name} record with request id {request_id}")


# GetSessionToken


def test_session_token_without_mfa_cannot_call_iam_nor_most_of_sts(server, iam):
    _, user_arn, client = new_user(server, allow(["iam:*", "sts:*", "kms:*"]))
    creds = client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    denied = refused_by_iam(server, creds)
    # The refusal is journaled like any other denied call, under the caller's identity.
    record = journaled(server, "ListUsers", denied.response["ResponseMetadata"]["RequestId"])
    assert record["errorCode"] == "InvalidClientTokenId"
    assert record["userIdentity"]["arn"] == user_arn
    assert record["userIdentity"]["accessKeyId"] == creds["AccessKeyId"]
    # Other services follow the user's policies.
    session_client(server, creds, "kms").list_keys(Limit=1)
    # Of STS: GetCallerIdentity and AssumeRole only.
    assert session_client(server, creds, "sts").get_caller_identity()["Arn"] == user_arn
    role = iam.create_role(
        RoleName=unique("gst-role"), AssumeRolePolicyDocument=trust({"AWS": user_arn})
    )
    session_client(server, creds, "sts").assume_role(
        RoleArn=role["Role"]["Arn"], RoleSessionName="from-gst"
    )
    key = client("sts")._request_signer._credentials.access_key
    sts_refuses(server, creds, "get_access_key_info", "GetAccessKeyInfo", AccessKeyId=key)
    sts_refuses(
        server,
        creds,
        "decode_authorization_message",
        "DecodeAuthorizationMessage",
        EncodedMessage="whatever",
    )
    sts_refuses(server, creds, "get_federation_token", "GetFederationToken", Name="fed")
    sts_refuses(server, creds, "get_session_token", "GetSessionToken")


def test_session_token_with_mfa_may_call_iam_but_not_more_of_sts(server, iam):
    name, _, client = new_user(server, allow(["iam:*", "sts:*"]))
    serial, seed = enable_mfa(server, iam, name)
    step = int(server_now(server).timestamp()) // 30
    creds = client("sts").get_session_token(SerialNumber=serial, TokenCode=totp(seed, step + 1))[
        "Credentials"
    ]
    users = session_client(server, creds, "iam").list_users()["Users"]
    assert name in {user["UserName"] for user in users}
    key = client("sts")._request_signer._credentials.access_key
    sts_refuses(server, creds, "get_access_key_info", "GetAccessKeyInfo", AccessKeyId=key)


def test_root_session_token_without_mfa_cannot_call_iam(server):
    creds = server.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    refused_by_iam(server, creds)
    assert session_client(server, creds, "sts").get_caller_identity()["Arn"] == (
        f"arn:aws:iam::{ACCOUNT}:root"
    )


# GetFederationToken


def test_federation_token_cannot_call_iam_nor_sts_but_identity(server, iam):
    _, _, client = new_user(server, allow(["iam:*", "sts:*", "kms:*"]))
    name = unique("fed")[:32]
    creds = client("sts").get_federation_token(Name=name, Policy=document(allow("*")))[
        "Credentials"
    ]
    refused_by_iam(server, creds)
    session_client(server, creds, "kms").list_keys(Limit=1)
    identity = session_client(server, creds, "sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:federated-user/{name}"
    role = iam.create_role(
        RoleName=unique("fed-role"), AssumeRolePolicyDocument=trust({"AWS": "*"})
    )
    sts_refuses(
        server,
        creds,
        "assume_role",
        "AssumeRole",
        RoleArn=role["Role"]["Arn"],
        RoleSessionName="from-fed",
    )
    key = client("sts")._request_signer._credentials.access_key
    sts_refuses(server, creds, "get_access_key_info", "GetAccessKeyInfo", AccessKeyId=key)
    sts_refuses(server, creds, "get_federation_token", "GetFederationToken", Name="again")


def test_role_sessions_keep_iam_and_sts(server, iam):
    _, user_arn, client = new_user(server)
    role = iam.create_role(
        RoleName=unique("plain-role"), AssumeRolePolicyDocument=trust({"AWS": user_arn})
    )["Role"]
    iam.put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="p",
        PolicyDocument=document(allow(["iam:ListUsers", "sts:GetAccessKeyInfo"])),
    )
    creds = client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="plain")["Credentials"]
    session_client(server, creds, "iam").list_users(MaxItems=1)
    key = client("sts")._request_signer._credentials.access_key
    session_client(server, creds, "sts").get_access_key_info(AccessKeyId=key)
    sts_refuses(server, creds, "get_session_token", "GetSessionToken")
    sts_refuses(server, creds, "get_federation_token", "GetFederationToken", Name="fed")


# aws:MultiFactorAuthPresent


def mfa_denied_for(condition_operator: str) -> dict:
    return {
        "Effect": "Deny",
        "Action": "iam:ListUsers",
        "Resource": "*",
        "Condition": {condition_operator: {"aws:MultiFactorAuthPresent": "false"}},
    }


def test_long_term_keys_have_no_multifactor_auth_present_key(server, iam):
    # Bool on an absent key does not match: the deny does not apply to long-term keys...
    _, _, bool_client = new_user(server, allow("iam:ListUsers"), mfa_denied_for("Bool"))
    bool_client("iam").list_users(MaxItems=1)
    # ... while BoolIfExists does.
    _, _, if_exists_client = new_user(
        server, allow("iam:ListUsers"), mfa_denied_for("BoolIfExists")
    )
    with pytest.raises(ClientError) as err:
        if_exists_client("iam").list_users(MaxItems=1)
    assert error_code(err) == "AccessDenied"
    assert "with an explicit deny in an identity-based policy" in error_message(err)
    # Neither key exists for long-term keys; aws:MultiFactorAuthAge only comes with MFA.
    _, _, null_client = new_user(
        server,
        allow(
            "iam:ListUsers",
            Condition={
                "Null": {"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "true"}
            },
        ),
    )
    null_client("iam").list_users(MaxItems=1)


def test_root_long_term_keys_have_no_multifactor_auth_present_key(server):
    kms = server.client("kms")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
            },
        ],
    }
    key_id = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["KeyId"]
    kms.describe_key(KeyId=key_id)
    # A session without MFA has the key, with false: the deny applies.
    creds = server.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    with pytest.raises(ClientError) as err:
        session_client(server, creds, "kms").describe_key(KeyId=key_id)
    assert error_code(err) == "AccessDeniedException"


# GetFederationToken called by the root user


def test_root_federation_token_is_limited_by_its_session_policy_only(server):
    sts = server.client("sts")
    kms = server.client("kms")
    scoped = sts.get_federation_token(Name=unique("rootfed")[:32], Policy=document(allow("kms:*")))[
        "Credentials"
    ]
    fed_kms = session_client(server, scoped, "kms")
    fed_kms.list_keys(Limit=1)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]  # AWS's default key policy
    assert fed_kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id
    # Outside the session policy: denied.
    with pytest.raises(ClientError) as err:
        session_client(server, scoped, "cloudtrail").describe_trails()
    assert "no session policy allows" in error_message(err)
    # Resource policies still apply: an explicit deny for the federated user.
    fed_arn = session_client(server, scoped, "sts").get_caller_identity()["Arn"]
    root_only = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}
    denying = kms.create_key(
        Policy=document(
            {**root_only, "Action": "kms:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Principal": {"AWS": fed_arn},
                "Action": "kms:DescribeKey",
                "Resource": "*",
            },
        )
    )["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as err:
        fed_kms.describe_key(KeyId=denying)
    assert "explicit deny in a resource-based policy" in error_message(err)
    # A key policy that names neither the account nor the federated user allows it nothing.
    _, user_arn, _ = new_user(server)
    elsewhere = kms.create_key(
        Policy=document(
            {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "kms:*", "Resource": "*"}
        ),
        BypassPolicyLockoutSafetyCheck=True,
    )["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as err:
        fed_kms.describe_key(KeyId=elsewhere)
    assert error_code(err) == "AccessDeniedException"
    # The restrictions of federation tokens still hold.
    refused_by_iam(server, scoped)
    # Without a session policy the federated user may do nothing.
    bare = sts.get_federation_token(Name=unique("rootfed")[:32])["Credentials"]
    with pytest.raises(ClientError) as err:
        session_client(server, bare, "kms").list_keys(Limit=1)
    assert "no session policy allows" in error_message(err)
