"""What ``rest-json`` and ``rest-xml`` share: members bound to the URI (labels), the query string,
single headers, prefixed header maps (``location: headers``, e.g. ``x-amz-meta-``) and the
payload (a structure, a blob, a string or a stream). The body format is the subclass's."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.model import OperationModel, Shape

from mamori.errors import AwsError
from mamori.protocols.base import HttpRequest
from mamori.protocols.parsers.common import (
    Mismatch,
    model_key,
    parse_timestamp,
    serialization_error,
    string_converter,
    type_error,
)
from mamori.protocols.uri import UriTemplate
from mamori.protocols.validation import validate


@dataclass
class Binding:
    name: str  # the member name (the key in params)
    location: str  # uri | querystring | header | headers
    wire: str  # label, query key, header name (lower case) or header prefix (lower case)
    shape: Shape
    convert: Callable[[str], Any] | None  # text -> value for scalars (None for list/map)


@dataclass
class Plan:
    bindings: list[Binding]
    claimed_query: frozenset[str]  # query keys owned by named members or required by the URI
    payload: str | None
    payload_shape: Shape | None
    payload_required: bool  # then an empty body is an empty value, not an absent one
    body_exclude: frozenset[str]  # members that are not in the body
    has_body_members: bool


def split_header_list(value: str) -> list[str]:
    """Split a comma-separated header list; double-quoted items may hold commas and \\"."""
    items: list[str] = []
    i, n = 0, len(value)
    while i <= n:
        while i < n and value[i] in " \t":
            i += 1
        if i < n and value[i] == '"':
            i += 1
            buf = []
            while i < n and value[i] != '"':
                if value[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(value[i])
                i += 1
            i += 1  # closing quote
            items.append("".join(buf))
            while i < n and value[i] != ",":
                i += 1
        else:
            end = value.find(",", i)
            if end < 0:
                end = n
            items.append(value[i:end].strip())
            i = end
        i += 1  # the comma
    return items


def _timestamp_list(value: str) -> list[Any]:
    """Header lists of HTTP-dates contain commas themselves ("Mon, 01 Jan ..., Tue, ...")."""
    parts = [p.strip() for p in value.split(",")]
    out = []
    i = 0
    while i < len(parts):
        if i + 1 < len(parts) and parts[i].isalpha() and len(parts[i]) == 3:
            out.append(parse_timestamp(parts[i] + ", " + parts[i + 1]))
            i += 2
        else:
            out.append(parse_timestamp(parts[i]))
            i += 1
    return out


class RestParser(ABC):
    protocol = "rest"

    def __init__(self) -> None:
        self._plans: dict[tuple[int, str], Plan] = {}

    # The body format: subclasses implement these two.
    @abstractmethod
    def parse_payload(self, body: bytes, shape: Shape, operation: OperationModel) -> Any: ...

    @abstractmethod
    def parse_body_members(
        self, body: bytes, shape: Shape, exclude: frozenset[str], operation: OperationModel
    ) -> dict[str, Any]: ...

    def parse(
        self, request: HttpRequest, operation: OperationModel, uri_params: dict[str, str]
    ) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None:
            return {}
        try:
            return self._parse(request, operation, shape, uri_params)
        except RecursionError:
            raise self.too_deep() from None

    def too_deep(self) -> AwsError:
        return serialization_error("The request is nested too deeply.")

    def _parse(
        self,
        request: HttpRequest,
        operation: OperationModel,
        shape: Shape,
        uri_params: dict[str, str],
    ) -> dict[str, Any]:
        plan = self._plan(operation, shape)
        params: dict[str, Any] = {}
        body = request.body
        if plan.payload is not None:
            pshape = plan.payload_shape
            assert pshape is not None
            if pshape.type_name in ("blob", "string") and (
                pshape.metadata.get("streaming") or pshape.serialization.get("streaming")
            ):
                params[plan.payload] = request.stream if request.stream is not None else body
            elif pshape.type_name == "blob":
                if body or plan.payload_required:
                    params[plan.payload] = body
            elif pshape.type_name == "string":
                if body or plan.payload_required:
                    params[plan.payload] = body.decode("utf-8", errors="replace")
            elif body and not body.isspace():
                params[plan.payload] = self.parse_payload(body, pshape, operation)
        elif plan.has_body_members and body and not body.isspace():
            params.update(self.parse_body_members(body, shape, plan.body_exclude, operation))
        try:
            self._bind(request, plan, uri_params, params)
        except Mismatch as exc:
            raise type_error(operation, self.protocol, exc) from None
        validate(operation, params, self.protocol)
        return params

    def _bind(
        self,
        request: HttpRequest,
        plan: Plan,
        uri_params: dict[str, str],
        params: dict[str, Any],
    ) -> None:
        headers = request.headers
        for b in plan.bindings:
            loc = b.location
            if loc == "uri":
                text = uri_params.get(b.wire)
                if text is not None:
                    params[b.name] = _convert(b, text)
            elif loc == "header":
                text = headers.get(b.wire)
                if text is None:
                    continue
                if b.shape.type_name == "list":
                    params[b.name] = self._header_list(b, text)
                else:
                    params[b.name] = _convert(b, text)
            elif loc == "querystring":
                query = request.query
                t = b.shape.type_name
                if t == "map":
                    value = self._query_map(b, query, plan.claimed_query)
                    if value:
                        params[b.name] = value
                    continue
                values = query.get(b.wire)
                if values is None:
                    continue
                if t == "list":
                    conv = string_converter(b.shape.member)
                    params[b.name] = [_convert_with(conv, b, v) for v in values]
                else:
                    params[b.name] = _convert(b, values[0])
            elif loc == "headers":
                prefix = b.wire
                conv = string_converter(b.shape.value)
                found = {
                    k[len(prefix) :]: _convert_with(conv, b, v)
                    for k, v in headers.items()
                    if k.startswith(prefix) and len(k) > len(prefix)
                }
                if found:
                    params[b.name] = found

    def _header_list(self, b: Binding, text: str) -> list[Any]:
        member = b.shape.member
        if (
            member.type_name == "timestamp"
            and member.serialization.get("timestampFormat", "rfc822") == "rfc822"
        ):
            try:
                return _timestamp_list(text)
            except (ValueError, TypeError):
                raise Mismatch(b.name, "list of timestamps", text) from None
        conv = string_converter(member)
        return [_convert_with(conv, b, item) for item in split_header_list(text)]

    def _query_map(
        self, b: Binding, query: dict[str, list[str]], claimed: frozenset[str]
    ) -> dict[str, Any]:
        value_shape = b.shape.value
        out: dict[str, Any] = {}
        if value_shape.type_name == "list":
            conv = string_converter(value_shape.member)
            for key, values in query.items():
                if key not in claimed:
                    out[key] = [_convert_with(conv, b, v) for v in values]
        else:
            conv = string_converter(value_shape)
            for key, values in query.items():
                if key not in claimed:
                    out[key] = _convert_with(conv, b, values[0])
        return out

    def _plan(self, operation: OperationModel, shape: Shape) -> Plan:
        key = (model_key(shape), operation.name)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        bindings: list[Binding] = []
        claimed: set[str] = set(UriTemplate.compile(operation.http["requestUri"]).required_query)
        exclude: set[str] = set()
        has_body_members = False
        for name, member in shape.members.items():
            ser = member.serialization
            loc = ser.get("location")
            if loc is None:
                has_body_members = True
                continue
            exclude.add(name)
            wire = ser.get("name", name)
            if loc in ("header", "headers"):
                wire = wire.lower()
            if loc == "querystring" and member.type_name != "map":
                claimed.add(wire)
            convert = None
            if member.type_name not in ("list", "map", "structure"):
                convert = string_converter(member)
            bindings.append(Binding(name, loc, wire, member, convert))
        payload = shape.serialization.get("payload")
        plan = Plan(
            bindings=bindings,
            claimed_query=frozenset(claimed),
            payload=payload,
            payload_shape=shape.members[payload] if payload else None,
            payload_required=payload in shape.required_members,
            body_exclude=frozenset(exclude),
            has_body_members=has_body_members,
        )
        self._plans[key] = plan
        return plan


def _convert(b: Binding, text: str) -> Any:
    assert b.convert is not None
    return _convert_with(b.convert, b, text)


def _convert_with(conv: Callable[[str], Any], b: Binding, text: str) -> Any:
    try:
        return conv(text)
    except (ValueError, TypeError, OverflowError, UnicodeError):
        raise Mismatch(b.name, b.shape.type_name, text) from None
