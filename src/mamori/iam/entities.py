"""What every IAM entity store shares: ids, tags, pagination, and a name-keyed versioned store.

IAM entities (users, groups, roles, managed policies, instance profiles, ...) are stored as
versioned resources (:mod:`mamori.store.resources`) in the pseudo-region ``global``, keyed by
their lower-cased name: IAM names are unique case-insensitively. A record holds the entity as
IAM describes it (AWS Config's configuration item is a view of it), plus its inline policies,
attached managed policies and, for users, group memberships.
"""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from mamori.errors import AwsError

# IAM is a global service; its resources live in this pseudo-region (as AWS Config records them).
GLOBAL = "global"
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
MAX_TAGS = 50
DEFAULT_MAX_ITEMS = 100


def unique_id(prefix: str) -> str:
    """IAM's unique ids: AIDA… users, AROA… roles, AGPA… groups, ANPA… policies."""
    return prefix + "".join(secrets.choice(ID_ALPHABET) for _ in range(17))


RESERVED_TAG_PREFIX = "aws:"


def _too_many_tags() -> AwsError:
    return AwsError("LimitExceededException", "The number of tags has reached the maximum limit.")


@dataclass(frozen=True)
class TagRules:
    """How one kind of IAM resource compares tag keys. Users and roles compare them
    case-insensitively (tagging ``department=hr`` replaces ``Department=finance``); policies,
    instance profiles, identity providers, server certificates and virtual MFA devices keep
    ``Costcenter`` and ``costcenter`` as two tags."""

    case_insensitive_keys: bool

    def _same(self, key: str) -> str:
        return key.lower() if self.case_insensitive_keys else key

    def check(self, tags: list[dict[str, str]]) -> dict[str, str]:
        """The tags of a request as a dict, once they break none of IAM's tagging rules."""
        result: dict[str, str] = {}
        seen: set[str] = set()
        for tag in tags:
            _refuse_reserved(tag)
            if self._same(tag["Key"]) in seen:
                raise AwsError(
                    "InvalidInputException",
                    "Duplicate tag keys found. Please provide unique tag keys.",
                )
            seen.add(self._same(tag["Key"]))
            result[tag["Key"]] = tag["Value"]
        if len(result) > MAX_TAGS:
            raise _too_many_tags()
        return result

    def merge(self, current: dict[str, str], added: list[dict[str, str]]) -> dict[str, str]:
        """Tags after TagX: new values replace old ones under the same key."""
        new = self.check(added)
        replaced = {self._same(k) for k in new}
        merged = {k: v for k, v in current.items() if self._same(k) not in replaced}
        merged.update(new)
        if len(merged) > MAX_TAGS:
            raise _too_many_tags()
        return merged

    def remove(self, current: dict[str, str], keys: Iterable[str]) -> dict[str, str]:
        gone = {self._same(k) for k in keys}
        return {k: v for k, v in current.items() if self._same(k) not in gone}


def _refuse_reserved(tag: dict[str, str]) -> None:
    """IAM: "You cannot create a tag key or value that begins with the text aws:" (the prefix
    is reserved in any case, as for every AWS tag)."""
    for part in ("Key", "Value"):
        if tag[part].lower().startswith(RESERVED_TAG_PREFIX):
            raise AwsError(
                "InvalidInputException",
                f"Tag {part.lower()}s beginning with '{RESERVED_TAG_PREFIX}' are reserved for "
                "AWS internal use.",
            )


IDENTITY_TAGS = TagRules(case_insensitive_keys=True)  # users and roles
RESOURCE_TAGS = TagRules(case_insensitive_keys=False)  # every other taggable IAM resource


@dataclass(frozen=True)
class AccountQuota:
    """An IAM quota on how many entities of one kind an account holds."""

    name: str  # as IAM's LimitExceeded message names it: "RolesPerAccount"
    limit: int

    def check(self, count: int) -> None:
        """LimitExceeded if an account holding ``count`` entities may not create another."""
        if count >= self.limit:
            raise AwsError(
                "LimitExceededException", f"Cannot exceed quota for {self.name}: {self.limit}"
            )


def tag_list(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in (tags or {}).items()]


