"""Small helpers: pagination as KMS answers it, tag validation."""

from __future__ import annotations

from typing import Any

from mamori.errors import AwsError

MAX_TAGS = 50

# Each List operation's Limit as its documentation gives it: (default, maximum). The model's
# shared LimitType allows 1-1000 for all of them, so the narrower ranges live here.
LIST_LIMITS: dict[str, tuple[int, int]] = {
    "ListAliases": (50, 100),
    "ListGrants": (50, 100),
    "ListRetirableGrants": (50, 100),
    "ListResourceTags": (50, 50),
    "ListKeys": (100, 1000),
    "ListKeyPolicies": (100, 1000),
    "ListKeyRotations": (100, 1000),
}


def page_limit(operation: str, params: dict[str, Any]) -> int:
    """The page size of a List call: its Limit, checked against the operation's maximum, or
    the operation's default (ValidationException, in AWS's wording, above the maximum)."""
    default, maximum = LIST_LIMITS[operation]
    limit = params.get("Limit")
    if limit is None:
        return default
    if limit > maximum:
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
            f"constraint: Member must have value less than or equal to {maximum}",
        )
    return limit


def page(items: list[Any], params: dict[str, Any], field: str, limit: int):
    """``{field: [...], Truncated, NextMarker?}``; the marker is the offset of the next item."""
    marker = params.get("Marker")
    start = 0
    if marker:
        if not marker.isdigit():
            raise AwsError("InvalidMarkerException", "Invalid marker")
        start = int(marker)
    chunk = items[start : start + limit]
    result: dict[str, Any] = {field: chunk, "Truncated": start + limit < len(items)}
    if result["Truncated"]:
        result["NextMarker"] = str(start + limit)
    return result


def tag_error(message: str) -> AwsError:
    return AwsError("TagException", message)


def merge_tags(current: dict[str, str], tags: list[dict[str, str]]) -> dict[str, str]:
    merged = dict(current)
    for tag in tags:
        key = tag["TagKey"]
        if key.startswith("aws:"):
            raise tag_error("Tags beginning with aws: are reserved")
        merged[key] = tag["TagValue"]
    if len(merged) > MAX_TAGS:
        raise AwsError("LimitExceededException", "Tag limit exceeded")
    return merged
