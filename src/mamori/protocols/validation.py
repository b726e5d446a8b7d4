r"""Input validation against a botocore input shape, with AWS's own error codes and messages.

``validate(operation, params, protocol)`` checks what the model constrains — required members,
enum values, ``min``/``max`` lengths (strings, blobs, lists, maps), ``min``/``max`` values
(numbers), ``pattern`` (AWS's Java regexes, see :mod:`mamori.protocols.patterns`; matched
against the whole value, as AWS's services do — ``IAM``'s ``[\w+=,.@-]+`` rejects ``"bad name!"``),
one member for unions, and value types — and raises
``mamori.errors.ValidationError`` listing every problem the way AWS does::

    1 validation error detected: Value null at 'keyId' failed to satisfy constraint:
    Member must not be null

S3 (rest-xml) checks the values inside its XML bodies itself and answers a bad one with its own
error (``MalformedXML``, ``InvalidLocationConstraint``, ...), so enum violations there are left
to the operation; in headers, query strings and URIs they are ``InvalidArgument`` as elsewhere.

The checks are compiled once per (model, shape name) into closures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from botocore.model import OperationModel, Shape

from mamori.errors import ValidationError
from mamori.memo import PerObject
from mamori.protocols.patterns import compile_pattern

__all__ = ["check", "error_code", "validate"]


def error_code(protocol: str, metadata: Mapping[str, Any]) -> str:
    """The code a service answers invalid input with, from its protocol and metadata.

    JSON-family protocols use ``ValidationException`` — unless the service is
    ``awsQueryCompatible`` (CloudWatch, SQS), whose clients expect the query code; query
    services use ``ValidationError``; S3 (rest-xml) uses ``InvalidArgument``.
    """
    if protocol == "query" or metadata.get("awsQueryCompatible") is not None:
        return "ValidationError"
    if protocol == "rest-xml":
        return "InvalidArgument"
    return "ValidationException"


def validate(operation: OperationModel, params: dict[str, Any], protocol: str) -> None:
    """Raise ``ValidationError`` (in the service's own code) if ``params`` break the model."""
    checker = _input_checker(operation)
    if checker is None:
        return
    errors: list[str] = []
    checker(params, "", errors)
    if protocol == "rest-xml":
        body = _xml_body_members(operation)
        errors = [e for e in errors if not (isinstance(e, EnumViolation) and e.root in body)]
    if errors:
        raise make_error(errors, protocol, operation.service_model.metadata)


class EnumViolation(str):
    """The message of a value outside its enum, knowing the top-level member it is under."""

    root: str


def _enum_violation(message: str, path: str) -> EnumViolation:
    violation = EnumViolation(message)
    violation.root = path.split(".", 1)[0]
    return violation


def _body_member_names(operation: OperationModel) -> frozenset[str]:
    shape = operation.input_shape
    if shape is None:
        return frozenset()
    return frozenset(
        _lower_first(name)
        for name, member in shape.members.items()
        if not member.serialization.get("location")
    )


_xml_body_members: PerObject[OperationModel, frozenset[str]] = PerObject(_body_member_names)


def check(shape: Shape, value: Any) -> list[str]:
    """The constraint violations of ``value`` against ``shape`` (AWS's wording), for tests."""
    errors: list[str] = []
    _checker(shape)(value, "", errors)
    return errors


def make_error(errors: list[str], protocol: str, metadata: Mapping[str, Any]) -> ValidationError:
    count = len(errors)
    noun = "error" if count == 1 else "errors"
    message = f"{count} validation {noun} detected: " + "; ".join(errors)
    return ValidationError(error_code(protocol, metadata), message, status=400)


Checker = Callable[[Any, str, list[str]], None]
_cache: dict[tuple[int, str], Checker] = {}
_models: dict[int, Any] = {}


def _checker(shape: Shape) -> Checker:
    shape_map = shape._shape_resolver._shape_map
    key = (id(shape_map), shape.name)
    found = _cache.get(key)
    if found is None:
        _models[id(shape_map)] = shape_map
        cell: list[Checker] = []
        _cache[key] = lambda v, p, e: cell[0](v, p, e)
        found = _compile(shape)
        cell.append(found)
        _cache[key] = found
    return found


def _operation_checker(operation: OperationModel) -> Checker | None:
    shape = operation.input_shape
    return None if shape is None else _checker(shape)


_input_checker: PerObject[OperationModel, Checker | None] = PerObject(_operation_checker)


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value: Any, sensitive: bool) -> str:
    if sensitive or isinstance(value, bytes | bytearray):
        return "Value"
    if isinstance(value, str):
        return f"Value '{value}'"
    if isinstance(value, bool):
        return f"Value '{str(value).lower()}'"
    if isinstance(value, list):
        return "Value '[" + ", ".join(str(v) for v in value) + "]'"
    if isinstance(value, dict):
        return "Value '{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}'"
    return f"Value '{value}'"


