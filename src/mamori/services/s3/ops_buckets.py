"""Bucket operations: lifecycle, location, default encryption, policy, Block Public Access,
ownership, versioning, tags."""

from __future__ import annotations

import base64
import json
from typing import Any

import sqlalchemy as sa

from mamori.errors import AwsError
from mamori.iam.policy import MalformedPolicy, parse_policy
from mamori.iam.principal_binding import (
    PrincipalDirectory,
    UnknownPrincipal,
    bind_principals,
    displayed_document,
)
from mamori.services.s3 import buckets, objects
from mamori.services.s3.access import authorize, in_owner_account, is_public
from mamori.services.s3.base import S3Base, owner, tag_set_dict, validate_tags
from mamori.services.s3.buckets import (
    DEFAULT_PUBLIC_ACCESS_BLOCK,
    OBJECT_OWNERSHIP,
    Bucket,
    default_encryption,
)
from mamori.services.s3.errors import malformed_xml, method_not_allowed
from mamori.services.s3.policy_rules import PolicyRejected, check_bucket_policy

US_EAST_1 = "us-east-1"
#: Location constraints that name a region by an older name (the bucket lives in the region;
#: GetBucketLocation answers the name it was created with).
LEGACY_CONSTRAINTS = {"EU": "eu-west-1"}


