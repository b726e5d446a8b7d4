"""The ``query`` protocol's responses (STS, IAM, SNS, CloudWatch's oldest form): XML documents.

``<{Op}Response xmlns="{metadata.xmlNamespace}"><{resultWrapper}>...</{resultWrapper}>
<ResponseMetadata><RequestId>...</RequestId></ResponseMetadata></{Op}Response>``; errors are
``<ErrorResponse>`` with ``Type``/``Code``/``Message`` and the error shape's ``error.code``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.model import OperationModel, ServiceModel

from mamori.errors import AwsError
from mamori.protocols.base import HttpResponse
from mamori.protocols.serializers.common import (
    error_shape_for,
    error_status,
    is_sender_fault,
    message_member,
    service_key,
)
from mamori.protocols.serializers.xml import XmlCompiler, escape_text, namespace_attr

CONTENT_TYPE = "text/xml"
_Plan = tuple[str, Callable[[dict[str, Any]], str] | None, str, str]


class QuerySerializer:
    def __init__(self) -> None:
        self.xml = XmlCompiler()
        self._plans: dict[Any, _Plan] = {}

    def _plan(self, operation: OperationModel) -> _Plan:
        service = operation.service_model
        key = (service_key(service), operation.name)
        plan = self._plans.get(key)
        if plan is None:
            ns = namespace_attr(service.metadata.get("xmlNamespace"))
            root = f"{operation.name}Response"
            shape = operation.output_shape
            head, tail, content = f"<{root}{ns}>", "", None
            if shape is not None:
                content = self.xml.members(service, shape)
                wrapper = shape.serialization.get("resultWrapper")
                if wrapper:
                    head += f"<{wrapper}>"
                    tail = f"</{wrapper}>"
            tail += "<ResponseMetadata><RequestId>"
            closing = f"</RequestId></ResponseMetadata></{root}>"
            plan = self._plans[key] = (head, content, tail, closing)
        return plan

    def serialize(
        self, operation: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse:
        head, content, tail, closing = self._plan(operation)
        inner = content(output or {}) if content is not None else ""
        # (request ids are mamori's own UUIDs: nothing in them needs escaping)
        body = f"{head}{inner}{tail}{request_id}{closing}"
        headers = {"x-amzn-RequestId": request_id, "Content-Type": CONTENT_TYPE}
        return HttpResponse(200, headers, body.encode("utf-8"))

    def serialize_error(
        self,
        service: ServiceModel,
        operation: OperationModel | None,
        error: AwsError,
        request_id: str,
    ) -> HttpResponse:
        shape = error_shape_for(service, operation, error.code)
        status = error_status(service, error, operation)
        code = shape.error_code if shape is not None else error.code
        kind = "Sender" if is_sender_fault(error, status, shape) else "Receiver"
        extras = ""
        if error.fields:
            extras = error_fields_xml(self.xml, service, shape, error.fields)
        ns = namespace_attr(service.metadata.get("xmlNamespace"))
        body = (
            f"<ErrorResponse{ns}><Error><Type>{kind}</Type><Code>{escape_text(code)}</Code>"
            f"<Message>{escape_text(error.message or '')}</Message>{extras}</Error>"
            f"<RequestId>{escape_text(request_id)}</RequestId></ErrorResponse>"
        )
        headers = {"x-amzn-RequestId": request_id, "Content-Type": CONTENT_TYPE}
        headers.update(error.headers)
        return HttpResponse(status, headers, body.encode("utf-8"))


def error_fields_xml(
    xml: XmlCompiler,
    service: ServiceModel,
    shape: Any,
    fields: dict[str, Any],
    skip_located: bool = False,
) -> str:
    """An error's extra members as XML elements (its message member excluded)."""
    message_name, _ = message_member(shape)
    fields = {k: v for k, v in fields.items() if k != message_name and v is not None}
    members = shape.members if shape is not None else {}
    modelled = xml.members(service, shape, skip_located)(fields) if members else ""
    # Fields the model does not list (S3's error shapes have no members, yet AWS sends e.g.
    # <BucketName>) are written as plain text elements.
    extra = "".join(
        f"<{name}>{escape_text(str(value))}</{name}>"
        for name, value in fields.items()
        if name not in members
    )
    return modelled + extra
