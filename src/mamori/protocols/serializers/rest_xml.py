"""The ``rest-xml`` protocol (S3): HTTP bindings plus an XML document.

The document's root is the payload member's ``locationName`` (else its shape's name) or the
output shape's ``locationName``; it declares the shape's ``xmlNamespace``, else the namespace the
service's own model uses for its request documents (S3: ``http://s3.amazonaws.com/doc/2006-03-01/``).
Every response carries ``x-amz-request-id`` and ``x-amz-id-2``; errors are S3's ``<Error>``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

from mamori.errors import AwsError
from mamori.protocols.base import HTTP_OVERRIDES, HttpResponse
from mamori.protocols.serializers.common import (
    error_shape_for,
    error_status,
    host_id,
    service_key,
)
from mamori.protocols.serializers.eventstream import encode_event_stream
from mamori.protocols.serializers.query import error_fields_xml
from mamori.protocols.serializers.rest import (
    NO_BODY_STATUSES,
    Bindings,
    bindings_of,
    default_status,
    has_header,
    stream_body,
)
from mamori.protocols.serializers.xml import XmlCompiler, escape_text, namespace_attr

XML = "application/xml"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _default_namespace(service: ServiceModel) -> Any:
    """The namespace the service's model declares on its request documents (most common one)."""
    counts: Counter[str] = Counter()
    for name in service.operation_names:
        shape = service.operation_model(name).input_shape
        if shape is None:
            continue
        candidates = [shape]
        payload = shape.serialization.get("payload")
        if payload:
            candidates.append(shape.members[payload])
        for candidate in candidates:
            namespace = candidate.serialization.get("xmlNamespace")
            if isinstance(namespace, dict) and not namespace.get("prefix"):
                namespace = namespace.get("uri")
            if isinstance(namespace, str) and namespace:
                counts[namespace] += 1
    if not counts:
        return service.metadata.get("xmlNamespace")
    return counts.most_common(1)[0][0]


def _root_name(operation: OperationModel, shape: Shape) -> str:
    """Root element of a body that is the output structure itself (not a payload member).

    The model rarely names it; when it doesn't, a ``GetX`` output mirrors the document ``PutX``
    takes (``GetBucketTagging`` -> ``Tagging``), and anything else is ``{Operation}Result``.
    """
    name = shape.serialization.get("name")
    if name:
        return name
    service = operation.service_model
    if operation.name.startswith("Get"):
        put = "Put" + operation.name[3:]
        if put in service.operation_names:
            put_input = service.operation_model(put).input_shape
            payload = put_input.serialization.get("payload") if put_input is not None else None
            if payload:
                member = put_input.members[payload]
                if member.type_name == "structure":
                    return member.serialization.get("name", member.name)
    return f"{operation.name}Result"


def _bare_member(operation: OperationModel, shape: Shape) -> str | None:
    """The member that *is* the document root, for outputs the model cannot describe.

    An output whose whole body is one scalar member and that mirrors no ``Put`` document
    (S3's GetBucketLocation) is sent as AWS does: ``<LocationConstraint xmlns="...">eu-west-1
    </LocationConstraint>``, the element's text being the value (botocore reads it with its
    ``parse_get_bucket_location`` handler).
    """
    body = [
        name
        for name, member in shape.members.items()
        if member.serialization.get("location") is None
    ]
    if len(body) != 1 or shape.members[body[0]].type_name != "string":
        return None
    service = operation.service_model
    if operation.name.startswith("Get") and "Put" + operation.name[3:] in service.operation_names:
        return None
    return body[0]


class _Plan:
    __slots__ = ("bare", "bindings", "head", "method_head", "root", "tail")

    def __init__(self, bindings: Bindings, root: str, head: str, tail: str, method: str) -> None:
        self.bindings = bindings
        self.root = root
        self.head = head
        self.tail = tail
        self.method_head = method == "HEAD"
        self.bare: str | None = None


