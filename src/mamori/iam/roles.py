"""IAM roles (trust policy, maximum session duration, boundary, tags) and instance profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mamori.errors import AwsError
from mamori.iam.entities import (
    IDENTITY_TAGS,
    AccountQuota,
    EntityStore,
    boundary_shape,
    encode_document,
    tag_list,
)
from mamori.iam.principal_binding import (
    PrincipalDirectory,
    displayed_document,
    evaluation_document,
    with_bound_document,
)

ROLE = "AWS::IAM::Role"
INSTANCE_PROFILE = "AWS::IAM::InstanceProfile"
DEFAULT_MAX_SESSION_DURATION = 3600
# The trust policy's binding: {user or role ARN as written: unique ID} (principal_binding).
TRUST_BINDING = "AssumeRolePolicyPrincipalIds"


class Roles(EntityStore):
    type = ROLE
    kind = "role"
    label = "Role"
    name_key = "RoleName"
    id_key = "RoleId"
    id_prefix = "AROA"
    tag_rules = IDENTITY_TAGS
    quota = AccountQuota("RolesPerAccount", 1000)

    def create(
        self,
        name: str,
        path: str,
        trust_policy: str,
        now: datetime,
        *,
        trust_binding: dict[str, str] | None = None,
        description: str | None = None,
        max_session_duration: int | None = None,
        boundary: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "MaxSessionDuration": max_session_duration or DEFAULT_MAX_SESSION_DURATION,
            "Tags": tags or {},
        }
        fields = with_trust_policy(fields, trust_policy, trust_binding or {})
        if description is not None:
            fields["Description"] = description
        if boundary:
            fields["PermissionsBoundary"] = boundary
        return self.insert(name, path, now, **fields)


class InstanceProfiles(EntityStore):
    type = INSTANCE_PROFILE
    kind = "instance-profile"
    label = "Instance Profile"
    name_key = "InstanceProfileName"
    id_key = "InstanceProfileId"
    id_prefix = "AIPA"
    quota = AccountQuota("InstanceProfilesPerAccount", 1000)

    def not_found(self, name: str):
        return AwsError("NoSuchEntityException", f"Instance Profile {name} cannot be found.")

    def already_exists(self, name: str):
        return AwsError("EntityAlreadyExistsException", f"Instance Profile {name} already exists.")


def with_trust_policy(role: dict[str, Any], text: str, binding: dict[str, str]) -> dict[str, Any]:
    """The role with this trust policy and its binding (kept only when it binds anything)."""
    return with_bound_document(role, "AssumeRolePolicyDocument", TRUST_BINDING, text, binding)


def public_role(
    role: dict[str, Any], directory: PrincipalDirectory, *, full: bool = True
) -> dict[str, Any]:
    """The Role shape: ``full`` for GetRole/CreateRole (tags, boundary, last used), else the
    subset ListRoles returns. ``directory`` shows a trusted user or role that was deleted by its
    unique ID, as IAM does."""
    result = {k: role[k] for k in ("Path", "RoleName", "RoleId", "Arn", "CreateDate")}
    trust = displayed_document(role["AssumeRolePolicyDocument"], role.get(TRUST_BINDING), directory)
    result["AssumeRolePolicyDocument"] = encode_document(trust)
    if role.get("Description") is not None:
        result["Description"] = role["Description"]
    result["MaxSessionDuration"] = role.get("MaxSessionDuration", DEFAULT_MAX_SESSION_DURATION)
    if full:
        boundary = boundary_shape(role.get("PermissionsBoundary"))
        if boundary:
            result["PermissionsBoundary"] = boundary
        if role.get("Tags"):
            result["Tags"] = tag_list(role["Tags"])
        result["RoleLastUsed"] = dict(role.get("RoleLastUsed") or {})
    return result


def public_instance_profile(profile: dict[str, Any], roles: Roles) -> dict[str, Any]:
    result = {k: profile[k] for k in ("Path", "InstanceProfileName", "InstanceProfileId", "Arn")}
    result["CreateDate"] = profile["CreateDate"]
    members = []
    directory = PrincipalDirectory(roles.resources, roles.conn)
    for name in profile.get("Roles", []):
        role = roles.find(name)
        if role is not None:
            members.append(public_role(role, directory, full=False))
    result["Roles"] = members
    if profile.get("Tags"):
        result["Tags"] = tag_list(profile["Tags"])
    return result


def get_role(runtime, conn, account_id: str, name: str) -> dict[str, Any] | None:
    """A role as STS needs it (None when there is no such role).

    Keys: RoleName, RoleId, Arn, Path, AssumeRolePolicyDocument (the JSON text to evaluate:
    trusted users and roles by unique ID), MaxSessionDuration, PermissionsBoundary (ARN or
    None), Tags (dict).
    """
    role = Roles(runtime.resources, conn, account_id).find(name)
    if role is None:
        return None
    return {
        "RoleName": role["RoleName"],
        "RoleId": role["RoleId"],
        "Arn": role["Arn"],
        "Path": role["Path"],
        "AssumeRolePolicyDocument": evaluation_document(
            role["AssumeRolePolicyDocument"], role.get(TRUST_BINDING)
        ),
        "MaxSessionDuration": role.get("MaxSessionDuration", DEFAULT_MAX_SESSION_DURATION),
        "PermissionsBoundary": role.get("PermissionsBoundary"),
        "Tags": dict(role.get("Tags") or {}),
    }
