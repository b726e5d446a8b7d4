"""Grants: permissions on one key for one grantee, effective at once (grant tokens are accepted
and need no waiting: mamori's grants are consistent from the moment CreateGrant returns)."""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from mamori.errors import AwsError
from mamori.services.kms import errors
from mamori.services.kms.base import KmsBase
from mamori.services.kms.grant_constraints import at_least_as_strict, context_constraint
from mamori.services.kms.keys import GRANT_TYPE, evaluated_policy, iso, when
from mamori.services.kms.specs import SPECS, constrainable_grant_operations, grant_operations
from mamori.services.kms.util import page, page_limit

_CONTEXT_CONSTRAINTS = ("EncryptionContextEquals", "EncryptionContextSubset")
_ENTRY_FIELDS = (
    "KeyId",
    "GrantId",
    "Name",
    "GranteePrincipal",
    "RetiringPrincipal",
    "IssuingAccount",
    "Operations",
    "Constraints",
)


def grant_token(region: str, account: str, key_id: str, grant_id: str) -> str:
    raw = f"{region}:{account}:{key_id}:{grant_id}:{secrets.token_hex(16)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_token(token: str) -> tuple[str, str, str, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        region, account, key_id, grant_id, _ = raw.split(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise AwsError("InvalidGrantTokenException", "Invalid grant token") from None
    return region, account, key_id, grant_id


def entry(grant: dict[str, Any]) -> dict[str, Any]:
    result = {k: grant[k] for k in _ENTRY_FIELDS if grant.get(k)}
    result["CreationDate"] = when(grant["CreationDate"])
    return result


def check_grant_operations(
    key: dict[str, Any], operations: list[str], *, has_context_constraint: bool
) -> None:
    """ValidationException unless the key supports every operation of the grant (and, with
    an encryption context constraint, every operation takes an encryption context)."""
    spec, usage = SPECS[key["KeySpec"]], key["KeyUsage"]
    unsupported = set(operations) - grant_operations(spec, usage)
    if unsupported:
        raise errors.validation(
            f"Grant operations {', '.join(sorted(unsupported))} are not supported on "
            f"{key['Arn']} (key spec {key['KeySpec']}, key usage {usage})."
        )
    if has_context_constraint:
        unconstrainable = set(operations) - constrainable_grant_operations(spec, usage)
        if unconstrainable:
            raise errors.validation(
                "Encryption context grant constraints are not supported for the operations "
                f"{', '.join(sorted(unconstrainable))} on {key['Arn']} (key spec "
                f"{key['KeySpec']}): they do not take an encryption context."
            )


