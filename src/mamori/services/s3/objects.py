"""Object versions, multipart uploads and their parts, in the store.

A bucket without versioning keeps one version per key, id ``"null"``; with versioning enabled
every write adds a version and a delete without a version id adds a delete marker (suspended:
both use the ``"null"`` version). Replaced bodies are queued as garbage in the same transaction.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from mamori.services.s3.encryption import etag_of
from mamori.services.s3.schema import garbage_table, objects_table, parts_table, uploads_table
from mamori.store.resources import prefix_upper_bound

_o = objects_table.c
_u = uploads_table.c
_p = parts_table.c

NULL_VERSION = "null"

_seq_lock = threading.Lock()
_last_seq = 0


def next_seq() -> int:
    global _last_seq
    with _seq_lock:
        _last_seq = max(_last_seq + 1, time.time_ns())
        return _last_seq


def new_version_id() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class ObjectVersion:
    bucket: str
    key: str
    version_id: str
    seq: int
    is_latest: bool
    delete_marker: bool
    size: int
    etag: str
    last_modified: datetime
    meta: dict[str, Any]
    crypto: dict[str, Any] | None
    blobs: list[dict[str, Any]]

    @property
    def quoted_etag(self) -> str:
        return f'"{self.etag}"'

    @property
    def from_multipart_upload(self) -> bool:
        """Whether a completed multipart upload made it: only those ETags end in -<parts>."""
        return "-" in self.etag


def _version(row) -> ObjectVersion:
    return ObjectVersion(
        row.bucket,
        row.key,
        row.version_id,
        row.seq,
        row.is_latest,
        row.delete_marker,
        row.size,
        row.etag,
        row.last_modified,
        row.meta or {},
        row.crypto,
        row.blobs or [],
    )


def latest(conn, bucket: str, key: str) -> ObjectVersion | None:
    row = conn.execute(
        sa.select(objects_table).where(_o.bucket == bucket, _o.key == key, _o.is_latest)
    ).first()
    return _version(row) if row is not None else None


def version(conn, bucket: str, key: str, version_id: str) -> ObjectVersion | None:
    row = conn.execute(
        sa.select(objects_table).where(
            _o.bucket == bucket, _o.key == key, _o.version_id == version_id
        )
    ).first()
    return _version(row) if row is not None else None


def queue_garbage(conn, blobs: list[dict[str, Any]], now: datetime) -> None:
    for blob in blobs:
        conn.execute(garbage_table.insert().values(blob_id=blob["id"], created=now))


def _remove(conn, obj: ObjectVersion, now: datetime) -> None:
    conn.execute(
        objects_table.delete().where(
            _o.bucket == obj.bucket, _o.key == obj.key, _o.version_id == obj.version_id
        )
    )
    queue_garbage(conn, obj.blobs, now)


def put(
    conn,
    *,
    bucket: str,
    key: str,
    versioning: str | None,
    size: int,
    etag: str,
    now: datetime,
    meta: dict[str, Any],
    crypto: dict[str, Any] | None,
    blobs: list[dict[str, Any]],
    delete_marker: bool = False,
) -> str:
    """Write a new current version (or delete marker); returns its version id."""
    version_id = new_version_id() if versioning == "Enabled" else NULL_VERSION
    if version_id == NULL_VERSION:
        old = version(conn, bucket, key, NULL_VERSION)
        if old is not None:
            _remove(conn, old, now)
    conn.execute(
        objects_table.update()
        .where(_o.bucket == bucket, _o.key == key, _o.is_latest)
        .values(is_latest=False)
    )
    conn.execute(
        objects_table.insert().values(
            bucket=bucket,
            key=key,
            version_id=version_id,
            seq=next_seq(),
            is_latest=True,
            delete_marker=delete_marker,
            size=size,
            etag=etag,
            last_modified=now,
            meta=meta,
            crypto=crypto,
            blobs=blobs,
        )
    )
    return version_id


def put_blob(
    conn,
    bucket,
    key: str,
    blob,
    *,
    now: datetime,
    meta: dict[str, Any],
    crypto: dict[str, Any] | None,
) -> tuple[str, str]:
    """Record a body just written to the blob store as the newest version of ``key`` in
    ``bucket`` (a Bucket): returns (ETag without quotes, version id)."""
    etag = etag_of(crypto, blob.md5)
    version_id = put(
        conn,
        bucket=bucket.name,
        key=key,
        versioning=bucket.versioning,
        size=blob.size,
        etag=etag,
        now=now,
        meta=meta,
        crypto=crypto,
        blobs=[blob.entry()],
    )
    return etag, version_id


def update_meta(conn, obj: ObjectVersion, meta: dict[str, Any]) -> None:
    conn.execute(
        objects_table.update()
        .where(_o.bucket == obj.bucket, _o.key == obj.key, _o.version_id == obj.version_id)
        .values(meta=meta)
    )


def delete_version(conn, obj: ObjectVersion, now: datetime) -> None:
    """Remove one version for good; the next newest becomes current if it was."""
    _remove(conn, obj, now)
    if obj.is_latest:
        row = conn.execute(
            sa.select(_o.version_id)
            .where(_o.bucket == obj.bucket, _o.key == obj.key)
            .order_by(_o.seq.desc())
            .limit(1)
        ).first()
        if row is not None:
            conn.execute(
                objects_table.update()
                .where(_o.bucket == obj.bucket, _o.key == obj.key, _o.version_id == row.version_id)
                .values(is_latest=True)
            )


def bucket_has_objects(conn, bucket: str) -> bool:
    return conn.execute(sa.select(_o.key).where(_o.bucket == bucket).limit(1)).first() is not None


def _prefix_filter(query, column, prefix: str | None):
    if prefix:
        query = query.where(column >= prefix)
        upper = prefix_upper_bound(prefix)
        if upper is not None:
            query = query.where(column < upper)
    return query


def scan_latest(
    conn,
    bucket: str,
    prefix: str | None,
    after: str | None,
    limit: int,
    from_key: str | None = None,
):
    """Current, non-deleted versions with keys > ``after`` (and >= ``from_key``) under
    ``prefix``, in key order."""
    query = sa.select(objects_table).where(
        _o.bucket == bucket, _o.is_latest, _o.delete_marker == sa.false()
    )
    query = _prefix_filter(query, _o.key, prefix)
    if after is not None:
        query = query.where(_o.key > after)
    if from_key is not None:
        query = query.where(_o.key >= from_key)
    return [_version(r) for r in conn.execute(query.order_by(_o.key).limit(limit))]


def scan_versions(
    conn,
    bucket: str,
    prefix: str | None,
    after_key: str | None,
    after_seq: int | None,
    limit: int,
    from_key: str | None = None,
):
    """All versions in (key asc, newest first) order, after the (key, seq) position (and with
    keys >= ``from_key``)."""
    query = sa.select(objects_table).where(_o.bucket == bucket)
    query = _prefix_filter(query, _o.key, prefix)
    if from_key is not None:
        query = query.where(_o.key >= from_key)
    if after_key is not None:
        if after_seq is None:
            query = query.where(_o.key > after_key)
        else:
            query = query.where(
                sa.or_(_o.key > after_key, sa.and_(_o.key == after_key, _o.seq < after_seq))
            )
    query = query.order_by(_o.key, _o.seq.desc()).limit(limit)
    return [_version(r) for r in conn.execute(query)]


def all_blobs_in_bucket(conn, bucket: str) -> list[dict[str, Any]]:
    found = []
    for row in conn.execute(sa.select(_o.blobs).where(_o.bucket == bucket)):
        found.extend(row.blobs or [])
    return found


# --- multipart uploads ---------------------------------------------------------------------------


def new_upload_id() -> str:
    """Unguessable, and in initiation order when compared as strings: a fixed-width hex clock
    first, so that listing uploads by id lists them by initiation time (as S3 does) and an
    UploadIdMarker is a position even after that upload has gone."""
    return f"{next_seq():016x}{secrets.token_urlsafe(40)}"


def insert_upload(conn, **values: Any) -> None:
    conn.execute(uploads_table.insert().values(**values))


def get_upload(conn, upload_id: str):
    return conn.execute(sa.select(uploads_table).where(_u.upload_id == upload_id)).first()


def scan_uploads(
    conn,
    bucket: str,
    prefix: str | None,
    after_key: str | None,
    after_upload_id: str | None,
    limit: int,
    from_key: str | None = None,
):
    """Uploads in (key, upload id) order after the (key, upload id) position (upload id None:
    after every upload of ``after_key``), with keys >= ``from_key``."""
    query = _prefix_filter(sa.select(uploads_table).where(_u.bucket == bucket), _u.key, prefix)
    if after_key is not None:
        if after_upload_id is None:
            query = query.where(_u.key > after_key)
        else:
            query = query.where(
                sa.or_(
                    _u.key > after_key,
                    sa.and_(_u.key == after_key, _u.upload_id > after_upload_id),
                )
            )
    if from_key is not None:
        query = query.where(_u.key >= from_key)
    return list(conn.execute(query.order_by(_u.key, _u.upload_id).limit(limit)))


def put_part(conn, upload_id: str, part_number: int, **values: Any) -> dict | None:
    """Insert or replace a part; returns the replaced part's blob entry (now garbage)."""
    old = conn.execute(
        sa.select(_p.blob).where(_p.upload_id == upload_id, _p.part_number == part_number)
    ).first()
    if old is not None:
        conn.execute(
            parts_table.delete().where(_p.upload_id == upload_id, _p.part_number == part_number)
        )
    conn.execute(
        parts_table.insert().values(upload_id=upload_id, part_number=part_number, **values)
    )
    return old.blob if old is not None else None


def list_parts(conn, upload_id: str, after: int = 0, limit: int | None = None):
    query = (
        sa.select(parts_table)
        .where(_p.upload_id == upload_id, _p.part_number > after)
        .order_by(_p.part_number)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query))


def drop_upload(conn, upload_id: str, now: datetime, keep: set[str] = frozenset()) -> None:
    """Delete an upload and its parts; part blobs not in ``keep`` become garbage."""
    for row in list_parts(conn, upload_id):
        if row.blob["id"] not in keep:
            queue_garbage(conn, [row.blob], now)
    conn.execute(parts_table.delete().where(_p.upload_id == upload_id))
    conn.execute(uploads_table.delete().where(_u.upload_id == upload_id))


def upload_ids_in_bucket(conn, bucket: str) -> list[str]:
    return [r.upload_id for r in conn.execute(sa.select(_u.upload_id).where(_u.bucket == bucket))]


def take_garbage(conn, limit: int = 500) -> list[str]:
    return [r.blob_id for r in conn.execute(sa.select(garbage_table.c.blob_id).limit(limit)).all()]


def forget_garbage(conn, blob_ids: list[str]) -> None:
    conn.execute(garbage_table.delete().where(garbage_table.c.blob_id.in_(blob_ids)))
