"""Secrets stay secret: no plaintext, data key or imported key material reaches any file of the
data directory (journal, store, WAL), and KMS calls are journaled as CloudTrail logs them."""

from __future__ import annotations

import base64
import os
import signal

from tests.conftest import make_client
from tests.e2e.test_journal import journal_records
from tests.e2e.test_kms_lifecycle import wrap


def test_no_secret_in_the_data_directory_and_calls_journaled(fresh_server):
    fresh_server.start()
    kms = make_client(fresh_server.endpoint, "kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    plaintext = b"PLAINTEXT-" + os.urandom(16).hex().encode()
    context = {"department": "finance"}
    blob = kms.encrypt(KeyId=key, Plaintext=plaintext, EncryptionContext=context)
    encrypt_id = blob["ResponseMetadata"]["RequestId"]
    kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext=context)
    data_key = kms.generate_data_key(KeyId=key, KeySpec="AES_256")["Plaintext"]
    external = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = kms.get_parameters_for_import(
        KeyId=external, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    material = os.urandom(32)
    kms.import_key_material(
        KeyId=external,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params["PublicKey"], material, "RSAES_OAEP_SHA_256"),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    assert fresh_server.stop(signal.SIGTERM) == 0

    secrets = [plaintext, data_key, material]
    needles = [form for s in secrets for form in (s, base64.b64encode(s), s.hex().encode())]
    for root, _, files in os.walk(fresh_server.data_dir):
        for name in files:
            content = open(os.path.join(root, name), "rb").read()  # noqa: SIM115
            for needle in needles:
                assert needle not in content, f"a secret is in {name}"

    records = {r["requestID"]: r for r in journal_records(fresh_server.data_dir)}
    encrypt = records[encrypt_id]
    assert encrypt["eventSource"] == "kms.amazonaws.com" and encrypt["eventName"] == "Encrypt"
    assert encrypt["readOnly"] is True
    assert encrypt["requestParameters"]["keyId"] == key
    assert encrypt["requestParameters"]["encryptionContext"] == context
    assert "plaintext" not in encrypt["requestParameters"]
    assert encrypt["resources"][0]["ARN"].endswith(key)
    names = {r["eventName"] for r in records.values()}
    assert {"CreateKey", "Decrypt", "GenerateDataKey", "ImportKeyMaterial"} <= names
