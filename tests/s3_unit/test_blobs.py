"""The encrypted blob format: round trips, ranges, and tampering detected."""

from __future__ import annotations

import asyncio
import os

import pytest

from mamori.errors import AwsError
from mamori.services.s3.blobs import BlobStore
from mamori.services.s3.bodies import open_body, parse_range
from mamori.services.s3.crypto import (
    CIPHER_SEGMENT,
    SEGMENT_SIZE,
    BodyIntegrityError,
    customer_key_matches,
    customer_key_proof,
    new_data_key,
    unwrap,
    wrap,
)


async def _chunks(data: bytes, size: int):
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _write(store: BlobStore, data: bytes, key: bytes, chunk: int = 7000):
    return asyncio.run(store.write(_chunks(data, chunk), key))


@pytest.mark.parametrize(
    "size", [0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 3 * SEGMENT_SIZE + 17]
)
def test_round_trip_and_ranges(tmp_path, size):
    store = BlobStore(tmp_path)
    key = new_data_key()
    data = os.urandom(size)
    blob = _write(store, data, key)
    assert blob.size == size
    entry = [blob.entry()]
    assert b"".join(open_body(store, entry, key, 0, size)) == data
    for start, end in [(0, 1), (SEGMENT_SIZE - 3, SEGMENT_SIZE + 3), (size // 2, size)]:
        if start < end <= size:
            assert b"".join(open_body(store, entry, key, start, end)) == data[start:end]
    assert os.path.getsize(store.path(blob.id)) == max(1, -(-size // SEGMENT_SIZE)) * 16 + size


def test_tampering_truncation_and_wrong_key_are_detected(tmp_path):
    store = BlobStore(tmp_path)
    key = new_data_key()
    data = os.urandom(3 * SEGMENT_SIZE)
    blob = _write(store, data, key)
    entry = [blob.entry()]
    path = store.path(blob.id)
    original = path.read_bytes()
    with pytest.raises(BodyIntegrityError):
        b"".join(open_body(store, entry, new_data_key(), 0, len(data)))
    flipped = bytearray(original)
    flipped[CIPHER_SEGMENT + 5] ^= 1
    path.write_bytes(bytes(flipped))
    with pytest.raises(BodyIntegrityError):
        b"".join(open_body(store, entry, key, 0, len(data)))
    # Dropping the final segment and claiming a shorter body: the new last segment is not final.
    path.write_bytes(original[: 2 * CIPHER_SEGMENT])
    short = [{**blob.entry(), "size": 2 * SEGMENT_SIZE}]
    with pytest.raises(BodyIntegrityError):
        b"".join(open_body(store, short, key, 0, 2 * SEGMENT_SIZE))
    # Swapping segments.
    swapped = (
        original[CIPHER_SEGMENT : 2 * CIPHER_SEGMENT]
        + original[:CIPHER_SEGMENT]
        + original[2 * CIPHER_SEGMENT :]
    )
    path.write_bytes(swapped)
    with pytest.raises(BodyIntegrityError):
        b"".join(open_body(store, entry, key, 0, SEGMENT_SIZE))
    # Another blob's file under this blob's id.
    other = _write(store, data, key)
    path.write_bytes(store.path(other.id).read_bytes())
    with pytest.raises(BodyIntegrityError):
        b"".join(open_body(store, entry, key, 0, len(data)))


def test_plaintext_never_on_disk(tmp_path):
    store = BlobStore(tmp_path)
    marker = b"MARKER-" * 20000
    blob = _write(store, marker, new_data_key())
    assert b"MARKER-" not in store.path(blob.id).read_bytes()
    assert not list((tmp_path / "s3" / "tmp").iterdir())


def test_key_wrapping_and_customer_proof():
    wrapping, data_key = new_data_key(), new_data_key()
    wrapped = wrap(wrapping, data_key, b"ctx")
    assert unwrap(wrapping, wrapped, b"ctx") == data_key
    with pytest.raises(BodyIntegrityError):
        unwrap(wrapping, wrapped, b"other")
    customer = os.urandom(32)
    proof = customer_key_proof(customer)
    assert customer.hex() not in str(proof)
    assert customer_key_matches(customer, proof)
    assert not customer_key_matches(os.urandom(32), proof)


def test_parse_range():
    assert parse_range(None, 10) is None
    assert parse_range("bytes=0-4", 10) == (0, 5)
    assert parse_range("bytes=5-", 10) == (5, 10)
    assert parse_range("bytes=-3", 10) == (7, 10)
    assert parse_range("bytes=8-100", 10) == (8, 10)
    assert parse_range("bytes=0-1,3-4", 10) is None
    assert parse_range("items=0-1", 10) is None
    with pytest.raises(AwsError):
        parse_range("bytes=10-", 10)
