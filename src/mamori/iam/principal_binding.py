"""IAM users and roles named in a resource-based policy are bound to their unique IDs.

AWS (IAM UG, "AWS JSON policy elements: Principal", IAM role / IAM user principals): an ARN in
a ``Principal`` element that points to a specific IAM role or user "transforms to the role's
unique principal ID when you save the policy"; if the role is deleted "the policy no longer
applies, even if you recreate the role because the new role has a new principal ID that does
not match the ID stored in the trust policy", and the policy then shows the unique ID in place
of the ARN. The same holds for users, and for resource-based policies in general (key and
bucket policies). A user or role that does not exist cannot be named at all: IAM refuses the
document ("Invalid principal in policy"), KMS and S3 with their own wording.

mamori keeps a document as the caller wrote it, plus its *binding*: ``{ARN as written: unique
ID}`` for every user or role ARN of an account mamori hosts. The binding decides twice:

* :func:`evaluation_document` — the document with each bound ARN replaced by its unique ID, as
  AWS stores it. The policy engine matches unique IDs against the caller's ``aws:userid``, so a
  user or role created again under the same name is not the one the policy names.
* :func:`displayed_document` — the document as Get* operations return it: the ARN while the
  bound user or role exists (its current ARN if it was renamed), the unique ID once it is gone.

Principals of accounts mamori does not host (real AWS accounts, say) cannot be looked up; they
stay ARNs and are matched as ARNs. Account roots, account IDs, session ARNs, services,
federated and canonical principals are never bound.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from mamori.iam.credentials import accounts

_ENTITY_ARN_RE = re.compile(r"^arn:[^:]+:iam::(\d{12}):(user|role)/(.+)$")


class UnknownPrincipal(Exception):
    """A policy names an IAM user or role that does not exist; ``principal`` is its ARN."""

    def __init__(self, principal: str) -> None:
        super().__init__(principal)
        self.principal = principal


class PrincipalDirectory:
    """Looks the users and roles of every account mamori hosts up, over one connection."""

    def __init__(self, resources, conn) -> None:
        self.resources = resources
        self.conn = conn
        self._hosted: dict[str, bool] = {}

    def hosts(self, account: str) -> bool:
        if account not in self._hosted:
            row = self.conn.execute(
                select(accounts.c.account_id).where(accounts.c.account_id == account)
            ).first()
            self._hosted[account] = row is not None
        return self._hosted[account]

    def _store(self, kind: str, account: str):
        # Imported here: the role store itself shows documents through this module.
        from mamori.iam.roles import Roles
        from mamori.iam.users import Users

        return (Users if kind == "user" else Roles)(self.resources, self.conn, account)

    def unique_id(self, account: str, kind: str, arn: str) -> str | None:
        """The unique ID of the live user or role whose ARN is ``arn`` (None if there is none)."""
        store = self._store(kind, account)
        entity = store.find(arn.rsplit("/", 1)[-1])
        if entity is None or entity["Arn"].lower() != arn.lower():
            return None
        return entity[store.id_key]

    def current_arn(self, account: str, kind: str, arn: str, unique_id: str) -> str | None:
        """The ARN the user or role with ``unique_id`` has now (None once it is deleted)."""
        store = self._store(kind, account)
        entity = store.find(arn.rsplit("/", 1)[-1])
        if entity is not None and entity[store.id_key] == unique_id:
            return entity["Arn"]
        for other in store.all():  # renamed (users can be): a scan, on a rare path only
            if other[store.id_key] == unique_id:
                return other["Arn"]
        return None


def _aws_principals(document: Mapping[str, Any]) -> Iterator[tuple[dict, str, list[str]]]:
    """(holder, key, values) of every ``"AWS"`` entry of a Principal or NotPrincipal."""
    statements = document.get("Statement")
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict):
            continue
        for field in ("Principal", "NotPrincipal"):
            element = statement.get(field)
            if isinstance(element, dict) and "AWS" in element:
                raw = element["AWS"]
                yield element, "AWS", raw if isinstance(raw, list) else [raw]


def _named_entities(text: str) -> list[tuple[str, str, str]]:
    """(ARN, account, "user"/"role") of every IAM user or role ARN the document names."""
    found = []
    for _, _, values in _aws_principals(json.loads(text)):
        for value in values:
            match = _ENTITY_ARN_RE.match(value) if isinstance(value, str) else None
            if match is not None:
                found.append((value, match.group(1), match.group(2)))
    return found


def bind_principals(text: str, directory: PrincipalDirectory) -> dict[str, str]:
    """The binding of a (valid) policy document; :class:`UnknownPrincipal` when it names a user
    or role that does not exist in an account mamori hosts."""
    binding: dict[str, str] = {}
    for arn, account, kind in _named_entities(text):
        if arn in binding or not directory.hosts(account):
            continue
        unique_id = directory.unique_id(account, kind, arn)
        if unique_id is None:
            raise UnknownPrincipal(arn)
        binding[arn] = unique_id
    return binding


def _replaced(text: str, replacements: Mapping[str, str]) -> str:
    """The document with these principal values replaced (Principal/NotPrincipal "AWS" only:
    the same ARN in a condition is a string to compare, not a principal)."""
    document = json.loads(text)
    for holder, key, values in _aws_principals(document):
        new = [replacements.get(v, v) if isinstance(v, str) else v for v in values]
        holder[key] = new if isinstance(holder[key], list) else new[0]
    return json.dumps(document, separators=(",", ":"))


@lru_cache(maxsize=4096)
def _evaluation_text(text: str, binding: tuple[tuple[str, str], ...]) -> str:
    return _replaced(text, dict(binding))


def evaluation_document(text: str, binding: Mapping[str, str] | None) -> str:
    """The document the policy engine evaluates: bound ARNs replaced by their unique IDs."""
    if not binding:
        return text
    return _evaluation_text(text, tuple(sorted(binding.items())))


def displayed_document(
    text: str, binding: Mapping[str, str] | None, directory: PrincipalDirectory
) -> str:
    """The document as AWS shows it: the caller's text while every bound user and role still
    exists under the same ARN; else each such principal shown by its current ARN, or by its
    unique ID once it is deleted."""
    if not binding:
        return text
    replacements: dict[str, str] = {}
    for arn, unique_id in binding.items():
        match = _ENTITY_ARN_RE.match(arn)
        if match is None:
            continue
        current = directory.current_arn(match.group(1), match.group(2), arn, unique_id)
        if current is None:
            replacements[arn] = unique_id
        elif current.lower() != arn.lower():
            replacements[arn] = current
    return _replaced(text, replacements) if replacements else text


def with_bound_document(
    entity: Mapping[str, Any], field: str, binding_field: str, text: str, binding: Mapping[str, str]
) -> dict[str, Any]:
    """``entity`` with ``text`` as its policy document ``field`` and the document's binding under
    ``binding_field`` (kept only when it binds anything)."""
    updated = {k: v for k, v in entity.items() if k != binding_field}
    updated[field] = text
    if binding:
        updated[binding_field] = dict(binding)
    return updated
