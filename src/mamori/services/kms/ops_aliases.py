"""Aliases (usable wherever a KeyId is) and the AWS managed keys behind ``alias/aws/<service>``."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from mamori.errors import AwsError
from mamori.services.kms import errors
from mamori.services.kms.base import KMS_ARN, KmsBase
from mamori.services.kms.crypto import generate_material
from mamori.services.kms.keys import (
    ALIAS_TYPE,
    alias_arn,
    iso,
    new_key,
    service_key_policy,
    when,
)
from mamori.services.kms.keystore import set_due
from mamori.services.kms.specs import SPECS
from mamori.services.kms.util import page, page_limit

_ALIAS = re.compile(r"^alias/[a-zA-Z0-9/_-]+$")
# The predefined AWS aliases: those ListAliases shows in a new account before any service has
# used them (no TargetKeyId). DescribeKey on one creates its AWS managed key; any other
# ``alias/aws/...`` name is just an alias that does not exist. (Services outside this table,
# such as AWS Backup, create their own ``alias/aws/<service>`` when they first need it.)
PREDEFINED_AWS_ALIASES = frozenset(
    f"alias/aws/{service}"
    for service in (
        "acm",
        "dynamodb",
        "ebs",
        "elasticfilesystem",
        "es",
        "glue",
        "kinesisvideo",
        "lambda",
        "rds",
        "redshift",
        "s3",
        "secretsmanager",
        "ssm",
        "xray",
    )
)
SERVICE_KEY_DESCRIPTIONS = {
    "s3": "Default key that protects my S3 objects when no other key is defined",
}


def _check_alias_name(name: str) -> None:
    if not name.startswith("alias/"):
        raise errors.validation(
            'Alias must start with the prefix "alias/". Please see '
            "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
        )
    if name.startswith("alias/aws/"):
        raise AwsError("NotAuthorizedException", "")
    if not _ALIAS.match(name):
        raise AwsError(
            "InvalidAliasNameException",
            f"Alias name {name} must only contain alphanumeric characters, forward slashes (/), "
            "underscores (_), and dashes (-).",
        )


def predefined_alias_service(ctx, ref: str) -> str | None:
    """``s3`` for ``alias/aws/s3`` (or its ARN in the caller's account and Region): the service
    whose AWS managed key DescribeKey creates on first use; None for anything else."""
    name = ref
    if ref.startswith("arn:"):
        match = KMS_ARN.match(ref)
        if match is None or match.group(1, 2) != (ctx.region, ctx.account_id):
            return None
        name = match.group(3)
    if name not in PREDEFINED_AWS_ALIASES:
        return None
    return name[len("alias/aws/") :]


def _alias_entry(record: dict[str, Any]) -> dict[str, Any]:
    entry = {k: record[k] for k in ("AliasName", "AliasArn") if k in record}
    if record.get("TargetKeyId"):
        entry["TargetKeyId"] = record["TargetKeyId"]
    for name in ("CreationDate", "LastUpdatedDate"):
        if record.get(name):
            entry[name] = when(record[name])
    return entry


class AliasOps(KmsBase):
    def _alias_record(self, conn, ctx, name: str) -> dict[str, Any] | None:
        return self._cached_record(conn, ctx.account_id, ctx.region, ALIAS_TYPE, name)

    def _put_alias(self, ctx, record: dict[str, Any], conn=None) -> None:
        self.runtime.resources.put(
            conn if conn is not None else ctx.transaction(),
            account=ctx.account_id,
            region=ctx.region,
            type=ALIAS_TYPE,
            id=record["AliasName"],
            data=record,
            now=ctx.now,
        )

    def _alias_target(self, ctx, ref: str, action: str) -> dict[str, Any]:
        key, _ = self._resolve(ctx, ctx.transaction(), ref, aliases=False)
        if key["AWSAccountId"] != ctx.account_id or key["Arn"].split(":")[3] != ctx.region:
            raise errors.not_found(f"Key '{key['Arn']}' does not exist")
        self._authorize(ctx, key, action)
        if key["KeyManager"] == "AWS":
            raise AwsError("NotAuthorizedException", "")
        if key["KeyState"] == "PendingDeletion":
            raise errors.invalid_state(f"{key['Arn']} is pending deletion.")
        return key

    def create_alias(self, ctx, params):
        name = params["AliasName"]
        _check_alias_name(name)
        arn = alias_arn(ctx.region, ctx.account_id, name)
        self._allow(ctx, "kms:CreateAlias", arn)
        key = self._alias_target(ctx, params["TargetKeyId"], "kms:CreateAlias")
        conn = ctx.transaction()
        if self._alias_record(conn, ctx, name) is not None:
            raise AwsError("AlreadyExistsException", f"An alias with the name {arn} already exists")
        now = iso(ctx.now)
        self._put_alias(
            ctx,
            {
                "AliasName": name,
                "AliasArn": arn,
                "TargetKeyId": key["KeyId"],
                "CreationDate": now,
                "LastUpdatedDate": now,
            },
        )
        key["Aliases"] = sorted({*(key.get("Aliases") or []), name})
        self._save_key(ctx, key)
        return {}

    def update_alias(self, ctx, params):
        name = params["AliasName"]
        if name.startswith("alias/aws/"):
            raise AwsError("NotAuthorizedException", "")
        arn = alias_arn(ctx.region, ctx.account_id, name)
        self._allow(ctx, "kms:UpdateAlias", arn)
        conn = ctx.transaction()
        record = self._alias_record(conn, ctx, name)
        if record is None:
            raise errors.alias_not_found(arn)
        new = self._alias_target(ctx, params["TargetKeyId"], "kms:UpdateAlias")
        old = self._get_key(conn, ctx.account_id, ctx.region, record["TargetKeyId"])
        if old is not None:
            self._authorize(ctx, old, "kms:UpdateAlias")
            if (old["KeyUsage"], SPECS[old["KeySpec"]].symmetric) != (
                new["KeyUsage"],
                SPECS[new["KeySpec"]].symmetric,
            ):
                raise errors.validation(
                    f"{old['Arn']} key usage {old['KeyUsage']} and key spec {old['KeySpec']} do "
                    f"not match {new['Arn']} key usage {new['KeyUsage']} and key spec "
                    f"{new['KeySpec']}."
                )
        if old is not None and old["KeyId"] != new["KeyId"]:
            old["Aliases"] = [a for a in old.get("Aliases") or [] if a != name]
            self._save_key(ctx, old)
        record["TargetKeyId"] = new["KeyId"]
        record["LastUpdatedDate"] = iso(ctx.now)
        self._put_alias(ctx, record)
        new["Aliases"] = sorted({*(new.get("Aliases") or []), name})
        self._save_key(ctx, new)
        return {}

    def delete_alias(self, ctx, params):
        name = params["AliasName"]
        if name.startswith("alias/aws/"):
            raise AwsError("NotAuthorizedException", "")
        arn = alias_arn(ctx.region, ctx.account_id, name)
        self._allow(ctx, "kms:DeleteAlias", arn)
        conn = ctx.transaction()
        record = self._alias_record(conn, ctx, name)
        if record is None:
            raise errors.alias_not_found(arn)
        key = self._get_key(conn, ctx.account_id, ctx.region, record["TargetKeyId"])
        if key is not None:
            self._authorize(ctx, key, "kms:DeleteAlias")
            key["Aliases"] = [a for a in key.get("Aliases") or [] if a != name]
            self._save_key(ctx, key)
        self.runtime.resources.delete(conn, ctx.account_id, ctx.region, ALIAS_TYPE, name, ctx.now)
        return {}

    def list_aliases(self, ctx, params):
        limit = page_limit("ListAliases", params)
        self._allow(ctx, "kms:ListAliases", "*")
        with self._read() as conn:
            target = None
            if params.get("KeyId"):
                key, _ = self._resolve(ctx, conn, params["KeyId"], aliases=False)
                target = key["KeyId"]
            rows = self.runtime.resources.list(conn, ctx.account_id, ctx.region, ALIAS_TYPE)
        aliases = [
            _alias_entry(record)
            for _, record in rows
            if target is None or record.get("TargetKeyId") == target
        ]
        return page(aliases, params, "Aliases", limit)

    # AWS managed keys

    def service_key(self, ctx, service: str) -> str:
        """The ARN of ``alias/aws/<service>``'s key in the caller's account, created on first
        use. It is created in a short transaction of its own (AWS creates it once, whatever
        becomes of the call), unless the call has already begun writing: then in the call's
        transaction, which holds the store's write lock."""
        name = f"alias/aws/{service}"
        with self._read(ctx) as conn:
            record = self._alias_record(conn, ctx, name)
            if record is not None:
                key = self._get_key(conn, ctx.account_id, ctx.region, record["TargetKeyId"])
                if key is not None:
                    return key["Arn"]
        if ctx.in_transaction:
            return self._create_service_key(ctx, ctx.transaction(), service, name)
        with self.runtime.store.begin() as conn:
            return self._create_service_key(ctx, conn, service, name)

    def _create_service_key(self, ctx, conn, service: str, name: str) -> str:
        record = self._alias_record(conn, ctx, name)
        if record is not None:
            key = self._get_key(conn, ctx.account_id, ctx.region, record["TargetKeyId"])
            if key is not None:
                return key["Arn"]
        key = new_key(
            key_id=str(uuid.uuid4()),
            account=ctx.account_id,
            region=ctx.region,
            spec="SYMMETRIC_DEFAULT",
            usage="ENCRYPT_DECRYPT",
            origin="AWS_KMS",
            description=SERVICE_KEY_DESCRIPTIONS.get(
                service,
                f"Default key that protects my {service} data when no other key is defined",
            ),
            policy=service_key_policy(ctx.account_id, ctx.region, service),
            tags={},
            now=ctx.now,
            manager="AWS",
        )
        self._add_material(conn, key, generate_material(SPECS["SYMMETRIC_DEFAULT"]), ctx.now)
        key["Aliases"] = [name]
        # AWS managed keys rotate every year.
        nxt = ctx.now + timedelta(days=365)
        key["Rotation"] = {"PeriodDays": 365, "Next": iso(nxt)}
        set_due(conn, key, "rotate", nxt)
        self._save_key(ctx, key, conn)
        now = iso(ctx.now)
        self._put_alias(
            ctx,
            {
                "AliasName": name,
                "AliasArn": alias_arn(ctx.region, ctx.account_id, name),
                "TargetKeyId": key["KeyId"],
                "CreationDate": now,
                "LastUpdatedDate": now,
            },
            conn,
        )
        return key["Arn"]
