"""Small helpers: pagination as KMS answers it, tag validation."""

from __future__ import annotations

from typing import Any

from mamori.errors import AwsError

DEFAULT_LIMIT = 100
MAX_TAGS = 50


def page(items: list[Any], params: dict[str, Any], field: str, default: int = DEFAULT_LIMIT):
    """``{field: [...], Truncated, NextMarker?}``; the marker is the offset of the next item."""
    limit = int(params.get("Limit") or default)
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
