"""Condition operators (IAM UG, "IAM JSON policy elements: Condition operators").

A ``Condition`` block is compiled once into :class:`Condition` objects, one per (operator, key)
pair; a statement's conditions are ANDed, the values listed for one key are ORed.

Missing keys (IAM UG, "Condition operators", the *Important* note): a condition on a key absent
from the request context is false, except that negated operators (``StringNotEquals``,
``ArnNotLike``, ``NotIpAddress`` ...) are true, ``...IfExists`` operators are true, ``Null``
tests presence itself, ``ForAllValues:`` is true and ``ForAnyValue:`` is false (IAM UG, "Multivalued
context keys": "If the key ... resolves to an empty data set ... ForAllValues returns true ...
ForAnyValue returns false").

Negated operators are the negation of the positive test: ``StringNotEquals`` on ``v`` with policy
values ``[a, b]`` is ``not (v == a or v == b)``. With a set operator the negated test applies per
request value: ``ForAllValues:StringNotEquals`` holds when no request value equals any policy
value; ``ForAnyValue:StringNotEquals`` when at least one request value equals none of them.
A single-valued operator applied to a multi-valued key matches when any request value matches.

Policy variables are substituted in string, ARN and ``Bool`` values only (IAM UG, "Policy
variables", *Where you can use policy variables*); a policy value whose variable cannot be resolved
matches nothing.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from mamori.iam.policy.errors import LEGACY_PARSING, SYNTAX_ERRORS, MalformedPolicy
from mamori.iam.policy.matching import arn_like, glob_regex, glob_regex_segments, has_wildcard
from mamori.iam.policy.variables import has_variables, joined, parse_template, resolve

# family, comparison, negated
_STRING = "string"
_NUMERIC = "numeric"
_DATE = "date"
_BOOL = "bool"
_BINARY = "binary"
_IP = "ip"
_ARN = "arn"
_NULL = "null"

OPERATORS: dict[str, tuple[str, str, bool]] = {
    "StringEquals": (_STRING, "eq", False),
    "StringNotEquals": (_STRING, "eq", True),
    "StringEqualsIgnoreCase": (_STRING, "ieq", False),
    "StringNotEqualsIgnoreCase": (_STRING, "ieq", True),
    "StringLike": (_STRING, "like", False),
    "StringNotLike": (_STRING, "like", True),
    "NumericEquals": (_NUMERIC, "eq", False),
    "NumericNotEquals": (_NUMERIC, "eq", True),
    "NumericLessThan": (_NUMERIC, "lt", False),
    "NumericLessThanEquals": (_NUMERIC, "le", False),
    "NumericGreaterThan": (_NUMERIC, "gt", False),
    "NumericGreaterThanEquals": (_NUMERIC, "ge", False),
    "DateEquals": (_DATE, "eq", False),
    "DateNotEquals": (_DATE, "eq", True),
    "DateLessThan": (_DATE, "lt", False),
    "DateLessThanEquals": (_DATE, "le", False),
    "DateGreaterThan": (_DATE, "gt", False),
    "DateGreaterThanEquals": (_DATE, "ge", False),
    "Bool": (_BOOL, "eq", False),
    "BinaryEquals": (_BINARY, "eq", False),
    "IpAddress": (_IP, "in", False),
    "NotIpAddress": (_IP, "in", True),
    "ArnEquals": (_ARN, "like", False),
    "ArnLike": (_ARN, "like", False),
    "ArnNotEquals": (_ARN, "like", True),
    "ArnNotLike": (_ARN, "like", True),
    "Null": (_NULL, "null", False),
}

_TEMPLATED_FAMILIES = {_STRING, _ARN, _BOOL}

_MISSING = object()

_ISO_RE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$"
)
_INT64_MAX = 2**63 - 1


def parse_date(text: str) -> float | None:
    """Epoch seconds for a W3C ISO 8601 date or an epoch (UNIX) time; ``None`` if invalid.

    A string of four digits is the W3C "YYYY" form; any other run of digits is epoch seconds."""
    text = text.strip()
    if re.fullmatch(r"-?\d+", text) and len(text) != 4:
        value = int(text)
        if abs(value) > _INT64_MAX:
            return None
        return float(value)
    m = _ISO_RE.match(text)
    if not m:
        return None
    year, month, day, hour, minute, second, frac, tz = m.groups()
    try:
        dt = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    ts = dt.timestamp()
    if frac:
        ts += float("0." + frac)
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        hours = int(digits[:2])
        minutes = int(digits[2:4]) if len(digits) > 2 else 0
        if hours > 23 or minutes > 59:
            return None
        ts -= sign * (hours * 3600 + minutes * 60)
    return ts


def _date_value(value: object) -> float | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return parse_date(value)
    return None


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    return None


def _string(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def _bytes(value: object) -> bytes | None:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
    return None


def _ip(value: object):
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        try:
            # A client may send the source address with a prefix; take the address part.
            return ipaddress.ip_interface(value.strip()).ip
        except ValueError:
            return None


def _policy_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise MalformedPolicy(SYNTAX_ERRORS)


class Condition:
    """One (operator, key) test with its ORed policy values."""

    __slots__ = (
        "cmp",
        "family",
        "if_exists",
        "key",
        "key_name",
        "negated",
        "operator",
        "raw_values",
        "set_op",
        "templates",
        "values",
    )

    def __init__(
        self, operator: str, key: str, raw_values: list[str], allow_variables: bool
    ) -> None:
        self.operator = operator
        set_op: str | None = None
        base = operator
        if ":" in operator:
            prefix, _, base = operator.partition(":")
            if prefix == "ForAnyValue":
                set_op = "any"
            elif prefix == "ForAllValues":
                set_op = "all"
            else:
                raise MalformedPolicy(SYNTAX_ERRORS)
        if_exists = False
        if base.endswith("IfExists") and base != "IfExists":
            base = base[: -len("IfExists")]
            if_exists = True
            if base == "Null":
                raise MalformedPolicy(SYNTAX_ERRORS)
        spec = OPERATORS.get(base)
        if spec is None:
            raise MalformedPolicy(SYNTAX_ERRORS)
        self.family, self.cmp, self.negated = spec
        self.if_exists = if_exists
        self.set_op = set_op
        self.key = key.lower()
        self.key_name = key  # as the policy spells it (the simulator's MissingContextValues)
        self.raw_values = tuple(raw_values)
        values: list[object] = []
        templates: list[object] = []
        for raw in raw_values:
            if allow_variables and self.family in _TEMPLATED_FAMILIES and has_variables(raw):
                templates.append(parse_template(raw))
                continue
            values.append(self._compile(raw))
        self.values = tuple(values)
        self.templates = tuple(templates)

    # -- compile-time ---------------------------------------------------------------------
    def _compile(self, raw: str) -> object:
        fam = self.family
        if fam == _STRING:
            if self.cmp == "ieq":
                return raw.lower()
            if self.cmp == "like":
                return glob_regex(raw) if has_wildcard(raw) else raw
            return raw
        if fam == _NUMERIC:
            n = _number(raw)
            if n is None:
                raise MalformedPolicy(LEGACY_PARSING)
            return n
        if fam == _DATE:
            d = parse_date(raw)
            if d is None:
                raise MalformedPolicy(LEGACY_PARSING)
            return d
        if fam == _BOOL:
            return raw.lower()
        if fam == _BINARY:
            b = _bytes(raw)
            if b is None:
                raise MalformedPolicy(LEGACY_PARSING)
            return b
        if fam == _IP:
            try:
                return ipaddress.ip_network(raw.strip(), strict=False)
            except ValueError as exc:
                raise MalformedPolicy(LEGACY_PARSING) from exc
        if fam == _ARN:
            return ((raw, False),)
        # Null
        return raw.lower() == "true"

    def _from_segments(self, segments) -> object:
        fam = self.family
        if fam == _STRING:
            if self.cmp == "like":
                return glob_regex_segments(segments)
            text = joined(segments)
            return text.lower() if self.cmp == "ieq" else text
        if fam == _BOOL:
            return joined(segments).lower()
        return segments  # ARN

    # -- evaluation -----------------------------------------------------------------------
    def _policy_values(self, ctx: Mapping[str, object]) -> tuple:
        if not self.templates:
            return self.values
        out = list(self.values)
        for tpl in self.templates:
            segs = resolve(tpl, ctx)  # type: ignore[arg-type]
            if segs is not None:
                out.append(self._from_segments(segs))
        return tuple(out)

    def _matches_one(self, req: object, pvals: tuple) -> bool:
        """Whether one request value matches any policy value (the positive test)."""
        fam = self.family
        cmp = self.cmp
        if fam == _STRING:
            s = _string(req)
            if s is None:
                return False
            if cmp == "eq":
                return s in pvals
            if cmp == "ieq":
                return s.lower() in pvals
            for p in pvals:
                if isinstance(p, str):
                    if p == s:
                        return True
                elif p.fullmatch(s) is not None:
                    return True
            return False
        if fam == _ARN:
            s = _string(req)
            if s is None:
                return False
            return any(arn_like(p, s) for p in pvals)
        if fam == _BOOL:
            s = _string(req)
            return s is not None and s.lower() in pvals
        if fam == _NUMERIC:
            n = _number(req)
            if n is None:
                return False
            return any(_compare(cmp, n, p) for p in pvals)
        if fam == _DATE:
            d = _date_value(req)
            if d is None:
                return False
            return any(_compare(cmp, d, p) for p in pvals)
        if fam == _IP:
            addr = _ip(req)
            if addr is None:
                return False
            return any(addr.version == p.version and addr in p for p in pvals)
        if fam == _BINARY:
            b = _bytes(req)
            return b is not None and b in pvals
        return False

    def evaluate(self, ctx: Mapping[str, object]) -> bool:
        raw = ctx.get(self.key, _MISSING)
        if self.family == _NULL:
            absent = raw is _MISSING or raw is None
            return any(p == absent for p in self.values)
        if raw is _MISSING or raw is None:
            if self.if_exists:
                return True
            if self.set_op == "all":
                return True
            if self.set_op == "any":
                return False
            return self.negated
        req_values = list(raw) if isinstance(raw, (list, tuple, set, frozenset)) else [raw]
        pvals = self._policy_values(ctx)
        negated = self.negated
        if self.set_op == "all":
            return all(self._matches_one(rv, pvals) != negated for rv in req_values)
        if self.set_op == "any":
            return any(self._matches_one(rv, pvals) != negated for rv in req_values)
        hit = any(self._matches_one(rv, pvals) for rv in req_values)
        return hit != negated


def _compare(cmp: str, left, right) -> bool:
    if cmp == "eq":
        return left == right
    if cmp == "lt":
        return left < right
    if cmp == "le":
        return left <= right
    if cmp == "gt":
        return left > right
    return left >= right


def compile_conditions(block: object, allow_variables: bool) -> tuple[Condition, ...]:
    """Compile a statement's ``Condition`` element (already known to be a dict)."""
    if not isinstance(block, dict):
        raise MalformedPolicy(SYNTAX_ERRORS)
    out: list[Condition] = []
    for operator, body in block.items():
        if not isinstance(body, dict):
            raise MalformedPolicy(SYNTAX_ERRORS)
        if not body:
            # An empty operator block tests nothing; AWS accepts it (even for unknown names).
            continue
        for key, value in body.items():
            if isinstance(value, list):
                raw_values = [_policy_scalar(v) for v in value]
            else:
                raw_values = [_policy_scalar(value)]
            out.append(Condition(operator, key, raw_values, allow_variables))
    return tuple(out)


def check_condition_syntax(block: object) -> None:
    """Structural checks (types only) done before any other validation."""
    if not isinstance(block, dict):
        raise MalformedPolicy(SYNTAX_ERRORS)
    for body in block.values():
        if not isinstance(body, dict):
            raise MalformedPolicy(SYNTAX_ERRORS)
        for value in body.values():
            values = value if isinstance(value, list) else [value]
            for v in values:
                if isinstance(v, (dict, list)) or v is None:
                    raise MalformedPolicy(SYNTAX_ERRORS)
