"""Managed policies: customer managed ones stored per account (with up to five versions), and
the AWS managed ones of :mod:`mamori.iam.aws_managed`. Attachments live on the user, group and
role records; counts are derived from them, so they can never drift."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any

from mamori.errors import AwsError
from mamori.iam.aws_managed import AWS_MANAGED, aws_managed
from mamori.iam.entities import AccountQuota, EntityStore, encode_document, iso, tag_list
from mamori.iam.groups import Groups
from mamori.iam.roles import Roles
from mamori.iam.users import Users

POLICY = "AWS::IAM::Policy"
MAX_VERSIONS = 5
_ARN_RE = re.compile(r"^arn:aws:iam::(\d{12}|aws):policy(/|/[\x21-\x7e]*/)([\w+=,.@-]+)$", re.ASCII)


def invalid_arn(arn: str) -> AwsError:
    return AwsError("InvalidInputException", f"ARN {arn} is not valid.")


def not_attachable(arn: str) -> AwsError:
    return AwsError("NoSuchEntityException", f"Policy {arn} does not exist or is not attachable.")


def check_arn(arn: str) -> None:
    if _ARN_RE.match(arn) is None:
        raise invalid_arn(arn)


class ManagedPolicies(EntityStore):
    """Customer managed policies of one account (keyed by name: names are unique in an
    account, case-insensitively, whatever their path)."""

    type = POLICY
    kind = "policy"
    label = "Policy"
    name_key = "PolicyName"
    id_key = "PolicyId"
    id_prefix = "ANPA"
    quota = AccountQuota("PoliciesPerAccount", 1500)

    def already_exists(self, name: str) -> AwsError:
        return AwsError(
            "EntityAlreadyExistsException",
            f"A policy called {name} already exists. Duplicate names are not allowed.",
        )

    def create(
        self,
        name: str,
        path: str,
        document: str,
        now: datetime,
        *,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "DefaultVersionId": "v1",
            "UpdateDate": iso(now),
            "Tags": tags or {},
            "Versions": {"v1": {"Document": document, "CreateDate": iso(now)}},
            "NextVersion": 2,
        }
        if description:
            fields["Description"] = description
        return self.insert(name, path, now, **fields)

    def resolve(self, arn: str) -> dict[str, Any] | None:
        """The policy an ARN names: an AWS managed one, or one of this account's."""
        check_arn(arn)
        found = aws_managed(arn)
        if found is not None:
            return found
        policy = self.find(arn.rsplit("/", 1)[-1])
        if policy is None or policy["Arn"] != arn:
            return None
        return policy

    def require(self, arn: str, message: str = "not_found") -> dict[str, Any]:
        policy = self.resolve(arn)
        if policy is None:
            if message == "attachable":
                raise not_attachable(arn)
            raise AwsError("NoSuchEntityException", f"Policy {arn} was not found.")
        return policy

    def customer(self, arn: str) -> dict[str, Any]:
        """A customer managed policy to change; AWS managed ones cannot be changed."""
        policy = self.require(arn)
        if policy.get("AwsManaged"):
            raise AwsError("InvalidInputException", f"Cannot modify an AWS managed policy: {arn}.")
        return policy

    # Versions

    def add_version(
        self, policy: dict[str, Any], document: str, set_default: bool, now: datetime
    ) -> str:
        versions = dict(policy["Versions"])
        if len(versions) >= MAX_VERSIONS:
            raise AwsError(
                "LimitExceededException",
                f"A managed policy can have up to {MAX_VERSIONS} versions. Before you create a "
                "new version, you must delete an existing version.",
            )
        version_id = f"v{policy.get('NextVersion', len(versions) + 1)}"
        versions[version_id] = {"Document": document, "CreateDate": iso(now)}
        updated = {
            **policy,
            "Versions": versions,
            "NextVersion": int(version_id[1:]) + 1,
            "UpdateDate": iso(now),
        }
        if set_default:
            updated["DefaultVersionId"] = version_id
        self.save(updated, now)
        return version_id

    @staticmethod
    def version(policy: dict[str, Any], version_id: str) -> dict[str, Any]:
        found = policy["Versions"].get(version_id)
        if found is None:
            raise AwsError(
                "NoSuchEntityException",
                f"Policy {policy['Arn']} version {version_id} does not exist or is not attachable.",
            )
        return found

    def delete_version(self, policy: dict[str, Any], version_id: str, now: datetime) -> None:
        self.version(policy, version_id)
        if version_id == policy["DefaultVersionId"]:
            raise AwsError(
                "DeleteConflictException", "Cannot delete the default version of a policy."
            )
        versions = {k: v for k, v in policy["Versions"].items() if k != version_id}
        self.save({**policy, "Versions": versions, "UpdateDate": iso(now)}, now)

    def set_default(self, policy: dict[str, Any], version_id: str, now: datetime) -> None:
        self.version(policy, version_id)
        self.save({**policy, "DefaultVersionId": version_id, "UpdateDate": iso(now)}, now)


