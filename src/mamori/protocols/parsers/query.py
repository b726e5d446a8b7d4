"""The ``query`` protocol: form fields (POST body, or the query string) with ``Action`` and
``Version``. Nested members are dotted names (``Outer.Inner``), lists ``Name.member.N`` (or
``Name.N`` when flattened, or with the member's locationName), maps
``Name.entry.N.key``/``.value`` (or the map's key/value locationNames; flattened without
``entry``), blobs base64, timestamps ISO 8601. An empty list is sent as ``Name=``."""

from __future__ import annotations

from typing import Any

from botocore.model import OperationModel, Shape

from mamori.errors import ValidationError
from mamori.protocols.base import HttpRequest
from mamori.protocols.parsers.common import Mismatch, string_converter, type_error
from mamori.protocols.validation import error_code, validate

# A node of the field tree: child name -> node; the field's own value under the key None.
Node = dict[Any, Any]


def form_fields(request: HttpRequest) -> list[tuple[str, str]]:
    """The request's fields: the query string, then the form-encoded body (which wins)."""
    return request.form


def field_tree(fields: list[tuple[str, str]]) -> Node:
    root: Node = {}
    for name, value in fields:
        node = root
        for part in name.split("."):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            node = child
        node[None] = value
    return root


def _indexed(node: Node) -> list[Node]:
    """The children of ``node`` named 1, 2, 3, ... in numeric order."""
    items = []
    for key, child in node.items():
        if key is not None and key.isdigit():
            items.append((int(key), child))
    items.sort(key=lambda pair: pair[0])
    return [child for _, child in items]


class QueryParser:
    protocol = "query"

    def parse(
        self, request: HttpRequest, operation: OperationModel, uri_params: dict[str, str]
    ) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None or not shape.members:  # (Action and Version are not members)
            return {}
        tree = field_tree(form_fields(request))
        try:
            params = self._structure(tree, shape, "")
            validate(operation, params, self.protocol)
        except Mismatch as exc:
            raise type_error(operation, self.protocol, exc) from None
        except RecursionError:
            code = error_code(self.protocol, operation.service_model.metadata)
            raise ValidationError(code, "The request is nested too deeply.", status=400) from None
        return params

    def _value(self, node: Node, shape: Shape, path: str) -> Any:
        t = shape.type_name
        if t == "structure":
            return self._structure(node, shape, path)
        if t == "list":
            return self._list(node, shape, path)
        if t == "map":
            return self._map(node, shape, path)
        text = node.get(None)
        if text is None:
            raise Mismatch(path, t, "")
        try:
            return string_converter(shape)(text)
        except (ValueError, TypeError, OverflowError):
            raise Mismatch(path, t, text) from None

    def _structure(self, node: Node, shape: Shape, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        prefix = path + "." if path else ""
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if member.type_name == "list" and member.serialization.get("flattened"):
                item_name = member.member.serialization.get("name")
                child = node.get(item_name) if item_name else node.get(wire)
                if child is None and item_name:
                    child = node.get(wire)
            else:
                child = node.get(wire)
            if child is None:
                continue
            out[name] = self._value(child, member, prefix + name)
        return out

    def _list(self, node: Node, shape: Shape, path: str) -> list[Any]:
        member = shape.member
        if shape.serialization.get("flattened"):
            container = node
        else:
            container = node.get(member.serialization.get("name", "member"))
            if container is None:
                # Be lenient: "Name.N" without the member segment.
                container = node
        return [self._value(child, member, path) for child in _indexed(container)]

    def _map(self, node: Node, shape: Shape, path: str) -> dict[Any, Any]:
        container = node if shape.serialization.get("flattened") else node.get("entry", node)
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out: dict[Any, Any] = {}
        for entry in _indexed(container):
            key_node = entry.get(key_name)
            if key_node is None:
                continue
            key = self._value(key_node, shape.key, path)
            value_node = entry.get(value_name)
            out[key] = None if value_node is None else self._value(value_node, shape.value, path)
        return out
