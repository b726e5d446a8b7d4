"""requestParameters and responseElements: a call's input and output as CloudTrail records them.

Member names in lowerCamelCase as CloudTrail writes them; every value the model marks
``sensitive`` (plaintexts, secret keys, passwords) replaced by CloudTrail's placeholder, every
blob and every streaming body left out, so no secret reaches the journal.

Every call's parameters go through here, so each shape's walk is worked out once: a structure
knows which of its members to copy as they are, hide, drop or walk into, instead of asking the
model on every call. Nesting deeper than ``MAX_DEPTH`` is dropped (recursive shapes can nest
without end).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.model import Shape

from mamori.memo import PerObject

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
# Credential parts the models do not mark sensitive: a session token never reaches the journal.
ALWAYS_HIDDEN = frozenset({"SessionToken"})
MAX_DEPTH = 20

# (value, depth) -> what CloudTrail records; None leaves the member out.
Redactor = Callable[[Any, int], Any]


# What a structure does with a member.
_COPY, _HIDE, _WALK = 0, 1, 2
# Types recorded as they are.
_WALKED_TYPES = frozenset({"structure", "list", "map", "blob", "timestamp"})


def redact(value: Any, shape: Shape | None) -> Any:
    """``value`` of ``shape`` as CloudTrail records it (None when nothing is recorded)."""
    if shape is None:
        return None
    return _redactor_of(shape)(value, 0)


def _compile(shape: Shape) -> Redactor:
    if shape.metadata.get("sensitive"):
        return _hidden
    type_name = shape.type_name
    if type_name == "structure":
        return _structure(shape)
    if type_name == "list":
        return _list(shape.member)
    if type_name == "map":
        return _map(shape.value)
    if type_name == "blob":
        return _dropped
    if type_name == "timestamp":
        return _timestamp
    return _scalar


# The redactor of a shape, compiled on first use (a structure's members are compiled when first
# walked into, so recursive shapes compile once).
redactor: PerObject[Shape, Redactor] = PerObject(_compile, max_entries=65536)
_redactor_of = redactor.__call__  # (calling the cache object itself goes through a slower slot)


def _hidden(value: Any, depth: int) -> Any:
    return HIDDEN if depth <= MAX_DEPTH else None


def _dropped(value: Any, depth: int) -> None:
    return None


def _scalar(value: Any, depth: int) -> Any:
    return value if depth <= MAX_DEPTH else None


def _timestamp(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        return None
    when = _as_datetime(value)
    return trail_time(when) if when is not None else value


def _structure(shape: Shape) -> Redactor:
    # name -> (recorded name, what to do, member shape); blobs and streams are not listed.
    plan: dict[str, tuple[str, int, Shape]] = {}
    for name, member in shape.members.items():
        if member.type_name == "blob" or member.serialization.get("streaming"):
            continue
        if name in ALWAYS_HIDDEN or member.metadata.get("sensitive"):
            action = _HIDE
        elif member.type_name in _WALKED_TYPES:
            action = _WALK
        else:
            action = _COPY
        plan[name] = (camel(name), action, member)

    def redact_structure(value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH or not isinstance(value, dict):
            return None
        if depth == MAX_DEPTH:  # its members would be too deep: only session tokens show
            return {
                plan[name][0]: HIDDEN
                for name, member_value in value.items()
                if name in ALWAYS_HIDDEN and name in plan and member_value is not None
            }
        result = {}
        for name, member_value in value.items():
            entry = plan.get(name)
            if entry is None or member_value is None:
                continue
            recorded, action, member = entry
            if action is _COPY:
                result[recorded] = member_value
            elif action is _HIDE:
                result[recorded] = HIDDEN
            else:
                redacted = _redactor_of(member)(member_value, depth + 1)
                if redacted is not None:
                    result[recorded] = redacted
        return result

    return redact_structure


def _list(member: Shape) -> Redactor:
    def redact_list(value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH or not isinstance(value, list | tuple):
            return None
        walk = _redactor_of(member)
        return [walk(item, depth + 1) for item in value]

    return redact_list


def _map(value_shape: Shape) -> Redactor:
    def redact_map(value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH or not isinstance(value, dict):
            return None
        walk = _redactor_of(value_shape)
        return {key: walk(item, depth + 1) for key, item in value.items()}

    return redact_map


def camel(name: str) -> str:
    # CloudTrail lower-cases the first character only: "KeyId" -> "keyId".
    if not name or name[0].islower():
        return name
    return name[0].lower() + name[1:]


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-":
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def trail_time(when: datetime) -> str:
    """A timestamp inside requestParameters/responseElements as CloudTrail writes it, in UTC:
    ``Nov 3, 2026, 7:05:09 PM``."""
    t = when.astimezone(UTC)
    hour = t.hour % 12 or 12
    month = _MONTHS[t.month - 1]
    return f"{month} {t.day}, {t.year}, {hour}:{t:%M:%S} {'PM' if t.hour >= 12 else 'AM'}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
