"""The cryptographic primitives behind each key spec — every one from ``cryptography``.

Key material is bytes: 32 random bytes for a symmetric key, the HMAC key for an HMAC key, the
PKCS#8 DER private key for an asymmetric key. :class:`LoadedKey` is material made ready to use
(an ``AESGCM`` instance, a private key object), which the key store caches per material id.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mamori.services.kms.specs import SPECS, KeySpec

_CURVES = {
    "secp256r1": ec.SECP256R1,
    "secp384r1": ec.SECP384R1,
    "secp521r1": ec.SECP521R1,
    "secp256k1": ec.SECP256K1,
}
_HASHES = {
    "1": hashes.SHA1,
    "224": hashes.SHA224,
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}


class CryptoFailure(Exception):
    """Decryption/verification failed (wrong key, tampered ciphertext, bad signature...)."""


def generate_material(spec: KeySpec) -> bytes:
    if spec.symmetric:
        return os.urandom(32)
    if spec.hmac_bytes:
        return os.urandom(spec.hmac_bytes)
    return private_key_der(generate_private_key(spec))


def generate_private_key(spec: KeySpec):
    if spec.rsa_bits:
        return rsa.generate_private_key(public_exponent=65537, key_size=spec.rsa_bits)
    if spec.curve == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(_CURVES[spec.curve]())


def private_key_der(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_der(public_key) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def check_private_key(spec: KeySpec, material: bytes):
    """The private key in ``material`` (PKCS#8 DER) if it is of ``spec``, else None."""
    try:
        key = serialization.load_der_private_key(material, password=None)
    except (ValueError, TypeError):
        return None
    if spec.rsa_bits:
        return key if isinstance(key, rsa.RSAPrivateKey) and key.key_size == spec.rsa_bits else None
    if spec.curve == "ed25519":
        return key if isinstance(key, ed25519.Ed25519PrivateKey) else None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == spec.curve:
        return key
    return None


@dataclass(frozen=True)
class LoadedKey:
    spec: KeySpec
    aead: AESGCM | None = None
    mac_key: bytes = b""
    private: Any = None

    @property
    def public_der(self) -> bytes:
        return public_key_der(self.private.public_key())


def load(spec_name: str, material: bytes) -> LoadedKey:
    spec = SPECS[spec_name]
    if spec.symmetric:
        return LoadedKey(spec, aead=AESGCM(material))
    if spec.hmac_bytes:
        return LoadedKey(spec, mac_key=material)
    return LoadedKey(spec, private=serialization.load_der_private_key(material, password=None))


# Symmetric (AES-256-GCM)


def seal(key: LoadedKey, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    nonce = os.urandom(12)
    return nonce, key.aead.encrypt(nonce, plaintext, aad)


def unseal(key: LoadedKey, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    try:
        return key.aead.decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise CryptoFailure from None


# RSA encryption


def _oaep(algorithm: str) -> padding.OAEP:
    digest = _HASHES[algorithm.rsplit("_", 1)[1]]()
    return padding.OAEP(mgf=padding.MGF1(algorithm=digest), algorithm=digest, label=None)


def rsa_max_plaintext(key: LoadedKey, algorithm: str) -> int:
    digest_size = _HASHES[algorithm.rsplit("_", 1)[1]].digest_size
    return key.private.key_size // 8 - 2 * digest_size - 2


def rsa_encrypt(public_key, plaintext: bytes, algorithm: str) -> bytes:
    return public_key.encrypt(plaintext, _oaep(algorithm))


def rsa_decrypt(private_key, ciphertext: bytes, algorithm: str) -> bytes:
    try:
        return private_key.decrypt(ciphertext, _oaep(algorithm))
    except ValueError:
        raise CryptoFailure from None


# Signing


def digest_of(algorithm: str) -> hashes.HashAlgorithm:
    return _HASHES[algorithm.rsplit("_", 1)[1]]()


def _sign_args(key: LoadedKey, algorithm: str, prehashed: bool):
    digest = digest_of(algorithm)
    hash_arg = utils.Prehashed(digest) if prehashed else digest
    if algorithm.startswith("RSASSA_PSS"):
        pad = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        return (pad, hash_arg)
    if algorithm.startswith("RSASSA_PKCS1"):
        return (padding.PKCS1v15(), hash_arg)
    return (ec.ECDSA(hash_arg),)


def sign(key: LoadedKey, message: bytes, algorithm: str, prehashed: bool) -> bytes:
    if algorithm == "ED25519_SHA_512":
        return key.private.sign(message)
    return key.private.sign(message, *_sign_args(key, algorithm, prehashed))


def verify(key: LoadedKey, signature: bytes, message: bytes, algorithm: str, prehashed: bool):
    public = key.private.public_key()
    try:
        if algorithm == "ED25519_SHA_512":
            public.verify(signature, message)
        else:
            public.verify(signature, message, *_sign_args(key, algorithm, prehashed))
    except (InvalidSignature, ValueError):
        raise CryptoFailure from None


# HMAC


def mac(key: LoadedKey, message: bytes, algorithm: str) -> bytes:
    name = "sha" + algorithm.rsplit("_", 1)[1]
    return hmac.new(key.mac_key, message, getattr(hashlib, name)).digest()


# ECDH


def derive_shared_secret(key: LoadedKey, peer_public_der: bytes) -> bytes:
    try:
        peer = serialization.load_der_public_key(peer_public_der)
    except (ValueError, TypeError):
        raise CryptoFailure from None
    if not isinstance(peer, ec.EllipticCurvePublicKey) or peer.curve.name != key.spec.curve:
        raise CryptoFailure
    return key.private.exchange(ec.ECDH(), peer)
