r"""Hypothesis strategies that generate boto3-style values for any botocore shape.

Public API::

    shape_strategy(shape, *, protocol=None, location=None, max_depth=4) -> SearchStrategy
    params_strategy(operation_model, *, protocol=None, max_depth=4) -> SearchStrategy[dict]

The values are what a boto3 user would pass (or what botocore's parsers return): ``str``,
``int``, ``float``, ``bool``, ``bytes`` for blobs, tz-aware UTC ``datetime`` for timestamps
(millisecond precision; whole seconds in headers and where ``timestampFormat`` is ``rfc822``),
``dict``/``list`` for structures, maps and lists, plain JSON values for documents and
``jsonvalue`` strings. They work for input *and* output shapes.

Constraints are respected loosely but safely: ``enum`` values are sampled; ``min``/``max``
(string/blob/list/map length, number range) are honoured; a ``pattern`` is generated with
``st.from_regex`` so the whole value matches (Java's ``\p{..}`` property classes, which ``re``
lacks, are generated from their characters below U+3000). Required
members are always present; a union gets exactly one member. Recursive shapes are bounded: beyond
``max_depth`` nesting levels only required members are generated and lists/maps are as small as
their ``min`` allows.

Strings avoid characters no wire format can carry (control characters, surrogates, unassigned
code points). Where HTTP itself loses information, the strategy avoids it: header values are
printable ASCII without surrounding whitespace, ``headers`` prefix-map keys are lower case, URI
labels are non-empty.

``protocol`` (optional, a name from a model's ``metadata.protocols``) avoids values that the
protocol's wire format cannot express at all, so they round-trip: for ``query`` nested structures
and maps are never empty and optional members that are memberless structures are left out
(botocore writes nothing for them); for ``rest-xml`` flattened lists and maps are never empty (an
empty flattened list has no XML element). A deprecated member that shares its wire name with another
member (S3's ``Event`` beside ``Events``) is never generated: no parser can tell them apart.
"""

from __future__ import annotations

import functools
import re
import struct
import unicodedata
from datetime import UTC, datetime
from typing import Any

from botocore.model import OperationModel, Shape
from hypothesis import strategies as st

from mamori.protocols.patterns import compile_pattern, java_to_python

try:  # Python 3.11+: the regex internals moved.
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

__all__ = ["params_strategy", "shape_strategy"]

# Characters every protocol body (JSON, XML, CBOR, form-encoding) carries unchanged.
_BODY_CHARS = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cs", "Cn", "Co"), exclude_characters="\r"
)
# Characters an HTTP header value carries unchanged.
_HEADER_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
_HEADER_NAME = re.compile(r"[a-z0-9][a-z0-9\-_.]*")
_HEADER_KEY = st.from_regex(r"[a-z0-9][a-z0-9\-]{0,15}", fullmatch=True)
# botocore's own check for host labels (hostPrefix expansion).
_HOST_LABEL = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,20}[A-Za-z0-9])?", fullmatch=True)

_INT_BOUNDS = {
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
    "byte": (-(2**7), 2**7 - 1),
    "short": (-(2**15), 2**15 - 1),
}
_MIN_TS = datetime(1970, 1, 2)
_MAX_TS = datetime(2099, 12, 31)
_cache: dict[tuple, tuple[Any, st.SearchStrategy]] = {}


def params_strategy(
    operation_model: OperationModel, *, protocol: str | None = None, max_depth: int = 4
) -> st.SearchStrategy[dict[str, Any]]:
    """Input params for ``operation_model`` (``{}`` when it has no input shape)."""
    shape = operation_model.input_shape
    if shape is None:
        return st.just({})
    return shape_strategy(shape, protocol=protocol, max_depth=max_depth, top_level=True)


def shape_strategy(
    shape: Shape,
    *,
    protocol: str | None = None,
    location: str | None = None,
    max_depth: int = 4,
    top_level: bool = True,
) -> st.SearchStrategy[Any]:
    """A strategy for values of ``shape`` (any botocore shape: input or output).

    ``location`` is the member's HTTP binding (``header``, ``headers``, ``uri``,
    ``querystring``) when the shape is a member bound outside the body; for members of a
    structure it is taken from the member's serialization automatically. ``top_level`` (default)
    marks the shape as an operation's input/output structure: the only structure that may be
    empty even under ``protocol="query"``.
    """
    return _strategy(shape, protocol, location, 0, max_depth, top_level)


