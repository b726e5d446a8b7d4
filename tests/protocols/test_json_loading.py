"""JSON bodies are read and written through orjson where it does what the standard library
does, and by the standard library everywhere else: the result never depends on which one did it."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mamori.errors import AwsError
from mamori.protocols.parsers.json import load_json_object
from mamori.protocols.serializers.json import _fallback, dumps_bytes

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: well past 64 bits in both directions
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()  # includes lone surrogates, written escaped
)
_documents = st.dictionaries(
    st.text(),
    st.recursive(
        _scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    ),
    max_size=6,
)


def _same(a, b) -> bool:
    """Equal, with NaN equal to NaN and ints told apart from floats."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@given(_documents, st.booleans())
def test_reads_every_document_as_the_standard_library_does(document, ascii_only) -> None:
    body = json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert _same(load_json_object(body), json.loads(body))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # integers beyond 64 bits stay integers (orjson alone would make them floats)
        (b'{"n": 123456789012345678901234567890}', 123456789012345678901234567890),
        (b'{"n": -9223372036854775809}', -9223372036854775809),
        (b'{"n": 18446744073709551616}', 18446744073709551616),
        (b'{"n": 9223372036854775807}', 9223372036854775807),
        (b'{"n": 1e400}', math.inf),
        (b'{"n": "\\ud800"}', "\ud800"),
        (b'{"n": 1, "n": 2}', 2),  # the last of a repeated name wins
    ],
)
def test_edge_values(body: bytes, expected) -> None:
    assert _same(load_json_object(body)["n"], expected)


def test_nan_and_a_byte_order_mark_are_read() -> None:
    assert math.isnan(load_json_object(b'{"n": NaN}')["n"])
    assert load_json_object(b'\xef\xbb\xbf{"n": 1}') == {"n": 1}


@pytest.mark.parametrize("body", [b"null", b"[1]", b'"x"', b"{", b'{"a":1} x', b"\xff{}"])
def test_not_an_object_is_a_serialization_error(body: bytes) -> None:
    with pytest.raises(AwsError) as raised:
        load_json_object(body)
    assert raised.value.code == "SerializationException"


# Writing: ``dumps_bytes`` goes through orjson where it writes what the standard library would.

_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_fallback, ensure_ascii=False)
_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_fallback)


def _standard_library(document) -> bytes:
    try:
        return _ENCODER.encode(document).encode("utf-8")
    except UnicodeEncodeError:
        return _ASCII_ENCODER.encode(document).encode("ascii")


_writable = st.recursive(
    _scalars
    | st.datetimes(timezones=st.just(UTC))
    | st.binary(max_size=8)
    | st.decimals(allow_nan=False, places=3)
    | st.frozensets(st.integers(), max_size=3),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text() | st.integers(), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(), _writable, max_size=6))
def test_writes_what_the_standard_library_writes(document) -> None:
    written = dumps_bytes(document)
    expected = _standard_library(document)
    # The same document (float spellings may differ: 1e-07 or 1e-7), and valid UTF-8.
    assert _same(json.loads(written), json.loads(expected))
    written.decode("utf-8")


@pytest.mark.parametrize(
    "document",
    [
        {"n": math.nan},
        {"n": [math.inf, -math.inf]},
        {"n": None},
        {"n": 2**70},
        {"n": "\ud800"},
        {1: "int key"},
        {"when": datetime(2026, 12, 7, 12, 0, tzinfo=UTC)},
    ],
)
def test_writes_edge_values_as_the_standard_library_does(document) -> None:
    assert dumps_bytes(document) == _standard_library(document)


def test_what_neither_can_write_is_refused() -> None:
    with pytest.raises(TypeError):
        dumps_bytes({"x": object()})
