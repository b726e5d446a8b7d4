"""The request context every provider method receives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from botocore.model import OperationModel

from mamori.iam.authorizer import authorize, global_condition_keys
from mamori.iam.policy import Policy
from mamori.iam.policy.deferred import DeferredKeys
from mamori.iam.principals import Principal
from mamori.protocols.base import HttpRequest


class RequestContext:
    """One call: who, what, where, and the store transaction its changes go into.

    A provider that changes state writes through ``ctx.transaction()``; the gateway then commits
    the journal record in that same transaction, so a mutation and its audit record are durable
    together or not at all.
    """

    def __init__(
        self,
        runtime,
        request: HttpRequest,
        operation: OperationModel,
        *,
        region: str,
        principal: Principal,
        request_id: str,
        now: datetime,
        protocol: str = "json",
    ) -> None:
        self.runtime = runtime
        self.request = request
        self.operation = operation
        self.service_name: str = operation.service_model.service_name
        self.operation_name: str = operation.name
        self.region = region
        self.principal = principal
        self.request_id = request_id
        self.now = now
        self.protocol = protocol
        self.resources: list[dict[str, str]] = []
        self._conn = None
        self._tx = None

    @property
    def account_id(self) -> str:
        return self.principal.account_id

    @property
    def clock(self):
        return self.runtime.clock

    @property
    def store(self):
        return self.runtime.store

    def transaction(self):
        """The connection of this call's transaction, begun on first use."""
        if self._conn is None:
            self._conn, self._tx = self.runtime.store.open_write()
        return self._conn

    @property
    def in_transaction(self) -> bool:
        return self._conn is not None

    def finish(self, commit: bool) -> None:
        if self._conn is None:
            return
        try:
            if commit:
                self._tx.commit()
            else:
                self._tx.rollback()
        except Exception as exc:
            self.runtime.store.report_failure(exc)
            raise
        finally:
            self._conn.close()
            self._conn = self._tx = None

    def add_resource(self, arn: str, resource_type: str, owner: str | None = None) -> None:
        """Name a resource the call touched (CloudTrail's ``resources``): its accountId is the
        account in its ARN, or ``owner`` for an ARN without one (an S3 bucket's)."""
        entry = resource_entry(arn, resource_type, owner or self.account_id)
        if entry not in self.resources:
            self.resources.append(entry)

    def authorize(
        self,
        action: str,
        resource: str = "*",
        context: Mapping[str, Any] | None = None,
        *,
        resource_policy: Policy | str | None = None,
        resource_account: str | None = None,
        resource_policy_required: bool = False,
        explain_denial: bool = True,
    ) -> None:
        """Allow ``action`` on ``resource`` for this call's principal, or raise AccessDenied.

        ``context`` adds service condition keys (``kms:EncryptionContext:...``); a resource
        policy (key policy, bucket policy) takes part when given. Nothing else decides access.
        """
        principal = self.principal
        if resource_account is None:
            resource_account = _account_of(resource) or self.account_id
        if (
            principal.is_root
            and resource_policy is None
            and not resource_policy_required
            and resource_account == principal.account_id
        ):
            return  # the fast path: an account's root user, on its own resources
        authorize(
            principal,
            action,
            resource,
            identity_source=self.runtime.identity_policies,
            request_keys=DeferredKeys(self.condition_keys),
            context=context,
            resource_policy=resource_policy,
            resource_account=resource_account,
            resource_policy_required=resource_policy_required,
            protocol=self.protocol,
            explain_denial=explain_denial,
        )

    def condition_keys(self) -> dict[str, Any]:
        return global_condition_keys(
            self._principal_with_user_tags(),
            now=self.now,
            source_ip=self.request.source_ip,
            secure=self.request.secure,
            region=self.region,
            user_agent=self.request.headers.get("user-agent", ""),
        )

    def _principal_with_user_tags(self) -> Principal:
        """The principal with the current tags of its IAM user (``aws:PrincipalTag/*``): an
        IAM user's tags are read live, like its policies, so TagUser counts from the next call."""
        principal = self.principal
        if principal.type not in _USER_BACKED:
            return principal
        user_tags = getattr(self.runtime.identity_policies, "user_tags", None)
        tags = user_tags(principal) if user_tags is not None else None
        if not tags:
            return principal
        return replace(principal, tags={**tags, **principal.tags})


# Principals whose identity is an IAM user: the user (long-term keys or GetSessionToken) and
# the federated user of GetFederationToken.
_USER_BACKED = frozenset({"IAMUser", "FederatedUser"})


def resource_entry(arn: str, resource_type: str, owner: str) -> dict[str, str]:
    """One element of a record's ``resources``; ``owner`` counts for account-less ARNs."""
    return {"ARN": arn, "accountId": _account_of(arn) or owner, "type": resource_type}


def _account_of(resource: str) -> str | None:
    """The account an ARN names (None for '*' and account-less ARNs such as S3 buckets')."""
    parts = resource.split(":", 5)
    if len(parts) < 6 or not parts[4]:
        return None
    return parts[4]
