"""The ``rest-json`` protocol (GuardDuty, Inspector, Lambda): HTTP bindings plus a JSON body.

Errors: ``x-amzn-ErrorType: <Code>`` and a JSON body with the message (``message``, or
``Message`` when the error shape names it so) and the error shape's other members.
"""

from __future__ import annotations

from typing import Any

from botocore.model import OperationModel, ServiceModel

from mamori.errors import AwsError
from mamori.protocols.base import HttpResponse
from mamori.protocols.serializers.common import error_shape_for, error_status, service_key
from mamori.protocols.serializers.eventstream import encode_event_stream
from mamori.protocols.serializers.json import dumps_bytes
from mamori.protocols.serializers.rest import (
    NO_BODY_STATUSES,
    Bindings,
    bindings_of,
    default_status,
    has_header,
    stream_body,
)
from mamori.protocols.serializers.values import ValueCompiler, error_members

JSON = "application/json"


class RestJsonSerializer:
    def __init__(self) -> None:
        self.values = ValueCompiler()
        self._bindings: dict[Any, Bindings] = {}

    def _bindings_for(self, service: ServiceModel, shape: Any, key: Any) -> Bindings:
        full_key = (service_key(service), key)
        bindings = self._bindings.get(full_key)
        if bindings is None:
            bindings = self._bindings[full_key] = bindings_of(shape)
        return bindings

    def serialize(
        self, operation: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse:
        service = operation.service_model
        shape = operation.output_shape
        bindings = self._bindings_for(service, shape, ("op", operation.name))
        output = output or {}
        headers = {"x-amzn-RequestId": request_id}
        status = bindings.apply(output, headers)
        if status is None:
            status = default_status(operation)
        body: Any = b""
        if bindings.payload is not None:
            payload_shape = bindings.payload_shape
            value = output.get(bindings.payload)
            if payload_shape.serialization.get("eventstream"):
                if not has_header(headers, "Content-Type"):
                    headers["Content-Type"] = "application/vnd.amazon.eventstream"
                body = encode_event_stream(
                    payload_shape, value or (), self._event_payload(service), JSON
                )
            elif payload_shape.type_name in ("blob", "string"):
                if value is not None:
                    body = stream_body(value)
                    if not has_header(headers, "Content-Type"):
                        headers["Content-Type"] = (
                            "application/octet-stream"
                            if payload_shape.type_name == "blob"
                            else "text/plain"
                        )
            elif value is not None:
                document = self.values.structure(service, payload_shape)(value)
                body = dumps_bytes(document)
                headers.setdefault("Content-Type", JSON)
        elif bindings.body_members:
            document = self.values.structure(service, shape, skip_located=True)(output)
            body = dumps_bytes(document)
            headers["Content-Type"] = JSON
        if operation.http.get("method") == "HEAD" or status in NO_BODY_STATUSES:
            body = b""
        return HttpResponse(status, headers, body)

    def _event_payload(self, service: ServiceModel):
        def encode(shape: Any, value: dict[str, Any]) -> bytes:
            return dumps_bytes(self.values.structure(service, shape)(value))

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
        headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": code}
        if shape is not None and error.fields:
            self._bindings_for(service, shape, ("error", shape.name)).apply(error.fields, headers)
        document = error_members(
            self.values, service, shape, error.fields, error.message or "", skip_located=True
        )
        headers["Content-Type"] = JSON
        headers.update(error.headers)
        return HttpResponse(status, headers, dumps_bytes(document))