class BucketOps(S3Base):
    # -- lifecycle ------------------------------------------------------------------------------

    def create_bucket(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Bucket"]
        buckets.validate_name(name)
        region = ctx.region
        config = params.get("CreateBucketConfiguration") or {}
        given_constraint = config.get("LocationConstraint")
        constraint = LEGACY_CONSTRAINTS.get(given_constraint, given_constraint)
        if constraint is None and region != US_EAST_1:
            raise AwsError(
                "IllegalLocationConstraintException",
                "The unspecified location constraint is incompatible for the region specific "
                "endpoint this request was sent to.",
                status=400,
            )
        if constraint is not None and constraint != region:
            raise AwsError(
                "IllegalLocationConstraintException",
                f"The {constraint} location constraint is incompatible for the region specific "
                "endpoint this request was sent to.",
                status=400,
            )
        if constraint == US_EAST_1:
            raise AwsError(
                "InvalidLocationConstraint",
                "The specified location-constraint is not valid",
                status=400,
            )
        ownership = params.get("ObjectOwnership") or "BucketOwnerEnforced"
        acl = params.get("ACL")
        if ownership == "BucketOwnerEnforced" and (
            (acl and acl != "private")
            or any(
                params.get(g)
                for g in (
                    "GrantFullControl",
                    "GrantRead",
                    "GrantReadACP",
                    "GrantWrite",
                    "GrantWriteACP",
                )
            )
        ):
            raise AwsError(
                "InvalidBucketAclWithObjectOwnership",
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
                status=400,
            )
        arn = buckets.bucket_arn(name)
        ctx.authorize("s3:CreateBucket", arn, resource_account=ctx.account_id)
        with self._read() as conn:
            existing = buckets.get(conn, name)
        if existing is not None:
            if existing.account != ctx.account_id:
                raise AwsError(
                    "BucketAlreadyExists",
                    "The requested bucket name is not available. The bucket namespace is shared "
                    "by all users of the system. Please select a different name and try again.",
                    status=409,
                    fields={"BucketName": name},
                )
            if existing.region == US_EAST_1 and region == US_EAST_1:
                return {"Location": f"/{name}", "BucketArn": arn}  # legacy: 200 in us-east-1
            raise AwsError(
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own "
                "it.",
                status=409,
                fields={"BucketName": name},
            )
        bucket = Bucket(
            name,
            ctx.account_id,
            region,
            ctx.now,
            {
                "encryption": default_encryption(),
                "public_access_block": dict(DEFAULT_PUBLIC_ACCESS_BLOCK),
                "ownership": ownership,
            },
        )
        if given_constraint != constraint:
            bucket.config["location_constraint"] = given_constraint  # GetBucketLocation says "EU"
        conn = ctx.transaction()
        try:
            with conn.begin_nested():
                buckets.insert(conn, bucket)
        except sa.exc.IntegrityError:
            raise AwsError(
                "OperationAborted",
                "A conflicting conditional operation is currently in progress against this "
                "resource. Please try again.",
                status=409,
            ) from None
        self._record_bucket(ctx, conn, bucket)
        ctx.add_resource(arn, "AWS::S3::Bucket")
        location = f"/{name}" if region == US_EAST_1 else f"http://{name}.s3.amazonaws.com/"
        return {"Location": location, "BucketArn": arn}

    def delete_bucket(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Bucket"]
        bucket = self._load_bucket(name)
        authorize(ctx, bucket, "s3:DeleteBucket")
        conn = ctx.transaction()
        if objects.bucket_has_objects(conn, name):
            raise AwsError(
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty",
                status=409,
                fields={"BucketName": name},
            )
        for upload_id in objects.upload_ids_in_bucket(conn, name):
            objects.drop_upload(conn, upload_id, ctx.now)
        buckets.delete(conn, name)
        self._record_bucket(ctx, conn, bucket, deleted=True)
        ctx.add_resource(bucket.arn, "AWS::S3::Bucket", bucket.account)
        self._schedule_gc()
        return {}

    def list_buckets(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("s3:ListAllMyBuckets", "*", resource_account=ctx.account_id)
        limit = params.get("MaxBuckets") or 10000
        after = None
        token = params.get("ContinuationToken")
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except ValueError:
                raise AwsError(
                    "InvalidArgument", "The continuation token provided is incorrect", status=400
                ) from None
        with self._read() as conn:
            found = buckets.list_for(
                conn,
                ctx.account_id,
                params.get("Prefix"),
                after,
                limit + 1,
                params.get("BucketRegion"),
            )
        out: dict[str, Any] = {
            "Buckets": [
                {
                    "Name": b.name,
                    "CreationDate": b.created,
                    "BucketRegion": b.region,
                    "BucketArn": b.arn,
                }
                for b in found[:limit]
            ],
            "Owner": owner(ctx.account_id),
        }
        if params.get("Prefix"):
            out["Prefix"] = params["Prefix"]
        if len(found) > limit:
            out["ContinuationToken"] = base64.urlsafe_b64encode(
                found[limit - 1].name.encode()
            ).decode()
        return out

    def head_bucket(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        try:
            authorize(ctx, bucket, "s3:ListBucket")
        except AwsError as exc:
            # "Regardless of the permissions on the bucket", the answer names its region.
            exc.headers["x-amz-bucket-region"] = bucket.region
            raise
        return {
            "BucketRegion": bucket.region,
            "BucketLocationType": None,
            "AccessPointAlias": False,
        }

    def get_bucket_location(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:GetBucketLocation")
        given = bucket.config.get("location_constraint")
        if given:
            return {"LocationConstraint": given}
        return {"LocationConstraint": None if bucket.region == US_EAST_1 else bucket.region}

    # -- configuration helpers ------------------------------------------------------------------

    def _configure(self, ctx, bucket: Bucket, **changes: Any) -> None:
        config = dict(bucket.config)
        for key, value in changes.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
        conn = ctx.transaction()
        buckets.save_config(conn, bucket.name, config)
        bucket.config = config
        self._record_bucket(ctx, conn, bucket)
        ctx.add_resource(bucket.arn, "AWS::S3::Bucket", bucket.account)

    # -- default encryption ---------------------------------------------------------------------

    def put_bucket_encryption(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:PutEncryptionConfiguration")
        rules = (params.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
        if len(rules) != 1:
            raise malformed_xml()
        rule = rules[0]
        default = rule.get("ApplyServerSideEncryptionByDefault")
        new_rule: dict[str, Any] = {}
        if default is not None:
            algorithm = default.get("SSEAlgorithm")
            if algorithm not in ("AES256", "aws:kms", "aws:kms:dsse"):
                raise malformed_xml()
            if default.get("KMSMasterKeyID") and algorithm == "AES256":
                raise AwsError(
                    "InvalidArgument",
                    "a KMSMasterKeyID is not applicable if the default sse algorithm is not "
                    "aws:kms or aws:kms:dsse",
                    status=400,
                )
            new_rule["ApplyServerSideEncryptionByDefault"] = {
                k: v for k, v in default.items() if v is not None
            }
        else:
            new_rule["ApplyServerSideEncryptionByDefault"] = {"SSEAlgorithm": "AES256"}
        new_rule["BucketKeyEnabled"] = bool(rule.get("BucketKeyEnabled"))
        blocked = rule.get("BlockedEncryptionTypes")
        if blocked is None:
            blocked = bucket.default_rule.get("BlockedEncryptionTypes")
        else:
            types = blocked.get("EncryptionType") or []
            if any(t not in ("NONE", "SSE-C") for t in types) or (
                "NONE" in types and len(types) > 1
            ):
                raise malformed_xml()
            blocked = {"EncryptionType": types}
        if blocked:
            new_rule["BlockedEncryptionTypes"] = blocked
        self._configure(ctx, bucket, encryption={"Rules": [new_rule]})
        return {}

    def get_bucket_encryption(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:GetEncryptionConfiguration")
        return {"ServerSideEncryptionConfiguration": bucket.encryption}

    def delete_bucket_encryption(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:PutEncryptionConfiguration")
        encryption = default_encryption()
        blocked = bucket.default_rule.get("BlockedEncryptionTypes")
        rule = encryption["Rules"][0]
        if blocked:
            rule["BlockedEncryptionTypes"] = blocked
        else:
            rule.pop("BlockedEncryptionTypes", None)
        self._configure(ctx, bucket, encryption=encryption)
        return {}

    # -- bucket policy --------------------------------------------------------------------------

    def _authorize_policy_op(self, ctx, bucket: Bucket, action: str) -> None:
        """Get/Put/DeleteBucketPolicy: only identities of the bucket owner's account may use
        them. Others are denied (403) without the permission, and with it refused with 405
        MethodNotAllowed. The owner's root user is always allowed (so a policy cannot lock the
        account out of its own bucket)."""
        owner_account = in_owner_account(ctx, bucket)
        if owner_account and ctx.principal.is_root:
            return
        authorize(ctx, bucket, action)
        if not owner_account:
            raise method_not_allowed()

    def put_bucket_policy(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        self._authorize_policy_op(ctx, bucket, "s3:PutBucketPolicy")
        text = params.get("Policy") or ""
        if not text.lstrip().startswith("{"):
            raise _malformed_policy("Policies must be valid JSON and the first byte must be '{'")
        try:
            json.loads(text)
        except ValueError:
            raise _malformed_policy(
                "Policies must be valid JSON and the first byte must be '{'"
            ) from None
        try:
            parse_policy(text, "resource")
        except MalformedPolicy as exc:
            raise _malformed_policy(str(getattr(exc, "reason", exc))) from None
        try:
            check_bucket_policy(text, bucket.name)
        except PolicyRejected as exc:
            raise _malformed_policy(str(exc)) from None
        try:
            binding = bind_principals(text, self._principals(ctx.transaction()))
        except UnknownPrincipal:
            raise _malformed_policy("Invalid principal in policy") from None
        bpa = bucket.public_access_block or {}
        if bpa.get("BlockPublicPolicy") and is_public(text):
            raise AwsError(
                "AccessDenied",
                f"User: {ctx.principal.arn} is not authorized to perform: s3:PutBucketPolicy on "
                f'resource: "{bucket.arn}" because public policies are blocked by the '
                "BlockPublicPolicy block public access setting.",
                status=403,
            )
        self._configure(ctx, bucket, policy=text, policy_principal_ids=binding or None)
        return {}

    def _principals(self, conn) -> PrincipalDirectory:
        return PrincipalDirectory(self.runtime.resources, conn)

    def get_bucket_policy(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        self._authorize_policy_op(ctx, bucket, "s3:GetBucketPolicy")
        if not bucket.policy:
            raise AwsError("NoSuchBucketPolicy", "The bucket policy does not exist", status=404)
        with self._read() as conn:
            shown = displayed_document(bucket.policy, bucket.policy_binding, self._principals(conn))
        return {"Policy": shown}

    def delete_bucket_policy(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        self._authorize_policy_op(ctx, bucket, "s3:DeleteBucketPolicy")
        if bucket.policy:
            self._configure(ctx, bucket, policy=None, policy_principal_ids=None)
        return {}

    def get_bucket_policy_status(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:GetBucketPolicyStatus")
        if not bucket.policy:
            raise AwsError("NoSuchBucketPolicy", "The bucket policy does not exist", status=404)
        return {"PolicyStatus": {"IsPublic": is_public(bucket.policy)}}

    # -- Block Public Access --------------------------------------------------------------------

    def put_public_access_block(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:PutBucketPublicAccessBlock")
        given = params.get("PublicAccessBlockConfiguration") or {}
        config = {k: bool(given.get(k, False)) for k in DEFAULT_PUBLIC_ACCESS_BLOCK}
        self._configure(ctx, bucket, public_access_block=config)
        return {}

    def get_public_access_block(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:GetBucketPublicAccessBlock")
        config = bucket.public_access_block
        if config is None:
            raise AwsError(
                "NoSuchPublicAccessBlockConfiguration",
                "The public access block configuration was not found",
                status=404,
                fields={"BucketName": bucket.name},
            )
        return {"PublicAccessBlockConfiguration": config}

    def delete_public_access_block(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:PutBucketPublicAccessBlock")
        self._configure(ctx, bucket, public_access_block=None)
        return {}

    # -- ownership and ACLs (ACLs are disabled: the owner has full control) ---------------------

    def get_bucket_ownership_controls(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:GetBucketOwnershipControls")
        ownership = bucket.config.get("ownership")
        if not ownership:
            raise AwsError(
                "OwnershipControlsNotFoundError",
                "The bucket ownership controls were not found",
                status=404,
            )
        return {"OwnershipControls": {"Rules": [{"ObjectOwnership": ownership}]}}

    def put_bucket_ownership_controls(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:PutBucketOwnershipControls")
        rules = (params.get("OwnershipControls") or {}).get("Rules") or []
        if len(rules) != 1 or rules[0].get("ObjectOwnership") not in OBJECT_OWNERSHIP:
            raise malformed_xml()
        self._configure(ctx, bucket, ownership=rules[0]["ObjectOwnership"])
        return {}

    def delete_bucket_ownership_controls(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:PutBucketOwnershipControls")
        self._configure(ctx, bucket, ownership=None)
        return {}

    def get_bucket_acl(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:GetBucketAcl")
        return _owner_acl(bucket.account)

    # -- versioning -----------------------------------------------------------------------------

    def put_bucket_versioning(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:PutBucketVersioning")
        config = params.get("VersioningConfiguration") or {}
        status = config.get("Status")
        mfa_delete = config.get("MFADelete")
        if status not in ("Enabled", "Suspended") or mfa_delete not in (
            None,
            "Enabled",
            "Disabled",
        ):
            raise malformed_xml()
        if mfa_delete == "Enabled":
            # Refused rather than accepted and not enforced: MFA Delete would need the root
            # user's MFA code on versioning changes and permanent deletes.
            raise AwsError(
                "NotImplemented",
                "mamori does not implement MFA Delete (VersioningConfiguration MFADelete "
                "Enabled) yet.",
                status=501,
                sender_fault=False,
            )
        self._configure(ctx, bucket, versioning=status)
        return {}

    def get_bucket_versioning(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:GetBucketVersioning")
        return {"Status": bucket.versioning} if bucket.versioning else {}

    # -- tags -----------------------------------------------------------------------------------

    def put_bucket_tagging(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:PutBucketTagging")
        tags = tag_set_dict((params.get("Tagging") or {}).get("TagSet") or [])
        if len(tags) > 50:
            raise AwsError("BadRequest", "Bucket tag count cannot be greater than 50", status=400)
        validate_tags(tags)
        self._configure(ctx, bucket, tags=tags)
        return {}

    def get_bucket_tagging(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:GetBucketTagging")
        tags = bucket.config.get("tags")
        if not tags:
            raise AwsError(
                "NoSuchTagSet",
                "The TagSet does not exist",
                status=404,
                fields={"BucketName": bucket.name},
            )
        return {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}

    def delete_bucket_tagging(self, ctx, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self._load_bucket(params["Bucket"])
        authorize(ctx, bucket, "s3:PutBucketTagging")
        self._configure(ctx, bucket, tags=None)
        return {}


def _owner_acl(account: str) -> dict[str, Any]:
    who = owner(account)
    return {
        "Owner": who,
        "Grants": [
            {
                "Grantee": {"Type": "CanonicalUser", **who},
                "Permission": "FULL_CONTROL",
            }
        ],
    }


def _malformed_policy(message: str) -> AwsError:
    return AwsError("MalformedPolicy", message, status=400)
