"""Key specs, key usages and the algorithms each combination offers (AWS's tables)."""

from __future__ import annotations

from dataclasses import dataclass, field

RSA_ENCRYPTION = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")
RSA_SIGNING = (
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
)


@dataclass(frozen=True)
class KeySpec:
    name: str
    # usage -> algorithms offered for it
    usages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    symmetric: bool = False
    hmac_bytes: int = 0
    rsa_bits: int = 0
    curve: str = ""
    # Algorithms AWS offers for this spec that mamori cannot perform yet: no well-kept library
    # primitive for them (algorithm -> what is missing).
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def asymmetric(self) -> bool:
        return bool(self.rsa_bits or self.curve)


def _rsa(bits: int) -> KeySpec:
    return KeySpec(
        f"RSA_{bits}",
        {"ENCRYPT_DECRYPT": RSA_ENCRYPTION, "SIGN_VERIFY": RSA_SIGNING},
        rsa_bits=bits,
    )


def _nist(name: str, curve: str, digest: str) -> KeySpec:
    return KeySpec(
        name, {"SIGN_VERIFY": (f"ECDSA_SHA_{digest}",), "KEY_AGREEMENT": ("ECDH",)}, curve=curve
    )


def _hmac(bits: int) -> KeySpec:
    return KeySpec(
        f"HMAC_{bits}", {"GENERATE_VERIFY_MAC": (f"HMAC_SHA_{bits}",)}, hmac_bytes=bits // 8
    )


SPECS: dict[str, KeySpec] = {
    spec.name: spec
    for spec in (
        KeySpec("SYMMETRIC_DEFAULT", {"ENCRYPT_DECRYPT": ("SYMMETRIC_DEFAULT",)}, symmetric=True),
        _rsa(2048),
        _rsa(3072),
        _rsa(4096),
        _nist("ECC_NIST_P256", "secp256r1", "256"),
        _nist("ECC_NIST_P384", "secp384r1", "384"),
        _nist("ECC_NIST_P521", "secp521r1", "512"),
        KeySpec("ECC_SECG_P256K1", {"SIGN_VERIFY": ("ECDSA_SHA_256",)}, curve="secp256k1"),
        KeySpec(
            "ECC_NIST_EDWARDS25519",
            {"SIGN_VERIFY": ("ED25519_SHA_512",)},
            curve="ed25519",
            unavailable={
                "ED25519_PH_SHA_512": "Ed25519ph (RFC 8032 HashEdDSA), which the cryptography "
                "library does not offer (pyca/cryptography issue 10969)"
            },
        ),
        _hmac(224),
        _hmac(256),
        _hmac(384),
        _hmac(512),
    )
}

# The MessageType a signing algorithm requires, where it is not free (AWS's Sign documentation).
REQUIRED_MESSAGE_TYPES = {"ED25519_SHA_512": "RAW", "ED25519_PH_SHA_512": "DIGEST"}

# Key pair specs GenerateDataKeyPair offers (a subset of the key specs).
DATA_KEY_PAIR_SPECS = (
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "ECC_NIST_EDWARDS25519",
)

ALGORITHM_FIELDS = {
    "ENCRYPT_DECRYPT": "EncryptionAlgorithms",
    "SIGN_VERIFY": "SigningAlgorithms",
    "GENERATE_VERIFY_MAC": "MacAlgorithms",
    "KEY_AGREEMENT": "KeyAgreementAlgorithms",
}

# Grants (AWS's "Grant operations"). A grant may allow only operations its key supports: the
# cryptographic operations of the key's type and usage, and the grant-management operations
# every key has. Encryption context constraints fit only operations that take an encryption
# context (the cryptographic operations of symmetric encryption keys); DescribeKey and
# RetireGrant may come along, but the constraint does not apply to them.
GRANT_MANAGEMENT_OPERATIONS = frozenset({"CreateGrant", "DescribeKey", "RetireGrant"})
UNCONSTRAINED_GRANT_OPERATIONS = frozenset({"DescribeKey", "RetireGrant"})
_SYMMETRIC_GRANT_OPERATIONS = frozenset(
    {
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "ReEncryptFrom",
        "ReEncryptTo",
    }
)
_ASYMMETRIC_GRANT_OPERATIONS = {
    "ENCRYPT_DECRYPT": frozenset(
        {"Decrypt", "Encrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"}
    ),
    "SIGN_VERIFY": frozenset({"Sign", "Verify", "GetPublicKey"}),
    "KEY_AGREEMENT": frozenset({"DeriveSharedSecret", "GetPublicKey"}),
}
_HMAC_GRANT_OPERATIONS = frozenset({"GenerateMac", "VerifyMac"})


def grant_key_operations(spec: KeySpec, usage: str) -> frozenset[str]:
    """The cryptographic operations a grant on a key of this spec and usage may allow."""
    if spec.symmetric:
        return _SYMMETRIC_GRANT_OPERATIONS
    if spec.hmac_bytes:
        return _HMAC_GRANT_OPERATIONS
    return _ASYMMETRIC_GRANT_OPERATIONS.get(usage, frozenset())


def grant_operations(spec: KeySpec, usage: str) -> frozenset[str]:
    """Every operation a grant on a key of this spec and usage may allow."""
    return grant_key_operations(spec, usage) | GRANT_MANAGEMENT_OPERATIONS


def constrainable_grant_operations(spec: KeySpec, usage: str) -> frozenset[str]:
    """The operations a grant with an encryption context constraint may allow on such a key."""
    with_context = grant_key_operations(spec, usage) if spec.symmetric else frozenset()
    return with_context | GRANT_MANAGEMENT_OPERATIONS
