"""Shared pieces of the request parsers: value conversions, error helpers and the compiled
decoder for JSON-like trees (JSON and CBOR bodies).

Everything here is driven by the botocore shape; compiled work is cached per model and shape
name, so the hot path (one KMS call) does dictionary look-ups and a handful of closure calls.
"""

from __future__ import annotations

import binascii
import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from botocore.model import OperationModel, Shape

from mamori.errors import AwsError, ValidationError
from mamori.protocols.validation import error_code

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ISO_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?\s*(Z|z|[+-]\d\d(?::?\d\d)?)?"
)
_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class Mismatch(Exception):
    """A wire value does not fit its shape; ``path`` is the member path, ``expected`` the type."""

    def __init__(self, path: str, expected: str, value: Any) -> None:
        super().__init__(path, expected)
        self.path = path
        self.expected = expected
        self.value = value


def model_key(shape: Shape) -> int:
    """A stable id for the service model a shape belongs to (for per-model caches)."""
    shape_map = shape._shape_resolver._shape_map
    _MODELS[id(shape_map)] = shape_map  # keep it alive: its id is part of cache keys
    return id(shape_map)


_MODELS: dict[int, Any] = {}


def member_traits(shape: Shape) -> tuple:
    """The member-level traits that change how a shape is decoded."""
    ser = shape.serialization
    if not ser:
        return ()
    return (ser.get("timestampFormat"), bool(ser.get("jsonvalue")), ser.get("flattened"))


# --- scalar conversions -------------------------------------------------------------------


def epoch_to_datetime(value: float | int) -> datetime:
    if isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(value)
    if isinstance(value, int):
        return _EPOCH + timedelta(seconds=value)
    return datetime.fromtimestamp(value, UTC)


def parse_timestamp(value: Any) -> datetime:
    """A timestamp in any of AWS's wire forms: epoch seconds (number or numeric string),
    ISO 8601 or RFC 822 / HTTP-date. Returns a tz-aware UTC datetime; raises ValueError."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return epoch_to_datetime(value)
    if not isinstance(value, str):
        raise ValueError(value)
    text = value.strip()
    if _NUMBER_RE.fullmatch(text):
        return epoch_to_datetime(float(text) if "." in text or "e" in text.lower() else int(text))
    m = _ISO_RE.fullmatch(text)
    if m:
        year, month, day, hour, minute, second, frac, tz = m.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        result = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, UTC
        )
        if tz and tz not in ("Z", "z"):
            sign = -1 if tz[0] == "-" else 1
            digits = tz[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            result -= sign * offset
        return result
    parsed = parsedate_to_datetime(text)  # raises ValueError/TypeError on junk
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def b64decode(value: str | bytes) -> bytes:
    """Strict base64 (padding optional, whitespace ignored); raises ValueError."""
    if isinstance(value, str):
        value = value.encode("ascii")
    value = value.replace(b"\n", b"").replace(b"\r", b"").strip()
    if len(value) % 4:
        value += b"=" * (-len(value) % 4)
    try:
        # ``base64.b64decode(value, validate=True)`` in one C call (its regex check is Python)
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(str(exc)) from None


_INT_RANGES = {
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
    "short": (-(2**15), 2**15 - 1),
    "byte": (-(2**7), 2**7 - 1),
}


def _int_parser(type_name: str) -> Callable[[str], int]:
    low, high = _INT_RANGES[type_name]

    def to_int(text: str) -> int:
        text = text.strip()
        try:
            value = int(text)
        except ValueError:
            number = float(text)
            if not number.is_integer():
                raise
            value = int(number)
        if not low <= value <= high:
            raise ValueError(text)
        return value

    return to_int


_TO_INT = {name: _int_parser(name) for name in _INT_RANGES}


def _to_bool(text: str) -> bool:
    low = text.strip().lower()
    if low == "true":
        return True
    if low == "false":
        return False
    raise ValueError(text)


def _to_float(text: str) -> float:
    return float(text.strip())


def _jsonvalue(text: str) -> Any:
    return json.loads(b64decode(text))


def string_converter(shape: Shape, *, base64_blobs: bool = True) -> Callable[[str], Any]:
    """A function turning the text form of a scalar (query string, header, URI label, XML
    text, form field) into its Python value; it raises ValueError on text that does not fit."""
    t = shape.type_name
    if t == "string":
        if shape.serialization.get("jsonvalue"):
            return _jsonvalue
        return str
    if t in _TO_INT:
        return _TO_INT[t]
    if t in ("float", "double"):
        return _to_float
    if t == "boolean":
        return _to_bool
    if t == "timestamp":
        return parse_timestamp
    if t == "blob":
        return b64decode if base64_blobs else (lambda text: text.encode("utf-8"))
    raise ValueError(f"{shape.name} of type {t} has no text form")


# --- errors --------------------------------------------------------------------------------


def wire_path(path: str) -> str:
    """AWS's member path style: the first letter of each member name in lower case."""
    return ".".join(p[:1].lower() + p[1:] if p and not p.isdigit() else p for p in path.split("."))


def serialization_error(message: str = "") -> AwsError:
    return AwsError("SerializationException", message, status=400)


def tree_type_error(exc: Mismatch) -> AwsError:
    """A JSON or CBOR body value of the wrong type: what AWS's JSON services answer."""
    return serialization_error(
        f"Unexpected value type for '{wire_path(exc.path)}': expected {exc.expected}."
    )


