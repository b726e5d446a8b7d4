"""A bounded cache of what is worked out once per long-lived object.

Botocore's operation and shape models and the principals of credentials live as long as the
process, and the request path keeps asking the same questions of them (how to validate an
operation's input, how to redact a shape, a principal's userIdentity). Entries are keyed by the
object's identity, so the object need not be hashable and is never hashed; each entry keeps its
object alive, so an id is never reused while its entry stands. Clients choose some of the
objects (principals), hence the bound: a full cache starts again from empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class PerObject(Generic[K, V]):
    """``compute(obj)``, worked out once per object (while the cache holds it)."""

    __slots__ = ("_compute", "_entries", "_max_entries")

    def __init__(self, compute: Callable[[K], V], max_entries: int = 4096) -> None:
        self._compute = compute
        self._max_entries = max_entries
        self._entries: dict[int, tuple[K, V]] = {}

    def __call__(self, obj: K) -> V:
        hit = self._entries.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        value = self._compute(obj)
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[id(obj)] = (obj, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
