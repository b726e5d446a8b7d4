"""Account-level IAM: the account alias (one per account, unique across accounts) and the
account summary."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from mamori.errors import AwsError
from mamori.iam.entities import GLOBAL, iso
from mamori.iam.groups import Groups
from mamori.iam.managed_policies import ManagedPolicies
from mamori.iam.roles import InstanceProfiles, Roles
from mamori.iam.users import Users
from mamori.store.schema import resources_table

ACCOUNT_ALIAS = "Mamori::IAM::AccountAlias"

QUOTAS = {
    "UsersQuota": Users.quota.limit,
    "GroupsQuota": Groups.quota.limit,
    "RolesQuota": Roles.quota.limit,
    "PoliciesQuota": ManagedPolicies.quota.limit,
    "PolicyVersionsInUseQuota": 10000,
    "ServerCertificatesQuota": 20,
    "InstanceProfilesQuota": InstanceProfiles.quota.limit,
    "UserPolicySizeQuota": 2048,
    "GroupPolicySizeQuota": 5120,
    "RolePolicySizeQuota": 10240,
    "PolicySizeQuota": 6144,
    "AssumeRolePolicySizeQuota": 2048,
    "GroupsPerUserQuota": 10,
    "SigningCertificatesPerUserQuota": 2,
    "AccessKeysPerUserQuota": 2,
    "AttachedPoliciesPerUserQuota": 10,
    "AttachedPoliciesPerGroupQuota": 10,
    "AttachedPoliciesPerRoleQuota": 10,
    "VersionsPerPolicyQuota": 5,
    "GlobalEndpointTokenVersion": 1,
}


def _looks_like_account_id(alias: str) -> bool:
    """IAM quotas: an alias "cannot be a 12-digit number" (sign-in URLs take either)."""
    return len(alias) == 12 and alias.isascii() and alias.isdigit()


class AccountAliases:
    def __init__(self, resources, conn, account_id: str) -> None:
        self.resources = resources
        self.conn = conn
        self.account_id = account_id

    def list(self) -> list[str]:
        rows = self.resources.list(self.conn, self.account_id, GLOBAL, ACCOUNT_ALIAS)
        return [data["AccountAlias"] for _, data in rows]

    def _taken_elsewhere(self, alias: str) -> bool:
        c = resources_table.c
        row = self.conn.execute(
            sa.select(c.account).where(
                c.region == GLOBAL,
                c.type == ACCOUNT_ALIAS,
                c.id == alias,
                c.deleted == sa.false(),
                c.account != self.account_id,
            )
        ).first()
        return row is not None

    def create(self, alias: str, now: datetime) -> None:
        if _looks_like_account_id(alias):
            raise AwsError(
                "ValidationError",
                "The specified value for accountAlias is invalid. It cannot be a 12-digit number.",
                status=400,
            )
        current = self.list()
        if alias in current:
            return
        if self._taken_elsewhere(alias):
            raise AwsError(
                "EntityAlreadyExistsException", f"The account alias {alias} already exists."
            )
        for old in current:  # an account has one alias: a new one replaces it
            self.resources.delete(self.conn, self.account_id, GLOBAL, ACCOUNT_ALIAS, old, now)
        self.resources.put(
            self.conn,
            account=self.account_id,
            region=GLOBAL,
            type=ACCOUNT_ALIAS,
            id=alias,
            data={"AccountAlias": alias, "CreateDate": iso(now)},
            now=now,
        )

    def delete(self, alias: str, now: datetime) -> None:
        if alias not in self.list():
            raise AwsError("NoSuchEntityException", f"The account alias {alias} cannot be found.")
        self.resources.delete(self.conn, self.account_id, GLOBAL, ACCOUNT_ALIAS, alias, now)


def summary_map(counts: dict[str, Any]) -> dict[str, int]:
    result = dict(QUOTAS)
    result.update({k: int(v) for k, v in counts.items()})
    return result
