"""A request context built on first read.

Most statements have no conditions and no policy variables, so most decisions never read the
request context. Building it (the global condition keys, a service's own keys, all lower-cased)
costs several microseconds per call; deferring it until a statement asks saves that on every
decision that does not need it, and changes nothing for one that does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any


class DeferredKeys(Mapping[str, Any]):
    """The mapping ``build()`` returns, built once, when it is first read."""

    __slots__ = ("_build", "_data")

    def __init__(self, build: Callable[[], Mapping[str, Any]]) -> None:
        self._build: Callable[[], Mapping[str, Any]] | None = build
        self._data: Mapping[str, Any] | None = None

    def _mapping(self) -> Mapping[str, Any]:
        data = self._data
        if data is None:
            data = self._data = self._build()  # type: ignore[misc]
            self._build = None
        return data

    def get(self, key: str, default: Any = None) -> Any:
        return self._mapping().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._mapping()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._mapping()

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def items(self):
        return self._mapping().items()

    def __repr__(self) -> str:
        if self._data is None:
            return "DeferredKeys(<not built>)"
        return f"DeferredKeys({self._data!r})"
