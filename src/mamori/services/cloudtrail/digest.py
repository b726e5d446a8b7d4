"""Log file integrity validation: per-region signing keys and hourly digest files.

Digest files follow AWS's documented structure and layout::

    [<prefix>/]AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/
        <account>_CloudTrail-Digest_<region>_<trail name>_<home region>_<YYYYMMDDTHHmmssZ>.json.gz

Each lists the log files delivered for the trail and region since the previous digest (bucket,
key, hex SHA-256 of the *uncompressed* file, oldest/newest event time), and chains to the previous
digest of the same trail and region (its bucket, key, hex SHA-256 of its uncompressed content and
its signature; all null in the first digest of a chain). A digest is delivered every hour (setting
``MAMORI_CLOUDTRAIL_DIGEST_SECONDS``) while the trail logs with validation enabled, also when no
log file was delivered. Log files delivered while validation is off are never digested; disabling
validation or stopping logging ends the chain (after one last digest for the files delivered
before), and enabling it again or restarting logging starts a new one.

The signature is SHA256withRSA (PKCS #1 v1.5) over the signing string::

    <digestEndTime>\\n<digestS3Bucket>/<digestS3Object>\\n
    <hex SHA-256 of the digest>\\n<previousDigestSignature or "null">

hex-encoded in the object's metadata ``x-amz-meta-signature`` with
``x-amz-meta-signature-algorithm: SHA256withRSA``. Each region has an RSA 2048 key pair; the
private key is sealed under the store's master key, the public key (PKCS #1 DER) is listed by
``ListPublicKeys`` with its validity window and fingerprint (hex MD5 of the DER key). Digests are
SSE-S3 encrypted, as AWS's are.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mamori.services.cloudtrail.schema import digest_keys_table, log_files_table
from mamori.services.cloudtrail.trails import Trail, iso, log_prefix, parse_iso
from mamori.services.s3 import service_access
from mamori.store.engine import upsert

ALGORITHM = "SHA256withRSA"
KEY_VALIDITY = timedelta(days=365 * 5)
_SEAL_CONTEXT = b"mamori cloudtrail digest signing key v1|"
_k = digest_keys_table.c
_l = log_files_table.c


def digest_period() -> timedelta:
    return timedelta(seconds=float(os.environ.get("MAMORI_CLOUDTRAIL_DIGEST_SECONDS") or 3600))


# -- keys ------------------------------------------------------------------------------------------


def _fingerprint(der: bytes) -> str:
    return hashlib.md5(der, usedforsecurity=False).hexdigest()


def ensure_key(store, conn, region: str, now: datetime):
    """(fingerprint, private key) of the region's current key, created on first use."""
    row = conn.execute(
        sa.select(digest_keys_table)
        .where(_k.region == region, _k.valid_from <= now, _k.valid_to > now)
        .order_by(_k.valid_from.desc())
        .limit(1)
    ).first()
    if row is not None:
        raw = store.sealer.unseal(row.private_sealed, _SEAL_CONTEXT + region.encode())
        return row.fingerprint, serialization.load_der_private_key(raw, None)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )
    raw = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fingerprint = _fingerprint(der)
    conn.execute(
        digest_keys_table.insert().values(
            region=region,
            fingerprint=fingerprint,
            private_sealed=store.sealer.seal(raw, _SEAL_CONTEXT + region.encode()),
            public_der=der,
            valid_from=now - timedelta(hours=1),
            valid_to=now + KEY_VALIDITY,
        )
    )
    return fingerprint, private


def public_keys(conn, region: str, start: datetime | None, end: datetime | None) -> list[dict]:
    query = sa.select(digest_keys_table).where(_k.region == region)
    if start is not None:
        query = query.where(_k.valid_to >= start)
    if end is not None:
        query = query.where(_k.valid_from <= end)
    return [
        {
            "Value": row.public_der,
            "ValidityStartTime": row.valid_from,
            "ValidityEndTime": row.valid_to,
            "Fingerprint": row.fingerprint,
        }
        for row in conn.execute(query.order_by(_k.valid_from))
    ]


# -- digests ---------------------------------------------------------------------------------------


def digest_key(trail: Trail, region: str, end: datetime) -> str:
    account = trail.account
    return (
        f"{log_prefix(trail.config, account)}CloudTrail-Digest/{region}/{end:%Y/%m/%d}/"
        f"{account}_CloudTrail-Digest_{region}_{trail.name}_{trail.region}_"
        f"{end:%Y%m%dT%H%M%SZ}.json.gz"
    )


