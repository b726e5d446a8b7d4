"""Blob members are strict base64: mamori's decoder accepts and refuses exactly what
``base64.b64decode(..., validate=True)`` does (after dropping line breaks and restoring
missing padding, as the SDKs' encoders never need but hand-written requests do)."""

from __future__ import annotations

import base64
import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mamori.protocols.parsers.common import b64decode

_characters = st.sampled_from(
    list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \t\r\n.")
)


def _reference(text: str) -> bytes | None:
    value = text.encode("ascii").replace(b"\n", b"").replace(b"\r", b"").strip()
    value += b"=" * (-len(value) % 4)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _mamori(text: str) -> bytes | None:
    try:
        return b64decode(text)
    except ValueError:
        return None


@given(st.lists(_characters, max_size=16).map("".join))
def test_accepts_and_refuses_what_validated_b64decode_does(text: str) -> None:
    assert _mamori(text) == _reference(text)


@given(st.binary(max_size=64))
def test_every_encoding_round_trips(data: bytes) -> None:
    encoded = base64.b64encode(data).decode("ascii")
    assert b64decode(encoded) == data
    assert b64decode(encoded.rstrip("=")) == data  # padding optional


@pytest.mark.parametrize("text", ["QQ=A", "=QUJD", "QU JD", "QUJD!", "QQ===", "é"])
def test_malformed(text: str) -> None:
    with pytest.raises(ValueError):
        b64decode(text)
