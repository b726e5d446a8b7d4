"""IAM users: the domain logic, free of HTTP. Stored as versioned resources.

A user record holds, besides IAM's User members, its inline policies (``InlinePolicies``: name ->
document text), its attached managed policies (``AttachedPolicies``: ARNs) and the groups it
belongs to (``Groups``: group names).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mamori.errors import AwsError
from mamori.iam.entities import (
    GLOBAL,
    IDENTITY_TAGS,
    AccountQuota,
    EntityStore,
    boundary_shape,
    tag_list,
    unique_id,
)

USER = "AWS::IAM::User"

__all__ = ["GLOBAL", "USER", "Users", "no_such_user", "public_user", "unique_id"]


def no_such_user(name: str) -> AwsError:
    return AwsError("NoSuchEntityException", f"The user with name {name} cannot be found.")


class Users(EntityStore):
    """Users of one account. Names are unique case-insensitively, as in IAM."""

    type = USER
    kind = "user"
    label = "User"
    name_key = "UserName"
    id_key = "UserId"
    id_prefix = "AIDA"
    tag_rules = IDENTITY_TAGS
    quota = AccountQuota("UsersPerAccount", 5000)

    def create(
        self, name: str, path: str, tags: dict[str, str], boundary: str | None, now: datetime
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {"Tags": tags}
        if boundary:
            fields["PermissionsBoundary"] = boundary
        return self.insert(name, path, now, **fields)


def public_user(user: dict[str, Any], with_tags: bool = True) -> dict[str, Any]:
    """The User shape as IAM returns it."""
    result = {k: user[k] for k in ("Path", "UserName", "UserId", "Arn", "CreateDate")}
    if user.get("PasswordLastUsed"):
        result["PasswordLastUsed"] = user["PasswordLastUsed"]
    boundary = boundary_shape(user.get("PermissionsBoundary"))
    if boundary:
        result["PermissionsBoundary"] = boundary
    if with_tags and user.get("Tags"):
        result["Tags"] = tag_list(user["Tags"])
    return result
