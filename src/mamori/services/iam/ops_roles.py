"""Roles (trust policies, session duration, descriptions, tags) and instance profiles."""

from __future__ import annotations

from mamori.errors import AwsError
from mamori.iam.documents import as_text, check_trust_size, malformed, validate
from mamori.iam.principal_binding import UnknownPrincipal, bind_principals
from mamori.iam.roles import public_instance_profile, public_role, with_trust_policy
from mamori.services.iam.base import Iam, IamBase

MAX_ROLES_PER_INSTANCE_PROFILE = 1


def _trust_policy(iam: Iam, params) -> tuple[str, dict[str, str]]:
    """The trust policy's text and its binding of trusted users and roles to unique IDs."""
    text = as_text(
        params["PolicyDocument" if "PolicyDocument" in params else "AssumeRolePolicyDocument"]
    )
    check_trust_size(text)
    validate(text, "trust")
    try:
        return text, bind_principals(text, iam.principals)
    except UnknownPrincipal as unknown:
        raise malformed(f'Invalid principal in policy: "AWS":"{unknown.principal}"') from None


class RoleOps(IamBase):
    def create_role(self, ctx, params):
        name, path = params["RoleName"], params.get("Path", "/")
        iam = self._write(ctx)
        self._authorize(ctx, "iam:CreateRole", iam.roles.arn(path, name), params)
        trust, binding = _trust_policy(iam, params)
        tags = iam.roles.tag_rules.check(params.get("Tags", []))
        boundary = params.get("PermissionsBoundary")
        if boundary:
            self._require_boundary(iam, boundary)
        role = iam.roles.create(
            name,
            path,
            trust,
            ctx.now,
            trust_binding=binding,
            description=params.get("Description"),
            max_session_duration=params.get("MaxSessionDuration"),
            boundary=boundary,
            tags=tags,
        )
        ctx.add_resource(role["Arn"], "AWS::IAM::Role")
        result = public_role(role, iam.principals)
        result.pop("RoleLastUsed", None)
        return {"Role": result}

    def get_role(self, ctx, params):
        with self._read(ctx) as iam:
            role = self._entity(ctx, iam.roles, params["RoleName"], "iam:GetRole")
            return {"Role": public_role(role, iam.principals)}

    def list_roles(self, ctx, params):
        ctx.authorize("iam:ListRoles", self._arn(ctx, "role/"))
        with self._read(ctx) as iam:
            roles = iam.roles.all(params.get("PathPrefix", "/"))
            page = iam.roles.page(params, "Roles", roles)
            page["Roles"] = [public_role(r, iam.principals, full=False) for r in page["Roles"]]
        return page

    def update_role(self, ctx, params):
        iam = self._write(ctx)
        role = self._entity(ctx, iam.roles, params["RoleName"], "iam:UpdateRole")
        updated = dict(role)
        if "Description" in params:
            updated["Description"] = params["Description"]
        if params.get("MaxSessionDuration"):
            updated["MaxSessionDuration"] = params["MaxSessionDuration"]
        iam.roles.save(updated, ctx.now)
        return {}

    def update_role_description(self, ctx, params):
        iam = self._write(ctx)
        role = self._entity(ctx, iam.roles, params["RoleName"], "iam:UpdateRoleDescription")
        updated = {**role, "Description": params["Description"]}
        iam.roles.save(updated, ctx.now)
        return {"Role": public_role(updated, iam.principals)}

    def update_assume_role_policy(self, ctx, params):
        iam = self._write(ctx)
        role = self._entity(ctx, iam.roles, params["RoleName"], "iam:UpdateAssumeRolePolicy")
        iam.roles.save(with_trust_policy(role, *_trust_policy(iam, params)), ctx.now)
        return {}

    def delete_role(self, ctx, params):
        iam = self._write(ctx)
        role = self._entity(ctx, iam.roles, params["RoleName"], "iam:DeleteRole")
        key = role["RoleName"].lower()
        if any(key in (r.lower() for r in p.get("Roles", [])) for p in iam.instance_profiles.all()):
            raise AwsError(
                "DeleteConflictException",
                "Cannot delete entity, must remove roles from instance profile first.",
            )
        if role.get("InlinePolicies"):
            raise AwsError(
                "DeleteConflictException", "Cannot delete entity, must delete policies first."
            )
        if role.get("AttachedPolicies"):
            raise AwsError(
                "DeleteConflictException", "Cannot delete entity, must detach all policies first."
            )
        iam.roles.delete(role["RoleName"], ctx.now)
        ctx.add_resource(role["Arn"], "AWS::IAM::Role")
        self._changed(ctx)
        return {}

    def tag_role(self, ctx, params):
        return self._tag(ctx, self._write(ctx).roles, params["RoleName"], "iam:TagRole", params)

    def untag_role(self, ctx, params):
        return self._untag(ctx, self._write(ctx).roles, params["RoleName"], "iam:UntagRole", params)

    def list_role_tags(self, ctx, params):
        return self._list_tags(ctx, "roles", params["RoleName"], "iam:ListRoleTags", params)

    # Instance profiles

    def create_instance_profile(self, ctx, params):
        name, path = params["InstanceProfileName"], params.get("Path", "/")
        iam = self._write(ctx)
        self._authorize(
            ctx, "iam:CreateInstanceProfile", iam.instance_profiles.arn(path, name), params
        )
        profile = iam.instance_profiles.insert(
            name,
            path,
            ctx.now,
            Roles=[],
            Tags=iam.instance_profiles.tag_rules.check(params.get("Tags", [])),
        )
        return {"InstanceProfile": public_instance_profile(profile, iam.roles)}

    def get_instance_profile(self, ctx, params):
        with self._read(ctx) as iam:
            profile = self._entity(
                ctx,
                iam.instance_profiles,
                params["InstanceProfileName"],
                "iam:GetInstanceProfile",
            )
            return {"InstanceProfile": public_instance_profile(profile, iam.roles)}

    def list_instance_profiles(self, ctx, params):
        ctx.authorize("iam:ListInstanceProfiles", self._arn(ctx, "instance-profile/"))
        with self._read(ctx) as iam:
            store = iam.instance_profiles
            page = store.page(params, "InstanceProfiles", store.all(params.get("PathPrefix", "/")))
            page["InstanceProfiles"] = [
                public_instance_profile(p, iam.roles) for p in page["InstanceProfiles"]
            ]
        return page

    def list_instance_profiles_for_role(self, ctx, params):
        with self._read(ctx) as iam:
            role = self._entity(
                ctx, iam.roles, params["RoleName"], "iam:ListInstanceProfilesForRole"
            )
            key = role["RoleName"].lower()
            store = iam.instance_profiles
            found = [p for p in store.all() if key in (r.lower() for r in p.get("Roles", []))]
            page = store.page(params, "InstanceProfiles", found)
            page["InstanceProfiles"] = [
                public_instance_profile(p, iam.roles) for p in page["InstanceProfiles"]
            ]
        return page

    def delete_instance_profile(self, ctx, params):
        iam = self._write(ctx)
        profile = self._entity(
            ctx, iam.instance_profiles, params["InstanceProfileName"], "iam:DeleteInstanceProfile"
        )
        if profile.get("Roles"):
            raise AwsError(
                "DeleteConflictException",
                "Cannot delete entity, must remove roles from instance profile first.",
            )
        iam.instance_profiles.delete(profile["InstanceProfileName"], ctx.now)
        return {}

    def add_role_to_instance_profile(self, ctx, params):
        iam = self._write(ctx)
        profile = self._entity(
            ctx,
            iam.instance_profiles,
            params["InstanceProfileName"],
            "iam:AddRoleToInstanceProfile",
        )
        role = iam.roles.get(params["RoleName"])
        roles = list(profile.get("Roles", []))
        if role["RoleName"].lower() in (r.lower() for r in roles):
            raise AwsError(
                "EntityAlreadyExistsException",
                f"Role {role['RoleName']} is already associated with instance profile "
                f"{profile['InstanceProfileName']}.",
            )
        if len(roles) >= MAX_ROLES_PER_INSTANCE_PROFILE:
            raise AwsError(
                "LimitExceededException",
                "Cannot exceed quota for InstanceSessionsPerInstanceProfile: "
                f"{MAX_ROLES_PER_INSTANCE_PROFILE}",
            )
        iam.instance_profiles.save({**profile, "Roles": [*roles, role["RoleName"]]}, ctx.now)
        return {}

    def remove_role_from_instance_profile(self, ctx, params):
        iam = self._write(ctx)
        profile = self._entity(
            ctx,
            iam.instance_profiles,
            params["InstanceProfileName"],
            "iam:RemoveRoleFromInstanceProfile",
        )
        key = params["RoleName"].lower()
        roles = list(profile.get("Roles", []))
        if key not in (r.lower() for r in roles):
            raise AwsError(
                "NoSuchEntityException",
                f"The role with name {params['RoleName']} cannot be found.",
            )
        iam.instance_profiles.save(
            {**profile, "Roles": [r for r in roles if r.lower() != key]}, ctx.now
        )
        return {}

    def tag_instance_profile(self, ctx, params):
        return self._tag(
            ctx,
            self._write(ctx).instance_profiles,
            params["InstanceProfileName"],
            "iam:TagInstanceProfile",
            params,
        )

    def untag_instance_profile(self, ctx, params):
        return self._untag(
            ctx,
            self._write(ctx).instance_profiles,
            params["InstanceProfileName"],
            "iam:UntagInstanceProfile",
            params,
        )

    def list_instance_profile_tags(self, ctx, params):
        return self._list_tags(
            ctx,
            "instance_profiles",
            params["InstanceProfileName"],
            "iam:ListInstanceProfileTags",
            params,
        )
