"""The ``json`` protocol (1.0 and 1.1): the operation comes from ``X-Amz-Target``, the input is
the JSON body (an empty body is ``{}``); blobs are base64, timestamps epoch seconds."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from botocore.model import OperationModel

from mamori.memo import PerObject
from mamori.protocols.base import HttpRequest
from mamori.protocols.parsers.common import (
    Decoder,
    Mismatch,
    TreeDecoder,
    serialization_error,
    tree_type_error,
)
from mamori.protocols.validation import validate

# 19 digits in a row: perhaps an integer beyond 64 bits, which orjson reads as a float.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def _loads(body: bytes) -> Any:
    """``json.loads``, through orjson (several times faster on the small documents requests
    carry) wherever it reads the document the same way."""
    if _LONG_NUMBER.search(body) is None:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # NaN, numbers beyond a double, lone surrogates, a BOM: the standard library's
    return json.loads(body)


def load_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object (``{}`` when empty); AWS's SerializationException otherwise."""
    if not body or body.isspace():
        return {}
    try:
        data = _loads(body)
    except (ValueError, RecursionError):
        raise serialization_error("Start of structure or map found where not expected.") from None
    if type(data) is not dict:
        raise serialization_error("Start of structure or map expected.")
    return data


class JsonParser:
    """Parses a body that decodes to a tree (JSON here, CBOR in the subclass) against the
    operation's input shape. The compiled decoder is looked up per operation object, so a
    request costs one body decode, one tree walk and one validation walk."""

    protocol = "json"
    decoder_class: type[TreeDecoder] = TreeDecoder

    def __init__(self) -> None:
        self.decoder = self.decoder_class()
        self._decoders: PerObject[OperationModel, Decoder | None] = PerObject(self._decoder_of)

    def _decoder_of(self, operation: OperationModel) -> Decoder | None:
        shape = operation.input_shape
        return None if shape is None else self.decoder.decoder(shape)

    def load(self, body: bytes) -> dict[Any, Any]:
        return load_json_object(body)

    def parse(
        self, request: HttpRequest, operation: OperationModel, uri_params: dict[str, str]
    ) -> dict[str, Any]:
        data = self.load(request.body)
        decode = self._decoders(operation)
        if decode is None:
            return {}
        try:
            params = decode(data, "")
            validate(operation, params, self.protocol)
        except Mismatch as exc:
            raise tree_type_error(exc) from None
        except RecursionError:
            raise serialization_error("The request is nested too deeply.") from None
        return params
