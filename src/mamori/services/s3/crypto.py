"""The cryptography of object bodies and their data keys (``cryptography`` for every primitive).

Body format
    A blob is a sequence of AES-256-GCM segments. Segment ``i`` encrypts up to
    :data:`SEGMENT_SIZE` plaintext bytes (all segments but the last are full) under the blob key,
    with nonce ``nonce_prefix (4 bytes) | i (8 bytes, big endian)`` and AAD
    ``"mamori-s3-seg" | blob id | i | final flag``. The blob key is
    ``HKDF-SHA256(data key, info="mamori s3 blob v1|" + blob id)``, so every blob (an object,
    or one part of a multipart object, all sharing the object's data key) has a key of its own and
    nonces never repeat under a key. Reordered, dropped, truncated (the final flag) or swapped
    (the blob id) segments fail authentication. An empty body is one empty final segment.

Data keys
    One random 256-bit data key per object (per multipart upload), never stored in clear:
    SSE-S3 wraps it under the server key (random, sealed under the master key in the store);
    SSE-KMS keeps KMS's ciphertext blob of it; SSE-C wraps it under the customer's key, and
    keeps only a salted HMAC-SHA256 of that key to tell a wrong key from a right one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEGMENT_SIZE = 64 * 1024
TAG_SIZE = 16
CIPHER_SEGMENT = SEGMENT_SIZE + TAG_SIZE
KEY_SIZE = 32

_SERVER_KEY_SETTING = "s3.server-key"
_SERVER_KEY_CONTEXT = b"mamori:s3:server-key"
_WRAP_AAD = b"mamori-s3-data-key-v1"


class BodyIntegrityError(Exception):
    """A stored segment failed authentication (tampering, truncation or the wrong key)."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def new_data_key() -> bytes:
    return os.urandom(KEY_SIZE)


class SegmentCipher:
    """Encrypts/decrypts the segments of one blob."""

    __slots__ = ("_aad_prefix", "_aead", "_nonce_prefix")

    def __init__(self, data_key: bytes, blob_id: str, nonce_prefix: bytes) -> None:
        blob_key = HKDF(
            algorithm=hashes.SHA256(),
            length=KEY_SIZE,
            salt=None,
            info=b"mamori s3 blob v1|" + blob_id.encode("ascii"),
        ).derive(data_key)
        self._aead = AESGCM(blob_key)
        self._aad_prefix = b"mamori-s3-seg|" + blob_id.encode("ascii") + b"|"
        self._nonce_prefix = nonce_prefix

    def _nonce(self, index: int) -> bytes:
        return self._nonce_prefix + struct.pack(">Q", index)

    def _aad(self, index: int, final: bool) -> bytes:
        return self._aad_prefix + struct.pack(">QB", index, 1 if final else 0)

    def encrypt(self, index: int, plaintext: bytes, final: bool) -> bytes:
        return self._aead.encrypt(self._nonce(index), plaintext, self._aad(index, final))

    def decrypt(self, index: int, ciphertext: bytes, final: bool) -> bytes:
        try:
            return self._aead.decrypt(self._nonce(index), ciphertext, self._aad(index, final))
        except InvalidTag:
            raise BodyIntegrityError(f"segment {index} failed authentication") from None


def segment_count(size: int) -> int:
    return max(1, -(-size // SEGMENT_SIZE))


# --- wrapping data keys ------------------------------------------------------------------------


def wrap(wrapping_key: bytes, data_key: bytes, context: bytes = b"") -> str:
    nonce = os.urandom(12)
    return b64(nonce + AESGCM(wrapping_key).encrypt(nonce, data_key, _WRAP_AAD + context))


def unwrap(wrapping_key: bytes, wrapped: str, context: bytes = b"") -> bytes:
    raw = unb64(wrapped)
    try:
        return AESGCM(wrapping_key).decrypt(raw[:12], raw[12:], _WRAP_AAD + context)
    except InvalidTag:
        raise BodyIntegrityError("data key failed authentication") from None


class ServerKey:
    """SSE-S3's server key: random, created once, kept in the store sealed under the master key.

    The sealed value is read on every use (one small query) and unsealed once per value, so a
    store reset or another node's first write is never shadowed by a stale cached key.
    """

    def __init__(self, store) -> None:
        self.store = store
        self._cache: tuple[str, bytes] | None = None
        self._lock = threading.Lock()

    def get(self, conn) -> bytes:
        value = self.store.get_setting(conn, _SERVER_KEY_SETTING)
        if value is None:
            value = self._create()
        cached = self._cache
        if cached is not None and cached[0] == value:
            return cached[1]
        key = self.store.sealer.unseal(unb64(value), _SERVER_KEY_CONTEXT)
        self._cache = (value, key)
        return key

    def _create(self) -> str:
        with self._lock, self.store.begin() as conn:
            # Another node may have created it meanwhile: the first one written wins.
            value = self.store.get_setting(conn, _SERVER_KEY_SETTING)
            if value is None:
                value = b64(self.store.sealer.seal(new_data_key(), _SERVER_KEY_CONTEXT))
                self.store.set_setting(conn, _SERVER_KEY_SETTING, value)
            return value


# --- SSE-C -------------------------------------------------------------------------------------


def customer_key_proof(key: bytes) -> dict[str, str]:
    """What is kept to recognise a customer key later: a random salt and HMAC-SHA256."""
    salt = os.urandom(16)
    return {"salt": b64(salt), "hmac": b64(hmac.new(salt, key, hashlib.sha256).digest())}


def customer_key_matches(key: bytes, proof: dict[str, str]) -> bool:
    expected = unb64(proof["hmac"])
    actual = hmac.new(unb64(proof["salt"]), key, hashlib.sha256).digest()
    return hmac.compare_digest(expected, actual)
