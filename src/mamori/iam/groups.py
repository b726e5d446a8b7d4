"""IAM groups. A group record holds its inline and attached policies; membership is kept on the
user records (``Groups``), as AWS Config's IAM user item lists ``groupList``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mamori.iam.entities import AccountQuota, EntityStore
from mamori.iam.users import Users

GROUP = "AWS::IAM::Group"


class Groups(EntityStore):
    type = GROUP
    kind = "group"
    label = "Group"
    name_key = "GroupName"
    id_key = "GroupId"
    id_prefix = "AGPA"
    quota = AccountQuota("GroupsPerAccount", 300)

    def create(self, name: str, path: str, now: datetime) -> dict[str, Any]:
        return self.insert(name, path, now)

    def members(self, users: Users, group: dict[str, Any]) -> list[dict[str, Any]]:
        key = group["GroupName"].lower()
        return [u for u in users.all() if key in (g.lower() for g in u.get("Groups", []))]


def public_group(group: dict[str, Any]) -> dict[str, Any]:
    return {k: group[k] for k in ("Path", "GroupName", "GroupId", "Arn", "CreateDate")}
