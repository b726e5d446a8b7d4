r"""The ``pattern`` traits of botocore models, compiled for Python.

AWS writes them as Java regular expressions. Two Java features Python's ``re`` lacks are common
in them: Unicode property classes (``\p{L}``, ``\p{Z}``, ``\p{N}``, ``\p{S}``, ...: every
tag key and value pattern) and supplementary characters written as UTF-16 surrogate pairs
(``\uD800\uDC00-\uDBFF\uDFFF``, which Java reads as the code points U+10000 to U+10FFFF). The
``regex`` package implements the full Unicode property syntax, so a pattern ``re`` cannot compile
is compiled with it, rather than translating property classes into ``re`` character ranges (which
would mean carrying each Unicode version's tables by hand); surrogate pairs are joined into code
points first. Patterns ``re`` compiles stay with ``re``: it is the faster matcher on the request
path.

``\w``, ``\d`` and ``\s`` are ASCII classes in AWS's patterns (Java's defaults, and ECMA 262's
for ``\w`` and ``\d``, the dialect Smithy's ``pattern`` trait names), so ``re`` compiles them with
``re.ASCII``: ``[\w+=,.@-]+`` (IAM's names) refuses ``José`` as IAM does. ``regex`` keeps Unicode
mode, which its ``\p{..}`` classes need (its ASCII flag narrows them too).
"""

from __future__ import annotations

import logging
import re
from functools import cache

import regex

__all__ = ["compile_pattern"]

log = logging.getLogger(__name__)

_SURROGATE_PAIR = re.compile(r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})")


def _code_point(match: re.Match[str]) -> str:
    high, low = int(match[1], 16), int(match[2], 16)
    return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"


def java_to_python(pattern: str) -> str:
    """``pattern`` with its escaped UTF-16 surrogate pairs written as single code points."""
    return _SURROGATE_PAIR.sub(_code_point, pattern)


@cache
def compile_pattern(pattern: str) -> re.Pattern[str] | regex.Pattern[str] | None:
    """The compiled form of a model's ``pattern``; None (logged) if it cannot be compiled, so a
    constraint that is not checked never goes unnoticed."""
    python = java_to_python(pattern)
    try:
        return re.compile(python, re.ASCII)
    except re.error:
        pass
    try:
        return regex.compile(python)
    except regex.error as error:
        log.warning("model pattern %r is not checked: %s", pattern, error)
        return None
