"""Key lifecycle with the injectable clock: disable/enable, scheduled deletion that really
destroys key material, automatic and on-demand rotation, imported key material that expires."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from tests.conftest import LiveServer
from tests.e2e.sts_helpers import server_now, time_travel


@pytest.fixture(scope="module")
def clock_server(tmp_path_factory):
    """A server of this module's own: its clock moves by months."""
    live = LiveServer(tmp_path_factory.mktemp("kms-clock") / "data")
    live.start("--allow-time-travel")
    yield live
    live.stop()


@pytest.fixture
def kms(clock_server):
    return clock_server.client("kms")


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def days(n: float) -> float:
    return n * 86400


def test_disabled_key_refuses_use_until_enabled(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key)
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "Disabled" and meta["Enabled"] is False
    for call in (
        lambda: kms.encrypt(KeyId=key, Plaintext=b"x"),
        lambda: kms.decrypt(CiphertextBlob=blob),
        lambda: kms.generate_data_key(KeyId=key, KeySpec="AES_256"),
    ):
        with pytest.raises(ClientError) as error:
            call()
        assert code(error) == "DisabledException"
        assert error.value.response["Error"]["Message"].endswith("is disabled.")
    kms.enable_key(KeyId=key)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_scheduled_deletion_destroys_the_key_for_good(clock_server, kms):
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/doomed", TargetKeyId=key["KeyId"])
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"gone soon")["CiphertextBlob"]
    for bad in (6, 31):
        with pytest.raises(ClientError) as error:
            kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=bad)
        assert code(error) == "ValidationException"
    scheduled = kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert scheduled["KeyState"] == "PendingDeletion" and scheduled["PendingWindowInDays"] == 7
    assert scheduled["DeletionDate"] - server_now(clock_server) <= timedelta(days=7)
    with pytest.raises(ClientError) as error:
        kms.decrypt(CiphertextBlob=blob)
    assert code(error) == "KMSInvalidStateException"
    assert "is pending deletion" in error.value.response["Error"]["Message"]
    # Cancelled: the key comes back disabled.
    kms.cancel_key_deletion(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    time_travel(clock_server, days(6))
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    time_travel(clock_server, days(1.1))
    with pytest.raises(ClientError) as error:
        kms.describe_key(KeyId=key["KeyId"])
    assert code(error) == "NotFoundException"
    with pytest.raises(ClientError) as error:
        kms.decrypt(CiphertextBlob=blob)
    assert code(error) == "NotFoundException"
    with pytest.raises(ClientError) as error:
        kms.describe_key(KeyId="alias/doomed")
    assert code(error) == "NotFoundException"
    assert key["KeyId"] not in {k["KeyId"] for k in kms.list_keys(Limit=1000)["Keys"]}


def test_automatic_rotation_new_material_encrypts_old_still_decrypts(clock_server, kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    old = kms.encrypt(KeyId=key, Plaintext=b"before")
    old_material = kms.decrypt(CiphertextBlob=old["CiphertextBlob"])["KeyMaterialId"]
    assert kms.list_key_rotations(KeyId=key)["Rotations"] == []
    time_travel(clock_server, days(91))
    rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["AUTOMATIC"]
    new = kms.encrypt(KeyId=key, Plaintext=b"after")
    new_material = kms.decrypt(CiphertextBlob=new["CiphertextBlob"])["KeyMaterialId"]
    assert new_material == rotations[0]["KeyMaterialId"] != old_material
    assert kms.decrypt(CiphertextBlob=old["CiphertextBlob"])["Plaintext"] == b"before"
    kms.disable_key_rotation(KeyId=key)
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False


def test_rotate_on_demand_has_aws_limit_of_ten(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blobs = [kms.encrypt(KeyId=key, Plaintext=b"0")["CiphertextBlob"]]
    for i in range(10):
        assert kms.rotate_key_on_demand(KeyId=key)["KeyId"] == key
        blobs.append(kms.encrypt(KeyId=key, Plaintext=str(i + 1).encode())["CiphertextBlob"])
    with pytest.raises(ClientError) as error:
        kms.rotate_key_on_demand(KeyId=key)
    assert code(error) == "LimitExceededException"
    rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert len(rotations) == 10 and {r["RotationType"] for r in rotations} == {"ON_DEMAND"}
    assert [kms.decrypt(CiphertextBlob=b)["Plaintext"] for b in blobs] == [
        str(i).encode() for i in range(11)
    ]
    asym = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as error:
        kms.rotate_key_on_demand(KeyId=asym)
    assert code(error) == "UnsupportedOperationException"


# Bring your own key


def wrap(public_der: bytes, material: bytes, algorithm: str) -> bytes:
    """Client-side wrapping, as AWS's docs show it (openssl pkeyutl / cryptography)."""
    public = serialization.load_der_public_key(public_der)
    digest = hashes.SHA256() if algorithm.endswith("SHA_256") else hashes.SHA1()
    oaep = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public.encrypt(material, oaep)
    aes_key = os.urandom(32)
    return public.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)


@pytest.mark.parametrize(
    ("algorithm", "wrapping_spec"),
    [
        ("RSAES_OAEP_SHA_256", "RSA_2048"),
        ("RSA_AES_KEY_WRAP_SHA_256", "RSA_3072"),
        ("RSAES_OAEP_SHA_1", "RSA_2048"),
    ],
)
def test_import_key_material_then_encrypt_decrypt(kms, algorithm, wrapping_spec):
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    assert key["KeyState"] == "PendingImport" and key["Origin"] == "EXTERNAL"
    with pytest.raises(ClientError) as error:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert code(error) == "KMSInvalidStateException"
    params = kms.get_parameters_for_import(
        KeyId=key["KeyId"], WrappingAlgorithm=algorithm, WrappingKeySpec=wrapping_spec
    )
    material = os.urandom(32)
    imported = kms.import_key_material(
        KeyId=key["KeyId"],
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params["PublicKey"], material, algorithm),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert meta["KeyState"] == "Enabled"
    assert meta["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"byok", EncryptionContext={"k": "v"})
    assert (
        kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"k": "v"})[
            "Plaintext"
        ]
        == b"byok"
    )
    # Deleting the material: PendingImport, nothing decrypts; the same material brings it back.
    kms.delete_imported_key_material(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingImport"
    with pytest.raises(ClientError) as error:
        kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"k": "v"})
    assert code(error) == "KMSInvalidStateException"
    params = kms.get_parameters_for_import(
        KeyId=key["KeyId"], WrappingAlgorithm=algorithm, WrappingKeySpec=wrapping_spec
    )
    with pytest.raises(ClientError) as error:
        kms.import_key_material(
            KeyId=key["KeyId"],
            ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=wrap(params["PublicKey"], os.urandom(32), algorithm),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )
    assert code(error) == "IncorrectKeyMaterialException"
    again = kms.import_key_material(
        KeyId=key["KeyId"],
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params["PublicKey"], material, algorithm),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    assert again["KeyMaterialId"] == imported["KeyMaterialId"]
    assert (
        kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"k": "v"})[
            "Plaintext"
        ]
        == b"byok"
    )


