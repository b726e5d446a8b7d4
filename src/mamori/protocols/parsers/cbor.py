"""The ``smithy-rpc-v2-cbor`` protocol: ``POST /service/<Service>/operation/<Op>`` with a CBOR
body (an empty body is ``{}``); blobs are byte strings, timestamps CBOR tag 1 (epoch seconds)."""

from __future__ import annotations

from typing import Any

import cbor2

from mamori.protocols.parsers.common import Mismatch, TreeDecoder, serialization_error
from mamori.protocols.parsers.json import JsonParser


def _raw_tag(tag: int):
    return lambda value, immutable: cbor2.CBORTag(tag, value)


# Only tag 1 (epoch timestamp) means something to Smithy. Every other tag cbor2 knows how to
# decode (regular expressions, shared references, big decimals, ...) stays an inert CBORTag,
# which the shape decoder then rejects: untrusted input never builds those objects.
_SEMANTIC_DECODERS = {tag: _raw_tag(tag) for tag in range(1200) if tag != 1}
_SEMANTIC_DECODERS[55799] = _raw_tag(55799)
_MAX_DEPTH = 64


def load_cbor_map(body: bytes) -> dict[Any, Any]:
    """The body as a CBOR map (``{}`` when empty); AWS's SerializationException otherwise."""
    if not body:
        return {}
    try:
        data = cbor2.loads(body, semantic_decoders=_SEMANTIC_DECODERS, max_depth=_MAX_DEPTH)
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError, EOFError):
        raise serialization_error("The CBOR request body could not be decoded.") from None
    if type(data) is not dict:
        raise serialization_error("The CBOR request body must be a map.")
    return data


class CborDecoder(TreeDecoder):
    """Blobs are CBOR byte strings (never base64 text)."""

    def decode_blob(self, value: Any, path: str) -> bytes:
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        raise Mismatch(path, "blob", value)


class CborParser(JsonParser):
    protocol = "smithy-rpc-v2-cbor"
    decoder_class = CborDecoder

    def load(self, body: bytes) -> dict[Any, Any]:
        return load_cbor_map(body)
