"""CloudTrail's tables on the shared store metadata: trails, delivered log files (what the next
digest lists) and the per-region digest signing keys."""

from __future__ import annotations

import sqlalchemy as sa

from mamori.store.schema import BigId, JsonText, Key, UtcDateTime, metadata

# One row per trail. ``config`` is what Create/UpdateTrail and the selectors set; ``status`` is
# what logging and delivery change (logging times, latest delivery/digest times and errors, the
# digest chain of each region); ``tags`` the trail's tags.
trails_table = sa.Table(
    "cloudtrail_trails",
    metadata,
    sa.Column("arn", Key, primary_key=True),
    sa.Column("account", Key, nullable=False),
    sa.Column("region", Key, nullable=False),
    sa.Column("name", Key, nullable=False),
    sa.Column("config", JsonText(), nullable=False),
    sa.Column("status", JsonText(), nullable=False),
    sa.Column("tags", JsonText(), nullable=False),
)
sa.Index(
    "ix_cloudtrail_trails_name",
    trails_table.c.account,
    trails_table.c.region,
    trails_table.c.name,
    unique=True,
)

# Every log file delivered, until a digest has listed it (then ``digested`` is set).
log_files_table = sa.Table(
    "cloudtrail_log_files",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("trail_arn", Key, nullable=False),
    sa.Column("region", Key, nullable=False),
    sa.Column("bucket", Key, nullable=False),
    sa.Column("key", Key, nullable=False),
    sa.Column("hash", sa.String(), nullable=False),  # hex SHA-256 of the uncompressed file
    sa.Column("oldest", UtcDateTime(), nullable=False),
    sa.Column("newest", UtcDateTime(), nullable=False),
    sa.Column("delivered", UtcDateTime(), nullable=False),
    sa.Column("digested", sa.Boolean(), nullable=False, default=False),
)
sa.Index(
    "ix_cloudtrail_log_files_pending",
    log_files_table.c.trail_arn,
    log_files_table.c.region,
    log_files_table.c.digested,
    log_files_table.c.id,
)

# The RSA 2048 key pair each region signs digests with (the private key sealed).
digest_keys_table = sa.Table(
    "cloudtrail_digest_keys",
    metadata,
    sa.Column("region", Key, primary_key=True),
    sa.Column("fingerprint", Key, primary_key=True),
    sa.Column("private_sealed", sa.LargeBinary(), nullable=False),
    sa.Column("public_der", sa.LargeBinary(), nullable=False),  # PKCS #1 RSAPublicKey
    sa.Column("valid_from", UtcDateTime(), nullable=False),
    sa.Column("valid_to", UtcDateTime(), nullable=False),
)
