"""Buckets: names, AWS's defaults for new buckets, and their rows."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from mamori.errors import AwsError
from mamori.services.s3.schema import buckets_table

_b = buckets_table.c

_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_BAD_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BAD_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

#: Block Public Access, all four on: AWS's default for new buckets since April 2023.
DEFAULT_PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


OBJECT_OWNERSHIP = ("BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced")


def default_encryption() -> dict[str, Any]:
    """SSE-S3 by default (since January 2023) and SSE-C blocked for new writes (since April
    2026): ``PutBucketEncryption`` with ``BlockedEncryptionTypes: NONE`` enables SSE-C."""
    return {
        "Rules": [
            {
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                "BucketKeyEnabled": False,
                "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]},
            }
        ]
    }


def validate_name(name: str) -> None:
    if (
        not _NAME.match(name)
        or ".." in name
        or ".-" in name
        or "-." in name
        or _IP.match(name)
        or name.startswith(_BAD_PREFIXES)
        or name.endswith(_BAD_SUFFIXES)
    ):
        raise AwsError(
            "InvalidBucketName",
            "The specified bucket is not valid.",
            status=400,
            fields={"BucketName": name},
        )


def bucket_arn(name: str) -> str:
    return f"arn:aws:s3:::{name}"


def canonical_id(account: str) -> str:
    """A stable 64-hex canonical user id for an account."""
    return hashlib.sha256(f"mamori-canonical-user:{account}".encode()).hexdigest()


class Bucket:
    __slots__ = ("account", "config", "created", "name", "region")

    def __init__(
        self, name: str, account: str, region: str, created: datetime, config: dict
    ) -> None:
        self.name = name
        self.account = account
        self.region = region
        self.created = created
        self.config = config

    @property
    def arn(self) -> str:
        return bucket_arn(self.name)

    @property
    def versioning(self) -> str | None:
        return self.config.get("versioning")

    @property
    def policy(self) -> str | None:
        return self.config.get("policy")

    @property
    def policy_binding(self) -> dict[str, str] | None:
        """The users and roles the policy names, bound to their unique IDs (principal_binding)."""
        return self.config.get("policy_principal_ids")

    @property
    def public_access_block(self) -> dict[str, bool] | None:
        return self.config.get("public_access_block")

    @property
    def encryption(self) -> dict[str, Any]:
        return self.config.get("encryption") or default_encryption()

    @property
    def default_rule(self) -> dict[str, Any]:
        rules = self.encryption.get("Rules") or [{}]
        return rules[0]

    @property
    def sse_c_blocked(self) -> bool:
        blocked = self.default_rule.get("BlockedEncryptionTypes") or {}
        return "SSE-C" in (blocked.get("EncryptionType") or [])


def get(conn, name: str) -> Bucket | None:
    row = conn.execute(sa.select(buckets_table).where(_b.name == name)).first()
    if row is None:
        return None
    return Bucket(row.name, row.account, row.region, row.created, row.config)


def insert(conn, bucket: Bucket) -> None:
    conn.execute(
        buckets_table.insert().values(
            name=bucket.name,
            account=bucket.account,
            region=bucket.region,
            created=bucket.created,
            config=bucket.config,
        )
    )


def save_config(conn, name: str, config: dict) -> None:
    conn.execute(buckets_table.update().where(_b.name == name).values(config=config))


def delete(conn, name: str) -> None:
    conn.execute(buckets_table.delete().where(_b.name == name))


def list_for(
    conn,
    account: str,
    prefix: str | None,
    after: str | None,
    limit: int,
    region: str | None = None,
) -> list[Bucket]:
    query = sa.select(buckets_table).where(_b.account == account)
    if region:
        query = query.where(_b.region == region)
    if prefix:
        query = query.where(_b.name.startswith(prefix, autoescape=True))
    if after:
        query = query.where(_b.name > after)
    rows = conn.execute(query.order_by(_b.name).limit(limit))
    return [Bucket(r.name, r.account, r.region, r.created, r.config) for r in rows]
