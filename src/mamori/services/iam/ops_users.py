"""Users and their access keys."""

from __future__ import annotations

from sqlalchemy import select

from mamori.errors import AwsError
from mamori.iam.credentials import access_keys, new_access_key_id, new_secret_access_key
from mamori.iam.entities import paginate
from mamori.iam.principals import Principal
from mamori.iam.users import Users, public_user
from mamori.services.iam.base import Iam, IamBase

MAX_ACCESS_KEYS_PER_USER = 2


def conflict(message: str) -> AwsError:
    return AwsError("DeleteConflictException", message)


class UserOps(IamBase):
    def _target_user(self, ctx, users: Users, name: str | None) -> dict | None:
        """The named user, or the caller's own user when no name is given (None for root)."""
        if name:
            return users.get(name)
        if ctx.principal.type == "IAMUser":
            return users.get(ctx.principal.user_name)
        return None

    def create_user(self, ctx, params):
        name, path = params["UserName"], params.get("Path", "/")
        iam = self._write(ctx)
        self._authorize(ctx, "iam:CreateUser", iam.users.arn(path, name), params)
        tags = iam.users.tag_rules.check(params.get("Tags", []))
        boundary = params.get("PermissionsBoundary")
        if boundary:
            self._require_boundary(iam, boundary)
        user = iam.users.create(name, path, tags, boundary, ctx.now)
        ctx.add_resource(user["Arn"], "AWS::IAM::User")
        return {"User": public_user(user)}

    def get_user(self, ctx, params):
        with self._read(ctx) as iam:
            name = params.get("UserName")
            if name:
                user = self._entity(ctx, iam.users, name, "iam:GetUser")
            else:
                user = self._target_user(ctx, iam.users, None)
                if user is not None:
                    self._authorize(ctx, "iam:GetUser", user["Arn"], entity=user)
        if user is None:
            # The root user (or a session): IAM answers with its id and ARN.
            principal = ctx.principal
            return {
                "User": {
                    "UserId": principal.principal_id,
                    "Arn": principal.arn,
                    "CreateDate": ctx.now,
                }
            }
        return {"User": public_user(user)}

    def list_users(self, ctx, params):
        ctx.authorize("iam:ListUsers", self._arn(ctx, "user/"))
        with self._read(ctx) as iam:
            users = iam.users.all(params.get("PathPrefix", "/"))
            page = iam.users.page(params, "Users", users)
        page["Users"] = [public_user(u, with_tags=False) for u in page["Users"]]
        return page

    def update_user(self, ctx, params):
        iam = self._write(ctx)
        user = self._entity(ctx, iam.users, params["UserName"], "iam:UpdateUser")
        new_name = params.get("NewUserName")
        updated = iam.users.rename(user, new_name, params.get("NewPath"), ctx.now)
        if new_name and new_name != user["UserName"]:
            iam.passwords.rename_profile(user["UserName"], new_name, ctx.now)
            iam.mfa.rename_user(user["UserName"], new_name, ctx.now)
        self.runtime.credentials.rename_principal(
            ctx.transaction(), ctx.account_id, user["UserId"], updated["Arn"], updated["UserName"]
        )
        self._changed(ctx)
        return {}

    def delete_user(self, ctx, params):
        iam = self._write(ctx)
        user = self._entity(ctx, iam.users, params["UserName"], "iam:DeleteUser")
        if self.runtime.credentials.keys_of(ctx.transaction(), ctx.account_id, user["UserId"]):
            raise conflict("Cannot delete entity, must delete access keys first.")
        if iam.passwords.profile(user["UserName"]) is not None:
            raise conflict("Cannot delete entity, must delete login profile first.")
        if iam.mfa.of_user(user["UserName"]):
            raise conflict("Cannot delete entity, must delete MFA device first.")
        if user.get("InlinePolicies"):
            raise conflict("Cannot delete entity, must delete policies first.")
        if user.get("AttachedPolicies"):
            raise conflict("Cannot delete entity, must detach all policies first.")
        if user.get("Groups"):
            raise conflict("Cannot delete entity, must remove users from group first.")
        iam.users.delete(user["UserName"], ctx.now)
        ctx.add_resource(user["Arn"], "AWS::IAM::User")
        self._changed(ctx)
        return {}

    def tag_user(self, ctx, params):
        return self._tag(ctx, self._write(ctx).users, params["UserName"], "iam:TagUser", params)

    def untag_user(self, ctx, params):
        return self._untag(ctx, self._write(ctx).users, params["UserName"], "iam:UntagUser", params)

    def list_user_tags(self, ctx, params):
        return self._list_tags(ctx, "users", params["UserName"], "iam:ListUserTags", params)

    # Access keys

    def _key_owner(self, ctx, iam: Iam, name: str | None) -> tuple[Principal, dict | None]:
        """The principal whose keys a call manages, and its user (None for root)."""
        user = self._target_user(ctx, iam.users, name)
        if user is None:
            return ctx.principal, None
        principal = Principal(
            type="IAMUser",
            account_id=ctx.account_id,
            arn=user["Arn"],
            principal_id=user["UserId"],
            user_name=user["UserName"],
        )
        return principal, user

    def create_access_key(self, ctx, params):
        iam = self._write(ctx)
        owner, user = self._key_owner(ctx, iam, params.get("UserName"))
        self._authorize(ctx, "iam:CreateAccessKey", owner.arn, entity=user)
        credentials = self.runtime.credentials
        conn = iam.conn
        if len(credentials.keys_of(conn, ctx.account_id, owner.principal_id)) >= (
            MAX_ACCESS_KEYS_PER_USER
        ):
            raise AwsError(
                "LimitExceededException",
                f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_USER}",
            )
        access_key_id, secret = new_access_key_id(), new_secret_access_key()
        credentials.add(conn, owner, access_key_id, secret, now=ctx.now)
        key = {
            "AccessKeyId": access_key_id,
            "Status": "Active",
            "SecretAccessKey": secret,
            "CreateDate": ctx.now,
        }
        if user is not None:
            key["UserName"] = user["UserName"]
        return {"AccessKey": key}

    def list_access_keys(self, ctx, params):
        with self._read(ctx) as iam:
            owner, user = self._key_owner(ctx, iam, params.get("UserName"))
            self._authorize(ctx, "iam:ListAccessKeys", owner.arn, entity=user)
            keys = self.runtime.credentials.keys_of(iam.conn, ctx.account_id, owner.principal_id)
        metadata = []
        for key in keys:
            entry = {
                "AccessKeyId": key["access_key_id"],
                "Status": key["status"],
                "CreateDate": key["created"],
            }
            if user is not None:
                entry["UserName"] = user["UserName"]
            metadata.append(entry)
        return paginate(metadata, params, "AccessKeyMetadata")

    def _owned_key(self, ctx, iam: Iam, params) -> tuple[str, dict | None]:
        """(ARN, user) of the owner of the access key a call names."""
        owner, user = self._key_owner(ctx, iam, params.get("UserName"))
        access_key_id = params["AccessKeyId"]
        keys = self.runtime.credentials.keys_of(iam.conn, ctx.account_id, owner.principal_id)
        if not any(k["access_key_id"] == access_key_id for k in keys):
            raise AwsError(
                "NoSuchEntityException",
                f"The Access Key with id {access_key_id} cannot be found.",
            )
        return owner.arn, user

    def update_access_key(self, ctx, params):
        iam = self._write(ctx)
        owner_arn, user = self._owned_key(ctx, iam, params)
        self._authorize(ctx, "iam:UpdateAccessKey", owner_arn, entity=user)
        self.runtime.credentials.set_status(iam.conn, params["AccessKeyId"], params["Status"])
        return {}

    def delete_access_key(self, ctx, params):
        iam = self._write(ctx)
        owner_arn, user = self._owned_key(ctx, iam, params)
        self._authorize(ctx, "iam:DeleteAccessKey", owner_arn, entity=user)
        self.runtime.credentials.remove(iam.conn, params["AccessKeyId"])
        return {}

    def get_access_key_last_used(self, ctx, params):
        access_key_id = params["AccessKeyId"]
        with self._read(ctx) as iam:
            row = iam.conn.execute(
                select(access_keys.c.principal_arn, access_keys.c.user_name).where(
                    access_keys.c.access_key_id == access_key_id,
                    access_keys.c.account_id == ctx.account_id,
                    access_keys.c.session_token_hash.is_(None),
                )
            ).first()
        ctx.authorize(
            "iam:GetAccessKeyLastUsed", row.principal_arn if row else self._arn(ctx, "user/")
        )
        if row is None:
            raise AwsError(
                "AccessDenied", "Access key does not exist or does not belong to you.", status=403
            )
        with self._read(ctx) as iam:
            use = self.runtime.credentials.last_use(iam.conn, access_key_id)
        if use is None:
            result = {"AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}}
        else:
            when, region, service = use
            result = {
                "AccessKeyLastUsed": {
                    "LastUsedDate": when,
                    "ServiceName": service,
                    "Region": region,
                }
            }
        if row.user_name:
            result["UserName"] = row.user_name
        return result
