"""Shape-driven conversion of a provider's output into plain JSON/CBOR-ready values.

``ValueCompiler`` turns a botocore shape into a closure (or ``None`` when the value passes
through unchanged) once; the json, rest-json and rpc-v2-cbor serializers share it and differ
only in how they write blobs and timestamps and whether members use their ``locationName``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.model import ServiceModel, Shape

from mamori.protocols.serializers.common import (
    b64,
    epoch_seconds,
    http_date,
    iso8601,
    message_member,
    service_key,
    shape_key,
)

Converter = Callable[[Any], Any] | None

# Members bound elsewhere in an HTTP response (rest protocols); never part of a body.
LOCATED = frozenset({"header", "headers", "statusCode"})


def json_timestamp(fmt: str | None) -> Callable[[Any], Any]:
    if fmt == "iso8601":
        return iso8601
    if fmt == "rfc822":
        return http_date
    return epoch_seconds


class ValueCompiler:
    def __init__(
        self,
        *,
        wire_names: bool = True,
        blob: Callable[[Any], Any] = b64,
        timestamp: Callable[[str | None], Callable[[Any], Any]] = json_timestamp,
    ) -> None:
        self._wire_names = wire_names
        self._blob = blob
        self._timestamp = timestamp
        self._caches: dict[tuple[str, str], dict[Any, Converter]] = {}

    def _cache(self, service: ServiceModel) -> dict[Any, Converter]:
        key = service_key(service)
        cache = self._caches.get(key)
        if cache is None:
            cache = self._caches[key] = {}
        return cache

    def structure(
        self, service: ServiceModel, shape: Shape, skip_located: bool = False
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """A converter for a whole structure (always a function, never ``None``)."""
        cache = self._cache(service)
        key: Any = ("top", shape_key(shape)) if skip_located else shape_key(shape)
        fn = cache.get(key)
        if fn is None:
            fn = self._compile_structure(shape, cache, skip_located, key)
        return fn  # type: ignore[return-value]

    def convert(self, service: ServiceModel, shape: Shape) -> Converter:
        return self._compile(shape, self._cache(service))

    # ------------------------------------------------------------------ compilation

    def _compile(self, shape: Shape, cache: dict[Any, Converter]) -> Converter:
        key = shape_key(shape)
        if key in cache:
            return cache[key]
        type_name = shape.type_name
        fn: Converter
        if type_name == "structure":
            if shape.is_document_type:
                fn = None
            else:
                return self._compile_structure(shape, cache, False, key)
        elif type_name == "list":
            fn = self._compile_list(shape, cache, key)
        elif type_name == "map":
            fn = self._compile_map(shape, cache, key)
        elif type_name == "blob":
            fn = self._blob
        elif type_name == "timestamp":
            fn = self._timestamp(shape.serialization.get("timestampFormat"))
        else:
            fn = None
        cache[key] = fn
        return fn

    def _compile_structure(
        self, shape: Shape, cache: dict[Any, Converter], skip_located: bool, key: Any
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        table: dict[str, tuple[str, Converter]] = {}

        def convert_structure(value: dict[str, Any]) -> dict[str, Any]:
            out = {}
            for name, item in value.items():
                entry = table.get(name)
                if entry is None or item is None:
                    continue
                wire, conv = entry
                out[wire] = item if conv is None else conv(item)
            return out

        # Registered before the members compile, so recursive shapes find it.
        cache[key] = convert_structure
        for name, member in shape.members.items():
            if skip_located and member.serialization.get("location") in LOCATED:
                continue
            wire = member.serialization.get("name", name) if self._wire_names else name
            table[name] = (wire, self._compile(member, cache))
        return convert_structure

    def _compile_list(
        self, shape: Shape, cache: dict[Any, Converter], key: Any
    ) -> Callable[[Any], list[Any]]:
        holder: list[Converter] = []

        def convert_list(value: Any) -> list[Any]:
            conv = holder[0]
            if conv is None:
                return [item for item in value if item is not None]
            return [conv(item) for item in value if item is not None]

        cache[key] = convert_list
        holder.append(self._compile(shape.member, cache))
        return convert_list

    def _compile_map(
        self, shape: Shape, cache: dict[Any, Converter], key: Any
    ) -> Callable[[Any], dict[Any, Any]]:
        holder: list[Converter] = []

        def convert_map(value: Any) -> dict[Any, Any]:
            conv = holder[0]
            if conv is None:
                return {k: v for k, v in value.items() if v is not None}
            return {k: conv(v) for k, v in value.items() if v is not None}

        cache[key] = convert_map
        holder.append(self._compile(shape.value, cache))
        return convert_map


def error_members(
    compiler: ValueCompiler,
    service: ServiceModel,
    shape: Shape | None,
    fields: dict[str, Any],
    message: str,
    skip_located: bool = False,
) -> dict[str, Any]:
    """The body members of an error: its message plus the error shape's other members."""
    _, message_wire = message_member(shape)
    if not fields:
        return {message_wire: message}
    body = {}
    members = shape.members if shape is not None else {}
    if members:
        body = compiler.structure(service, shape, skip_located)(fields)
    # Fields the model does not list are passed on as they are.
    for name, value in fields.items():
        if name not in members and value is not None:
            body[name] = value
    if message or message_wire not in body:
        body[message_wire] = message
    return body
