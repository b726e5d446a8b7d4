"""Groups and group membership."""

from __future__ import annotations

from mamori.errors import AwsError
from mamori.iam.groups import public_group
from mamori.iam.users import public_user
from mamori.services.iam.base import IamBase

MAX_GROUPS_PER_USER = 10


class GroupOps(IamBase):
    def create_group(self, ctx, params):
        name, path = params["GroupName"], params.get("Path", "/")
        iam = self._write(ctx)
        ctx.authorize("iam:CreateGroup", iam.groups.arn(path, name))
        group = iam.groups.create(name, path, ctx.now)
        ctx.add_resource(group["Arn"], "AWS::IAM::Group")
        return {"Group": public_group(group)}

    def get_group(self, ctx, params):
        with self._read(ctx) as iam:
            group = self._entity(ctx, iam.groups, params["GroupName"], "iam:GetGroup")
            members = iam.groups.members(iam.users, group)
        page = iam.users.page(params, "Users", members)
        page["Users"] = [public_user(u, with_tags=False) for u in page["Users"]]
        return {"Group": public_group(group), **page}

    def list_groups(self, ctx, params):
        ctx.authorize("iam:ListGroups", self._arn(ctx, "group/"))
        with self._read(ctx) as iam:
            groups = iam.groups.all(params.get("PathPrefix", "/"))
        page = iam.groups.page(params, "Groups", groups)
        page["Groups"] = [public_group(g) for g in page["Groups"]]
        return page

    def list_groups_for_user(self, ctx, params):
        with self._read(ctx) as iam:
            user = self._entity(ctx, iam.users, params["UserName"], "iam:ListGroupsForUser")
            groups = [g for name in user.get("Groups", []) if (g := iam.groups.find(name))]
        groups.sort(key=lambda g: g["GroupName"].lower())
        page = iam.groups.page(params, "Groups", groups)
        page["Groups"] = [public_group(g) for g in page["Groups"]]
        return page

    def update_group(self, ctx, params):
        iam = self._write(ctx)
        group = self._entity(ctx, iam.groups, params["GroupName"], "iam:UpdateGroup")
        new_name = params.get("NewGroupName")
        members = iam.groups.members(iam.users, group)
        updated = iam.groups.rename(group, new_name, params.get("NewPath"), ctx.now)
        if updated["GroupName"] != group["GroupName"]:
            old = group["GroupName"].lower()
            for user in members:
                names = [updated["GroupName"] if g.lower() == old else g for g in user["Groups"]]
                iam.users.save({**user, "Groups": names}, ctx.now)
        self._changed(ctx)
        return {}

    def delete_group(self, ctx, params):
        iam = self._write(ctx)
        group = self._entity(ctx, iam.groups, params["GroupName"], "iam:DeleteGroup")
        if iam.groups.members(iam.users, group):
            raise AwsError(
                "DeleteConflictException",
                "Cannot delete entity, must remove users from group first.",
            )
        if group.get("InlinePolicies"):
            raise AwsError(
                "DeleteConflictException", "Cannot delete entity, must delete policies first."
            )
        if group.get("AttachedPolicies"):
            raise AwsError(
                "DeleteConflictException", "Cannot delete entity, must detach all policies first."
            )
        iam.groups.delete(group["GroupName"], ctx.now)
        ctx.add_resource(group["Arn"], "AWS::IAM::Group")
        self._changed(ctx)
        return {}

    def add_user_to_group(self, ctx, params):
        iam = self._write(ctx)
        group = self._entity(ctx, iam.groups, params["GroupName"], "iam:AddUserToGroup")
        user = iam.users.get(params["UserName"])
        current = list(user.get("Groups", []))
        if group["GroupName"].lower() in (g.lower() for g in current):
            return {}
        if len(current) >= MAX_GROUPS_PER_USER:
            raise AwsError(
                "LimitExceededException",
                f"Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}",
            )
        iam.users.save({**user, "Groups": [*current, group["GroupName"]]}, ctx.now)
        self._changed(ctx)
        return {}

    def remove_user_from_group(self, ctx, params):
        iam = self._write(ctx)
        group = self._entity(ctx, iam.groups, params["GroupName"], "iam:RemoveUserFromGroup")
        user = iam.users.get(params["UserName"])
        key = group["GroupName"].lower()
        current = list(user.get("Groups", []))
        if key not in (g.lower() for g in current):
            raise AwsError(
                "NoSuchEntityException",
                f"User {user['UserName']} is not in group {group['GroupName']}.",
            )
        iam.users.save({**user, "Groups": [g for g in current if g.lower() != key]}, ctx.now)
        self._changed(ctx)
        return {}
