"""S3's tables on the shared store metadata.

Object *bodies* never enter the database: they live as encrypted blob files under the data
directory (see :mod:`mamori.services.s3.blobs`); the rows hold what describes them.
"""

from __future__ import annotations

import sqlalchemy as sa

from mamori.store.schema import JsonText, Key, UtcDateTime, metadata

buckets_table = sa.Table(
    "s3_buckets",
    metadata,
    sa.Column("name", Key, primary_key=True),
    sa.Column("account", Key, nullable=False),
    sa.Column("region", Key, nullable=False),
    sa.Column("created", UtcDateTime(), nullable=False),
    # encryption, public access block, policy, ownership, versioning, tags
    sa.Column("config", JsonText(), nullable=False),
)
sa.Index("ix_s3_buckets_account", buckets_table.c.account, buckets_table.c.name)

# One row per object version; unversioned buckets keep one version, id "null".
objects_table = sa.Table(
    "s3_objects",
    metadata,
    sa.Column("bucket", Key, primary_key=True),
    sa.Column("key", Key, primary_key=True),
    sa.Column("version_id", Key, primary_key=True),
    sa.Column("seq", sa.BigInteger(), nullable=False),  # larger = newer
    sa.Column("is_latest", sa.Boolean(), nullable=False),
    sa.Column("delete_marker", sa.Boolean(), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("etag", sa.String(), nullable=False),
    sa.Column("last_modified", UtcDateTime(), nullable=False),
    sa.Column(
        "meta", JsonText(), nullable=False
    ),  # content headers, user metadata, checksums, tags
    sa.Column("crypto", JsonText(), nullable=True),  # mode and wrapped data key; never a plaintext
    sa.Column("blobs", JsonText(), nullable=True),  # [{"id", "size", "nonce"}] in body order
)
sa.Index(
    "ix_s3_objects_latest",
    objects_table.c.bucket,
    objects_table.c.is_latest,
    objects_table.c.key,
)

uploads_table = sa.Table(
    "s3_uploads",
    metadata,
    sa.Column("upload_id", Key, primary_key=True),
    sa.Column("bucket", Key, nullable=False),
    sa.Column("key", Key, nullable=False),
    sa.Column("initiated", UtcDateTime(), nullable=False),
    sa.Column("initiator", JsonText(), nullable=False),
    sa.Column("meta", JsonText(), nullable=False),
    sa.Column("crypto", JsonText(), nullable=True),
)
sa.Index("ix_s3_uploads_bucket", uploads_table.c.bucket, uploads_table.c.key)

parts_table = sa.Table(
    "s3_parts",
    metadata,
    sa.Column("upload_id", Key, primary_key=True),
    sa.Column("part_number", sa.Integer(), primary_key=True),
    sa.Column("blob", JsonText(), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("etag", sa.String(), nullable=False),
    sa.Column("last_modified", UtcDateTime(), nullable=False),
    sa.Column("checksums", JsonText(), nullable=False),
)

# Blob files whose rows are gone: deleted from disk once the transaction that dropped them has
# committed (a row here is visible only then), so a rolled-back call never loses a body.
garbage_table = sa.Table(
    "s3_garbage",
    metadata,
    sa.Column("blob_id", Key, primary_key=True),
    sa.Column("created", UtcDateTime(), nullable=False),
)
