"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'none'}``, ``${*}`` ...

A string that may hold variables is parsed once into a *template*: a tuple of parts, each

* ``(LIT, text)`` — policy text, where ``*`` and ``?`` keep their wildcard meaning;
* ``(ESC, text)`` — literal characters that must never act as wildcards (``${*}``, ``${?}``,
  ``${$}`` and every substituted value);
* ``(VAR, key, default)`` — a request-context key (lower-cased: key names are case-insensitive)
  with an optional default.

Resolving a template against a request context gives a tuple of ``(text, literal)`` segments,
or ``None`` when a variable has neither a value nor a default (IAM UG, "Policy variables": a
variable that cannot be resolved makes the value not match).

Variables exist only in policy language version 2012-10-17; the parser does not call this module
for 2008-10-17 documents, where ``${...}`` is plain text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

LIT = 0
ESC = 1
VAR = 2

_VAR_RE = re.compile(r"\$\{([^}]*)\}")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}
_DEFAULT_RE = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")

Template = tuple[tuple, ...]
Segments = tuple[tuple[str, bool], ...]


def has_variables(text: str) -> bool:
    return "${" in text and _VAR_RE.search(text) is not None


def parse_template(text: str) -> Template:
    """Split ``text`` into literal/escaped/variable parts (see the module docstring)."""
    parts: list[tuple] = []
    pos = 0
    for m in _VAR_RE.finditer(text):
        if m.start() > pos:
            parts.append((LIT, text[pos : m.start()]))
        inner = m.group(1)
        stripped = inner.strip()
        if stripped in _SPECIAL:
            parts.append((ESC, _SPECIAL[stripped]))
        else:
            dm = _DEFAULT_RE.match(inner)
            if dm:
                parts.append((VAR, dm.group(1).strip().lower(), dm.group(2)))
            else:
                parts.append((VAR, stripped.lower(), None))
        pos = m.end()
    if pos < len(text):
        parts.append((LIT, text[pos:]))
    return tuple(parts)


def context_scalar(value: object) -> str | None:
    """The text a context value substitutes as (single values only)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        if len(items) != 1:
            return None
        value = items[0]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bytes):
        return None
    return str(value)


def resolve(template: Template, ctx: Mapping[str, object]) -> Segments | None:
    """Substitute variables from ``ctx`` (lower-cased keys); ``None`` if one cannot be resolved."""
    out: list[tuple[str, bool]] = []
    for part in template:
        kind = part[0]
        if kind == LIT:
            out.append((part[1], False))
        elif kind == ESC:
            out.append((part[1], True))
        else:
            text = context_scalar(ctx.get(part[1]))
            if text is None:
                if part[2] is None:
                    return None
                text = part[2]
            out.append((text, True))
    return tuple(out)


def joined(segments: Segments) -> str:
    return "".join(text for text, _ in segments)
