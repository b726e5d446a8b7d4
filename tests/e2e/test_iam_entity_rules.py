"""IAM's rules for entities and their attributes: password character classes, password expiry,
login profiles, tags, the account alias and the account's quotas."""

from __future__ import annotations

import contextlib

import pytest
from botocore.exceptions import ClientError

from tests.iam_domain.helpers import error_of, unique

VIOLATION = (
    "PasswordPolicyViolation",
    "Password does not conform to the account password policy.",
    400,
)


@pytest.fixture
def iam(server):
    """The root user's IAM client; any account password policy set is removed afterwards."""
    client = server.client("iam")
    yield client
    with contextlib.suppress(ClientError):
        client.delete_account_password_policy()


@pytest.mark.parametrize(
    "password",
    [
        "École-école-1!",  # no ASCII uppercase: É is not A to Z
        "ECOLE-ÉCOLß-1!",  # no ASCII lowercase: ß is not a to z
        "Ecole-ecole-²!",  # no number: ² is not 0 to 9
    ],
)
def test_password_character_classes_are_ascii(iam, password):
    iam.update_account_password_policy(
        MinimumPasswordLength=8,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        RequireNumbers=True,
        RequireSymbols=True,
    )
    name = unique("ascii")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as error:
        iam.create_login_profile(UserName=name, Password=password)
    assert error_of(error) == VIOLATION
    iam.create_login_profile(UserName=name, Password="Ecole-ecole-1!")
    with pytest.raises(ClientError) as error:
        iam.update_login_profile(UserName=name, Password=password)
    assert error_of(error) == VIOLATION


def test_default_policy_counts_only_ascii_character_types(iam):
    with contextlib.suppress(ClientError):
        iam.delete_account_password_policy()
    name = unique("default")
    iam.create_user(UserName=name)
    # Three "types" only if É, ß and ² counted: AWS's default policy refuses it.
    with pytest.raises(ClientError) as error:
        iam.create_login_profile(UserName=name, Password="ÉÉÉßßß²²")
    assert error_of(error) == VIOLATION


def test_create_login_profile_requires_a_password(iam):
    name = unique("nopw")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as error:
        iam.create_login_profile(UserName=name)
    assert error_of(error) == (
        "ValidationError",
        "1 validation error detected: Value null at 'password' failed to satisfy constraint: "
        "Member must not be null",
        400,
    )
    with pytest.raises(ClientError) as error:
        iam.get_login_profile(UserName=name)
    assert error_of(error)[0] == "NoSuchEntity"


def test_tag_key_and_value_patterns_are_enforced(iam):
    name = unique("tagpat")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as error:
        iam.tag_user(UserName=name, Tags=[{"Key": "a*b#c", "Value": "ok"}])
    assert error_of(error) == (
        "ValidationError",
        "1 validation error detected: Value 'a*b#c' at 'tags.1.member.key' failed to satisfy "
        r"constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+",
        400,
    )
    with pytest.raises(ClientError) as error:
        iam.tag_user(UserName=name, Tags=[{"Key": "ok", "Value": "<x>"}])
    assert error_of(error)[0::2] == ("ValidationError", 400)
    assert "'tags.1.member.value'" in error_of(error)[1]
    iam.tag_user(UserName=name, Tags=[{"Key": "Équipe 1", "Value": "café:x/y=z+@-_."}])
    assert iam.list_user_tags(UserName=name)["Tags"] == [
        {"Key": "Équipe 1", "Value": "café:x/y=z+@-_."}
    ]