def _strategy(
    shape: Shape, protocol: str | None, location: str | None, depth: int, max_depth: int, top: bool
) -> st.SearchStrategy[Any]:
    ser = shape.serialization
    key = (
        id(shape._shape_model),  # shape names repeat across services
        shape.name,
        shape.type_name,
        tuple(sorted((k, str(v)) for k, v in ser.items())),
        protocol,
        location,
        min(depth, max_depth + 1),
        max_depth,
        top,
    )
    cached = _cache.get(key)
    if cached is None:
        cached = _build(shape, protocol, location, depth, max_depth, top)
        # Keep the model dict alive: its id() is part of the key.
        _cache[key] = (shape._shape_model, cached)
        return cached
    return cached[1]


def _sizes(shape: Shape, deep: bool) -> tuple[int, int]:
    lo = int(shape.metadata.get("min", 0) or 0)
    cap = lo if deep else lo + 3
    hi = shape.metadata.get("max")
    return lo, cap if hi is None else max(lo, min(int(hi), cap))


def _build(
    shape: Shape, protocol: str | None, location: str | None, depth: int, max_depth: int, top: bool
) -> st.SearchStrategy[Any]:
    t = shape.type_name
    deep = depth >= max_depth
    if t == "structure":
        if getattr(shape, "is_document_type", False) or shape.metadata.get("document"):
            return _document()
        return _structure(shape, protocol, depth, max_depth, top)
    if t == "list":
        lo, hi = _sizes(shape, deep)
        if location in ("querystring", "header") or (
            protocol == "rest-xml" and shape.serialization.get("flattened")
        ):
            lo, hi = max(lo, 1), max(hi, 1)
        member_loc = {"querystring": "querystring", "header": "header-item"}.get(location or "")
        item = _strategy(shape.member, protocol, member_loc, depth + 1, max_depth, False)
        return st.lists(item, min_size=lo, max_size=hi)
    if t == "map":
        lo, hi = _sizes(shape, deep)
        if (
            protocol == "query"
            or location in ("headers", "querystring")
            or (protocol == "rest-xml" and shape.serialization.get("flattened"))
        ):
            lo, hi = max(lo, 1), max(hi, 1)
        if location == "headers":
            # Header names are lower-case tokens on the way in.
            keys = _HEADER_KEY
            if shape.key.metadata.get("pattern") or shape.key.metadata.get("enum"):
                keys = _string(shape.key, "header").filter(_HEADER_NAME.fullmatch)
            values = _string(shape.value, "header")
        else:
            keys = _strategy(shape.key, protocol, None, depth + 1, max_depth, False)
            value_loc = "querystring" if location == "querystring" else None
            values = _strategy(shape.value, protocol, value_loc, depth + 1, max_depth, False)
        return st.dictionaries(keys, values, min_size=lo, max_size=hi)
    if t == "string":
        if shape.serialization.get("jsonvalue") or shape.metadata.get("jsonvalue"):
            return st.dictionaries(
                st.text(st.characters(min_codepoint=0x61, max_codepoint=0x7A), max_size=5),
                _json_scalar(),
                max_size=3,
            )
        if shape.serialization.get("hostLabel"):
            return _HOST_LABEL
        return _string(shape, location)
    if t in _INT_BOUNDS:
        lo, hi = _INT_BOUNDS[t]
        lo = max(lo, int(shape.metadata.get("min", lo)))
        hi = min(hi, int(shape.metadata.get("max", hi)))
        return st.integers(min_value=lo, max_value=hi)
    if t in ("float", "double"):
        return _float(shape, t == "float")
    if t == "boolean":
        return st.booleans()
    if t == "blob":
        lo, hi = _sizes(shape, deep)
        if shape.metadata.get("streaming") or shape.serialization.get("streaming"):
            hi = max(hi, 64)
        return st.binary(min_size=lo, max_size=hi)
    if t == "timestamp":
        fmt = shape.serialization.get("timestampFormat")
        # botocore drops sub-seconds from every header timestamp, whatever its format.
        whole = fmt == "rfc822" or location in ("header", "header-item")
        base = st.datetimes(min_value=_MIN_TS, max_value=_MAX_TS, timezones=st.just(UTC))
        if whole:
            return base.map(lambda d: d.replace(microsecond=0))
        return base.map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
    raise NotImplementedError(f"no strategy for shape type {t!r} ({shape.name})")