class RestXmlSerializer:
    def __init__(self) -> None:
        self.xml = XmlCompiler()
        self._plans: dict[Any, _Plan] = {}
        self._namespaces: dict[Any, str] = {}
        self._error_bindings: dict[Any, Bindings] = {}

    def _namespace(self, service: ServiceModel) -> str:
        key = service_key(service)
        ns = self._namespaces.get(key)
        if ns is None:
            ns = self._namespaces[key] = namespace_attr(_default_namespace(service))
        return ns

    def _plan(self, operation: OperationModel) -> _Plan:
        service = operation.service_model
        key = (service_key(service), operation.name)
        plan = self._plans.get(key)
        if plan is None:
            shape = operation.output_shape
            bindings = bindings_of(shape)
            root, head, tail = "", "", ""
            if shape is not None:
                target = bindings.payload_shape if bindings.payload else shape
                assert target is not None
                bare = None if bindings.payload else _bare_member(operation, shape)
                if bindings.payload:
                    root = target.serialization.get("name", target.name)
                elif bare is not None:
                    root = shape.members[bare].serialization.get("name", bare)
                else:
                    root = _root_name(operation, shape)
                own = namespace_attr(target.serialization.get("xmlNamespace"))
                head = f"<{root}{own or self._namespace(service)}"
                tail = f"</{root}>"
            plan = _Plan(bindings, root, head, tail, operation.http.get("method", ""))
            if shape is not None and not bindings.payload:
                plan.bare = bare
            self._plans[key] = plan
        return plan

    def _base_headers(self, request_id: str) -> dict[str, str]:
        return {"x-amz-request-id": request_id, "x-amz-id-2": host_id(request_id)}

    def serialize(
        self, operation: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse:
        service = operation.service_model
        plan = self._plan(operation)
        bindings = plan.bindings
        output = output or {}
        headers = self._base_headers(request_id)
        status = bindings.apply(output, headers)
        if status is None:
            status = default_status(operation)
        overrides = output.get(HTTP_OVERRIDES)
        if overrides:
            status = overrides.get("status", status)
            headers.update(overrides.get("headers") or {})
        body: Any = b""
        if bindings.payload is not None:
            payload_shape = bindings.payload_shape
            assert payload_shape is not None
            value = output.get(bindings.payload)
            if payload_shape.serialization.get("eventstream"):
                if not has_header(headers, "Content-Type"):
                    headers["Content-Type"] = "application/vnd.amazon.eventstream"
                body = encode_event_stream(
                    payload_shape, value or (), self._event_payload(service), "text/xml"
                )
            elif payload_shape.type_name in ("blob", "string"):
                if value is not None:
                    body = stream_body(value)
                    if not has_header(headers, "Content-Type"):
                        headers["Content-Type"] = (
                            "binary/octet-stream" if payload_shape.type_name == "blob" else XML
                        )
            elif value is not None:
                body = self._document(service, plan, payload_shape, value, False)
                headers.setdefault("Content-Type", XML)
        elif plan.bare is not None:
            value = output.get(plan.bare)
            text = escape_text(str(value)) if value is not None else ""
            body = f"{DECLARATION}{plan.head}>{text}{plan.tail}".encode()
            headers["Content-Type"] = XML
        elif bindings.body_members:
            assert operation.output_shape is not None
            body = self._document(service, plan, operation.output_shape, output, True)
            headers["Content-Type"] = XML
        if plan.method_head or status in NO_BODY_STATUSES:
            body = b""
        return HttpResponse(status, headers, body)

    def _document(
        self, service: ServiceModel, plan: _Plan, shape: Shape, value: Any, top: bool
    ) -> bytes:
        attrs = self.xml.attributes(service, shape)
        content = self.xml.members(service, shape, skip_located=top)(value)
        extra = attrs(value) if attrs is not None else ""
        return f"{DECLARATION}{plan.head}{extra}>{content}{plan.tail}".encode()

    def _event_payload(self, service: ServiceModel):
        def encode(shape: Shape, value: dict[str, Any]) -> bytes:
            tag = shape.serialization.get("name", shape.name)
            return self.xml.element(service, shape, tag)(value).encode("utf-8")

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
        code = shape.error_code if shape is not None else error.code
        headers = self._base_headers(request_id)
        if shape is not None and error.fields:
            key = (service_key(service), shape.name)
            bindings = self._error_bindings.get(key)
            if bindings is None:
                bindings = self._error_bindings[key] = bindings_of(shape)
            bindings.apply(error.fields, headers)
        headers.update(error.headers)
        if operation is not None and operation.http.get("method") == "HEAD":
            # HEAD answers carry no body: clients see only the status (botocore: Code "404").
            return HttpResponse(status, headers, b"")
        extras = ""
        if error.fields:
            extras = error_fields_xml(self.xml, service, shape, error.fields, skip_located=True)
        body = (
            f"{DECLARATION}<Error><Code>{escape_text(code)}</Code>"
            f"<Message>{escape_text(error.message or '')}</Message>{extras}"
            f"<RequestId>{escape_text(request_id)}</RequestId>"
            f"<HostId>{escape_text(headers['x-amz-id-2'])}</HostId></Error>"
        )
        headers["Content-Type"] = XML
        return HttpResponse(status, headers, body.encode("utf-8"))
