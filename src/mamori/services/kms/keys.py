"""Key records: their shape, ARNs, the default key policy, and what AWS shows of them.

A key is stored as a versioned resource (``AWS::KMS::Key``, id = the key id) holding its
metadata, key policy, tags, rotation settings and the ids of its key materials — never the
material itself, which lives sealed in ``kms_key_material`` (:mod:`.keystore`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from mamori.iam.principal_binding import evaluation_document, with_bound_document
from mamori.services.kms.specs import ALGORITHM_FIELDS, SPECS

KEY_TYPE = "AWS::KMS::Key"
ALIAS_TYPE = "AWS::KMS::Alias"
GRANT_TYPE = "AWS::KMS::Grant"


def key_arn(region: str, account: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def alias_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:kms:{region}:{account}:{name}"


def iso(when: datetime) -> str:
    return when.isoformat()


def when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def default_policy(account: str) -> str:
    """AWS's default key policy: the account's root gets kms:*, enabling IAM policies."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        },
        indent=2,
    )


def service_key_policy(account: str, region: str, service: str) -> str:
    """The key policy of an AWS managed key (as aws/s3's): use via the service by anyone in the
    account, metadata to the account."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": f"auto-{service}-2",
            "Statement": [
                {
                    "Sid": f"Allow access through {service.upper()} for all principals in the "
                    f"account that are authorized to use {service.upper()}",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "kms:CallerAccount": account,
                            "kms:ViaService": f"{service}.{region}.amazonaws.com",
                        }
                    },
                },
                {
                    "Sid": "Allow direct access to key metadata to the account",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                    "Resource": "*",
                },
            ],
        },
        indent=2,
    )


# The key policy's binding: {user or role ARN as written: unique ID} (principal_binding).
POLICY_BINDING = "PolicyPrincipalIds"


def with_policy(key: dict[str, Any], policy: str, binding: dict[str, str]) -> dict[str, Any]:
    """The key with this key policy and its binding (kept only when it binds anything)."""
    return with_bound_document(key, "Policy", POLICY_BINDING, policy, binding)


def evaluated_policy(key: dict[str, Any]) -> str:
    """The key policy the policy engine evaluates: named users and roles by unique ID."""
    return evaluation_document(key["Policy"], key.get(POLICY_BINDING))


def new_key(
    *,
    key_id: str,
    account: str,
    region: str,
    spec: str,
    usage: str,
    origin: str,
    description: str,
    policy: str,
    tags: dict[str, str],
    now: datetime,
    manager: str = "CUSTOMER",
) -> dict[str, Any]:
    return {
        "KeyId": key_id,
        "Arn": key_arn(region, account, key_id),
        "AWSAccountId": account,
        "CreationDate": iso(now),
        "Description": description,
        "KeySpec": spec,
        "KeyUsage": usage,
        "Origin": origin,
        "KeyManager": manager,
        "KeyState": "PendingImport" if origin == "EXTERNAL" else "Enabled",
        "Policy": policy,
        "Tags": tags,
        "Aliases": [],
        "Grants": 0,
        # Key materials, oldest first: {"Id", "Created", "RotationType"?, "ValidTo"?, ...}
        "Materials": [],
        "Current": None,
        "Rotation": None,  # {"PeriodDays": n, "Next": iso} while automatic rotation is on
        "OnDemandRotations": 0,
    }


def metadata(key: dict[str, Any]) -> dict[str, Any]:
    """KeyMetadata as DescribeKey shows it."""
    spec = SPECS[key["KeySpec"]]
    usage = key["KeyUsage"]
    meta: dict[str, Any] = {
        "AWSAccountId": key["AWSAccountId"],
        "KeyId": key["KeyId"],
        "Arn": key["Arn"],
        "CreationDate": when(key["CreationDate"]),
        "Enabled": key["KeyState"] == "Enabled",
        "Description": key["Description"],
        "KeyUsage": usage,
        "KeyState": key["KeyState"],
        "Origin": key["Origin"],
        "KeyManager": key["KeyManager"],
        "CustomerMasterKeySpec": key["KeySpec"],
        "KeySpec": key["KeySpec"],
        ALGORITHM_FIELDS[usage]: list(spec.usages[usage]),
        "MultiRegion": False,
    }
    if key.get("DeletionDate"):
        meta["DeletionDate"] = when(key["DeletionDate"])
        meta["PendingDeletionWindowInDays"] = key["PendingWindowInDays"]
    if key["Origin"] == "EXTERNAL":
        current = current_material(key)
        if current is not None:
            meta["ExpirationModel"] = current.get("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
            if current.get("ValidTo"):
                meta["ValidTo"] = when(current["ValidTo"])
    if key.get("Current") and spec.symmetric:
        meta["CurrentKeyMaterialId"] = key["Current"]
    return meta


def rotation_entry(key: dict[str, Any], material: dict[str, Any]) -> dict[str, Any]:
    """A key material as ListKeyRotations shows it: when and how a rotation made it (not for
    the first material), and for imported material its import state and expiry."""
    entry: dict[str, Any] = {
        "KeyId": key["KeyId"],
        "KeyMaterialId": material["Id"],
        "KeyMaterialState": "CURRENT" if material["Id"] == key["Current"] else "NON_CURRENT",
    }
    if material.get("RotationType"):
        entry["RotationDate"] = when(material["Created"])
        entry["RotationType"] = material["RotationType"]
    if key["Origin"] == "EXTERNAL":
        entry["ImportState"] = "PENDING_IMPORT" if material.get("Deleted") else "IMPORTED"
        entry["ExpirationModel"] = material.get("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
        if material.get("ValidTo"):
            entry["ValidTo"] = when(material["ValidTo"])
        if material.get("Description"):
            entry["KeyMaterialDescription"] = material["Description"]
    return entry


def current_material(key: dict[str, Any]) -> dict[str, Any] | None:
    for material in key["Materials"]:
        if material["Id"] == key["Current"]:
            return material
    return None


def has_live_material(key: dict[str, Any]) -> bool:
    """Whether the key's current material exists (not deleted with its imported material)."""
    current = current_material(key)
    return current is not None and not current.get("Deleted")


def has_material(key: dict[str, Any], material_id: str) -> bool:
    return any(m["Id"] == material_id and not m.get("Deleted") for m in key["Materials"])


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"TagKey": k, "TagValue": v} for k, v in tags.items()]
