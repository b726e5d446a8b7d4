"""Keys and their lifecycle: create, describe, list, enable/disable, deletion, rotation,
descriptions, key policies, tags."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from mamori.errors import AwsError
from mamori.iam.policy import MalformedPolicy, Policy, parse_policy
from mamori.iam.principal_binding import (
    PrincipalDirectory,
    UnknownPrincipal,
    bind_principals,
    displayed_document,
    evaluation_document,
)
from mamori.services.kms import errors
from mamori.services.kms.base import KmsBase, effective
from mamori.services.kms.condition_keys import request_condition_keys
from mamori.services.kms.crypto import generate_material
from mamori.services.kms.keys import (
    KEY_TYPE,
    POLICY_BINDING,
    default_policy,
    has_live_material,
    iso,
    key_arn,
    metadata,
    new_key,
    rotation_entry,
    tag_list,
    when,
    with_policy,
)
from mamori.services.kms.keystore import set_due
from mamori.services.kms.ops_aliases import predefined_alias_service
from mamori.services.kms.specs import SPECS
from mamori.services.kms.util import merge_tags, page, page_limit

MAX_ON_DEMAND_ROTATIONS = 10
MAX_POLICY_BYTES = 32 * 1024

# Condition keys that are single-valued per key or tag: ForAllValues on them matches requests
# without that encryption context or tag, so KMS refuses such a key policy ("AWS KMS condition
# keys", using set operators).
_OVERLY_PERMISSIVE_FOR_ALL_VALUES = (
    (
        "kms:encryptioncontext:",
        "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a "
        "single-valued condition key matches requests without the specified encryption context "
        "or with an unspecified encryption context. To fix, remove ForAllValues.",
    ),
    (
        "aws:requesttag/",
        "OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued "
        "condition key matches requests without the specified tag or with an unspecified tag. "
        "To fix, remove ForAllValues.",
    ),
)


def malformed(message: str) -> AwsError:
    return AwsError("MalformedPolicyDocumentException", message)


def refuse_overly_permissive_conditions(policy: Policy) -> None:
    for statement in policy.statements:
        for condition in statement.conditions:
            if condition.set_op != "all":
                continue
            for prefix, message in _OVERLY_PERMISSIVE_FOR_ALL_VALUES:
                if condition.key.startswith(prefix):
                    raise malformed(message)


class KeyOps(KmsBase):
    # Creation

    def create_key(self, ctx, params):
        self._allow(ctx, "kms:CreateKey", "*", request_condition_keys("kms:CreateKey", params))
        key_id = str(uuid.uuid4())
        account, region = ctx.account_id, ctx.region
        arn = key_arn(region, account, key_id)
        if params.get("Tags"):
            # "To use the Tags parameter, kms:TagResource (IAM policy)."
            self._allow(
                ctx, "kms:TagResource", arn, request_condition_keys("kms:TagResource", params)
            )
        spec_name = params.get("KeySpec") or params.get("CustomerMasterKeySpec")
        if params.get("KeySpec") and params.get("CustomerMasterKeySpec"):
            raise errors.validation(
                "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
                "CustomerMasterKeySpec parameter is deprecated. Use KeySpec parameter instead."
            )
        spec_name = spec_name or "SYMMETRIC_DEFAULT"
        spec = SPECS.get(spec_name)
        if spec is None:
            raise errors.unsupported(f"mamori does not support KeySpec {spec_name} yet.")
        usage = params.get("KeyUsage") or "ENCRYPT_DECRYPT"
        if usage not in spec.usages:
            raise errors.validation(f"KeyUsage {usage} is not compatible with KeySpec {spec_name}")
        origin = params.get("Origin") or "AWS_KMS"
        if origin not in ("AWS_KMS", "EXTERNAL"):
            raise errors.unsupported(f"mamori does not support Origin {origin}.")
        if params.get("CustomKeyStoreId") or params.get("XksKeyId"):
            raise errors.unsupported("mamori does not support custom key stores.")
        if params.get("MultiRegion"):
            raise errors.unsupported("mamori does not support multi-Region keys yet.")
        policy = params.get("Policy") or default_policy(account)
        # The lockout safety check is about a policy the caller gives, not the default one.
        lockout_check = bool(params.get("Policy")) and not params.get(
            "BypassPolicyLockoutSafetyCheck"
        )
        binding = self._check_policy(ctx, arn, policy, lockout_check=lockout_check)
        tags = merge_tags({}, params.get("Tags") or [])
        key = new_key(
            key_id=key_id,
            account=account,
            region=region,
            spec=spec_name,
            usage=usage,
            origin=origin,
            description=params.get("Description") or "",
            policy=policy,
            tags=tags,
            now=ctx.now,
        )
        key = with_policy(key, policy, binding)
        conn = ctx.transaction()
        if origin == "AWS_KMS":
            self._add_material(conn, key, generate_material(spec), ctx.now)
        self._save_key(ctx, key)
        ctx.add_resource(key["Arn"], KEY_TYPE)
        return {"KeyMetadata": metadata(key)}

    def _check_policy(self, ctx, arn: str, policy: str, *, lockout_check: bool) -> dict[str, str]:
        """Validate a key policy (and, with ``lockout_check``, that it lets the caller change
        it again); its binding of named users and roles to unique IDs."""
        if len(policy.encode()) > MAX_POLICY_BYTES:
            raise malformed("The key policy is too large.")
        try:
            parsed = parse_policy(policy, "resource")
        except MalformedPolicy as error:
            raise malformed(error.reason) from None
        refuse_overly_permissive_conditions(parsed)
        try:
            binding = bind_principals(policy, self._principals(ctx.transaction()))
        except UnknownPrincipal:
            raise malformed(
                "Policy contains a statement with one or more invalid principals."
            ) from None
        if not lockout_check:
            return binding
        try:
            ctx.authorize(
                "kms:PutKeyPolicy",
                arn,
                {"kms:CallerAccount": ctx.account_id},
                resource_policy=evaluation_document(policy, binding),
                resource_account=arn.split(":")[4],
                resource_policy_required=True,
            )
        except AwsError:
            raise malformed(
                "The new key policy will not allow you to update the key policy in the future."
            ) from None
        return binding

    def _principals(self, conn) -> PrincipalDirectory:
        return PrincipalDirectory(self.runtime.resources, conn)

    # Reading

    def describe_key(self, ctx, params):
        ref = params["KeyId"]
        try:
            with self._read() as conn:
                key, alias = self._resolve(ctx, conn, ref)
        except AwsError as error:
            # A predefined AWS alias with no key yet: KMS creates the AWS managed key.
            service = predefined_alias_service(ctx, ref)
            if error.code != "NotFoundException" or service is None:
                raise
            self.service_key(ctx, service)
            key, alias = self._resolve(ctx, ctx.transaction(), ref)
        self._authorize(ctx, key, "kms:DescribeKey", alias=alias)
        return {"KeyMetadata": metadata(key)}

    def list_keys(self, ctx, params):
        limit = page_limit("ListKeys", params)
        self._allow(ctx, "kms:ListKeys", "*")
        with self._read() as conn:
            rows = self.runtime.resources.list(conn, ctx.account_id, ctx.region, KEY_TYPE)
        keys = [
            {"KeyId": key["KeyId"], "KeyArn": key["Arn"]}
            for _, key in rows
            if effective(key, ctx.now) is not None
        ]
        return page(keys, params, "Keys", limit)

    # Enable / disable / delete

    def _write_key(self, ctx, params, action: str, **kwargs) -> dict[str, Any]:
        """The key ``params`` name, read in the call's transaction and authorized for
        ``action`` with the condition keys of the request."""
        key, alias = self._resolve(ctx, ctx.transaction(), params["KeyId"], **kwargs)
        extra = request_condition_keys(action, params)
        self._authorize(ctx, key, action, alias=alias, extra=extra)
        return key

    def enable_key(self, ctx, params):
        key = self._write_key(ctx, params, "kms:EnableKey")
        self._require_customer_managed(key, "EnableKey")
        self._require_state(key, "Enabled", "Disabled")
        key["KeyState"] = "Enabled"
        self._save_key(ctx, key)
        return {}

    def disable_key(self, ctx, params):
        key = self._write_key(ctx, params, "kms:DisableKey")
        self._require_customer_managed(key, "DisableKey")
        self._require_state(key, "Enabled", "Disabled")
        key["KeyState"] = "Disabled"
        self._save_key(ctx, key)
        return {}

    def schedule_key_deletion(self, ctx, params):
        key = self._write_key(ctx, params, "kms:ScheduleKeyDeletion")
        self._require_customer_managed(key, "ScheduleKeyDeletion")
        days = params.get("PendingWindowInDays", 30)
        if not 7 <= days <= 30:
            raise errors.validation(
                f"PendingWindowInDays value {days} is invalid: it must be between 7 and 30 days."
            )
        if key["KeyState"] == "PendingDeletion":
            raise errors.invalid_state(f"{key['Arn']} is pending deletion.")
        deletion = ctx.now + timedelta(days=days)
        key["KeyState"] = "PendingDeletion"
        key["DeletionDate"] = iso(deletion)
        key["PendingWindowInDays"] = days
        set_due(ctx.transaction(), key, "delete", deletion)
        self._save_key(ctx, key)
        return {
            "KeyId": key["Arn"],
            "DeletionDate": deletion,
            "KeyState": "PendingDeletion",
            "PendingWindowInDays": days,
        }

    def cancel_key_deletion(self, ctx, params):
        key = self._write_key(ctx, params, "kms:CancelKeyDeletion")
        if key["KeyState"] != "PendingDeletion":
            raise errors.invalid_state(f"{key['Arn']} is not pending deletion.")
        # Disabled, as AWS says; a key without key material can only wait for an import.
        key["KeyState"] = "Disabled" if has_live_material(key) else "PendingImport"
        for name in ("PriorState", "DeletionDate", "PendingWindowInDays"):
            key.pop(name, None)
        set_due(ctx.transaction(), key, "delete", None)
        self._save_key(ctx, key)
        return {"KeyId": key["Arn"]}

    def update_key_description(self, ctx, params):
        key = self._write_key(ctx, params, "kms:UpdateKeyDescription", aliases=False)
        self._require_customer_managed(key, "UpdateKeyDescription")
        self._require_not_pending_deletion(key)
        key["Description"] = params["Description"]
        self._save_key(ctx, key)
        return {}

    @staticmethod
    def _require_not_pending_deletion(key: dict[str, Any]) -> None:
        if key["KeyState"] == "PendingDeletion":
            raise errors.invalid_state(f"{key['Arn']} is pending deletion.")

    # Rotation

    @staticmethod
    def _require_rotatable(key: dict[str, Any]) -> None:
        if key["KeySpec"] != "SYMMETRIC_DEFAULT":
            raise errors.unsupported(
                f"{key['Arn']} key spec is {key['KeySpec']} which is not valid for this operation."
            )
        if key["Origin"] != "AWS_KMS":
            raise errors.unsupported(
                f"{key['Arn']} origin is {key['Origin']} which is not valid for this operation."
            )

    def enable_key_rotation(self, ctx, params):
        key = self._write_key(ctx, params, "kms:EnableKeyRotation", aliases=False)
        self._require_customer_managed(key, "EnableKeyRotation")
        self._require_rotatable(key)
        self._require_state(key)
        days = params.get("RotationPeriodInDays", 365)
        if not 90 <= days <= 2560:
            raise errors.validation(
                f"RotationPeriodInDays value {days} is invalid: it must be between 90 and 2560."
            )
        nxt = ctx.now + timedelta(days=days)
        key["Rotation"] = {"PeriodDays": days, "Next": iso(nxt)}
        set_due(ctx.transaction(), key, "rotate", nxt)
        self._save_key(ctx, key)
        return {}

    def disable_key_rotation(self, ctx, params):
        key = self._write_key(ctx, params, "kms:DisableKeyRotation", aliases=False)
        self._require_customer_managed(key, "DisableKeyRotation")
        self._require_rotatable(key)
        self._require_state(key)
        key["Rotation"] = None
        set_due(ctx.transaction(), key, "rotate", None)
        self._save_key(ctx, key)
        return {}

    def get_key_rotation_status(self, ctx, params):
        with self._read() as conn:
            key, _ = self._resolve(ctx, conn, params["KeyId"], aliases=False)
        self._authorize(ctx, key, "kms:GetKeyRotationStatus")
        if key["KeySpec"] != "SYMMETRIC_DEFAULT":
            self._require_rotatable(key)
        # Pending deletion, the status reads false; cancelling the deletion restores it.
        rotation = key.get("Rotation") if key["KeyState"] != "PendingDeletion" else None
        result: dict[str, Any] = {"KeyRotationEnabled": bool(rotation), "KeyId": key["Arn"]}
        if rotation:
            result["RotationPeriodInDays"] = rotation["PeriodDays"]
            result["NextRotationDate"] = when(rotation["Next"])
        return result

    def rotate_key_on_demand(self, ctx, params):
        key = self._write_key(ctx, params, "kms:RotateKeyOnDemand", aliases=False)
        self._require_customer_managed(key, "RotateKeyOnDemand")
        self._require_rotatable(key)
        self._require_state(key)
        if key.get("OnDemandRotations", 0) >= MAX_ON_DEMAND_ROTATIONS:
            raise errors.limit_exceeded(
                "The on-demand rotations limit has been reached for the given keyId. No more "
                f"on-demand rotations can be performed for this key: {key['Arn']}"
            )
        self.rotate(ctx.transaction(), key, ctx.now, "ON_DEMAND")
        key["OnDemandRotations"] = key.get("OnDemandRotations", 0) + 1
        self._save_key(ctx, key)
        return {"KeyId": key["KeyId"]}

    def rotate(self, conn, key: dict[str, Any], now, rotation_type: str) -> None:
        """New key material becomes current; the old stays for decrypting old ciphertexts."""
        self._add_material(conn, key, generate_material(SPECS[key["KeySpec"]]), now, rotation_type)

    def list_key_rotations(self, ctx, params):
        limit = page_limit("ListKeyRotations", params)
        with self._read() as conn:
            key, _ = self._resolve(ctx, conn, params["KeyId"], aliases=False)
        self._authorize(ctx, key, "kms:ListKeyRotations")
        if key["KeySpec"] != "SYMMETRIC_DEFAULT":
            self._require_rotatable(key)
        # ROTATIONS_ONLY: the materials rotations made; ALL_KEY_MATERIAL adds the first one.
        every = params.get("IncludeKeyMaterial") == "ALL_KEY_MATERIAL"
        rotations = [
            rotation_entry(key, m) for m in key["Materials"] if every or m.get("RotationType")
        ]
        return page(rotations, params, "Rotations", limit)

    # Key policies

    def get_key_policy(self, ctx, params):
        with self._read() as conn:
            key, _ = self._resolve(ctx, conn, params["KeyId"], aliases=False)
        self._authorize(ctx, key, "kms:GetKeyPolicy")
        self._policy_name(params)
        with self._read() as conn:
            directory = self._principals(conn)
            shown = displayed_document(key["Policy"], key.get(POLICY_BINDING), directory)
        return {"Policy": shown, "PolicyName": "default"}

    @staticmethod
    def _policy_name(params) -> None:
        if params.get("PolicyName", "default") != "default":
            raise errors.not_found("No such policy exists")

    def put_key_policy(self, ctx, params):
        key = self._write_key(ctx, params, "kms:PutKeyPolicy", aliases=False)
        self._require_customer_managed(key, "PutKeyPolicy")
        if params.get("PolicyName") == "AWS_RAM":
            raise errors.validation("The AWS_RAM policy can only be managed by the RAM service.")
        self._policy_name(params)
        binding = self._check_policy(
            ctx,
            key["Arn"],
            params["Policy"],
            lockout_check=not params.get("BypassPolicyLockoutSafetyCheck"),
        )
        self._save_key(ctx, with_policy(key, params["Policy"], binding))
        return {}

    def list_key_policies(self, ctx, params):
        limit = page_limit("ListKeyPolicies", params)
        with self._read() as conn:
            key, _ = self._resolve(ctx, conn, params["KeyId"], aliases=False)
        self._authorize(ctx, key, "kms:ListKeyPolicies")
        return page(["default"], params, "PolicyNames", limit)

    # Tags

    def tag_resource(self, ctx, params):
        key = self._write_key(ctx, params, "kms:TagResource", aliases=False)
        self._require_customer_managed(key, "TagResource")
        self._require_not_pending_deletion(key)
        key["Tags"] = merge_tags(key.get("Tags") or {}, params["Tags"])
        self._save_key(ctx, key)
        return {}

    def untag_resource(self, ctx, params):
        key = self._write_key(ctx, params, "kms:UntagResource", aliases=False)
        self._require_customer_managed(key, "UntagResource")
        self._require_not_pending_deletion(key)
        removed = set(params["TagKeys"])
        key["Tags"] = {k: v for k, v in (key.get("Tags") or {}).items() if k not in removed}
        self._save_key(ctx, key)
        return {}

    def list_resource_tags(self, ctx, params):
        limit = page_limit("ListResourceTags", params)
        with self._read() as conn:
            key, _ = self._resolve(ctx, conn, params["KeyId"], aliases=False)
        self._authorize(ctx, key, "kms:ListResourceTags")
        return page(tag_list(key.get("Tags") or {}), params, "Tags", limit)
