"""Wildcard matching for actions, resources, ``StringLike`` and ``ArnLike``.

Only ``*`` (any run of characters, possibly empty) and ``?`` (exactly one character) are special;
everything else — brackets included — is literal, so ``fnmatch`` is not used. Patterns are
compiled to regular expressions once and cached.

Resource ARNs (IAM UG, "IAM JSON policy elements: Resource", *Using wildcards in resource ARNs*):
a wildcard stays inside its colon-separated ARN segment, except that a ``*`` which is the last
character of a segment "can expand to match beyond the colon boundaries"; in the resource part
(after the fifth colon) ``*`` and ``?`` match any character, colons and slashes included.

``ArnLike``/``ArnEquals`` (IAM UG, "Condition operators", ARN operators) check "each of the six
colon-delimited components of the ARN ... separately", case-sensitively.
"""

from __future__ import annotations

import re
from functools import lru_cache

from mamori.iam.policy.variables import Segments


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def _glob_body(segments: Segments) -> str:
    out: list[str] = []
    for text, literal in segments:
        if literal:
            out.append(re.escape(text))
            continue
        for ch in text:
            if ch == "*":
                out.append(".*")
            elif ch == "?":
                out.append(".")
            else:
                out.append(re.escape(ch))
    return "".join(out)


@lru_cache(maxsize=16384)
def glob_regex(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """A compiled full-match regex for a ``*``/``?`` glob."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(_glob_body(((pattern, False),)), flags)


@lru_cache(maxsize=16384)
def glob_regex_segments(segments: Segments, ignore_case: bool = False) -> re.Pattern[str]:
    """Like :func:`glob_regex` for a resolved template (substituted text is literal)."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(_glob_body(segments), flags)


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if not has_wildcard(pattern):
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return glob_regex(pattern, ignore_case).fullmatch(value) is not None


def _arn_body(segments: Segments) -> str:
    chars: list[tuple[str, bool]] = []
    for text, literal in segments:
        chars.extend((ch, literal) for ch in text)
    out: list[str] = []
    colons = 0
    n = len(chars)
    for i, (ch, literal) in enumerate(chars):
        if colons >= 5:
            if literal:
                out.append(re.escape(ch))
            elif ch == "*":
                out.append(".*")
            elif ch == "?":
                out.append(".")
            else:
                out.append(re.escape(ch))
            continue
        if ch == ":":
            colons += 1
            out.append(":")
        elif ch == "*" and not literal:
            last_of_segment = i + 1 == n or chars[i + 1][0] == ":"
            out.append(".*" if last_of_segment else "[^:]*")
        elif ch == "?" and not literal:
            out.append("[^:]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


@lru_cache(maxsize=16384)
def resource_regex(segments: Segments) -> re.Pattern[str]:
    """A compiled full-match regex for a ``Resource``/``NotResource`` ARN pattern."""
    return re.compile(_arn_body(segments), re.DOTALL)


def resource_match(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    if not has_wildcard(pattern):
        return pattern == value
    return resource_regex(((pattern, False),)).fullmatch(value) is not None


@lru_cache(maxsize=16384)
def _arn_like_parts(segments: Segments) -> tuple[re.Pattern[str], ...] | None:
    text = "".join(t for t, _ in segments)
    if text.count(":") < 5:
        return None
    # Split the segments at the first five colons, keeping which characters are literal.
    parts: list[list[tuple[str, bool]]] = [[]]
    for seg_text, literal in segments:
        buf = ""
        for ch in seg_text:
            if ch == ":" and len(parts) < 6:
                if buf:
                    parts[-1].append((buf, literal))
                    buf = ""
                parts.append([])
            else:
                buf += ch
        if buf:
            parts[-1].append((buf, literal))
    flags = re.DOTALL
    return tuple(re.compile(_glob_body(tuple(p)), flags) for p in parts)


def arn_like(segments: Segments, value: str) -> bool:
    """``ArnLike`` of a (resolved) policy value against a request value."""
    compiled = _arn_like_parts(segments)
    if compiled is None:
        # Not six components: a bare "*" (or other short glob) compares as a whole string.
        return glob_regex_segments(segments).fullmatch(value) is not None
    vparts = value.split(":", 5)
    if len(vparts) != 6:
        return False
    return all(rx.fullmatch(v) is not None for rx, v in zip(compiled, vparts, strict=True))
