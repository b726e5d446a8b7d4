"""The ``rest-xml`` protocol (S3): REST bindings (see rest.py) plus an XML body, parsed with
defusedxml only. Namespaces are ignored, flattened lists and maps, ``locationName``s and
``xmlAttribute`` members are honoured; malformed XML is S3's ``MalformedXML``."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from botocore.model import OperationModel, Shape
from defusedxml import DefusedXmlException

from mamori.errors import AwsError
from mamori.protocols.parsers.common import Mismatch, model_key, string_converter
from mamori.protocols.parsers.rest import RestParser

MALFORMED_XML = (
    "The XML you provided was not well-formed or did not validate against our published schema"
)


def malformed_xml() -> AwsError:
    return AwsError("MalformedXML", MALFORMED_XML, status=400)


def _local(name: str) -> str:
    """``{namespace}local`` or ``prefix:local`` -> ``local``."""
    if name[:1] == "{":
        return name[name.index("}") + 1 :]
    return name.rpartition(":")[2]


def parse_xml(body: bytes) -> Element:
    try:
        return SafeET.fromstring(body, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError, RecursionError):
        raise malformed_xml() from None


def _children(elem: Element) -> dict[str, list[Element]]:
    grouped: dict[str, list[Element]] = {}
    for child in elem:
        grouped.setdefault(_local(child.tag), []).append(child)
    return grouped


_member_cache: dict[tuple[int, str], list[tuple[str, Shape, str]]] = {}


def _members(shape: Shape) -> list[tuple[str, Shape, str]]:
    """(name, shape, element name) of a structure's members. When two members share an
    element name (S3 keeps a deprecated scalar beside its flattened-list successor), the
    deprecated one gives way."""
    key = (model_key(shape), shape.name)
    found = _member_cache.get(key)
    if found is None:
        refs = shape._shape_model.get("members", {})
        wires: dict[str, list[str]] = {}
        for name, member in shape.members.items():
            wires.setdefault(member.serialization.get("name", name), []).append(name)
        found = []
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if len(wires[wire]) > 1 and refs.get(name, {}).get("deprecated"):
                continue
            found.append((name, member, wire))
        _member_cache[key] = found
    return found


class RestXmlParser(RestParser):
    protocol = "rest-xml"

    def too_deep(self) -> AwsError:
        return malformed_xml()

    def parse_payload(self, body: bytes, shape: Shape, operation: OperationModel) -> Any:
        root = parse_xml(body)
        try:
            return self._value(root, shape, shape.name)
        except Mismatch:
            raise malformed_xml() from None

    def parse_body_members(
        self, body: bytes, shape: Shape, exclude: frozenset[str], operation: OperationModel
    ) -> dict[str, Any]:
        root = parse_xml(body)
        try:
            return self._structure(root, shape, "", exclude)
        except Mismatch:
            raise malformed_xml() from None

    def _value(self, elem: Element, shape: Shape, path: str) -> Any:
        t = shape.type_name
        if t == "structure":
            return self._structure(elem, shape, path, frozenset())
        if t == "list":
            member = shape.member
            return [self._value(child, member, path) for child in elem]
        if t == "map":
            return self._map_entries(list(elem), shape, path)
        text = elem.text or ""
        try:
            return string_converter(shape)(text)
        except (ValueError, TypeError, OverflowError):
            raise Mismatch(path, t, text) from None

    def _map_entries(self, entries: list[Element], shape: Shape, path: str) -> dict[Any, Any]:
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out: dict[Any, Any] = {}
        for entry in entries:
            parts = _children(entry)
            key_elems = parts.get(key_name)
            if not key_elems:
                raise Mismatch(path, "map entry", "")
            key = self._value(key_elems[0], shape.key, path)
            value_elems = parts.get(value_name)
            out[key] = self._value(value_elems[0], shape.value, path) if value_elems else None
        return out

    def _structure(
        self, elem: Element, shape: Shape, path: str, exclude: frozenset[str]
    ) -> dict[str, Any]:
        children = _children(elem)
        attributes = {_local(k): v for k, v in elem.attrib.items()} if elem.attrib else {}
        out: dict[str, Any] = {}
        for name, member, wire in _members(shape):
            if name in exclude:
                continue
            ser = member.serialization
            if ser.get("xmlAttribute"):
                text = attributes.get(_local(wire))
                if text is not None:
                    try:
                        out[name] = string_converter(member)(text)
                    except (ValueError, TypeError, OverflowError):
                        raise Mismatch(name, member.type_name, text) from None
                continue
            t = member.type_name
            if t == "list" and ser.get("flattened"):
                elems = children.get(wire)
                if elems is None:
                    item_name = member.member.serialization.get("name")
                    elems = children.get(item_name) if item_name else None
                if elems is not None:
                    out[name] = [self._value(e, member.member, name) for e in elems]
            elif t == "map" and ser.get("flattened"):
                elems = children.get(wire)
                if elems is not None:
                    out[name] = self._map_entries(elems, member, name)
            else:
                elems = children.get(wire)
                if elems:
                    out[name] = self._value(elems[0], member, name)
        return out