def _msg(value: Any, path: str, constraint: str, sensitive: bool) -> str:
    return f"{_show(value, sensitive)} at '{path}' failed to satisfy constraint: {constraint}"


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "short": (int,),
    "byte": (int,),
    "float": (float, int),
    "double": (float, int),
    "boolean": (bool,),
    "blob": (bytes, bytearray),
    "timestamp": (datetime,),
    "list": (list, tuple),
    "map": (dict,),
    "structure": (dict,),
}


def _compile(shape: Shape) -> Checker:
    t = shape.type_name
    meta = shape.metadata
    sensitive = bool(meta.get("sensitive"))
    low, high = meta.get("min"), meta.get("max")
    enum = list(meta.get("enum") or ())
    enum_set = frozenset(enum)
    pattern = None
    if t == "string" and meta.get("pattern"):
        pattern = compile_pattern(meta["pattern"])
    checks: list[Checker] = []

    if (t == "structure" and getattr(shape, "is_document_type", False)) or shape.serialization.get(
        "streaming"
    ):
        return _no_check  # documents are free-form; a streaming body is checked as it is read
    if t == "structure":
        members = [(name, _lower_first(name), member) for name, member in shape.members.items()]
        member_checks = {name: (wire, _checker(member)) for name, wire, member in members}
        required = [(name, _lower_first(name)) for name in shape.required_members]
        is_union = bool(meta.get("union"))

        def check_structure(value: Any, path: str, errors: list[str]) -> None:
            prefix = path + "." if path else ""
            for name, wire in required:
                if value.get(name) is None:
                    errors.append(
                        f"Value null at '{prefix}{wire}' failed to satisfy constraint: "
                        "Member must not be null"
                    )
            for name, v in value.items():
                entry = member_checks.get(name)
                if entry is not None and v is not None:
                    entry[1](v, prefix + entry[0], errors)
            if is_union and sum(1 for v in value.values() if v is not None) != 1:
                errors.append(
                    f"Value at '{path or 'input'}' failed to satisfy constraint: "
                    "Member must have exactly one member set"
                )

        checks.append(check_structure)
    elif t == "list":
        item = _checker(shape.member)

        def check_items(value: Any, path: str, errors: list[str]) -> None:
            for i, v in enumerate(value, 1):
                if v is not None:
                    item(v, f"{path}.{i}.member", errors)

        checks.append(check_items)
    elif t == "map":
        key_check = _checker(shape.key)
        value_check = _checker(shape.value)

        def check_entries(value: Any, path: str, errors: list[str]) -> None:
            for k, v in value.items():
                key_check(k, f"{path}.key", errors)
                if v is not None:
                    value_check(v, f"{path}.{k}", errors)

        checks.append(check_entries)

    if enum and t == "string":
        constraint = "Member must satisfy enum value set: [" + ", ".join(enum) + "]"

        def check_enum(value: Any, path: str, errors: list[str]) -> None:
            if value not in enum_set:
                errors.append(_enum_violation(_msg(value, path, constraint, sensitive), path))

        checks.append(check_enum)

    if t in ("string", "blob", "list", "map") and (low is not None or high is not None):
        lo = int(low) if low is not None else None
        hi = int(high) if high is not None else None

        def check_length(value: Any, path: str, errors: list[str]) -> None:
            n = len(value)
            if lo is not None and n < lo:
                errors.append(
                    _msg(
                        value,
                        path,
                        f"Member must have length greater than or equal to {lo}",
                        sensitive,
                    )
                )
            elif hi is not None and n > hi:
                errors.append(
                    _msg(
                        value,
                        path,
                        f"Member must have length less than or equal to {hi}",
                        sensitive,
                    )
                )

        checks.append(check_length)

    if t in ("integer", "long", "short", "byte", "float", "double") and (
        low is not None or high is not None
    ):

        def check_range(value: Any, path: str, errors: list[str]) -> None:
            if low is not None and value < low:
                errors.append(
                    _msg(
                        value,
                        path,
                        f"Member must have value greater than or equal to {low}",
                        sensitive,
                    )
                )
            elif high is not None and value > high:
                errors.append(
                    _msg(
                        value,
                        path,
                        f"Member must have value less than or equal to {high}",
                        sensitive,
                    )
                )

        checks.append(check_range)

    if pattern is not None and not enum:
        constraint = f"Member must satisfy regular expression pattern: {meta['pattern']}"
        fullmatch = pattern.fullmatch

        def check_pattern(value: Any, path: str, errors: list[str]) -> None:
            if fullmatch(value) is None:
                errors.append(_msg(value, path, constraint, sensitive))

        checks.append(check_pattern)

    types = _TYPES.get(t)
    if t == "string" and shape.serialization.get("jsonvalue"):
        types = None  # any JSON value
    type_name = "double" if t == "float" else t

    def check(value: Any, path: str, errors: list[str]) -> None:
        if types is not None and (
            not isinstance(value, types) or (isinstance(value, bool) and t != "boolean")
        ):
            errors.append(_msg(value, path, f"Member must be of type {type_name}", sensitive))
            return
        for c in checks:
            c(value, path, errors)

    return check


def _no_check(value: Any, path: str, errors: list[str]) -> None:
    return None