def default_document(policy: dict[str, Any]) -> str:
    return policy["Versions"][policy["DefaultVersionId"]]["Document"]


def sorted_versions(policy: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return sorted(policy["Versions"].items(), key=lambda kv: -int(kv[0][1:]))


def public_version(policy: dict[str, Any], version_id: str, with_document: bool) -> dict:
    version = policy["Versions"][version_id]
    result: dict[str, Any] = {
        "VersionId": version_id,
        "IsDefaultVersion": version_id == policy["DefaultVersionId"],
        "CreateDate": version["CreateDate"],
    }
    if with_document:
        result["Document"] = encode_document(version["Document"])
    return result


class Usage:
    """Where managed policies are attached and used as boundaries, across one account."""

    def __init__(self, users: list[dict], groups: list[dict], roles: list[dict]) -> None:
        self.users, self.groups, self.roles = users, groups, roles
        self.attachments: Counter[str] = Counter()
        self.boundaries: Counter[str] = Counter()
        for entity in (*users, *groups, *roles):
            self.attachments.update(entity.get("AttachedPolicies", []))
            if entity.get("PermissionsBoundary"):
                self.boundaries[entity["PermissionsBoundary"]] += 1

    @classmethod
    def of(cls, resources, conn, account_id: str) -> Usage:
        return cls(
            Users(resources, conn, account_id).all(),
            Groups(resources, conn, account_id).all(),
            Roles(resources, conn, account_id).all(),
        )

    def entities(self, arn: str) -> dict[str, list[dict]]:
        return {
            "User": [u for u in self.users if arn in u.get("AttachedPolicies", [])],
            "Group": [g for g in self.groups if arn in g.get("AttachedPolicies", [])],
            "Role": [r for r in self.roles if arn in r.get("AttachedPolicies", [])],
        }

    def boundary_users(self, arn: str) -> dict[str, list[dict]]:
        return {
            "User": [u for u in self.users if u.get("PermissionsBoundary") == arn],
            "Role": [r for r in self.roles if r.get("PermissionsBoundary") == arn],
        }


def public_policy(policy: dict[str, Any], usage: Usage, *, with_tags: bool = True) -> dict:
    arn = policy["Arn"]
    result = {
        k: policy[k]
        for k in ("PolicyName", "PolicyId", "Arn", "Path", "DefaultVersionId", "CreateDate")
    }
    result["AttachmentCount"] = usage.attachments.get(arn, 0)
    result["PermissionsBoundaryUsageCount"] = usage.boundaries.get(arn, 0)
    result["IsAttachable"] = True
    if policy.get("Description"):
        result["Description"] = policy["Description"]
    result["UpdateDate"] = policy.get("UpdateDate", policy["CreateDate"])
    if with_tags and policy.get("Tags"):
        result["Tags"] = tag_list(policy["Tags"])
    return result


def all_policies(store: ManagedPolicies, scope: str) -> list[dict[str, Any]]:
    """Policies of a ListPolicies scope (All, AWS, Local), AWS's first (as IAM lists them)."""
    result: list[dict[str, Any]] = []
    if scope in ("All", "AWS"):
        result.extend(sorted(AWS_MANAGED.values(), key=lambda p: p["PolicyName"].lower()))
    if scope in ("All", "Local"):
        result.extend(store.all())
    return result
