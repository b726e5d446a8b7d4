"""The CloudTrail-format record of one call.

requestParameters and responseElements are the operation's input and output as
:mod:`mamori.gateway.redaction` records them: no secret, blob or streaming body reaches the
journal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from botocore.model import OperationModel

from mamori.gateway import request_parameters
from mamori.gateway.redaction import Redactor, redactor
from mamori.iam.principals import Principal, Session
from mamori.ids import random_uuid
from mamori.journal import new_event_id
from mamori.journal.calls import (
    EVENT_VERSION,
    make_call,
    record_of_call,
    shared_event_id_of,
)
from mamori.memo import PerObject

# Global services whose events CloudTrail records in us-east-1, whatever region the request was
# signed for (by endpoint prefix). STS is regional: mamori's one endpoint acts as the regional
# endpoint of the signing region, so its events keep that region.
GLOBAL_SERVICES = frozenset({"iam", "cloudfront", "route53", "organizations"})
GLOBAL_REGION = "us-east-1"

# Operations that only read, besides the Get*/List*/Describe*-style prefixes. CloudTrail marks
# cryptographic KMS calls read-only too.
_READ_ONLY_PREFIXES = (
    "Get",
    "List",
    "Describe",
    "Head",
    "Lookup",
    "Search",
    "Select",
    "Scan",
    "Query",
    "BatchGet",
    "Check",
    "Simulate",
    "Estimate",
    "Preview",
    "Filter",
    "Test",
    "Validate",
    "Decode",
    "Detect",
    "Poll",
    "Receive",
    "Evaluate",
)
_READ_ONLY_NAMES = frozenset(
    {
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateRandom",
        "Sign",
        "Verify",
        "GenerateMac",
        "VerifyMac",
        "DeriveSharedSecret",
    }
)


# A cross-account request refused because access is denied is journaled in the caller's account
# only (KMS guide, "Logging AWS KMS API calls with AWS CloudTrail").
_CALLER_ONLY_ERRORS = frozenset({"AccessDenied", "AccessDeniedException"})


def shared_event_id(
    resources: list[dict[str, str]] | None,
    caller_account: str,
    request_id: str,
    error_code: str | None,
) -> str | None:
    """The sharedEventID of a call that is journaled for the owners of its resources too, or
    None for a call that stays in the caller's account (the common case: no resource of another
    account)."""
    if not resources or error_code in _CALLER_ONLY_ERRORS:
        return None
    for resource in resources:
        account = resource.get("accountId")
        if account and account != caller_account:
            return shared_event_id_of(request_id)
    return None


# Operations named like reads that CloudTrail records as writes: STS's credential-issuing Get*
# calls (readOnly false, with the credentials and federated user in responseElements).
_WRITE_NAMES = frozenset({"GetSessionToken", "GetFederationToken"})


def is_read_only(operation_name: str) -> bool:
    if operation_name in _WRITE_NAMES:
        return False
    return operation_name in _READ_ONLY_NAMES or operation_name.startswith(_READ_ONLY_PREFIXES)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _session_issuer(principal: Principal, session: Session) -> dict[str, Any]:
    """sessionContext.sessionIssuer: the role of an assumed-role session, the IAM user (or root)
    behind a federated user; empty for an IAM user's or root's own session credentials."""
    arn = session.role_arn
    if not arn:
        return {}
    if principal.type == "AssumedRole":
        return {
            "type": "Role",
            "principalId": principal.principal_id.split(":", 1)[0],
            "arn": arn,
            "accountId": _arn_account(arn) or principal.account_id,
            "userName": arn.rsplit("/", 1)[-1],
        }
    if arn.endswith(":root"):
        account = _arn_account(arn) or principal.account_id
        return {"type": "Root", "principalId": account, "arn": arn, "accountId": account}
    # An IAM user's principalId (AIDA...) is not among a session's facts: left out.
    return {
        "type": "IAMUser",
        "arn": arn,
        "accountId": _arn_account(arn) or principal.account_id,
        "userName": principal.user_name or arn.rsplit("/", 1)[-1],
    }


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[4] else None


def session_context(principal: Principal, session: Session) -> dict[str, Any]:
    """userIdentity.sessionContext of a call made with temporary credentials (AWS's layout)."""
    web: dict[str, Any] = {}
    if session.federated_provider:
        web = {"federatedProvider": session.federated_provider, "attributes": {}}
    context: dict[str, Any] = {
        "sessionIssuer": _session_issuer(principal, session),
        "webIdFederationData": web,
        "attributes": {
            "creationDate": _iso(session.issued),
            "mfaAuthenticated": "true" if session.mfa_authenticated else "false",
        },
    }
    if session.source_identity:
        context["sourceIdentity"] = session.source_identity
    return context


def user_identity(principal: Principal) -> dict[str, Any]:
    """CloudTrail's userIdentity for each identity type: Root, IAMUser, AssumedRole and
    FederatedUser (with ``sessionContext`` when the call used temporary credentials),
    AWSAccount (anonymous), Unknown (authentication failed), SAMLUser and WebIdentityUser (the
    verified subject of an AssumeRoleWithSAML / AssumeRoleWithWebIdentity call)."""
    if principal.type == "Anonymous":
        return {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}
    if principal.type in ("SAMLUser", "WebIdentityUser"):
        return {
            "type": principal.type,
            "principalId": principal.principal_id,
            "userName": principal.user_name,
            "identityProvider": principal.identity_provider,
        }
    identity: dict[str, Any] = {
        "type": principal.type,
        "principalId": principal.principal_id,
    }
    if principal.arn:
        identity["arn"] = principal.arn
    identity["accountId"] = principal.account_id
    if principal.access_key_id:
        identity["accessKeyId"] = principal.access_key_id
    # Only IAM users carry a top-level userName; an assumed role's or a federated user's name is
    # in its ARN, and the role's or federating user's in sessionContext.sessionIssuer.
    if principal.user_name and principal.type not in ("AssumedRole", "FederatedUser"):
        identity["userName"] = principal.user_name
    session = principal.session
    if session is not None:
        identity["sessionContext"] = session_context(principal, session)
    return identity


def event_source(operation: OperationModel) -> str:
    return operation_facts(operation).event_source


class OperationFacts(NamedTuple):
    """What every record of one operation shares, worked out once per operation."""

    event_source: str
    read_only: bool
    region: str | None  # the region all its events belong to (global services), else None
    record_request: request_parameters.RequestRecorder  # its requestParameters
    # its responseElements from its output (None: not recorded, as for read-only calls)
    redact_output: Redactor | None


_FACTS: dict[OperationModel, OperationFacts] = {}


def operation_facts(operation: OperationModel) -> OperationFacts:
    facts = _FACTS.get(operation)
    if facts is None:
        metadata = operation.service_model.metadata
        prefix = metadata.get("signingName") or metadata["endpointPrefix"]
        global_service = metadata.get("endpointPrefix") in GLOBAL_SERVICES
        read_only = is_read_only(operation.name)
        output_shape = operation.output_shape
        facts = _FACTS[operation] = OperationFacts(
            f"{prefix}.amazonaws.com",
            read_only,
            GLOBAL_REGION if global_service else None,
            request_parameters.recorder_of(operation),
            redactor(output_shape) if output_shape is not None and not read_only else None,
        )
    return facts


# The userIdentity of the principals seen lately: a credential's principal is one long-lived
# object, so most calls reuse its identity. Records never modify it. (The bound method: calling
# the cache object itself goes through a slower slot.)
_cached_identity: PerObject[Principal, dict[str, Any]] = PerObject(user_identity)
_identity_of = _cached_identity.__call__


def build_call(
    operation: OperationModel | None,
    principal: Principal,
    region: str,
    event_time: datetime,
    source_ip: str,
    user_agent: str,
    request_id: str,
    params: dict[str, Any] | None,
    output: dict[str, Any] | None,
    error_code: str | None,
    error_message: str | None,
    resources: list[dict[str, str]] | None,
    tls: bool,
    unrouted_source: str = "unknown",
    unrouted_name: str = "Unknown",
    host: str | None = None,
) -> tuple:
    """The record of one call in the journal's compact form (:mod:`mamori.journal.calls`);
    ``operation`` is None when no operation could be identified (the source and name then come
    from what the request claimed). Everything that needs the models — redaction, which
    operations are read-only, global regions — is worked out here. ``host`` is the request's
    Host header (tlsDetails' clientProvidedHostHeader, S3's ``Host`` parameter). The gateway
    passes the arguments by position: sixteen keywords cost it ~2 µs a call."""
    if operation is not None:
        name = operation.name
        facts = _FACTS.get(operation) or operation_facts(operation)
        source, read_only, global_region, record_request, redact_output = facts
        if global_region is not None:
            region = global_region
        request = record_request(params, host, resources)
        response = (
            redact_output(output, 0) or None
            if output and redact_output is not None and error_code is None
            else None
        )
    else:
        name, source = unrouted_name, unrouted_source
        read_only = is_read_only(name)
        request = response = None
    return make_call(
        _identity_of(principal),
        source,
        name,
        region,
        source_ip,
        user_agent,
        error_code,
        (error_message or "") if error_code is not None else None,
        request,
        response,
        request_id,
        int(event_time.timestamp() * 1000),
        read_only,
        resources or None,
        principal.account_id,
        (host or "") if tls else None,
        shared_event_id(resources, principal.account_id, request_id, error_code),
    )


def invoked_identity(principal: Principal, invoked_by: str) -> dict[str, Any]:
    """userIdentity of a call an AWS service made: on a caller's behalf, the caller's identity
    with ``invokedBy``; on its own (a service principal), ``AWSService``."""
    if principal.type == "AWSService":
        return {"type": "AWSService", "invokedBy": invoked_by}
    return {**_identity_of(principal), "invokedBy": invoked_by}


def service_call(
    operation: OperationModel,
    principal: Principal,
    invoked_by: str,
    region: str,
    event_time: datetime,
    params: dict[str, Any],
    error_code: str | None,
    error_message: str | None,
    resources: list[dict[str, str]] | None,
) -> tuple:
    """The record, in compact form, of a call an AWS service (``invoked_by``, such as
    ``s3.amazonaws.com``) made to another service for ``principal`` — S3 asking KMS for an
    object's data key — as CloudTrail records it: the service as source IP address and user
    agent, a request id of its own, no responseElements."""
    facts = operation_facts(operation)
    request_id = random_uuid()
    return make_call(
        invoked_identity(principal, invoked_by),
        facts.event_source,
        operation.name,
        facts.region or region,
        invoked_by,
        invoked_by,
        error_code,
        (error_message or "") if error_code is not None else None,
        facts.record_request(params, None, resources),
        None,
        request_id,
        int(event_time.timestamp() * 1000),
        facts.read_only,
        resources or None,
        principal.account_id,
        None,
        shared_event_id(resources, principal.account_id, request_id, error_code),
    )


def build_record(**facts: Any) -> dict[str, Any]:
    """The CloudTrail record of one call (the arguments of :func:`build_call`)."""
    return record_of_call(build_call(**facts))


def console_sign_in_record(
    principal: Principal,
    *,
    event_time: datetime,
    source_ip: str,
    user_agent: str,
    success: bool,
    mfa_used: bool,
    login_to: str = "https://console.aws.amazon.com/console/home",
) -> dict[str, Any]:
    """The record of a console sign-in (``AwsConsoleSignIn``), as CloudTrail writes it.

    The hook for mamori's console: its sign-in handler appends this record to the journal, and
    LookupEvents and trails pick it up like any other event. Sign-in events belong to us-east-1
    (``signin.amazonaws.com`` is global); a failed sign-in carries ``errorMessage: Failed
    authentication`` and no secret of any kind.
    """
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": user_identity(principal),
        "eventTime": _iso(event_time),
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": GLOBAL_REGION,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Success" if success else "Failure"},
        "additionalEventData": {
            "LoginTo": login_to,
            "MobileVersion": "No",
            "MFAUsed": "Yes" if mfa_used else "No",
        },
        "eventID": new_event_id(),
        "readOnly": False,
        "eventType": "AwsConsoleSignIn",
        "managementEvent": True,
        "recipientAccountId": principal.account_id,
        "eventCategory": "Management",
    }
    if not success:
        record["errorMessage"] = "Failed authentication"
    return record
