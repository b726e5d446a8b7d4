"""Object bodies on the local filesystem, encrypted as they stream in and out.

A body is written to ``<data_dir>/s3/tmp/`` segment by segment as the request streams in
(never held whole in memory), fsynced, then renamed to ``<data_dir>/s3/blobs/<aa>/<blob id>``;
only then is its row written. Reading opens the file at once (so a concurrent overwrite, which
unlinks the file only after its own commit, cannot pull it away) and decrypts only the segments a
range needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mamori.services.s3.crypto import (
    CIPHER_SEGMENT,
    SEGMENT_SIZE,
    TAG_SIZE,
    SegmentCipher,
    segment_count,
)

# How many ciphertext segments to read per file read when streaming a body out.
READ_BATCH = 16


def new_blob_id() -> str:
    return secrets.token_hex(16)


@dataclass
class WrittenBlob:
    id: str
    size: int
    nonce: str
    md5: bytes
    checksums: dict[str, Any] = field(default_factory=dict)  # algorithm -> hasher

    def entry(self) -> dict[str, Any]:
        return {"id": self.id, "size": self.size, "nonce": self.nonce}


class BlobStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "s3"
        self.blob_dir = self.root / "blobs"
        self.tmp_dir = self.root / "tmp"

    def _ensure(self) -> None:
        self.blob_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, blob_id: str) -> Path:
        return self.blob_dir / blob_id[:2] / blob_id

    # -- writing ----------------------------------------------------------------------------

    async def write(
        self,
        chunks: AsyncIterator[bytes],
        data_key: bytes,
        checksum_factories: dict[str, Callable[[], Any]] | None = None,
        limit: int | None = None,
    ) -> WrittenBlob:
        """Encrypt ``chunks`` into a new blob file; returns its id, size, MD5 and checksums."""
        self._ensure()
        blob_id = new_blob_id()
        nonce_prefix = os.urandom(4)
        cipher = SegmentCipher(data_key, blob_id, nonce_prefix)
        md5 = hashlib.md5(usedforsecurity=False)
        hashers = {name: make() for name, make in (checksum_factories or {}).items()}
        tmp = self.tmp_dir / f"{blob_id}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        size = 0
        index = 0
        buffer = bytearray()
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if limit is not None and size > limit:
                    raise _too_large(limit)
                md5.update(chunk)
                for hasher in hashers.values():
                    hasher.update(chunk)
                buffer += chunk
                # Hold back the last segment until we know whether it is the final one.
                if len(buffer) > SEGMENT_SIZE:
                    out = bytearray()
                    view = memoryview(buffer)
                    start = 0
                    while len(buffer) - start > SEGMENT_SIZE:
                        out += cipher.encrypt(index, view[start : start + SEGMENT_SIZE], False)
                        index += 1
                        start += SEGMENT_SIZE
                    view.release()
                    del buffer[:start]
                    _write_all(fd, out)
            _write_all(fd, cipher.encrypt(index, bytes(buffer), True))
            await asyncio.to_thread(os.fsync, fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        final = self.path(blob_id)
        final.parent.mkdir(exist_ok=True, mode=0o700)
        os.replace(tmp, final)
        return WrittenBlob(blob_id, size, nonce_prefix.hex(), md5.digest(), hashers)

    def delete(self, blob_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(blob_id).unlink()

    def discard(self, blob: WrittenBlob) -> None:
        self.delete(blob.id)

    def clear(self) -> None:
        """Delete every blob file (after a reset, no row refers to one). Only the ``<aa>``
        directories under ``blob_dir`` go, never what a symbolic link points to; ``tmp/``
        stays, as it holds the bodies of uploads in progress."""
        if not self.blob_dir.is_dir():
            return
        for shard in self.blob_dir.iterdir():
            if shard.is_dir() and not shard.is_symlink():
                shutil.rmtree(shard, ignore_errors=True)

    # -- reading ----------------------------------------------------------------------------

    def open(self, blob_id: str):
        return open(self.path(blob_id), "rb", buffering=0)

    def read_range(
        self, handle, entry: dict[str, Any], data_key: bytes, start: int, end: int
    ) -> Iterator[bytes]:
        """Plaintext bytes [start, end) of one blob, decrypting only the segments needed."""
        size = entry["size"]
        if end <= start:
            # Still authenticate the final segment of an empty body.
            if size == 0:
                cipher = SegmentCipher(data_key, entry["id"], bytes.fromhex(entry["nonce"]))
                handle.seek(0)
                cipher.decrypt(0, handle.read(TAG_SIZE), True)
            return
        cipher = SegmentCipher(data_key, entry["id"], bytes.fromhex(entry["nonce"]))
        count = segment_count(size)
        first = start // SEGMENT_SIZE
        last = (end - 1) // SEGMENT_SIZE
        index = first
        handle.seek(first * CIPHER_SEGMENT)
        while index <= last:
            batch_end = min(last + 1, index + READ_BATCH)
            want = 0
            for i in range(index, batch_end):
                want += _plain_len(size, i, count) + TAG_SIZE
            data = _read_exact(handle, want)
            offset = 0
            for i in range(index, batch_end):
                plain_len = _plain_len(size, i, count)
                piece = cipher.decrypt(
                    i, data[offset : offset + plain_len + TAG_SIZE], i == count - 1
                )
                offset += plain_len + TAG_SIZE
                seg_start = i * SEGMENT_SIZE
                lo = max(start - seg_start, 0)
                hi = min(end - seg_start, plain_len)
                yield piece if (lo == 0 and hi == plain_len) else piece[lo:hi]
            index = batch_end


def _plain_len(size: int, index: int, count: int) -> int:
    if index < count - 1:
        return SEGMENT_SIZE
    return size - (count - 1) * SEGMENT_SIZE


def _read_exact(handle, n: int) -> bytes:
    data = handle.read(n)
    if len(data) == n:
        return data
    chunks = [data]
    got = len(data)
    while got < n:
        more = handle.read(n - got)
        if not more:
            from mamori.services.s3.crypto import BodyIntegrityError

            raise BodyIntegrityError("blob file is truncated")
        chunks.append(more)
        got += len(more)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _too_large(limit: int):
    from mamori.errors import AwsError

    return AwsError(
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
        status=400,
    )
