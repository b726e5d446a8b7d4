"""Conditional requests: If-Match / If-None-Match / If-(Un)Modified-Since, for reads, copies and
conditional writes, with S3's precedence (RFC 7232)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mamori.errors import AwsError
from mamori.protocols.base import HTTP_OVERRIDES
from mamori.services.s3.errors import no_such_key, precondition_failed
from mamori.services.s3.objects import ObjectVersion


class NotModified(Exception):
    pass


def etag_matches(header: str, etag: str) -> bool:
    for item in header.split(","):
        item = item.strip()
        if item == "*":
            return True
        if item.startswith("W/"):
            item = item[2:]
        if item.strip('"') == etag:
            return True
    return False


def _seconds(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def check_read(params: dict[str, Any], obj: ObjectVersion, prefix: str = "") -> None:
    """Raise 412 PreconditionFailed or :class:`NotModified` (304) as the conditions say."""
    if_match = params.get(f"{prefix}IfMatch")
    if_none_match = params.get(f"{prefix}IfNoneMatch")
    modified_since = params.get(f"{prefix}IfModifiedSince")
    unmodified_since = params.get(f"{prefix}IfUnmodifiedSince")
    modified = _seconds(obj.last_modified)
    if if_match is not None:
        if not etag_matches(if_match, obj.etag):
            raise precondition_failed("If-Match")
    elif unmodified_since is not None and modified > unmodified_since:
        raise precondition_failed("If-Unmodified-Since")
    if if_none_match is not None:
        if etag_matches(if_none_match, obj.etag):
            raise NotModified()
    elif modified_since is not None and modified <= modified_since:
        raise NotModified()


def check_copy_source(params: dict[str, Any], obj: ObjectVersion) -> None:
    try:
        check_read(params, obj, prefix="CopySource")
    except NotModified:
        raise precondition_failed("x-amz-copy-source-If-None-Match") from None


def check_write(params: dict[str, Any], existing: ObjectVersion | None) -> None:
    """Conditional writes: ``If-None-Match: *`` (create only) and ``If-Match: <etag>``."""
    current = existing if existing is not None and not existing.delete_marker else None
    if_none_match = params.get("IfNoneMatch")
    if_match = params.get("IfMatch")
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise AwsError(
                "NotImplemented",
                "A header you provided implies functionality that is not implemented",
                status=501,
            )
        if current is not None:
            raise precondition_failed("If-None-Match")
    if if_match is not None:
        if current is None:
            raise no_such_key("")
        if not etag_matches(if_match, current.etag):
            raise precondition_failed("If-Match")


#: Delete conditions that S3 evaluates in directory buckets only (the model says so); a general
#: purpose bucket refuses them rather than deleting without the check.
DIRECTORY_BUCKET_DELETE_CONDITIONS = ("IfMatchSize", "IfMatchLastModifiedTime")


def refuse_directory_bucket_conditions(params: dict[str, Any]) -> None:
    if any(params.get(name) is not None for name in DIRECTORY_BUCKET_DELETE_CONDITIONS):
        raise AwsError(
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            status=501,
        )


def check_delete(params: dict[str, Any], existing: ObjectVersion | None) -> None:
    """Conditional delete of the current version: ``If-Match`` (DeleteObject's header, or the
    ETag element of a DeleteObjects entry) names an object that must exist and match."""
    if_match = params.get("IfMatch")
    if if_match is None:
        return
    if existing is None or existing.delete_marker:
        raise no_such_key("")
    if not etag_matches(if_match, existing.etag):
        raise precondition_failed("If-Match")


def not_modified(obj: ObjectVersion) -> dict[str, Any]:
    return {
        "ETag": obj.quoted_etag,
        "LastModified": obj.last_modified,
        HTTP_OVERRIDES: {"status": 304},
    }
