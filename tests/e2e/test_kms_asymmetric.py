"""Asymmetric and HMAC keys: what mamori signs and encrypts verifies with `cryptography` alone."""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

_HASH = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


def public_key(kms, key_id):
    return serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])


@pytest.mark.parametrize(
    ("spec", "algorithms"),
    [
        ("RSA_2048", ["RSASSA_PSS_SHA_256", "RSASSA_PKCS1_V1_5_SHA_512", "RSASSA_PSS_SHA_384"]),
        ("ECC_NIST_P256", ["ECDSA_SHA_256"]),
        ("ECC_NIST_P384", ["ECDSA_SHA_384"]),
        ("ECC_NIST_P521", ["ECDSA_SHA_512"]),
        ("ECC_SECG_P256K1", ["ECDSA_SHA_256"]),
    ],
)
def test_signatures_verify_outside_mamori(kms, spec, algorithms):
    key = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert key["SigningAlgorithms"]
    public = public_key(kms, key["KeyId"])
    message = b"sign me, " + spec.encode()
    for algorithm in algorithms:
        digest = _HASH[algorithm.rsplit("_", 1)[1]]()
        for message_type in ("RAW", "DIGEST"):
            if message_type == "DIGEST":
                h = hashes.Hash(_HASH[algorithm.rsplit("_", 1)[1]]())
                h.update(message)
                payload = h.finalize()
            else:
                payload = message
            signature = kms.sign(
                KeyId=key["KeyId"],
                Message=payload,
                MessageType=message_type,
                SigningAlgorithm=algorithm,
            )["Signature"]
            if algorithm.startswith("ECDSA"):
                public.verify(signature, message, ec.ECDSA(digest))
            elif algorithm.startswith("RSASSA_PSS"):
                pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
                public.verify(signature, message, pss, digest)
            else:
                public.verify(signature, message, padding.PKCS1v15(), digest)
            assert kms.verify(
                KeyId=key["KeyId"],
                Message=payload,
                MessageType=message_type,
                Signature=signature,
                SigningAlgorithm=algorithm,
            )["SignatureValid"]
    with pytest.raises(ClientError) as error:
        kms.verify(
            KeyId=key["KeyId"],
            Message=b"another message",
            Signature=signature,
            SigningAlgorithm=algorithms[0],
        )
    assert code(error) == "KMSInvalidSignatureException"
    with pytest.raises(ClientError) as error:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert code(error) == "InvalidKeyUsageException"


