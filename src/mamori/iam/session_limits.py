"""What temporary credentials may never call, whatever their policies allow.

AWS limits a temporary credential by how it was obtained (STS API reference, "Permissions" of
GetSessionToken and GetFederationToken; IAM UG, "Compare AWS STS credentials"):

* **GetSessionToken**: "You cannot call any IAM API operations unless MFA authentication
  information is included in the request. You cannot call any STS API except AssumeRole,
  GetCallerIdentity, GetScopedCredentials, GetWebIdentityToken, or GetDelegatedAccessToken."
* **GetFederationToken**: "You cannot call any IAM operations using the CLI or the Amazon Web
  Services API. ... You cannot call any STS operations except GetCallerIdentity,
  GetScopedCredentials, or GetDelegatedAccessToken."
* **Role sessions** (AssumeRole*): GetSessionToken and GetFederationToken "must be called by
  using the long-term security credentials".
* Long-term access keys: no such limits.

IAM does not accept such a token at all: it answers ``InvalidClientTokenId`` (403, "The security
token included in the request is invalid" — IAM's wording has no final period). STS answers
``AccessDenied`` (403) "Cannot call <Operation> with session credentials".
"""

from __future__ import annotations

from mamori.errors import AwsError
from mamori.iam.principals import Principal

# Session kinds: how a credential was obtained.
LONG_TERM = "long-term"
SESSION_TOKEN = "session-token"  # GetSessionToken
FEDERATION_TOKEN = "federation-token"  # GetFederationToken
ROLE_SESSION = "role-session"  # AssumeRole, AssumeRoleWithWebIdentity, AssumeRoleWithSAML

IAM_INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid"

# Operations that never use the caller's credentials (a token or assertion is the proof).
_CREDENTIAL_FREE = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})
# STS operations a session may call: all but those in _STS_DENIED, or only _STS_ALLOWED.
_STS_ALLOWED = {
    SESSION_TOKEN: frozenset(
        {
            "AssumeRole",
            "GetCallerIdentity",
            "GetScopedCredentials",
            "GetWebIdentityToken",
            "GetDelegatedAccessToken",
        }
    ),
    FEDERATION_TOKEN: frozenset(
        {"GetCallerIdentity", "GetScopedCredentials", "GetDelegatedAccessToken"}
    ),
}
_STS_DENIED = {ROLE_SESSION: frozenset({"GetSessionToken", "GetFederationToken"})}


def session_kind(principal: Principal) -> str:
    """How the credential of ``principal`` was obtained."""
    if principal.session is None:
        return LONG_TERM
    if principal.type == "FederatedUser":
        return FEDERATION_TOKEN
    if principal.type == "AssumedRole":
        return ROLE_SESSION
    return SESSION_TOKEN  # an IAM user's or the root user's own session


def may_call_iam(principal: Principal) -> bool:
    kind = session_kind(principal)
    if kind == SESSION_TOKEN:
        return principal.session is not None and principal.session.mfa_authenticated
    return kind != FEDERATION_TOKEN


def may_call_sts(principal: Principal, operation: str) -> bool:
    kind = session_kind(principal)
    if operation in _CREDENTIAL_FREE:
        return True
    allowed = _STS_ALLOWED.get(kind)
    if allowed is not None:
        return operation in allowed
    return operation not in _STS_DENIED.get(kind, ())


def check_session_limits(principal: Principal, service: str, operation: str) -> None:
    """Raise the answering service's error when ``principal``'s credential may not call
    ``service``:``operation`` at all."""
    if principal.session is None:
        return
    if service == "iam" and not may_call_iam(principal):
        raise AwsError("InvalidClientTokenId", IAM_INVALID_TOKEN_MESSAGE, status=403)
    if service == "sts" and not may_call_sts(principal, operation):
        raise AwsError(
            "AccessDenied", f"Cannot call {operation} with session credentials", status=403
        )
