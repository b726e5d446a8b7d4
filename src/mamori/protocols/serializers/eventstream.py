"""The ``application/vnd.amazon.eventstream`` framing for operations with event-stream output.

A provider returns the stream member as an iterable (or async iterable) of one-key dicts,
``{"SessionUpdate": {...}}``, naming the event member of the stream union; an exception member
of the union is sent as an exception message. Each message is framed as AWS does: prelude (total
length, headers length, CRC32), typed headers, payload, message CRC32.
"""

from __future__ import annotations

import struct
from binascii import crc32
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from botocore.model import Shape

from mamori.protocols.serializers.common import epoch_seconds, to_bytes

PayloadEncoder = Callable[[Shape, dict[str, Any]], bytes]

_TRUE, _FALSE, _BYTE, _SHORT, _INT, _LONG, _BYTES, _STRING, _TIMESTAMP = range(9)


def _header(name: str, value: Any, type_name: str = "string") -> bytes:
    raw_name = name.encode("utf-8")
    head = bytes((len(raw_name),)) + raw_name
    if type_name == "boolean":
        return head + bytes((_TRUE if value else _FALSE,))
    if type_name == "byte":
        return head + struct.pack(">Bb", _BYTE, value)
    if type_name == "short":
        return head + struct.pack(">Bh", _SHORT, value)
    if type_name == "integer":
        return head + struct.pack(">Bi", _INT, value)
    if type_name == "long":
        return head + struct.pack(">Bq", _LONG, value)
    if type_name == "timestamp":
        return head + struct.pack(">Bq", _TIMESTAMP, round(epoch_seconds(value) * 1000))
    if type_name == "blob":
        data = to_bytes(value)
        return head + struct.pack(">BH", _BYTES, len(data)) + data
    data = str(value).encode("utf-8")
    return head + struct.pack(">BH", _STRING, len(data)) + data


def encode_message(headers: bytes, payload: bytes) -> bytes:
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", crc32(prelude) & 0xFFFFFFFF)
    message = prelude + headers + payload
    return message + struct.pack(">I", crc32(message) & 0xFFFFFFFF)


def _event_message(
    name: str,
    shape: Shape,
    value: dict[str, Any],
    encode: PayloadEncoder,
    content_type: str,
) -> bytes:
    exception = bool(shape.metadata.get("exception"))
    if exception:
        headers = _header(":message-type", "exception") + _header(":exception-type", name)
    else:
        headers = _header(":message-type", "event") + _header(":event-type", name)
    value = value or {}
    payload = b""
    payload_type = content_type
    body_members: dict[str, Any] = {}
    has_payload_member = False
    for member_name, member in shape.members.items():
        item = value.get(member_name)
        if member.serialization.get("eventheader"):
            if item is not None:
                headers += _header(member_name, item, member.type_name)
        elif member.serialization.get("eventpayload"):
            has_payload_member = True
            if item is None:
                continue
            if member.type_name == "blob":
                payload, payload_type = to_bytes(item), "application/octet-stream"
            elif member.type_name == "string":
                payload, payload_type = str(item).encode("utf-8"), "text/plain"
            else:
                payload = encode(member, item)
        elif item is not None:
            body_members[member_name] = item
    if not has_payload_member and (body_members or shape.members):
        payload = encode(shape, body_members)
    if payload:
        headers += _header(":content-type", payload_type)
    return encode_message(headers, payload)


def encode_event_stream(
    stream_shape: Shape,
    events: Iterable[dict[str, Any]] | AsyncIterator[dict[str, Any]],
    encode: PayloadEncoder,
    content_type: str,
    initial_response: bytes | None = None,
) -> Iterator[bytes] | AsyncIterator[bytes]:
    """The response body: an (async) iterator of framed messages."""

    def frame(event: dict[str, Any]) -> bytes:
        for name, value in event.items():
            member = stream_shape.members.get(name)
            if member is not None:
                return _event_message(name, member, value, encode, content_type)
        raise ValueError(f"event {list(event)} is not a member of {stream_shape.name}")

    def initial() -> list[bytes]:
        if initial_response is None:
            return []
        headers = (
            _header(":message-type", "event")
            + _header(":event-type", "initial-response")
            + _header(":content-type", content_type)
        )
        return [encode_message(headers, initial_response)]

    if hasattr(events, "__aiter__"):

        async def agen() -> AsyncIterator[bytes]:
            for message in initial():
                yield message
            async for event in events:  # type: ignore[union-attr]
                yield frame(event)

        return agen()

    def gen() -> Iterator[bytes]:
        yield from initial()
        for event in events:  # type: ignore[union-attr]
            yield frame(event)

    return gen()