def test_digest_of_wrong_length_is_rejected(kms):
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as error:
        kms.sign(
            KeyId=key, Message=b"short", MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256"
        )
    assert code(error) == "ValidationException"
    with pytest.raises(ClientError) as error:
        kms.sign(KeyId=key, Message=b"m", SigningAlgorithm="ECDSA_SHA_384")
    assert code(error) == "InvalidKeyUsageException"


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
def test_rsa_encryption_from_outside_decrypts_inside(kms, algorithm):
    key = kms.create_key(KeySpec="RSA_3072", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    assert key["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    digest = hashes.SHA256() if algorithm.endswith("256") else hashes.SHA1()
    oaep = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    outside = public_key(kms, key["KeyId"]).encrypt(b"to kms", oaep)
    out = kms.decrypt(CiphertextBlob=outside, KeyId=key["KeyId"], EncryptionAlgorithm=algorithm)
    assert out["Plaintext"] == b"to kms"
    inside = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"round", EncryptionAlgorithm=algorithm)
    assert (
        kms.decrypt(
            CiphertextBlob=inside["CiphertextBlob"],
            KeyId=key["KeyId"],
            EncryptionAlgorithm=algorithm,
        )["Plaintext"]
        == b"round"
    )
    with pytest.raises(ClientError) as error:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")  # SYMMETRIC_DEFAULT on an RSA key
    assert code(error) == "InvalidKeyUsageException"


def test_hmac_keys(kms):
    for bits in (224, 256, 384, 512):
        key = kms.create_key(KeySpec=f"HMAC_{bits}", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
        assert key["MacAlgorithms"] == [f"HMAC_SHA_{bits}"]
        mac = kms.generate_mac(KeyId=key["KeyId"], Message=b"msg", MacAlgorithm=f"HMAC_SHA_{bits}")
        assert len(mac["Mac"]) == bits // 8
        assert kms.verify_mac(
            KeyId=key["KeyId"], Message=b"msg", Mac=mac["Mac"], MacAlgorithm=f"HMAC_SHA_{bits}"
        )["MacValid"]
        with pytest.raises(ClientError) as error:
            kms.verify_mac(
                KeyId=key["KeyId"], Message=b"msg!", Mac=mac["Mac"], MacAlgorithm=f"HMAC_SHA_{bits}"
            )
        assert code(error) == "KMSInvalidMacException"
    with pytest.raises(ClientError) as error:
        kms.generate_mac(KeyId=key["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256")
    assert code(error) == "InvalidKeyUsageException"
    with pytest.raises(ClientError) as error:
        kms.get_public_key(KeyId=key["KeyId"])
    assert code(error) == "UnsupportedOperationException"
    with pytest.raises(ClientError) as error:
        kms.create_key(KeySpec="HMAC_256")  # KeyUsage must say GENERATE_VERIFY_MAC
    assert code(error) == "ValidationException"


def test_derive_shared_secret_matches_local_ecdh(kms):
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]
    assert key["KeyAgreementAlgorithms"] == ["ECDH"]
    mine = ec.generate_private_key(ec.SECP256R1())
    mine_public = mine.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    shared = kms.derive_shared_secret(
        KeyId=key["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=mine_public
    )["SharedSecret"]
    assert shared == mine.exchange(ec.ECDH(), public_key(kms, key["KeyId"]))
    other_curve = (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ClientError) as error:
        kms.derive_shared_secret(
            KeyId=key["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=other_curve
        )
    assert code(error) == "ValidationException"


@pytest.mark.parametrize("pair_spec", ["RSA_2048", "ECC_NIST_P256", "ECC_SECG_P256K1"])
def test_generate_data_key_pair(kms, pair_spec):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    pair = kms.generate_data_key_pair(
        KeyId=key, KeyPairSpec=pair_spec, EncryptionContext={"use": "pair"}
    )
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    public_der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public_der == pair["PublicKey"]
    opened = kms.decrypt(
        CiphertextBlob=pair["PrivateKeyCiphertextBlob"], EncryptionContext={"use": "pair"}
    )
    assert opened["Plaintext"] == pair["PrivateKeyPlaintext"]
    without = kms.generate_data_key_pair_without_plaintext(KeyId=key, KeyPairSpec=pair_spec)
    assert "PrivateKeyPlaintext" not in without and without["PublicKey"]


def test_ed25519_message_types_and_the_prehashed_algorithm(kms):
    key = kms.create_key(KeySpec="ECC_NIST_EDWARDS25519", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    digest = hashlib.sha512(b"m").digest()
    signature = kms.sign(KeyId=key["KeyId"], Message=b"m", SigningAlgorithm="ED25519_SHA_512")
    public_key(kms, key["KeyId"]).verify(signature["Signature"], b"m")
    wrong_types = [("ED25519_SHA_512", "DIGEST", digest), ("ED25519_PH_SHA_512", "RAW", b"m")]
    for algorithm, message_type, message in wrong_types:
        with pytest.raises(ClientError) as error:
            kms.sign(
                KeyId=key["KeyId"],
                Message=message,
                MessageType=message_type,
                SigningAlgorithm=algorithm,
            )
        assert code(error) == "ValidationException"
    # AWS offers Ed25519ph; mamori has no library primitive for it and says so.
    with pytest.raises(ClientError) as error:
        kms.sign(
            KeyId=key["KeyId"],
            Message=digest,
            MessageType="DIGEST",
            SigningAlgorithm="ED25519_PH_SHA_512",
        )
    assert code(error) == "UnsupportedOperationException"
    assert "ED25519_PH_SHA_512" in error.value.response["Error"]["Message"]
