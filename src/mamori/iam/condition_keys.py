"""IAM's condition keys of one request, as "Actions, resources, and condition keys for AWS
Identity and Access Management" lists them.

Two sources, each read in one place:

* the request (its parameters): ``aws:RequestTag/${TagKey}`` and ``aws:TagKeys`` from ``Tags``
  (Create*/Tag*), ``aws:TagKeys`` from ``TagKeys`` (Untag*), ``iam:PolicyARN`` (Attach/Detach
  User/Group/Role Policy), ``iam:PermissionsBoundary`` requested by CreateUser/CreateRole and
  Put{User,Role}PermissionsBoundary (KMS reuses the tag keys, with its own tag member names);
* the resource acted on (the stored entity: a user, role, managed policy, OIDC or SAML
  provider, instance profile or virtual MFA device): ``aws:ResourceTag/${TagKey}`` from its
  tags, also as ``iam:ResourceTag/${TagKey}`` for users and roles, and the user's or role's current
  ``iam:PermissionsBoundary`` for the actions that change its permissions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Resource types whose tags are also iam:ResourceTag/* keys.
_IAM_RESOURCE_TAG_TYPES = frozenset({"user", "role"})

_POLICY_ARN_ACTIONS = frozenset(
    f"iam:{verb}{kind}Policy" for verb in ("Attach", "Detach") for kind in ("User", "Group", "Role")
)

# iam:PermissionsBoundary is the boundary the request sets ...
_REQUESTED_BOUNDARY_ACTIONS = frozenset(
    {
        "iam:CreateUser",
        "iam:CreateRole",
        "iam:PutUserPermissionsBoundary",
        "iam:PutRolePermissionsBoundary",
    }
)
# ... or the one the user or role has, for the actions that change its permissions.
_CURRENT_BOUNDARY_ACTIONS = frozenset(
    {
        *(
            f"iam:{verb}{kind}Policy"
            for verb in ("Attach", "Detach", "Put", "Delete")
            for kind in ("User", "Role")
        ),
        "iam:DeleteUserPermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary",
    }
)


def resource_type(arn: str) -> str:
    """The resource type of an IAM ARN (``user`` in ``arn:aws:iam::1:user/path/name``)."""
    resource = arn.split(":", 5)[-1]
    return resource.split("/", 1)[0]


def resource_tag_keys(entity: Mapping[str, Any]) -> dict[str, Any]:
    """``aws:ResourceTag/*`` (and ``iam:ResourceTag/*`` for users and roles) of an entity."""
    tags = entity.get("Tags") or {}
    if not tags:
        return {}
    keys: dict[str, Any] = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
    if resource_type(entity.get("Arn", "")) in _IAM_RESOURCE_TAG_TYPES:
        keys.update({f"iam:ResourceTag/{k}": v for k, v in tags.items()})
    return keys


def request_keys(
    action: str, params: Mapping[str, Any], *, tag_members: tuple[str, str] = ("Key", "Value")
) -> dict[str, Any]:
    """The keys the request's own parameters set.

    ``tag_members`` names the key and value members of a tag in ``Tags`` (IAM's ``Key`` and
    ``Value``; KMS's are ``TagKey`` and ``TagValue``)."""
    keys: dict[str, Any] = {}
    tags = params.get("Tags")
    tag_key, tag_value = tag_members
    if tags:
        keys.update({f"aws:RequestTag/{t[tag_key]}": t[tag_value] for t in tags})
        keys["aws:TagKeys"] = [t[tag_key] for t in tags]
    elif params.get("TagKeys"):
        keys["aws:TagKeys"] = list(params["TagKeys"])
    if action in _POLICY_ARN_ACTIONS and params.get("PolicyArn"):
        keys["iam:PolicyARN"] = params["PolicyArn"]
    if action in _REQUESTED_BOUNDARY_ACTIONS and params.get("PermissionsBoundary"):
        keys["iam:PermissionsBoundary"] = params["PermissionsBoundary"]
    return keys


def resource_keys(action: str, entity: Mapping[str, Any]) -> dict[str, Any]:
    """The keys the resource acted on sets."""
    keys = resource_tag_keys(entity)
    if action in _CURRENT_BOUNDARY_ACTIONS and entity.get("PermissionsBoundary"):
        keys["iam:PermissionsBoundary"] = entity["PermissionsBoundary"]
    return keys


def iam_condition_keys(
    action: str, params: Mapping[str, Any] | None, entity: Mapping[str, Any] | None
) -> dict[str, Any]:
    """All of IAM's keys for ``action`` on ``entity`` (None: not created yet) with ``params``."""
    keys = resource_keys(action, entity) if entity else {}
    if params:
        keys.update(request_keys(action, params))
    return keys
