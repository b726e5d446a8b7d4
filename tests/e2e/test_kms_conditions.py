"""KMS condition keys of the request and grant constraints, through boto3 against a live server:
the keys each operation sets (or leaves absent), tag keys, grant constraints and child grants."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.e2e.sts_helpers import allow, new_user

ACCOUNT = "000000000000"
ROOT_ADMIN = {
    "Sid": "root",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders"


def key_policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [ROOT_ADMIN, *statements]})


def for_user(user_arn: str, actions, condition: dict | None = None, effect="Allow") -> dict:
    statement = {"Effect": effect, "Principal": {"AWS": user_arn}, "Action": actions}
    statement["Resource"] = "*"
    if condition:
        statement["Condition"] = condition
    return statement


def deny(actions, condition: dict) -> dict:
    return {"Effect": "Deny", "Action": actions, "Resource": "*", "Condition": condition}


def error_code(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as error:
        call(*args, **kwargs)
    return error.value.response["Error"]["Code"]


def denied(call, *args, **kwargs) -> None:
    assert error_code(call, *args, **kwargs) == "AccessDeniedException"


# Grant constraints


def test_source_arn_grant_constraint_does_not_allow_the_grantees_own_calls(server):
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    _, constrained_arn, constrained = new_user(server)
    _, plain_arn, plain = new_user(server)
    operations = ["Encrypt", "DescribeKey"]
    kms.create_grant(
        KeyId=key,
        GranteePrincipal=constrained_arn,
        Operations=operations,
        Constraints={"SourceArn": QUEUE},
    )
    kms.create_grant(KeyId=key, GranteePrincipal=plain_arn, Operations=operations)
    assert plain("kms").encrypt(KeyId=key, Plaintext=b"x")["KeyId"] == key
    # A direct call is made on behalf of no resource: the constrained grant does not apply.
    denied(constrained("kms").encrypt, KeyId=key, Plaintext=b"x")
    denied(constrained("kms").describe_key, KeyId=key)


def test_source_arn_grant_constraint_must_be_an_arn(server):
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    _, user_arn, _ = new_user(server)
    code = error_code(
        kms.create_grant,
        KeyId=key,
        GranteePrincipal=user_arn,
        Operations=["Encrypt"],
        Constraints={"SourceArn": "not-an-arn-of-any-resource"},
    )
    assert code == "ValidationException"
    assert kms.list_grants(KeyId=key)["Grants"] == []


def test_grant_constraint_keys_are_case_insensitive_values_case_sensitive(server):
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    _, user_arn, user = new_user(server)
    kms.create_grant(
        KeyId=key,
        GranteePrincipal=user_arn,
        Operations=["Encrypt"],
        Constraints={"EncryptionContextSubset": {"Dept": "IT"}},
    )
    client = user("kms")
    client.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"dept": "IT"})
    client.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"DEPT": "IT", "b": "1"})
    denied(client.encrypt, KeyId=key, Plaintext=b"x", EncryptionContext={"dept": "it"})


def test_child_grants_are_at_least_as_strict_as_their_parent(server):
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    _, parent_arn, parent = new_user(server)
    _, child_arn, child = new_user(server)
    kms.create_grant(
        KeyId=key,
        GranteePrincipal=parent_arn,
        Operations=["CreateGrant", "Encrypt", "Decrypt"],
        Constraints={"EncryptionContextSubset": {"Dept": "IT"}},
    )
    grantor = parent("kms")

    def child_grant(operations=("Encrypt",), **constraints):
        return grantor.create_grant(
            KeyId=key,
            GranteePrincipal=child_arn,
            Operations=list(operations),
            Constraints=constraints,
        )

    child_grant(EncryptionContextEquals={"Dept": "IT"})
    child_grant(EncryptionContextSubset={"Dept": "IT", "Stage": "test"})
    child_grant(operations=("CreateGrant", "Decrypt"), EncryptionContextSubset={"dept": "IT"})
    denied(child_grant)
    denied(child_grant, EncryptionContextSubset={"Dept": "HR"})
    denied(child_grant, EncryptionContextSubset={"Stage": "test"})
    denied(
        child_grant,
        operations=("Encrypt", "GenerateDataKey"),
        **{"EncryptionContextEquals": {"Dept": "IT"}},
    )
    blob = child("kms").encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"Dept": "IT"})
    assert blob["KeyId"] == key
    denied(child("kms").encrypt, KeyId=key, Plaintext=b"x", EncryptionContext={"Dept": "HR"})


def test_a_grant_constraint_is_the_encryption_context_of_create_grant(server):
    kms = server.client("kms")
    _, user_arn, user = new_user(server)
    _, grantee_arn, _ = new_user(server)
    policy = key_policy(
        for_user(
            user_arn, "kms:CreateGrant", {"StringEquals": {"kms:EncryptionContext:Dept": "IT"}}
        ),
        for_user(
            user_arn,
            "kms:CreateGrant",
            {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "Project"}},
        ),
    )
    key = kms.create_key(Policy=policy)["KeyMetadata"]["Arn"]
    client = user("kms")

    def grant(**constraints):
        return client.create_grant(
            KeyId=key, GranteePrincipal=grantee_arn, Operations=["Decrypt"], Constraints=constraints
        )

    grant(EncryptionContextSubset={"Dept": "IT"})
    grant(EncryptionContextEquals={"Dept": "IT", "Stage": "prod"})
    grant(EncryptionContextEquals={"Project": "alpha"})
    denied(grant, EncryptionContextEquals={"Dept": "HR"})
    denied(grant)


# Encryption context keys


def test_null_encryption_context_keys_requires_an_encryption_context(server):
    kms = server.client("kms")
    _, user_arn, user = new_user(server)
    policy = key_policy(
        for_user(
            user_arn,
            ["kms:Encrypt", "kms:GenerateDataKey"],
            {"Null": {"kms:EncryptionContextKeys": "false"}},
        )
    )
    key = kms.create_key(Policy=policy)["KeyMetadata"]["Arn"]
    client = user("kms")
    denied(client.encrypt, KeyId=key, Plaintext=b"x")
    denied(client.generate_data_key, KeyId=key, KeySpec="AES_256")
    client.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"a": "b"})
    client.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext={"a": "b"})


# CreateKey and PutKeyPolicy


def test_key_policy_refuses_for_all_values_on_single_valued_keys(server):
    kms = server.client("kms")
    _, user_arn, _ = new_user(server)
    context_values = for_user(
        user_arn,
        "kms:Decrypt",
        {"ForAllValues:StringEquals": {"kms:EncryptionContext:Dept": "IT"}},
    )
    with pytest.raises(ClientError) as error:
        kms.create_key(Policy=key_policy(context_values))
    assert error.value.response["Error"]["Code"] == "MalformedPolicyDocumentException"
    assert error.value.response["Error"]["Message"].startswith(
        "OverlyPermissiveCondition:EncryptionContext:"
    )
    # On the set of encryption context keys, a multi-valued key, ForAllValues is fine.
    keys_only = for_user(
        user_arn, "kms:Decrypt", {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": "a"}}
    )
    key = kms.create_key(Policy=key_policy(keys_only))["KeyMetadata"]["Arn"]
    request_tag = for_user(
        user_arn,
        "kms:TagResource",
        {"ForAllValues:StringEquals": {"aws:RequestTag/team": "blue"}},
    )
    with pytest.raises(ClientError) as error:
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=key_policy(request_tag))
    assert error.value.response["Error"]["Code"] == "MalformedPolicyDocumentException"
    assert "OverlyPermissiveCondition" in error.value.response["Error"]["Message"]
    assert "kms:EncryptionContextKeys" in kms.get_key_policy(KeyId=key)["Policy"]


def test_create_key_without_a_policy_needs_only_create_key(server):
    _, _, user = new_user(server, allow("kms:CreateKey"))
    metadata = user("kms").create_key()["KeyMetadata"]
    assert metadata["KeyState"] == "Enabled"


def test_create_key_request_keys_with_their_defaults(server):
    _, _, spec_user = new_user(
        server, allow("kms:CreateKey", Condition={"StringEquals": {"kms:KeySpec": "RSA_2048"}})
    )
    denied(spec_user("kms").create_key)
    spec_user("kms").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    symmetric_only = {
        "StringEquals": {
            "kms:KeySpec": "SYMMETRIC_DEFAULT",
            "kms:KeyUsage": "ENCRYPT_DECRYPT",
            "kms:KeyOrigin": "AWS_KMS",
        },
        "Bool": {"kms:MultiRegion": "false"},
    }
    _, _, user = new_user(server, allow("kms:CreateKey", Condition=symmetric_only))
    client = user("kms")
    client.create_key()
    denied(client.create_key, KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    denied(client.create_key, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    denied(client.create_key, Origin="EXTERNAL")


def test_bypass_policy_lockout_safety_check_is_a_condition_key(server):
    kms = server.client("kms")
    _, user_arn, user = new_user(
        server,
        allow("kms:CreateKey"),
        deny("kms:CreateKey", {"Bool": {"kms:BypassPolicyLockoutSafetyCheck": "true"}}),
    )
    client = user("kms")
    denied(client.create_key, BypassPolicyLockoutSafetyCheck=True)
    client.create_key(BypassPolicyLockoutSafetyCheck=False)
    # Allowed only while the request does not include the parameter (a Null condition).
    unbypassed = for_user(
        user_arn, "kms:PutKeyPolicy", {"Null": {"kms:BypassPolicyLockoutSafetyCheck": "true"}}
    )
    key = kms.create_key(Policy=key_policy(unbypassed))["KeyMetadata"]["Arn"]
    policy = key_policy(unbypassed)
    client.put_key_policy(KeyId=key, PolicyName="default", Policy=policy)
    for bypass in (True, False):
        denied(
            client.put_key_policy,
            KeyId=key,
            PolicyName="default",
            Policy=policy,
            BypassPolicyLockoutSafetyCheck=bypass,
        )


# Tags


def test_create_key_tags_need_tag_resource_and_set_request_tag_keys(server):
    _, _, untagger = new_user(server, allow("kms:CreateKey"))
    denied(untagger("kms").create_key, Tags=[{"TagKey": "team", "TagValue": "blue"}])
    _, _, user = new_user(
        server,
        allow("kms:CreateKey", Condition={"StringEquals": {"aws:RequestTag/team": "blue"}}),
        allow(
            "kms:TagResource",
            Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}},
        ),
    )
    client = user("kms")
    denied(client.create_key)
    denied(client.create_key, Tags=[{"TagKey": "team", "TagValue": "red"}])
    denied(
        client.create_key,
        Tags=[{"TagKey": "team", "TagValue": "blue"}, {"TagKey": "owner", "TagValue": "x"}],
    )
    key = client.create_key(Tags=[{"TagKey": "team", "TagValue": "blue"}])["KeyMetadata"]
    assert key["KeyState"] == "Enabled"


def test_tag_and_untag_resource_set_request_tag_keys(server):
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    _, _, user = new_user(
        server,
        allow("kms:TagResource", Condition={"StringEquals": {"aws:RequestTag/env": "dev"}}),
        allow("kms:UntagResource", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": "env"}}),
    )
    client = user("kms")
    client.tag_resource(KeyId=key, Tags=[{"TagKey": "env", "TagValue": "dev"}])
    denied(client.tag_resource, KeyId=key, Tags=[{"TagKey": "env", "TagValue": "prod"}])
    denied(client.tag_resource, KeyId=key, Tags=[{"TagKey": "other", "TagValue": "dev"}])
    denied(client.untag_resource, KeyId=key, TagKeys=["other"])
    client.untag_resource(KeyId=key, TagKeys=["env"])
    assert kms.list_resource_tags(KeyId=key)["Tags"] == []


# Cryptographic operations


def test_data_key_operations_use_the_symmetric_default_algorithm(server):
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    only_symmetric = {"StringNotEquals": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}}
    _, _, user = new_user(
        server,
        allow(["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"], key),
        deny(
            ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"], only_symmetric
        ),
    )
    client = user("kms")
    blob = client.generate_data_key(KeyId=key, KeySpec="AES_256")["CiphertextBlob"]
    client.generate_data_key_without_plaintext(KeyId=key, NumberOfBytes=16)
    client.generate_data_key_pair(KeyId=key, KeyPairSpec="ECC_NIST_P256")
    client.generate_data_key_pair_without_plaintext(KeyId=key, KeyPairSpec="ECC_NIST_P256")
    assert len(client.decrypt(CiphertextBlob=blob)["Plaintext"]) == 32
    client.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key)


def test_reencrypt_on_same_key(server):
    kms = server.client("kms")
    _, user_arn, user = new_user(server)
    policy = key_policy(
        for_user(user_arn, "kms:ReEncrypt*"),
        for_user(user_arn, "kms:ReEncrypt*", {"Bool": {"kms:ReEncryptOnSameKey": "true"}}, "Deny"),
    )
    key = kms.create_key(Policy=policy)["KeyMetadata"]["Arn"]
    other = kms.create_key(Policy=key_policy(for_user(user_arn, "kms:ReEncrypt*")))
    other_key = other["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    client = user("kms")
    denied(client.re_encrypt, CiphertextBlob=blob, DestinationKeyId=key)
    moved = client.re_encrypt(CiphertextBlob=blob, DestinationKeyId=other_key)
    assert moved["KeyId"] == other_key
    # Only the same key: the condition's true in the ReEncryptTo authorization as well.
    only_same = key_policy(
        for_user(user_arn, "kms:ReEncrypt*", {"Bool": {"kms:ReEncryptOnSameKey": "true"}})
    )
    same = kms.create_key(Policy=only_same)["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=same, Plaintext=b"x")["CiphertextBlob"]
    assert client.re_encrypt(CiphertextBlob=blob, DestinationKeyId=same)["KeyId"] == same
    denied(client.re_encrypt, CiphertextBlob=blob, DestinationKeyId=other_key)


# Deletion and rotation


def test_pending_window_and_rotation_period_condition_keys(server):
    kms = server.client("kms")
    _, user_arn, user = new_user(server)
    policy = key_policy(
        for_user(
            user_arn,
            "kms:ScheduleKeyDeletion",
            {"NumericGreaterThanEquals": {"kms:ScheduleKeyDeletionPendingWindowInDays": "21"}},
        ),
        for_user(
            user_arn,
            "kms:EnableKeyRotation",
            {"NumericGreaterThanEquals": {"kms:RotationPeriodInDays": "365"}},
        ),
    )
    client = user("kms")
    key = kms.create_key(Policy=policy)["KeyMetadata"]["Arn"]
    denied(client.enable_key_rotation, KeyId=key, RotationPeriodInDays=90)
    client.enable_key_rotation(KeyId=key)  # the default period, 365 days
    assert kms.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"] == 365
    denied(client.schedule_key_deletion, KeyId=key, PendingWindowInDays=7)
    assert client.schedule_key_deletion(KeyId=key)["PendingWindowInDays"] == 30
