"""Managed policies and their versions; inline policies, attachments and permissions
boundaries of users, groups and roles."""

from __future__ import annotations

import contextlib
from typing import Any

from mamori.errors import AwsError
from mamori.iam.documents import (
    as_text,
    check_inline_size,
    check_managed_size,
    validate,
)
from mamori.iam.entities import (
    EntityStore,
    attached,
    encode_document,
    paginate,
    tag_list,
)
from mamori.iam.managed_policies import (
    Usage,
    all_policies,
    not_attachable,
    public_policy,
    public_version,
    sorted_versions,
)
from mamori.services.iam.base import Iam, IamBase

MAX_ATTACHED = 10
_STORE = {"user": "users", "group": "groups", "role": "roles"}
_NAME = {"user": "UserName", "group": "GroupName", "role": "RoleName"}
_ACTION = {"user": "User", "group": "Group", "role": "Role"}


class PolicyOps(IamBase):
    # Managed policies

    def create_policy(self, ctx, params):
        name, path = params["PolicyName"], params.get("Path", "/")
        iam = self._write(ctx)
        self._authorize(ctx, "iam:CreatePolicy", iam.policies.arn(path, name), params)
        text = as_text(params["PolicyDocument"])
        check_managed_size(text)
        validate(text, "identity", managed=True)
        policy = iam.policies.create(
            name,
            path,
            text,
            ctx.now,
            description=params.get("Description"),
            tags=iam.policies.tag_rules.check(params.get("Tags", [])),
        )
        ctx.add_resource(policy["Arn"], "AWS::IAM::Policy")
        return {"Policy": public_policy(policy, Usage([], [], []))}

    def _policy(
        self, ctx, iam: Iam, arn: str, action: str, customer: bool = False, params=None
    ) -> dict:
        # AWS managed policies ("arn:aws:iam::aws:policy/...") count as the caller's account's.
        # Its tags are aws:ResourceTag/*; a policy that does not exist is refused after.
        found = None
        with contextlib.suppress(AwsError):  # a malformed ARN: refused after, too
            found = iam.policies.resolve(arn)
        self._authorize(ctx, action, arn, params, found, resource_account=ctx.account_id)
        return iam.policies.customer(arn) if customer else iam.policies.require(arn)

    def get_policy(self, ctx, params):
        with self._read(ctx) as iam:
            policy = self._policy(ctx, iam, params["PolicyArn"], "iam:GetPolicy")
            usage = Usage.of(self.runtime.resources, iam.conn, ctx.account_id)
        return {"Policy": public_policy(policy, usage)}

    def list_policies(self, ctx, params):
        ctx.authorize("iam:ListPolicies", self._arn(ctx, "policy/"))
        prefix = params.get("PathPrefix", "/")
        usage_filter = params.get("PolicyUsageFilter")
        with self._read(ctx) as iam:
            usage = Usage.of(self.runtime.resources, iam.conn, ctx.account_id)
            policies = [
                p
                for p in all_policies(iam.policies, params.get("Scope", "All"))
                if p["Path"].startswith(prefix)
            ]
        if params.get("OnlyAttached"):
            policies = [
                p
                for p in policies
                if usage.attachments.get(p["Arn"]) or usage.boundaries.get(p["Arn"])
            ]
            if usage_filter == "PermissionsPolicy":
                policies = [p for p in policies if usage.attachments.get(p["Arn"])]
            elif usage_filter == "PermissionsBoundary":
                policies = [p for p in policies if usage.boundaries.get(p["Arn"])]
        page = paginate(policies, params, "Policies")
        page["Policies"] = [public_policy(p, usage, with_tags=False) for p in page["Policies"]]
        return page

    def delete_policy(self, ctx, params):
        arn = params["PolicyArn"]
        iam = self._write(ctx)
        policy = self._policy(ctx, iam, arn, "iam:DeletePolicy", customer=True)
        usage = Usage.of(self.runtime.resources, iam.conn, ctx.account_id)
        if usage.attachments.get(arn) or usage.boundaries.get(arn):
            raise AwsError(
                "DeleteConflictException", "Cannot delete a policy attached to entities."
            )
        if len(policy["Versions"]) > 1:
            raise AwsError(
                "DeleteConflictException",
                "This policy has more than one version. Before you delete a policy, you must "
                "delete the policy's versions. The default version is deleted with the policy.",
            )
        iam.policies.delete(policy["PolicyName"], ctx.now)
        ctx.add_resource(arn, "AWS::IAM::Policy")
        return {}

    def create_policy_version(self, ctx, params):
        iam = self._write(ctx)
        policy = self._policy(
            ctx, iam, params["PolicyArn"], "iam:CreatePolicyVersion", customer=True
        )
        text = as_text(params["PolicyDocument"])
        check_managed_size(text)
        validate(text, "identity", managed=True)
        set_default = bool(params.get("SetAsDefault"))
        version_id = iam.policies.add_version(policy, text, set_default, ctx.now)
        if set_default:
            self._changed(ctx)
        policy = iam.policies.require(params["PolicyArn"])
        return {"PolicyVersion": public_version(policy, version_id, with_document=False)}

    def get_policy_version(self, ctx, params):
        with self._read(ctx) as iam:
            policy = self._policy(ctx, iam, params["PolicyArn"], "iam:GetPolicyVersion")
        iam.policies.version(policy, params["VersionId"])
        return {"PolicyVersion": public_version(policy, params["VersionId"], with_document=True)}

    def list_policy_versions(self, ctx, params):
        with self._read(ctx) as iam:
            policy = self._policy(ctx, iam, params["PolicyArn"], "iam:ListPolicyVersions")
        versions = [
            public_version(policy, vid, with_document=False) for vid, _ in sorted_versions(policy)
        ]
        return paginate(versions, params, "Versions")

    def delete_policy_version(self, ctx, params):
        iam = self._write(ctx)
        policy = self._policy(
            ctx, iam, params["PolicyArn"], "iam:DeletePolicyVersion", customer=True
        )
        iam.policies.delete_version(policy, params["VersionId"], ctx.now)
        return {}

    def set_default_policy_version(self, ctx, params):
        iam = self._write(ctx)
        policy = self._policy(
            ctx, iam, params["PolicyArn"], "iam:SetDefaultPolicyVersion", customer=True
        )
        iam.policies.set_default(policy, params["VersionId"], ctx.now)
        self._changed(ctx)
        return {}

    def list_entities_for_policy(self, ctx, params):
        with self._read(ctx) as iam:
            self._policy(ctx, iam, params["PolicyArn"], "iam:ListEntitiesForPolicy")
            usage = Usage.of(self.runtime.resources, iam.conn, ctx.account_id)
        arn = params["PolicyArn"]
        prefix = params.get("PathPrefix", "/")
        wanted = params.get("EntityFilter")
        kinds = {
            "User": wanted in (None, "User"),
            "Group": wanted in (None, "Group"),
            "Role": wanted in (None, "Role"),
        }
        if wanted in ("LocalManagedPolicy", "AWSManagedPolicy"):
            kinds = dict.fromkeys(kinds, True)
        usage_filter = params.get("PolicyUsageFilter")
        found: dict[str, list[dict]] = {"User": [], "Group": [], "Role": []}
        if usage_filter != "PermissionsBoundary":
            for kind, items in usage.entities(arn).items():
                found[kind].extend(items)
        if usage_filter == "PermissionsBoundary":
            for kind, items in usage.boundary_users(arn).items():
                found[kind].extend(items)
        entries: list[tuple[str, dict]] = []
        for kind in ("Group", "User", "Role"):
            if kinds[kind]:
                entries.extend((kind, e) for e in found[kind] if e["Path"].startswith(prefix))
        page = paginate(entries, params, "Entries")
        result: dict[str, Any] = {
            "PolicyGroups": [],
            "PolicyUsers": [],
            "PolicyRoles": [],
            "IsTruncated": page["IsTruncated"],
        }
        for kind, entity in page["Entries"]:
            result[f"Policy{kind}s"].append(
                {f"{kind}Name": entity[f"{kind}Name"], f"{kind}Id": entity[f"{kind}Id"]}
            )
        if page.get("Marker"):
            result["Marker"] = page["Marker"]
        return result

    def tag_policy(self, ctx, params):
        iam = self._write(ctx)
        policy = self._policy(ctx, iam, params["PolicyArn"], "iam:TagPolicy", True, params)
        tags = iam.policies.tag_rules.merge(policy.get("Tags") or {}, params["Tags"])
        iam.policies.save({**policy, "Tags": tags}, ctx.now)
        return {}

    def untag_policy(self, ctx, params):
        iam = self._write(ctx)
        policy = self._policy(ctx, iam, params["PolicyArn"], "iam:UntagPolicy", True, params)
        tags = iam.policies.tag_rules.remove(policy.get("Tags") or {}, params["TagKeys"])
        iam.policies.save({**policy, "Tags": tags}, ctx.now)
        return {}

    def list_policy_tags(self, ctx, params):
        with self._read(ctx) as iam:
            policy = self._policy(ctx, iam, params["PolicyArn"], "iam:ListPolicyTags")
        return paginate(tag_list(policy.get("Tags")), params, "Tags")

    # Inline policies (user, group, role)

    def _store(self, iam: Iam, kind: str) -> EntityStore:
        return getattr(iam, _STORE[kind])

    def _put_inline(self, ctx, params, kind: str):
        iam = self._write(ctx)
        store = self._store(iam, kind)
        name = params[_NAME[kind]]
        entity = self._entity(ctx, store, name, f"iam:Put{_ACTION[kind]}Policy")
        text = as_text(params["PolicyDocument"])
        validate(text, "identity")
        documents = dict(entity.get("InlinePolicies") or {})
        documents[params["PolicyName"]] = text
        check_inline_size(kind, entity[_NAME[kind]], documents)
        store.save({**entity, "InlinePolicies": documents}, ctx.now)
        self._changed(ctx)
        return {}

    @staticmethod
    def _no_inline(kind: str, name: str) -> AwsError:
        return AwsError(
            "NoSuchEntityException", f"The {kind} policy with name {name} cannot be found."
        )

    def _get_inline(self, ctx, params, kind: str):
        with self._read(ctx) as iam:
            store = self._store(iam, kind)
            entity = self._entity(ctx, store, params[_NAME[kind]], f"iam:Get{_ACTION[kind]}Policy")
        text = (entity.get("InlinePolicies") or {}).get(params["PolicyName"])
        if text is None:
            raise self._no_inline(kind, params["PolicyName"])
        return {
            _NAME[kind]: entity[_NAME[kind]],
            "PolicyName": params["PolicyName"],
            "PolicyDocument": encode_document(text),
        }

    def _delete_inline(self, ctx, params, kind: str):
        iam = self._write(ctx)
        store = self._store(iam, kind)
        entity = self._entity(ctx, store, params[_NAME[kind]], f"iam:Delete{_ACTION[kind]}Policy")
        documents = dict(entity.get("InlinePolicies") or {})
        if documents.pop(params["PolicyName"], None) is None:
            raise self._no_inline(kind, params["PolicyName"])
        store.save({**entity, "InlinePolicies": documents}, ctx.now)
        self._changed(ctx)
        return {}

    def _list_inline(self, ctx, params, kind: str):
        with self._read(ctx) as iam:
            store = self._store(iam, kind)
            entity = self._entity(
                ctx, store, params[_NAME[kind]], f"iam:List{_ACTION[kind]}Policies"
            )
        names = sorted(entity.get("InlinePolicies") or {})
        return paginate(names, params, "PolicyNames", key=lambda n: n)

    def put_user_policy(self, ctx, params):
        return self._put_inline(ctx, params, "user")

    def get_user_policy(self, ctx, params):
        return self._get_inline(ctx, params, "user")

    def delete_user_policy(self, ctx, params):
        return self._delete_inline(ctx, params, "user")

    def list_user_policies(self, ctx, params):
        return self._list_inline(ctx, params, "user")

    def put_group_policy(self, ctx, params):
        return self._put_inline(ctx, params, "group")

    def get_group_policy(self, ctx, params):
        return self._get_inline(ctx, params, "group")

    def delete_group_policy(self, ctx, params):
        return self._delete_inline(ctx, params, "group")

    def list_group_policies(self, ctx, params):
        return self._list_inline(ctx, params, "group")

    def put_role_policy(self, ctx, params):
        return self._put_inline(ctx, params, "role")

    def get_role_policy(self, ctx, params):
        return self._get_inline(ctx, params, "role")

    def delete_role_policy(self, ctx, params):
        return self._delete_inline(ctx, params, "role")

    def list_role_policies(self, ctx, params):
        return self._list_inline(ctx, params, "role")

    # Attached managed policies (user, group, role)

    def _attach(self, ctx, params, kind: str):
        iam = self._write(ctx)
        store = self._store(iam, kind)
        action = f"iam:Attach{_ACTION[kind]}Policy"
        entity = self._entity(ctx, store, params[_NAME[kind]], action, params)
        arn = params["PolicyArn"]
        if iam.policies.resolve(arn) is None:
            raise not_attachable(arn)
        current = list(entity.get("AttachedPolicies") or [])
        if arn in current:
            return {}
        if len(current) >= MAX_ATTACHED:
            raise AwsError(
                "LimitExceededException",
                f"Cannot exceed quota for PoliciesPer{_ACTION[kind]}: {MAX_ATTACHED}",
            )
        store.save({**entity, "AttachedPolicies": [*current, arn]}, ctx.now)
        self._changed(ctx)
        return {}

    def _detach(self, ctx, params, kind: str):
        iam = self._write(ctx)
        store = self._store(iam, kind)
        action = f"iam:Detach{_ACTION[kind]}Policy"
        entity = self._entity(ctx, store, params[_NAME[kind]], action, params)
        arn = params["PolicyArn"]
        iam.policies.resolve(arn)  # InvalidInput for a malformed ARN
        current = list(entity.get("AttachedPolicies") or [])
        if arn not in current:
            raise AwsError("NoSuchEntityException", f"Policy {arn} was not found.")
        current.remove(arn)
        store.save({**entity, "AttachedPolicies": current}, ctx.now)
        self._changed(ctx)
        return {}

    def _list_attached(self, ctx, params, kind: str):
        with self._read(ctx) as iam:
            store = self._store(iam, kind)
            entity = self._entity(
                ctx, store, params[_NAME[kind]], f"iam:ListAttached{_ACTION[kind]}Policies"
            )
            prefix = params.get("PathPrefix", "/")
            policies = [
                a
                for a in attached(entity)
                if (p := iam.policies.resolve(a["PolicyArn"])) is None
                or p["Path"].startswith(prefix)
            ]
        return paginate(policies, params, "AttachedPolicies")

    def attach_user_policy(self, ctx, params):
        return self._attach(ctx, params, "user")

    def detach_user_policy(self, ctx, params):
        return self._detach(ctx, params, "user")

    def list_attached_user_policies(self, ctx, params):
        return self._list_attached(ctx, params, "user")

    def attach_group_policy(self, ctx, params):
        return self._attach(ctx, params, "group")

    def detach_group_policy(self, ctx, params):
        return self._detach(ctx, params, "group")

    def list_attached_group_policies(self, ctx, params):
        return self._list_attached(ctx, params, "group")

    def attach_role_policy(self, ctx, params):
        return self._attach(ctx, params, "role")

    def detach_role_policy(self, ctx, params):
        return self._detach(ctx, params, "role")

    def list_attached_role_policies(self, ctx, params):
        return self._list_attached(ctx, params, "role")

    # Permissions boundaries (user, role)

    def _put_boundary(self, ctx, params, kind: str):
        iam = self._write(ctx)
        store = self._store(iam, kind)
        entity = self._entity(
            ctx, store, params[_NAME[kind]], f"iam:Put{_ACTION[kind]}PermissionsBoundary", params
        )
        arn = params["PermissionsBoundary"]
        self._require_boundary(iam, arn)
        store.save({**entity, "PermissionsBoundary": arn}, ctx.now)
        self._changed(ctx)
        return {}

    def _delete_boundary(self, ctx, params, kind: str):
        iam = self._write(ctx)
        store = self._store(iam, kind)
        entity = self._entity(
            ctx, store, params[_NAME[kind]], f"iam:Delete{_ACTION[kind]}PermissionsBoundary"
        )
        updated = {k: v for k, v in entity.items() if k != "PermissionsBoundary"}
        store.save(updated, ctx.now)
        self._changed(ctx)
        return {}

    def put_user_permissions_boundary(self, ctx, params):
        return self._put_boundary(ctx, params, "user")

    def delete_user_permissions_boundary(self, ctx, params):
        return self._delete_boundary(ctx, params, "user")

    def put_role_permissions_boundary(self, ctx, params):
        return self._put_boundary(ctx, params, "role")

    def delete_role_permissions_boundary(self, ctx, params):
        return self._delete_boundary(ctx, params, "role")
