"""What every KMS operation family shares: finding keys by any of their names, checking their
state, authorizing a call against the key policy, IAM policies and grants, and saving keys."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from functools import partial
from typing import Any

import orjson

from mamori.errors import AwsError
from mamori.iam.policy.deferred import DeferredKeys
from mamori.services.kms import errors
from mamori.services.kms.grant_constraints import context_met, source_arn_met
from mamori.services.kms.keys import (
    ALIAS_TYPE,
    GRANT_TYPE,
    KEY_TYPE,
    alias_arn,
    current_material,
    evaluated_policy,
    iso,
    key_arn,
    when,
)
from mamori.services.kms.keystore import Materials
from mamori.services.registry import Provider

RECORD_CACHE_TTL = 2.0

# Condition keys of a request: a mapping, or a function of the key the request acts on (for
# keys that depend on it, such as kms:ReEncryptOnSameKey).
Extra = Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]]


class _LazyReader:
    """A read connection that connects on first use: a call served from the caches (key
    record, unsealed material) never touches the store at all."""

    _mamori_read_only = True  # reads through it may be served from the record cache

    def __init__(self, store) -> None:
        self._store = store
        self._scope = None
        self._conn = None

    def __getattr__(self, name: str):
        if self._conn is None:
            self._scope = self._store.connect()
            self._conn = self._scope.__enter__()
        return getattr(self._conn, name)

    # Its own context manager (a generator-based one costs ~1.3 µs more per call).
    def __enter__(self) -> _LazyReader:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(exc)

    def close(self, exc: BaseException | None) -> None:
        if self._scope is not None:
            scope, self._scope, self._conn = self._scope, None, None
            if exc is None:
                scope.__exit__(None, None, None)
            else:
                scope.__exit__(type(exc), exc, exc.__traceback__)


_KEY_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key/.+|alias/.+)$")


def effective(key: dict[str, Any] | None, now: datetime) -> dict[str, Any] | None:
    """The key as it stands at ``now``, even if the scheduler has not yet caught up: gone once
    its deletion date passed, PendingImport once its imported material expired."""
    if key is None:
        return None
    if key["KeyState"] == "PendingDeletion" and when(key["DeletionDate"]) <= now:
        return None
    if key["Origin"] == "EXTERNAL" and key["KeyState"] in ("Enabled", "Disabled"):
        material = current_material(key)
        if material and material.get("ValidTo") and when(material["ValidTo"]) <= now:
            return {**key, "KeyState": "PendingImport"}
    return key


class KmsBase(Provider):
    service_name = "kms"

    def __init__(self, runtime) -> None:
        super().__init__(runtime)
        self.materials = Materials(runtime.store if runtime is not None else None)
        self._record_cache: dict[tuple[str, str, str, str], tuple[int, float, Any]] = {}

    def _read(self, ctx=None) -> AbstractContextManager[Any]:
        """A connection to read keys with. Inside a call that has already written (another
        service created ``alias/aws/<service>`` on first use, say) that call's own transaction,
        so the call sees what it wrote; otherwise a plain read connection."""
        if ctx is not None and ctx.in_transaction:
            return nullcontext(ctx.transaction())
        return _LazyReader(self.runtime.store)

    # Keys and aliases, read through a small cache: every Encrypt/Decrypt needs them, and a
    # store round trip costs more than the cryptography. An entry is used only while no
    # resource has been written on this node since it was read (Resources.generation moves on
    # every write and commit), and for RECORD_CACHE_TTL seconds at most, which bounds how long
    # another node sharing the database may act on a key state it has not seen yet.

    def _cached_record(self, conn, account: str, region: str, kind: str, name: str):
        resources = self.runtime.resources
        if not getattr(conn, "_mamori_read_only", False):
            return resources.get(conn, account, region, kind, name)
        cache = self._record_cache
        key = (account, region, kind, name)
        generation = resources.generation
        hit = cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] == generation and hit[1] > now:
            # A fresh copy per call: callers may change the dict they get.
            return orjson.loads(hit[2]) if hit[2] is not None else None
        record = resources.get(conn, account, region, kind, name)
        if len(cache) > 10_000:
            cache.clear()
        frozen = orjson.dumps(record) if record is not None else None
        cache[key] = (generation, now + RECORD_CACHE_TTL, frozen)
        return record

    def _get_key(self, conn, account: str, region: str, key_id: str) -> dict[str, Any] | None:
        return self._cached_record(conn, account, region, KEY_TYPE, key_id)

    def _save_key(self, ctx, key: dict[str, Any], conn=None) -> None:
        account, region = key["AWSAccountId"], key["Arn"].split(":")[3]
        self.runtime.resources.put(
            conn if conn is not None else ctx.transaction(),
            account=account,
            region=region,
            type=KEY_TYPE,
            id=key["KeyId"],
            data=key,
            now=ctx.now if ctx is not None else self.runtime.clock.now(),
        )

    def _add_material(
        self, conn, key: dict[str, Any], material: bytes, now, rotation_type: str | None = None
    ) -> str:
        material_id = secrets.token_hex(32)
        self.materials.add(
            conn,
            key_id=key["KeyId"],
            material_id=material_id,
            account=key["AWSAccountId"],
            region=key["Arn"].split(":")[3],
            material=material,
            now=now,
        )
        entry: dict[str, Any] = {"Id": material_id, "Created": iso(now)}
        if rotation_type:
            entry["RotationType"] = rotation_type
        key["Materials"].append(entry)
        key["Current"] = material_id
        return material_id

    def _resolve(
        self, ctx, conn, ref: str, *, aliases: bool = True
    ) -> tuple[dict[str, Any], str | None]:
        """(key, alias name used or None) for a KeyId: key id, key ARN, alias name, alias ARN.

        A key that does not exist (or no longer does) is NotFoundException, as AWS says it.
        """
        account, region = ctx.account_id, ctx.region
        match = KMS_ARN.match(ref)
        if match:
            region, account, resource = match.groups()
        elif ref.startswith("arn:"):
            raise AwsError("InvalidArnException", f"Invalid arn {ref}")
        else:
            resource = ref if ref.startswith("alias/") else f"key/{ref}"
        alias = None
        if resource.startswith("alias/"):
            if not aliases:
                raise errors.validation(
                    "Aliases are not supported for this operation; use a key ID or key ARN."
                )
            alias = resource
            record = self.runtime.resources.get(conn, account, region, ALIAS_TYPE, alias)
            if record is None:
                raise errors.alias_not_found(alias_arn(region, account, alias))
            key_id = record["TargetKeyId"]
        else:
            key_id = resource[4:]
            if not _KEY_ID.match(key_id):
                raise errors.not_found(f"Invalid keyId '{ref}'")
        key = effective(self._get_key(conn, account, region, key_id), ctx.now)
        if key is None:
            raise errors.key_not_found(key_arn(region, account, key_id))
        return key, alias

    @staticmethod
    def _require_state(key: dict[str, Any], *allowed: str) -> None:
        """Cryptographic use needs an enabled key; say why it cannot be used otherwise."""
        state = key["KeyState"]
        if state in (allowed or ("Enabled",)):
            return
        arn = key["Arn"]
        if state == "Disabled":
            raise errors.disabled(arn)
        if state == "PendingDeletion":
            raise errors.invalid_state(f"{arn} is pending deletion.")
        if state == "PendingImport":
            raise errors.invalid_state(f"{arn} is pending import.")
        raise errors.invalid_state(f"{arn} is {state}.")

    @staticmethod
    def _require_usage(key: dict[str, Any], usage: str, operation: str) -> None:
        if key["KeyUsage"] != usage:
            raise errors.invalid_key_usage(
                f"{key['Arn']} key usage is {key['KeyUsage']} which is not valid for {operation}."
            )

    @staticmethod
    def _require_customer_managed(key: dict[str, Any], operation: str) -> None:
        if key["KeyManager"] == "AWS":
            raise AwsError(
                "AccessDeniedException",
                f"{operation} is not allowed on an AWS managed key ({key['Arn']}).",
                status=400,
            )

    # Access: key policy + IAM policies, then grants.

    @staticmethod
    def _conditions(
        ctx,
        key: dict[str, Any],
        *,
        alias: str | None = None,
        encryption_context: dict[str, str] | None = None,
        via_service: str | None = None,
        extra: Extra | None = None,
    ) -> dict[str, Any]:
        cond: dict[str, Any] = {
            "kms:CallerAccount": ctx.account_id,
            "kms:KeySpec": key["KeySpec"],
            "kms:CustomerMasterKeySpec": key["KeySpec"],
            "kms:KeyUsage": key["KeyUsage"],
            "kms:CustomerMasterKeyUsage": key["KeyUsage"],
            "kms:KeyOrigin": key["Origin"],
            "kms:MultiRegion": False,
            "kms:ResourceAliases": list(key.get("Aliases") or []),
        }
        for tag_key, value in (key.get("Tags") or {}).items():
            cond[f"aws:ResourceTag/{tag_key}"] = value
        if alias is not None:
            cond["kms:RequestAlias"] = alias
        # A request without an encryption context has neither key (not an empty list), so a
        # Null condition on them can require one.
        if encryption_context:
            for ec_key, value in encryption_context.items():
                cond[f"kms:EncryptionContext:{ec_key}"] = value
            cond["kms:EncryptionContextKeys"] = list(encryption_context)
        if via_service is not None:
            cond["kms:ViaService"] = via_service
            cond["aws:ViaAWSService"] = True
        if callable(extra):
            extra = extra(key)
        if extra:
            cond.update(extra)
        return cond

    def _authorize(
        self,
        ctx,
        key: dict[str, Any],
        action: str,
        *,
        alias: str | None = None,
        encryption_context: dict[str, str] | None = None,
        via_service: str | None = None,
        extra: Extra | None = None,
        grant_check: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Allow ``action`` on the key for the caller, or raise AccessDenied.

        The key policy is a required resource policy: it must allow the caller (directly or by
        delegating to the account, whose IAM policies then decide). When that evaluation denies
        *implicitly*, a grant on the key for the caller and this operation (with its encryption
        context constraints met) allows instead. An explicit deny in any policy wins over a
        grant, as in AWS ("grants cannot override an explicit deny"). ``grant_check`` replaces
        the comparison of a grant's encryption context constraint with the request's (CreateGrant
        compares it with the constraint of the grant it creates).
        """
        cond = DeferredKeys(
            partial(
                self._conditions,
                ctx,
                key,
                alias=alias,
                encryption_context=encryption_context,
                via_service=via_service,
                extra=extra,
            )
        )
        try:
            ctx.authorize(
                action,
                key["Arn"],
                cond,
                resource_policy=evaluated_policy(key),
                resource_account=key["AWSAccountId"],
                resource_policy_required=True,
            )
        except AwsError as denied:
            if key.get("Grants") and "with an explicit deny" not in denied.message:
                grant = self._matching_grant(
                    ctx, key, action.split(":", 1)[1], encryption_context, grant_check
                )
                if grant is not None:
                    ctx.add_resource(key["Arn"], KEY_TYPE)
                    return
            raise kms_status(ctx, denied) from None
        ctx.add_resource(key["Arn"], KEY_TYPE)

    @staticmethod
    def _allow(ctx, action: str, resource: str = "*", context: dict | None = None, **kwargs):
        """``ctx.authorize`` for IAM-only KMS permissions (CreateKey, ListKeys, aliases...)."""
        try:
            ctx.authorize(action, resource, context, **kwargs)
        except AwsError as denied:
            raise kms_status(ctx, denied) from None

    def _grants_of(self, conn, key: dict[str, Any]) -> list[dict[str, Any]]:
        region = key["Arn"].split(":")[3]
        return [
            data
            for _, data in self.runtime.resources.list(
                conn, key["AWSAccountId"], region, GRANT_TYPE, id_prefix=f"{key['KeyId']}/"
            )
        ]

    def _matching_grant(
        self,
        ctx,
        key: dict[str, Any],
        operation: str,
        encryption_context: dict | None,
        grant_check: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any] | None:
        principal = ctx.principal
        names = {principal.arn}
        if principal.session is not None and principal.session.role_arn:
            names.add(principal.session.role_arn)
        with self._read() as conn:
            grants = self._grants_of(conn, key)
        for grant in grants:
            if grant.get("GranteePrincipal") not in names:
                continue
            if operation not in grant["Operations"]:
                continue
            constraints = grant.get("Constraints")
            # mamori's services call KMS as the caller (a forward access session), and such a
            # request carries no aws:SourceArn: a SourceArn constraint is never met here.
            if not source_arn_met(constraints, operation):
                continue
            if grant_check is not None:
                if not grant_check(grant):
                    continue
            elif not context_met(constraints, operation, encryption_context or {}):
                continue
            return grant
        return None


def kms_status(ctx, error: AwsError) -> AwsError:
    """KMS answers AccessDeniedException with HTTP 400 (its JSON errors are all 400s); other
    services calling through :mod:`.api` get the error as their protocol has it."""
    if ctx.service_name == "kms" and error.code == "AccessDeniedException":
        error.status = 400
    return error
