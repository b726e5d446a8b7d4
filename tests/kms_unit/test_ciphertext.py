"""mamori's ciphertext blob and the primitives under it, without a server."""

from __future__ import annotations

import uuid

import pytest

from mamori.services.kms import ciphertext, crypto
from mamori.services.kms.specs import SPECS


def test_blob_round_trip_and_binding():
    key_id, material = str(uuid.uuid4()), "ab" * 32
    loaded = crypto.load("SYMMETRIC_DEFAULT", crypto.generate_material(SPECS["SYMMETRIC_DEFAULT"]))
    head = ciphertext.header("eu-west-3", "123456789012", key_id, material)
    aad = head + ciphertext.canonical_context({"b": "2", "a": "1"})
    nonce, body = crypto.seal(loaded, b"data", aad)
    env = ciphertext.decode(ciphertext.encode(head, nonce, body))
    assert (env.region, env.account, env.key_id, env.material_id) == (
        "eu-west-3",
        "123456789012",
        key_id,
        material,
    )
    same_context = env.header + ciphertext.canonical_context({"a": "1", "b": "2"})
    assert crypto.unseal(loaded, env.nonce, env.ciphertext, same_context) == b"data"
    with pytest.raises(crypto.CryptoFailure):
        crypto.unseal(loaded, env.nonce, env.ciphertext, env.header)


@pytest.mark.parametrize("blob", [b"", b"\x02abc", b"\x01\x09us-east-1", b"\x01" + b"\xff" * 10])
def test_malformed_blobs(blob):
    with pytest.raises(ciphertext.MalformedCiphertext):
        ciphertext.decode(blob)


def test_canonical_context_is_order_independent():
    assert ciphertext.canonical_context({"x": "1", "y": "2"}) == ciphertext.canonical_context(
        {"y": "2", "x": "1"}
    )
    assert ciphertext.canonical_context({}) == ciphertext.canonical_context(None) == b""