def encode_document(text: str) -> str:
    """A policy document as IAM returns it: URL-encoded JSON text (boto3 decodes it)."""
    return urllib.parse.quote(text, safe="-_.!~*'()")


def paginate(
    items: list[Any],
    params: dict[str, Any],
    result_key: str,
    key: Callable[[Any], str] | None = None,
) -> dict[str, Any]:
    """One page of ``items`` as IAM lists answer: ``{result_key: [...], IsTruncated, Marker}``.

    With ``key`` (items sorted by it) the marker is the key of the last item returned, so a
    page boundary survives deletions; without, it is the offset of the next item.
    """
    max_items = int(params.get("MaxItems") or DEFAULT_MAX_ITEMS)
    marker = params.get("Marker")
    start = 0
    if marker:
        if key is not None:
            start = next((i for i, item in enumerate(items) if key(item) > marker), len(items))
        else:
            if not marker.isdigit():
                raise AwsError("InvalidInputException", "Invalid Marker.")
            start = int(marker)
    page = items[start : start + max_items]
    result: dict[str, Any] = {result_key: page, "IsTruncated": False}
    if start + max_items < len(items):
        result["IsTruncated"] = True
        result["Marker"] = key(page[-1]) if key is not None else str(start + max_items)
    return result


def iso(now: datetime) -> str:
    return now.isoformat()


def name_of_arn(arn: str) -> str:
    """The entity name of an IAM ARN (the last path segment)."""
    return arn.rsplit("/", 1)[-1]


class EntityStore:
    """Entities of one type in one account, keyed by lower-cased name."""

    type: ClassVar[str] = ""
    kind: ClassVar[str] = ""  # ARN resource type and error wording: user, group, role, ...
    label: ClassVar[str] = ""  # "User", "Group", "Role": EntityAlreadyExists wording
    name_key: ClassVar[str] = ""
    id_key: ClassVar[str] = ""
    id_prefix: ClassVar[str] = ""
    tag_rules: ClassVar[TagRules] = RESOURCE_TAGS
    quota: ClassVar[AccountQuota | None] = None

    def __init__(self, resources, conn, account_id: str) -> None:
        self.resources = resources
        self.conn = conn
        self.account_id = account_id

    def arn(self, path: str, name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:{self.kind}{path}{name}"

    def not_found(self, name: str) -> AwsError:
        return AwsError(
            "NoSuchEntityException", f"The {self.kind} with name {name} cannot be found."
        )

    def already_exists(self, name: str) -> AwsError:
        return AwsError(
            "EntityAlreadyExistsException", f"{self.label} with name {name} already exists."
        )

    def find(self, name: str) -> dict[str, Any] | None:
        return self.resources.get(self.conn, self.account_id, GLOBAL, self.type, name.lower())

    def get(self, name: str) -> dict[str, Any]:
        entity = self.find(name)
        if entity is None:
            raise self.not_found(name)
        return entity

    def save(self, entity: dict[str, Any], now: datetime) -> None:
        self.resources.put(
            self.conn,
            account=self.account_id,
            region=GLOBAL,
            type=self.type,
            id=entity[self.name_key].lower(),
            data=entity,
            now=now,
        )

    def insert(self, name: str, path: str, now: datetime, **fields: Any) -> dict[str, Any]:
        """Create a new entity with IAM's common members; EntityAlreadyExists if taken."""
        if self.find(name) is not None:
            raise self.already_exists(name)
        check_quota(self, self.type)
        entity = {
            "Path": path,
            self.name_key: name,
            self.id_key: unique_id(self.id_prefix),
            "Arn": self.arn(path, name),
            "CreateDate": iso(now),
            **fields,
        }
        self.save(entity, now)
        return entity

    def rename(
        self, entity: dict[str, Any], new_name: str | None, new_path: str | None, now: datetime
    ) -> dict[str, Any]:
        old_key = entity[self.name_key].lower()
        if new_name and new_name.lower() != old_key and self.find(new_name) is not None:
            raise self.already_exists(new_name)
        updated = dict(entity)
        if new_name:
            updated[self.name_key] = new_name
        if new_path:
            updated["Path"] = new_path
        updated["Arn"] = self.arn(updated["Path"], updated[self.name_key])
        if updated[self.name_key].lower() != old_key:
            self.resources.delete(self.conn, self.account_id, GLOBAL, self.type, old_key, now)
        self.save(updated, now)
        return updated

    def delete(self, name: str, now: datetime) -> None:
        self.resources.delete(self.conn, self.account_id, GLOBAL, self.type, name.lower(), now)

    def all(self, path_prefix: str = "/") -> list[dict[str, Any]]:
        rows = self.resources.list(self.conn, self.account_id, GLOBAL, self.type)
        return [data for _, data in rows if data.get("Path", "/").startswith(path_prefix)]

    def list(
        self, path_prefix: str, marker: str | None, max_items: int
    ) -> tuple[list[dict], str | None]:
        page = paginate(
            self.all(path_prefix),
            {"Marker": marker, "MaxItems": max_items},
            "Items",
            key=lambda e: e[self.name_key].lower(),
        )
        return page["Items"], page.get("Marker")

    def page(self, params: dict[str, Any], result_key: str, items: list[dict]) -> dict[str, Any]:
        return paginate(items, params, result_key, key=lambda e: e[self.name_key].lower())


def attached(entity: dict[str, Any]) -> list[dict[str, str]]:
    """AttachedPolicies as IAM lists them."""
    return [
        {"PolicyName": name_of_arn(arn), "PolicyArn": arn}
        for arn in entity.get("AttachedPolicies", [])
    ]


def boundary_shape(arn: str | None) -> dict[str, str] | None:
    if not arn:
        return None
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}