def _structure(
    shape: Shape, protocol: str | None, depth: int, max_depth: int, top: bool
) -> st.SearchStrategy[dict[str, Any]]:
    refs = shape._shape_model.get("members", {})
    wires: dict[str, int] = {}
    for name, member in shape.members.items():
        wire = member.serialization.get("name", name)
        wires[wire] = wires.get(wire, 0) + 1
    members = {
        name: member
        for name, member in shape.members.items()
        if not member.serialization.get("eventstream")
        # A deprecated member sharing its wire name with another one cannot be told apart.
        and not (
            refs.get(name, {}).get("deprecated")
            and wires[member.serialization.get("name", name)] > 1
        )
    }
    required = set(shape.required_members) & set(members)
    if protocol == "query":
        # A structure without members has no query form at all: botocore writes nothing.
        members = {
            name: member
            for name, member in members.items()
            if name in required or member.type_name != "structure" or member.members
        }
    deep = depth >= max_depth

    def member_strategy(name: str) -> st.SearchStrategy[Any]:
        member = members[name]
        loc = member.serialization.get("location")
        return _strategy(member, protocol, loc, depth + 1, max_depth, False)

    if shape.metadata.get("union"):
        names = sorted(members)
        if not names:
            return st.just({})
        return st.sampled_from(names).flatmap(
            lambda n: member_strategy(n).map(lambda v, n=n: {n: v})
        )

    req = {name: member_strategy(name) for name in members if name in required}
    opt = {} if deep else {name: member_strategy(name) for name in members if name not in required}
    base = st.fixed_dictionaries(req, optional=opt)
    if protocol == "query" and not top and members:
        # botocore's query serializer writes nothing for an empty nested structure.
        return base.filter(bool) if req else _non_empty(base, members, member_strategy)
    return base


def _non_empty(base, members, member_strategy):
    names = sorted(members)
    one = st.sampled_from(names).flatmap(lambda n: member_strategy(n).map(lambda v, n=n: {n: v}))
    return st.tuples(one, base).map(lambda pair: {**pair[1], **pair[0]})


def _string(shape: Shape, location: str | None) -> st.SearchStrategy[str]:
    enum = shape.enum if hasattr(shape, "enum") else shape.metadata.get("enum")
    header = location in ("header", "headers", "header-item")
    if enum:
        values = [v for v in enum if not header or v == v.strip()]
        return st.sampled_from(values or list(enum))
    lo = int(shape.metadata.get("min", 0) or 0)
    if location == "uri":
        lo = max(lo, 1)
    model_hi = shape.metadata.get("max")
    model_hi = int(model_hi) if model_hi is not None else None
    chars = _HEADER_CHARS if header else _BODY_CHARS
    pattern = shape.metadata.get("pattern")
    strat = None
    if pattern:
        # The pattern decides the size; the model's max only bounds it.
        strat = _pattern_strategy(pattern, chars, lo, model_hi if model_hi is not None else 4096)
    if strat is None:
        hi = lo + 16 if model_hi is None else max(lo, min(model_hi, lo + 16))
        strat = st.text(chars, min_size=lo, max_size=hi)
    if header:
        strat = strat.filter(lambda s: s == s.strip())
    if location == "header-item":
        # botocore quotes list items holding ',' or '"' but does not escape '\\' in them.
        strat = strat.filter(lambda s: "\\" not in s)
    return strat


def _pattern_strategy(model_pattern: str, chars, lo: int, hi: int) -> st.SearchStrategy[str] | None:
    compiled = compile_pattern(model_pattern)  # what the server checks
    pattern = _generable(model_pattern)  # what hypothesis can generate from
    try:
        re.compile(pattern)
    except re.error:  # Java syntax re lacks (``[\w-_]``): draw text, keep what the server takes
        strat = st.text(chars, min_size=lo, max_size=min(hi, lo + 16))
        return strat.filter(lambda s: compiled.fullmatch(s) is not None)
    # The common shape "^[class]{m,n}$" / "[class]+": generate the size directly.
    try:
        parsed = [item for item in sre_parse.parse(pattern) if item[0] is not sre_constants.AT]
    except Exception:
        parsed = []
    if len(parsed) == 1 and parsed[0][0] in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
        rmin, rmax, sub = parsed[0][1]
        if len(sub) == 1 and sub[0][0] in (
            sre_constants.IN,
            sre_constants.ANY,
            sre_constants.LITERAL,
        ):
            size_lo = max(lo, rmin)
            size_hi = hi if rmax is sre_constants.MAXREPEAT else min(hi, rmax)
            if size_lo <= size_hi:
                sub_pattern = _sub_source(pattern)
                if sub_pattern is not None:
                    try:
                        one = st.from_regex(
                            re.compile(sub_pattern, re.ASCII), fullmatch=True, alphabet=chars
                        )
                        strat = st.lists(one, min_size=size_lo, max_size=size_hi).map("".join)
                        return strat.filter(lambda s: compiled.fullmatch(s) is not None)
                    except Exception:
                        pass
    generating = _without_lookarounds(pattern)
    try:
        strat = st.from_regex(re.compile(generating, re.ASCII), fullmatch=True, alphabet=chars)
    except Exception:
        return None
    if generating != pattern:
        # hypothesis cannot generate lookarounds (it finds no example of IAM's
        # ``^(?=.*\{)...`` at all): generate without them, keep what the whole pattern accepts.
        strat = strat.filter(lambda s: compiled.fullmatch(s) is not None)
    return strat.filter(lambda s: lo <= len(s) <= hi)


