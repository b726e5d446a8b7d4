"""The identity-based policies and permissions boundary of a principal, for the authorizer.

* IAM user: its inline and attached managed policies, and those of every group it belongs to;
  its permissions boundary.
* Assumed role (``principal.session.role_arn``): the role's inline and attached policies and
  boundary. A session of a role that was deleted (or deleted and created again: the role id
  differs) has none.
* Federated user (``GetFederationToken``): the policies of the IAM user who federated
  (``principal.session.role_arn``); the policy engine intersects them with the session policy.
  When the root user federated, its identity-based permissions are everything (it needs no
  policy), so the session policy alone limits the federated user.

The same lookup also yields the current tags of the IAM user behind a principal (the user
itself, or the user who federated): ``aws:PrincipalTag/*`` (:meth:`IdentityPolicies.user_tags`).

Results are cached per source entity. Every IAM write that can change policies calls
:func:`policies_changed`, which empties the cache at once and again when the write commits (so a
reader that raced the uncommitted write cannot keep a stale entry); entries also expire after
``TTL`` seconds, which bounds how long another node sharing the database may use stale policies.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, NamedTuple

from sqlalchemy import event

from mamori.iam.entities import name_of_arn
from mamori.iam.groups import Groups
from mamori.iam.managed_policies import ManagedPolicies, default_document
from mamori.iam.policy import MalformedPolicy, Policy, parse_policy
from mamori.iam.principals import Principal
from mamori.iam.roles import Roles
from mamori.iam.users import Users

log = logging.getLogger(__name__)

TTL = 2.0
_MAX_ENTRIES = 50_000
Result = tuple[list[Policy], Policy | None]
_NONE: Result = ([], None)


class _Facts(NamedTuple):
    """What IAM says about a principal now: its policies and boundary, its user's tags."""

    result: Result
    user_tags: dict[str, str]


_NO_FACTS = _Facts(_NONE, {})
_ALLOW_NOTHING = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":"*","Resource":"*"}]}'
)
_ROOT_PERMISSIONS = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
)


def _account_of(arn: str) -> str:
    return arn.split(":")[4]


class IdentityPolicies:
    """``runtime.identity_policies``: ``source(principal) -> (policies, boundary)``."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self._cache: dict[tuple[str, str], tuple[float, int, _Facts]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._cache.clear()

    @property
    def generation(self) -> int:
        return self._generation

    def __call__(self, principal: Principal) -> Result:
        return self._facts(principal).result

    def user_tags(self, principal: Principal) -> dict[str, str]:
        """The current tags of the IAM user behind ``principal`` (an IAM user, its session, or
        a federated user's federating user); empty for other principals."""
        return self._facts(principal).user_tags

    def _facts(self, principal: Principal) -> _Facts:
        key = self._key(principal)
        if key is None:
            return _NO_FACTS
        now = time.monotonic()
        hit = self._cache.get(key)
        generation = self._generation
        if hit is not None and hit[0] > now and hit[1] == generation:
            return hit[2]
        with self.runtime.store.connect() as conn:
            facts = self._load(conn, principal)
        with self._lock:
            if generation == self._generation:
                if len(self._cache) >= _MAX_ENTRIES:
                    self._cache.clear()
                self._cache[key] = (now + TTL, generation, facts)
        return facts

    @staticmethod
    def _key(principal: Principal) -> tuple[str, str] | None:
        session = principal.session
        if principal.type == "IAMUser":
            return (principal.arn, principal.principal_id)
        if principal.type in ("AssumedRole", "FederatedUser") and session and session.role_arn:
            return (session.role_arn, principal.principal_id.split(":", 1)[0])
        return None

    # Loading

    def load(self, conn, principal: Principal) -> Result:
        return self._load(conn, principal).result

    def _load(self, conn, principal: Principal) -> _Facts:
        resources = self.runtime.resources
        session = principal.session
        if principal.type == "IAMUser":
            users = Users(resources, conn, principal.account_id)
            user = users.find(principal.user_name or name_of_arn(principal.arn))
            if user is None or user["UserId"] != principal.principal_id:
                return _NO_FACTS
            return self._user_facts(conn, principal.account_id, user)
        if session is None or not session.role_arn:
            return _NO_FACTS
        account = _account_of(session.role_arn)
        if principal.type == "FederatedUser":
            if session.role_arn == f"arn:aws:iam::{principal.account_id}:root":
                return _Facts(([parse_policy(_ROOT_PERMISSIONS, "identity")], None), {})
            user = Users(resources, conn, account).find(name_of_arn(session.role_arn))
            if user is None or user["Arn"] != session.role_arn:
                return _NO_FACTS
            return self._user_facts(conn, account, user)
        role = Roles(resources, conn, account).find(name_of_arn(session.role_arn))
        if role is None or role["Arn"] != session.role_arn:
            return _NO_FACTS
        role_id = principal.principal_id.split(":", 1)[0]
        if role_id.startswith("AROA") and role_id != role["RoleId"]:
            return _NO_FACTS
        policies = ManagedPolicies(resources, conn, account)
        # A role session's principal tags are the role's tags at issue, carried by the session.
        return _Facts(
            (
                self._entity_policies(policies, role),
                self._boundary(policies, role.get("PermissionsBoundary")),
            ),
            {},
        )

    def _user_facts(self, conn, account: str, user: dict[str, Any]) -> _Facts:
        return _Facts(self._user_policies(conn, account, user), dict(user.get("Tags") or {}))

    def _user_policies(self, conn, account: str, user: dict[str, Any]) -> Result:
        resources = self.runtime.resources
        policies = ManagedPolicies(resources, conn, account)
        result = self._entity_policies(policies, user)
        groups = Groups(resources, conn, account)
        for name in user.get("Groups", []):
            group = groups.find(name)
            if group is not None:
                result.extend(self._entity_policies(policies, group))
        return result, self._boundary(policies, user.get("PermissionsBoundary"))

    @staticmethod
    def _entity_policies(policies: ManagedPolicies, entity: dict[str, Any]) -> list[Policy]:
        result: list[Policy] = []
        for name, text in entity.get("InlinePolicies", {}).items():
            parsed = _parse(text, "identity", name)
            if parsed is not None:
                result.append(parsed)
        for arn in entity.get("AttachedPolicies", []):
            policy = policies.resolve(arn)
            if policy is not None:
                parsed = _parse(default_document(policy), "identity", arn)
                if parsed is not None:
                    result.append(parsed)
        return result

    @staticmethod
    def _boundary(policies: ManagedPolicies, arn: str | None) -> Policy | None:
        if not arn:
            return None
        policy = policies.resolve(arn)
        if policy is None:
            # A boundary whose policy is gone allows nothing (IAM refuses to delete a policy
            # in use as a boundary, so this only happens with hand-edited state).
            return parse_policy(_ALLOW_NOTHING, "boundary")
        return _parse(default_document(policy), "boundary", arn)


def _parse(text: str, kind: str, name: str) -> Policy | None:
    try:
        return parse_policy(text, kind)
    except MalformedPolicy as error:  # stored before a stricter validator; skip, loudly
        log.warning("ignoring invalid stored policy %s: %s", name, error.reason)
        return None


def policies_changed(ctx) -> None:
    """Call from every IAM write that can change who is allowed what."""
    source = ctx.runtime.identity_policies
    invalidate = getattr(source, "invalidate", None)
    if invalidate is None:
        return
    invalidate()
    if not getattr(ctx, "_iam_invalidate_on_commit", False):
        ctx._iam_invalidate_on_commit = True
        event.listen(ctx.transaction(), "commit", lambda _conn: invalidate())