class GrantOps(KmsBase):
    def _grant_id(self, key: dict[str, Any], grant_id: str) -> str:
        return f"{key['KeyId']}/{grant_id}"

    def create_grant(self, ctx, params):
        if params.get("GranteeServicePrincipal") or params.get("RetiringServicePrincipal"):
            raise errors.unsupported("mamori does not support service principal grantees yet.")
        grantee = params.get("GranteePrincipal")
        if not grantee:
            raise errors.validation("GranteePrincipal is required.")
        operations = list(dict.fromkeys(params["Operations"]))
        constraints = params.get("Constraints") or None
        context_constraints = [
            name for name in _CONTEXT_CONSTRAINTS if (constraints or {}).get(name) is not None
        ]
        if len(context_constraints) > 1:
            raise errors.validation(
                "Only one of EncryptionContextEquals and EncryptionContextSubset is allowed."
            )
        conn = ctx.transaction()
        key, _ = self._resolve(ctx, conn, params["KeyId"], aliases=False)
        constraint_types = sorted(k for k, v in (constraints or {}).items() if v is not None)
        extra: dict[str, Any] = {
            "kms:GrantOperations": operations,
            "kms:GranteePrincipal": grantee,
            "kms:GrantIsForAWSResource": False,
        }
        if params.get("RetiringPrincipal"):
            extra["kms:RetiringPrincipal"] = params["RetiringPrincipal"]
        if constraint_types:
            extra["kms:GrantConstraintType"] = constraint_types

        def passes_on_no_more(parent: dict[str, Any]) -> bool:
            # A grantee creating grants through a grant passes on no more than it holds: some of
            # its operations, under constraints at least as strict as its own.
            return set(operations) <= set(parent["Operations"]) and at_least_as_strict(
                constraints, parent.get("Constraints")
            )

        # The encryption context of a CreateGrant request is its grant's constraint.
        self._authorize(
            ctx,
            key,
            "kms:CreateGrant",
            encryption_context=context_constraint(constraints),
            extra=extra,
            grant_check=passes_on_no_more,
        )
        check_grant_operations(key, operations, has_context_constraint=bool(context_constraints))
        self._require_state(key, "Enabled")
        if params.get("DryRun"):
            raise errors.dry_run()
        region = key["Arn"].split(":")[3]
        name = params.get("Name")
        if name:
            for existing in self._grants_of(conn, key):
                if existing.get("Name") == name and (
                    existing["GranteePrincipal"],
                    existing.get("RetiringPrincipal"),
                    existing["Operations"],
                    existing.get("Constraints"),
                ) == (grantee, params.get("RetiringPrincipal"), operations, constraints):
                    token = grant_token(
                        region, key["AWSAccountId"], key["KeyId"], existing["GrantId"]
                    )
                    return {"GrantToken": token, "GrantId": existing["GrantId"]}
        grant_id = secrets.token_hex(32)
        grant = {
            "KeyId": key["Arn"],
            "GrantId": grant_id,
            "Name": name,
            "CreationDate": iso(ctx.now),
            "GranteePrincipal": grantee,
            "RetiringPrincipal": params.get("RetiringPrincipal"),
            "IssuingAccount": f"arn:aws:iam::{ctx.account_id}:root",
            "Operations": operations,
            "Constraints": constraints,
        }
        self.runtime.resources.put(
            conn,
            account=key["AWSAccountId"],
            region=region,
            type=GRANT_TYPE,
            id=self._grant_id(key, grant_id),
            data=grant,
            now=ctx.now,
        )
        key["Grants"] = key.get("Grants", 0) + 1
        self._save_key(ctx, key)
        return {
            "GrantToken": grant_token(region, key["AWSAccountId"], key["KeyId"], grant_id),
            "GrantId": grant_id,
        }

    def list_grants(self, ctx, params):
        limit = page_limit("ListGrants", params)
        if params.get("GranteeServicePrincipal"):
            raise errors.unsupported("mamori does not support service principal grantees yet.")
        with self._read() as conn:
            key, _ = self._resolve(ctx, conn, params["KeyId"], aliases=False)
            self._authorize(ctx, key, "kms:ListGrants")
            grants = self._grants_of(conn, key)
        if params.get("GrantId"):
            grants = [g for g in grants if g["GrantId"] == params["GrantId"]]
        if params.get("GranteePrincipal"):
            grants = [g for g in grants if g["GranteePrincipal"] == params["GranteePrincipal"]]
        grants.sort(key=lambda g: (g["CreationDate"], g["GrantId"]))
        return page([entry(g) for g in grants], params, "Grants", limit)

    def list_retirable_grants(self, ctx, params):
        limit = page_limit("ListRetirableGrants", params)
        if params.get("RetiringServicePrincipal"):
            raise errors.unsupported("mamori does not support service principal grantees yet.")
        retiring = params.get("RetiringPrincipal")
        if not retiring:
            raise errors.validation("RetiringPrincipal is required.")
        self._allow(ctx, "kms:ListRetirableGrants", "*")
        with self._read() as conn:
            rows = self.runtime.resources.list(conn, ctx.account_id, ctx.region, GRANT_TYPE)
        grants = [g for _, g in rows if g.get("RetiringPrincipal") == retiring]
        grants.sort(key=lambda g: (g["CreationDate"], g["GrantId"]))
        return page([entry(g) for g in grants], params, "Grants", limit)

    def _remove_grant(self, ctx, key: dict[str, Any], grant: dict[str, Any]) -> None:
        region = key["Arn"].split(":")[3]
        self.runtime.resources.delete(
            ctx.transaction(),
            key["AWSAccountId"],
            region,
            GRANT_TYPE,
            self._grant_id(key, grant["GrantId"]),
            ctx.now,
        )
        key["Grants"] = max(0, key.get("Grants", 1) - 1)
        self._save_key(ctx, key)

    def _find_grant(self, conn, key: dict[str, Any], grant_id: str) -> dict[str, Any]:
        region = key["Arn"].split(":")[3]
        grant = self.runtime.resources.get(
            conn, key["AWSAccountId"], region, GRANT_TYPE, self._grant_id(key, grant_id)
        )
        if grant is None:
            raise errors.not_found(f"Grant ID {grant_id} not found")
        return grant

    def retire_grant(self, ctx, params):
        conn = ctx.transaction()
        token = params.get("GrantToken")
        if token:
            region, account, key_id, grant_id = parse_token(token)
            key = self._get_key(conn, account, region, key_id)
            if key is None:
                raise AwsError("InvalidGrantTokenException", "Invalid grant token")
        else:
            if not params.get("KeyId") or not params.get("GrantId"):
                raise errors.validation("Either GrantToken or KeyId and GrantId are required.")
            key, _ = self._resolve(ctx, conn, params["KeyId"], aliases=False)
            grant_id = params["GrantId"]
        grant = self._find_grant(conn, key, grant_id)
        principal = ctx.principal
        names = {principal.arn}
        if principal.session is not None and principal.session.role_arn:
            names.add(principal.session.role_arn)
        allowed = (
            grant.get("RetiringPrincipal") in names
            or (grant["GranteePrincipal"] in names and "RetireGrant" in grant["Operations"])
            or (principal.is_root and grant["IssuingAccount"] == principal.arn)
        )
        if not allowed:
            self._allow(
                ctx,
                "kms:RetireGrant",
                key["Arn"],
                self._conditions(ctx, key),
                resource_policy=evaluated_policy(key),
                resource_account=key["AWSAccountId"],
                resource_policy_required=True,
            )
        if params.get("DryRun"):
            raise errors.dry_run()
        ctx.add_resource(key["Arn"], "AWS::KMS::Key")
        self._remove_grant(ctx, key, grant)
        return {}

    def revoke_grant(self, ctx, params):
        conn = ctx.transaction()
        key, _ = self._resolve(ctx, conn, params["KeyId"], aliases=False)
        self._authorize(ctx, key, "kms:RevokeGrant")
        grant = self._find_grant(conn, key, params["GrantId"])
        if params.get("DryRun"):
            raise errors.dry_run()
        self._remove_grant(ctx, key, grant)
        return {}