_LOOKAROUNDS = ("(?=", "(?!", "(?<=", "(?<!")
_PROPERTY_CLASS = re.compile(r"\\p\{(\w+)\}")
# Generated characters of a Unicode property class are drawn from below this code point: plenty
# of letters, marks, numbers, symbols and separators, and a class hypothesis compiles quickly.
_PROPERTY_LIMIT = 0x3000


def _generable(pattern: str) -> str:
    """A model pattern ``re`` and hypothesis can generate from: supplementary characters as code
    points, and each ``\\p{..}`` property (all inside character classes in the models) as the
    ranges of its characters below ``_PROPERTY_LIMIT``."""
    return _PROPERTY_CLASS.sub(lambda m: _property_ranges(m[1]), java_to_python(pattern))


@functools.cache
def _property_ranges(category: str) -> str:
    points = [
        cp for cp in range(_PROPERTY_LIMIT) if unicodedata.category(chr(cp)).startswith(category)
    ]
    ranges: list[list[int]] = []
    for cp in points:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)


def _without_lookarounds(pattern: str) -> str:
    """``pattern`` with its lookahead and lookbehind groups removed."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith(_LOOKAROUNDS, i):
            i = _group_end(pattern, i)
            continue
        if pattern[i] == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        out.append(pattern[i])
        i += 1
    return "".join(out)


def _group_end(pattern: str, start: int) -> int:
    """The index just past the group opening at ``start`` (escapes and classes skipped)."""
    depth, i, in_class = 0, start, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern.startswith("]", i + 1):  # a leading "]" is a literal in a class
                i += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(pattern)


_REPEAT_TAIL = re.compile(r"(\+|\*|\{\d*,?\d*\})\??\$?$")


def _sub_source(pattern: str) -> str | None:
    """The single-character part of ``^X{m,n}$``-style patterns (``X`` without the repeat)."""
    body = pattern[1:] if pattern.startswith("^") else pattern
    match = _REPEAT_TAIL.search(body)
    if not match:
        return None
    sub = body[: match.start()]
    try:
        re.compile(sub)
    except re.error:
        return None
    return sub


def _float(shape: Shape, single: bool) -> st.SearchStrategy[float]:
    limit = 3.0e38 if single else 1.0e300
    lo = float(shape.metadata.get("min", -limit))
    hi = float(shape.metadata.get("max", limit))
    lo, hi = max(lo, -limit), min(hi, limit)
    strat = st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)
    if single:
        # botocore's CBOR serializer writes "float" shapes as IEEE single precision.
        strat = strat.map(lambda x: struct.unpack(">f", struct.pack(">f", x))[0]).filter(
            lambda x: lo <= x <= hi
        )
    return strat


def _json_scalar() -> st.SearchStrategy[Any]:
    return (
        st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(_BODY_CHARS, max_size=8)
    )


def _document() -> st.SearchStrategy[Any]:
    scalars = (
        st.booleans()
        | st.integers(-(2**53), 2**53)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(_BODY_CHARS, max_size=8)
    )
    nested = st.recursive(
        scalars | st.none(),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.text(_BODY_CHARS, max_size=6), inner, max_size=3)
        ),
        max_leaves=6,
    )
    # A document member set to None is indistinguishable from an absent one.
    return st.one_of(
        scalars,
        st.lists(nested, max_size=3),
        st.dictionaries(st.text(_BODY_CHARS, max_size=6), nested, max_size=3),
    )
