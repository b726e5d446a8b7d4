"""The ``rest-json`` protocol: REST bindings (see rest.py) plus a JSON body."""

from __future__ import annotations

import json
from typing import Any

from botocore.model import OperationModel, Shape

from mamori.protocols.parsers.common import (
    Mismatch,
    TreeDecoder,
    serialization_error,
    tree_type_error,
)
from mamori.protocols.parsers.json import load_json_object
from mamori.protocols.parsers.rest import RestParser


class RestJsonParser(RestParser):
    protocol = "rest-json"

    def __init__(self) -> None:
        super().__init__()
        self.decoder = TreeDecoder()

    def parse_payload(self, body: bytes, shape: Shape, operation: OperationModel) -> Any:
        if getattr(shape, "is_document_type", False):
            try:
                return json.loads(body)
            except (ValueError, RecursionError):
                raise serialization_error("The request body is not valid JSON.") from None
        return self._decode(load_json_object(body), shape, frozenset(), operation)

    def parse_body_members(
        self, body: bytes, shape: Shape, exclude: frozenset[str], operation: OperationModel
    ) -> dict[str, Any]:
        return self._decode(load_json_object(body), shape, exclude, operation)

    def _decode(
        self, data: Any, shape: Shape, exclude: frozenset[str], operation: OperationModel
    ) -> Any:
        try:
            return self.decoder.decoder(shape, exclude)(data, "")
        except Mismatch as exc:
            raise tree_type_error(exc) from None
        except RecursionError:
            raise serialization_error("The request is nested too deeply.") from None
