"""KMS symmetric keys and envelope encryption, through boto3 against a live server."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def status(excinfo) -> int:
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def alias() -> str:
    return f"alias/test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kms(server):
    return server.client("kms")


@pytest.fixture
def key(kms):
    return kms.create_key(Description="test key")["KeyMetadata"]


def test_create_describe_list(kms):
    meta = kms.create_key(Description="d", Tags=[{"TagKey": "team", "TagValue": "sec"}])[
        "KeyMetadata"
    ]
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert meta["KeySpec"] == "SYMMETRIC_DEFAULT" and meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert meta["Origin"] == "AWS_KMS" and meta["KeyManager"] == "CUSTOMER"
    assert meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert meta["Arn"] == f"arn:aws:kms:us-east-1:000000000000:key/{meta['KeyId']}"
    assert meta["MultiRegion"] is False
    for ref in (meta["KeyId"], meta["Arn"]):
        assert kms.describe_key(KeyId=ref)["KeyMetadata"]["KeyId"] == meta["KeyId"]
    ids = set()
    marker = None
    while True:
        page = kms.list_keys(Limit=50, **({"Marker": marker} if marker else {}))
        ids |= {k["KeyId"] for k in page["Keys"]}
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    assert meta["KeyId"] in ids
    assert kms.list_resource_tags(KeyId=meta["KeyId"])["Tags"] == [
        {"TagKey": "team", "TagValue": "sec"}
    ]


def test_encrypt_decrypt_with_context_and_without_key_id(kms, key):
    context = {"purpose": "test", "app": "mamori"}
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"secret", EncryptionContext=context)
    assert blob["KeyId"] == key["Arn"] and blob["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    ciphertext = blob["CiphertextBlob"]
    assert b"secret" not in ciphertext
    # Order of the context pairs does not matter; no KeyId needed.
    out = kms.decrypt(
        CiphertextBlob=ciphertext, EncryptionContext={"app": "mamori", "purpose": "test"}
    )
    assert out["Plaintext"] == b"secret" and out["KeyId"] == key["Arn"]
    assert (
        kms.decrypt(CiphertextBlob=ciphertext, KeyId=key["Arn"], EncryptionContext=context)[
            "Plaintext"
        ]
        == b"secret"
    )
    for wrong in ({}, {"purpose": "other", "app": "mamori"}, {**context, "extra": "x"}):
        with pytest.raises(ClientError) as error:
            kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext=wrong)
        assert code(error) == "InvalidCiphertextException" and status(error) == 400
    tampered = bytearray(ciphertext)
    tampered[-1] ^= 1
    with pytest.raises(ClientError) as error:
        kms.decrypt(CiphertextBlob=bytes(tampered), EncryptionContext=context)
    assert code(error) == "InvalidCiphertextException"
    with pytest.raises(ClientError) as error:
        kms.decrypt(CiphertextBlob=b"not a ciphertext at all")
    assert code(error) == "InvalidCiphertextException"


def test_wrong_key_id_is_incorrect_key(kms, key):
    other = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(ClientError) as error:
        kms.decrypt(CiphertextBlob=blob, KeyId=other["KeyId"])
    assert code(error) == "IncorrectKeyException"


def test_aliases_work_wherever_a_key_id_does(kms, key):
    name = alias()
    kms.create_alias(AliasName=name, TargetKeyId=key["KeyId"])
    alias_arn = f"arn:aws:kms:us-east-1:000000000000:{name}"
    for ref in (name, alias_arn):
        assert kms.describe_key(KeyId=ref)["KeyMetadata"]["KeyId"] == key["KeyId"]
        blob = kms.encrypt(KeyId=ref, Plaintext=b"a")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob, KeyId=ref)["Plaintext"] == b"a"
    listed = kms.list_aliases(KeyId=key["KeyId"])["Aliases"]
    assert [a["AliasName"] for a in listed] == [name]
    assert listed[0]["AliasArn"] == alias_arn and listed[0]["TargetKeyId"] == key["KeyId"]
    with pytest.raises(ClientError) as error:
        kms.create_alias(AliasName=name, TargetKeyId=key["KeyId"])
    assert code(error) == "AlreadyExistsException"
    with pytest.raises(ClientError) as error:
        kms.create_alias(AliasName="alias/aws/mine", TargetKeyId=key["KeyId"])
    assert code(error) == "NotAuthorizedException"
    with pytest.raises(ClientError) as error:
        kms.create_alias(AliasName="no-prefix", TargetKeyId=key["KeyId"])
    assert code(error) == "ValidationException"
    # UpdateAlias moves it to another key; the old one no longer answers to it.
    other = kms.create_key()["KeyMetadata"]
    kms.update_alias(AliasName=name, TargetKeyId=other["KeyId"])
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == other["KeyId"]
    assert kms.list_aliases(KeyId=key["KeyId"])["Aliases"] == []
    kms.delete_alias(AliasName=name)
    with pytest.raises(ClientError) as error:
        kms.describe_key(KeyId=name)
    assert code(error) == "NotFoundException"
    assert "is not found" in error.value.response["Error"]["Message"]


def test_not_found_messages(kms):
    missing = str(uuid.uuid4())
    with pytest.raises(ClientError) as error:
        kms.describe_key(KeyId=missing)
    assert code(error) == "NotFoundException" and status(error) == 400
    assert error.value.response["Error"]["Message"] == (
        f"Key 'arn:aws:kms:us-east-1:000000000000:key/{missing}' does not exist"
    )
    with pytest.raises(ClientError) as error:
        kms.encrypt(KeyId="alias/does-not-exist", Plaintext=b"x")
    assert code(error) == "NotFoundException"


def test_envelope_encryption_with_data_keys(kms, key):
    context = {"file": "report.pdf"}
    data_key = kms.generate_data_key(
        KeyId=key["KeyId"], KeySpec="AES_256", EncryptionContext=context
    )
    assert len(data_key["Plaintext"]) == 32 and data_key["KeyId"] == key["Arn"]
    nonce = b"\0" * 12
    sealed = AESGCM(data_key["Plaintext"]).encrypt(nonce, b"the document", None)
    opened = kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"], EncryptionContext=context)
    assert AESGCM(opened["Plaintext"]).decrypt(nonce, sealed, None) == b"the document"
    assert len(kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_128")["Plaintext"]) == 16
    assert len(kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=64)["Plaintext"]) == 64
    without = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_256")
    assert "Plaintext" not in without
    assert len(kms.decrypt(CiphertextBlob=without["CiphertextBlob"])["Plaintext"]) == 32
    for kwargs in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32}):
        with pytest.raises(ClientError) as error:
            kms.generate_data_key(KeyId=key["KeyId"], **kwargs)
        assert code(error) == "ValidationException"


def test_reencrypt_moves_ciphertext_to_another_key(kms, key):
    dest = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"move me", EncryptionContext={"a": "1"})
    moved = kms.re_encrypt(
        CiphertextBlob=blob["CiphertextBlob"],
        SourceEncryptionContext={"a": "1"},
        DestinationKeyId=dest["KeyId"],
        DestinationEncryptionContext={"b": "2"},
    )
    assert moved["SourceKeyId"] == key["Arn"] and moved["KeyId"] == dest["Arn"]
    out = kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext={"b": "2"})
    assert out["Plaintext"] == b"move me" and out["KeyId"] == dest["Arn"]


def test_limits_and_generate_random(kms, key):
    with pytest.raises(ClientError) as error:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x" * 4097)
    assert code(error) == "ValidationException"
    assert len(kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x" * 4096)["CiphertextBlob"]) > 4096
    random = kms.generate_random(NumberOfBytes=1024)["Plaintext"]
    assert len(random) == 1024 and random != kms.generate_random(NumberOfBytes=1024)["Plaintext"]
    with pytest.raises(ClientError) as error:
        kms.generate_random(NumberOfBytes=1025)
    assert code(error) == "ValidationException"


def test_dry_run(kms, key):
    with pytest.raises(ClientError) as error:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", DryRun=True)
    assert code(error) == "DryRunOperationException"


def test_tags_description_and_key_policy(kms, key):
    kid = key["KeyId"]
    kms.tag_resource(
        KeyId=kid, Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "b", "TagValue": "2"}]
    )
    kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "a", "TagValue": "3"}])
    kms.untag_resource(KeyId=kid, TagKeys=["b"])
    assert kms.list_resource_tags(KeyId=kid)["Tags"] == [{"TagKey": "a", "TagValue": "3"}]
    with pytest.raises(ClientError) as error:
        kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "aws:x", "TagValue": "1"}])
    assert code(error) == "TagException"
    kms.update_key_description(KeyId=kid, Description="new words")
    assert kms.describe_key(KeyId=kid)["KeyMetadata"]["Description"] == "new words"
    assert kms.list_key_policies(KeyId=kid)["PolicyNames"] == ["default"]
    policy = kms.get_key_policy(KeyId=kid, PolicyName="default")["Policy"]
    assert '"kms:*"' in policy and "arn:aws:iam::000000000000:root" in policy
    with pytest.raises(ClientError) as error:
        kms.put_key_policy(KeyId=kid, PolicyName="default", Policy="{not json")
    assert code(error) == "MalformedPolicyDocumentException"
    # A policy that would lock the caller out is refused unless the check is bypassed.
    lockout = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":'
        '"arn:aws:iam::000000000000:root"},"Action":"kms:Encrypt","Resource":"*"}]}'
    )
    with pytest.raises(ClientError) as error:
        kms.put_key_policy(KeyId=kid, PolicyName="default", Policy=lockout)
    assert code(error) == "MalformedPolicyDocumentException"
    kms.put_key_policy(
        KeyId=kid, PolicyName="default", Policy=lockout, BypassPolicyLockoutSafetyCheck=True
    )
    # The key policy is really enforced, even for the account's root user.
    kms.encrypt(KeyId=kid, Plaintext=b"x")
    for call in (kms.describe_key, kms.get_key_policy):
        with pytest.raises(ClientError) as error:
            call(KeyId=kid)
        assert code(error) == "AccessDeniedException" and status(error) == 400
    assert "because no resource-based policy allows" in error.value.response["Error"]["Message"]


def test_aws_managed_key_is_created_on_first_describe(kms):
    meta = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS"
    assert kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"] == meta["KeyId"]
    with pytest.raises(ClientError) as error:
        kms.disable_key(KeyId=meta["KeyId"])
    assert code(error) == "AccessDeniedException"


@pytest.mark.parametrize("ref", ["alias/aws/nosuchservice", "alias/aws/", "alias/aws/S3"])
def test_describe_key_creates_managed_keys_only_for_predefined_aliases(kms, ref):
    with pytest.raises(ClientError) as error:
        kms.describe_key(KeyId=ref)
    assert code(error) == "NotFoundException"
    assert error.value.response["Error"]["Message"].startswith("Alias 'arn:aws:kms:")
    names = {a["AliasName"] for a in kms.list_aliases(Limit=100)["Aliases"]}
    assert ref not in names


def test_describe_key_on_predefined_alias_arn_creates_the_managed_key(kms):
    s3_key = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["Arn"]
    arn = s3_key.split(":key/")[0] + ":alias/aws/ebs"
    meta = kms.describe_key(KeyId=arn)["KeyMetadata"]
    assert meta["KeyManager"] == "AWS"
    assert kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["KeyId"] == meta["KeyId"]


def test_list_limits_have_each_operations_default_and_maximum(kms, key):
    key = key["KeyId"]
    for i in range(55):
        kms.create_alias(AliasName=f"{alias()}-{i}", TargetKeyId=key)
    first = kms.list_aliases(KeyId=key)
    assert len(first["Aliases"]) == 50 and first["Truncated"] is True
    rest = kms.list_aliases(KeyId=key, Marker=first["NextMarker"])
    assert len(rest["Aliases"]) == 5 and rest["Truncated"] is False
    assert len(kms.list_aliases(KeyId=key, Limit=100)["Aliases"]) == 55
    too_many = [
        (kms.list_aliases, {"Limit": 101}, 100),
        (kms.list_grants, {"KeyId": key, "Limit": 101}, 100),
        (
            kms.list_retirable_grants,
            {"RetiringPrincipal": "arn:aws:iam::000000000000:root", "Limit": 101},
            100,
        ),
        (kms.list_resource_tags, {"KeyId": key, "Limit": 51}, 50),
    ]
    for call, params, maximum in too_many:
        with pytest.raises(ClientError) as error:
            call(**params)
        assert code(error) == "ValidationException"
        assert error.value.response["Error"]["Message"].endswith(
            f"Member must have value less than or equal to {maximum}"
        )
    assert kms.list_keys(Limit=1000)["Keys"]
    assert kms.list_key_rotations(KeyId=key, Limit=1000)["Rotations"] == []


def test_the_aws_ram_key_policy_is_only_for_ram(kms, key):
    key = key["KeyId"]
    policy = kms.get_key_policy(KeyId=key)["Policy"]
    with pytest.raises(ClientError) as error:
        kms.put_key_policy(KeyId=key, PolicyName="AWS_RAM", Policy=policy)
    assert code(error) == "ValidationException"
    assert error.value.response["Error"]["Message"] == (
        "The AWS_RAM policy can only be managed by the RAM service."
    )
    # A key not shared through RAM has no AWS_RAM policy to get or list.
    with pytest.raises(ClientError) as error:
        kms.get_key_policy(KeyId=key, PolicyName="AWS_RAM")
    assert code(error) == "NotFoundException"
    assert kms.list_key_policies(KeyId=key)["PolicyNames"] == ["default"]
