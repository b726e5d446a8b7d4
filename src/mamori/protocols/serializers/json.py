"""The ``json`` protocol (awsJson 1.0 / 1.1): one JSON document per response.

Errors carry ``__type`` (the error shape's name) and ``message``; services that moved from the
query protocol (``awsQueryCompatible``: SQS, CloudWatch) also get ``x-amzn-query-error`` with the
legacy query code, which botocore reports as the error code.
"""

from __future__ import annotations

import base64
import json
from abc import ABC, abstractmethod
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from botocore.model import OperationModel, ServiceModel, Shape

from mamori.errors import AwsError
from mamori.protocols.base import HttpResponse
from mamori.protocols.serializers.common import (
    epoch_seconds,
    error_shape_for,
    error_status,
    is_sender_fault,
)
from mamori.protocols.serializers.eventstream import encode_event_stream
from mamori.protocols.serializers.values import ValueCompiler, error_members


def _fallback(value: Any) -> Any:
    """Values inside documents/unmodelled fields that JSON has no native form for."""
    if isinstance(value, datetime | date):
        return epoch_seconds(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot serialize {type(value).__name__} as JSON")


# NaN/Infinity are written as JSON's non-standard literals: botocore's JSON parser reads them
# back as floats (the Smithy string form "NaN" would come back as a str).
_encoder = json.JSONEncoder(separators=(",", ":"), default=_fallback, ensure_ascii=False)
_ascii_encoder = json.JSONEncoder(separators=(",", ":"), default=_fallback)
dumps = _encoder.encode


# orjson hands datetimes and dataclasses to ``_fallback`` too, as the standard library does.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps_bytes(document: Any) -> bytes:
    """UTF-8 JSON; strings holding lone surrogates (not UTF-8 encodable) fall back to escapes.

    orjson writes it (several times faster) unless the standard library would write something
    else: orjson writes NaN and infinities as ``null`` and refuses integers beyond 64 bits,
    lone surrogates and keys that are not strings. So a document orjson refuses, or whose
    encoding holds a ``null`` (perhaps a NaN), is encoded by the standard library instead.
    """
    try:
        encoded = orjson.dumps(document, default=_fallback, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError included
        encoded = None
    if encoded is not None and b"null" not in encoded:
        return encoded
    try:
        return _encoder.encode(document).encode("utf-8")
    except UnicodeEncodeError:
        return _ascii_encoder.encode(document).encode("ascii")


def query_error_header(service: ServiceModel, shape: Shape | None, code: str, sender: bool) -> str:
    query_code = shape.error_code if shape is not None else code
    return f"{query_code};{'Sender' if sender else 'Receiver'}"


class JsonLikeSerializer(ABC):
    """Shared by ``json`` and ``smithy-rpc-v2-cbor``: both send one document of members."""

    values: ValueCompiler

    @abstractmethod
    def _content_type(self, service: ServiceModel) -> str: ...

    @abstractmethod
    def _encode(self, document: dict[str, Any]) -> bytes: ...

    def _base_headers(self, service: ServiceModel, request_id: str) -> dict[str, str]:
        return {"x-amzn-RequestId": request_id, "Content-Type": self._content_type(service)}

    def serialize(
        self, operation: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse:
        service = operation.service_model
        headers = self._base_headers(service, request_id)
        shape = operation.output_shape
        if shape is None:
            return HttpResponse(200, headers, self._encode({}))
        stream_name = shape.event_stream_name
        if stream_name:
            return self._serialize_event_stream(service, shape, stream_name, output, headers)
        document = self.values.structure(service, shape)(output or {})
        return HttpResponse(200, headers, self._encode(document))

    def _serialize_event_stream(
        self,
        service: ServiceModel,
        shape: Shape,
        stream_name: str,
        output: dict[str, Any],
        headers: dict[str, str],
    ) -> HttpResponse:
        initial = self.values.structure(service, shape)(
            {k: v for k, v in (output or {}).items() if k != stream_name}
        )
        headers["Content-Type"] = "application/vnd.amazon.eventstream"
        body = encode_event_stream(
            shape.members[stream_name],
            (output or {}).get(stream_name) or (),
            self._event_payload(service),
            self._content_type(service),
            initial_response=self._encode(initial),
        )
        return HttpResponse(200, headers, body)

    def _event_payload(self, service: ServiceModel):
        def encode(shape: Shape, value: dict[str, Any]) -> bytes:
            return self._encode(self.values.structure(service, shape)(value))

        return encode

    def serialize_error(
        self,
        service: ServiceModel,
        operation: OperationModel | None,
        error: AwsError,
        request_id: str,
    ) -> HttpResponse:
        shape = error_shape_for(service, operation, error.code)
        status = error_status(service, error, operation)
        code = shape.name if shape is not None else error.code
        document: dict[str, Any] = {"__type": code}
        document.update(
            error_members(self.values, service, shape, error.fields, error.message or "")
        )
        headers = self._base_headers(service, request_id)
        if service.is_query_compatible:
            sender = is_sender_fault(error, status, shape)
            headers["x-amzn-query-error"] = query_error_header(service, shape, code, sender)
        headers.update(error.headers)
        return HttpResponse(status, headers, self._encode(document))


class JsonSerializer(JsonLikeSerializer):
    def __init__(self) -> None:
        self.values = ValueCompiler()

    def _content_type(self, service: ServiceModel) -> str:
        return f"application/x-amz-json-{service.metadata.get('jsonVersion', '1.0')}"

    def _encode(self, document: dict[str, Any]) -> bytes:
        return dumps_bytes(document)
