"""Login profiles, the account password policy, ChangePassword and virtual MFA devices."""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.request
from datetime import datetime

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from tests.iam_domain.helpers import ACCOUNT, error_of, unique, user_with_keys

GOOD = "Corr3ct-Horse!"


@pytest.fixture
def password_policy(server):
    """Run with a given account password policy; the policy is removed afterwards."""
    iam = server.client("iam")
    yield iam
    with contextlib.suppress(ClientError):
        iam.delete_account_password_policy()


def test_login_profile_lifecycle(server):
    iam = server.client("iam")
    name = unique("console")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as error:
        iam.get_login_profile(UserName=name)
    assert error_of(error) == (
        "NoSuchEntity",
        f"Login Profile for User {name} cannot be found.",
        404,
    )
    profile = iam.create_login_profile(UserName=name, Password=GOOD, PasswordResetRequired=True)[
        "LoginProfile"
    ]
    assert profile["UserName"] == name and profile["PasswordResetRequired"] is True
    assert "Password" not in profile
    with pytest.raises(ClientError) as error:
        iam.create_login_profile(UserName=name, Password=GOOD)
    assert error_of(error)[0::2] == ("EntityAlreadyExists", 409)
    iam.update_login_profile(UserName=name, PasswordResetRequired=False)
    assert iam.get_login_profile(UserName=name)["LoginProfile"]["PasswordResetRequired"] is False
    with pytest.raises(ClientError) as error:
        iam.delete_user(UserName=name)
    assert error_of(error) == (
        "DeleteConflict",
        "Cannot delete entity, must delete login profile first.",
        409,
    )
    iam.delete_login_profile(UserName=name)
    iam.delete_user(UserName=name)


def test_password_policy(server, password_policy):
    iam = password_policy
    with contextlib.suppress(ClientError):
        iam.delete_account_password_policy()
    with pytest.raises(ClientError) as error:
        iam.get_account_password_policy()
    assert error_of(error) == (
        "NoSuchEntity",
        f"The Password Policy with domain name {ACCOUNT} cannot be found.",
        404,
    )
    name = unique("pw")
    iam.create_user(UserName=name)
    # Without a policy, AWS's default applies: 8 characters, three character types.
    with pytest.raises(ClientError) as error:
        iam.create_login_profile(UserName=name, Password="password")
    assert error_of(error) == (
        "PasswordPolicyViolation",
        "Password does not conform to the account password policy.",
        400,
    )
    iam.update_account_password_policy(
        MinimumPasswordLength=14,
        RequireSymbols=True,
        RequireNumbers=True,
        MaxPasswordAge=90,
        PasswordReusePrevention=3,
        AllowUsersToChangePassword=True,
    )
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 14 and policy["RequireSymbols"] is True
    assert policy["ExpirePasswords"] is True and policy["MaxPasswordAge"] == 90
    assert policy["RequireUppercaseCharacters"] is False
    with pytest.raises(ClientError) as error:
        iam.create_login_profile(UserName=name, Password="Sh0rt!")
    assert error_of(error)[0] == "PasswordPolicyViolation"
    with pytest.raises(ClientError) as error:
        iam.create_login_profile(UserName=name, Password="longenoughbutnosymbol1")
    assert error_of(error)[0] == "PasswordPolicyViolation"
    iam.create_login_profile(UserName=name, Password="long-enough-and-1!")


def test_change_password(server, password_policy):
    iam = password_policy
    iam.update_account_password_policy(
        MinimumPasswordLength=8, AllowUsersToChangePassword=True, PasswordReusePrevention=2
    )
    name, own = user_with_keys(server, iam)
    iam.create_login_profile(UserName=name, Password=GOOD)
    with pytest.raises(ClientError) as error:
        own.change_password(OldPassword="wrong-one-1!", NewPassword="N3w-passw0rd!")
    assert error_of(error)[0] == "InvalidInput"
    own.change_password(OldPassword=GOOD, NewPassword="N3w-passw0rd!")
    with pytest.raises(ClientError) as error:  # reuse prevention
        own.change_password(OldPassword="N3w-passw0rd!", NewPassword=GOOD)
    assert error_of(error)[0] == "PasswordPolicyViolation"
    with pytest.raises(ClientError) as error:  # root is not an IAM user
        iam.change_password(OldPassword="x", NewPassword="y")
    assert error_of(error)[0] == "InvalidUserType"


def server_now(server) -> datetime:
    with urllib.request.urlopen(server.endpoint + "/_mamori/clock", timeout=5) as response:
        return datetime.fromisoformat(json.load(response)["now"].replace("Z", "+00:00"))


def codes(seed_text: bytes, now: datetime, steps=(-1, 0)) -> list[str]:
    totp = TOTP(base64.b32decode(seed_text), 6, SHA1(), 30, enforce_key_length=False)
    step = int(now.timestamp()) // 30
    return [totp.generate((step + s) * 30).decode() for s in steps]


def test_virtual_mfa_device(server):
    iam = server.client("iam")
    user, device_name = unique("mfauser"), unique("phone")
    iam.create_user(UserName=user)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=device_name)["VirtualMFADevice"]
    serial = device["SerialNumber"]
    assert serial == f"arn:aws:iam::{ACCOUNT}:mfa/{device_name}"
    seed = device["Base32StringSeed"]
    assert len(seed) == 64 and base64.b32decode(seed)
    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert serial in [d["SerialNumber"] for d in unassigned]

    now = server_now(server)
    with pytest.raises(ClientError) as error:
        iam.enable_mfa_device(
            UserName=user,
            SerialNumber=serial,
            AuthenticationCode1="123456",
            AuthenticationCode2="654321",
        )
    assert error_of(error)[0::2] == ("InvalidAuthenticationCode", 403)
    first, second = codes(seed, now)
    iam.enable_mfa_device(
        UserName=user, SerialNumber=serial, AuthenticationCode1=first, AuthenticationCode2=second
    )
    listed = iam.list_mfa_devices(UserName=user)["MFADevices"]
    assert [(d["UserName"], d["SerialNumber"]) for d in listed] == [(user, serial)]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    mine = next(d for d in assigned if d["SerialNumber"] == serial)
    assert mine["User"]["UserName"] == user and "Base32StringSeed" not in mine

    with pytest.raises(ClientError) as error:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert error_of(error)[0] == "DeleteConflict"
    with pytest.raises(ClientError) as error:
        iam.delete_user(UserName=user)
    assert error_of(error)[0] == "DeleteConflict"
    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    with pytest.raises(ClientError) as error:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert error_of(error)[0::2] == ("NoSuchEntity", 404)
    iam.delete_user(UserName=user)