def type_error(operation: OperationModel, protocol: str, exc: Mismatch) -> AwsError:
    """A text value (form field, header, query parameter, URI label) that does not have the
    member's type: a validation error in the service's own code."""
    value = exc.value
    shown = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(shown) > 64:
        shown = shown[:61] + "..."
    code = error_code(protocol, operation.service_model.metadata)
    return ValidationError(
        code,
        f"1 validation error detected: Value '{shown}' at '{wire_path(exc.path)}' failed to "
        f"satisfy constraint: Member must be of type {exc.expected}",
        status=400,
    )


# --- decoding JSON-like trees (JSON, CBOR) ---------------------------------------------------

Decoder = Callable[[Any, str], Any]


def _fail(path: str, expected: str, value: Any) -> Any:
    raise Mismatch(path, expected, value)


class TreeDecoder:
    """Compiles a shape into a function ``(wire_value, path) -> python_value`` for bodies that
    are already a tree of dicts/lists/scalars (JSON, CBOR). Subclasses choose how blobs and
    timestamps arrive on the wire. Unknown members are ignored, ``null`` members are absent."""

    def __init__(self) -> None:
        self._cache: dict[tuple, Decoder] = {}

    def decoder(self, shape: Shape, exclude: frozenset[str] = frozenset()) -> Decoder:
        key = (model_key(shape), shape.name, member_traits(shape), exclude)
        found = self._cache.get(key)
        if found is None:
            # Registered before compiling, so recursive shapes find it (through the cell).
            cell: list[Decoder] = []
            self._cache[key] = lambda value, path: cell[0](value, path)
            found = self._compile(shape, exclude)
            cell.append(found)
            self._cache[key] = found
        return found

    # scalar hooks -----------------------------------------------------------------------
    def decode_blob(self, value: Any, path: str) -> bytes:
        if isinstance(value, str):
            try:
                return b64decode(value)
            except ValueError:
                raise Mismatch(path, "blob (base64)", value) from None
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        raise Mismatch(path, "blob", value)

    def decode_timestamp(self, value: Any, path: str) -> datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, bool):
            raise Mismatch(path, "timestamp", value)
        try:
            return parse_timestamp(value)
        except (ValueError, TypeError, OverflowError):
            raise Mismatch(path, "timestamp", value) from None

    # compilation ------------------------------------------------------------------------
    def _compile(self, shape: Shape, exclude: frozenset[str]) -> Decoder:
        t = shape.type_name
        if t == "structure":
            if getattr(shape, "is_document_type", False):
                return _identity
            return self._structure(shape, exclude)
        if t == "list":
            item = self.decoder(shape.member)

            def decode_list(value: Any, path: str) -> list:
                if type(value) is not list:
                    return _fail(path, "list", value)
                return [None if v is None else item(v, path) for v in value]

            return decode_list
        if t == "map":
            key_dec = self.decoder(shape.key)
            val_dec = self.decoder(shape.value)

            def decode_map(value: Any, path: str) -> dict:
                if type(value) is not dict:
                    return _fail(path, "map", value)
                return {
                    key_dec(k, path): None if v is None else val_dec(v, path)
                    for k, v in value.items()
                }

            return decode_map
        if t == "string":
            if shape.serialization.get("jsonvalue"):

                def decode_jsonvalue(value: Any, path: str) -> Any:
                    if isinstance(value, str):
                        try:
                            return json.loads(value)
                        except ValueError:
                            return _fail(path, "JSON string", value)
                    return value

                return decode_jsonvalue
            return _string
        if t in _INT_RANGES:
            return _integer_decoder(t)
        if t in ("float", "double"):
            return _float
        if t == "boolean":
            return _boolean
        if t == "blob":
            return self.decode_blob
        if t == "timestamp":
            return self.decode_timestamp
        return _identity

    def _structure(self, shape: Shape, exclude: frozenset[str]) -> Decoder:
        table: dict[str, tuple[str, Decoder]] = {}
        for name, member in shape.members.items():
            if name in exclude:
                continue
            wire = member.serialization.get("name", name)
            table[wire] = (name, self.decoder(member))

        def decode_structure(value: Any, path: str) -> dict:
            if type(value) is not dict:
                return _fail(path or "input", "structure", value)
            out = {}
            prefix = path + "." if path else ""
            for k, v in value.items():
                entry = table.get(k)
                if entry is None or v is None:
                    continue
                name, dec = entry
                out[name] = dec(v, prefix + name)
            return out

        return decode_structure


def _identity(value: Any, path: str) -> Any:
    return value


def _string(value: Any, path: str) -> str:
    if type(value) is str:
        return value
    return _fail(path, "string", value)


def _integer_decoder(type_name: str) -> Decoder:
    low, high = _INT_RANGES[type_name]

    def decode_integer(value: Any, path: str) -> int:
        if type(value) is float and value.is_integer():
            value = int(value)
        if type(value) is int and low <= value <= high:
            return value
        return _fail(path, type_name, value)

    return decode_integer


_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _float(value: Any, path: str) -> float:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    if type(value) is str and value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    return _fail(path, "double", value)


def _boolean(value: Any, path: str) -> bool:
    if type(value) is bool:
        return value
    return _fail(path, "boolean", value)
