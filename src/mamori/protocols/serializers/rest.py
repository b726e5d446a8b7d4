"""HTTP bindings of REST outputs, shared by ``rest-json`` and ``rest-xml``.

An output (or error) structure's members may be bound to the status code (``statusCode``), to a
header (``header``; lists comma-joined, timestamps as HTTP dates, ``jsonvalue`` strings as base64
JSON), to a family of headers under a prefix (``headers``, e.g. ``x-amz-meta-``), or be the
whole body (the structure's ``payload``). Everything else goes into the protocol's body document.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.model import OperationModel, Shape

from mamori.protocols.serializers.common import http_date, scalar_text, timestamp_text, to_bytes

LOCATED = frozenset({"header", "headers", "statusCode"})
NO_BODY_STATUSES = frozenset({204, 304})


def header_text(shape: Shape) -> Callable[[Any], str]:
    """How a header-bound member's value is written as the header value."""
    traits = shape.serialization
    if shape.type_name == "string" and traits.get("jsonvalue"):
        from mamori.protocols.serializers.json import dumps_bytes

        def jsonvalue(value: Any) -> str:
            return base64.b64encode(dumps_bytes(value)).decode("ascii")

        return jsonvalue
    if shape.type_name == "timestamp":
        fmt = traits.get("timestampFormat")
        return timestamp_text(fmt) if fmt else http_date
    if shape.type_name == "list":
        item = header_text(shape.member)

        def joined(value: Any) -> str:
            return ",".join(item(v) for v in value if v is not None)

        return joined
    return scalar_text(shape)


@dataclass
class Bindings:
    """The non-body members of one structure."""

    status_member: str | None = None
    headers: list[tuple[str, str, Callable[[Any], str]]] = field(default_factory=list)
    prefixed: list[tuple[str, str]] = field(default_factory=list)
    payload: str | None = None
    payload_shape: Shape | None = None
    body_members: bool = False

    def apply(self, value: dict[str, Any], headers: dict[str, str]) -> int | None:
        """Write the header members into ``headers``; return the statusCode member if set."""
        for name, header, text in self.headers:
            item = value.get(name)
            if item is not None:
                headers[header] = text(item)
        for name, prefix in self.prefixed:
            items = value.get(name)
            if items:
                for key, item in items.items():
                    if item is not None:
                        headers[prefix + key] = str(item)
        if self.status_member is not None:
            status = value.get(self.status_member)
            if status is not None:
                return int(status)
        return None


def bindings_of(shape: Shape | None) -> Bindings:
    bindings = Bindings()
    if shape is None:
        return bindings
    payload = shape.serialization.get("payload")
    if payload:
        bindings.payload = payload
        bindings.payload_shape = shape.members[payload]
    for name, member in shape.members.items():
        traits = member.serialization
        location = traits.get("location")
        if location == "statusCode":
            bindings.status_member = name
        elif location == "header":
            bindings.headers.append((name, traits.get("name", name), header_text(member)))
        elif location == "headers":
            bindings.prefixed.append((name, traits.get("name", "")))
        elif location is None and name != payload and not payload:
            bindings.body_members = True
    return bindings


def default_status(operation: OperationModel) -> int:
    return int(operation.http.get("responseCode", 200))


def has_header(headers: dict[str, str], name: str) -> bool:
    lowered = name.lower()
    return any(key.lower() == lowered for key in headers)


def stream_body(value: Any) -> Any:
    """A blob/string payload as the response body: bytes, or an (async) iterable passed on."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str | bytearray | memoryview):
        return to_bytes(value)
    if hasattr(value, "read"):
        return _read_chunks(value)
    return value


def _read_chunks(stream: Any, size: int = 64 * 1024) -> Iterator[bytes]:
    while True:
        chunk = stream.read(size)
        if not chunk:
            return
        yield to_bytes(chunk)
