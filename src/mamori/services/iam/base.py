"""What the IAM provider's operation families share: store access, authorization of named
entities, and the caller's own user."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from mamori.errors import AwsError
from mamori.iam.condition_keys import iam_condition_keys
from mamori.iam.entities import EntityStore, paginate, tag_list
from mamori.iam.groups import Groups
from mamori.iam.identity_policies import policies_changed
from mamori.iam.managed_policies import ManagedPolicies
from mamori.iam.mfa import MfaDevices
from mamori.iam.oidc import OidcProviders
from mamori.iam.passwords import Passwords
from mamori.iam.principal_binding import PrincipalDirectory
from mamori.iam.roles import InstanceProfiles, Roles
from mamori.iam.saml import SamlProviders
from mamori.iam.users import Users
from mamori.services.registry import Provider


class Iam:
    """The IAM stores of one account over one connection."""

    def __init__(self, runtime, conn, account_id: str) -> None:
        self.runtime = runtime
        self.conn = conn
        self.account_id = account_id

    def _make(self, cls):
        return cls(self.runtime.resources, self.conn, self.account_id)

    @cached_property
    def users(self) -> Users:
        return self._make(Users)

    @cached_property
    def groups(self) -> Groups:
        return self._make(Groups)

    @cached_property
    def roles(self) -> Roles:
        return self._make(Roles)

    @cached_property
    def instance_profiles(self) -> InstanceProfiles:
        return self._make(InstanceProfiles)

    @cached_property
    def policies(self) -> ManagedPolicies:
        return self._make(ManagedPolicies)

    @cached_property
    def passwords(self) -> Passwords:
        return self._make(Passwords)

    @cached_property
    def mfa(self) -> MfaDevices:
        return MfaDevices(self.runtime, self.conn, self.account_id)

    @cached_property
    def oidc(self) -> OidcProviders:
        return self._make(OidcProviders)

    @cached_property
    def saml(self) -> SamlProviders:
        return self._make(SamlProviders)

    @cached_property
    def principals(self) -> PrincipalDirectory:
        """Users and roles of every hosted account (principals named in trust policies)."""
        return PrincipalDirectory(self.runtime.resources, self.conn)


class IamBase(Provider):
    service_name = "iam"

    @contextmanager
    def _read(self, ctx) -> Iterator[Iam]:
        """Stores over a read connection (not the call's transaction: reads are no mutation)."""
        with self.runtime.store.connect() as conn:
            yield Iam(self.runtime, conn, ctx.account_id)

    def _write(self, ctx) -> Iam:
        """Stores over the call's write transaction."""
        return Iam(self.runtime, ctx.transaction(), ctx.account_id)

    @staticmethod
    def _changed(ctx) -> None:
        policies_changed(ctx)

    @staticmethod
    def _arn(ctx, resource: str) -> str:
        return f"arn:aws:iam::{ctx.account_id}:{resource}"

    @staticmethod
    def _authorize(
        ctx,
        action: str,
        resource: str,
        params: Mapping[str, Any] | None = None,
        entity: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        """``ctx.authorize`` with IAM's condition keys of the request (``params``) and of the
        entity acted on (its tags, its permissions boundary)."""
        ctx.authorize(action, resource, iam_condition_keys(action, params, entity), **options)

    @classmethod
    def _entity(
        cls, ctx, store: EntityStore, name: str, action: str, params=None
    ) -> dict[str, Any]:
        """The named entity, once the caller may perform ``action`` on it.

        Authorization comes first (against the ARN a missing entity would have), so a caller
        without permission learns nothing about which names exist.
        """
        entity = store.find(name)
        cls._authorize(
            ctx, action, entity["Arn"] if entity else store.arn("/", name), params, entity
        )
        if entity is None:
            raise store.not_found(name)
        return entity

    @staticmethod
    def _caller_user_name(ctx, name: str | None) -> str:
        """``UserName`` when given, else the calling IAM user's own name."""
        if name:
            return name
        if ctx.principal.type == "IAMUser" and ctx.principal.user_name:
            return ctx.principal.user_name
        raise AwsError(
            "ValidationError",
            "Must specify userName when calling with non-User credentials",
            status=400,
        )

    @staticmethod
    def _require_boundary(iam: Iam, arn: str) -> dict[str, Any]:
        policy = iam.policies.resolve(arn)
        if policy is None:
            raise AwsError(
                "NoSuchEntityException", f"Scope ARN: {arn} does not exist or is not attachable."
            )
        return policy

    # Tags, the same for every taggable entity.

    def _tag(self, ctx, store: EntityStore, name: str, action: str, params) -> dict:
        entity = self._entity(ctx, store, name, action, params)
        tags = store.tag_rules.merge(entity.get("Tags") or {}, params["Tags"])
        store.save({**entity, "Tags": tags}, ctx.now)
        self._changed(ctx)  # a user's tags are its aws:PrincipalTag/* keys
        return {}

    def _untag(self, ctx, store: EntityStore, name: str, action: str, params) -> dict:
        entity = self._entity(ctx, store, name, action, params)
        tags = store.tag_rules.remove(entity.get("Tags") or {}, params["TagKeys"])
        store.save({**entity, "Tags": tags}, ctx.now)
        self._changed(ctx)
        return {}

    def _list_tags(self, ctx, store_name: str, name: str, action: str, params) -> dict:
        with self._read(ctx) as iam:
            entity = self._entity(ctx, getattr(iam, store_name), name, action)
        return paginate(tag_list(entity.get("Tags")), params, "Tags")