def signing_string(end: str, bucket: str, key: str, digest_hash: str, previous: str | None) -> str:
    return f"{end}\n{bucket}/{key}\n{digest_hash}\n{previous or 'null'}"


def digest_regions(conn, trail: Trail) -> set[str]:
    regions = {trail.region}
    regions.update((trail.status.get("Digests") or {}).keys())
    if trail.multi_region:
        regions.update(
            conn.execute(sa.select(_l.region).where(_l.trail_arn == trail.arn).distinct()).scalars()
        )
    return regions


def pending_regions(conn, trail: Trail) -> set[str]:
    """The regions with log files that no digest has listed yet."""
    query = sa.select(_l.region).where(_l.trail_arn == trail.arn, _l.digested == sa.false())
    return set(conn.execute(query.distinct()).scalars())


def end_chain(trail: Trail, region: str) -> None:
    (trail.status.get("Digests") or {}).pop(region, None)


def deliver_digest(runtime, conn, trail: Trail, region: str, now: datetime) -> bool:
    """Write the region's digest if one is due; True when written. Raises AwsError when the
    bucket refuses it (the caller records LatestDigestDeliveryError)."""
    chains = trail.status.setdefault("Digests", {})
    chain = chains.get(region) or {}
    start = parse_iso(chain.get("end")) or parse_iso(trail.status.get("ValidationSince"))
    if start is None or now - start < digest_period():
        return False
    end = now.replace(microsecond=0)
    files = conn.execute(
        sa.select(log_files_table)
        .where(_l.trail_arn == trail.arn, _l.region == region, _l.digested == sa.false())
        .order_by(_l.id)
    ).all()
    bucket = trail.config["S3BucketName"]
    key = digest_key(trail, region, end)
    fingerprint, private = ensure_key(runtime.store, conn, region, now)
    log_files = [
        {
            "s3Bucket": f.bucket,
            "s3Object": f.key,
            "hashValue": f.hash,
            "hashAlgorithm": "SHA-256",
            "newestEventTime": iso(f.newest),
            "oldestEventTime": iso(f.oldest),
        }
        for f in files
    ]
    document: dict[str, Any] = {
        "awsAccountId": trail.account,
        "digestStartTime": iso(start),
        "digestEndTime": iso(end),
        "digestS3Bucket": bucket,
        "digestS3Object": key,
        "digestPublicKeyFingerprint": fingerprint,
        "digestSignatureAlgorithm": ALGORITHM,
        "newestEventTime": iso(max(f.newest for f in files)) if files else None,
        "oldestEventTime": iso(min(f.oldest for f in files)) if files else None,
        "previousDigestS3Bucket": chain.get("bucket"),
        "previousDigestS3Object": chain.get("key"),
        "previousDigestHashValue": chain.get("hash"),
        "previousDigestHashAlgorithm": "SHA-256" if chain.get("hash") else None,
        "previousDigestSignature": chain.get("signature"),
        "logFiles": log_files,
    }
    content = json.dumps(document, separators=(",", ":")).encode()
    content_hash = hashlib.sha256(content).hexdigest()
    to_sign = signing_string(
        document["digestEndTime"], bucket, key, content_hash, chain.get("signature")
    )
    signature = private.sign(to_sign.encode(), padding.PKCS1v15(), hashes.SHA256()).hex()
    service = service_access.ServiceContext(
        runtime,
        service="cloudtrail",
        account_id=trail.account,
        region=region,
        now=now,
        source_arn=trail.arn,
    )
    service_access.put_object(
        service,
        conn,
        bucket=bucket,
        key=key,
        body=gzip.compress(content, mtime=0),
        content_type="application/json",
        metadata={"signature": signature, "signature-algorithm": ALGORITHM},
        sse="AES256",
    )
    if files:
        conn.execute(
            log_files_table.update().where(_l.id.in_([f.id for f in files])).values(digested=True)
        )
    chains[region] = {
        "end": iso(end),
        "bucket": bucket,
        "key": key,
        "hash": content_hash,
        "signature": signature,
    }
    return True


__all__ = ["deliver_digest", "ensure_key", "public_keys", "upsert"]
