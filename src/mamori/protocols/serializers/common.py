"""Pieces every response serializer shares: value conversions, error-shape lookup, caching.

Everything here is driven by botocore's shapes. Per-shape work is compiled once into small
closures and cached, so serializing a response is a walk over the output dict only.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape
from botocore.utils import parse_timestamp

from mamori.errors import AwsError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Shape keys: botocore builds a new Shape object on every resolution, so compiled closures are
# cached under the shape's name plus its (member-merged) serialization traits.
ShapeKey = tuple[str, str, str]


def shape_key(shape: Shape) -> ShapeKey:
    serialization = shape.serialization
    traits = repr(sorted(serialization.items())) if serialization else ""
    return (shape.name, shape.type_name, traits)


def service_key(service: ServiceModel) -> tuple[str, str]:
    return (service.service_name, service.api_version)


# --------------------------------------------------------------------------- timestamps


def to_datetime(value: Any) -> datetime:
    """Any timestamp a provider may return, as an aware UTC datetime (naive means UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return EPOCH + timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return to_datetime(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            pass
        try:
            return EPOCH + timedelta(seconds=float(text))
        except ValueError:
            pass
        return to_datetime(parse_timestamp(text))
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise TypeError(f"not a timestamp: {value!r}")


def epoch_seconds(value: Any) -> int | float:
    """Seconds since the epoch: an int when whole, else a float (as AWS's JSON protocols send)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    delta = to_datetime(value) - EPOCH
    seconds = delta.days * 86400 + delta.seconds
    if delta.microseconds:
        return seconds + delta.microseconds / 1_000_000
    return seconds


def iso8601(value: Any) -> str:
    dt = to_datetime(value)
    text = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )
    micro = dt.microsecond
    if micro:
        if micro % 1000 == 0:
            text += f".{micro // 1000:03d}"
        else:
            text += f".{micro:06d}"
    return text + "Z"


def http_date(value: Any) -> str:
    """RFC 7231 IMF-fixdate (``Tue, 15 Nov 1994 08:12:31 GMT``); sub-seconds are dropped."""
    dt = to_datetime(value)
    return (
        f"{_WEEKDAYS[dt.weekday()]}, {dt.day:02d} {_MONTHS[dt.month - 1]} {dt.year:04d} "
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d} GMT"
    )


def epoch_text(value: Any) -> str:
    seconds = epoch_seconds(value)
    if isinstance(seconds, float) and seconds.is_integer():
        return str(int(seconds))
    return repr(seconds)


TIMESTAMP_TEXT: dict[str, Callable[[Any], str]] = {
    "iso8601": iso8601,
    "rfc822": http_date,
    "unixTimestamp": epoch_text,
}


def timestamp_text(fmt: str) -> Callable[[Any], str]:
    return TIMESTAMP_TEXT.get(fmt, iso8601)


# --------------------------------------------------------------------------- scalars


def to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if hasattr(value, "read"):
        return to_bytes(value.read())
    raise TypeError(f"not a blob: {value!r}")


def b64(value: Any) -> str:
    return base64.b64encode(to_bytes(value)).decode("ascii")


def float_text(value: Any) -> str:
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return repr(number)


def bool_text(value: Any) -> str:
    return "true" if value else "false"


def int_text(value: Any) -> str:
    return str(int(value))


def scalar_text(shape: Shape) -> Callable[[Any], str]:
    """How a scalar shape is written as text (XML content, or an HTTP header value)."""
    type_name = shape.type_name
    if type_name in ("string", "character"):
        return str
    if type_name == "boolean":
        return bool_text
    if type_name in ("integer", "long", "short", "byte"):
        return int_text
    if type_name in ("float", "double"):
        return float_text
    if type_name == "blob":
        return b64
    if type_name == "timestamp":
        return timestamp_text(shape.serialization.get("timestampFormat", "iso8601"))
    return str


# --------------------------------------------------------------------------- errors

_ERROR_TABLES: dict[tuple[str, str], tuple[dict[str, Shape], dict[str, Shape]]] = {}


def _error_tables(service: ServiceModel) -> tuple[dict[str, Shape], dict[str, Shape]]:
    key = service_key(service)
    tables = _ERROR_TABLES.get(key)
    if tables is None:
        by_name: dict[str, Shape] = {}
        by_code: dict[str, Shape] = {}
        for shape in service.error_shapes:
            by_name[shape.name] = shape
            by_code.setdefault(shape.error_code, shape)
        tables = (by_name, by_code)
        _ERROR_TABLES[key] = tables
    return tables


def error_shape_for(
    service: ServiceModel, operation: OperationModel | None, code: str
) -> Shape | None:
    """The modelled error shape an ``AwsError`` code names: by shape name, else by wire code.

    A provider may raise either ``NoSuchEntityException`` (the shape) or ``NoSuchEntity`` (the
    query code the model gives it); both find the same shape. The operation's own errors win.
    """
    if operation is not None:
        for shape in operation.error_shapes:
            if shape.name == code:
                return shape
        for shape in operation.error_shapes:
            if shape.error_code == code:
                return shape
    by_name, by_code = _error_tables(service)
    return by_name.get(code) or by_code.get(code)


def _shape_is_fault(shape: Shape | None) -> bool:
    if shape is None:
        return False
    raw = getattr(shape, "_shape_model", {})
    if raw.get("fault"):
        return True
    return shape.metadata.get("error", {}).get("senderFault") is False


def error_status(
    service: ServiceModel, error: AwsError, operation: OperationModel | None = None
) -> int:
    """The HTTP status an error is answered with.

    ``AwsError.status`` when given; else the error shape's ``error.httpStatusCode``; else 500
    for server faults (the shape's ``fault`` trait, or ``sender_fault=False``) and 400 otherwise.
    """
    if error.status is not None:
        return int(error.status)
    shape = error_shape_for(service, operation, error.code)
    if shape is not None:
        status = shape.metadata.get("error", {}).get("httpStatusCode")
        if status:
            return int(status)
    if not error.sender_fault or _shape_is_fault(shape):
        return 500
    return 400


def is_sender_fault(error: AwsError, status: int, shape: Shape | None) -> bool:
    if not error.sender_fault or _shape_is_fault(shape):
        return False
    return status < 500


def message_member(shape: Shape | None) -> tuple[str | None, str]:
    """(member name, wire name) of an error shape's message member; default ``message``."""
    if shape is not None:
        for name in ("message", "Message"):
            member = shape.members.get(name)
            if member is not None:
                return name, member.serialization.get("name", name)
        for name, member in shape.members.items():
            if name.lower() == "message":
                return name, member.serialization.get("name", name)
    return None, "message"


def host_id(request_id: str) -> str:
    """S3's ``x-amz-id-2``: an opaque token, stable per request id."""
    return base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode("ascii")
