"""The seal: secret material is written to the store only wrapped under the node's master key.

Like Vault's barrier, every secret (KMS key material, private keys, Cognito client secrets, ...)
passes :class:`Sealer` before it reaches a table. A sealed blob is::

    version (1 byte, 0x01) | key id (4 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext + tag

* The data key is derived from the 32-byte master key with HKDF-SHA256 (``info`` names the
  purpose), so the master key itself is never used directly as a cipher key.
* The key id (first 4 bytes of an HMAC of the master key) tells "sealed under another master key"
  apart from tampering, and leaves room for a keyring when the master key is rotated.
* The nonce is 96 random bits per blob; the header and the caller's ``context`` are the AAD, so
  a blob sealed for one purpose (e.g. ``b"kms:key-material:<key-id>"``) cannot be unsealed for
  another, and the header cannot be altered.

The master key comes from ``MAMORI_MASTER_KEY`` (64 hex digits, or base64 of 32 bytes) or from
``<data_dir>/master.key``, created on first start with mode 0600. A key file whose mode grants
any access to group or others is **refused** (like ssh refuses such private keys): fix it with
``chmod 600``. The key file holds the key as base64 text, so it can be copied into
``MAMORI_MASTER_KEY`` for another node sharing the same PostgreSQL database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_FILE_NAME = "master.key"
KEY_SIZE = 32
VERSION = 1
_NONCE_SIZE = 12
_KEY_ID_SIZE = 4
_HEADER_SIZE = 1 + _KEY_ID_SIZE + _NONCE_SIZE
_TAG_SIZE = 16


class SealError(Exception):
    """A blob cannot be unsealed: tampered, truncated, wrong master key or wrong context."""


class MasterKeyError(ValueError):
    """The master key setting or key file is unusable (message says how to fix it)."""


def parse_master_key(value: str) -> bytes:
    """Parse ``MAMORI_MASTER_KEY``: 64 hex digits, or (url-safe) base64 of exactly 32 bytes."""
    text = value.strip()
    if len(text) == 2 * KEY_SIZE:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    padded = (text + "=" * (-len(text) % 4)).encode("ascii", "replace")
    for altchars in (None, b"-_"):
        try:
            raw = base64.b64decode(padded, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) == KEY_SIZE:
            return raw
    raise MasterKeyError(
        f"MAMORI_MASTER_KEY must be {KEY_SIZE} bytes given as 64 hex digits or as base64 "
        f"(e.g. the output of: openssl rand -base64 {KEY_SIZE})"
    )


def load_master_key(data_dir: Path, env_value: str | None) -> bytes:
    """Return the node's master key: from ``env_value`` when set, else from the key file.

    The key file ``data_dir/master.key`` is created (atomically, mode 0600, 32 random bytes as
    base64) when absent. An existing key file that group or others may access is refused with
    :class:`MasterKeyError` (not merely warned about): a readable master key unseals every
    secret in the store. On Windows, where POSIX modes do not apply, the check is skipped.
    """
    if env_value is not None and env_value.strip():
        return parse_master_key(env_value)
    data_dir = Path(data_dir)
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        _create_key_file(path)
    return _read_key_file(path)


def _create_key_file(path: Path) -> None:
    key = secrets.token_bytes(KEY_SIZE)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, base64.b64encode(key) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link() fails if another process created the key first; then both use that one.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_key_file(path: Path) -> bytes:
    if os.name != "nt":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise MasterKeyError(
                f"refusing to use {path}: its mode is {mode:04o}, but the master key must be "
                f"readable by its owner only (run: chmod 600 {path})"
            )
    raw = path.read_bytes()
    if len(raw) == KEY_SIZE:
        return raw
    try:
        return parse_master_key(raw.decode("ascii"))
    except (UnicodeDecodeError, MasterKeyError):
        raise MasterKeyError(
            f"{path} does not hold a {KEY_SIZE}-byte master key (base64, hex or raw)"
        ) from None


class Sealer:
    """AES-256-GCM sealing under a key derived from the master key (see module docstring)."""

    __slots__ = ("_aead", "_key_id")

    def __init__(self, master_key: bytes) -> None:
        if not isinstance(master_key, bytes | bytearray) or len(master_key) != KEY_SIZE:
            raise MasterKeyError(f"the master key must be exactly {KEY_SIZE} bytes")
        master_key = bytes(master_key)
        data_key = HKDF(
            algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=b"mamori seal v1"
        ).derive(master_key)
        self._aead = AESGCM(data_key)
        self._key_id = hmac.new(master_key, b"mamori key id", hashlib.sha256).digest()[
            :_KEY_ID_SIZE
        ]

    @property
    def key_id(self) -> str:
        """A short public fingerprint of the master key (hex), safe to log."""
        return self._key_id.hex()

    def seal(self, plaintext: bytes, context: bytes = b"") -> bytes:
        header = bytes([VERSION]) + self._key_id + os.urandom(_NONCE_SIZE)
        return header + self._aead.encrypt(header[1 + _KEY_ID_SIZE :], plaintext, header + context)

    def unseal(self, blob: bytes, context: bytes = b"") -> bytes:
        blob = bytes(blob)
        if len(blob) < _HEADER_SIZE + _TAG_SIZE:
            raise SealError("sealed blob is truncated")
        if blob[0] != VERSION:
            raise SealError(f"unknown seal version {blob[0]}")
        if blob[1 : 1 + _KEY_ID_SIZE] != self._key_id:
            raise SealError("blob was sealed under a different master key")
        header = blob[:_HEADER_SIZE]
        try:
            return self._aead.decrypt(
                header[1 + _KEY_ID_SIZE :], blob[_HEADER_SIZE:], header + context
            )
        except InvalidTag:
            raise SealError(
                "sealed blob failed authentication (tampered or wrong context)"
            ) from None
