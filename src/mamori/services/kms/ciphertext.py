"""mamori's symmetric ciphertext blob: it names its key and key material, so Decrypt needs no
KeyId (as AWS's blobs do).

    0x01 | region length (1) | region (ASCII) | account (12 ASCII digits) | key id (16, UUID)
         | key material id (32) | nonce (12) | AES-256-GCM ciphertext + tag (16)

The AAD of the AES-GCM encryption is the header (everything before the nonce) followed by the
canonical encryption context (:func:`canonical_context`), so neither the key reference nor the
context can be changed without the decryption failing.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass

VERSION = 1
_ACCOUNT = 12
_KEY = 16
_MATERIAL = 32
_NONCE = 12
_TAG = 16


class MalformedCiphertext(Exception):
    pass


@dataclass(frozen=True)
class Envelope:
    region: str
    account: str
    key_id: str
    material_id: str
    header: bytes
    nonce: bytes
    ciphertext: bytes


def canonical_context(context: dict[str, str] | None) -> bytes:
    """The encryption context as bytes, independent of the order its pairs came in."""
    if not context:
        return b""
    return json.dumps(context, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@functools.lru_cache(maxsize=4096)
def header(region: str, account: str, key_id: str, material_id: str) -> bytes:
    """The header of every blob under one key material: the same bytes each time, so built
    once (parsing the key id as a UUID is most of its cost)."""
    region_bytes = region.encode("ascii")
    return (
        bytes([VERSION, len(region_bytes)])
        + region_bytes
        + account.encode("ascii")
        + uuid.UUID(key_id).bytes
        + bytes.fromhex(material_id)
    )


def encode(head: bytes, nonce: bytes, ciphertext: bytes) -> bytes:
    return head + nonce + ciphertext


def decode(blob: bytes) -> Envelope:
    try:
        if blob[0] != VERSION:
            raise MalformedCiphertext
        n = blob[1]
        pos = 2 + n
        region = blob[2:pos].decode("ascii")
        account = blob[pos : pos + _ACCOUNT].decode("ascii")
        pos += _ACCOUNT
        key_id = str(uuid.UUID(bytes=blob[pos : pos + _KEY]))
        pos += _KEY
        material_id = blob[pos : pos + _MATERIAL].hex()
        pos += _MATERIAL
        head = blob[:pos]
        nonce = blob[pos : pos + _NONCE]
        body = blob[pos + _NONCE :]
    except (IndexError, ValueError, UnicodeDecodeError):
        raise MalformedCiphertext from None
    if len(body) < _TAG or len(nonce) != _NONCE or not account.isdigit():
        raise MalformedCiphertext
    return Envelope(region, account, key_id, material_id, head, nonce, body)
