"""Shape-driven XML writing, shared by the ``query`` and ``rest-xml`` serializers.

Each shape compiles once into closures that return XML text; a response is built with string
joins, never a DOM. Lists are ``<member>`` items (or their ``locationName``) unless
``flattened``; maps are ``<entry><key/><value/></entry>`` (or their names); ``xmlAttribute``
members become attributes of their structure's element, whose ``xmlNamespace`` is declared on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from botocore.model import ServiceModel, Shape

from mamori.protocols.serializers.common import scalar_text, service_key, shape_key

Writer = Callable[[Any], str]
AttrWriter = Callable[[Any], str] | None
LOCATED = frozenset({"header", "headers", "statusCode"})

# Characters XML 1.0 cannot carry at all, not even as character references: C0 controls other
# than tab/newline/carriage return, lone surrogates, U+FFFE and U+FFFF. They are replaced with
# U+FFFD so the document stays well-formed (expat, and so botocore, rejects it otherwise).
_INVALID = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_TEXT_SPECIAL = re.compile(f"[&<>\r{_INVALID}]")
_ATTR_SPECIAL = re.compile(f'[&<>"\t\n\r{_INVALID}]')
_TEXT_TABLE: dict[int, str] = {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    # A literal CR would be normalised to LF by the reader; a reference survives.
    ord("\r"): "&#13;",
}
for _code in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0xD800, 0xE000)]:
    _TEXT_TABLE[_code] = "\ufffd"
_TEXT_TABLE[0xFFFE] = _TEXT_TABLE[0xFFFF] = "\ufffd"
_ATTR_TABLE = {**_TEXT_TABLE, ord('"'): "&quot;", ord("\t"): "&#9;", ord("\n"): "&#10;"}


def escape_text(text: str) -> str:
    # Most values (ids, ARNs, names) are printable ASCII without markup: a few C-level checks
    # decide that for a third less than the regex, which handles everything else.
    if (
        text.isascii()
        and text.isprintable()
        and "&" not in text
        and "<" not in text
        and ">" not in text
    ):
        return text
    if _TEXT_SPECIAL.search(text) is None:
        return text
    return text.translate(_TEXT_TABLE)


def escape_attr(text: str) -> str:
    if _ATTR_SPECIAL.search(text) is None:
        return text
    return text.translate(_ATTR_TABLE)


def namespace_attr(namespace: Any) -> str:
    """`` xmlns="uri"`` / `` xmlns:prefix="uri"`` for an ``xmlNamespace`` trait (str or dict)."""
    if not namespace:
        return ""
    if isinstance(namespace, str):
        return f' xmlns="{escape_attr(namespace)}"'
    uri = namespace.get("uri")
    if not uri:
        return ""
    prefix = namespace.get("prefix")
    name = f"xmlns:{prefix}" if prefix else "xmlns"
    return f' {name}="{escape_attr(uri)}"'


def _string_content(value: Any) -> str:
    return escape_text(value if isinstance(value, str) else str(value))


class XmlCompiler:
    def __init__(self) -> None:
        self._caches: dict[tuple[str, str], dict[Any, Any]] = {}

    def _cache(self, service: ServiceModel) -> dict[Any, Any]:
        key = service_key(service)
        cache = self._caches.get(key)
        if cache is None:
            cache = self._caches[key] = {}
        return cache

    # ------------------------------------------------------------------ public

    def members(
        self, service: ServiceModel, shape: Shape, skip_located: bool = False
    ) -> Callable[[dict[str, Any]], str]:
        """The children of a structure's element (its member elements), without the wrapper."""
        cache = self._cache(service)
        if not skip_located:
            return self._content(shape, cache)[0]
        key = ("members", shape_key(shape))
        fn = cache.get(key)
        if fn is None:
            fn = cache[key] = self._structure_content(shape, cache, skip_located)
        return fn

    def attributes(self, service: ServiceModel, shape: Shape) -> AttrWriter:
        """The attributes (``xmlAttribute`` members, namespace) of a structure's element."""
        return self._content(shape, self._cache(service))[1]

    def element(self, service: ServiceModel, shape: Shape, tag: str) -> Writer:
        """A writer for a whole ``<tag>...</tag>`` element holding a value of ``shape``."""
        return self._element(tag, shape, self._cache(service))

    # ------------------------------------------------------------------ compilation

    def _content(self, shape: Shape, cache: dict[Any, Any]) -> tuple[Writer, AttrWriter]:
        key = shape_key(shape)
        found = cache.get(key)
        if found is not None:
            return found
        type_name = shape.type_name
        if type_name == "structure":
            return self._compile_structure(shape, cache, key)
        if type_name == "list":
            holder: list[Writer] = []

            def list_content(value: Any) -> str:
                item = holder[0]
                return "".join([item(v) for v in value if v is not None])

            cache[key] = (list_content, None)
            item_tag = shape.member.serialization.get("name", "member")
            holder.append(self._element(item_tag, shape.member, cache))
            return cache[key]
        if type_name == "map":
            pair: list[Writer] = []

            def map_content(value: Any) -> str:
                return "".join(
                    [
                        f"<entry>{pair[0](k)}{pair[1](v)}</entry>"
                        for k, v in value.items()
                        if v is not None
                    ]
                )

            cache[key] = (map_content, None)
            pair.extend(self._map_pair(shape, cache))
            return cache[key]
        if type_name in ("string", "character"):
            result: tuple[Writer, AttrWriter] = (_string_content, None)
        else:
            result = (scalar_text(shape), None)
        cache[key] = result
        return result

    def _map_pair(self, shape: Shape, cache: dict[Any, Any]) -> tuple[Writer, Writer]:
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        return (
            self._element(key_tag, shape.key, cache),
            self._element(value_tag, shape.value, cache),
        )

    def _element(self, tag: str, shape: Shape, cache: dict[Any, Any]) -> Writer:
        content, attrs = self._content(shape, cache)
        open_tag, close_tag = f"<{tag}", f"</{tag}>"
        if content is _string_content:  # the commonest element, one call shallower
            start = f"{open_tag}>"

            def string_element(value: Any) -> str:
                text = escape_text(value if type(value) is str else str(value))
                return f"{start}{text}{close_tag}"

            return string_element
        if attrs is None:
            start = f"{open_tag}>"

            def element(value: Any) -> str:
                return f"{start}{content(value)}{close_tag}"

        else:

            def element(value: Any) -> str:
                return f"{open_tag}{attrs(value)}>{content(value)}{close_tag}"

        return element

    def _member_writer(self, name: str, member: Shape, cache: dict[Any, Any]) -> Writer:
        tag = member.serialization.get("name", name)
        if member.serialization.get("flattened"):
            if member.type_name == "list":
                item_tag = member.member.serialization.get("name", tag)
                holder: list[Writer] = [self._element(item_tag, member.member, cache)]

                def flat_list(value: Any) -> str:
                    item = holder[0]
                    return "".join([item(v) for v in value if v is not None])

                return flat_list
            if member.type_name == "map":
                key_writer, value_writer = self._map_pair(member, cache)
                start, end = f"<{tag}>", f"</{tag}>"

                def flat_map(value: Any) -> str:
                    return "".join(
                        [
                            f"{start}{key_writer(k)}{value_writer(v)}{end}"
                            for k, v in value.items()
                            if v is not None
                        ]
                    )

                return flat_map
        return self._element(tag, member, cache)

    def _structure_content(self, shape: Shape, cache: dict[Any, Any], skip_located: bool) -> Writer:
        table: list[tuple[str, Writer]] = []

        def structure_content(value: dict[str, Any]) -> str:
            parts = []
            for name, writer in table:
                item = value.get(name)
                if item is not None:
                    parts.append(writer(item))
            return "".join(parts)

        def fill() -> None:
            for name, member in shape.members.items():
                traits = member.serialization
                if traits.get("xmlAttribute"):
                    continue
                if skip_located and traits.get("location") in LOCATED:
                    continue
                table.append((name, self._member_writer(name, member, cache)))

        structure_content.fill = fill  # type: ignore[attr-defined]
        if skip_located:
            fill()
        return structure_content

    def _compile_structure(
        self, shape: Shape, cache: dict[Any, Any], key: Any
    ) -> tuple[Writer, AttrWriter]:
        content = self._structure_content(shape, cache, False)
        static = namespace_attr(shape.serialization.get("xmlNamespace"))
        attributes = [
            (name, member.serialization.get("name", name), scalar_text(member))
            for name, member in shape.members.items()
            if member.serialization.get("xmlAttribute")
        ]
        attrs: AttrWriter = None
        if attributes:

            def attrs(value: dict[str, Any]) -> str:
                parts = [static]
                for name, attr, text in attributes:
                    item = value.get(name)
                    if item is not None:
                        parts.append(f' {attr}="{escape_attr(text(item))}"')
                return "".join(parts)

        elif static:

            def attrs(value: dict[str, Any]) -> str:
                return static

        cache[key] = (content, attrs)
        content.fill()  # type: ignore[attr-defined]
        return content, attrs
