"""Key policies, IAM policies, KMS condition keys, grants and cross-account use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.e2e.sts_helpers import allow, new_user


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def key_policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ROOT_ADMIN = {
    "Sid": "root",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def test_default_policy_delegates_to_iam(server):
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    _, _, nobody = new_user(server)
    with pytest.raises(ClientError) as error:
        nobody("kms").encrypt(KeyId=key, Plaintext=b"x")
    assert code(error) == "AccessDeniedException"
    assert (
        "is not authorized to perform: kms:Encrypt on resource: " + key
        in (error.value.response["Error"]["Message"])
    )
    _, _, user = new_user(server, allow(["kms:Encrypt", "kms:Decrypt"], key))
    blob = user("kms").encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    assert user("kms").decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    with pytest.raises(ClientError) as error:
        user("kms").describe_key(KeyId=key)
    assert code(error) == "AccessDeniedException"


def test_key_policy_naming_a_user_needs_no_iam_policy_and_conditions_apply(server):
    kms = server.client("kms")
    _, user_arn, user = new_user(server)
    policy = key_policy(
        ROOT_ADMIN,
        {
            "Effect": "Allow",
            "Principal": {"AWS": user_arn},
            "Action": ["kms:Encrypt", "kms:Decrypt"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:EncryptionContext:team": "blue"}},
        },
    )
    key = kms.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    client = user("kms")
    blob = client.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"team": "blue"})
    assert (
        client.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"team": "blue"})[
            "Plaintext"
        ]
        == b"x"
    )
    with pytest.raises(ClientError) as error:
        client.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"team": "red"})
    assert code(error) == "AccessDeniedException"


def test_explicit_deny_in_key_policy_beats_iam_allow_and_grants(server):
    kms = server.client("kms")
    _, user_arn, user = new_user(server, allow("kms:*"))
    policy = key_policy(
        ROOT_ADMIN,
        {
            "Effect": "Deny",
            "Principal": {"AWS": user_arn},
            "Action": "kms:Decrypt",
            "Resource": "*",
        },
    )
    key = kms.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=key, GranteePrincipal=user_arn, Operations=["Decrypt"])
    blob = user("kms").encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(ClientError) as error:
        user("kms").decrypt(CiphertextBlob=blob)
    assert code(error) == "AccessDeniedException"
    assert "explicit deny" in error.value.response["Error"]["Message"]


def test_grants_allow_their_operations_at_once_and_can_be_retired_or_revoked(server):
    kms = server.client("kms")
    _, user_arn, user = new_user(server)
    _, retirer_arn, retirer = new_user(server)
    key = kms.create_key()["KeyMetadata"]
    client = user("kms")
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"a": "1"})
    with pytest.raises(ClientError):
        client.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"a": "1"})
    grant = kms.create_grant(
        KeyId=key["KeyId"],
        GranteePrincipal=user_arn,
        RetiringPrincipal=retirer_arn,
        Operations=["Decrypt", "Encrypt"],
        Constraints={"EncryptionContextSubset": {"a": "1"}},
        Name="g1",
    )
    # Honoured immediately, with the grant token or without.
    out = client.decrypt(
        CiphertextBlob=blob["CiphertextBlob"],
        EncryptionContext={"a": "1"},
        GrantTokens=[grant["GrantToken"]],
    )
    assert out["Plaintext"] == b"x"
    client.encrypt(KeyId=key["Arn"], Plaintext=b"y", EncryptionContext={"a": "1", "b": "2"})
    # Constraints are enforced; operations outside the grant are not allowed.
    with pytest.raises(ClientError) as error:
        client.encrypt(KeyId=key["Arn"], Plaintext=b"y", EncryptionContext={"a": "2"})
    assert code(error) == "AccessDeniedException"
    with pytest.raises(ClientError):
        client.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256", EncryptionContext={"a": "1"})
    listed = kms.list_grants(KeyId=key["KeyId"])["Grants"]
    assert [g["GrantId"] for g in listed] == [grant["GrantId"]]
    assert listed[0]["GranteePrincipal"] == user_arn and listed[0]["Name"] == "g1"
    assert listed[0]["Constraints"] == {"EncryptionContextSubset": {"a": "1"}}
    retirable = kms.list_retirable_grants(RetiringPrincipal=retirer_arn)["Grants"]
    assert [g["GrantId"] for g in retirable] == [grant["GrantId"]]
    # Same name and parameters: the same grant (idempotent).
    same = kms.create_grant(
        KeyId=key["KeyId"],
        GranteePrincipal=user_arn,
        RetiringPrincipal=retirer_arn,
        Operations=["Decrypt", "Encrypt"],
        Constraints={"EncryptionContextSubset": {"a": "1"}},
        Name="g1",
    )
    assert same["GrantId"] == grant["GrantId"]
    retirer("kms").retire_grant(GrantToken=grant["GrantToken"])
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []
    with pytest.raises(ClientError) as error:
        client.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"a": "1"})
    assert code(error) == "AccessDeniedException"
    second = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=user_arn, Operations=["Encrypt"])
    client.encrypt(KeyId=key["Arn"], Plaintext=b"z")
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=second["GrantId"])
    with pytest.raises(ClientError):
        client.encrypt(KeyId=key["Arn"], Plaintext=b"z")
    with pytest.raises(ClientError) as error:
        kms.revoke_grant(KeyId=key["KeyId"], GrantId=second["GrantId"])
    assert code(error) == "NotFoundException"


def test_condition_keys_key_spec_and_via_service(server):
    kms = server.client("kms")
    _, _, user = new_user(
        server,
        allow("kms:Encrypt", "*", Condition={"StringEquals": {"kms:KeySpec": "SYMMETRIC_DEFAULT"}}),
        allow(
            "kms:Decrypt",
            "*",
            Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        ),
    )
    key = kms.create_key()["KeyMetadata"]["Arn"]
    blob = user("kms").encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(ClientError) as error:
        user("kms").decrypt(CiphertextBlob=blob)  # not via S3
    assert code(error) == "AccessDeniedException"


def _other_account(server) -> dict:
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
    return json.loads(created.stdout)


def test_cross_account_needs_key_policy_and_identity_policy(server):
    other = _other_account(server)
    other_root = dict(
        aws_access_key_id=other["AccessKeyId"], aws_secret_access_key=other["SecretAccessKey"]
    )
    other_iam = make_client(server.endpoint, "iam", **other_root)
    other_iam.create_user(UserName="partner")
    access = other_iam.create_access_key(UserName="partner")["AccessKey"]
    partner = make_client(
        server.endpoint,
        "kms",
        aws_access_key_id=access["AccessKeyId"],
        aws_secret_access_key=access["SecretAccessKey"],
    )
    kms = server.client("kms")
    plain_key = kms.create_key()["KeyMetadata"]["Arn"]
    shared_key = kms.create_key(
        Policy=key_policy(
            ROOT_ADMIN,
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{other['AccountId']}:root"},
                "Action": ["kms:Decrypt", "kms:Encrypt"],
                "Resource": "*",
            },
        )
    )["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=shared_key, Plaintext=b"shared")["CiphertextBlob"]
    # Key policy names the account, but the partner's identity policy does not allow yet.
    with pytest.raises(ClientError) as error:
        partner.decrypt(CiphertextBlob=blob)
    assert code(error) == "AccessDeniedException"
    other_iam.put_user_policy(
        UserName="partner",
        PolicyName="use-keys",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [allow(["kms:Decrypt", "kms:Encrypt"], "*")]}
        ),
    )
    assert partner.decrypt(CiphertextBlob=blob)["Plaintext"] == b"shared"
    partner.encrypt(KeyId=shared_key, Plaintext=b"from partner")
    # A key whose policy does not name the other account stays closed to it.
    with pytest.raises(ClientError) as error:
        partner.encrypt(KeyId=plain_key, Plaintext=b"x")
    assert code(error) == "AccessDeniedException"


GRANTEE = "arn:aws:iam::000000000000:user/grantee"


@pytest.mark.parametrize(
    ("spec", "usage", "refused", "allowed"),
    [
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", ["Sign"], ["GenerateDataKey", "DescribeKey"]),
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", ["GenerateMac"], ["ReEncryptFrom"]),
        ("RSA_2048", "SIGN_VERIFY", ["GenerateDataKey"], ["Sign", "GetPublicKey"]),
        ("RSA_2048", "ENCRYPT_DECRYPT", ["Sign"], ["Decrypt", "GetPublicKey"]),
        ("ECC_NIST_P256", "KEY_AGREEMENT", ["Sign"], ["DeriveSharedSecret", "RetireGrant"]),
        ("HMAC_256", "GENERATE_VERIFY_MAC", ["Encrypt"], ["GenerateMac", "VerifyMac"]),
    ],
)
def test_grant_operations_must_suit_the_key_type(server, spec, usage, refused, allowed):
    kms = server.client("kms")
    key = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as error:
        kms.create_grant(KeyId=key, GranteePrincipal=GRANTEE, Operations=refused + allowed)
    assert code(error) == "ValidationException"
    assert kms.list_grants(KeyId=key)["Grants"] == []
    kms.create_grant(KeyId=key, GranteePrincipal=GRANTEE, Operations=allowed)


@pytest.mark.parametrize(
    ("spec", "usage", "operations"),
    [
        ("RSA_2048", "ENCRYPT_DECRYPT", ["Encrypt", "Decrypt"]),
        ("RSA_2048", "SIGN_VERIFY", ["Sign"]),
        ("HMAC_256", "GENERATE_VERIFY_MAC", ["GenerateMac"]),
    ],
)
def test_no_encryption_context_constraint_for_asymmetric_or_hmac_operations(
    server, spec, usage, operations
):
    kms = server.client("kms")
    key = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as error:
        kms.create_grant(
            KeyId=key,
            GranteePrincipal=GRANTEE,
            Operations=operations,
            Constraints={"EncryptionContextEquals": {"a": "b"}},
        )
    assert code(error) == "ValidationException"
    assert kms.list_grants(KeyId=key)["Grants"] == []


def test_constrained_grant_may_include_describe_key_and_retire_grant_unconstrained(server):
    kms = server.client("kms")
    _, user_arn, user = new_user(server)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    grant = kms.create_grant(
        KeyId=key,
        GranteePrincipal=user_arn,
        Operations=["Decrypt", "DescribeKey", "RetireGrant"],
        Constraints={"EncryptionContextSubset": {"app": "a"}},
    )
    client = user("kms")
    # DescribeKey takes no encryption context: the constraint does not apply to it.
    assert client.describe_key(KeyId=key)["KeyMetadata"]["KeyId"] == key
    blob = kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"app": "b"})
    with pytest.raises(ClientError) as error:
        client.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"app": "b"})
    assert code(error) == "AccessDeniedException"
    client.retire_grant(KeyId=key, GrantId=grant["GrantId"])
    assert kms.list_grants(KeyId=key)["Grants"] == []