class ArnKeyedStore:
    """IAM entities addressed by ARN, stored under one field in lower case (OIDC providers by
    URL, SAML providers by name). Subclasses set the ARN kind, the resource type, the field and
    IAM's not-found message."""

    arn_kind: str  # "oidc-provider", "saml-provider"
    resource_type: str
    key_field: str
    not_found: str  # formatted with {arn}
    tag_rules: ClassVar[TagRules] = RESOURCE_TAGS
    quota: ClassVar[AccountQuota | None] = None

    def __init__(self, resources, conn, account_id: str) -> None:
        self.resources = resources
        self.conn = conn
        self.account_id = account_id

    def arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:{self.arn_kind}/{name}"

    def _key(self, arn: str) -> str | None:
        prefix = self.arn("")
        return arn[len(prefix) :].lower() if arn.startswith(prefix) else None

    def find(self, arn: str) -> dict[str, Any] | None:
        key = self._key(arn)
        if key is None:
            return None
        return self.resources.get(self.conn, self.account_id, GLOBAL, self.resource_type, key)

    def get(self, arn: str) -> dict[str, Any]:
        entity = self.find(arn)
        if entity is None:
            raise AwsError("NoSuchEntityException", self.not_found.format(arn=arn))
        return entity

    def save(self, entity: dict[str, Any], now: datetime) -> None:
        self.resources.put(
            self.conn,
            account=self.account_id,
            region=GLOBAL,
            type=self.resource_type,
            id=entity[self.key_field].lower(),
            data=entity,
            now=now,
        )

    def insert(self, entity: dict[str, Any], now: datetime) -> None:
        """Store a new entity, within the account's quota for its kind."""
        check_quota(self, self.resource_type)
        self.save(entity, now)

    def delete(self, entity: dict[str, Any], now: datetime) -> None:
        self.resources.delete(
            self.conn,
            self.account_id,
            GLOBAL,
            self.resource_type,
            entity[self.key_field].lower(),
            now,
        )

    def all(self) -> list[dict[str, Any]]:
        rows = self.resources.list(self.conn, self.account_id, GLOBAL, self.resource_type)
        return [data for _, data in rows]


def check_quota(store: EntityStore | ArnKeyedStore, resource_type: str) -> None:
    """LimitExceeded if ``store``'s account already holds as many entities of its kind as the
    kind's account quota allows (every create of a quota-bound kind passes here)."""
    if store.quota is not None:
        rows = store.resources.list(store.conn, store.account_id, GLOBAL, resource_type)
        store.quota.check(len(rows))
