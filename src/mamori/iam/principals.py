"""Who is calling: the principal a verified request acts as."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Session:
    """What a temporary credential carries besides its identity (STS sessions)."""

    issued: datetime
    expires: datetime
    role_arn: str | None = None  # AssumeRole*: the role; GetFederationToken: the federating user
    session_name: str | None = None
    policies: tuple[str, ...] = ()  # session policy documents (inline + managed ARNs' texts)
    has_session_policy: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    mfa_authenticated: bool = False
    mfa_authenticated_at: datetime | None = None
    web_identity: dict[str, Any] | None = None  # provider, aud, sub ... (AssumeRoleWithWebIdentity)
    federated_provider: str | None = None


@dataclass(frozen=True)
class Principal:
    # CloudTrail's userIdentity.type: Root, IAMUser, AssumedRole, FederatedUser, AWSService,
    # AWSAccount, Anonymous (unsigned requests where AWS allows them), Unknown (not authenticated),
    # SAMLUser / WebIdentityUser (the verified subject of an AssumeRoleWithSAML /
    # AssumeRoleWithWebIdentity call).
    type: str
    account_id: str
    arn: str
    principal_id: str
    user_name: str | None = None
    access_key_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    session: Session | None = None
    # SAMLUser: the NameQualifier of its IdP; WebIdentityUser: the OIDC provider's URL
    identity_provider: str | None = None

    @property
    def is_root(self) -> bool:
        return self.type == "Root"


def root_principal(account_id: str, access_key_id: str | None) -> Principal:
    return Principal(
        type="Root",
        account_id=account_id,
        arn=f"arn:aws:iam::{account_id}:root",
        principal_id=account_id,
        access_key_id=access_key_id,
    )


def anonymous_principal(account_id: str) -> Principal:
    return Principal(type="Anonymous", account_id=account_id, arn="*", principal_id="anonymous")
