"""Listing: ListObjectsV2, ListObjects (v1) and ListObjectVersions, with prefix, delimiter
(CommonPrefixes), max-keys, markers and continuation tokens, and ``EncodingType=url``."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from mamori.errors import AwsError
from mamori.services.s3 import objects
from mamori.services.s3.access import authorize
from mamori.services.s3.base import S3Base, owner
from mamori.services.s3.objects import ObjectVersion
from mamori.store.resources import prefix_upper_bound

MAX_KEYS = 1000


def _encode(value: str | None, url: bool) -> str | None:
    if value is None or not url:
        return value
    return quote(value, safe="/")


def _token(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def _untoken(text: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(text.encode()))
        if isinstance(data, dict):
            return data
    except ValueError:
        pass
    raise AwsError("InvalidArgument", "The continuation token provided is incorrect", status=400)


def walk(
    scan: Callable[[Any, str | None, int], list[ObjectVersion]],
    position: Callable[[ObjectVersion], Any],
    prefix: str,
    delimiter: str | None,
    marker: str | None,
    start: Any,
    max_keys: int,
):
    """Up to ``max_keys`` entries (("key", obj) or ("prefix", common prefix)) and whether more
    follow. ``scan(start, at_least, limit)`` returns rows in listing order after the position
    ``start`` (None: from the beginning) with keys >= ``at_least``; ``position(row)`` is the
    position just past a row. A common prefix counts as one entry and is listed only if it sorts
    after ``marker``. Keys that roll up into a common prefix are skipped over with one query
    each, so a bucket with many keys under one prefix costs little to list."""
    entries: list[tuple[str, Any]] = []
    at_least: str | None = None
    while True:
        size = max_keys - len(entries) + 1
        batch = scan(start, at_least, size)
        if not batch:
            return entries, False
        jumped = False
        for obj in batch:
            if delimiter:
                rest = obj.key[len(prefix) :]
                index = rest.find(delimiter)
                if index >= 0:
                    common = prefix + rest[: index + len(delimiter)]
                    if marker is None or common > marker:
                        if len(entries) == max_keys:
                            return entries, True
                        entries.append(("prefix", common))
                    upper = prefix_upper_bound(common)
                    if upper is None:
                        return entries, False
                    start, at_least = None, upper
                    jumped = True
                    break
            if len(entries) == max_keys:
                return entries, True
            entries.append(("key", obj))
            start, at_least = position(obj), None
        if not jumped and len(batch) < size:
            return entries, False


def walk_latest(conn, bucket: str, prefix: str, delimiter: str | None, after: str | None, limit):
    """ListObjects(V2): current versions after the key ``after``."""

    def scan(start, at_least, size):
        return objects.scan_latest(conn, bucket, prefix or None, start, size, from_key=at_least)

    return walk(scan, lambda obj: obj.key, prefix, delimiter, after, after, limit)


def walk_versions(conn, bucket: str, prefix: str, delimiter, key_marker, after_seq, limit):
    """ListObjectVersions: every version after (key_marker, the marker version's seq)."""

    def scan(start, at_least, size):
        after_key, seq = start if start is not None else (None, None)
        return objects.scan_versions(
            conn, bucket, prefix or None, after_key, seq, size, from_key=at_least
        )

    start = (key_marker, after_seq) if key_marker is not None else None
    return walk(scan, lambda obj: (obj.key, obj.seq), prefix, delimiter, key_marker, start, limit)


def walk_uploads(conn, bucket: str, prefix: str, delimiter, key_marker, upload_id_marker, limit):
    """ListMultipartUploads: uploads after (key_marker, upload_id_marker); without an upload id
    marker, after every upload of key_marker."""

    def scan(start, at_least, size):
        after_key, upload_id = start if start is not None else (None, None)
        return objects.scan_uploads(
            conn, bucket, prefix or None, after_key, upload_id, size, from_key=at_least
        )

    start = (key_marker, upload_id_marker) if key_marker is not None else None
    return walk(
        scan, lambda row: (row.key, row.upload_id), prefix, delimiter, key_marker, start, limit
    )


def _entry_cursor(entry: tuple[str, Any]) -> str:
    kind, value = entry
    return value.key if kind == "key" else value


def _content(obj: ObjectVersion, url: bool, with_owner: bool, account: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Key": _encode(obj.key, url),
        "LastModified": obj.last_modified,
        "ETag": obj.quoted_etag,
        "Size": obj.size,
        "StorageClass": obj.meta.get("StorageClass") or "STANDARD",
    }
    checksums = obj.meta.get("checksums") or {}
    if checksums:
        item["ChecksumAlgorithm"] = list(checksums)
        if obj.meta.get("checksum_type"):
            item["ChecksumType"] = obj.meta["checksum_type"]
    if with_owner:
        item["Owner"] = owner(account)
    return item


class ListingOps(S3Base):
    def _list_common(self, ctx, params: dict[str, Any]):
        bucket = self._load_bucket(params["Bucket"])
        max_keys = params.get("MaxKeys")
        if max_keys is None:
            max_keys = MAX_KEYS
        if max_keys < 0:
            raise AwsError(
                "InvalidArgument",
                "Provided max-keys not an integer or within integer range",
                status=400,
            )
        context: dict[str, Any] = {"s3:max-keys": str(max_keys)}
        if params.get("Prefix") is not None:
            context["s3:prefix"] = params["Prefix"]
        if params.get("Delimiter") is not None:
            context["s3:delimiter"] = params["Delimiter"]
        authorize(ctx, bucket, "s3:ListBucket", None, context)
        encoding = params.get("EncodingType")
        if encoding is not None and encoding != "url":
            raise AwsError(
                "InvalidArgument", "Invalid Encoding Method specified in Request", status=400
            )
        return bucket, min(max_keys, MAX_KEYS), encoding == "url"

    def list_objects_v2(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket, max_keys, url = self._list_common(ctx, params)
        prefix = params.get("Prefix") or ""
        delimiter = params.get("Delimiter") or None
        after = params.get("StartAfter") or None
        token = params.get("ContinuationToken")
        if token is not None:
            after = _untoken(token).get("after")
        with self._read() as conn:
            entries, truncated = (
                walk_latest(conn, bucket.name, prefix, delimiter, after, max_keys)
                if max_keys
                else ([], False)
            )
        fetch_owner = bool(params.get("FetchOwner"))
        out: dict[str, Any] = {
            "Name": bucket.name,
            "Prefix": _encode(prefix, url),
            "MaxKeys": max_keys,
            "KeyCount": len(entries),
            "IsTruncated": truncated,
        }
        contents = [_content(v, url, fetch_owner, bucket.account) for k, v in entries if k == "key"]
        prefixes = [{"Prefix": _encode(v, url)} for k, v in entries if k == "prefix"]
        if contents:
            out["Contents"] = contents
        if prefixes:
            out["CommonPrefixes"] = prefixes
        if delimiter:
            out["Delimiter"] = _encode(delimiter, url)
        if url:
            out["EncodingType"] = "url"
        if token is not None:
            out["ContinuationToken"] = token
        if params.get("StartAfter"):
            out["StartAfter"] = _encode(params["StartAfter"], url)
        if truncated and entries:
            out["NextContinuationToken"] = _token({"after": _entry_cursor(entries[-1])})
        return out

    def list_objects(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket, max_keys, url = self._list_common(ctx, params)
        prefix = params.get("Prefix") or ""
        delimiter = params.get("Delimiter") or None
        marker = params.get("Marker") or None
        with self._read() as conn:
            entries, truncated = (
                walk_latest(conn, bucket.name, prefix, delimiter, marker, max_keys)
                if max_keys
                else ([], False)
            )
        out: dict[str, Any] = {
            "Name": bucket.name,
            "Prefix": _encode(prefix, url),
            "Marker": _encode(marker or "", url),
            "MaxKeys": max_keys,
            "IsTruncated": truncated,
        }
        contents = [_content(v, url, True, bucket.account) for k, v in entries if k == "key"]
        prefixes = [{"Prefix": _encode(v, url)} for k, v in entries if k == "prefix"]
        if contents:
            out["Contents"] = contents
        if prefixes:
            out["CommonPrefixes"] = prefixes
        if delimiter:
            out["Delimiter"] = _encode(delimiter, url)
            if truncated and entries:
                out["NextMarker"] = _encode(_entry_cursor(entries[-1]), url)
        if url:
            out["EncodingType"] = "url"
        return out

    def list_object_versions(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        max_keys = params.get("MaxKeys")
        max_keys = MAX_KEYS if max_keys is None else min(max(max_keys, 0), MAX_KEYS)
        context: dict[str, Any] = {"s3:max-keys": str(max_keys)}
        if params.get("Prefix") is not None:
            context["s3:prefix"] = params["Prefix"]
        authorize(ctx, bucket, "s3:ListBucketVersions", None, context)
        url = params.get("EncodingType") == "url"
        prefix = params.get("Prefix") or ""
        delimiter = params.get("Delimiter") or None
        key_marker = params.get("KeyMarker") or None
        version_marker = params.get("VersionIdMarker") or None
        after_seq = None
        with self._read() as conn:
            if key_marker and version_marker:
                marker_obj = objects.version(conn, bucket.name, key_marker, version_marker)
                after_seq = marker_obj.seq if marker_obj else None
            entries, truncated = (
                walk_versions(conn, bucket.name, prefix, delimiter, key_marker, after_seq, max_keys)
                if max_keys
                else ([], False)
            )
        versions, markers = [], []
        for obj in (v for k, v in entries if k == "key"):
            entry: dict[str, Any] = {
                "Key": _encode(obj.key, url),
                "VersionId": obj.version_id,
                "IsLatest": obj.is_latest,
                "LastModified": obj.last_modified,
                "Owner": owner(bucket.account),
            }
            if obj.delete_marker:
                markers.append(entry)
            else:
                entry.update(
                    {
                        "ETag": obj.quoted_etag,
                        "Size": obj.size,
                        "StorageClass": obj.meta.get("StorageClass") or "STANDARD",
                    }
                )
                versions.append(entry)
        prefixes = [{"Prefix": _encode(v, url)} for k, v in entries if k == "prefix"]
        out: dict[str, Any] = {
            "Name": bucket.name,
            "Prefix": _encode(prefix, url),
            "KeyMarker": _encode(key_marker or "", url),
            "VersionIdMarker": version_marker or "",
            "MaxKeys": max_keys,
            "IsTruncated": truncated,
        }
        if versions:
            out["Versions"] = versions
        if markers:
            out["DeleteMarkers"] = markers
        if prefixes:
            out["CommonPrefixes"] = prefixes
        if delimiter:
            out["Delimiter"] = delimiter
        if url:
            out["EncodingType"] = "url"
        if truncated and entries:
            kind, last = entries[-1]
            if kind == "prefix":
                out["NextKeyMarker"] = _encode(last, url)
            else:
                out["NextKeyMarker"] = _encode(last.key, url)
                out["NextVersionIdMarker"] = last.version_id
        return out
