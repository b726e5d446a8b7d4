"""Real clients against mamori's KMS: the AWS Encryption SDK for Python and the AWS CLI."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import botocore.session
import pytest

from tests.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

aws_encryption_sdk = pytest.importorskip("aws_encryption_sdk")


def _botocore_session(endpoint: str):
    # The SDK makes its own KMS clients from this session; AWS_ENDPOINT_URL points them here.
    session = botocore.session.Session()
    session.set_credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    session.set_config_variable("region", REGION)
    return session


def test_encryption_sdk_round_trips_a_multi_mib_message_and_stops_when_disabled(
    server, monkeypatch
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    kms = server.client("kms")
    key_arn = kms.create_key(Description="encryption sdk")["KeyMetadata"]["Arn"]
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
        key_ids=[key_arn], botocore_session=_botocore_session(server.endpoint)
    )
    client = aws_encryption_sdk.EncryptionSDKClient()
    message = os.urandom(3 * 1024 * 1024 + 17)
    ciphertext, _ = client.encrypt(
        source=message, key_provider=provider, encryption_context={"purpose": "test"}
    )
    assert message[:4096] not in ciphertext
    plaintext, header = client.decrypt(source=ciphertext, key_provider=provider)
    assert plaintext == message and header.encryption_context["purpose"] == "test"
    kms.disable_key(KeyId=key_arn)
    fresh = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
        key_ids=[key_arn], botocore_session=_botocore_session(server.endpoint)
    )
    with pytest.raises(aws_encryption_sdk.exceptions.AWSEncryptionSDKClientError):
        client.decrypt(source=ciphertext, key_provider=fresh)


def _aws(server, *args: str) -> str:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    env.pop("AWS_PROFILE", None)
    done = subprocess.run(
        [sys.executable, "-m", "awscli", *args, "--output", "text"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_aws_cli_envelope_encryption(server, tmp_path):
    """The seed's four steps: a master key, a data key it makes, data encrypted with the data
    key, and the data key opened again by the master key — here with `aws kms` commands."""
    key_id = _aws(server, "kms", "create-key", "--query", "KeyMetadata.KeyId")
    (tmp_path / "plain.txt").write_bytes(b"top secret\n")
    blob_b64 = _aws(
        server,
        "kms",
        "encrypt",
        "--key-id",
        key_id,
        "--plaintext",
        f"fileb://{tmp_path / 'plain.txt'}",
        "--query",
        "CiphertextBlob",
    )
    (tmp_path / "cipher.bin").write_bytes(base64.b64decode(blob_b64))
    plain_b64 = _aws(
        server,
        "kms",
        "decrypt",
        "--ciphertext-blob",
        f"fileb://{tmp_path / 'cipher.bin'}",
        "--query",
        "Plaintext",
    )
    assert base64.b64decode(plain_b64) == b"top secret\n"
    data_key = _aws(
        server,
        "kms",
        "generate-data-key",
        "--key-id",
        key_id,
        "--key-spec",
        "AES_256",
        "--query",
        "[Plaintext,CiphertextBlob]",
    ).split()
    assert len(base64.b64decode(data_key[0])) == 32
    (tmp_path / "dk.bin").write_bytes(base64.b64decode(data_key[1]))
    opened = _aws(
        server,
        "kms",
        "decrypt",
        "--ciphertext-blob",
        f"fileb://{tmp_path / 'dk.bin'}",
        "--query",
        "Plaintext",
    )
    assert opened == data_key[0]
