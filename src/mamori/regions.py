"""The region names AWS knows: those listed in botocore's partitions (``endpoints.json``), and
any name a partition's ``regionRegex`` admits (regions newer than the installed botocore)."""

from __future__ import annotations

import re

from botocore.loaders import Loader


def _load() -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    partitions = Loader().load_data("endpoints")["partitions"]
    names = frozenset(name for partition in partitions for name in partition["regions"])
    patterns = tuple(re.compile(p["regionRegex"], re.ASCII) for p in partitions)
    return names, patterns


KNOWN_REGIONS, _PATTERNS = _load()
# Names decided by the patterns, so each is matched once (bounded: clients choose the names).
_MATCHED: dict[str, bool] = {}
_MATCHED_MAX = 256


def is_region(name: str) -> bool:
    """Whether ``name`` is a region of one of AWS's partitions."""
    if name in KNOWN_REGIONS:
        return True
    valid = _MATCHED.get(name)
    if valid is None:
        valid = any(pattern.fullmatch(name) for pattern in _PATTERNS)
        if len(_MATCHED) >= _MATCHED_MAX:
            _MATCHED.clear()
        _MATCHED[name] = valid
    return valid