def test_imported_material_expires_and_import_token_lasts_24h(clock_server, kms):
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = kms.get_parameters_for_import(
        KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    now = server_now(clock_server)
    assert timedelta(hours=23) < params["ParametersValidTo"] - now <= timedelta(hours=24)
    kms.import_key_material(
        KeyId=key,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params["PublicKey"], os.urandom(32), "RSAES_OAEP_SHA_256"),
        ExpirationModel="KEY_MATERIAL_EXPIRES",
        ValidTo=now + timedelta(days=2),
    )
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES" and meta["ValidTo"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"short-lived")["CiphertextBlob"]
    time_travel(clock_server, days(2.1))
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    with pytest.raises(ClientError) as error:
        kms.decrypt(CiphertextBlob=blob)
    assert code(error) == "KMSInvalidStateException"
    # The import token has expired by now too.
    with pytest.raises(ClientError) as error:
        kms.import_key_material(
            KeyId=key,
            ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=wrap(params["PublicKey"], os.urandom(32), "RSAES_OAEP_SHA_256"),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )
    assert code(error) == "ExpiredImportTokenException"


def test_import_only_for_external_keys(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as error:
        kms.get_parameters_for_import(
            KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
        )
    assert code(error) == "UnsupportedOperationException"


def test_expiration_model_defaults_to_expires_which_needs_valid_to(clock_server, kms):
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = kms.get_parameters_for_import(
        KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    wrapped = wrap(params["PublicKey"], os.urandom(32), "RSAES_OAEP_SHA_256")
    with pytest.raises(ClientError) as error:
        kms.import_key_material(
            KeyId=key, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped
        )
    assert code(error) == "ValidationException"
    assert "ValidTo" in error.value.response["Error"]["Message"]
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    kms.import_key_material(
        KeyId=key,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrapped,
        ValidTo=server_now(clock_server) + timedelta(days=3),
    )
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    [imported] = kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")[
        "Rotations"
    ]
    assert imported["ImportState"] == "IMPORTED" and imported["KeyMaterialState"] == "CURRENT"
    assert imported["ExpirationModel"] == "KEY_MATERIAL_EXPIRES" and imported["ValidTo"]


def test_delete_imported_material_while_pending_deletion_keeps_the_state(kms):
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = kms.get_parameters_for_import(
        KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    kms.import_key_material(
        KeyId=key,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params["PublicKey"], os.urandom(32), "RSAES_OAEP_SHA_256"),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    deleted = kms.delete_imported_key_material(KeyId=key)
    assert deleted["KeyId"].endswith(key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    # Cancelled: without key material the key can only wait for an import.
    kms.cancel_key_deletion(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    with pytest.raises(ClientError) as error:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert code(error) == "KMSInvalidStateException"


def test_cancelled_deletion_of_imported_key_with_material_is_disabled(kms):
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    params = kms.get_parameters_for_import(
        KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    kms.import_key_material(
        KeyId=key,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params["PublicKey"], os.urandom(32), "RSAES_OAEP_SHA_256"),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"


def test_pending_deletion_rotation_status_is_false_until_cancelled(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is False
    assert "NextRotationDate" not in status and "RotationPeriodInDays" not in status
    kms.cancel_key_deletion(KeyId=key)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 180


def test_key_policy_can_be_replaced_while_pending_deletion(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    policy = kms.get_key_policy(KeyId=key)["Policy"].replace("key-default-1", "replaced")
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=policy)
    assert kms.get_key_policy(KeyId=key)["Policy"] == policy
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_list_key_rotations_all_key_material_adds_the_first_material(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    first = kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"])
    kms.rotate_key_on_demand(KeyId=key)
    only = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert [r["RotationType"] for r in only] == ["ON_DEMAND"]
    every = kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert len(every) == 2 and every[1] == only[0]
    original = every[0]
    assert original["KeyMaterialId"] == first["KeyMaterialId"]
    assert original["KeyMaterialState"] == "NON_CURRENT"
    assert "RotationDate" not in original and "RotationType" not in original
    assert only[0]["KeyMaterialState"] == "CURRENT"
    explicit = kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ROTATIONS_ONLY")
    assert explicit["Rotations"] == only
