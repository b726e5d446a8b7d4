"""STS rules through boto3 against a live server: an MFA device proves only its own user's
presence, MinimumSessionTokenSize, and the query protocol's Version."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.e2e.sts_helpers import (
    allow,
    error_code,
    error_message,
    new_user,
    require_iam,
    server_now,
    session_client,
    totp,
    trust,
    unique,
)
from tests.e2e.test_sts_session_limits import enable_mfa

INVALID_MFA = "MultiFactorAuthentication failed with invalid MFA one time pass code."


@pytest.fixture
def iam(server):
    require_iam(server)
    return server.client("iam")


def current_step(server) -> int:
    return int(server_now(server).timestamp()) // 30


# SerialNumber must name a device of the caller


def test_get_session_token_refuses_another_users_mfa_device(server, iam):
    owner, _, _ = new_user(server)
    serial, seed = enable_mfa(server, iam, owner)
    _, _, mallory = new_user(server, allow("sts:*"))
    with pytest.raises(ClientError) as err:
        mallory("sts").get_session_token(
            SerialNumber=serial, TokenCode=totp(seed, current_step(server) + 1)
        )
    assert error_code(err) == "AccessDenied"
    assert error_message(err) == INVALID_MFA
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_assume_role_refuses_another_users_mfa_device(server, iam):
    owner, _, _ = new_user(server)
    serial, seed = enable_mfa(server, iam, owner)
    _, mallory_arn, mallory = new_user(server, allow("sts:AssumeRole"))
    role = iam.create_role(
        RoleName=unique("mfa-role"),
        AssumeRolePolicyDocument=trust(
            {"AWS": mallory_arn}, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        ),
    )["Role"]
    with pytest.raises(ClientError) as err:
        mallory("sts").assume_role(
            RoleArn=role["Arn"],
            RoleSessionName="borrowed-mfa",
            SerialNumber=serial,
            TokenCode=totp(seed, current_step(server) + 1),
        )
    assert error_code(err) == "AccessDenied"
    assert error_message(err) == INVALID_MFA


def test_a_role_session_owns_no_mfa_device(server, iam):
    owner, owner_arn, owner_client = new_user(server, allow("sts:AssumeRole"))
    serial, seed = enable_mfa(server, iam, owner)
    role = iam.create_role(
        RoleName=unique("mfa-chain"), AssumeRolePolicyDocument=trust({"AWS": owner_arn})
    )["Role"]
    creds = owner_client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="first")[
        "Credentials"
    ]
    with pytest.raises(ClientError) as err:
        session_client(server, creds, "sts").assume_role(
            RoleArn=role["Arn"],
            RoleSessionName="chained",
            SerialNumber=serial,
            TokenCode=totp(seed, current_step(server) + 1),
        )
    assert error_message(err) == INVALID_MFA


def test_the_device_owner_still_passes_mfa(server, iam):
    owner, _, owner_client = new_user(server)
    serial, seed = enable_mfa(server, iam, owner)
    creds = owner_client("sts").get_session_token(
        SerialNumber=serial, TokenCode=totp(seed, current_step(server) + 1)
    )["Credentials"]
    assert session_client(server, creds, "sts").get_caller_identity()["Arn"].endswith(owner)
